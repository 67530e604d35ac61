// The generic storage conformance suite for sqlite_storage, with both key types, on two kinds of
// location: a database file in a temporary directory, and a shared in-memory database (a named
// "file:…?mode=memory&cache=shared" URI, kept alive by an anchor handle so that open() is a reopen).
#include <cstdint>
#include <string>

#include "sqlite/sqlite_test_support.hpp"
#include "treecrdt/storage/sqlite.hpp"

namespace {

template <class Key>
struct sqlite_file_location {
  using key_type = Key;
  using storage_type = treecrdt::sqlite_storage<Key>;
  treecrdt_test::temp_dir dir;
  [[nodiscard]] storage_type open() {
    // The suite checks semantics, not power-loss durability (the crash test does that): no fsync.
    treecrdt::sqlite_options options;
    options.synchronous = treecrdt::sqlite_options::sync_mode::off;
    return storage_type::open(dir.file("doc.db"), options);
  }
};

template <class Key>
struct sqlite_memory_location {
  using key_type = Key;
  using storage_type = treecrdt::sqlite_storage<Key>;
  sqlite_memory_location()
      : uri("file:treecrdt-conformance-" + std::to_string(next_id++) + "?mode=memory&cache=shared"), anchor(open()) {}
  [[nodiscard]] storage_type open() {
    treecrdt::sqlite_options options;
    options.uri = true;
    return storage_type::open(uri, options);
  }
  inline static std::uint64_t next_id = 0;
  std::string uri;
  storage_type anchor;  // an in-memory database lives as long as one connection to it
};

static_assert(treecrdt::Storage<sqlite_file_location<treecrdt::default_op_key>::storage_type>);
static_assert(treecrdt::Storage<sqlite_file_location<treecrdt::compact_op_key>::storage_type>);

}  // namespace

#define TREECRDT_CONFORMANCE_FACTORIES                                                            \
  sqlite_file_location<treecrdt::default_op_key>, sqlite_file_location<treecrdt::compact_op_key>, \
      sqlite_memory_location<treecrdt::default_op_key>, sqlite_memory_location<treecrdt::compact_op_key>
#include "conformance/storage_conformance.ipp"
#include "conformance/sync_conformance.ipp"
