// libFuzzer harness: the binary op codec of the database adapters (decode_key, decode_op_body).
// The input is tried twice: as a body under a fixed key, and as a key followed by a body.
// Bad input must end in detail::decode_failure. A decoded body is the canonical one: re-encoding it
// gives the same bytes (default keys; a compact replica id may be read from fewer than 8 bytes, so
// there the decoded value must survive a round trip instead). encoded_size must match the codec.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "treecrdt/op_codec.hpp"

namespace {

using namespace treecrdt;

template <class Key>
[[nodiscard]] std::string key_bytes(const Key& k) {
  std::string out;
  detail::binary_writer w(out);
  encode_key(w, k);
  return out;
}

template <class Key>
void body(const Key& k, std::string_view in) {
  op<Key> o;
  try {
    o = decode_op_body(k, in);
  } catch (const detail::decode_failure&) {
    return;
  }
  const std::string encoded = encode_op_body(o);
  if constexpr (std::is_same_v<Key, default_op_key>) FUZZ_CHECK(encoded == in);
  FUZZ_CHECK(decode_op_body(k, encoded) == o);
  FUZZ_CHECK(encoded_size(o) == key_bytes(o.key).size() + encoded.size());
  (void)validation_error(o);  // any verdict, but no crash on an op that was never validated
  (void)describe(o);
}

template <class Key>
void key_then_body(std::string_view in) {
  detail::binary_reader r(in);
  Key k;
  try {
    k = decode_key<Key>(r);
  } catch (const detail::decode_failure&) {
    return;
  }
  const std::string_view rest = in.substr(in.size() - r.remaining());
  if constexpr (std::is_same_v<Key, default_op_key>) FUZZ_CHECK(key_bytes(k) == in.substr(0, in.size() - rest.size()));
  body(k, rest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in = treecrdt_fuzz::as_text(data, size);
  body(default_op_key{7, bytes("r"), 3}, in);
  body(compact_op_key{7, 0x72, 3}, in);
  key_then_body<default_op_key>(in);
  key_then_body<compact_op_key>(in);
  return 0;
}
