// sqlite_store: the tree in tables of the document's SQLite database. Checked against the reference
// fold and against memory_store documents: every catch-up path forced, tiny caches (eviction in the
// middle of a batch), reopening, the SQL view, documents written by other stores.
#include <rapidcheck/catch.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "properties/test_helpers.hpp"
#include "scratch_dir.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/storage/sqlite.hpp"
#include "treecrdt/store/sqlite_store.hpp"

using namespace treecrdt;
using namespace treecrdt_test;

namespace {

template <class Key>
using table_doc = document<Key, sqlite_storage<Key>, sqlite_store<Key>>;
template <class Key>
using memory_doc = document<Key, sqlite_storage<Key>>;

const sqlite_options fast{std::chrono::milliseconds(5000), false, false, sqlite_options::sync_mode::off};

template <class Key>
replica_of<Key> local(unsigned i) {
  return test_replica<Key>(0x70 + i);
}

/// Children of every listed parent as the SQL view gives them.
std::vector<node_id> view_children(sqlite::connection& conn, node_id parent) {
  sqlite::statement s(conn, "SELECT id FROM treecrdt_tree_view WHERE parent = ?1 ORDER BY order_key, id",
                      "test: reading the view");
  auto u = s.use();
  u.bind_blob(1, treecrdt::detail::node_id_bytes(parent));
  std::vector<node_id> out;
  while (u.step()) out.push_back(treecrdt::detail::node_id_from_bytes(u.column_blob(0)));
  return out;
}

template <class Doc>
void rc_assert_view_matches(Doc& doc, const canonical_export& ex) {
  for (const auto& [parent, kids] : ex.children) RC_ASSERT(view_children(doc.storage().database(), parent) == kids);
  for (const auto& row : ex.nodes)
    if (std::find_if(ex.children.begin(), ex.children.end(), [&](const auto& c) { return c.first == row.node; }) ==
        ex.children.end())
      RC_ASSERT(view_children(doc.storage().database(), row.node).empty());
}

}  // namespace

TEMPLATE_TEST_CASE("sqlite_store property: the tables equal the reference fold after every batch, on every path",
                   "[sqlite_store][property]", default_op_key, compact_op_key) {
  using K = TestType;
  rc::prop("export == reference_fold; the view lists every folder; a reopen changes nothing", [] {
    const auto h = *gen_history<K>();
    const auto d = *gen_delivery<K>(h.ops);
    const catch_up_path path = *rc::gen::element(catch_up_path::none, catch_up_path::rewind, catch_up_path::full_replay);
    const std::uint64_t journal = *rc::gen::element<std::uint64_t>(0, 2, 8, 16384);
    const std::size_t cache = *rc::gen::element<std::size_t>(16, 65536);
    const bool deferred = *rc::gen::arbitrary<bool>();
    scratch_dir dir;
    const std::string file = dir.file("doc.db");
    std::vector<op<K>> delivered;
    {
      table_doc<K> doc(sqlite_storage<K>::open(file, fast), local<K>(0), {}, {}, {journal, path});
      doc.store().set_cache_limit(cache);
      for (std::size_t i = 0; i < d.batches.size(); ++i) {
        if (deferred)
          doc.apply(d.batches[i], defer_catch_up);
        else
          doc.apply(d.batches[i]);
        delivered.insert(delivered.end(), d.batches[i].begin(), d.batches[i].end());
        if (deferred && i % 2 == 1) doc.catch_up();
        if (doc.is_stale()) continue;
        const auto ex = doc.export_canonical();
        rc_assert_same_export(reference_fold(delivered), ex, "after batch " + std::to_string(i));
        rc_assert_view_matches(doc, ex);
      }
      doc.catch_up();
      rc_assert_same_export(reference_fold(delivered), doc.export_canonical(), "after the last catch-up");
    }
    table_doc<K> reopened(sqlite_storage<K>::open(file, fast), local<K>(0));
    RC_ASSERT(reopened.stats().ops_applied_forward == 0u);
    RC_ASSERT(reopened.stats().catch_ups == 0u);
    const auto ex = reopened.export_canonical();
    rc_assert_same_export(reference_fold(delivered), ex, "reopened");
    rc_assert_view_matches(reopened, ex);
  });
}

TEST_CASE("sqlite_store: opening a current document replays nothing and loads no tree", "[sqlite_store]") {
  using K = default_op_key;
  scratch_dir dir;
  const std::string file = dir.file("doc.db");
  std::vector<node_id> made;
  {
    table_doc<K> doc(sqlite_storage<K>::open(file, fast), local<K>(0));
    node_id parent = root_node;
    for (int i = 0; i < 3000; ++i) {
      const auto o = doc.insert(i % 100 == 0 ? root_node : parent, position::last());
      made.push_back(o.node);
      if (i % 100 == 0) parent = o.node;
    }
  }
  table_doc<K> doc(sqlite_storage<K>::open(file, fast), local<K>(0));
  CHECK(doc.stats().ops_applied_forward == 0u);
  CHECK(doc.stats().catch_ups == 0u);
  CHECK(doc.store().cached_rows() == 0u);
  CHECK(doc.store().node_count() == 3002u);
  const auto top = doc.children(root_node);
  CHECK(top.size() == 30u);
  CHECK(doc.store().cached_rows() <= 1u);  // a folder listing reads the index, not the rows
  CHECK(doc.parent(made.back()) == made[2900]);
}

