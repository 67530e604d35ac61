#pragma once
// Where a materialized store stands in the log (SPEC §8): the key of the last op it reflects and how
// many distinct ops have a key ≤ it. Shared by storage policies, stores and catch-up.
#include <cstdint>
#include <optional>

#include "op_key_concepts.hpp"

namespace treecrdt {

/// The last op reflected in the materialized store, and how many distinct ops have key ≤ it.
template <OpKey Key>
struct head_position {
  std::optional<Key> key;  // nullopt: nothing materialized yet
  std::uint64_t seq = 0;
  friend bool operator==(const head_position&, const head_position&) = default;
};

}  // namespace treecrdt
