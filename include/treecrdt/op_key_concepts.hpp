#pragma once
// The OpKey concept: what the library needs of a key type (SPEC §2).
#include <concepts>
#include <cstdint>
#include <functional>
#include <string_view>

#include "op_key.hpp"

namespace treecrdt {

/// Requires: public fields `lamport` and `counter` (std::uint64_t) and `replica` (K::replica_type),
/// construction `K{lamport, replica, counter}`, a strong total order that is lexicographic over
/// (lamport, replica, counter), a `replica_codec<replica_type>` to and from bytes, and a hashable
/// replica. The order is the replay order, the LWW tie-break and the head/frontier order.
// (kept as written: clang-format 14 cannot indent requires-expression bodies)
// clang-format off
template <class K>
concept OpKey = std::regular<K> && std::three_way_comparable<K, std::strong_ordering> &&
                requires(const K& k, typename K::replica_type r, std::string_view b) {
                  typename K::replica_type;
                  requires std::same_as<decltype(k.lamport), std::uint64_t>;
                  requires std::same_as<decltype(k.counter), std::uint64_t>;
                  requires std::same_as<decltype(k.replica), typename K::replica_type>;
                  K{std::uint64_t{}, r, std::uint64_t{}};
                  { replica_codec<typename K::replica_type>::to_bytes(r) } -> std::convertible_to<bytes>;
                  { replica_codec<typename K::replica_type>::from_bytes(b) } -> std::same_as<typename K::replica_type>;
                  { std::hash<typename K::replica_type>{}(r) } -> std::convertible_to<std::size_t>;
                  requires std::totally_ordered<typename K::replica_type>;
                };
// clang-format on

template <OpKey K>
using replica_of = typename K::replica_type;

static_assert(OpKey<default_op_key>);
static_assert(OpKey<compact_op_key>);

}  // namespace treecrdt
