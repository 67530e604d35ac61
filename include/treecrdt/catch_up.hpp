#pragma once
// Checkpoint-backed materialization (SPEC §8) as free functions over a storage, a store and the
// policies, bundled in a `materialization_context`. The document owns the pieces; these functions
// only move the store from one head to another.
//
//   apply_forward   ops above the head are folded in key order; at most one checkpoint per run
//   invalidate_from a late op at key k: every checkpoint (chain link) with head ≥ k is dropped
//   catch_up        a persistent store first resumes from its own tables; then
//                   the planner's cheapest exact path (catch_up_planner.hpp): rewind in place
//                   (rewind.hpp), or restore the latest valid checkpoint chain strictly before the
//                   frontier (checkpoint_chain.hpp) and replay scan_after(its head), or replay
//                   from the start; a link that does not verify or a stale one makes it fall back
//   prune           the retention policy, closed over chains
//
//      log   o1 ... o64 | o65 ... o128 | o129 ... o192 | ... o250 = head
//      chain        F64 ^        Δ128 ^         Δ192 ^                  (full, deltas over it)
//      late op L between o130 and o131: drop Δ192; then
//        rewind:     undo o250 ... o131 in place, fold L, o131 ... o250      (journal reaches)
//        checkpoint: restore F64 + Δ128, replay o129 ... o250 and L         (else, if cheaper)
//        full:       clear, replay everything                               (else)
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include "catch_up_options.hpp"
#include "catch_up_planner.hpp"
#include "checkpoint_chain.hpp"
#include "checkpoint_policy.hpp"
#include "errors.hpp"
#include "fold.hpp"
#include "materialization_stats.hpp"
#include "rewind.hpp"
#include "storage/storage_concepts.hpp"
#include "store/store_concepts.hpp"

namespace treecrdt {

template <Storage S, MaterializedStore M, CadencePolicy C, RetentionPolicy R>
struct materialization_context {
  using key_type = typename S::key_type;
  S& storage;
  M& store;
  const C& cadence;
  const R& retention;
  head_position<key_type>& head;
  materialization_stats<key_type>& stats;
  checkpoint_chain<key_type>& chain;
  const catch_up_options& options;
  bool wrote_checkpoint = false;  // since the last prune
  bool store_changed = false;     // the store left the state it had when the context was made

