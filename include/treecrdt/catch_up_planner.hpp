#pragma once
// Chooses how to absorb late ops (SPEC §8): the cheapest exact path, from counts the document
// already has — the journal's reach, the stored checkpoints' positions and sizes, the log's length.
// Costs are in "op folds": undoing an op costs about what folding it does, and restoring a
// checkpoint costs about one fold per `restore_bytes_per_op` bytes of its chain (measured: a full
// snapshot decodes at roughly 5-10 ns per byte, an op folds in 0.3-1 µs).
#include <cstdint>
#include <optional>

#include "catch_up_options.hpp"
#include "checkpoint_chain.hpp"
#include "storage/storage_concepts.hpp"
#include "store/store_concepts.hpp"

namespace treecrdt {

inline constexpr std::uint64_t restore_bytes_per_op = 128;

template <OpKey Key>
struct catch_up_plan {
  catch_up_path path = catch_up_path::full_replay;
  std::uint64_t cost = 0;                          // estimated op folds
  std::optional<checkpoint_info<Key>> checkpoint;  // path == checkpoint: the newest link to restore
};

/// Plans a catch-up to the fold of the whole log (`total` ops) from `frontier`, the smallest key not
/// reflected yet (nullopt: restore the newest checkpoint). `live`: the store's applied ops are
/// exactly the log's ops up to its head; false when it must be rebuilt from storage (open, another
/// writer) — then rewind is not an option.
/// Complexity: O(log journal) + one checkpoint lookup (+ a listing when the candidate is a delta).
template <class Ctx>
[[nodiscard]] catch_up_plan<typename Ctx::key_type> plan_catch_up(Ctx& ctx,
                                                                  const std::optional<typename Ctx::key_type>& frontier,
                                                                  std::uint64_t total, bool live) {
  using key_type = typename Ctx::key_type;
  using store_type = std::remove_cvref_t<decltype(ctx.store)>;
  const catch_up_path forced = ctx.options.force;
  catch_up_plan<key_type> best{catch_up_path::full_replay, total, std::nullopt};
  if (forced == catch_up_path::full_replay) return best;

  std::optional<catch_up_plan<key_type>> rewind;
  if constexpr (RewindableStore<store_type>) {
    if (live && frontier && ctx.store.head() == ctx.head) {
      if (const auto undo = ctx.store.rewind_cost(*frontier)) {
        const std::uint64_t redo = total - (ctx.head.seq - *undo);
        rewind = catch_up_plan<key_type>{catch_up_path::rewind, *undo + redo, std::nullopt};
      }
    }
  }
  if (rewind && forced == catch_up_path::rewind) return *rewind;

  std::optional<catch_up_plan<key_type>> restore;
  // A checkpoint restore replays at least what a rewind redoes: look one up only when rewind is not cheap.
  if (Ctx::uses_checkpoints && (rewind == std::nullopt || forced == catch_up_path::checkpoint || rewind->cost > 256)) {
    if (const auto cp = ctx.storage.latest_checkpoint_before(frontier)) {
      std::uint64_t bytes = cp->size_bytes;
      if (cp->base) {
        try {
          bytes = 0;
          for (const auto& l : chain_to(ctx.storage.list_checkpoints(), *cp)) bytes += l.size_bytes;
        } catch (const corrupt_link<key_type>&) {  // restore will find it and fall back
        }
      }
      const std::uint64_t replay = total >= cp->seq ? total - cp->seq : total;
      restore = catch_up_plan<key_type>{catch_up_path::checkpoint, bytes / restore_bytes_per_op + replay, cp};
    }
  }
  if (restore && forced == catch_up_path::checkpoint) return *restore;
  if (restore && restore->cost < best.cost) best = *restore;
  if (rewind && rewind->cost <= best.cost) best = *rewind;
  return best;
}

}  // namespace treecrdt
