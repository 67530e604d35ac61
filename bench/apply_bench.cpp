// Workloads 1 and 2: ops applied in key order (the forward path), in memory.
//
//   in_order/<path>/<mix>/nodes:N  a tree of N nodes (random recursive tree, built untimed), then
//                                  a stream of fresh ops from `mix`, timed 1000 ops per iteration.
//                                  Moves follow the shallow model of workload.hpp. The tree is
//                                  rebuilt (untimed) once it has grown by a quarter or absorbed
//                                  max(100,000, N) ops: every structural op leaves a dot in the
//                                  version vectors of up to three nodes, and an ever longer history
//                                  would make the figure depend on how many iterations ran.
//                                  <path> = fold<key> (apply_op on memory_store alone) or
//                                  document/batch:B (document over memory_storage, never_checkpoint,
//                                  default undo journal, one apply() per B ops; what checkpoints add
//                                  is workload 6's subject, in checkpoint_bench.cpp).
//   random_moves/<path>            1,000 nodes under ROOT (untimed), then 10,000 random moves among
//                                  them (new parent: a random node or ROOT; cycles are skipped by the
//                                  fold as the spec says: the uniform model of workload.hpp).
//                                  One iteration = the 10,000 moves.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "support/bench_support.hpp"
#include "support/targets.hpp"
#include "support/workload.hpp"
#include "treecrdt/storage/memory.hpp"

namespace treecrdt::bench {
namespace {

constexpr std::uint64_t tree_seed = 42;
constexpr std::size_t chunk = 1000;  // ops per timed iteration of in_order
// Ops a tree of n nodes absorbs before in_order rebuilds it: bounded history per node.
[[nodiscard]] std::size_t history_budget(std::size_t nodes) { return std::max<std::size_t>(100000, nodes); }

template <class Target>
void feed(Target& t, std::span<const op<typename Target::key_type>> ops, std::size_t batch) {
  if constexpr (requires { t.apply(ops, batch); })
    t.apply(ops, batch);
  else
    t.apply(ops);
}

/// A target holding a tree of `nodes` nodes, and the op stream that continues from it.
template <class Target>
struct tree_fixture {
  using key_type = typename Target::key_type;
  tree_fixture(std::size_t n, std::function<std::unique_ptr<Target>()> m) : nodes(n), make(std::move(m)) { rebuild(); }

  /// Builds the tree again from the same seed; the stream restarts where it did the first time.
  void rebuild() {
    target.reset();
    target = make();
    op_stream<key_type> gen(tree_seed, shallow_depth_limit(nodes));
    const auto base = gen.grow(nodes);
    target->apply(std::span<const op<key_type>>(base));
    stream = gen;
    ops_since_build = 0;
  }

