#pragma once
// Helpers shared by the JSON codec tests: keys that read the same for both key types, and a
// check that a line fails with a message naming what failed.
#include <cstdint>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "treecrdt/json.hpp"

namespace json_test {

using namespace treecrdt;

/// A key whose replica is the single byte `replica` (default key) or the integer `replica`
/// (compact key); in JSON both read from the same hex text, e.g. "a1".
template <class K>
[[nodiscard]] K key(std::uint64_t lamport, unsigned char replica, std::uint64_t counter) {
  K k;
  k.lamport = lamport;
  k.counter = counter;
  if constexpr (std::is_same_v<typename K::replica_type, bytes>)
    k.replica = bytes(1, static_cast<char>(replica));
  else
    k.replica = replica;
  return k;
}

/// How encode_op writes that replica: one byte for the default key, eight for the compact key.
template <class K>
[[nodiscard]] std::string replica_hex(unsigned char replica) {
  const std::string one = detail::to_hex(std::string(1, static_cast<char>(replica)));
  if constexpr (std::is_same_v<typename K::replica_type, bytes>)
    return one;
  else
    return "00000000000000" + one;
}

inline constexpr node_id node_a{0, 0x0a};
inline constexpr node_id node_b{0, 0x0b};
inline const std::string root_hex = "00000000000000000000000000000000";
inline const std::string trash_hex = "ffffffffffffffffffffffffffffffff";
inline const std::string a_hex = "0000000000000000000000000000000a";
inline const std::string b_hex = "0000000000000000000000000000000b";

/// The parse_error thrown by decoding `line`, or a failed check when nothing is thrown.
template <class K>
[[nodiscard]] std::string decode_failure_message(std::string_view line) {
  try {
    (void)json::decode_op<K>(line);
  } catch (const parse_error& e) {
    CHECK(e.line() == 1);
    return e.what();
  }
  FAIL_CHECK("no parse_error for: " << line);
  return {};
}

}  // namespace json_test
