// Workload 2: local edits through the document API (each edit one transaction of its own, as in an
// editor), in memory, on three documents that receive exactly the same edits in the same iteration:
//   default           `document<>`: the default cadence, retention and undo journal;
//   never_checkpoint  no checkpoints, the default undo journal (separates what checkpoints cost);
//   plain             no checkpoints and no undo journal (`catch_up_options{.journal_ops = 0}`):
//                     the document doing nothing ahead of time for catch-up, the baseline.
// Each document's edits are timed separately; the three start in rotating order, so none always
// runs right after another (machine load and cache state weigh on each alike).
//
//   local/random_moves   1,000 nodes inserted under ROOT (untimed), then 10,000 moves
//                        (`document::move(node, parent, position::last())`) of a random node under a
//                        random node or ROOT. The choices come from xorshift32 (workload.hpp), which
//                        bench/peers/loro_bench.js reproduces: the loro-crdt comparison makes the
//                        same moves. A move that would make a cycle is stored and skipped by the
//                        fold (SPEC rule 1); Loro refuses it instead. One iteration = 10,000 moves
//                        on fresh documents, seeded move_seed + iteration.
//   local/appends        100,000 inserts under one parent, each after its last child
//                        (`document::insert(parent, position::last())`), timed in 10 slices of
//                        10,000 (one iteration each) on the same documents, so a repetition is the
//                        whole 100,000; the first and last slices show whether the cost grows.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/bench_support.hpp"
#include "support/targets.hpp"
#include "support/workload.hpp"
#include "treecrdt/storage/memory.hpp"

namespace treecrdt::bench {
namespace {

using key = default_op_key;
using storage = memory_storage<key>;

/// Seed shared with bench/peers/loro_bench.js (its repetition r uses move_seed + r).
constexpr std::uint32_t move_seed = 20240601;

/// The three documents of this file, and each one's accumulated time.
struct trio {
  default_document_target<key, storage> def{storage{}};
  never_checkpoint_target<key, storage> nocp{storage{}};
  plain_document_target<key, storage> plain{storage{}};
  double def_s = 0, nocp_s = 0, plain_s = 0;
  double def_cpu = 0, nocp_cpu = 0, plain_cpu = 0;

  /// Runs `edit(doc)` on the three, timed, in the order given by `round`; returns the default's time.
  template <class Edit>
  double run(std::uint64_t round, Edit&& edit) {
    double t_def = 0;
    const auto timed = [](double& total, double& cpu, auto&& work) {
      const stopwatch sw;
      work();
      const double t = sw.seconds();
      cpu += sw.cpu_seconds();
      total += t;
      return t;
    };
    const std::function<void()> paths[] = {
        [&] { t_def = timed(def_s, def_cpu, [&] { edit(def.doc()); }); },
        [&] { timed(nocp_s, nocp_cpu, [&] { edit(nocp.doc()); }); },
        [&] { timed(plain_s, plain_cpu, [&] { edit(plain.doc()); }); },
    };
    for (std::size_t i = 0; i < std::size(paths); ++i) paths[(round + i) % std::size(paths)]();
    return t_def;
  }

  void check_same() {
    const auto e = def.doc().export_canonical();
    if (e != nocp.doc().export_canonical() || e != plain.doc().export_canonical())
      throw std::logic_error("the three documents disagree after the same local edits");
  }

