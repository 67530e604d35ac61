// The storage conformance suite for the in-memory policy, with both key types.
#include "treecrdt/storage/memory.hpp"

namespace {
template <class Key>
struct memory_location {
  using key_type = Key;
  using storage_type = treecrdt::memory_storage<Key>;
  storage_type db;  // handles share the data: open() is a reopen
  [[nodiscard]] storage_type open() { return db; }
};
static_assert(treecrdt::Storage<memory_location<treecrdt::default_op_key>::storage_type>);
}  // namespace

#define TREECRDT_CONFORMANCE_FACTORIES \
  memory_location<treecrdt::default_op_key>, memory_location<treecrdt::compact_op_key>
#include "storage_conformance.ipp"
#include "sync_conformance.ipp"