  /// Whether catch-up restores and plans with the storage's checkpoints. Not for a persistent
  /// store: its tables are its checkpoint, and those in its database belong to other stores (the
  /// document also gives it the never_checkpoint cadence, so it writes none either).
  static constexpr bool uses_checkpoints = !PersistentStore<M>;
};

namespace detail {
/// The newest position in (from, to] where the cadence asks for a checkpoint; 0 if none.
template <CadencePolicy C>
[[nodiscard]] std::uint64_t last_due(const C& cadence, std::uint64_t from, std::uint64_t to) {
  if constexpr (requires {
                  { cadence.last_due(from, to) } -> std::convertible_to<std::uint64_t>;
                }) {
    return cadence.last_due(from, to);
  } else {
    for (std::uint64_t s = to; s > from; --s)
      if (cadence.should_checkpoint(s)) return s;
    return 0;
  }
}

template <class Store>
[[nodiscard]] bool store_needs_rebuild(const Store& s) {
  if constexpr (requires {
                  { s.needs_rebuild() } -> std::convertible_to<bool>;
                }) {
    return s.needs_rebuild();
  } else {
    return false;
  }
}

/// After folding the op at `seq`: persist a checkpoint if this is the run's due position and the
/// store is exact (never write a checkpoint a rebuild is about to replace).
template <class Ctx>
void checkpoint_if_due(Ctx& ctx, const typename Ctx::key_type& key, std::uint64_t seq, std::uint64_t due) {
  if (seq == due && !store_needs_rebuild(ctx.store)) write_checkpoint(ctx, key, seq);
}

struct replay_result {
  std::uint64_t seq = 0;
  std::uint64_t replayed = 0;
};

/// Folds every stored op after `start` (whose position is `seq`) into the store.
template <class Ctx>
replay_result replay_after(Ctx& ctx, const std::optional<typename Ctx::key_type>& start, std::uint64_t seq,
                           std::uint64_t total, std::optional<typename Ctx::key_type>& last) {
  const std::uint64_t due = last_due(ctx.cadence, seq, total);
  replay_result r{seq, 0};
  last = start;
  ctx.storage.scan_after(start, [&](const op<typename Ctx::key_type>& o) {
    apply_op(ctx.store, o);
    ++r.seq;
    ++r.replayed;
    last = o.key;
    checkpoint_if_due(ctx, o.key, r.seq, due);
  });
  return r;
}

template <class Ctx>
void record_catch_up(Ctx& ctx, catch_up_path path, std::uint64_t replayed) {
  ++ctx.stats.catch_ups;
  ctx.stats.last_catch_up_path = path;
  ctx.stats.ops_replayed_last_catch_up = replayed;
  ctx.stats.ops_replayed_total += replayed;
  if (path == catch_up_path::rewind) ++ctx.stats.rewinds;
  if (path == catch_up_path::checkpoint) ++ctx.stats.checkpoint_restores;
  if (path == catch_up_path::full_replay) ++ctx.stats.full_replays;
  if (path != catch_up_path::rewind) ctx.stats.ops_undone_last_catch_up = 0;
  if (path != catch_up_path::checkpoint) {
    ctx.stats.restored_checkpoint.reset();
    ctx.stats.checkpoint_links_restored_last_catch_up = 0;
  }
}

/// Restores the latest usable checkpoint chain strictly before `bound` (none when !use_checkpoints
/// or none is usable) and replays the rest of the log. A chain link that does not verify is dropped
/// and an older checkpoint tried; a checkpoint whose seq disagrees with the log (seq + ops replayed
/// ≠ ops stored) is dropped with everything after it, so a stale checkpoint costs time, never an op.
template <class Ctx>
void restore_and_replay(Ctx& ctx, std::optional<typename Ctx::key_type> bound, std::uint64_t total,
                        bool use_checkpoints) {
  using key_type = typename Ctx::key_type;
  use_checkpoints = use_checkpoints && Ctx::uses_checkpoints;
  for (;;) {
    const auto cp = use_checkpoints ? ctx.storage.latest_checkpoint_before(bound) : std::nullopt;
    std::optional<key_type> start;
    std::uint64_t seq = 0;
    std::size_t links = 0;
    if (cp) {
      try {
        links = restore_chain(ctx, *cp);
      } catch (const corrupt_link<key_type>& bad) {
        ++ctx.stats.corrupt_checkpoints_skipped;
        ctx.storage.drop_checkpoint(bad.link.id);
        continue;  // the next try sees an older link, or this chain without its bad link
      }
      start = cp->key;
      seq = cp->seq;
    } else {
      ctx.store.clear();
      ctx.chain.reset();
    }
    restart_journal(ctx, head_position<key_type>{start, seq});
    std::optional<key_type> last;
    const replay_result r = replay_after(ctx, start, seq, total, last);
    if (r.seq != total) {
      if (!cp)
        throw storage_error(
            "treecrdt", "inconsistent_log",
            "storage reports " + std::to_string(total) + " ops but a full scan returned " + std::to_string(r.seq),
            false);
      ++ctx.stats.stale_checkpoints_detected;
      ctx.stats.checkpoints_invalidated += ctx.storage.drop_checkpoints_from(cp->key);
      ctx.chain.reset();
      bound = cp->key;
      continue;
    }
    ctx.head = {last, r.seq};
    record_catch_up(ctx, cp ? catch_up_path::checkpoint : catch_up_path::full_replay, r.replayed);
    if (cp) {
      ctx.stats.restored_checkpoint = cp;
      ctx.stats.checkpoint_links_restored_last_catch_up = links;
    }
    return;
  }
}

/// A delete declared gaps the store did not track: fold the whole log again (the store keeps the
/// larger tracked set across clear()). Checkpoints taken with the smaller set are dropped.
template <class Ctx>
void rebuild_if_needed(Ctx& ctx) {
  while (store_needs_rebuild(ctx.store)) {
    for (const auto& cp : ctx.storage.list_checkpoints()) {
      ctx.storage.drop_checkpoint(cp.id);
      ++ctx.stats.checkpoints_invalidated;
    }
    ctx.store_changed = true;
    restore_and_replay(ctx, std::nullopt, ctx.storage.op_count(), false);
    ++ctx.stats.rebuilds;
  }
}
}  // namespace detail

// Opening over a persistent store (PersistentStore, e.g. sqlite_store): its tables already hold the
// tree at their own head, so opening reads that head and folds only the ops stored after it — none
// when the tables are current, which makes the open O(1). Ops stored by a handle that did not
// maintain the tables show up as a count mismatch, and the tables are rebuilt.
/// Brings a persistent store back from its tables. With no frontier, folds the ops after its head
/// and returns true (done); with a frontier (late ops pending) it only reloads and returns false,
/// leaving the rewind-or-rebuild choice to the planner. Throws storage errors.
/// Complexity: O(replicas + ops after its head) when the tables agree with the log.
template <class Ctx>
[[nodiscard]] bool resume_persistent_store(Ctx& ctx, const std::optional<typename Ctx::key_type>& frontier,
                                           std::uint64_t total) {
  ctx.store.reload_state();
  if constexpr (requires { ctx.store.set_journal_limit(ctx.options.journal_ops); })
    ctx.store.set_journal_limit(ctx.options.journal_ops);
  ctx.head = ctx.store.head();
  if (frontier) return false;
  std::optional<typename Ctx::key_type> last;
  const detail::replay_result r = detail::replay_after(ctx, ctx.head.key, ctx.head.seq, total, last);
  if (r.seq == total) {
    if (r.replayed > 0) ctx.head = {last, r.seq};
    ctx.stats.ops_applied_forward += r.replayed;
    return true;
  }
  // The tables do not describe a prefix of the log (another store wrote late ops): fold it again.
  ++ctx.stats.stale_checkpoints_detected;
  detail::restore_and_replay(ctx, std::nullopt, total, false);
  return true;
}

/// Folds `o`, whose key must be greater than the head, and advances the head. `due` is the run's
/// checkpoint position (detail::last_due over the positions the run will pass; 0 for none).
template <class Ctx>
void apply_forward(Ctx& ctx, const op<typename Ctx::key_type>& o, std::uint64_t due) {
  ctx.store_changed = true;
  apply_op(ctx.store, o);
  ctx.head.key = o.key;
  ++ctx.head.seq;
  ++ctx.stats.ops_applied_forward;
  detail::checkpoint_if_due(ctx, o.key, ctx.head.seq, due);
}

/// The checkpoint position of a forward run that will end at `final_seq`.
template <class Ctx>
[[nodiscard]] std::uint64_t forward_run_due(const Ctx& ctx, std::uint64_t final_seq) {
  return detail::last_due(ctx.cadence, ctx.head.seq, final_seq);
}

/// Call after a forward run: folds the log again if the run made the store inexact.
template <class Ctx>
void finish_forward_run(Ctx& ctx) {
  detail::rebuild_if_needed(ctx);
}

/// A late op arrived at `key`: checkpoints at or after it no longer describe a prefix of the log.
template <class Ctx>
void invalidate_from(Ctx& ctx, const typename Ctx::key_type& key) {
  ctx.stats.checkpoints_invalidated += ctx.storage.drop_checkpoints_from(key);
  ctx.chain.drop_from(key);
}

/// Brings the store to the fold of the whole stored log, by the planner's path.
/// `frontier`: the smallest key not reflected yet. `live`: the store holds exactly the log's ops up
/// to the head (then rewind is possible); false when it must be rebuilt from storage (open, another
/// writer), in which case catch-up restores the latest checkpoint strictly before the frontier (any
/// when nullopt). Throws storage errors; nothing is lost on throw (the caller reloads).
template <class Ctx>
void catch_up(Ctx& ctx, const std::optional<typename Ctx::key_type>& frontier, bool live) {
  const std::uint64_t total = ctx.storage.op_count();
  ctx.store_changed = true;
  if constexpr (PersistentStore<std::remove_cvref_t<decltype(ctx.store)>>) {
    if (!live) {
      if (resume_persistent_store(ctx, frontier, total)) {
        detail::rebuild_if_needed(ctx);
        return;
      }
      live = true;  // at its persisted head, with its persisted journal: plan as for a live store
    }
  }
  const auto plan = plan_catch_up(ctx, frontier, total, live);
  bool done = false;
  if (plan.path == catch_up_path::rewind) {
    if (const auto at = rewind_store(ctx, *frontier)) {
      std::optional<typename Ctx::key_type> last;
      const detail::replay_result r = detail::replay_after(ctx, at->key, at->seq, total, last);
      if (r.seq == total) {  // else the journal disagreed with the log: restore from storage
        ctx.head = {last, r.seq};
        detail::record_catch_up(ctx, catch_up_path::rewind, r.replayed);
        done = true;
      }
    }
  }
  if (!done) detail::restore_and_replay(ctx, frontier, total, plan.path != catch_up_path::full_replay);
  detail::rebuild_if_needed(ctx);
}

/// Drops every checkpoint the retention policy no longer keeps at the current head.
template <class Ctx>
void prune(Ctx& ctx) {
  prune_checkpoints(ctx);
}

}  // namespace treecrdt
