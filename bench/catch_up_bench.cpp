// Workload 3 over the in-memory storage policy (the body is in support/catch_up_body.hpp; the
// SQLite registration lives in sqlite_bench.cpp).
//
//   catch_up/memory/tree:100k/log:1M/k:K   the headline: a 1M-op log over a 100k-node tree, one late
//                                          op 10,000 and 100 ops behind the head;
//   catch_up/memory/tree:2k/log:N/k:K      the same at a fixed 2,000-node tree for 10k-, 100k- and
//                                          1M-op logs: how catch-up time depends on the log length.
#include <string>
#include <vector>

#include "support/bench_support.hpp"
#include "support/catch_up_body.hpp"
#include "treecrdt/storage/memory.hpp"

namespace treecrdt::bench {
namespace {

using key = default_op_key;
using storage = memory_storage<key>;

const registrar catch_up_benchmarks([] {
  const auto make = [](const std::string&) { return storage{}; };
  register_catch_up<key, storage>("memory", make, pick<std::size_t>(100000, 2000), pick<std::size_t>(1000000, 20000),
                                  {10000, 100});
  for (const std::size_t n : pick<std::vector<std::size_t>>({10000, 100000, 1000000}, {10000}))
    register_catch_up<key, storage>("memory", make, 2000, n, {10000, 100});
});

}  // namespace
}  // namespace treecrdt::bench