  void report(benchmark::State& state, double ops) const {
    state.counters["default_us_per_op"] = figure(def_s * 1e6 / ops);
    state.counters["never_checkpoint_us_per_op"] = figure(nocp_s * 1e6 / ops);
    state.counters["plain_us_per_op"] = figure(plain_s * 1e6 / ops);
    state.counters["default_us_per_op_cpu"] = figure(def_cpu * 1e6 / ops);
    state.counters["never_checkpoint_us_per_op_cpu"] = figure(nocp_cpu * 1e6 / ops);
    state.counters["plain_us_per_op_cpu"] = figure(plain_cpu * 1e6 / ops);
    state.counters["default_vs_plain"] = figure(def_s / plain_s);
    state.counters["default_vs_plain_cpu"] = figure(def_cpu / plain_cpu);
    state.counters["default_vs_never_checkpoint"] = figure(def_s / nocp_s);
    state.counters["default_vs_never_checkpoint_cpu"] = figure(def_cpu / nocp_cpu);
    const auto& st = def.doc().stats();
    state.counters["checkpoints_written"] = figure(static_cast<double>(st.checkpoints_written));
    state.counters["delta_checkpoints_written"] = figure(static_cast<double>(st.delta_checkpoints_written));
    state.counters["checkpoint_bytes_per_op"] = figure(static_cast<double>(st.checkpoint_bytes_written) / ops);
  }
};

void random_local_moves(benchmark::State& state, std::size_t nodes, std::size_t moves) {
  double ops = 0;
  std::uint64_t round = 0;
  std::unique_ptr<trio> docs;
  double def_s = 0, nocp_s = 0, plain_s = 0, def_cpu = 0, nocp_cpu = 0, plain_cpu = 0;
  for (auto _ : state) {
    docs = std::make_unique<trio>();  // fresh documents (untimed), the previous ones freed first
    std::vector<node_id> ids;
    ids.reserve(nodes);
    for (std::size_t i = 0; i < nodes; ++i) ids.push_back(docs->def.doc().insert(root_node, position::last()).node);
    for (std::size_t i = 0; i < nodes; ++i) {
      (void)docs->nocp.doc().insert(root_node, position::last());
      (void)docs->plain.doc().insert(root_node, position::last());
    }
    // The moves, drawn once: (node, parent) with parent == nodes meaning ROOT.
    std::vector<std::pair<node_id, node_id>> plan;
    plan.reserve(moves);
    xorshift32 next(move_seed + static_cast<std::uint32_t>(round));
    for (std::size_t m = 0; m < moves; ++m) {
      const std::uint32_t i = next() % nodes;
      const std::uint32_t j = next() % (nodes + 1);
      plan.emplace_back(ids[i], j == nodes ? root_node : ids[j]);
    }
    const double t = docs->run(round++, [&](auto& doc) {
      for (const auto& [n, p] : plan) (void)doc.move(n, p, position::last());
    });
    state.SetIterationTime(t);
    ops += static_cast<double>(moves);
    def_s += docs->def_s, nocp_s += docs->nocp_s, plain_s += docs->plain_s;
    def_cpu += docs->def_cpu, nocp_cpu += docs->nocp_cpu, plain_cpu += docs->plain_cpu;
    docs->check_same();
  }
  // Report the totals over all iterations (the last documents carry only their own counters).
  docs->def_s = def_s, docs->nocp_s = nocp_s, docs->plain_s = plain_s;
  docs->def_cpu = def_cpu, docs->nocp_cpu = nocp_cpu, docs->plain_cpu = plain_cpu;
  docs->report(state, ops);
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.counters["nodes"] = figure(static_cast<double>(nodes));
  state.counters["moves"] = figure(static_cast<double>(moves));
}

void appends_under_one_parent(benchmark::State& state, std::size_t slice) {
  trio docs;  // fresh for every repetition: a repetition is the whole series of slices
  const node_id parent = docs.def.doc().insert(root_node, position::last()).node;
  (void)docs.nocp.doc().insert(root_node, position::last());
  (void)docs.plain.doc().insert(root_node, position::last());
  std::uint64_t round = 0;
  double first_slice = 0;
  double last_slice = 0;
  for (auto _ : state) {
    const double t = docs.run(round++, [&](auto& doc) {
      for (std::size_t i = 0; i < slice; ++i) (void)doc.insert(parent, position::last());
    });
    state.SetIterationTime(t);
    if (round == 1) first_slice = t;
    last_slice = t;
  }
  const double ops = static_cast<double>(slice) * static_cast<double>(state.iterations());
  if (docs.def.doc().children(parent).size() != static_cast<std::size_t>(ops))
    throw std::logic_error("appends: the parent does not hold every appended child");
  docs.check_same();
  docs.report(state, ops);
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.counters["appends"] = figure(ops);
  state.counters["default_first_slice_us_per_op"] = figure(first_slice * 1e6 / static_cast<double>(slice));
  state.counters["default_last_slice_us_per_op"] = figure(last_slice * 1e6 / static_cast<double>(slice));
}

const registrar local_edit_benchmarks([] {
  const std::size_t moves = pick<std::size_t>(10000, 2000);
  add(
      "local/random_moves/nodes:1k/moves:" + size_name(moves),
      [moves](benchmark::State& s) { random_local_moves(s, 1000, moves); }, benchmark::kMillisecond)
      ->Iterations(pick(5, 1));
  const std::size_t slice = pick<std::size_t>(10000, 1000);
  const std::int64_t slices = pick(10, 2);
  add(
      "local/appends/" + size_name(slice * static_cast<std::size_t>(slices)),
      [slice](benchmark::State& s) { appends_under_one_parent(s, slice); }, benchmark::kMillisecond)
      ->Iterations(slices);
});

}  // namespace
}  // namespace treecrdt::bench
