// Workload 3 over the in-memory storage policy (the body is in support/catch_up_body.hpp; the
// SQLite registration lives in sqlite_bench.cpp).
#include <string>
#include <vector>

#include "support/bench_support.hpp"
#include "support/catch_up_body.hpp"
#include "treecrdt/storage/memory.hpp"

namespace treecrdt::bench {
namespace {

const registrar catch_up_benchmarks([] {
  register_catch_up<default_op_key, memory_storage<default_op_key>>(
      "memory", [](const std::string&) { return memory_storage<default_op_key>{}; },
      pick<std::vector<std::size_t>>({10000, 100000, 1000000}, {10000, 20000}), {10000, 100, 1});
});

}  // namespace
}  // namespace treecrdt::bench
