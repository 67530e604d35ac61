#pragma once
// Workload 3, written once for any storage policy: one late op arrives k ops behind the head of a
// log of N ops. Two documents hold the same log, built once per N outside any timing:
//   checkpointed — default cadence (every 64 ops) and default (exponential) retention;
//   from start   — never_checkpoint, so its catch-up replays the whole log.
// Each iteration gives both the same fresh late op through document::apply (the real path:
// append, invalidate checkpoints ≥ the op, catch up, prune, commit) and times each separately,
// so the ratio compares the two under the same machine load.
//
// The log: T = min(10,000, N/4) inserts, then moves/payload writes/deletes only (steady_mix with
// shallow moves), so the tree stays at T nodes however long the log is.
// Late ops: lamport N−k from a replica that sorts after the stream's, so exactly k stream ops sort
// after it. Each iteration uses the next counter of that replica: earlier late ops sort before
// the new one, and with k registered in descending order no late op of an earlier run sorts
// after it either. The log thus grows by one op per iteration, which changes nothing measurable.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/bench_support.hpp"
#include "support/targets.hpp"
#include "support/workload.hpp"
#include "treecrdt/checkpoint_codec.hpp"

namespace treecrdt::bench {

[[nodiscard]] inline std::size_t catch_up_tree_nodes(std::size_t log_ops) {
  return std::min<std::size_t>(10000, log_ops / 4);
}

/// The base log of N ops described above (deterministic).
template <class Key>
[[nodiscard]] std::vector<op<Key>> catch_up_log(std::size_t log_ops) {
  const std::size_t tree = catch_up_tree_nodes(log_ops);
  op_stream<Key> gen(7, shallow_depth_limit(tree));
  std::vector<op<Key>> ops = gen.grow(tree);
  std::vector<op<Key>> rest = gen.take(log_ops - tree, steady_mix);
  ops.insert(ops.end(), std::make_move_iterator(rest.begin()), std::make_move_iterator(rest.end()));
  return ops;
}

template <class Key, class Storage>
struct catch_up_fixture {
  using checkpointed = document_target<Key, Storage, every_n_ops, exponential_retention>;
  using from_start = document_target<Key, Storage, never_checkpoint, exponential_retention>;

  catch_up_fixture(std::size_t n, const std::function<Storage(const std::string&)>& make_storage) : log_ops(n) {
    const std::vector<op<Key>> log = catch_up_log<Key>(n);
    const std::span<const op<Key>> all(log);
    // Appended in slices so a database policy never holds one enormous transaction, large ones
    // because each append writes the checkpoints retention keeps at its end. The set kept at the
    // end does not depend on how the log was split (checkpoint_policy.hpp).
    constexpr std::size_t slice = 250000;
    with_checkpoints = std::make_unique<checkpointed>(make_storage("checkpointed"));
    without = std::make_unique<from_start>(make_storage("from_start"));
    for (std::size_t i = 0; i < all.size(); i += slice) {
      const auto part = all.subspan(i, std::min(slice, all.size() - i));
      with_checkpoints->apply(part);
      without->apply(part);
    }
  }

