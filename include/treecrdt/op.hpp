#pragma once
// Operations (SPEC §3): one flat value type for the five kinds, factories that produce the
// canonical shape of each kind, and validation with a reason that names what is wrong.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "bytes.hpp"
#include "node_id.hpp"
#include "op_key_concepts.hpp"
#include "version_vector.hpp"

namespace treecrdt {

enum class op_kind : std::uint8_t { insert = 1, move = 2, delete_ = 3, tombstone = 4, payload = 5 };

[[nodiscard]] constexpr std::string_view to_string(op_kind k) noexcept {
  switch (k) {
    case op_kind::insert: return "insert";
    case op_kind::move: return "move";
    case op_kind::delete_: return "delete";
    case op_kind::tombstone: return "tombstone";
    case op_kind::payload: return "payload";
  }
  return "unknown";
}

/// One immutable edit. Fields a kind does not use stay empty (the factories guarantee it and
/// validation checks it), so `==` is content equality, used to tell duplicates from conflicts.
///   insert:    parent, node, order_key, payload (optional)
///   move:      node, parent (the new parent), order_key
///   delete:    node, known_state (required)
///   tombstone: node, known_state (optional)
///   payload:   node, payload (nullopt clears)
template <OpKey Key>
struct op {
  using key_type = Key;
  using replica_type = replica_of<Key>;
  using version_vector_type = version_vector<replica_type>;

  Key key{};
  op_kind kind = op_kind::insert;
  node_id node{};
  node_id parent{};
  bytes order_key;
  std::optional<bytes> payload;
  std::optional<version_vector_type> known_state;

  [[nodiscard]] dot<replica_type> id() const { return {key.replica, key.counter}; }
  friend bool operator==(const op&, const op&) = default;
};

template <OpKey Key>
[[nodiscard]] op<Key> make_insert(Key key, node_id parent, node_id node, bytes order_key,
                                  std::optional<bytes> payload = std::nullopt) {
  op<Key> o;
  o.key = std::move(key);
  o.kind = op_kind::insert;
  o.parent = parent;
  o.node = node;
  o.order_key = std::move(order_key);
  o.payload = std::move(payload);
  return o;
}

template <OpKey Key>
[[nodiscard]] op<Key> make_move(Key key, node_id node, node_id new_parent, bytes order_key) {
  op<Key> o;
  o.key = std::move(key);
  o.kind = op_kind::move;
  o.node = node;
  o.parent = new_parent;
  o.order_key = std::move(order_key);
  return o;
}

template <OpKey Key>
[[nodiscard]] op<Key> make_delete(Key key, node_id node, version_vector<replica_of<Key>> known_state) {
  op<Key> o;
  o.key = std::move(key);
  o.kind = op_kind::delete_;
  o.node = node;
  o.known_state = std::move(known_state);
  return o;
}

template <OpKey Key>
[[nodiscard]] op<Key> make_tombstone(Key key, node_id node,
                                     std::optional<version_vector<replica_of<Key>>> known_state = std::nullopt) {
  op<Key> o;
  o.key = std::move(key);
  o.kind = op_kind::tombstone;
  o.node = node;
  o.known_state = std::move(known_state);
  return o;
}

template <OpKey Key>
[[nodiscard]] op<Key> make_payload(Key key, node_id node, std::optional<bytes> value) {
  op<Key> o;
  o.key = std::move(key);
  o.kind = op_kind::payload;
  o.node = node;
  o.payload = std::move(value);
  return o;
}

/// "insert (lamport 3, replica a1, counter 2) node 000…00a": how errors name an op.
template <OpKey Key>
[[nodiscard]] std::string describe(const op<Key>& o) {
  return std::string(to_string(o.kind)) + " " + describe_key(o.key) + " node " + to_hex(o.node);
}

/// Why `o` is invalid (SPEC §3), or nullopt when it is valid.
/// Complexity: O(1). Throws: nothing but std::bad_alloc.
template <OpKey Key>
[[nodiscard]] std::optional<std::string> validation_error(const op<Key>& o) {
  if (o.key.counter == 0) return "counter is 0";
  const bool structural = o.kind != op_kind::payload;
  if (structural && o.node == root_node) return "node is ROOT";
  if (o.node == trash_node) return o.kind == op_kind::insert ? "insert names TRASH as its node" : "node is TRASH";
  const bool uses_parent = o.kind == op_kind::insert || o.kind == op_kind::move;
  const bool uses_payload = o.kind == op_kind::insert || o.kind == op_kind::payload;
  const bool uses_known_state = o.kind == op_kind::delete_ || o.kind == op_kind::tombstone;
  switch (o.kind) {
    case op_kind::insert:
    case op_kind::move:
    case op_kind::delete_:
    case op_kind::tombstone:
    case op_kind::payload: break;
    default: return "unknown op kind " + std::to_string(static_cast<int>(o.kind));
  }
  if (!uses_parent && (o.parent != node_id{} || !o.order_key.empty()))
    return "parent/order_key given for a " + std::string(to_string(o.kind)) + " op";
  if (!uses_payload && o.payload) return "payload given for a " + std::string(to_string(o.kind)) + " op";
  if (!uses_known_state && o.known_state) return "known_state given for a " + std::string(to_string(o.kind)) + " op";
  if (o.kind == op_kind::delete_ && !o.known_state) return "delete without known_state";
  return std::nullopt;
}

}  // namespace treecrdt
