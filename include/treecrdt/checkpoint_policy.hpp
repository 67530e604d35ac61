#pragma once
// When checkpoints are taken (cadence) and which are kept (retention), SPEC §8.
//
// Cadence is a pure function of op positions (`seq`, the number of ops with key ≤ a checkpoint's
// head). An append writes at most one checkpoint: at the newest position its run passes where the
// cadence asks for one (SPEC §8 lets catch-up skip the others), so the head is never more than one
// interval ahead of the newest checkpoint.
//
// Checkpoints form chains: a full one, then deltas each over the one before (checkpoint_chain.hpp).
// Retention sees every stored checkpoint and says which to keep; the document then also keeps
// every link a kept delta needs, and the current chain, so a kept checkpoint is always restorable.
#include <bit>
#include <concepts>
#include <cstdint>
#include <span>
#include <vector>

namespace treecrdt {

/// Requires: `should_checkpoint(seq)` — a checkpoint is due right after the op at position seq (≥ 1).
template <class C>
concept CadencePolicy = requires(const C& c, std::uint64_t seq) {
  { c.should_checkpoint(seq) } -> std::convertible_to<bool>;
};

/// Default cadence: a checkpoint at every multiple of `interval` materialized ops. With delta
/// checkpoints a checkpoint costs what changed since the previous one, so the interval trades
/// per-checkpoint overhead (a storage row, a header) against replay after a restart.
struct every_n_ops {
  std::uint64_t interval = 64;
  [[nodiscard]] constexpr bool should_checkpoint(std::uint64_t seq) const noexcept {
    return interval != 0 && seq % interval == 0;
  }
  /// The newest due position in (from, to], 0 if none (optional member: saves a scan).
  [[nodiscard]] constexpr std::uint64_t last_due(std::uint64_t from, std::uint64_t to) const noexcept {
    if (interval == 0) return 0;
    const std::uint64_t s = to / interval * interval;
    return s > from ? s : 0;
  }
};

/// The default cadence, sized by what a checkpoint costs and saves (SPEC §8 allows a size-aware
/// default): every `short_interval` ops while the log is at most `long_interval` ops long (a restart
/// of a small document replays almost nothing), then every `long_interval` ops. A delta checkpoint
/// costs about one node encoding per node changed since the previous one, so a longer interval
/// coalesces repeated changes; late ops near the head are absorbed by the rewind journal (16,384
/// ops by default) without any checkpoint, so the interval only bounds what a restart replays
/// (≤ 1,024 ops, about a millisecond). Measured on 10,000 random moves among 1,000 nodes: the
/// checkpoints cost 15 % over no checkpoints at 1,024, 58 % at 64 (docs/BENCHMARKS.md).
struct log_size_cadence {
  std::uint64_t short_interval = 64;
  std::uint64_t long_interval = 1024;

  constexpr log_size_cadence() noexcept = default;
  constexpr log_size_cadence(std::uint64_t short_ops, std::uint64_t long_ops) noexcept
      : short_interval(short_ops), long_interval(long_ops) {}
  /// A fixed interval, so `document<>` also takes `every_n_ops{n}` as its cadence.
  constexpr log_size_cadence(every_n_ops fixed) noexcept  // NOLINT(google-explicit-constructor)
      : short_interval(fixed.interval), long_interval(fixed.interval) {}

  [[nodiscard]] constexpr bool should_checkpoint(std::uint64_t seq) const noexcept {
    const std::uint64_t interval = seq <= long_interval ? short_interval : long_interval;
    return interval != 0 && seq % interval == 0;
  }
  [[nodiscard]] constexpr std::uint64_t last_due(std::uint64_t from, std::uint64_t to) const noexcept {
    if (long_interval != 0 && to > long_interval) {
      const std::uint64_t s = to / long_interval * long_interval;
      if (s > from) return s;
    }
    const std::uint64_t upto = to < long_interval ? to : long_interval;
    if (short_interval == 0) return 0;
    const std::uint64_t s = upto / short_interval * short_interval;
    return s > from ? s : 0;
  }
};

/// No checkpoints: every catch-up that cannot rewind replays from the start.
struct never_checkpoint {
  [[nodiscard]] constexpr bool should_checkpoint(std::uint64_t) const noexcept { return false; }
  [[nodiscard]] constexpr std::uint64_t last_due(std::uint64_t, std::uint64_t) const noexcept { return 0; }
};

/// What retention sees of one stored checkpoint.
struct checkpoint_summary {
  std::uint64_t seq = 0;
  bool full = true;  // false: a delta over the checkpoint before it in its chain
  std::uint64_t size_bytes = 0;
};

/// Requires: `select(checkpoints, head_seq)` — given every stored checkpoint in ascending seq order
/// and the head position, returns one flag per checkpoint: true to keep it. The document keeps, in
/// addition, every ancestor of a kept delta and the chain new deltas are written onto. It asks on
/// open, after every full checkpoint, and otherwise once as many checkpoints were written since
/// the last ask as that one kept (each ask lists every stored checkpoint: O(1) amortized per write).
template <class R>
concept RetentionPolicy = requires(const R& r, std::span<const checkpoint_summary> cps, std::uint64_t head_seq) {
  { r.select(cps, head_seq) } -> std::same_as<std::vector<bool>>;
};

/// Default retention: the newest chain whole (so a restart restores the newest checkpoint and a late
/// op just behind the head finds one within an interval), the `keep_recent` newest older full
/// checkpoints, and older full ones thinned exponentially: for every j ≥ 0, the newest full
/// checkpoint at least granularity·keep_recent·2^j ops behind the head. A late op k ops behind the
/// head beyond the rewind journal thus finds a checkpoint at most about k further back, and storage
/// holds O(keep_recent + log(history)) snapshots of the tree: O(tree · log history), never quadratic.
struct exponential_retention {
  std::uint64_t keep_recent = 2;
  std::uint64_t granularity = 64;
  [[nodiscard]] std::vector<bool> select(std::span<const checkpoint_summary> cps, std::uint64_t head_seq) const {
    std::vector<bool> keep(cps.size(), false);
    std::size_t newest_full = cps.size();
    for (std::size_t i = cps.size(); i-- > 0;)
      if (cps[i].full) {
        newest_full = i;
        break;
      }
    if (newest_full == cps.size()) return keep;  // only orphaned deltas: nothing restorable
    for (std::size_t i = newest_full; i < cps.size(); ++i) keep[i] = true;
    std::uint64_t recent = 0;
    const std::uint64_t unit = (keep_recent == 0 ? 1 : keep_recent) * (granularity == 0 ? 1 : granularity);
    std::uint64_t level_age = unit;  // next age threshold to fill, doubling
    for (std::size_t i = newest_full; i-- > 0;) {
      if (!cps[i].full) continue;
      const std::uint64_t age = head_seq > cps[i].seq ? head_seq - cps[i].seq : 0;
      if (recent < keep_recent) {
        keep[i] = true;
        ++recent;
      } else if (age >= level_age) {
        keep[i] = true;  // the newest full checkpoint at least level_age behind
      }
      while (age >= level_age && level_age <= (std::uint64_t{1} << 62)) level_age *= 2;
    }
    return keep;
  }
};

/// Keeps every checkpoint (storage grows linearly with history; for tests and small logs).
struct keep_all_checkpoints {
  [[nodiscard]] std::vector<bool> select(std::span<const checkpoint_summary> cps, std::uint64_t) const {
    return std::vector<bool>(cps.size(), true);
  }
};

using default_cadence = log_size_cadence;
using default_retention = exponential_retention;

}  // namespace treecrdt
