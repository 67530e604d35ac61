// libFuzzer harness: the binary version-vector decoder (decode_version_vector) and the set
// operations on what it returns. The input holds two vectors back to back. Bad input must end in
// detail::decode_failure. A decoded vector must hold the documented invariants (per replica: a
// frontier plus sorted, disjoint, non-adjacent ranges above frontier + 1; no empty entry), be the
// canonical encoding of itself (byte replicas), and behave as a set: merge is a commutative union
// that is aware of both sides, and mutual awareness means equality.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "treecrdt/version_vector.hpp"

namespace {

using namespace treecrdt;

template <class Replica>
void check_invariants(const version_vector<Replica>& vv) {
  for (const auto& [r, e] : vv.entries()) {
    FUZZ_CHECK(e.frontier > 0 || !e.ranges.empty());
    std::uint64_t below = e.frontier;
    for (const auto& cr : e.ranges) {
      FUZZ_CHECK(cr.first <= cr.last);
      FUZZ_CHECK(cr.first - 1 > below);  // above below + 1, without overflow
      below = cr.last;
    }
    FUZZ_CHECK(vv.max_counter(r) == (e.ranges.empty() ? e.frontier : e.ranges.back().last));
    if (e.frontier > 0) FUZZ_CHECK(vv.contains(r, e.frontier) && vv.contains(r, 1));
    for (const auto& cr : e.ranges) {
      FUZZ_CHECK(vv.contains(r, cr.first) && vv.contains(r, cr.last));
      FUZZ_CHECK(!vv.contains(r, cr.first - 1));
    }
  }
}

template <class Replica>
[[nodiscard]] std::string encode(const version_vector<Replica>& vv) {
  std::string out;
  detail::binary_writer w(out);
  encode_version_vector(w, vv);
  return out;
}

template <class Replica>
[[nodiscard]] std::optional<version_vector<Replica>> decode(detail::binary_reader& r) {
  try {
    return decode_version_vector<Replica>(r);
  } catch (const detail::decode_failure&) {
    return std::nullopt;
  }
}

template <class Replica>
void run(std::string_view in) {
  detail::binary_reader r(in);
  const auto a = decode<Replica>(r);
  if (!a) return;
  const std::string_view a_bytes = in.substr(0, in.size() - r.remaining());
  check_invariants(*a);
  if constexpr (std::is_same_v<Replica, bytes>) FUZZ_CHECK(encode(*a) == a_bytes);
  {
    const std::string encoded = encode(*a);
    detail::binary_reader again(encoded);
    FUZZ_CHECK(decode<Replica>(again) == a);
  }
  FUZZ_CHECK(a->is_aware_of(*a));
  FUZZ_CHECK(a->is_aware_of(version_vector<Replica>{}));

  const auto b = decode<Replica>(r);
  if (!b) return;
  check_invariants(*b);
  version_vector<Replica> ab = *a;
  ab.merge(*b);
  version_vector<Replica> ba = *b;
  ba.merge(*a);
  check_invariants(ab);
  FUZZ_CHECK(ab == ba);
  FUZZ_CHECK(ab.is_aware_of(*a) && ab.is_aware_of(*b));
  if (a->is_aware_of(*b)) FUZZ_CHECK(ab == *a);
  if (a->is_aware_of(*b) && b->is_aware_of(*a)) FUZZ_CHECK(*a == *b);
  // Adding b's ranges one by one gives the same set as merging.
  version_vector<Replica> piecewise = *a;
  for (const auto& [rep, e] : b->entries()) {
    piecewise.add_range(rep, 1, e.frontier);
    for (const auto& cr : e.ranges) piecewise.add_range(rep, cr.first, cr.last);
  }
  FUZZ_CHECK(piecewise == ab);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in = treecrdt_fuzz::as_text(data, size);
  run<bytes>(in);
  run<std::uint64_t>(in);
  return 0;
}
