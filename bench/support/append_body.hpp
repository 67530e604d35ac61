#pragma once
// Workloads 6 and 7, written once for any database policy: B fresh ops per iteration, committed
// four ways into separate documents/tables of the same database:
//   document — document::apply of `document<Key, Storage>`, every policy defaulted (the whole path);
//   document, never_checkpoint — the same without checkpoints (shows what checkpoints add);
//   append   — the policy's append() alone, in one transaction (the storage layer only);
//   raw      — the backend's baseline: the same rows written the plainest way the database offers
//              into a table of the same shape, rows prepared beforehand (untimed).
// All four start from the same 1,000-node tree and then receive the same steady edits.
//
// A Backend provides:
//   using storage = <the policy>;            storage open(const std::string& role);
//   using raw_table = ...;                   std::unique_ptr<raw_table> make_raw();
//   raw_table::rows prepare(std::span<const op<default_op_key>>) const;  void write(const rows&);
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/bench_support.hpp"
#include "support/targets.hpp"
#include "support/workload.hpp"

namespace treecrdt::bench {

template <class Backend>
struct append_fixture {
  using key = default_op_key;
  using storage = typename Backend::storage;
  using doc_target = default_document_target<key, storage>;
  using plain_doc_target = never_checkpoint_target<key, storage>;

  explicit append_fixture(Backend& backend)
      : gen(19, shallow_depth_limit(1000)), doc(backend.open("document")), plain_doc(backend.open("plain-document")),
        store(backend.open("storage")), raw(backend.make_raw()) {
    const auto base = gen.grow(1000);
    const std::span<const op<key>> all(base);
    doc.apply(all);
    plain_doc.apply(all);
    auto tx = store.begin();
    (void)store.append(all);
    tx.commit();
    raw->write(raw->prepare(all));
  }

  op_stream<key> gen;
  doc_target doc;
  plain_doc_target plain_doc;
  storage store;
  std::unique_ptr<typename Backend::raw_table> raw;
};

template <class Backend>
void appends(benchmark::State& state, const std::string& policy, Backend backend, std::size_t batch) {
  using key = default_op_key;
  auto& fx = cached_fixture<append_fixture<Backend>>("append/" + policy + "/" + std::to_string(batch), [&] {
    return std::make_shared<append_fixture<Backend>>(backend);
  });
  double doc_s = 0;
  double plain_s = 0;
  double store_s = 0;
  double raw_s = 0;
  std::uint64_t ops = 0;
  std::size_t round = 0;
  for (auto _ : state) {
    const auto next = fx.gen.take(batch, steady_mix);
    const std::span<const op<key>> all(next);
    const auto rows = fx.raw->prepare(all);

    // The four paths, started in rotating order so that none always runs right after the heavy one
    // (the server's background work and the caches then weigh on each alike).
    double td = 0;
    const auto timed = [](double& total, auto&& work) {
      const stopwatch sw;
      work();
      const double t = sw.seconds();
      total += t;
      return t;
    };
    const std::function<void()> paths[] = {
        [&] { td = timed(doc_s, [&] { fx.doc.apply(all); }); },
        [&] { timed(plain_s, [&] { fx.plain_doc.apply(all); }); },
        [&] {
          timed(store_s, [&] {
            auto tx = fx.store.begin();
            if (fx.store.append(all).size() != next.size()) throw std::logic_error("storage append skipped fresh ops");
            tx.commit();
          });
        },
        [&] { timed(raw_s, [&] { fx.raw->write(rows); }); },
    };
    for (std::size_t i = 0; i < std::size(paths); ++i) paths[(round + i) % std::size(paths)]();
    ++round;

    state.SetIterationTime(td);
    ops += next.size();
  }
  const double n_ops = static_cast<double>(ops);
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.counters["document_us_per_op"] = figure(doc_s * 1e6 / n_ops);
  state.counters["no_checkpoints_us_per_op"] = figure(plain_s * 1e6 / n_ops);
  state.counters["append_us_per_op"] = figure(store_s * 1e6 / n_ops);
  state.counters["raw_us_per_op"] = figure(raw_s * 1e6 / n_ops);
  state.counters["document_vs_raw"] = figure(doc_s / raw_s);
  state.counters["no_checkpoints_vs_raw"] = figure(plain_s / raw_s);
  state.counters["append_vs_raw"] = figure(store_s / raw_s);
}

/// Registers append/<policy>/batch:B for each batch size, with `iterations(B)` iterations.
template <class Backend, class Iterations>
void register_appends(const std::string& policy, const Backend& backend, const std::vector<std::size_t>& batches,
                      Iterations iterations) {
  for (const std::size_t b : batches)
    add(
        "append/" + policy + "/batch:" + size_name(b),
        [policy, backend, b](benchmark::State& s) { appends(s, policy, backend, b); }, benchmark::kMillisecond)
        ->Iterations(iterations(b));
}

}  // namespace treecrdt::bench
