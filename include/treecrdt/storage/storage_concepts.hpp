#pragma once
// The Storage concept: where the op log, the materialization metadata and the checkpoints live
// (SPEC §1, §8). A storage policy is a handle to one document's data; the document drives it.
//
// Every member below runs inside the caller's transaction (`begin()`); nothing is visible to other
// handles until `commit()`, and a transaction destroyed without commit rolls everything back.
//
// Log
//   append(batch) -> std::vector<std::size_t>
//     Effects: stores every op of `batch` whose (replica, counter) is not stored yet; returns the
//       batch indices of the ops newly stored, ascending. An exact duplicate (stored or earlier in the
//       batch) is skipped. Throws conflicting_op_error naming the batch index if an op has the id of
//       a stored op with different content; nothing of the batch may then be committed.
//     Complexity: O(b log n) work, one bulk round trip per batch for database policies.
//   scan_after(after, visit)
//     Effects: calls visit(const op<Key>&) for every stored op with key > *after (all ops when
//       `after` is nullopt), in ascending key order, streaming: the log is never held in memory at
//       once. `visit` may call save_checkpoint on the same handle.
//   op_count() -> std::uint64_t                      number of distinct stored ops, O(1)
//   max_lamport() -> std::uint64_t                   largest stored lamport (0 if none), O(log n)
//   max_counter(replica) -> std::uint64_t            largest stored counter of a replica, O(log n)
// Materialization metadata
//   load_meta() -> materialization_meta<Key>;  store_meta(meta)
// Checkpoints (the blob is opaque to the storage: the document encodes and verifies it). A checkpoint
// is either full or a delta over an earlier one, its `base` (SPEC §8 incremental checkpoints): the
// storage only records the link; the document builds, verifies and prunes chains.
//   save_checkpoint(key, seq, blob, base = nullopt) -> id
//     Effects: stores the checkpoint at head `key`, a delta over the checkpoint at head *base (a full
//       one when nullopt); replaces a checkpoint with the same key. Complexity: O(blob), one round trip.
//   adopt_checkpoint(key, seq, bytes&& blob, base = nullopt) -> id          (optional)
//     save_checkpoint of a buffer the caller gives up, kept without a copy (memory_storage has it;
//     the document calls storage_traits::save_checkpoint, which falls back to save_checkpoint).
//   latest_checkpoint_before(bound) -> std::optional<checkpoint_info<Key>>
//     the checkpoint with the greatest key strictly less than *bound (any key when nullopt)
//   load_checkpoint(id) -> bytes                     throws storage_error if the id is unknown
//   drop_checkpoints_from(key) -> std::uint64_t      drops every checkpoint with key >= `key`
//   drop_checkpoint(id)
//   list_checkpoints() -> std::vector<checkpoint_info<Key>>   ascending by key, with their bases
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "../bytes.hpp"
#include "../head_position.hpp"
#include "../op.hpp"
#include "../op_key_concepts.hpp"

namespace treecrdt {

template <OpKey Key>
struct materialization_meta {
  head_position<Key> head;
  std::optional<Key> frontier;  // smallest late key not reflected yet; nullopt when up to date
  friend bool operator==(const materialization_meta&, const materialization_meta&) = default;
};

template <OpKey Key>
struct checkpoint_info {
  std::uint64_t id = 0;   // assigned by the storage, unique within the document
  Key key{};              // head key the snapshot was taken at
  std::uint64_t seq = 0;  // head seq at that moment
  std::uint64_t size_bytes = 0;
  std::optional<Key> base;  // head key of the checkpoint this one is a delta over; nullopt: a full one
  [[nodiscard]] bool is_full() const noexcept { return !base.has_value(); }
  friend bool operator==(const checkpoint_info&, const checkpoint_info&) = default;
};

namespace detail {
template <class Key>
struct op_sink {
  void operator()(const op<Key>&) const noexcept {}
};
}  // namespace detail

// (kept as written: clang-format 14 cannot indent requires-expression bodies)
// clang-format off
template <class S>
concept Storage =
    OpKey<typename S::key_type> && std::movable<S> &&
    requires(S& s, std::span<const op<typename S::key_type>> batch, const typename S::key_type& key,
             const std::optional<typename S::key_type>& bound, std::uint64_t n, std::string_view blob,
             const materialization_meta<typename S::key_type>& meta,
             const replica_of<typename S::key_type>& replica, typename S::transaction& tx) {
      typename S::transaction;
      { s.begin() } -> std::same_as<typename S::transaction>;
      tx.commit();
      { s.append(batch) } -> std::same_as<std::vector<std::size_t>>;
      s.scan_after(bound, detail::op_sink<typename S::key_type>{});
      { s.op_count() } -> std::same_as<std::uint64_t>;
      { s.max_lamport() } -> std::same_as<std::uint64_t>;
      { s.max_counter(replica) } -> std::same_as<std::uint64_t>;
      { s.load_meta() } -> std::same_as<materialization_meta<typename S::key_type>>;
      s.store_meta(meta);
      { s.save_checkpoint(key, n, blob, bound) } -> std::same_as<std::uint64_t>;
      { s.latest_checkpoint_before(bound) } -> std::same_as<std::optional<checkpoint_info<typename S::key_type>>>;
      { s.load_checkpoint(n) } -> std::same_as<bytes>;
      { s.drop_checkpoints_from(key) } -> std::same_as<std::uint64_t>;
      s.drop_checkpoint(n);
      { s.list_checkpoints() } -> std::same_as<std::vector<checkpoint_info<typename S::key_type>>>;
    };
// clang-format on

}  // namespace treecrdt
