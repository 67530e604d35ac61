// postgres_store: the tree in tables of the PostgreSQL database, through the table-store
// conformance suite (tests/conformance/table_store_conformance.ipp), with both key types. Each
// location is a fresh document id in the shared test database; open() makes a new connection.
#include <memory>
#include <string>
#include <vector>

#include <treecrdt/storage/postgres.hpp>
#include <treecrdt/store/postgres_store.hpp>

#include "pg_test_support.hpp"

namespace {

template <class Key>
struct postgres_tables_location {
  using key_type = Key;
  using storage_type = treecrdt::postgres_storage<Key>;
  using store_type = treecrdt::postgres_store<Key>;
  std::string doc = treecrdt_pg_test::unique_doc("tables");
  std::unique_ptr<treecrdt_pg_test::side_connection> reader;  // another program reading the view

  [[nodiscard]] storage_type open() { return storage_type(treecrdt_pg_test::pg_url(), doc); }

  /// Folder `parent` as a plain SQL reader of the view lists it.
  [[nodiscard]] std::vector<treecrdt::node_id> view_children(treecrdt::node_id parent) {
    if (!reader) reader = std::make_unique<treecrdt_pg_test::side_connection>(treecrdt_pg_test::pg_url());
    std::vector<treecrdt::node_id> out;
    for (const std::string& hex :
         reader->query("SELECT encode(id, 'hex') FROM treecrdt_tree_view WHERE doc = convert_to($1, 'UTF8')"
                       " AND parent = decode($2, 'hex') ORDER BY order_key, id",
                       {doc, treecrdt::to_hex(parent)}))
      out.push_back(*treecrdt::node_id_from_hex(hex));
    return out;
  }
};

}  // namespace

#define TREECRDT_TABLE_STORE_FACTORIES \
  postgres_tables_location<treecrdt::default_op_key>, postgres_tables_location<treecrdt::compact_op_key>
#include "conformance/table_store_conformance.ipp"