TEST_CASE("sqlite_store: a late op after a reopen is absorbed by the persisted journal", "[sqlite_store]") {
  using K = default_op_key;
  scratch_dir dir;
  const std::string file = dir.file("doc.db");
  const auto remote = test_replica<K>(1);
  std::vector<op<K>> ops;
  for (std::uint64_t c = 1; c <= 500; ++c)
    ops.push_back(make_insert(K{2 * c, remote, c}, c % 10 == 1 ? root_node : node_id{7, c - c % 10 + 1}, node_id{7, c},
                              bytes(1, static_cast<char>('a' + c % 20))));
  {
    table_doc<K> doc(sqlite_storage<K>::open(file, fast), local<K>(0));
    doc.apply(ops);
  }
  table_doc<K> doc(sqlite_storage<K>::open(file, fast), local<K>(0));
  const auto late = make_move(K{2 * 480 + 1, test_replica<K>(2), 1}, node_id{7, 485}, root_node, bytes("m"));
  doc.apply(std::vector<op<K>>{late});
  CHECK(doc.stats().last_catch_up_path == catch_up_path::rewind);
  CHECK(doc.stats().ops_undone_last_catch_up == 20u);
  std::vector<op<K>> all = ops;
  all.push_back(late);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  CHECK(doc.export_canonical() == reference_fold(all));
  // And after another reopen, the journal still holds what the redo wrote.
  table_doc<K> again(sqlite_storage<K>::open(file, fast), local<K>(0));
  CHECK(again.export_canonical() == reference_fold(all));
}

TEST_CASE("sqlite_store: a database written by memory_store documents is folded once, then followed",
          "[sqlite_store]") {
  using K = default_op_key;
  scratch_dir dir;
  const std::string file = dir.file("doc.db");
  const auto r = test_replica<K>(1);
  std::vector<op<K>> ops;
  for (std::uint64_t c = 1; c <= 200; ++c)
    ops.push_back(make_insert(K{10 * c, r, c}, c % 7 == 1 ? root_node : node_id{3, c - 1}, node_id{3, c},
                              bytes(1, static_cast<char>('a' + c % 20))));
  std::vector<op<K>> first(ops.begin(), ops.begin() + 150);
  {
    memory_doc<K> other(sqlite_storage<K>::open(file, fast), local<K>(1));
    other.apply(first);
  }
  {
    table_doc<K> doc(sqlite_storage<K>::open(file, fast), local<K>(0));
    CHECK(doc.stats().ops_applied_forward == 150u);  // folded from the log once
    CHECK(doc.export_canonical() == reference_fold(first));
  }
  {
    memory_doc<K> other(sqlite_storage<K>::open(file, fast), local<K>(1));
    other.apply(std::vector<op<K>>(ops.begin() + 150, ops.end()));
  }
  {
    table_doc<K> doc(sqlite_storage<K>::open(file, fast), local<K>(0));
    CHECK(doc.stats().ops_applied_forward == 50u);  // only what the other store appended
    CHECK(doc.export_canonical() == reference_fold(ops));
  }
  // A late op stored behind the tables' back: the count no longer matches and the tables are rebuilt.
  const auto late = make_move(K{15, test_replica<K>(2), 1}, node_id{3, 100}, root_node, bytes("z"));
  {
    memory_doc<K> other(sqlite_storage<K>::open(file, fast), local<K>(1));
    other.apply(std::vector<op<K>>{late});
  }
  table_doc<K> doc(sqlite_storage<K>::open(file, fast), local<K>(0));
  std::vector<op<K>> all = ops;
  all.push_back(late);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  CHECK(doc.stats().stale_checkpoints_detected == 1u);
  CHECK(doc.export_canonical() == reference_fold(all));
}

TEST_CASE("sqlite_store: a refused batch leaves the tables as they were", "[sqlite_store]") {
  using K = default_op_key;
  scratch_dir dir;
  const std::string file = dir.file("doc.db");
  table_doc<K> doc(sqlite_storage<K>::open(file, fast), local<K>(0));
  const auto a = doc.insert(root_node, position::last(), bytes("a"));
  doc.insert(a.node, position::last(), bytes("b"));
  const auto before = doc.export_canonical();
  auto conflicting = a;
  conflicting.payload = bytes("other");
  const auto fresh = make_insert(K{100, test_replica<K>(3), 1}, root_node, node_id{9, 9}, bytes("k"));
  CHECK_THROWS_AS(doc.apply(std::vector<op<K>>{fresh, conflicting}), conflicting_op_error);
  CHECK(doc.export_canonical() == before);
  table_doc<K> reopened(sqlite_storage<K>::open(file, fast), local<K>(0));
  CHECK(reopened.export_canonical() == before);
  CHECK(!reopened.exists(node_id{9, 9}));
}
