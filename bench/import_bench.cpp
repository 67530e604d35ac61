// Workload 9: `treecrdt import` (the command-line tool, examples/treecrdt_cli.cpp), run as a user
// would run it: a subprocess importing a JSON Lines op log into a new SQLite database.
//
//   import/cli/log:N   the log: T = N/10 inserts, then steady-mix edits (workload.hpp), four
//                      replicas interleaving, written once per process as JSON Lines
//                      (treecrdt::json::encode_op) into the temporary directory, untimed. Each
//                      iteration runs, in rotating order, `treecrdt import DB LOG` (every default:
//                      the library's default cadence and retention, batches of 1,000) and
//                      `treecrdt import DB LOG --cadence 0` (no checkpoints) into fresh database
//                      files. Timed: from spawning the process to reaping it (reading and checking
//                      the input, the import, the final catch-up, closing the database); the
//                      child's CPU time comes from wait4. Afterwards the database's size on disk
//                      (the file plus any -wal/-shm left) is read for each.
// The tool's path is compiled in (TREECRDT_BENCH_CLI, set by bench/CMakeLists.txt when the
// treecrdt_cli target exists); without it these benchmarks are not registered.
#ifdef TREECRDT_BENCH_CLI

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/bench_support.hpp"
#include "support/workload.hpp"
#include "treecrdt/json.hpp"

extern char** environ;

namespace treecrdt::bench {
namespace {

using key = default_op_key;

/// The JSON Lines file of an N-op log, written once.
struct import_input {
  explicit import_input(std::size_t n) : path(temp_db_path("import-log") + ".jsonl"), ops(n) {
    const std::size_t tree = n / 10;
    op_stream<key> gen(23, shallow_depth_limit(tree));
    std::ofstream out(path, std::ios::binary);
    const auto write = [&](const std::vector<op<key>>& batch) {
      for (const auto& o : batch) out << json::encode_op(o) << '\n';
    };
    write(gen.grow(tree));
    constexpr std::size_t slice = 10000;
    for (std::size_t done = tree; done < n; done += slice) write(gen.take(std::min(slice, n - done), steady_mix));
    out.close();
    if (!out) throw std::runtime_error("cannot write " + path);
    bytes = std::filesystem::file_size(path);
  }
  import_input(const import_input&) = delete;
  import_input& operator=(const import_input&) = delete;
  ~import_input() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
  std::string path;
  std::size_t ops;
  std::uintmax_t bytes = 0;
};

struct run_result {
  double seconds = 0;
  double cpu_seconds = 0;
};

/// Runs `args` (args[0] is the program) with stdout and stderr into `log_path`; throws with the
/// log's text if it fails.
run_result run_process(const std::vector<std::string>& args, const std::string& log_path) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const stopwatch sw;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(rc));
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0)
    if (errno != EINTR) throw std::runtime_error(std::string("wait4: ") + std::strerror(errno));
  run_result r;
  r.seconds = sw.seconds();
  r.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                  static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream log(log_path);
    std::stringstream text;
    text << log.rdbuf();
    throw std::runtime_error(args[0] + " " + args[1] + " failed (status " + std::to_string(status) +
                             "): " + text.str());
  }
  return r;
}

/// Bytes on disk of a SQLite database: the file and whatever -wal/-shm it left.
std::uintmax_t database_bytes(const std::string& db) {
  std::uintmax_t total = 0;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(db + suffix, ec);
    if (!ec) total += n;
  }
  return total;
}

void remove_database(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm", ".log"}) {
    std::error_code ignored;
    std::filesystem::remove(db + suffix, ignored);
  }
}

void cli_import(benchmark::State& state, std::size_t n) {
  auto& in =
      cached_fixture<import_input>("import/" + std::to_string(n), [n] { return std::make_shared<import_input>(n); });
  const std::string cli = TREECRDT_BENCH_CLI;
  double def_s = 0, plain_s = 0, def_cpu = 0, plain_cpu = 0;
  std::uintmax_t def_bytes = 0, plain_bytes = 0;
  std::uint64_t round = 0;
  for (auto _ : state) {
    const std::string def_db = temp_db_path("import-default");
    const std::string plain_db = temp_db_path("import-cadence0");
    double t_def = 0;
    const std::function<void()> paths[] = {
        [&] {
          const run_result r = run_process({cli, "import", def_db, in.path}, def_db + ".log");
          t_def = r.seconds;
          def_s += r.seconds;
          def_cpu += r.cpu_seconds;
          def_bytes = database_bytes(def_db);
        },
        [&] {
          const run_result r = run_process({cli, "import", plain_db, in.path, "--cadence", "0"}, plain_db + ".log");
          plain_s += r.seconds;
          plain_cpu += r.cpu_seconds;
          plain_bytes = database_bytes(plain_db);
        },
    };
    for (std::size_t i = 0; i < std::size(paths); ++i) paths[(round + i) % std::size(paths)]();
    ++round;
    remove_database(def_db);
    remove_database(plain_db);
    state.SetIterationTime(t_def);
  }
  const double iters = static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(in.ops * state.iterations()));
  state.counters["default_s"] = figure(def_s / iters);
  state.counters["cadence0_s"] = figure(plain_s / iters);
  state.counters["default_s_cpu"] = figure(def_cpu / iters);
  state.counters["cadence0_s_cpu"] = figure(plain_cpu / iters);
  state.counters["time_ratio"] = figure(def_s / plain_s);
  state.counters["time_ratio_cpu"] = figure(def_cpu / plain_cpu);
  state.counters["default_ops_per_s"] = figure(static_cast<double>(in.ops) * iters / def_s);
  state.counters["default_db_bytes"] = figure(static_cast<double>(def_bytes));
  state.counters["cadence0_db_bytes"] = figure(static_cast<double>(plain_bytes));
  state.counters["size_ratio"] = figure(static_cast<double>(def_bytes) / static_cast<double>(plain_bytes));
  state.counters["log_bytes"] = figure(static_cast<double>(in.bytes));
  state.counters["ops"] = figure(static_cast<double>(in.ops));
}

const registrar import_benchmarks([] {
  const std::size_t n = pick<std::size_t>(200000, 10000);
  add(
      "import/cli/log:" + size_name(n), [n](benchmark::State& s) { cli_import(s, n); }, benchmark::kMillisecond)
      ->Iterations(1);
});

}  // namespace
}  // namespace treecrdt::bench

#endif  // TREECRDT_BENCH_CLI
