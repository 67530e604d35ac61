#pragma once
// The two shipped op key types (SPEC §2): the default key with replica bytes and a compact key
// whose replica is a 64-bit integer. Both are ordered lexicographically (lamport, replica, counter).
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "bytes.hpp"
#include "detail/binary.hpp"
#include "detail/hex.hpp"

namespace treecrdt {

/// How a replica type converts to and from its canonical byte string (JSON, databases, checkpoints).
template <class Replica>
struct replica_codec;

template <>
struct replica_codec<bytes> {
  [[nodiscard]] static bytes to_bytes(const bytes& r) { return r; }
  [[nodiscard]] static bytes from_bytes(std::string_view b) { return bytes(b); }
};

/// Compact replicas are written as 8 big-endian bytes, so byte order equals integer order.
/// Reading accepts 1 to 8 bytes (a shorter id is left-padded), anything longer is malformed.
template <>
struct replica_codec<std::uint64_t> {
  [[nodiscard]] static bytes to_bytes(std::uint64_t r) {
    bytes out(8, '\0');
    for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(r >> (56 - 8 * i));
    return out;
  }
  [[nodiscard]] static std::uint64_t from_bytes(std::string_view b) {
    if (b.empty() || b.size() > 8) throw detail::decode_failure("compact replica id must be 1 to 8 bytes");
    std::uint64_t r = 0;
    for (unsigned char c : b) r = (r << 8) | c;
    return r;
  }
};

/// Default key: `(lamport, replica bytes, counter)`. Replica bytes compare as unsigned bytes.
struct default_op_key {
  using replica_type = bytes;
  std::uint64_t lamport = 0;
  replica_type replica;
  std::uint64_t counter = 0;

  friend auto operator<=>(const default_op_key&, const default_op_key&) = default;
  friend bool operator==(const default_op_key&, const default_op_key&) = default;
};

/// Compact key: the replica is a fixed-width integer; no allocation, 24 bytes.
struct compact_op_key {
  using replica_type = std::uint64_t;
  std::uint64_t lamport = 0;
  replica_type replica = 0;
  std::uint64_t counter = 0;

  friend constexpr auto operator<=>(const compact_op_key&, const compact_op_key&) = default;
};

/// A dot `(replica, counter)`: the identity of one op.
template <class Replica>
struct dot {
  Replica replica{};
  std::uint64_t counter = 0;
  friend auto operator<=>(const dot&, const dot&) = default;
  friend bool operator==(const dot&, const dot&) = default;
};

/// "lamport 3, replica a1, counter 2": how errors and logs name an op.
template <class Key>
[[nodiscard]] std::string describe_key(const Key& k) {
  return "(lamport " + std::to_string(k.lamport) + ", replica " +
         detail::to_hex(replica_codec<typename Key::replica_type>::to_bytes(k.replica)) + ", counter " +
         std::to_string(k.counter) + ")";
}

template <class Key>
void encode_key(detail::binary_writer& w, const Key& k) {
  w.varint(k.lamport);
  w.byte_string(replica_codec<typename Key::replica_type>::to_bytes(k.replica));
  w.varint(k.counter);
}

template <class Key>
[[nodiscard]] Key decode_key(detail::binary_reader& r) {
  Key k;
  k.lamport = r.varint();
  k.replica = replica_codec<typename Key::replica_type>::from_bytes(r.byte_string());
  k.counter = r.varint();
  return k;
}

}  // namespace treecrdt
