// Workloads 4 and 6: what checkpoints cost.
//
//   checkpoint/roundtrip/nodes:N   encode_checkpoint + restore_checkpoint of a full snapshot of a tree
//                                  of N nodes that has also seen N edits (moves, payloads, deletes).
//                                  Time = encode + restore; counters split them and give the size.
//                                  (A full snapshot is what a chain starts with and what a rebase
//                                  writes; deltas in between cost what changed.)
//   checkpoint/amortized/nodes:N   workload 6: three documents holding the same N-node tree apply the
//                                  same steady edits one `apply` per op (the local-edit path), paired:
//                                  `document<>` with every default, a never_checkpoint document with
//                                  the default undo journal, and a plain one (never_checkpoint, no
//                                  journal). default − never_checkpoint per op is the amortized
//                                  checkpoint cost; never_checkpoint − plain the journal's. One
//                                  iteration is a window of whole checkpoint chains (paired_apply):
//                                  at least 131,072 ops, ending right after a full checkpoint.
//   checkpoint/cadence:C           a 10k-node document applying ops one at a time with every_n_ops{C}
//                                  and exponential retention of granularity C, paired with the same
//                                  ops on a never_checkpoint document (same journal): the amortized
//                                  checkpoint cost per applied op by cadence (the same windows).
//   checkpoint/storage/<retention>/log:N   total bytes of the checkpoints kept after N ops (cadence
//                                  64) with the default exponential retention and with keep-all.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
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

/// Paired documents over one tree of `nodes` nodes, and the steady-edit stream that continues it.
/// `Checkpointed` is the document under test; the never_checkpoint one shares its undo journal.
template <class Key, class Checkpointed>
struct paired_fixture {
  using never = never_checkpoint_target<Key, memory_storage<Key>>;
  using plain = plain_document_target<Key, memory_storage<Key>>;
  paired_fixture(std::size_t nodes, std::function<std::unique_ptr<Checkpointed>()> make)
      : gen(13, shallow_depth_limit(nodes)), checkpointed(make()), nocp(memory_storage<Key>{}),
        bare(memory_storage<Key>{}) {
    // One apply for the whole tree (untimed): a single checkpoint at its end, not one per slice.
    const auto base = gen.grow(nodes);
    checkpointed->apply(std::span<const op<Key>>(base));
    nocp.apply(std::span<const op<Key>>(base));
    bare.apply(std::span<const op<Key>>(base));
  }
  op_stream<Key> gen;
  std::unique_ptr<Checkpointed> checkpointed;
  never nocp;
  plain bare;
};

/// Full checkpoints a document has written.
template <class Target>
[[nodiscard]] std::uint64_t full_checkpoints(const Target& t) {
  const auto& st = t.doc().stats();
  return st.checkpoints_written - st.delta_checkpoints_written;
}

/// The window one iteration measures: fresh steady edits applied one apply per op, `slice` ops at a
/// time, to the three documents of a paired_fixture in rotating order, each timed on its own; at
/// least `min_ops` ops, then on until a slice in which the document under test wrote a full
/// checkpoint (at most `max_ops` in all). A window thus starts right after a full checkpoint (the
/// fixture's build wrote one, and so did the slice that ended the previous window) and ends right
/// after one: it holds whole checkpoint chains, rebases included, and the cost per op is the
/// amortized cost whatever the rebase interval is.
struct window_sizes {
  std::size_t slice;
  std::uint64_t min_ops;
  std::uint64_t max_ops;
};

