// The conformance suite of persistent (table) stores: documents whose tree lives in the database,
// checked against the reference fold and against memory_store documents — every catch-up path
// forced, tiny caches (eviction in the middle of a batch), reopening, the SQL view, documents
// written by handles with another store.
//
// Include after defining TREECRDT_TABLE_STORE_FACTORIES: a list of types F, each a fresh location of
// one document:
//     using key_type = ...;  using storage_type = ...;  using store_type = ...;
//     storage_type open();                               // the same document each time
//     std::vector<node_id> view_children(node_id p);     // the SQL view's listing of folder p
#include <rapidcheck/catch.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "properties/edit_script.hpp"
#include "properties/test_helpers.hpp"
#include "treecrdt/document.hpp"

namespace table_store_conformance {

using namespace treecrdt;
using namespace treecrdt_test;

template <class F>
using table_doc = document<typename F::key_type, typename F::storage_type, typename F::store_type>;
template <class F>
using memory_doc = document<typename F::key_type, typename F::storage_type>;

template <class Key>
replica_of<Key> local(unsigned i) {
  return test_replica<Key>(0x70 + i);
}

/// The view lists every folder of the export as children() does, and nothing under a leaf.
template <class F>
void rc_assert_view_matches(F& f, const canonical_export& ex) {
  for (const auto& [parent, kids] : ex.children) RC_ASSERT(f.view_children(parent) == kids);
  for (const auto& row : ex.nodes)
    if (std::none_of(ex.children.begin(), ex.children.end(), [&](const auto& c) { return c.first == row.node; }))
      RC_ASSERT(f.view_children(row.node).empty());
}

}  // namespace table_store_conformance

using namespace table_store_conformance;

TEMPLATE_TEST_CASE("table store property: the tables equal the reference fold after every batch, on every path",
                   "[table_store][property]", TREECRDT_TABLE_STORE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  rc::prop("export == reference_fold; the view lists every folder; a reopen changes nothing", [] {
    const auto h = *gen_history<K>();
    const auto d = *gen_delivery<K>(h.ops);
    const catch_up_path path =
        *rc::gen::element(catch_up_path::none, catch_up_path::rewind, catch_up_path::full_replay);
    const std::uint64_t journal = *rc::gen::element<std::uint64_t>(0, 2, 8, 16384);
    const std::size_t cache = *rc::gen::element<std::size_t>(16, 65536);
    const bool deferred = *rc::gen::arbitrary<bool>();
    F f;
    std::vector<op<K>> delivered;
    {
      table_doc<F> doc(f.open(), local<K>(0), {}, {}, {journal, path});
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
        rc_assert_view_matches(f, ex);
      }
      doc.catch_up();
      rc_assert_same_export(reference_fold(delivered), doc.export_canonical(), "after the last catch-up");
    }
    table_doc<F> reopened(f.open(), local<K>(0));
    RC_ASSERT(reopened.stats().ops_applied_forward == 0u);
    RC_ASSERT(reopened.stats().catch_ups == 0u);
    const auto ex = reopened.export_canonical();
    rc_assert_same_export(reference_fold(delivered), ex, "reopened");
    rc_assert_view_matches(f, ex);
  });
}

TEMPLATE_TEST_CASE("table store property: local edits with random syncs converge to the reference fold",
                   "[table_store][property]", TREECRDT_TABLE_STORE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  rc::prop("2-3 editing replicas over table stores, synced at random, then fully", [] {
    const unsigned count = *rc::gen::inRange(2u, 4u);
    const auto steps = *rc::gen::resize(40, rc::gen::container<std::vector<edit_step>>(gen_edit_step()));
    const std::size_t cache = *rc::gen::element<std::size_t>(16, 65536);
    std::vector<F> places(count);
    std::vector<table_doc<F>> docs;
    for (unsigned i = 0; i < count; ++i) {
      docs.emplace_back(places[i].open(), local<K>(i));
      docs.back().store().set_cache_limit(cache);
    }
    const std::vector<op<K>> made = run_edits<K>(docs, steps);
    for (int round = 0; round < 2; ++round)
      for (auto& to : docs)
        for (auto& from : docs)
          if (&to != &from) to.apply(from.ops_since(to.version()));
    const auto expected = reference_fold(made);
    for (std::size_t i = 0; i < docs.size(); ++i) {
      const auto ex = docs[i].export_canonical();
      rc_assert_same_export(expected, ex, "document " + std::to_string(i));
      rc_assert_view_matches(places[i], ex);
    }
  });
}

TEMPLATE_TEST_CASE("table store: opening a current document replays nothing and loads no tree", "[table_store]",
                   TREECRDT_TABLE_STORE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  std::vector<node_id> made;
  {
    table_doc<F> doc(f.open(), local<K>(0));
    node_id parent = root_node;
    for (int i = 0; i < 3000; ++i) {
      const auto o = doc.insert(i % 100 == 0 ? root_node : parent, position::last());
      made.push_back(o.node);
      if (i % 100 == 0) parent = o.node;
    }
  }
  table_doc<F> doc(f.open(), local<K>(0));
  CHECK(doc.stats().ops_applied_forward == 0u);
  CHECK(doc.stats().catch_ups == 0u);
  CHECK(doc.store().cached_rows() == 0u);
  CHECK(doc.store().node_count() == 3002u);
  const auto top = doc.children(root_node);
  CHECK(top.size() == 30u);
  CHECK(doc.store().cached_rows() <= 1u);  // a folder listing reads the index, not the rows
  CHECK(doc.parent(made.back()) == made[2900]);
}

