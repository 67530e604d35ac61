#pragma once
// Shared pieces of the libFuzzer harnesses (tests/fuzz/run_fuzzers.sh builds and runs them).
//
// A harness feeds its input to one decoder (or a document). Throwing the decoder's documented error
// is the expected answer to bad input; anything else — a crash, a sanitizer report, a hang, a leak,
// an unexpected exception type, or a broken property checked with FUZZ_CHECK — is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

/// Aborts (a libFuzzer crash, with the input saved as an artifact) when `cond` is false.
#define FUZZ_CHECK(cond)                                         \
  do {                                                           \
    if (!(cond)) treecrdt_fuzz::fail(#cond, __FILE__, __LINE__); \
  } while (false)

namespace treecrdt_fuzz {

[[noreturn]] inline void fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", file, line, what);
  std::fflush(stderr);
  std::abort();
}

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz finding: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

[[nodiscard]] inline std::string_view as_text(const std::uint8_t* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};
}

/// Reads small numbers off the front of the input; past the end it yields zeros, so every input
/// is a complete program.
class byte_source {
 public:
  byte_source(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}

  [[nodiscard]] bool empty() const noexcept { return pos_ >= size_; }
  [[nodiscard]] std::uint8_t byte() noexcept { return pos_ < size_ ? data_[pos_++] : 0; }
  /// A value in [0, n) (n ≥ 1), from one byte.
  [[nodiscard]] unsigned below(unsigned n) noexcept { return n <= 1 ? 0 : byte() % n; }
  [[nodiscard]] bool chance(unsigned one_in) noexcept { return below(one_in) == 0; }
  /// Up to `max` raw bytes, the count taken from one byte.
  [[nodiscard]] std::string bytes_up_to(unsigned max) {
    const unsigned n = below(max + 1);
    std::string out;
    for (unsigned i = 0; i < n; ++i) out.push_back(static_cast<char>(byte()));
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace treecrdt_fuzz