template <class Checkpointed>
void paired_apply(benchmark::State& state, const std::string& fixture_key, std::size_t nodes,
                  std::function<std::unique_ptr<Checkpointed>()> make, window_sizes w) {
  using fixture = paired_fixture<key, Checkpointed>;
  auto& fx = cached_fixture<fixture>(fixture_key, [&] { return std::make_shared<fixture>(nodes, make); });
  double s_cp = 0, s_nocp = 0, s_plain = 0, c_cp = 0, c_nocp = 0, c_plain = 0;
  std::uint64_t ops = 0;
  std::uint64_t round = 0;
  std::uint64_t windows_ending_on_full = 0;
  const auto before = fx.checkpointed->doc().stats();
  for (auto _ : state) {
    double window_cp = 0;
    std::uint64_t window_ops = 0;
    for (;;) {
      const auto next = fx.gen.take(w.slice, steady_mix);
      const std::span<const op<key>> all(next);
      const std::uint64_t fulls_before = full_checkpoints(*fx.checkpointed);
      const auto timed = [&](double& total, double& cpu, auto& target) {
        const stopwatch sw;
        target.apply(all, 1);
        const double t = sw.seconds();
        cpu += sw.cpu_seconds();
        total += t;
        return t;
      };
      const std::function<void()> paths[] = {
          [&] { window_cp += timed(s_cp, c_cp, *fx.checkpointed); },
          [&] { timed(s_nocp, c_nocp, fx.nocp); },
          [&] { timed(s_plain, c_plain, fx.bare); },
      };
      for (std::size_t i = 0; i < std::size(paths); ++i) paths[(round + i) % std::size(paths)]();
      ++round;
      window_ops += next.size();
      const bool wrote_full = full_checkpoints(*fx.checkpointed) > fulls_before;
      if (window_ops >= w.min_ops && wrote_full) {
        ++windows_ending_on_full;
        break;
      }
      if (window_ops >= w.max_ops) break;
    }
    state.SetIterationTime(window_cp);
    ops += window_ops;
  }
  state.counters["window_ops"] = figure(static_cast<double>(ops) / static_cast<double>(state.iterations()));
  state.counters["windows_ending_on_full"] = figure(static_cast<double>(windows_ending_on_full));
  const auto& after = fx.checkpointed->doc().stats();
  const auto kept = fx.checkpointed->doc().storage().list_checkpoints();
  std::uint64_t kept_bytes = 0;
  for (const auto& cp : kept) kept_bytes += cp.size_bytes;
  const double n_ops = static_cast<double>(ops);
  const double fulls = static_cast<double>((after.checkpoints_written - before.checkpoints_written) -
                                           (after.delta_checkpoints_written - before.delta_checkpoints_written));
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.counters["ns_per_op"] = figure(s_cp * 1e9 / n_ops);
  state.counters["ns_per_op_no_checkpoints"] = figure(s_nocp * 1e9 / n_ops);
  state.counters["ns_per_op_plain"] = figure(s_plain * 1e9 / n_ops);
  state.counters["checkpoint_ns_per_op"] = figure((s_cp - s_nocp) * 1e9 / n_ops);
  state.counters["journal_ns_per_op"] = figure((s_nocp - s_plain) * 1e9 / n_ops);
  state.counters["ns_per_op_cpu"] = figure(c_cp * 1e9 / n_ops);
  state.counters["ns_per_op_no_checkpoints_cpu"] = figure(c_nocp * 1e9 / n_ops);
  state.counters["ns_per_op_plain_cpu"] = figure(c_plain * 1e9 / n_ops);
  state.counters["checkpoint_ns_per_op_cpu"] = figure((c_cp - c_nocp) * 1e9 / n_ops);
  state.counters["journal_ns_per_op_cpu"] = figure((c_nocp - c_plain) * 1e9 / n_ops);
  state.counters["checkpoint_share"] = figure((s_cp - s_nocp) / s_nocp);
  state.counters["checkpoint_share_cpu"] = figure((c_cp - c_nocp) / c_nocp);
  state.counters["checkpoints_per_1k_ops"] =
      figure(static_cast<double>(after.checkpoints_written - before.checkpoints_written) * 1000.0 / n_ops);
  state.counters["full_checkpoints_per_1k_ops"] = figure(fulls * 1000.0 / n_ops);
  state.counters["checkpoint_bytes_per_op"] =
      figure(static_cast<double>(after.checkpoint_bytes_written - before.checkpoint_bytes_written) / n_ops);
  state.counters["checkpoint_bytes"] = figure(kept.empty() ? 0.0 : static_cast<double>(kept.back().size_bytes));
  state.counters["kept_checkpoints"] = figure(static_cast<double>(kept.size()));
  state.counters["kept_bytes"] = figure(static_cast<double>(kept_bytes));
  state.counters["tree_nodes"] = figure(static_cast<double>(fx.checkpointed->node_count()));
}

using default_doc = default_document_target<key, memory_storage<key>>;

/// At least 131,072 ops (2,048 in quick mode), and whole chains: up to 4M ops (16k in quick mode).
window_sizes window() {
  return {pick<std::size_t>(4096, 1024), pick<std::uint64_t>(131072, 2048), pick<std::uint64_t>(4194304, 16384)};
}
using cadence_doc = document_target<key, memory_storage<key>, every_n_ops, exponential_retention>;

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
  for (const std::size_t n : pick<std::vector<std::size_t>>({1000, 100000, 1000000}, {1000, 10000}))
    add(
        "checkpoint/amortized/nodes:" + size_name(n),
        [n](benchmark::State& s) {
          paired_apply<default_doc>(
              s, "amortized/" + std::to_string(n), n,
              [] { return std::make_unique<default_doc>(memory_storage<key>{}); }, window());
        },
        benchmark::kMillisecond)
        ->Iterations(1)
        ->Repetitions(n >= 1000000 ? 1 : pick(3, 1));  // at 1M nodes one window is about a million ops
  const std::size_t cadence_nodes = pick<std::size_t>(10000, 1000);
  for (const std::uint64_t c : {16, 64, 256, 1024})
    add(
        "checkpoint/cadence:" + std::to_string(c) + "/nodes:" + size_name(cadence_nodes),
        [=](benchmark::State& s) {
          paired_apply<cadence_doc>(
              s, "cadence/" + std::to_string(c), cadence_nodes,
              [c] {
                return std::make_unique<cadence_doc>(memory_storage<key>{}, every_n_ops{c},
                                                     exponential_retention{2, c});
              },
              window());
        },
        benchmark::kMillisecond)
        ->Iterations(1);
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
