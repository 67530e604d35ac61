#pragma once
// Workload 3, written once for any storage policy: one late op arrives k ops behind the head of a
// log of N ops over a tree of T nodes. Three documents hold the same log, built once per (T, N)
// outside any timing and kept for every k of that log (cached_fixture):
//   default     `document<Key, Storage>`: default cadence, retention and catch-up options (the
//               planner picks rewind, checkpoint or full replay);
//   checkpoint  the same policies with catch_up_options{.force = checkpoint}: restore the newest
//               checkpoint chain before the late op and replay the suffix (what a late op beyond
//               the undo journal costs);
//   from start  never_checkpoint, catch_up_options{.journal_ops = 0, .force = full_replay}: its
//               catch-up replays the whole log, the baseline of every speedup.
// Each iteration gives the three the same fresh late op through document::apply (the real path:
// append, invalidate checkpoints at or after it, catch up, prune, commit), each timed on its own,
// started in rotating order, so the ratios compare them under the same machine load.
//
// The log: T inserts (a random recursive tree), then moves, payload writes and deletes only
// (steady_mix, shallow moves), so the tree stays at T nodes however long the log is. Four replicas
// interleave. Late ops: lamport N−k from a replica that sorts after the stream's, so exactly k stream
// ops sort after it. Each iteration uses the next counter of that replica: earlier late ops sort
// before the new one, and with k registered in descending order no late op of an earlier run sorts
// after it either. The log thus grows by one op per iteration, which changes nothing measurable.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/bench_support.hpp"
#include "support/targets.hpp"
#include "support/workload.hpp"

namespace treecrdt::bench {

/// The base log of N ops over a tree of T nodes described above (deterministic).
template <class Key>
[[nodiscard]] std::vector<op<Key>> catch_up_log(std::size_t tree, std::size_t log_ops) {
  op_stream<Key> gen(7, shallow_depth_limit(tree));
  std::vector<op<Key>> ops = gen.grow(tree);
  std::vector<op<Key>> rest = gen.take(log_ops - tree, steady_mix);
  ops.insert(ops.end(), std::make_move_iterator(rest.begin()), std::make_move_iterator(rest.end()));
  return ops;
}

template <class Key, class Storage>
struct catch_up_fixture {
  using with_defaults = default_document_target<Key, Storage>;
  using forced_checkpoint = default_document_target<Key, Storage>;
  using from_start = plain_document_target<Key, Storage>;

  catch_up_fixture(std::size_t tree, std::size_t n, const std::function<Storage(const std::string&)>& make_storage)
      : tree_nodes(tree), log_ops(n) {
    const std::vector<op<Key>> log = catch_up_log<Key>(tree, n);
    const std::span<const op<Key>> all(log);
    def = std::make_unique<with_defaults>(make_storage("default"));
    checkpointed =
        std::make_unique<forced_checkpoint>(make_storage("checkpoint"), default_cadence{}, default_retention{},
                                            options_for(catch_up_mode::forced_checkpoint));
    full = std::make_unique<from_start>(make_storage("from_start"));
    // Appended in slices of 10,000 ops, the way a replica receives batches (and so a database
    // policy never holds one enormous transaction).
    constexpr std::size_t slice = 10000;
    for (std::size_t i = 0; i < all.size(); i += slice) {
      const auto part = all.subspan(i, std::min(slice, all.size() - i));
      def->apply(part);
      checkpointed->apply(part);
      full->apply(part);
    }
  }

  std::size_t tree_nodes;
  std::size_t log_ops;
  std::unique_ptr<with_defaults> def;
  std::unique_ptr<forced_checkpoint> checkpointed;
  std::unique_ptr<from_start> full;
  std::uint64_t late_counter = 0;
};

/// Iterations per repetition: each one replays the whole log once (the from-start side), so
/// fewer for long logs; repetitions give the spread.
[[nodiscard]] inline std::int64_t catch_up_iterations(std::size_t log_ops) {
  return static_cast<std::int64_t>(std::clamp<std::size_t>(400000 / std::max<std::size_t>(log_ops, 1), 1, 10));
}

/// Time, CPU time and what the catch-ups of one document did, summed over iterations.
struct catch_up_tally {
  double seconds = 0;
  double cpu = 0;
  std::uint64_t undone = 0;
  std::uint64_t replayed = 0;
  std::uint64_t links = 0;
  std::uint64_t written = 0;
  std::uint64_t rewinds = 0;
  std::uint64_t restores = 0;
  std::uint64_t full_replays = 0;

  template <class Doc>
  double run(Doc& doc, std::span<const typename Doc::op_type> late) {
    const auto before = doc.stats();
    const stopwatch sw;
    doc.apply(late);
    const double t = sw.seconds();
    cpu += sw.cpu_seconds();
    seconds += t;
    const auto& after = doc.stats();
    if (after.catch_ups == before.catch_ups) throw std::logic_error("the late op caused no catch-up");
    undone += after.ops_undone_last_catch_up;
    replayed += after.ops_replayed_last_catch_up;
    links += after.checkpoint_links_restored_last_catch_up;
    written += after.checkpoints_written - before.checkpoints_written;
    rewinds += after.rewinds - before.rewinds;
    restores += after.checkpoint_restores - before.checkpoint_restores;
    full_replays += after.full_replays - before.full_replays;
    return t;
  }

