// libFuzzer harness: the store's delta decoder behind a valid delta checkpoint. The input is the
// snapshot part of a delta; the harness files it over a fixed base (checkpoint_fixtures.hpp),
// wraps it in the delta header and seals it with a correct checksum, so every input reaches
// memory_store::restore_delta on a store holding that base. Whatever the content, the result is
// corrupt_checkpoint_error with the store cleared, or a usable store.
#include <cstddef>
#include <cstdint>
#include <string>

#include "checkpoint_fixtures.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace treecrdt;
  using namespace treecrdt_fuzz;
  static const checkpoint_info<checkpoint_key> base = delta_base_info();
  std::string blob(checkpoint_magic);
  detail::binary_writer w(blob);
  detail::write_checkpoint_header(w, detail::checkpoint_kind::delta, delta_head, delta_seq, &base);
  blob.append(as_text(data, size));
  w.fixed64(detail::checkpoint_checksum(blob));
  checkpoint_store s = delta_base_store();
  try {
    apply_delta_checkpoint(s, blob, delta_head, delta_seq, base);
  } catch (const corrupt_checkpoint_error&) {
    FUZZ_CHECK(export_canonical(s) == export_canonical(checkpoint_store{}));
    return 0;
  }
  exercise_restored(s);
  return 0;
}
