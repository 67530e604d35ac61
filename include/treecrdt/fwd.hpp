#pragma once
// Declarations of the main templates with their default arguments: the one place where the policy
// axes and their defaults are spelled out (document.hpp includes this file and repeats none of them).
//
// Include it where a header only mentions the templates — a function template over any
// `document<...>`, a friend, a member pointer in dependent code — and include document.hpp where a
// specialization is used. Naming a specialization such as `document<>` checks its concepts, which
// needs the policy types complete: after this header alone, `memory_storage` and `memory_store` are
// only declared. The concept headers included here need only the standard library and Boost.
//
// The database storage policies (sqlite_storage, postgres_storage) are not declared here: they are
// separate components with their own headers and CMake targets.
#include "checkpoint_policy.hpp"
#include "op_key_concepts.hpp"
#include "storage/storage_concepts.hpp"
#include "store/store_concepts.hpp"

namespace treecrdt {

template <OpKey Key>
class memory_storage;  // storage/memory.hpp

template <OpKey Key>
class memory_store;  // store/memory_store.hpp

/// document.hpp. Defaults: the default key, everything in memory, a checkpoint every 64 ops up
/// to 1,024 ops of log and every 1,024 after (`log_size_cadence`), exponentially thinned retention.
template <OpKey Key = default_op_key, Storage StoragePolicy = memory_storage<Key>,
          MaterializedStore Store = memory_store<Key>, CadencePolicy Cadence = default_cadence,
          RetentionPolicy Retention = default_retention>
class document;

}  // namespace treecrdt
