// libFuzzer harness: the canonical-export JSON decoder (json::decode_export). Bad input must end in
// treecrdt::parse_error; a decoded export must come back unchanged from encode_export, whose text
// is byte-stable.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "treecrdt/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace treecrdt;
  canonical_export decoded;
  try {
    decoded = json::decode_export(treecrdt_fuzz::as_text(data, size));
  } catch (const parse_error&) {
    return 0;
  }
  const std::string encoded = json::encode_export(decoded);
  const canonical_export again = json::decode_export(encoded);
  FUZZ_CHECK(again == decoded);
  FUZZ_CHECK(json::encode_export(again) == encoded);
  return 0;
}
