#pragma once
// Order keys for local edits (SPEC §7): a key strictly between two neighbours, deterministic given
// the op id, short under repeated appends at either end.
//
// Our own keys are sequences of self-delimiting integers. Each integer is a head byte
// 0x79..0x86 that fixes its sign and byte length (1..7) followed by that many big-endian bytes, laid
// out so that byte order equals integer order (longer positive integers get larger heads).
//   first / last of a sibling list  -> the neighbour's first integer -1 / +1 (plus a small jitter);
//   between integers a and b, b-a>=2 -> an integer strictly between them;
//   between adjacent integers a, a+1 -> a, then "after" the rest of the lower key;
//   between keys sharing integer a   -> a, then recursively between the two rests.
// So appending at either end, typing after the last insert, or inserting repeatedly at the front of
// a gap all grow keys with the logarithm of the number of inserts (100,000 appends: 4 bytes).
// The jitter (0..15, derived from the op id) makes concurrent inserts at the same spot by different
// replicas rarely pick the same key; when they do, the node-id tie-break still orders them.
// Keys from other writers may have any shape; where one does not parse, a generic byte midpoint is
// used, which is always correct but not length-optimized. When no key fits strictly between the
// neighbours (equal keys, or `x` and `x` followed only by 0x00 bytes, since generated keys never
// end in 0x00), the lower neighbour's key is reused and the node-id tie-break orders the siblings
// (duplicate keys are legal).
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "bytes.hpp"
#include "limits.hpp"

