// Workload 4: what checkpoints cost.
//
//   checkpoint/roundtrip/nodes:N   encode_checkpoint + restore_checkpoint of a tree of N nodes that
//                                  has also seen N edits (moves, payloads, deletes), so its
//                                  version vectors carry some history. Time = encode + restore;
//                                  counters split them and give the blob size.
//   checkpoint/cadence:C           a 10k-node document applying ops one at a time (batch of 1, the
//                                  local-edit path) with every_n_ops{C} and exponential retention of
//                                  granularity C, paired in each iteration with the same ops on a
//                                  never_checkpoint document: the difference is the amortized
//                                  checkpoint cost per applied op.
//   checkpoint/storage/<retention>/log:N   total bytes of the checkpoints kept after N ops (cadence
//                                  64) with the default exponential retention and with keep-all.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/bench_support.hpp"
#include "support/targets.hpp"
#include "support/workload.hpp"
#include "treecrdt/checkpoint_codec.hpp"
#include "treecrdt/storage/memory.hpp"

namespace treecrdt::bench {
namespace {

using key = default_op_key;

template <class Store>
struct edited_tree {
  explicit edited_tree(std::size_t nodes) {
    op_stream<typename Store::key_type> gen(11, shallow_depth_limit(nodes));
    for (const auto& o : gen.grow(nodes)) apply_op(store, o);
    for (const auto& o : gen.take(nodes, steady_mix)) apply_op(store, o);
    head.lamport = gen.lamport();
    head.counter = 1;
    seq = 2 * nodes;
  }
  Store store;
  typename Store::key_type head{};
  std::uint64_t seq = 0;
};

template <class Store>
void roundtrip(benchmark::State& state, std::size_t nodes) {
  auto& fx = cached_fixture<edited_tree<Store>>("checkpoint/" + std::to_string(nodes),
                                                [&] { return std::make_shared<edited_tree<Store>>(nodes); });
  Store restored;
  double encode_s = 0;
  double restore_s = 0;
  double encode_cpu = 0;
  double restore_cpu = 0;
  std::size_t size = 0;
  for (auto _ : state) {
    const stopwatch enc;
    const std::string blob = encode_checkpoint(fx.store, fx.head, fx.seq);
    const double te = enc.seconds();
    encode_cpu += enc.cpu_seconds();
    const stopwatch res;
    restore_checkpoint(restored, blob, fx.head, fx.seq);
    const double tr = res.seconds();
    restore_cpu += res.cpu_seconds();
    state.SetIterationTime(te + tr);
    encode_s += te;
    restore_s += tr;
    size = blob.size();
  }
  if (restored.node_count() != fx.store.node_count()) throw std::logic_error("restored tree has another size");
  const double n = static_cast<double>(state.iterations());
  state.counters["encode_ms"] = figure(encode_s * 1e3 / n);
  state.counters["restore_ms"] = figure(restore_s * 1e3 / n);
  state.counters["encode_ms_cpu"] = figure(encode_cpu * 1e3 / n);
  state.counters["restore_ms_cpu"] = figure(restore_cpu * 1e3 / n);
  state.counters["bytes"] = figure(static_cast<double>(size));
  state.counters["bytes_per_node"] = figure(static_cast<double>(size) / static_cast<double>(nodes));
  state.counters["encode_ns_per_node"] = figure(encode_s * 1e9 / n / static_cast<double>(nodes));
  state.counters["restore_ns_per_node"] = figure(restore_s * 1e9 / n / static_cast<double>(nodes));
}

template <class Key>
struct cadence_fixture {
  using with_cadence = document_target<Key, memory_storage<Key>, every_n_ops, exponential_retention>;
  using without = document_target<Key, memory_storage<Key>, never_checkpoint, exponential_retention>;
  cadence_fixture(std::size_t nodes, std::uint64_t cadence)
      : gen(13, shallow_depth_limit(nodes)),
        checkpointed(memory_storage<Key>{}, every_n_ops{cadence}, exponential_retention{2, cadence}),
        plain(memory_storage<Key>{}) {
    const auto base = gen.grow(nodes);
    checkpointed.apply(std::span<const op<Key>>(base));
    plain.apply(std::span<const op<Key>>(base));
  }
  op_stream<Key> gen;
  with_cadence checkpointed;
  without plain;
};

void cadence_cost(benchmark::State& state, std::size_t nodes, std::uint64_t cadence, std::size_t ops_per_iteration) {
  auto& fx =
      cached_fixture<cadence_fixture<key>>("cadence/" + std::to_string(nodes) + "/" + std::to_string(cadence),
                                           [&] { return std::make_shared<cadence_fixture<key>>(nodes, cadence); });
  double with_s = 0;
  double without_s = 0;
  double with_cpu = 0;
  double without_cpu = 0;
  std::uint64_t ops = 0;
  const std::uint64_t written_before = fx.checkpointed.doc().stats().checkpoints_written;
  for (auto _ : state) {
    const auto next = fx.gen.take(ops_per_iteration, steady_mix);
    const std::span<const op<key>> all(next);
    const stopwatch a;
    fx.checkpointed.apply(all, 1);
    const double ta = a.seconds();
    with_cpu += a.cpu_seconds();
    const stopwatch b;
    fx.plain.apply(all, 1);
    const double tb = b.seconds();
    without_cpu += b.cpu_seconds();
    state.SetIterationTime(ta);
    with_s += ta;
    without_s += tb;
    ops += next.size();
  }
  const auto& stats = fx.checkpointed.doc().stats();
  const auto kept = fx.checkpointed.doc().storage().list_checkpoints();
  const double n_ops = static_cast<double>(ops);
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.counters["ns_per_op"] = figure(with_s * 1e9 / n_ops);
  state.counters["ns_per_op_no_checkpoints"] = figure(without_s * 1e9 / n_ops);
  state.counters["checkpoint_ns_per_op"] = figure((with_s - without_s) * 1e9 / n_ops);
  state.counters["ns_per_op_cpu"] = figure(with_cpu * 1e9 / n_ops);
  state.counters["ns_per_op_no_checkpoints_cpu"] = figure(without_cpu * 1e9 / n_ops);
  state.counters["checkpoint_ns_per_op_cpu"] = figure((with_cpu - without_cpu) * 1e9 / n_ops);
  state.counters["checkpoints_per_1k_ops"] =
      figure(static_cast<double>(stats.checkpoints_written - written_before) * 1000.0 / n_ops);
  state.counters["checkpoint_bytes"] = figure(kept.empty() ? 0.0 : static_cast<double>(kept.back().size_bytes));
}

/// The log of checkpoint/storage: 1,000 inserts, then steady edits (the tree stays at 1k nodes;
/// its snapshots still grow slowly with the history held in version vectors).
template <class Retention>
void storage_after(benchmark::State& state, std::size_t log_ops, Retention retention) {
  drop_cached_fixture();  // keep-all holds every blob in memory
  for (auto _ : state) {
    op_stream<key> gen(17, shallow_depth_limit(1000));
    std::vector<op<key>> log = gen.grow(1000);
    const auto rest = gen.take(log_ops - 1000, steady_mix);
    log.insert(log.end(), rest.begin(), rest.end());
    document_target<key, memory_storage<key>, every_n_ops, Retention> target(memory_storage<key>{}, every_n_ops{},
                                                                             retention);
    const std::span<const op<key>> all(log);
    const stopwatch sw;
    for (std::size_t i = 0; i < all.size(); i += 1000)
      target.apply(all.subspan(i, std::min<std::size_t>(1000, all.size() - i)));
    state.SetIterationTime(sw.seconds());
    std::uint64_t total = 0;
    std::uint64_t largest = 0;
    const auto kept = target.doc().storage().list_checkpoints();
    for (const auto& cp : kept) {
      total += cp.size_bytes;
      largest = std::max(largest, cp.size_bytes);
    }
    state.counters["checkpoints"] = figure(static_cast<double>(kept.size()));
    state.counters["total_bytes"] = figure(static_cast<double>(total));
    state.counters["largest_bytes"] = figure(static_cast<double>(largest));
    state.counters["checkpoints_written"] = figure(static_cast<double>(target.doc().stats().checkpoints_written));
  }
}

const registrar checkpoint_benchmarks([] {
  for (const std::size_t n : pick<std::vector<std::size_t>>({1000, 10000, 100000, 1000000}, {1000, 10000})) {
    const std::int64_t iterations = n >= 1000000 ? 1 : n >= 100000 ? 3 : n >= 10000 ? 10 : 50;
    add(
        "checkpoint/roundtrip/nodes:" + size_name(n), [n](benchmark::State& s) { roundtrip<memory_store<key>>(s, n); },
        benchmark::kMillisecond)
        ->Iterations(iterations);
  }
  const std::size_t cadence_nodes = pick<std::size_t>(10000, 1000);
  for (const std::uint64_t c : {16, 64, 256, 1024})
    add(
        "checkpoint/cadence:" + std::to_string(c) + "/nodes:" + size_name(cadence_nodes),
        [=](benchmark::State& s) { cadence_cost(s, cadence_nodes, c, 1024); }, benchmark::kMillisecond)
        ->Iterations(pick<std::int64_t>(2, 1));
  for (const std::size_t n : pick<std::vector<std::size_t>>({10000, 100000}, {10000})) {
    add(
        "checkpoint/storage/default_retention/log:" + size_name(n),
        [n](benchmark::State& s) { storage_after(s, n, exponential_retention{}); }, benchmark::kMillisecond)
        ->Iterations(1)
        ->Repetitions(1);  // sizes are deterministic; the time is not the point here
    add(
        "checkpoint/storage/keep_all/log:" + size_name(n),
        [n](benchmark::State& s) { storage_after(s, n, keep_all_checkpoints{}); }, benchmark::kMillisecond)
        ->Iterations(1)
        ->Repetitions(1);
  }
});

}  // namespace
}  // namespace treecrdt::bench
