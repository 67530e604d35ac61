// sqlite_store: the tree in tables of the document's SQLite database, through the table-store
// conformance suite, with both key types.
#include <chrono>
#include <string>
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
