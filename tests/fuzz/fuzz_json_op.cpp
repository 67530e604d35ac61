// libFuzzer harness: the JSON Lines op decoder (json::decode_op for one line, json::read_ops for a
// stream) and the JSON version-vector decoder (the known_state shape), for both key types.
// Bad input must end in treecrdt::parse_error; a decoded op must be valid (SPEC §3 and the limits)
// and come back unchanged from encode_op, whose text is byte-stable.
#include <cstddef>
#include <cstdint>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "treecrdt/json.hpp"

namespace {

using namespace treecrdt;

template <class Key>
void one_line(std::string_view text) {
  op<Key> o;
  try {
    o = json::decode_op<Key>(text);
  } catch (const parse_error&) {
    return;
  }
  FUZZ_CHECK(!validation_error(o));
  const std::string encoded = json::encode_op(o);
  const op<Key> again = json::decode_op<Key>(encoded);
  FUZZ_CHECK(again == o);
  FUZZ_CHECK(json::encode_op(again) == encoded);
}

template <class Key>
void stream(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::vector<op<Key>> ops;
  try {
    ops = json::read_ops<Key>(in);
  } catch (const parse_error&) {
    return;
  }
  std::ostringstream out;
  json::write_ops<Key>(out, std::span<const op<Key>>(ops));
  std::istringstream back(out.str());
  FUZZ_CHECK(json::read_ops<Key>(back) == ops);
}

template <class Replica>
void known_state(std::string_view text) {
  version_vector<Replica> vv;
  try {
    vv = json::decode_version_vector<Replica>(text);
  } catch (const parse_error&) {
    return;
  }
  const std::string encoded = json::encode_version_vector(vv);
  const auto again = json::decode_version_vector<Replica>(encoded);
  FUZZ_CHECK(again == vv);
  FUZZ_CHECK(json::encode_version_vector(again) == encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = treecrdt_fuzz::as_text(data, size);
  one_line<default_op_key>(text);
  one_line<compact_op_key>(text);
  stream<default_op_key>(text);
  known_state<bytes>(text);
  known_state<std::uint64_t>(text);
  return 0;
}
