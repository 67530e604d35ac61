#pragma once
// PostgreSQL binary wire formats used by the storage policy: big-endian scalars, one-dimensional
// arrays (for the bulk `unnest` append), and the order-preserving mapping of uint64 onto bigint.
// Everything here is pure byte shuffling; it never talks to a server.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "../../detail/binary.hpp"

namespace treecrdt::pg {

/// Type OIDs of the built-in types we bind (fixed by PostgreSQL's catalog, identical on every server).
using type_oid = unsigned int;
inline constexpr type_oid bool_oid = 16;
inline constexpr type_oid bytea_oid = 17;
inline constexpr type_oid int8_oid = 20;
inline constexpr type_oid int4_oid = 23;
inline constexpr type_oid bytea_array_oid = 1001;
inline constexpr type_oid int8_array_oid = 1016;

/// bigint is signed, lamport and counter are uint64. Flipping the top bit maps [0, 2^64) onto
/// [-2^63, 2^63) monotonically, so the database's signed order (indexes, row comparisons, max())
/// equals the unsigned order of the original values.
[[nodiscard]] constexpr std::int64_t to_sortable_int8(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>(v ^ (std::uint64_t{1} << 63));
}
[[nodiscard]] constexpr std::uint64_t from_sortable_int8(std::int64_t v) noexcept {
  return static_cast<std::uint64_t>(v) ^ (std::uint64_t{1} << 63);
}

inline void put_be32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (24 - 8 * i)));
}
inline void put_be64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (56 - 8 * i)));
}

/// The binary form of one int8 value (8 bytes, big-endian two's complement).
[[nodiscard]] inline std::string int8_binary(std::int64_t v) {
  std::string out;
  put_be64(out, static_cast<std::uint64_t>(v));
  return out;
}

/// Reads a binary integer column of `Width` bytes; a different width means the server sent a type
/// we did not ask for, which is reported rather than misread.
template <std::size_t Width>
[[nodiscard]] std::uint64_t read_be(std::string_view field) {
  if (field.size() != Width)
    throw detail::decode_failure("expected a " + std::to_string(Width) + "-byte integer, got " +
                                 std::to_string(field.size()) + " bytes");
  std::uint64_t v = 0;
  for (unsigned char c : field) v = (v << 8) | c;
  return v;
}

/// Builds the binary form of a one-dimensional array:
/// ndim, has-null flag, element OID, length, lower bound, then (length, bytes) per element, with
/// length -1 for a NULL element.
class array_builder {
 public:
  explicit array_builder(type_oid element) {
    put_be32(out_, 1);  // dimensions
    put_be32(out_, 0);  // has-null flag, set by add_null()
    put_be32(out_, element);
    count_at_ = out_.size();
    put_be32(out_, 0);  // element count, patched by finish()
    put_be32(out_, 1);  // lower bound (SQL arrays start at 1)
  }

  void add_bytes(std::string_view v) {
    put_be32(out_, static_cast<std::uint32_t>(v.size()));
    out_.append(v);
    ++count_;
  }
  void add_int8(std::int64_t v) {
    put_be32(out_, 8);
    put_be64(out_, static_cast<std::uint64_t>(v));
    ++count_;
  }
  void add_null() {
    out_[has_null_at] = '\1';
    put_be32(out_, 0xFFFFFFFFu);  // length -1
    ++count_;
  }

  /// The encoded array. Requires at least one element (an empty array has a different header).
  [[nodiscard]] std::string finish() && {
    for (int i = 0; i < 4; ++i)
      out_[count_at_ + static_cast<std::size_t>(i)] = static_cast<char>(count_ >> (24 - 8 * i));
    return std::move(out_);
  }

 private:
  static constexpr std::size_t has_null_at = 7;  // low byte of the big-endian flag word
  std::string out_;
  std::size_t count_at_ = 0;
  std::uint32_t count_ = 0;
};

}  // namespace treecrdt::pg
