#pragma once
// Plumbing shared by every benchmark file: the --quick switch, a registry so each file adds its
// own benchmarks from main(), a stopwatch for manual timing, and a guard that turns an exception
// into a benchmark error (reported, and making the binary exit non-zero) instead of an abort.
//
// Every benchmark here uses manual time: the body times exactly the part it measures with a
// steady clock, so setup (building logs, generating ops) never leaks into the figures.
#include <benchmark/benchmark.h>

#include <stdlib.h>
#include <time.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <typeinfo>
#include <utility>
#include <vector>

namespace treecrdt::bench {

/// Quick mode (a smoke test): smaller sizes, fewer iterations. Set by main() before registering.
inline bool& quick_mode() {
  static bool quick = false;
  return quick;
}

/// Set when a benchmark failed; main() then exits non-zero.
inline bool& any_benchmark_failed() {
  static bool failed = false;
  return failed;
}

/// Functions that register benchmarks, collected at static-initialization time and called by
/// main() once the command line is known (sizes depend on --quick).
/// Runs `paths` in an order rotated by `round`, so that none always runs right after another
/// (paired measurements: the machine's state weighs on each path alike).
inline void rotated(std::span<const std::function<void()>> paths, std::uint64_t round) {
  for (std::size_t i = 0; i < paths.size(); ++i) paths[(round + i) % paths.size()]();
}

inline std::vector<std::function<void()>>& registrars() {
  static std::vector<std::function<void()>> all;
  return all;
}
struct registrar {
  explicit registrar(std::function<void()> f) { registrars().push_back(std::move(f)); }
};

/// `full` normally, `quick` in quick mode.
template <class T>
[[nodiscard]] T pick(T full, T quick) {
  return quick_mode() ? quick : full;
}

/// CPU time consumed by the calling thread, in seconds.
[[nodiscard]] inline double thread_cpu_seconds() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Wall-clock time (what the benchmarks report) and this thread's CPU time since construction.
/// On a shared machine the CPU time of in-memory work is the steadier of the two: it leaves out
/// the time other processes held the core.
class stopwatch {
 public:
  stopwatch() noexcept : start_(std::chrono::steady_clock::now()), cpu_start_(thread_cpu_seconds()) {}
  [[nodiscard]] double seconds() const noexcept {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  [[nodiscard]] double cpu_seconds() const noexcept { return thread_cpu_seconds() - cpu_start_; }

 private:
  std::chrono::steady_clock::time_point start_;
  double cpu_start_;
};

/// Runs `body(state)`; an exception becomes SkipWithError with its message.
template <class Body>
void guarded(benchmark::State& state, Body&& body) {
  try {
    body(state);
  } catch (const std::exception& e) {
    any_benchmark_failed() = true;
    state.SkipWithError(e.what());
  } catch (...) {
    any_benchmark_failed() = true;
    state.SkipWithError("unknown exception");
  }
}

/// Registers `body` under `name` with manual timing, reported in `unit`.
template <class Body>
benchmark::internal::Benchmark* add(const std::string& name, Body body,
                                    benchmark::TimeUnit unit = benchmark::kMicrosecond) {
  return benchmark::RegisterBenchmark(name.c_str(), [body](benchmark::State& state) { guarded(state, body); })
      ->UseManualTime()
      ->Unit(unit);
}

/// A plain counter (no rate, no averaging by the library): the value as computed.
[[nodiscard]] inline benchmark::Counter figure(double v) { return benchmark::Counter(v); }

/// The one expensive fixture alive at a time (a big log, a big tree), shared by the calls Google
/// Benchmark makes to one benchmark (iteration-count probing, repetitions) and by consecutive
/// benchmarks asking for the same `key`. Asking for another key frees the previous fixture first,
/// so only one is ever in memory.
struct fixture_slot {
  std::string key;
  std::shared_ptr<void> fixture;
};
inline fixture_slot& the_fixture_slot() {
  static fixture_slot slot;
  return slot;
}

template <class Fixture, class Build>
Fixture& cached_fixture(const std::string& name, Build&& build) {
  const std::string key = name + "|" + typeid(Fixture).name();  // never cast to the wrong type
  fixture_slot& slot = the_fixture_slot();
  if (!slot.fixture || slot.key != key) {
    slot.fixture.reset();
    slot.key.clear();
    std::shared_ptr<Fixture> made = build();
    slot.fixture = made;
    slot.key = key;
  }
  return *static_cast<Fixture*>(slot.fixture.get());
}

/// Frees the cached fixture (e.g. before a benchmark that needs a lot of memory of its own).
inline void drop_cached_fixture() {
  the_fixture_slot().fixture.reset();
  the_fixture_slot().key.clear();
}

/// A private directory for database files, created on first use under $TMPDIR (else /tmp) and
/// removed with everything in it when the program exits.
class temp_dir {
 public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/treecrdt-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("cannot create a temporary directory from " + pattern + ": " + std::strerror(errno));
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// A fresh file name in the benchmark's temporary directory: <stem>-<n>.db.
[[nodiscard]] inline std::string temp_db_path(const std::string& stem) {
  static const temp_dir dir;
  static std::uint64_t next = 0;
  return (dir.path() / (stem + "-" + std::to_string(++next) + ".db")).string();
}

/// "1k", "100k", "1M": readable sizes in benchmark names.
[[nodiscard]] inline std::string size_name(std::uint64_t n) {
  if (n >= 1000000 && n % 1000000 == 0) return std::to_string(n / 1000000) + "M";
  if (n >= 1000 && n % 1000 == 0) return std::to_string(n / 1000) + "k";
  return std::to_string(n);
}

}  // namespace treecrdt::bench
