// treecrdt_open_probe FILE tables|memory
//
// Opens an existing SQLite document in a fresh process and lists ROOT's children, then prints one
// JSON object: the time to open, to list and in all (ms), the children and nodes seen, and the
// process's peak resident set (VmHWM, KB) before opening and at the end. Spawned by
// tables_bench.cpp (issue 11's open target): a peak RSS is only meaningful in a process that did
// nothing else. `tables` opens it as document<K, sqlite_storage<K>, sqlite_store<K>> (the tree in
// the database), `memory` as document<K, sqlite_storage<K>> (restore a checkpoint, replay).
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <string>

#include "support/targets.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/storage/sqlite.hpp"
#include "treecrdt/store/sqlite_store.hpp"

namespace {

using key = treecrdt::default_op_key;
using storage = treecrdt::sqlite_storage<key>;

// The peak resident set of this process's own address space (VmHWM). Not getrusage's ru_maxrss:
// Linux keeps that across execve, so a probe spawned by a big benchmark process would report the
// parent's footprint (ru_maxrss is the fallback where /proc is missing).
long peak_rss_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

struct probe_result {
  double open_ms = 0;
  double list_ms = 0;
  std::size_t children = 0;
  std::size_t nodes = 0;
  std::uint64_t replayed = 0;
};

template <class Doc>
probe_result open_and_list(const std::string& file) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  Doc doc(storage::open(file), treecrdt::bench::observer_replica<key>());
  const auto t1 = clock::now();
  const auto kids = doc.children(treecrdt::root_node);
  const auto t2 = clock::now();
  probe_result r;
  r.open_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  r.list_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
  r.children = kids.size();
  r.nodes = doc.store().node_count();
  r.replayed = doc.stats().ops_replayed_last_catch_up + doc.stats().ops_applied_forward;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: treecrdt_open_probe FILE tables|memory\n");
    return 2;
  }
  const std::string file = argv[1];
  const std::string which = argv[2];
  try {
    const long before = peak_rss_kb();
    probe_result r;
    if (which == "tables")
      r = open_and_list<treecrdt::document<key, storage, treecrdt::sqlite_store<key>>>(file);
    else if (which == "memory")
      r = open_and_list<treecrdt::document<key, storage>>(file);
    else
      throw std::invalid_argument("unknown store " + which + " (tables or memory)");
    std::printf(
        "{\"store\": \"%s\", \"open_ms\": %.3f, \"list_ms\": %.3f, \"total_ms\": %.3f, \"children\": %zu, "
        "\"nodes\": %zu, \"ops_folded\": %llu, \"start_rss_kb\": %ld, \"max_rss_kb\": %ld}\n",
        which.c_str(), r.open_ms, r.list_ms, r.open_ms + r.list_ms, r.children, r.nodes,
        static_cast<unsigned long long>(r.replayed), before, peak_rss_kb());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "treecrdt_open_probe: %s\n", e.what());
    return 1;
  }
}
