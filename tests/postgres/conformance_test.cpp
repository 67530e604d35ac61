// The generic storage conformance suite (tests/conformance/storage_conformance.ipp) against
// PostgreSQL, with both key types. Each location is a fresh document id in the shared test
// database; open() makes a new connection, so a reopen is a restart.
#include <string>

#include <treecrdt/storage/postgres.hpp>

#include "pg_test_support.hpp"

namespace {
template <class Key>
struct postgres_location {
  using key_type = Key;
  using storage_type = treecrdt::postgres_storage<Key>;
  std::string doc = treecrdt_pg_test::unique_doc("conformance");
  [[nodiscard]] storage_type open() { return storage_type(treecrdt_pg_test::pg_url(), doc); }
};
static_assert(treecrdt::Storage<postgres_location<treecrdt::default_op_key>::storage_type>);
static_assert(treecrdt::Storage<postgres_location<treecrdt::compact_op_key>::storage_type>);
}  // namespace

#define TREECRDT_CONFORMANCE_FACTORIES \
  postgres_location<treecrdt::default_op_key>, postgres_location<treecrdt::compact_op_key>
#include "conformance/storage_conformance.ipp"
#include "conformance/sync_conformance.ipp"