  /// The path every catch-up took, or "mixed".
  [[nodiscard]] std::string path(std::uint64_t n) const {
    if (rewinds == n) return to_string(catch_up_path::rewind);
    if (restores == n) return to_string(catch_up_path::checkpoint);
    if (full_replays == n) return to_string(catch_up_path::full_replay);
    return "mixed";
  }

  /// Counters under `prefix`_...: ms per catch-up (wall and CPU), ops undone / replayed, checkpoint
  /// links restored and checkpoints written per catch-up, and the path as three shares.
  void report(benchmark::State& state, const std::string& prefix, double n) const {
    state.counters[prefix + "_ms"] = figure(seconds * 1e3 / n);
    state.counters[prefix + "_ms_cpu"] = figure(cpu * 1e3 / n);
    state.counters[prefix + "_undone"] = figure(static_cast<double>(undone) / n);
    state.counters[prefix + "_replayed"] = figure(static_cast<double>(replayed) / n);
    state.counters[prefix + "_links"] = figure(static_cast<double>(links) / n);
    state.counters[prefix + "_written"] = figure(static_cast<double>(written) / n);
    state.counters[prefix + "_path_rewind"] = figure(static_cast<double>(rewinds) / n);
    state.counters[prefix + "_path_checkpoint"] = figure(static_cast<double>(restores) / n);
    state.counters[prefix + "_path_full_replay"] = figure(static_cast<double>(full_replays) / n);
  }
};

template <class Key, class Storage>
void late_op_catch_up(benchmark::State& state, const std::string& policy,
                      const std::function<Storage(const std::string&)>& make_storage, std::size_t tree,
                      std::size_t log_ops, std::size_t k) {
  auto& fx = cached_fixture<catch_up_fixture<Key, Storage>>(
      "catch_up/" + policy + "/" + std::to_string(tree) + "/" + std::to_string(log_ops),
      [&] { return std::make_shared<catch_up_fixture<Key, Storage>>(tree, log_ops, make_storage); });
  auto& def = fx.def->doc();
  auto& cp = fx.checkpointed->doc();
  auto& full = fx.full->doc();
  const node_id moved{0x0b0b0b0b, 1 + log_ops % tree};
  catch_up_tally t_def, t_cp, t_full;
  std::uint64_t round = 0;
  for (auto _ : state) {
    ++fx.late_counter;
    const op<Key> late[] = {make_move(
        op_stream<Key>::late_key(log_ops - k, fx.late_counter), moved, root_node,
        bytes{static_cast<char>(0x81), static_cast<char>(fx.late_counter >> 8), static_cast<char>(fx.late_counter)})};
    double td = 0;
    const std::function<void()> paths[] = {
        [&] { td = t_def.run(def, late); },
        [&] { t_cp.run(cp, late); },
        [&] { t_full.run(full, late); },
    };
    for (std::size_t i = 0; i < std::size(paths); ++i) paths[(round + i) % std::size(paths)]();
    ++round;
    state.SetIterationTime(td);
  }
  // Same ops, same fold: the three trees must agree, or the comparison would be meaningless.
  const auto expected = full.export_canonical();
  if (def.head() != full.head() || def.export_canonical() != expected || cp.export_canonical() != expected)
    throw std::logic_error("the three documents disagree after catch-up");
  if (t_full.full_replays != round) throw std::logic_error("the from-start document did not replay from the start");

  const double n = static_cast<double>(state.iterations());
  t_def.report(state, "default", n);
  t_cp.report(state, "checkpoint", n);
  t_full.report(state, "from_start", n);
  state.SetLabel(t_def.path(round) + "; forced: " + t_cp.path(round));
  state.counters["speedup"] = figure(t_full.seconds / t_def.seconds);
  state.counters["speedup_cpu"] = figure(t_full.cpu / t_def.cpu);
  state.counters["checkpoint_speedup"] = figure(t_full.seconds / t_cp.seconds);
  state.counters["checkpoint_speedup_cpu"] = figure(t_full.cpu / t_cp.cpu);
  state.counters["tree_nodes"] = figure(static_cast<double>(def.store().node_count()));
}

/// Registers catch_up/<policy>/tree:T/log:N/k:K for every k (descending, k ≤ N − T).
template <class Key, class Storage>
void register_catch_up(const std::string& policy, std::function<Storage(const std::string&)> make_storage,
                       std::size_t tree, std::size_t log_ops, const std::vector<std::size_t>& ks) {
  for (const std::size_t k : ks) {
    if (k + tree > log_ops) continue;
    add(
        "catch_up/" + policy + "/tree:" + size_name(tree) + "/log:" + size_name(log_ops) + "/k:" + size_name(k),
        [=](benchmark::State& s) { late_op_catch_up<Key, Storage>(s, policy, make_storage, tree, log_ops, k); },
        benchmark::kMillisecond)
        ->Iterations(catch_up_iterations(log_ops));
  }
}

}  // namespace treecrdt::bench