  std::size_t log_ops;
  std::unique_ptr<checkpointed> with_checkpoints;
  std::unique_ptr<from_start> without;
  std::uint64_t late_counter = 0;
};

/// Iterations per repetition: each one replays the whole log once (the from-start side), so
/// fewer for long logs; repetitions give the spread.
[[nodiscard]] inline std::int64_t catch_up_iterations(std::size_t log_ops) {
  return static_cast<std::int64_t>(std::clamp<std::size_t>(400000 / std::max<std::size_t>(log_ops, 1), 1, 10));
}

template <class Key, class Storage>
void late_op_catch_up(benchmark::State& state, const std::string& policy,
                      const std::function<Storage(const std::string&)>& make_storage, std::size_t log_ops,
                      std::size_t k) {
  auto& fx = cached_fixture<catch_up_fixture<Key, Storage>>("catch_up/" + policy + "/" + std::to_string(log_ops), [&] {
    return std::make_shared<catch_up_fixture<Key, Storage>>(log_ops, make_storage);
  });
  auto& cp_doc = fx.with_checkpoints->doc();
  auto& full_doc = fx.without->doc();
  const node_id moved{0x0b0b0b0b, 1 + log_ops % catch_up_tree_nodes(log_ops)};
  double cp_seconds = 0;
  double full_seconds = 0;
  double cp_cpu = 0;
  double full_cpu = 0;
  std::uint64_t cp_replayed = 0;
  std::uint64_t full_replayed = 0;
  std::uint64_t cp_written = 0;
  std::uint64_t restored_bytes = 0;
  for (auto _ : state) {
    const op<Key> late[] = {make_move(op_stream<Key>::late_key(log_ops - k, ++fx.late_counter), moved, root_node,
                                      bytes{static_cast<char>(0x81), '\x00', static_cast<char>(fx.late_counter)})};
    const std::uint64_t written_before = cp_doc.stats().checkpoints_written;
    const stopwatch cp_clock;
    cp_doc.apply(late);
    const double cp_t = cp_clock.seconds();
    cp_cpu += cp_clock.cpu_seconds();
    const stopwatch full_clock;
    full_doc.apply(late);
    const double full_t = full_clock.seconds();
    full_cpu += full_clock.cpu_seconds();

    state.SetIterationTime(cp_t);
    cp_seconds += cp_t;
    full_seconds += full_t;
    cp_replayed += cp_doc.stats().ops_replayed_last_catch_up;
    full_replayed += full_doc.stats().ops_replayed_last_catch_up;
    cp_written += cp_doc.stats().checkpoints_written - written_before;
    if (const auto& cp = cp_doc.stats().restored_checkpoint) restored_bytes += cp->size_bytes;
    if (full_doc.stats().restored_checkpoint) throw std::logic_error("the from-start document restored a checkpoint");
  }
  // Same ops, same fold: the two trees must agree, or the comparison would be meaningless.
  if (cp_doc.head() != full_doc.head() || cp_doc.export_canonical() != full_doc.export_canonical())
    throw std::logic_error("checkpointed and from-start documents disagree after catch-up");

  // Where the checkpointed time goes: one encode and one restore of a snapshot of the current
  // tree (untimed for the benchmark; CPU time, the steadier figure on a shared machine).
  const auto& head = cp_doc.head();
  const stopwatch enc;
  const std::string blob = encode_checkpoint(cp_doc.store(), *head.key, head.seq);
  const double encode_cpu = enc.cpu_seconds();
  memory_store<Key> scratch;
  const stopwatch res;
  restore_checkpoint(scratch, blob, *head.key, head.seq);
  const double restore_cpu = res.cpu_seconds();

  const double n = static_cast<double>(state.iterations());
  state.counters["snapshot_encode_ms_cpu"] = figure(encode_cpu * 1e3);
  state.counters["snapshot_restore_ms_cpu"] = figure(restore_cpu * 1e3);
  state.counters["checkpointed_ms"] = figure(cp_seconds * 1e3 / n);
  state.counters["from_start_ms"] = figure(full_seconds * 1e3 / n);
  state.counters["speedup"] = figure(full_seconds / cp_seconds);
  state.counters["checkpointed_ms_cpu"] = figure(cp_cpu * 1e3 / n);
  state.counters["from_start_ms_cpu"] = figure(full_cpu * 1e3 / n);
  state.counters["speedup_cpu"] = figure(full_cpu / cp_cpu);
  state.counters["replayed_checkpointed"] = figure(static_cast<double>(cp_replayed) / n);
  state.counters["replayed_from_start"] = figure(static_cast<double>(full_replayed) / n);
  state.counters["checkpoints_rewritten"] = figure(static_cast<double>(cp_written) / n);
  state.counters["snapshot_bytes"] = figure(static_cast<double>(restored_bytes) / n);
}

/// Registers catch_up/<policy>/log:N/k:K for every N and k (k descending, k ≤ N).
template <class Key, class Storage>
void register_catch_up(const std::string& policy, std::function<Storage(const std::string&)> make_storage,
                       const std::vector<std::size_t>& log_sizes, const std::vector<std::size_t>& ks) {
  for (const std::size_t n : log_sizes)
    for (const std::size_t k : ks) {
      if (k > n) continue;
      add(
          "catch_up/" + policy + "/log:" + size_name(n) + "/k:" + size_name(k),
          [=](benchmark::State& s) { late_op_catch_up<Key, Storage>(s, policy, make_storage, n, k); },
          benchmark::kMillisecond)
          ->Iterations(catch_up_iterations(n));
    }
}

}  // namespace treecrdt::bench
