#pragma once
// Counters a document keeps about materialization, for tests, benchmarks and operators.
// Tests assert on these (path taken, ops undone and replayed, checkpoint used) instead of on timings.
#include <cstdint>
#include <optional>

#include "catch_up_options.hpp"
#include "storage/storage_concepts.hpp"

namespace treecrdt {

template <OpKey Key>
struct materialization_stats {
  std::uint64_t ops_applied_forward = 0;  // ops applied in order, without any replay
  std::uint64_t late_ops = 0;             // appended ops whose key was below the head
  std::uint64_t duplicate_ops_ignored = 0;
  // Catch-up (open, late ops, explicit, reload): how many ran and by which path.
  std::uint64_t catch_ups = 0;
  std::uint64_t rewinds = 0;              // absorbed in place by the undo journal
  std::uint64_t checkpoint_restores = 0;  // restored a checkpoint chain, replayed the suffix
  std::uint64_t full_replays = 0;         // found no usable checkpoint (or it cost more): from the start
  std::uint64_t rebuilds = 0;             // a delete declared untracked gaps: folded again from the start
  catch_up_path last_catch_up_path = catch_up_path::none;
  std::uint64_t ops_undone_last_catch_up = 0;    // rewind: applied ops undone
  std::uint64_t ops_replayed_last_catch_up = 0;  // ops folded after the start point (redone, late, suffix)
  std::uint64_t ops_undone_total = 0;
  std::uint64_t ops_replayed_total = 0;
  std::optional<checkpoint_info<Key>> restored_checkpoint;    // used by the last catch-up; none = not restored
  std::uint64_t checkpoint_links_restored_last_catch_up = 0;  // full + deltas applied
  // Checkpoints.
  std::uint64_t checkpoints_written = 0;  // full and delta
  std::uint64_t delta_checkpoints_written = 0;
  std::uint64_t checkpoint_bytes_written = 0;
  std::uint64_t checkpoints_invalidated = 0;      // dropped because a late op's key was ≤ their head
  std::uint64_t checkpoints_pruned = 0;           // dropped by the retention policy
  std::uint64_t corrupt_checkpoints_skipped = 0;  // did not verify (checksum, header, body, chain link)
  std::uint64_t stale_checkpoints_detected = 0;   // seq disagreed with the log: treated as invalid
};

}  // namespace treecrdt
