#pragma once
// Small helpers shared by the property tests: keys and version vectors by hand, readable export
// comparison inside RapidCheck properties.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <rapidcheck.h>

#include "op_generators.hpp"
#include "op_show.hpp"
#include "reference_fold.hpp"
#include "treecrdt/canonical_export.hpp"
#include "treecrdt/op.hpp"

namespace treecrdt_test {

/// Key (lamport, test replica number, counter).
template <treecrdt::OpKey Key>
[[nodiscard]] Key make_key(std::uint64_t lamport, unsigned replica, std::uint64_t counter) {
  return Key{lamport, test_replica<Key>(replica), counter};
}

/// A version vector holding exactly the listed dots (test replica number, counter).
template <treecrdt::OpKey Key>
[[nodiscard]] treecrdt::version_vector<treecrdt::replica_of<Key>> make_vv(
    std::initializer_list<std::pair<unsigned, std::uint64_t>> dots) {
  treecrdt::version_vector<treecrdt::replica_of<Key>> vv;
  for (const auto& [r, c] : dots) vv.observe(test_replica<Key>(r), c);
  return vv;
}

[[nodiscard]] constexpr treecrdt::node_id nid(std::uint64_t lo) noexcept { return treecrdt::node_id{0, lo}; }

/// Fails the current property with both exports printed when they differ.
inline void rc_assert_same_export(const treecrdt::canonical_export& expected, const treecrdt::canonical_export& actual,
                                  const std::string& what) {
  if (expected == actual) return;
  RC_FAIL(what + "\nexpected:\n" + describe_export(expected) + "actual:\n" + describe_export(actual));
}

/// Fails the current property naming the broken invariant.
inline void rc_assert_invariants(const treecrdt::canonical_export& ex, const std::string& what) {
  if (const auto violation = export_invariant_violation(ex))
    RC_FAIL(what + ": " + *violation + "\n" + describe_export(ex));
}

template <treecrdt::OpKey Key>
[[nodiscard]] std::vector<treecrdt::op<Key>> flatten(const delivery<Key>& d) {
  std::vector<treecrdt::op<Key>> out;
  for (const auto& batch : d.batches) out.insert(out.end(), batch.begin(), batch.end());
  return out;
}

}  // namespace treecrdt_test