TEMPLATE_TEST_CASE("table store: a late op after a reopen is absorbed by the persisted journal", "[table_store]",
                   TREECRDT_TABLE_STORE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  const auto remote = test_replica<K>(1);
  std::vector<op<K>> ops;
  for (std::uint64_t c = 1; c <= 500; ++c)
    ops.push_back(make_insert(K{2 * c, remote, c}, c % 10 == 1 ? root_node : node_id{7, c - c % 10 + 1}, node_id{7, c},
                              bytes(1, static_cast<char>('a' + c % 20))));
  {
    table_doc<F> doc(f.open(), local<K>(0));
    doc.apply(ops);
  }
  table_doc<F> doc(f.open(), local<K>(0));
  const auto late = make_move(K{2 * 480 + 1, test_replica<K>(2), 1}, node_id{7, 485}, root_node, bytes("m"));
  doc.apply(std::vector<op<K>>{late});
  CHECK(doc.stats().last_catch_up_path == catch_up_path::rewind);
  CHECK(doc.stats().ops_undone_last_catch_up == 20u);
  std::vector<op<K>> all = ops;
  all.push_back(late);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  CHECK(doc.export_canonical() == reference_fold(all));
  // And after another reopen, the journal still holds what the redo wrote.
  table_doc<F> again(f.open(), local<K>(0));
  CHECK(again.export_canonical() == reference_fold(all));
}

TEMPLATE_TEST_CASE("table store: a database written by memory_store documents is folded once, then followed",
                   "[table_store]", TREECRDT_TABLE_STORE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  const auto r = test_replica<K>(1);
  std::vector<op<K>> ops;
  for (std::uint64_t c = 1; c <= 200; ++c)
    ops.push_back(make_insert(K{10 * c, r, c}, c % 7 == 1 ? root_node : node_id{3, c - 1}, node_id{3, c},
                              bytes(1, static_cast<char>('a' + c % 20))));
  std::vector<op<K>> first(ops.begin(), ops.begin() + 150);
  {
    memory_doc<F> other(f.open(), local<K>(1));
    other.apply(first);
  }
  {
    table_doc<F> doc(f.open(), local<K>(0));
    CHECK(doc.stats().ops_applied_forward == 150u);  // folded from the log once
    CHECK(doc.export_canonical() == reference_fold(first));
  }
  {
    memory_doc<F> other(f.open(), local<K>(1));
    other.apply(std::vector<op<K>>(ops.begin() + 150, ops.end()));
  }
  {
    table_doc<F> doc(f.open(), local<K>(0));
    CHECK(doc.stats().ops_applied_forward == 50u);  // only what the other store appended
    CHECK(doc.export_canonical() == reference_fold(ops));
  }
  // A late op stored behind the tables' back: the count no longer matches and the tables are rebuilt.
  const auto late = make_move(K{15, test_replica<K>(2), 1}, node_id{3, 100}, root_node, bytes("z"));
  {
    memory_doc<F> other(f.open(), local<K>(1));
    other.apply(std::vector<op<K>>{late});
  }
  table_doc<F> doc(f.open(), local<K>(0));
  std::vector<op<K>> all = ops;
  all.push_back(late);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  CHECK(doc.stats().stale_checkpoints_detected == 1u);
  CHECK(doc.export_canonical() == reference_fold(all));
}

TEMPLATE_TEST_CASE("table store: a refused batch leaves the tables as they were", "[table_store]",
                   TREECRDT_TABLE_STORE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  table_doc<F> doc(f.open(), local<K>(0));
  const auto a = doc.insert(root_node, position::last(), bytes("a"));
  doc.insert(a.node, position::last(), bytes("b"));
  const auto before = doc.export_canonical();
  auto conflicting = a;
  conflicting.payload = bytes("other");
  const auto fresh = make_insert(K{100, test_replica<K>(3), 1}, root_node, node_id{9, 9}, bytes("k"));
  CHECK_THROWS_AS(doc.apply(std::vector<op<K>>{fresh, conflicting}), conflicting_op_error);
  CHECK(doc.export_canonical() == before);
  table_doc<F> reopened(f.open(), local<K>(0));
  CHECK(reopened.export_canonical() == before);
  CHECK(!reopened.exists(node_id{9, 9}));
}

TEMPLATE_TEST_CASE("table store: tables of an older state format are rebuilt from the log at a writable open",
                   "[table_store]", TREECRDT_TABLE_STORE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  using tables_type = typename F::store_type::tables_type;
  F f;
  const auto r = test_replica<K>(1);
  std::vector<op<K>> ops;
  for (std::uint64_t c = 1; c <= 120; ++c)
    ops.push_back(c % 5 == 0 ? make_move(K{10 * c, r, c}, node_id{3, c / 2}, root_node, bytes("m"))
                             : make_insert(K{10 * c, r, c}, c % 7 == 1 ? root_node : node_id{3, c - 1}, node_id{3, c},
                                           bytes(1, static_cast<char>('a' + c % 20))));
  {
    table_doc<F> doc(f.open(), local<K>(0));
    doc.apply(ops);
  }
  {  // Mark the stored state as written by format 1 (the first byte of the metadata blob).
    auto storage = f.open();
    auto tx = storage.begin();
    tables_type tables = tables_type::open(storage);
    auto meta = tables.load_meta();
    REQUIRE(meta);
    REQUIRE(static_cast<unsigned char>(meta->front()) > 1);
    meta->front() = 1;
    tables.store_meta(*meta);
    tx.commit();
  }
  table_doc<F> doc(f.open(), local<K>(0));
  CHECK(doc.stats().ops_applied_forward == ops.size());  // folded again, not read as it was
  CHECK(doc.export_canonical() == reference_fold(ops));
  table_doc<F> again(f.open(), local<K>(0));
  CHECK(again.stats().ops_applied_forward == 0u);  // and current from then on
  CHECK(again.export_canonical() == reference_fold(ops));
}
