// sqlite_store: the tree in tables of the document's SQLite database, through the table-store
// conformance suite, with both key types.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scratch_dir.hpp"
#include "treecrdt/storage/sqlite.hpp"
#include "treecrdt/store/sqlite_store.hpp"

namespace {

template <class Key>
struct sqlite_tables_location {
  using key_type = Key;
  using storage_type = treecrdt::sqlite_storage<Key>;
  using store_type = treecrdt::sqlite_store<Key>;
  treecrdt_test::scratch_dir dir;
  [[nodiscard]] storage_type open() {
    treecrdt::sqlite_options options;
    options.synchronous = treecrdt::sqlite_options::sync_mode::off;  // semantics here; durability: crash test
    return storage_type::open(dir.file("doc.db"), options);
  }
  /// Folder `parent` as a plain SQL reader of the view lists it.
  [[nodiscard]] std::vector<treecrdt::node_id> view_children(treecrdt::node_id parent) {
    auto storage = open();
    treecrdt::sqlite::statement s(storage.database(),
                                  "SELECT id FROM treecrdt_tree_view WHERE parent = ?1 ORDER BY order_key, id",
                                  "test: reading the view");
    auto u = s.use();
    u.bind_blob(1, treecrdt::detail::node_id_bytes(parent));
    std::vector<treecrdt::node_id> out;
    while (u.step()) out.push_back(treecrdt::detail::node_id_from_bytes(u.column_blob(0)));
    return out;
  }
};

}  // namespace

#define TREECRDT_TABLE_STORE_FACTORIES \
  sqlite_tables_location<treecrdt::default_op_key>, sqlite_tables_location<treecrdt::compact_op_key>
#include "conformance/table_store_conformance.ipp"

TEST_CASE("sqlite tree tables: load_many finds the present ids among absent ones, sorted or not", "[tree_tables]") {
  using treecrdt::node_id;
  treecrdt_test::scratch_dir dir;
  auto storage = treecrdt::sqlite_storage<>::open(dir.file("t.db"));
  auto tables = treecrdt::sqlite_tree_tables::open(storage);
  std::vector<treecrdt::tree_row> rows;
  for (std::uint64_t i : {3u, 4u, 10u, 11u, 40u})
    rows.push_back({node_id{7, i}, node_id{7, 1}, std::string("k"), treecrdt::tomb_state::not_deleted,
                    std::string(1, static_cast<char>('a' + i % 20)), std::string("s")});
  {
    auto tx = storage.begin();
    tables.put_all(rows);
    tx.commit();
  }
  const auto ids_of = [](std::vector<treecrdt::tree_row> got) {
    std::vector<node_id> out;
    for (const auto& r : got) out.push_back(r.id);
    std::sort(out.begin(), out.end());
    return out;
  };
  // Runs of absent ids before, between and after the rows; a present id right after an absent one.
  std::vector<node_id> wanted;
  for (std::uint64_t i = 0; i < 50; ++i) wanted.push_back(node_id{7, i});
  wanted.push_back(node_id{6, 99});
  wanted.push_back(node_id{8, 0});
  const std::vector<node_id> present{node_id{7, 3}, node_id{7, 4}, node_id{7, 10}, node_id{7, 11}, node_id{7, 40}};
  CHECK(ids_of(tables.load_many(wanted)) == present);
  std::reverse(wanted.begin(), wanted.end());
  CHECK(ids_of(tables.load_many(wanted)) == present);
  const auto one = tables.load_many({node_id{7, 10}, node_id{7, 10}, node_id{7, 12}});
  REQUIRE(one.size() == 1);
  CHECK(one.front() == rows[2]);
  CHECK(tables.load_many({}).empty());
  CHECK(tables.load_many({node_id{9, 1}}).empty());
}

namespace {
// sqlite_tree_tables that counts the rows read one at a time and the batched reads.
struct counting_tables : treecrdt::sqlite_tree_tables {
  inline static std::size_t single_loads = 0;
  inline static std::size_t batched_loads = 0;
  template <class Key>
  [[nodiscard]] static counting_tables open(treecrdt::sqlite_storage<Key>& storage) {
    return counting_tables(treecrdt::sqlite_tree_tables::open(storage));
  }
  [[nodiscard]] std::optional<treecrdt::tree_row> load(treecrdt::node_id id) {
    ++single_loads;
    return sqlite_tree_tables::load(id);
  }
  [[nodiscard]] std::vector<treecrdt::tree_row> load_many(const std::vector<treecrdt::node_id>& ids) {
    ++batched_loads;
    return sqlite_tree_tables::load_many(ids);
  }

 private:
  explicit counting_tables(treecrdt::sqlite_tree_tables t) : sqlite_tree_tables(std::move(t)) {}
};
}  // namespace

TEST_CASE("sqlite_store: a batch that fits the row cache reads its rows in one batched read, none on its own",
          "[table_store]") {
  using key = treecrdt::default_op_key;
  using doc_t = treecrdt::document<key, treecrdt::sqlite_storage<key>, treecrdt::table_store<key, counting_tables>>;
  treecrdt_test::scratch_dir dir;
  doc_t doc(treecrdt::sqlite_storage<key>::open(dir.file("c.db")), treecrdt_test::test_replica<key>(9));
  doc.store().set_cache_limit(64);
  const auto r = treecrdt_test::test_replica<key>(1);
  std::uint64_t counter = 0;
  const auto insert = [&](treecrdt::node_id parent, treecrdt::node_id node) {
    ++counter;
    return treecrdt::make_insert(key{counter, r, counter}, parent, node, std::string("k"));
  };
  std::vector<treecrdt::op<key>> tree;
  for (std::uint64_t i = 1; i <= 300; ++i) tree.push_back(insert(treecrdt::root_node, treecrdt::node_id{5, i}));
  doc.apply(tree);
  for (std::uint64_t round = 0; round < 5; ++round) {
    // 20 new nodes under parents spread over the tree: 40 ids, more than the cache has room for
    // after the previous batch unless it makes room before reading.
    std::vector<treecrdt::op<key>> batch;
    for (std::uint64_t i = 0; i < 20; ++i)
      batch.push_back(
          insert(treecrdt::node_id{5, 1 + (round * 53 + i * 13) % 300}, treecrdt::node_id{6, round * 20 + i}));
    counting_tables::single_loads = 0;
    counting_tables::batched_loads = 0;
    doc.apply(batch);
    CHECK(counting_tables::single_loads == 0u);
    CHECK(counting_tables::batched_loads == 1u);
    CHECK(doc.store().cached_rows() <= 64u);
  }
  CHECK(doc.store().node_count() == 2u + 300u + 100u);  // ROOT and TRASH too
}
