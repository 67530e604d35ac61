#pragma once
// Checkpoint-backed materialization (SPEC §8) as free functions over a storage, a store and the
// two policies, bundled in a `materialization_context`. The document owns the pieces; these
// functions only move the store from one head to another.
//
//   apply_forward  — ops above the head are folded in key order; checkpoints by cadence.
//   invalidate_from — a late op at key k: every checkpoint with head ≥ k is dropped.
//   catch_up       — restore the latest checkpoint strictly before the frontier, replay
//                    scan_after(its head), verify, else fall back to an older one or the start.
//   prune          — apply the retention policy.
#include <cstdint>
#include <optional>
#include <string>

#include "checkpoint_codec.hpp"
#include "checkpoint_policy.hpp"
#include "errors.hpp"
#include "fold.hpp"
#include "materialization_stats.hpp"
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
  bool wrote_checkpoint = false;  // since the last prune
  bool store_changed = false;     // the store left the state it had when the context was made
};

namespace detail {
/// After folding the op at `seq` (of `final_seq` the run will reach), persist a checkpoint if the
/// cadence asks for one here and retention would keep it at the end of the run.
template <class Ctx>
void checkpoint_if_due(Ctx& ctx, const typename Ctx::key_type& key, std::uint64_t seq, std::uint64_t final_seq) {
  if (!ctx.cadence.should_checkpoint(seq) || !ctx.retention.keeps(seq, final_seq)) return;
  ctx.storage.save_checkpoint(key, seq, encode_checkpoint(ctx.store, key, seq));
  ++ctx.stats.checkpoints_written;
  ctx.wrote_checkpoint = true;
}
}  // namespace detail

/// Folds `o`, whose key must be greater than the head, and advances the head.
/// `final_seq` is the head seq at the end of the current append (used by retention).
template <class Ctx>
void apply_forward(Ctx& ctx, const op<typename Ctx::key_type>& o, std::uint64_t final_seq) {
  ctx.store_changed = true;
  apply_op(ctx.store, o);
  ctx.head.key = o.key;
  ++ctx.head.seq;
  ++ctx.stats.ops_applied_forward;
  detail::checkpoint_if_due(ctx, o.key, ctx.head.seq, final_seq);
}

/// A late op arrived at `key`: checkpoints at or after it no longer describe a prefix of the log.
template <class Ctx>
void invalidate_from(Ctx& ctx, const typename Ctx::key_type& key) {
  ctx.stats.checkpoints_invalidated += ctx.storage.drop_checkpoints_from(key);
}

/// Brings the store to the fold of the whole stored log. Starts from the latest checkpoint whose
/// head is strictly before `frontier` (any checkpoint when nullopt). A checkpoint that does not
/// verify is dropped and an older one tried; one whose seq disagrees with the log (seq + ops
/// replayed ≠ ops stored, i.e. seq ≠ #ops ≤ its head) is dropped with everything after it and the
/// catch-up retried, so a stale checkpoint can cost time but never an op.
/// Complexity: O(ops after the restored checkpoint + snapshot size). Throws storage errors.
template <class Ctx>
void catch_up(Ctx& ctx, std::optional<typename Ctx::key_type> frontier) {
  using key_type = typename Ctx::key_type;
  const std::uint64_t total = ctx.storage.op_count();
  std::optional<key_type> bound = std::move(frontier);
  ctx.store_changed = true;
  for (;;) {
    const auto cp = ctx.storage.latest_checkpoint_before(bound);
    std::optional<key_type> start;
    std::uint64_t seq = 0;
    if (cp) {
      try {
        restore_checkpoint(ctx.store, ctx.storage.load_checkpoint(cp->id), cp->key, cp->seq);
      } catch (const corrupt_checkpoint_error&) {
        ++ctx.stats.corrupt_checkpoints_skipped;
        ctx.storage.drop_checkpoint(cp->id);
        bound = cp->key;
        continue;
      }
      start = cp->key;
      seq = cp->seq;
    } else {
      ctx.store.clear();
    }
    std::uint64_t replayed = 0;
    std::optional<key_type> last = start;
    ctx.storage.scan_after(start, [&](const op<key_type>& o) {
      apply_op(ctx.store, o);
      ++seq;
      ++replayed;
      last = o.key;
      detail::checkpoint_if_due(ctx, o.key, seq, total);
    });
    if (seq != total) {
      if (!cp)
        throw storage_error(
            "treecrdt", "inconsistent_log",
            "storage reports " + std::to_string(total) + " ops but a full scan returned " + std::to_string(seq), false);
      ++ctx.stats.stale_checkpoints_detected;
      ctx.stats.checkpoints_invalidated += ctx.storage.drop_checkpoints_from(cp->key);
      bound = cp->key;
      continue;
    }
    ctx.head = {last, seq};
    ++ctx.stats.catch_ups;
    if (!cp) ++ctx.stats.full_replays;
    ctx.stats.ops_replayed_last_catch_up = replayed;
    ctx.stats.ops_replayed_total += replayed;
    ctx.stats.restored_checkpoint = cp;
    return;
  }
}

/// Drops every checkpoint the retention policy no longer keeps at the current head.
template <class Ctx>
void prune(Ctx& ctx) {
  for (const auto& cp : ctx.storage.list_checkpoints()) {
    if (ctx.retention.keeps(cp.seq, ctx.head.seq)) continue;
    ctx.storage.drop_checkpoint(cp.id);
    ++ctx.stats.checkpoints_pruned;
  }
  ctx.wrote_checkpoint = false;
}

}  // namespace treecrdt
