#pragma once
// The runs of consecutive counters per replica among some ops of a batch: what the database
// policies merge into their stored version vector (treecrdt_version) after an append, one row
// per run instead of one per op.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "../op.hpp"

namespace treecrdt::detail {

/// Calls f(replica, first, last) once per maximal run [first, last] of consecutive counters of one
/// replica among batch[i], i in `indices` (whose ids must be distinct). Counters are grouped through
/// a hash map of replicas (a batch names few, a hostile one may name thousands), so no replica is
/// copied or compared per op. Complexity: O(b log b) for b indices.
template <OpKey Key, class F>
void for_each_counter_run(std::span<const op<Key>> batch, std::span<const std::size_t> indices, F&& f) {
  std::unordered_map<replica_of<Key>, std::vector<std::uint64_t>> counters;
  for (const std::size_t i : indices) counters[batch[i].key.replica].push_back(batch[i].key.counter);
  for (auto& [replica, cs] : counters) {
    std::sort(cs.begin(), cs.end());
    for (std::size_t i = 0; i < cs.size();) {
      std::size_t j = i + 1;
      while (j < cs.size() && cs[j] == cs[j - 1] + 1) ++j;
      f(replica, cs[i], cs[j - 1]);
      i = j;
    }
  }
}

}  // namespace treecrdt::detail
