#pragma once
// The bytes of a checkpoint, the same for every storage policy: a header that repeats the head
// (key, seq) the storage filed it under — and, for a delta, the head of the base it applies over —
// the store's (full or delta) snapshot, and a checksum over all of it. A mismatch anywhere — flipped
// bytes, a truncated blob, a blob filed under the wrong head or linked to the wrong base — makes the
// checkpoint unusable, and catch-up falls back to an older one or to another path.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "detail/binary.hpp"
#include "errors.hpp"
#include "op_key.hpp"
#include "storage/storage_concepts.hpp"
#include "store/store_concepts.hpp"

namespace treecrdt {

inline constexpr std::string_view checkpoint_magic = "TCCP";
// 2: O(tree) snapshots, full or delta. 3: version vectors inside nodes name replicas by their index
// in the snapshot's replica table; a word-wise checksum. An older checkpoint reads as unknown
// format, i.e. corrupt: catch-up drops it and falls back (replays from an older one or the start).
inline constexpr std::uint8_t checkpoint_format = 3;

namespace detail {
enum class checkpoint_kind : std::uint8_t { full = 0, delta = 1 };

template <class Key>
void write_checkpoint_header(binary_writer& w, checkpoint_kind kind, const Key& head_key, std::uint64_t seq,
                             const checkpoint_info<Key>* base) {
  w.u8(checkpoint_format);
  w.u8(static_cast<std::uint8_t>(kind));
  w.varint(seq);
  encode_key(w, head_key);
  if (base) {
    w.varint(base->seq);
    encode_key(w, base->key);
  }
}

inline void seal_checkpoint(std::string& out) {
  binary_writer w(out);
  w.fixed64(checkpoint_checksum(out));
}

/// Checks magic, checksum and header of `blob` against where it is filed; returns the snapshot
/// bytes. Throws corrupt_checkpoint_error naming the checkpoint.
template <class Key>
std::string_view open_checkpoint(std::string_view blob, checkpoint_kind kind, const Key& head_key, std::uint64_t seq,
                                 const checkpoint_info<Key>* base) {
  const auto fail = [&](const std::string& why) {
    throw corrupt_checkpoint_error(std::string(kind == checkpoint_kind::full ? "full" : "delta") +
                                   " checkpoint at seq " + std::to_string(seq) + " " + describe_key(head_key) + ": " +
                                   why);
  };
  if (blob.size() < checkpoint_magic.size() + 2 + 8 || blob.substr(0, checkpoint_magic.size()) != checkpoint_magic)
    fail("not a treecrdt checkpoint");
  if (const auto format = static_cast<std::uint8_t>(blob[checkpoint_magic.size()]); format != checkpoint_format)
    fail("unknown checkpoint format " + std::to_string(format) + " (this build reads " +
         std::to_string(checkpoint_format) + ")");
  const std::string_view body = blob.substr(0, blob.size() - 8);
  binary_reader tail(blob.substr(blob.size() - 8));
  if (tail.fixed64() != checkpoint_checksum(body)) fail("checksum mismatch");
  try {
    binary_reader r(body.substr(checkpoint_magic.size() + 1));
    if (r.u8() != static_cast<std::uint8_t>(kind))
      fail("not a " + std::string(kind == checkpoint_kind::full ? "full" : "delta") + " checkpoint");
    if (r.varint() != seq || decode_key<Key>(r) != head_key) fail("header does not match the head it is filed under");
    if (base && (r.varint() != base->seq || decode_key<Key>(r) != base->key))
      fail("header does not match the base it is linked to");
    return body.substr(body.size() - r.remaining());
  } catch (const decode_failure& e) {
    fail(e.what());
  }
  return {};
}
}  // namespace detail

/// A full checkpoint of `store` at head (head_key, seq), written over `out` (its capacity is
/// reused: a writer that keeps one buffer allocates nothing once it is warm). Complexity: O(store
/// snapshot).
template <MaterializedStore Store>
void encode_checkpoint(std::string& out, const Store& store, const typename Store::key_type& head_key,
                       std::uint64_t seq) {
  out.assign(checkpoint_magic);
  detail::binary_writer w(out);
  detail::write_checkpoint_header<typename Store::key_type>(w, detail::checkpoint_kind::full, head_key, seq, nullptr);
  store.snapshot(out);
  detail::seal_checkpoint(out);
}

template <MaterializedStore Store>
[[nodiscard]] std::string encode_checkpoint(const Store& store, const typename Store::key_type& head_key,
                                            std::uint64_t seq) {
  std::string out;
  encode_checkpoint(out, store, head_key, seq);
  return out;
}

/// A delta checkpoint at head (head_key, seq) over `base`, holding what changed since the store's
/// `mark` (taken when `base` was written), written over `out`. Complexity: O(changed since the mark).
template <DeltaSnapshotStore Store>
void encode_delta_checkpoint(std::string& out, const Store& store, std::uint64_t mark,
                             const typename Store::key_type& head_key, std::uint64_t seq,
                             const checkpoint_info<typename Store::key_type>& base) {
  out.assign(checkpoint_magic);
  detail::binary_writer w(out);
  detail::write_checkpoint_header(w, detail::checkpoint_kind::delta, head_key, seq, &base);
  store.snapshot_since(mark, out);
  detail::seal_checkpoint(out);
}

template <DeltaSnapshotStore Store>
[[nodiscard]] std::string encode_delta_checkpoint(const Store& store, std::uint64_t mark,
                                                  const typename Store::key_type& head_key, std::uint64_t seq,
                                                  const checkpoint_info<typename Store::key_type>& base) {
  std::string out;
  encode_delta_checkpoint(out, store, mark, head_key, seq, base);
  return out;
}

/// Replaces `store` with a full checkpoint's snapshot. Throws corrupt_checkpoint_error (and leaves
/// the store cleared) if the blob does not verify or was not taken at (head_key, seq).
template <MaterializedStore Store>
void restore_checkpoint(Store& store, std::string_view blob, const typename Store::key_type& head_key,
                        std::uint64_t seq) {
  try {
    const auto snapshot =
        detail::open_checkpoint<typename Store::key_type>(blob, detail::checkpoint_kind::full, head_key, seq, nullptr);
    store.restore(snapshot);
  } catch (const detail::decode_failure& e) {
    store.clear();
    throw corrupt_checkpoint_error("full checkpoint at seq " + std::to_string(seq) + " " + describe_key(head_key) +
                                   ": " + e.what());
  } catch (const corrupt_checkpoint_error&) {
    store.clear();
    throw;
  }
}

/// Applies a delta checkpoint over `store`, which must hold exactly the state of `base`. Throws
/// corrupt_checkpoint_error (store cleared) if the blob does not verify or is not filed at
/// (head_key, seq) over `base`.
template <DeltaSnapshotStore Store>
void apply_delta_checkpoint(Store& store, std::string_view blob, const typename Store::key_type& head_key,
                            std::uint64_t seq, const checkpoint_info<typename Store::key_type>& base) {
  try {
    const auto delta = detail::open_checkpoint(blob, detail::checkpoint_kind::delta, head_key, seq, &base);
    store.restore_delta(delta);
  } catch (const detail::decode_failure& e) {
    store.clear();
    throw corrupt_checkpoint_error("delta checkpoint at seq " + std::to_string(seq) + " " + describe_key(head_key) +
                                   ": " + e.what());
  } catch (const corrupt_checkpoint_error&) {
    store.clear();
    throw;
  }
}

}  // namespace treecrdt
