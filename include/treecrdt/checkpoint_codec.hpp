#pragma once
// The bytes of a checkpoint, the same for every storage policy: a header that repeats the head
// (key, seq) the storage filed it under, the store snapshot, and a checksum over all of it. A
// mismatch anywhere — flipped bytes, a truncated blob, a blob filed under the wrong head — makes
// the checkpoint unusable, and catch-up falls back to an older one or to a full replay.
#include <cstdint>
#include <string>
#include <string_view>

#include "detail/binary.hpp"
#include "errors.hpp"
#include "op_key.hpp"
#include "store/store_concepts.hpp"

namespace treecrdt {

inline constexpr std::string_view checkpoint_magic = "TCCP";
inline constexpr std::uint8_t checkpoint_format = 1;

template <MaterializedStore Store>
[[nodiscard]] std::string encode_checkpoint(const Store& store, const typename Store::key_type& head_key,
                                            std::uint64_t seq) {
  std::string out(checkpoint_magic);
  detail::binary_writer w(out);
  w.u8(checkpoint_format);
  w.varint(seq);
  encode_key(w, head_key);
  store.snapshot(out);
  w.fixed64(detail::fnv1a64(out));
  return out;
}

/// Replaces `store` with the checkpoint's snapshot. Throws corrupt_checkpoint_error (and leaves
/// the store cleared) if the blob does not verify or was not taken at (head_key, seq).
template <MaterializedStore Store>
void restore_checkpoint(Store& store, std::string_view blob, const typename Store::key_type& head_key,
                        std::uint64_t seq) {
  const auto fail = [&](const std::string& why) {
    store.clear();
    throw corrupt_checkpoint_error("checkpoint at seq " + std::to_string(seq) + " " + describe_key(head_key) + ": " +
                                   why);
  };
  if (blob.size() < checkpoint_magic.size() + 1 + 8 || blob.substr(0, checkpoint_magic.size()) != checkpoint_magic)
    fail("not a treecrdt checkpoint");
  const std::string_view body = blob.substr(0, blob.size() - 8);
  detail::binary_reader tail(blob.substr(blob.size() - 8));
  if (tail.fixed64() != detail::fnv1a64(body)) fail("checksum mismatch");
  try {
    detail::binary_reader r(body.substr(checkpoint_magic.size()));
    if (r.u8() != checkpoint_format) fail("unknown checkpoint format");
    if (r.varint() != seq || decode_key<typename Store::key_type>(r) != head_key)
      fail("header does not match the head it is filed under");
    store.restore(body.substr(body.size() - r.remaining()));
  } catch (const detail::decode_failure& e) {
    fail(e.what());
  }
}

}  // namespace treecrdt
