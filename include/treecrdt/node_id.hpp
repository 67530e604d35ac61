#pragma once
// 128-bit node identifiers and the two reserved nodes (SPEC §2).
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "detail/hex.hpp"

namespace treecrdt {

/// A 128-bit unsigned node id, ordered as the unsigned integer `hi * 2^64 + lo`.
struct node_id {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;

  friend constexpr auto operator<=>(const node_id&, const node_id&) = default;
};

inline constexpr node_id root_node{0, 0};
inline constexpr node_id trash_node{~std::uint64_t{0}, ~std::uint64_t{0}};

[[nodiscard]] constexpr bool is_reserved(node_id n) noexcept { return n == root_node || n == trash_node; }

namespace detail {
/// A node id as 16 bytes, big-endian hi then lo (byte order = id order), on the stack.
struct node_id_raw {
  explicit node_id_raw(node_id n) noexcept {
    for (int i = 0; i < 8; ++i) {
      raw[i] = static_cast<char>(n.hi >> (56 - 8 * i));
      raw[8 + i] = static_cast<char>(n.lo >> (56 - 8 * i));
    }
  }
  [[nodiscard]] std::string_view view() const noexcept { return {raw, sizeof raw}; }
  char raw[16];
};
}  // namespace detail

/// 32 lowercase hex digits, most significant first.
[[nodiscard]] inline std::string to_hex(node_id n) { return detail::to_hex(detail::node_id_raw(n).view()); }

/// Parses exactly 32 hex digits; nullopt otherwise (a wrong-length id is malformed, SPEC §3).
[[nodiscard]] inline std::optional<node_id> node_id_from_hex(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  const auto raw = detail::from_hex(hex);
  if (!raw) return std::nullopt;
  node_id n;
  for (int i = 0; i < 8; ++i) {
    n.hi = (n.hi << 8) | static_cast<unsigned char>((*raw)[static_cast<std::size_t>(i)]);
    n.lo = (n.lo << 8) | static_cast<unsigned char>((*raw)[static_cast<std::size_t>(8 + i)]);
  }
  return n;
}

}  // namespace treecrdt

template <>
struct std::hash<treecrdt::node_id> {
  std::size_t operator()(const treecrdt::node_id& n) const noexcept {
    // splitmix-style finalizer over both halves: ids are often sequential, so mix well.
    std::uint64_t x = n.hi * 0x9e3779b97f4a7c15ULL ^ n.lo;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return static_cast<std::size_t>(x);
  }
};
