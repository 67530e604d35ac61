#pragma once
// When checkpoints are taken (cadence) and which are kept (retention), SPEC §8.
// Both are pure functions of op positions (`seq`, the number of ops with key ≤ the checkpoint's
// head), so the set of checkpoints never depends on how ops were split into batches.
#include <bit>
#include <concepts>
#include <cstdint>

namespace treecrdt {

/// Requires: `should_checkpoint(seq)` — take a checkpoint right after the op at position seq (≥ 1).
template <class C>
concept CadencePolicy = requires(const C& c, std::uint64_t seq) {
  { c.should_checkpoint(seq) } -> std::convertible_to<bool>;
};

/// Default cadence: a checkpoint at every multiple of `interval` materialized ops.
struct every_n_ops {
  std::uint64_t interval = 64;
  [[nodiscard]] constexpr bool should_checkpoint(std::uint64_t seq) const noexcept {
    return interval != 0 && seq % interval == 0;
  }
};

/// No checkpoints: every catch-up replays from the start.
struct never_checkpoint {
  [[nodiscard]] constexpr bool should_checkpoint(std::uint64_t) const noexcept { return false; }
};

/// Requires: `keeps(seq, head_seq)` — keep a checkpoint at position seq when the head is at
/// head_seq. Must be monotone: once false for some head_seq, false for every larger one (a pruned
/// checkpoint is never wanted back), which also lets catch-up skip writing checkpoints that would
/// be pruned at once.
template <class R>
concept RetentionPolicy = requires(const R& r, std::uint64_t seq, std::uint64_t head_seq) {
  { r.keeps(seq, head_seq) } -> std::convertible_to<bool>;
};

/// Default retention: every checkpoint among the newest `keep_recent * granularity` ops, and
/// older ones exponentially thinned: at age a ≥ keep_recent·g, keep positions that are multiples of
/// g·2^j with 2^j ≤ a / (keep_recent·g). That keeps about keep_recent checkpoints per doubling of
/// age — O(keep_recent · log(history)) in all, so storage is O(document × log history) — and the
/// nearest kept checkpoint before a late op k ops behind the head is at most about
/// max(g, k / (keep_recent − 1)) further back. Set `granularity` to the cadence interval.
struct exponential_retention {
  std::uint64_t keep_recent = 2;
  std::uint64_t granularity = 64;
  [[nodiscard]] constexpr bool keeps(std::uint64_t seq, std::uint64_t head_seq) const noexcept {
    const std::uint64_t g = granularity == 0 ? 1 : granularity;
    const std::uint64_t unit = (keep_recent == 0 ? 1 : keep_recent) * g;
    if (seq >= head_seq || head_seq - seq < unit) return true;
    const std::uint64_t level = std::bit_width((head_seq - seq) / unit) - 1;  // floor(log2(age/unit))
    if (level >= 63) return false;
    return (seq / g) % (std::uint64_t{1} << level) == 0;
  }
};

/// Keeps every checkpoint (storage grows linearly with history; for tests and small logs).
struct keep_all_checkpoints {
  [[nodiscard]] constexpr bool keeps(std::uint64_t, std::uint64_t) const noexcept { return true; }
};

using default_cadence = every_n_ops;
using default_retention = exponential_retention;

}  // namespace treecrdt
