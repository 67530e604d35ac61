#pragma once
// A tiny binary encoding (LEB128 varints, length-prefixed bytes) shared by checkpoints and the
// database adapters' op bodies. The reader checks every bound: corrupt input throws, never overreads.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace treecrdt::detail {

/// Thrown by binary_reader on truncated or malformed input; callers translate it into their own error.
class decode_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Writes the encoding into room the caller has already made, with no bound or capacity check
/// per value: for records written in bulk, whose size is bounded beforehand (`varint_bound` a
/// value). The caller sizes the room, writes, then trims to `end()`. binary_writer appends the
/// same bytes to a string.
class raw_writer {
 public:
  static constexpr std::size_t varint_bound = 10;
  explicit raw_writer(char* at) noexcept : p_(at) {}

  void u8(std::uint8_t v) noexcept { *p_++ = static_cast<char>(v); }
  void varint(std::uint64_t v) noexcept {
    while (v >= 0x80) {
      *p_++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void fixed64(std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>(v >> (56 - 8 * i));
  }
  void byte_string(std::string_view b) noexcept {
    varint(b.size());
    if (!b.empty()) std::memcpy(p_, b.data(), b.size());
    p_ += b.size();
  }
  [[nodiscard]] char* end() const noexcept { return p_; }

 private:
  char* p_;
};

class binary_writer {
 public:
  explicit binary_writer(std::string& out) noexcept : out_(out) {}

  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  // Each value is built in a small buffer (raw_writer's encoding) and appended once.
  void varint(std::uint64_t v) {
    char buf[raw_writer::varint_bound];
    raw_writer r(buf);
    r.varint(v);
    out_.append(buf, static_cast<std::size_t>(r.end() - buf));
  }
  void fixed64(std::uint64_t v) {
    char buf[8];
    raw_writer(buf).fixed64(v);
    out_.append(buf, 8);
  }
  void byte_string(std::string_view b) {
    varint(b.size());
    out_.append(b);
  }
  [[nodiscard]] std::string& buffer() noexcept { return out_; }

 private:
  std::string& out_;
};

class binary_reader {
 public:
  explicit binary_reader(std::string_view in) noexcept : in_(in) {}

  [[nodiscard]] std::uint8_t u8() {
    need(1);
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  /// Reads the one encoding binary_writer::varint writes: a value above 2^64 − 1 or a redundant
  /// trailing zero group is malformed, so equal values have equal bytes.
  [[nodiscard]] std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const std::uint8_t b = u8();
      if (shift == 63 && b > 1) throw decode_failure("varint longer than 64 bits");
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        if (b == 0 && shift > 0) throw decode_failure("varint with a redundant zero byte");
        return v;
      }
    }
  }
  [[nodiscard]] std::uint64_t fixed64() {
    need(8);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in_[pos_++]);
    return v;
  }
  [[nodiscard]] std::string_view byte_string() {
    const std::uint64_t n = varint();
    need(n);
    const auto s = in_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  [[nodiscard]] bool at_end() const noexcept { return pos_ == in_.size(); }
  [[nodiscard]] std::size_t remaining() const noexcept { return in_.size() - pos_; }

 private:
  void need(std::uint64_t n) const {
    if (n > in_.size() - pos_) throw decode_failure("truncated input");
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

/// The number of bytes binary_writer::varint writes for `v` (1 to 10).
[[nodiscard]] constexpr std::size_t varint_size(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

/// FNV-1a 64: detects flipped or truncated checkpoint bytes (not an adversarial MAC).
[[nodiscard]] inline std::uint64_t fnv1a64(std::string_view data) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

/// The checkpoint checksum (format 3): FNV-1a's xor-and-multiply over little-endian 8-byte words,
/// each product folded down (h ^= h >> 32), the tail byte by byte. Every step is a bijection of h,
/// so any change confined to one word or byte always shows; eight times fewer multiplies than
/// byte-wise FNV-1a, which dominated writing a delta checkpoint. Not an adversarial MAC.
[[nodiscard]] inline std::uint64_t checkpoint_checksum(std::string_view data) noexcept {
  constexpr std::uint64_t prime = 0x100000001b3ULL;
  std::uint64_t h = 0xcbf29ce484222325ULL ^ data.size();
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t word = 0;
    for (int i = 7; i >= 0; --i) word = (word << 8) | p[i];  // one load on little-endian targets
    h = (h ^ word) * prime;
    h ^= h >> 32;
  }
  for (; n > 0; --n, ++p) h = (h ^ *p) * prime;
  return h;
}

}  // namespace treecrdt::detail
