// Workload 8: memory per node of the in-memory store (and per op of the in-memory storage).
// Variants: no payloads; 16-byte payloads; 16-byte payloads plus as many steady edits as nodes
// (the history that version vectors keep); the compact key.
//
// Method: this binary replaces the global operator new/delete with versions that keep a running
// total of live heap bytes, counted as malloc_usable_size of each block (what the allocator really
// hands out, including its rounding, but not its 8-byte chunk headers). A benchmark reads the total
// before and after building a structure; ops are generated and applied in slices of 10,000 and
// dropped, so only the structure itself remains. The resident-set growth (/proc/self/statm) is
// reported beside it as a cross-check: it also contains allocator slack and freed-but-retained memory.
// Over-aligned allocations (operator new with std::align_val_t) are not counted; the store makes none.
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "support/bench_support.hpp"
#include "support/workload.hpp"
#include "treecrdt/fold.hpp"
#include "treecrdt/storage/memory.hpp"
#include "treecrdt/store/memory_store.hpp"

namespace {
std::atomic<std::int64_t> live_heap_bytes{0};

void* counted_alloc(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  live_heap_bytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  return p;
}
void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  live_heap_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }

namespace treecrdt::bench {
namespace {

[[nodiscard]] std::int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0;
  std::int64_t resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

struct usage {
  std::int64_t heap = live_heap_bytes.load();
  std::int64_t rss = resident_bytes();
};

void report(benchmark::State& state, const usage& before, const usage& after, double units, const char* per) {
  state.counters[std::string("heap_bytes_per_") + per] = figure(static_cast<double>(after.heap - before.heap) / units);
  state.counters[std::string("rss_bytes_per_") + per] = figure(static_cast<double>(after.rss - before.rss) / units);
  state.counters["heap_MB"] = figure(static_cast<double>(after.heap - before.heap) / 1e6);
}

/// A store of `nodes` nodes built by inserts (with `payload_bytes`-byte payloads, none when 0),
/// followed by `edits` steady edits (moves, payload writes, deletes) that add history.
template <class Key>
void store_memory(benchmark::State& state, std::size_t nodes, std::size_t payload_bytes, std::size_t edits) {
  drop_cached_fixture();
  for (auto _ : state) {
    malloc_trim(0);  // hand freed pages back first, so the resident-set growth is this structure's
    const usage before;
    const stopwatch sw;
    auto store = std::make_unique<memory_store<Key>>();
    {
      op_stream<Key> gen(29, shallow_depth_limit(nodes), 4, payload_bytes);
      constexpr std::size_t slice = 10000;
      for (std::size_t done = 0; done < nodes; done += slice)
        for (const auto& o : gen.grow(std::min(slice, nodes - done))) apply_op(*store, o);
      for (std::size_t done = 0; done < edits; done += slice)
        for (const auto& o : gen.take(std::min(slice, edits - done), steady_mix)) apply_op(*store, o);
    }
    state.SetIterationTime(sw.seconds());
    const usage after;
    report(state, before, after, static_cast<double>(nodes), "node");
    state.counters["nodes"] = figure(static_cast<double>(store->node_count()));
    // The node record itself (handles are pointers to it), the store's fixed per-node part.
    state.counters["node_record_bytes"] =
        figure(static_cast<double>(sizeof(std::remove_pointer_t<typename memory_store<Key>::handle>)));
  }
}

/// The in-memory storage policy holding a log of `ops` ops (1,000 inserts, then steady edits).
void storage_memory(benchmark::State& state, std::size_t ops) {
  using key = default_op_key;
  drop_cached_fixture();
  for (auto _ : state) {
    malloc_trim(0);
    const usage before;
    const stopwatch sw;
    memory_storage<key> storage;
    {
      op_stream<key> gen(31, shallow_depth_limit(1000));
      auto tx = storage.begin();
      (void)storage.append(gen.grow(1000));
      constexpr std::size_t slice = 10000;
      for (std::size_t done = 1000; done < ops; done += slice)
        (void)storage.append(gen.take(std::min(slice, ops - done), steady_mix));
      tx.commit();
    }
    state.SetIterationTime(sw.seconds());
    const usage after;
    report(state, before, after, static_cast<double>(ops), "op");
  }
}

const registrar memory_benchmarks([] {
  const std::size_t n = pick<std::size_t>(1000000, 20000);
  const std::string nodes = "/nodes:" + size_name(n);
  // One run each: byte counts are deterministic, and a 1M-node build is slow.
  const auto once = [](const std::string& name, auto body) {
    add(name, body, benchmark::kMillisecond)->Iterations(1)->Repetitions(1);
  };
  once("memory/store<default_key>/no_payload" + nodes,
       [n](benchmark::State& s) { store_memory<default_op_key>(s, n, 0, 0); });
  once("memory/store<default_key>/payload16" + nodes,
       [n](benchmark::State& s) { store_memory<default_op_key>(s, n, 16, 0); });
  once("memory/store<default_key>/payload16+edits" + nodes,
       [n](benchmark::State& s) { store_memory<default_op_key>(s, n, 16, n); });
  once("memory/store<compact_key>/payload16" + nodes,
       [n](benchmark::State& s) { store_memory<compact_op_key>(s, n, 16, 0); });
  once("memory/memory_storage/log:" + size_name(n), [n](benchmark::State& s) { storage_memory(s, n); });
});

}  // namespace
}  // namespace treecrdt::bench
