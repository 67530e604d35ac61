// Entry point of every benchmark binary: takes our own --quick switch off the command line,
// registers the benchmarks of the linked files (their sizes depend on it), then hands over to
// Google Benchmark. Exits non-zero if any benchmark reported an error.
#include <benchmark/benchmark.h>

#include <cstring>
#include <iostream>

#include "support/bench_support.hpp"

int main(int argc, char** argv) {
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      treecrdt::bench::quick_mode() = true;
    else
      argv[kept++] = argv[i];
  }
  argc = kept;
  for (const auto& register_benchmarks : treecrdt::bench::registrars()) register_benchmarks();

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  treecrdt::bench::drop_cached_fixture();  // close database files before their directory goes
  if (treecrdt::bench::any_benchmark_failed()) {
    std::cerr << "treecrdt benchmarks: at least one benchmark failed (see the error above)\n";
    return 1;
  }
  return 0;
}
