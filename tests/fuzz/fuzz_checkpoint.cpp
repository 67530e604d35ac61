// libFuzzer harness: checkpoint restore (restore_checkpoint into a memory_store) from raw blobs.
// A blob that does not verify must end in corrupt_checkpoint_error with the store cleared; one that
// does must give a usable store (checkpoint_fixtures.hpp). Most mutations break the checksum; the
// fuzz_checkpoint_body harness gets past it.
#include <cstddef>
#include <cstdint>

#include "checkpoint_fixtures.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace treecrdt;
  using namespace treecrdt_fuzz;
  checkpoint_store s;
  try {
    restore_checkpoint(s, as_text(data, size), checkpoint_head, checkpoint_seq);
  } catch (const corrupt_checkpoint_error&) {
    FUZZ_CHECK(export_canonical(s) == export_canonical(checkpoint_store{}));
    return 0;
  }
  exercise_restored(s);
  return 0;
}
