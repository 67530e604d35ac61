// libFuzzer harness: the store's snapshot decoder behind a valid checkpoint. The input is the
// snapshot part of a checkpoint; the harness wraps it in the header of the fixed head and seals it
// with a correct checksum, so every input reaches memory_store::restore. Content that the checksum
// cannot vouch for (a hostile or buggy writer) must still end in corrupt_checkpoint_error with the
// store cleared, or give a usable store (checkpoint_fixtures.hpp).
#include <cstddef>
#include <cstdint>
#include <string>

#include "checkpoint_fixtures.hpp"

namespace {

// magic + header for the fixed head: an empty store's checkpoint minus its snapshot and checksum.
const std::string& header() {
  static const std::string h = [] {
    using namespace treecrdt_fuzz;
    const checkpoint_store empty;
    const std::string blob = treecrdt::encode_checkpoint(empty, checkpoint_head, checkpoint_seq);
    std::string snap;
    empty.snapshot(snap);
    FUZZ_CHECK(blob.size() > snap.size() + 8);
    std::string out = blob.substr(0, blob.size() - 8 - snap.size());
    FUZZ_CHECK(blob.compare(out.size(), snap.size(), snap) == 0);  // layout: header, snapshot, checksum
    return out;
  }();
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace treecrdt;
  using namespace treecrdt_fuzz;
  std::string blob = header();
  blob.append(as_text(data, size));
  detail::binary_writer(blob).fixed64(detail::checkpoint_checksum(blob));
  checkpoint_store s;
  try {
    restore_checkpoint(s, blob, checkpoint_head, checkpoint_seq);
  } catch (const corrupt_checkpoint_error&) {
    FUZZ_CHECK(export_canonical(s) == export_canonical(checkpoint_store{}));
    return 0;
  }
  exercise_restored(s);
  return 0;
}
