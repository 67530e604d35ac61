#pragma once
// Operations (SPEC §3): one flat value type for the five kinds, factories that produce the
// canonical shape of each kind, and validation with a reason that names what is wrong.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "bytes.hpp"
#include "detail/binary.hpp"
#include "errors.hpp"
#include "limits.hpp"
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

namespace detail {

/// Bytes of a replica id's canonical form, without building it when the type says it directly.
template <class Replica>
[[nodiscard]] std::size_t replica_size(const Replica& r) {
  if constexpr (std::is_same_v<Replica, bytes>) {
    return r.size();
  } else if constexpr (std::is_integral_v<Replica>) {
    return sizeof(Replica);
  } else {
    return replica_codec<Replica>::to_bytes(r).size();
  }
}

[[nodiscard]] inline std::string over_limit(std::string_view what, std::uint64_t value, std::uint64_t limit) {
  return std::string(what) + " " + std::to_string(value) + " is above the limit " + std::to_string(limit);
}

/// Why `ks` breaks a known_state limit (replicas, ranges, replica id size, clock limit), or nullopt.
/// Complexity: O(replicas).
template <class Replica>
[[nodiscard]] std::optional<std::string> known_state_limit_error(const version_vector<Replica>& ks) {
  if (ks.replica_count() > limits::max_known_state_replicas)
    return over_limit("known_state replica count", ks.replica_count(), limits::max_known_state_replicas);
  std::size_t ranges = 0;
  for (const auto& [r, e] : ks.entries()) {
    if (replica_size(r) > limits::max_replica_bytes)
      return over_limit("known_state replica id size (bytes)", replica_size(r), limits::max_replica_bytes);
    const std::uint64_t top = e.ranges.empty() ? e.frontier : e.ranges.back().last;
    if (top > limits::max_clock)
      return "known_state counter " + std::to_string(top) + " of replica " +
             to_hex(replica_codec<Replica>::to_bytes(r)) + " is above the clock limit " +
             std::to_string(limits::max_clock);
    ranges += e.ranges.size();
    if (ranges > limits::max_known_state_ranges)
      return over_limit("known_state range count", ranges, limits::max_known_state_ranges);
  }
  return std::nullopt;
}

}  // namespace detail

/// Bytes of `o`'s binary form: its key (encode_key) plus its body (encode_op_body, op_codec.hpp),
/// computed without encoding. The measure of limits::max_op_bytes and max_batch_bytes.
/// Complexity: O(1), plus O(ranges) of a known_state. Throws: nothing but std::bad_alloc.
template <OpKey Key>
[[nodiscard]] std::uint64_t encoded_size(const op<Key>& o) {
  using detail::varint_size;
  const auto sized = [](std::size_t n) -> std::uint64_t { return varint_size(n) + n; };
  std::uint64_t n =
      varint_size(o.key.lamport) + sized(detail::replica_size(o.key.replica)) + varint_size(o.key.counter);
  n += 1 + 1 + 16 + 16 + sized(o.order_key.size()) + 1 + 1;  // format, kind, node, parent, key, two flags
  if (o.payload) n += sized(o.payload->size());
  if (o.known_state) {
    n += varint_size(o.known_state->replica_count());
    for (const auto& [r, e] : o.known_state->entries()) {
      n += sized(detail::replica_size(r)) + varint_size(e.frontier) + varint_size(e.ranges.size());
      for (const auto& cr : e.ranges) n += varint_size(cr.first) + varint_size(cr.last);
    }
  }
  return n;
}

/// Why `o` is invalid (SPEC §3, and the limits of limits.hpp), or nullopt when it is valid.
/// A pure function of the op: every replica refuses the same ops.
/// Complexity: O(1), plus O(ranges) of a known_state. Throws: nothing but std::bad_alloc.
template <OpKey Key>
[[nodiscard]] std::optional<std::string> validation_error(const op<Key>& o) {
  if (o.key.counter == 0) return "counter is 0";
  if (o.key.counter > limits::max_clock) return detail::over_limit("counter", o.key.counter, limits::max_clock);
  if (o.key.lamport > limits::max_clock) return detail::over_limit("lamport", o.key.lamport, limits::max_clock);
  if (const std::size_t r = detail::replica_size(o.key.replica); r > limits::max_replica_bytes)
    return detail::over_limit("replica id size (bytes)", r, limits::max_replica_bytes);
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
  if (o.order_key.size() > limits::max_order_key_bytes)
    return detail::over_limit("order_key size (bytes)", o.order_key.size(), limits::max_order_key_bytes);
  if (o.payload && o.payload->size() > limits::max_payload_bytes)
    return detail::over_limit("payload size (bytes)", o.payload->size(), limits::max_payload_bytes);
  if (o.known_state)
    if (auto why = detail::known_state_limit_error(*o.known_state)) return why;
  if (const std::uint64_t n = encoded_size(o); n > limits::max_op_bytes)
    return detail::over_limit("op size (bytes)", n, limits::max_op_bytes);
  return std::nullopt;
}

/// Refuses a batch above limits::max_batch_ops ops or limits::max_batch_bytes bytes (the sum of
/// encoded_size): throws invalid_op_error naming the first op past the limit. The limits are
/// parameters for tests; the document uses the defaults. Each op's own validity is validation_error's.
/// Complexity: O(batch) (plus known_state ranges).
template <OpKey Key>
void check_batch_limits(std::span<const op<Key>> batch, std::size_t max_ops = limits::max_batch_ops,
                        std::uint64_t max_bytes = limits::max_batch_bytes) {
  if (batch.size() > max_ops)
    throw invalid_op_error(
        max_ops, describe(batch[max_ops]),
        "the batch has " + std::to_string(batch.size()) + " ops, more than the limit " + std::to_string(max_ops));
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    total += encoded_size(batch[i]);
    if (total > max_bytes)
      throw invalid_op_error(
          i, describe(batch[i]),
          "the batch's ops take more than the limit of " + std::to_string(max_bytes) + " bytes from this op on");
  }
}

}  // namespace treecrdt