  std::size_t nodes;
  std::function<std::unique_ptr<Target>()> make;
  std::unique_ptr<Target> target;
  op_stream<key_type> stream{0};
  std::size_t ops_since_build = 0;
};

template <class Target>
void in_order(benchmark::State& state, const std::string& fixture_key, std::function<std::unique_ptr<Target>()> make,
              std::size_t nodes, op_mix mix, std::size_t batch) {
  using key_type = typename Target::key_type;
  auto& fx = cached_fixture<tree_fixture<Target>>(fixture_key + "/" + std::to_string(nodes),
                                                  [&] { return std::make_shared<tree_fixture<Target>>(nodes, make); });
  double seconds = 0;
  double cpu = 0;
  std::uint64_t ops = 0;
  for (auto _ : state) {
    if (fx.target->node_count() > nodes + nodes / 4 + chunk || fx.ops_since_build >= history_budget(nodes))
      fx.rebuild();
    const std::vector<op<key_type>> next = fx.stream.take(chunk, mix);
    const stopwatch sw;
    feed(*fx.target, std::span<const op<key_type>>(next), batch);
    const double t = sw.seconds();
    cpu += sw.cpu_seconds();
    state.SetIterationTime(t);
    seconds += t;
    ops += next.size();
    fx.ops_since_build += next.size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.counters["ns_per_op"] = figure(seconds * 1e9 / static_cast<double>(ops));
  state.counters["ns_per_op_cpu"] = figure(cpu * 1e9 / static_cast<double>(ops));
  state.counters["tree_nodes"] = figure(static_cast<double>(fx.target->node_count()));
  state.counters["avg_depth"] = figure(fx.stream.depth_profile().first);
}

template <class Target>
void random_moves(benchmark::State& state, std::function<std::unique_ptr<Target>()> make, std::size_t nodes,
                  std::size_t moves, std::size_t batch) {
  using key_type = typename Target::key_type;
  double seconds = 0;
  double cpu = 0;
  std::uint64_t total = 0;
  std::uint64_t round = 0;
  double depth = 0;
  for (auto _ : state) {
    auto target = make();
    op_stream<key_type> gen(tree_seed + round++);
    const auto flat = gen.grow_flat(nodes);
    target->apply(std::span<const op<key_type>>(flat));
    const auto ops = gen.take(moves, moves_only);
    const stopwatch sw;
    feed(*target, std::span<const op<key_type>>(ops), batch);
    const double t = sw.seconds();
    cpu += sw.cpu_seconds();
    state.SetIterationTime(t);
    seconds += t;
    total += ops.size();
    depth = gen.depth_profile().first;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
  const double iterations = static_cast<double>(state.iterations());
  state.counters["total_ms"] = figure(seconds * 1e3 / iterations);
  state.counters["us_per_move"] = figure(seconds * 1e6 / static_cast<double>(total));
  state.counters["us_per_move_cpu"] = figure(cpu * 1e6 / static_cast<double>(total));
  state.counters["avg_depth"] = figure(depth);
}

template <class Key>
using never_doc = never_checkpoint_target<Key, memory_storage<Key>>;

template <class Key>
std::function<std::unique_ptr<fold_target<memory_store<Key>>>()> make_fold() {
  return [] { return std::make_unique<fold_target<memory_store<Key>>>(); };
}
template <class Key>
std::function<std::unique_ptr<never_doc<Key>>()> make_never_doc() {
  return [] { return std::make_unique<never_doc<Key>>(memory_storage<Key>{}); };
}

struct mix_case {
  const char* name;
  op_mix mix;
};

template <class Target>
void register_in_order(const std::string& path, std::function<std::unique_ptr<Target>()> make, std::size_t batch,
                       const std::vector<std::size_t>& sizes) {
  for (const std::size_t n : sizes)
    for (const mix_case m : {mix_case{"edit_mix", edit_mix}, mix_case{"moves", moves_only}})
      add(
          "in_order/" + path + "/" + m.name + "/nodes:" + size_name(n),
          [=](benchmark::State& s) { in_order<Target>(s, path + "/" + m.name, make, n, m.mix, batch); },
          benchmark::kMicrosecond);
}

const registrar apply_benchmarks([] {
  const std::vector<std::size_t> sizes = pick<std::vector<std::size_t>>({1000, 100000, 1000000}, {1000, 10000});
  register_in_order("fold<default_key>", make_fold<default_op_key>(), 1, sizes);
  register_in_order("fold<compact_key>", make_fold<compact_op_key>(), 1, sizes);
  register_in_order("document/batch:1", make_never_doc<default_op_key>(), 1, sizes);
  register_in_order("document/batch:1000", make_never_doc<default_op_key>(), 1000, sizes);

  const std::size_t moves = 10000;
  add(
      "random_moves/fold<default_key>",
      [](benchmark::State& s) { random_moves(s, make_fold<default_op_key>(), 1000, moves, 1); },
      benchmark::kMillisecond);
  add(
      "random_moves/fold<compact_key>",
      [](benchmark::State& s) { random_moves(s, make_fold<compact_op_key>(), 1000, moves, 1); },
      benchmark::kMillisecond);
  add(
      "random_moves/document/batch:1",
      [](benchmark::State& s) { random_moves(s, make_never_doc<default_op_key>(), 1000, moves, 1); },
      benchmark::kMillisecond);
});

}  // namespace
}  // namespace treecrdt::bench
