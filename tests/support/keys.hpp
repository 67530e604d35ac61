#pragma once
// Test helpers that build keys and node ids the same way for both key types: replica r is the
// single byte r for default keys and the integer r for compact keys, so both orders agree.
#include <cstdint>
#include <type_traits>

#include "treecrdt/node_id.hpp"
#include "treecrdt/op_key.hpp"

namespace treecrdt::testing {

template <class Key>
[[nodiscard]] typename Key::replica_type replica(int r) {
  if constexpr (std::is_integral_v<typename Key::replica_type>) {
    return static_cast<typename Key::replica_type>(r);
  } else {
    return typename Key::replica_type(1, static_cast<char>(r));
  }
}

template <class Key>
[[nodiscard]] Key key(std::uint64_t lamport, int r, std::uint64_t counter) {
  Key k;
  k.lamport = lamport;
  k.replica = replica<Key>(r);
  k.counter = counter;
  return k;
}

[[nodiscard]] constexpr node_id nid(std::uint64_t n) noexcept { return node_id{0, n}; }

}  // namespace treecrdt::testing
