#pragma once
// How a document absorbs late ops (SPEC §8): the catch-up paths and the knobs that choose them.
#include <cstdint>

namespace treecrdt {

/// The ways catch-up can bring the store to the fold of the whole log.
enum class catch_up_path : std::uint8_t {
  none,         // no catch-up has run
  rewind,       // undo the applied ops after the frontier in place, fold the late ops, redo
  checkpoint,   // restore the latest valid checkpoint (chain) before the frontier, replay the suffix
  full_replay,  // clear the store and fold the whole log
};

[[nodiscard]] constexpr const char* to_string(catch_up_path p) noexcept {
  switch (p) {
    case catch_up_path::none: return "none";
    case catch_up_path::rewind: return "rewind";
    case catch_up_path::checkpoint: return "checkpoint";
    case catch_up_path::full_replay: return "full_replay";
  }
  return "?";
}

/// Runtime knobs of catch-up, passed to the document's constructor.
struct catch_up_options {
  /// Undo records kept for rewind, in ops (0: no rewind). A late op at most this many ops behind the
  /// head is absorbed in place. Memory: about 100-200 bytes per journaled op, in ring buffers that
  /// grow by doubling. The default covers many cadence intervals, so checkpoints are needed only for
  /// restarts and very late ops.
  std::uint64_t journal_ops = 16384;
  /// `none`: the planner picks the cheapest exact path. Otherwise that path whenever it is possible
  /// (rewind needs the journal to reach back; checkpoint needs one before the frontier), else the
  /// planner's choice among the others — for tests and benchmarks.
  catch_up_path force = catch_up_path::none;
  /// Checkpoint chains (checkpoint_chain.hpp): a chain is rebased — a new full checkpoint — once its
  /// deltas pass max(rebase_ratio × its full checkpoint, min_delta_budget) bytes, or at 4,096 links.
  /// The ratio trades writing for restoring: full snapshots cost about 1 / ratio of the deltas'
  /// bytes, and restoring a chain (or keeping the newest) up to (1 + ratio) full snapshots. At 100k
  /// nodes the checkpoint cost per op was 18 % of the apply cost at 2, 15 % at 3 and 16 % at 4.
  std::uint64_t rebase_ratio = 3;
  /// The floor keeps a small tree from rewriting its whole snapshot every few links; restoring a
  /// chain costs at most one full snapshot and this many bytes of deltas more. 0: the ratio only
  /// (with a ratio of 0 too, every checkpoint is a full one).
  std::uint64_t min_delta_budget = std::uint64_t{1} << 20;
};

}  // namespace treecrdt
