// Sync primitives: the log's version vector against a full ops_since, per storage policy.
//
//   sync/version/<policy>/log:N      storage_traits::log_version (what document::version() reads
//                                    when its tree is not caught up with the log): the vector each
//                                    policy keeps in its append transaction, O(replicas + gaps).
//                                    Counters: ops_since_ms = one full ops_since({}) (every op
//                                    decoded and collected), ratio = ops_since / version (target
//                                    ≥ 100), scan_ms = the version vector built by a scan of the
//                                    log, as document::version() did before the policies kept one.
//   sync/ops_since_one/<policy>/log:N  ops_since for a peer that lacks one op
//
// The log: N inserts from 8 replicas, interleaved, replica 0 with a gap every 1,000 counters
// (so the vector has gaps too), appended straight to the storage in batches of 10,000 (untimed,
// once per policy). Policies: memory, SQLite (a file, synchronous = NORMAL while filling) and
// PostgreSQL (a fresh document in TREECRDT_PG_URL's database; skipped when it is not set).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "support/bench_support.hpp"
#include "treecrdt/op.hpp"
#include "treecrdt/storage/memory.hpp"
#include "treecrdt/storage/storage_traits.hpp"
#if TREECRDT_BENCH_SYNC_SQLITE
#include "treecrdt/storage/sqlite.hpp"
#endif
#if TREECRDT_BENCH_SYNC_POSTGRES
#include "treecrdt/storage/postgres.hpp"
#endif

namespace treecrdt::bench {
namespace {

using key = default_op_key;
using version_type = version_vector<bytes>;
constexpr int replicas = 8;

/// Op i of the benchmark log (0-based), or nullopt for the gaps of replica 0.
std::optional<op<key>> log_op(std::uint64_t i) {
  const auto r = static_cast<int>(i % replicas);
  const std::uint64_t counter = i / replicas + 1;
  if (r == 0 && counter % 1000 == 500) return std::nullopt;
  return make_insert(key{i + 1, "replica-" + std::to_string(r), counter}, root_node, node_id{1, i + 1}, bytes("k"),
                     bytes("payload"));
}

template <class Storage>
void fill(Storage& s, std::uint64_t n) {
  std::vector<op<key>> batch;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (auto o = log_op(i)) batch.push_back(std::move(*o));
    if (batch.size() == 10000 || i + 1 == n) {
      auto tx = s.begin();
      (void)s.append(batch);
      tx.commit();
      batch.clear();
    }
  }
}

template <class Storage>
struct sync_fixture {
  Storage storage;
  version_type full;  // the whole log's vector
};

template <class Storage, class Open>
void register_policy(const std::string& policy, std::uint64_t n, Open open) {
  const std::string fixture_name = "sync/" + policy + "/" + std::to_string(n);
  const auto fixture = [=]() -> sync_fixture<Storage>& {
    return cached_fixture<sync_fixture<Storage>>(fixture_name, [&] {
      auto f = std::make_shared<sync_fixture<Storage>>(sync_fixture<Storage>{open(), {}});
      fill(f->storage, n);
      f->full = storage_traits<Storage>::log_version(f->storage);
      return f;
    });
  };

  add("sync/version/" + policy + "/log:" + size_name(n), [=](benchmark::State& state) {
    auto& f = fixture();
    double total = 0;
    std::uint64_t calls = 0;
    for (auto _ : state) {
      stopwatch sw;
      version_type vv = storage_traits<Storage>::log_version(f.storage);
      benchmark::DoNotOptimize(vv);
      const double t = sw.seconds();
      state.SetIterationTime(t);
      total += t;
      ++calls;
      if (vv != f.full) throw std::runtime_error("log_version changed between calls");
    }
    // One full ops_since and one version by scan, for the ratio (untimed by the framework).
    stopwatch all;
    std::uint64_t sent = 0;
    storage_traits<Storage>::scan_unknown_to(f.storage, version_type{}, [&](const op<key>& o) {
      benchmark::DoNotOptimize(o);
      ++sent;
    });
    const double ops_since = all.seconds();
    stopwatch scan;
    version_type scanned;
    f.storage.scan_after(std::nullopt, [&](const op<key>& o) { scanned.observe(o.key.replica, o.key.counter); });
    const double scan_seconds = scan.seconds();
    if (scanned != f.full) throw std::runtime_error("log_version differs from the log's dots");
    const double per_call = total / static_cast<double>(calls);
    state.counters["ops_since_ms"] = figure(ops_since * 1e3);
    state.counters["scan_ms"] = figure(scan_seconds * 1e3);
    state.counters["ratio"] = figure(ops_since / per_call);
    state.counters["ops"] = figure(static_cast<double>(sent));
    std::size_t gaps = 0;
    for (const auto& entry : f.full.entries()) gaps += entry.second.ranges.size();
    state.counters["gaps"] = figure(static_cast<double>(gaps));
  })->Iterations(pick<benchmark::IterationCount>(200, 20));

  add("sync/ops_since_one/" + policy + "/log:" + size_name(n), [=](benchmark::State& state) {
    auto& f = fixture();
    version_type known = f.full;
    known.erase("replica-3", f.full.max_counter("replica-3"));  // the peer lacks one op
    for (auto _ : state) {
      stopwatch sw;
      std::uint64_t sent = 0;
      storage_traits<Storage>::scan_unknown_to(f.storage, known, [&](const op<key>&) { ++sent; });
      state.SetIterationTime(sw.seconds());
      if (sent != 1) throw std::runtime_error("ops_since sent " + std::to_string(sent) + " ops, not 1");
    }
  })->Iterations(pick<benchmark::IterationCount>(200, 20));
}

const registrar sync_benchmarks([] {
  const std::uint64_t n = pick<std::uint64_t>(300000, 30000);
  register_policy<memory_storage<key>>("memory", n, [] { return memory_storage<key>{}; });
#if TREECRDT_BENCH_SYNC_SQLITE
  register_policy<sqlite_storage<key>>("sqlite", n, [] {
    sqlite_options o;
    o.synchronous = sqlite_options::sync_mode::normal;
    return sqlite_storage<key>::open(temp_db_path("sync"), o);
  });
#endif
#if TREECRDT_BENCH_SYNC_POSTGRES
  const char* url = std::getenv("TREECRDT_PG_URL");
  if (url == nullptr || *url == '\0') return;
  const std::string conninfo = url;
  register_policy<postgres_storage<key>>("postgres", n, [conninfo] {
    std::random_device rd;
    return postgres_storage<key>(conninfo, "bench-sync-" + std::to_string(rd()) + "-" + std::to_string(rd()));
  });
#endif
});

}  // namespace
}  // namespace treecrdt::bench
