#pragma once
// Counters a document keeps about materialization, for tests, benchmarks and operators.
// Tests assert on these (ops replayed, checkpoint used) instead of on timings.
#include <cstdint>
#include <optional>

#include "storage/storage_concepts.hpp"

namespace treecrdt {

template <OpKey Key>
struct materialization_stats {
  std::uint64_t ops_applied_forward = 0;         // ops applied in order, without any replay
  std::uint64_t catch_ups = 0;                   // catch-ups run (open, late ops, explicit, reload)
  std::uint64_t full_replays = 0;                // catch-ups that found no usable checkpoint
  std::uint64_t ops_replayed_last_catch_up = 0;  // ops the last catch-up replayed after its start point
  std::uint64_t ops_replayed_total = 0;
  std::optional<checkpoint_info<Key>> restored_checkpoint;  // used by the last catch-up; none = from start
  std::uint64_t checkpoints_written = 0;
  std::uint64_t checkpoints_invalidated = 0;      // dropped because a late op's key was ≤ their head
  std::uint64_t checkpoints_pruned = 0;           // dropped by the retention policy
  std::uint64_t corrupt_checkpoints_skipped = 0;  // did not verify (checksum, header, body)
  std::uint64_t stale_checkpoints_detected = 0;   // seq disagreed with the log: treated as invalid
  std::uint64_t duplicate_ops_ignored = 0;
  std::uint64_t late_ops = 0;  // appended ops whose key was below the head
};

}  // namespace treecrdt
