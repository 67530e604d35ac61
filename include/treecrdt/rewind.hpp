#pragma once
// In-place rewind (SPEC §8): a store that keeps an exact undo record of its recent ops absorbs a
// late op by undoing the applied ops at or after the frontier, then folding the log after the point
// it reached — the late ops and the undone ones, in key order. Work is proportional to the ops
// undone and redone, whatever the log or tree size; nothing is restored from storage.
#include <cstdint>
#include <optional>

#include "head_position.hpp"
#include "store/store_concepts.hpp"

namespace treecrdt {

/// Undoes ctx.store's journaled ops with key ≥ frontier. Returns the head reached, or nullopt (store
/// untouched) when the journal does not reach back that far. Complexity: O(what the ops changed).
template <class Ctx>
[[nodiscard]] std::optional<head_position<typename Ctx::key_type>> rewind_store(
    Ctx& ctx, const typename Ctx::key_type& frontier) {
  using store_type = std::remove_cvref_t<decltype(ctx.store)>;
  if constexpr (RewindableStore<store_type>) {
    const auto undo = ctx.store.rewind_cost(frontier);
    if (!undo) return std::nullopt;
    ctx.store_changed = true;
    ctx.stats.ops_undone_last_catch_up = *undo;
    ctx.stats.ops_undone_total += *undo;
    return ctx.store.rewind_before(frontier);
  } else {
    (void)ctx;
    (void)frontier;
    return std::nullopt;
  }
}

/// Tells a rewindable store where it now stands and how much to journal from there (after a
/// restore or a clear, the journal describes nothing any more).
template <class Ctx>
void restart_journal(Ctx& ctx, const head_position<typename Ctx::key_type>& at) {
  using store_type = std::remove_cvref_t<decltype(ctx.store)>;
  if constexpr (RewindableStore<store_type>) ctx.store.start_journal(at, ctx.options.journal_ops);
}

}  // namespace treecrdt