namespace treecrdt {

namespace detail {

inline constexpr int order_key_max_length = 7;  // integer bytes; 7 keeps every value in int64

// base[L] = number of non-negative integers representable with fewer than L bytes.
inline constexpr std::array<std::int64_t, 9> order_key_base = [] {
  std::array<std::int64_t, 9> b{};
  b[1] = 0;
  for (int l = 1; l < 8; ++l)
    b[static_cast<std::size_t>(l + 1)] = b[static_cast<std::size_t>(l)] + (std::int64_t{1} << (8 * l));
  return b;
}();

struct parsed_order_key {
  std::int64_t integer = 0;
  std::size_t integer_end = 0;  // bytes taken by head + integer
};

[[nodiscard]] inline std::optional<parsed_order_key> parse_order_key(std::string_view k) {
  if (k.empty()) return std::nullopt;
  const int head = static_cast<unsigned char>(k[0]);
  const bool positive = head >= 0x80;
  const int len = positive ? head - 0x7f : 0x80 - head;
  if (len < 1 || len > order_key_max_length || k.size() < static_cast<std::size_t>(1 + len)) return std::nullopt;
  std::int64_t v = 0;
  for (int i = 1; i <= len; ++i) v = (v << 8) | static_cast<unsigned char>(k[static_cast<std::size_t>(i)]);
  const auto l = static_cast<std::size_t>(len);
  return parsed_order_key{positive ? order_key_base[l] + v : v - order_key_base[l + 1], l + 1};
}

[[nodiscard]] inline std::optional<bytes> encode_order_integer(std::int64_t value) {
  for (int len = 1; len <= order_key_max_length; ++len) {
    const auto l = static_cast<std::size_t>(len);
    const bool fits = value >= 0 ? value < order_key_base[l + 1] : value >= -order_key_base[l + 1];
    if (!fits) continue;
    const std::int64_t v = value >= 0 ? value - order_key_base[l] : value + order_key_base[l + 1];
    bytes out;
    out.push_back(static_cast<char>(value >= 0 ? 0x7f + len : 0x80 - len));
    for (int i = len - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return out;
  }
  return std::nullopt;  // beyond ±7.2e16 appends
}

[[nodiscard]] constexpr std::int64_t order_key_jitter(std::uint64_t seed) noexcept {
  return static_cast<std::int64_t>(seed % 16);
}

/// Digits d with lo < out+d < hi (hi absent = unbounded) for arbitrary byte strings, given lo < hi
/// and `out` as their common start. The result never ends in 0x00. nullopt if nothing fits.
[[nodiscard]] inline std::optional<bytes> digits_between(bytes out, std::string_view lo,
                                                         std::optional<std::string_view> hi, std::uint64_t seed) {
  bool hi_open = !hi;
  for (std::size_t i = 0;; ++i) {
    const int lo_d = i < lo.size() ? static_cast<unsigned char>(lo[i]) : 0;
    int hi_d = 256;
    if (!hi_open) {
      if (i >= hi->size()) return std::nullopt;  // hi is a prefix of what we built: nothing fits
      hi_d = static_cast<unsigned char>((*hi)[i]);
    }
    if (hi_d < lo_d) return std::nullopt;  // lo >= hi
    if (hi_d - lo_d >= 2) {
      const int room = hi_d - lo_d - 1;
      out.push_back(static_cast<char>(lo_d + 1 + static_cast<int>(seed % static_cast<std::uint64_t>(room))));
      return out;
    }
    out.push_back(static_cast<char>(lo_d));
    if (hi_d - lo_d == 1) hi_open = true;  // below hi from here on; only lo still constrains
  }
}

/// lo < result < hi with absent bounds open; nullopt when nothing fits.
[[nodiscard]] inline std::optional<bytes> order_key_between_impl(std::optional<std::string_view> lo,
                                                                 std::optional<std::string_view> hi,
                                                                 std::uint64_t seed) {
  if (lo && hi && !(*lo < *hi)) return std::nullopt;
  const std::int64_t jitter = order_key_jitter(seed);
  const std::optional<parsed_order_key> plo = lo ? parse_order_key(*lo) : std::nullopt;
  const std::optional<parsed_order_key> phi = hi ? parse_order_key(*hi) : std::nullopt;
  if ((!lo || plo) && (!hi || phi)) {
    const parsed_order_key l = plo.value_or(parsed_order_key{});
    const parsed_order_key h = phi.value_or(parsed_order_key{});
    if (!lo && !hi) return encode_order_integer(jitter);
    if (!lo) return encode_order_integer(h.integer - 1 - jitter);
    if (!hi) return encode_order_integer(l.integer + 1 + jitter);
    const std::int64_t gap = h.integer - l.integer;
    if (gap >= 2) {
      const std::int64_t room = gap - 1 < 16 ? gap - 1 : 16;
      return encode_order_integer(l.integer + 1 + static_cast<std::int64_t>(seed % static_cast<std::uint64_t>(room)));
    }
    const std::string_view lo_rest = lo->substr(l.integer_end);
    const std::optional<std::string_view> lo_tail = lo_rest.empty() ? std::nullopt : std::optional(lo_rest);
    std::optional<bytes> tail;
    if (gap == 1) tail = order_key_between_impl(lo_tail, std::nullopt, seed >> 4);
    if (gap == 0) tail = order_key_between_impl(lo_tail, hi->substr(h.integer_end), seed >> 4);
    if (tail) return bytes(lo->substr(0, l.integer_end)) + *tail;
  }
  return digits_between({}, lo.value_or(std::string_view{}), hi, seed);
}

}  // namespace detail

/// A key k with lo < k < hi, where an absent bound is open. Deterministic in (lo, hi, seed); the
/// document seeds it from the op id. If nothing fits strictly between, or only a key longer than
/// limits::max_order_key_bytes (next to a foreign key near that size), returns the lower (else the
/// upper) neighbour's key. Complexity: O(|lo| + |hi|). Throws: std::bad_alloc only.
[[nodiscard]] inline bytes order_key_between(std::optional<std::string_view> lo, std::optional<std::string_view> hi,
                                             std::uint64_t seed) {
  if (auto k = detail::order_key_between_impl(lo, hi, seed); k && k->size() <= limits::max_order_key_bytes)
    return *std::move(k);
  return bytes(lo ? *lo : *hi);
}

}  // namespace treecrdt
