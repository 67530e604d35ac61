// Issue 11, the tree in the database: sqlite_store (the tree in tables of the document's SQLite
// database, table_store.hpp) against the memory store over the same storage, paired in one run.
//
//   tables/open/sqlite/nodes:N    a document of N nodes (F = √N folders under ROOT, N/F − 1 children
//                                 under each, four replicas interleaving, 16-byte payloads) is
//                                 written once per run into two files, with sync off: one by a
//                                 document with sqlite_store, one by `document<K, sqlite_storage<K>>`
//                                 (default cadence and retention: its checkpoints). Each iteration
//                                 opens each file with every option defaulted (synchronous = FULL)
//                                 and lists ROOT's children, in rotating order; timed from
//                                 sqlite_storage::open to the list. The files are in the page cache
//                                 (a warm open), but each open is a new connection with an empty
//                                 SQLite cache. Then, once per repetition, treecrdt_open_probe
//                                 (open_probe.cpp) does the same in a fresh process for each store
//                                 and reports its peak resident set (VmHWM).
//   tables/apply/sqlite/M/batch:B  three documents in three files (synchronous = FULL), all holding
//                                 the same starting tree, each receive the same B fresh ops per
//                                 iteration through document::apply, in rotating order: sqlite_store,
//                                 `document<K, sqlite_storage<K>>` (default cadence: what a user of
//                                 the memory store gets) and the same with never_checkpoint. M is
//                                 `inserts` (new nodes under random existing ones: the tree grows by
//                                 B per iteration, and keeps growing across repetitions) or
//                                 `edit_mix` (workload.hpp's mix, shallow moves).
//   tables/catch_up/sqlite/tree:T/log:N/k:K   workload 3's log (catch_up_body.hpp) in three files:
//                                 sqlite_store with its defaults (a late op this close to the head is
//                                 absorbed by rewinding through the journal persisted in its tables);
//                                 sqlite_store with catch_up_options{.journal_ops = 0, .force =
//                                 full_replay}, which clears the tables and folds the whole log again
//                                 (the baseline, as "replay from start" in issue 10's targets); and
//                                 `document<K, sqlite_storage<K>>` for reference. Each iteration gives
//                                 the three the same fresh late op, as catch_up_body.hpp does (the log
//                                 grows by one op per iteration). The path each took comes from stats().
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/bench_support.hpp"
#include "support/catch_up_body.hpp"
#include "support/targets.hpp"
#include "support/workload.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/storage/sqlite.hpp"
#include "treecrdt/store/sqlite_store.hpp"

extern char** environ;

namespace treecrdt::bench {
namespace {

using key = default_op_key;
using storage = sqlite_storage<key>;
using tables_doc = document<key, storage, sqlite_store<key>>;
using memory_doc = document<key, storage>;
using memory_never_doc = document<key, storage, memory_store<key>, never_checkpoint>;

sqlite_options unsynced() {
  sqlite_options o;
  o.synchronous = sqlite_options::sync_mode::off;
  return o;
}

/// document::apply in slices of 10,000 ops, the way a replica receives batches (and so no
/// transaction is enormous).
template <class Doc>
void apply_in_slices(Doc& doc, std::span<const op<key>> ops) {
  constexpr std::size_t slice = 10000;
  for (std::size_t i = 0; i < ops.size(); i += slice) doc.apply(ops.subspan(i, std::min(slice, ops.size() - i)));
}

// ---- 1. open + list ROOT -------------------------------------------------------------------------

/// √N folders under ROOT, then each folder's children (N nodes in all), from four replicas taking
/// turns; 3-byte order keys and 16-byte payloads as in workload.hpp.
std::vector<op<key>> folder_tree(std::size_t nodes, std::size_t folders) {
  std::mt19937_64 rng(31);
  std::vector<op<key>> out;
  out.reserve(nodes);
  std::uint64_t counters[4] = {0, 0, 0, 0};
  const auto next_key = [&] {
    const std::size_t r = out.size() % 4;
    key k;
    k.lamport = out.size() + 1;
    k.replica = std::string("replica") + static_cast<char>('0' + r);
    k.counter = ++counters[r];
    return k;
  };
  const auto random_bytes = [&](std::size_t n, char base, unsigned span) {
    bytes b(n, '\0');
    for (char& c : b) c = static_cast<char>(base + static_cast<char>(rng() % span));
    return b;
  };
  const auto order_key = [&] {
    const auto v = rng() & 0xffff;
    return bytes{static_cast<char>(0x81), static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
  };
  const auto folder_id = [](std::size_t f) { return node_id{0x0f0f0f0f, f + 1}; };
  for (std::size_t f = 0; f < folders; ++f)
    out.push_back(make_insert(next_key(), root_node, folder_id(f), order_key(), random_bytes(16, 'a', 26)));
  const std::size_t per_folder = nodes / folders - 1;
  for (std::size_t f = 0; f < folders; ++f)
    for (std::size_t c = 0; c < per_folder; ++c)
      out.push_back(make_insert(next_key(), folder_id(f), node_id{0x0f0f0f0f, out.size() + 1}, order_key(),
                                random_bytes(16, 'a', 26)));
  return out;
}

struct open_fixture {
  open_fixture(std::size_t n, std::size_t f)
      : nodes(n), folders(f), tables_file(temp_db_path("open-tables")), memory_file(temp_db_path("open-memory")) {
    const std::vector<op<key>> ops = folder_tree(n, f);
    const std::span<const op<key>> all(ops);
    {
      tables_doc doc(storage::open(tables_file, unsynced()), observer_replica<key>());
      apply_in_slices(doc, all);
    }
    {
      memory_doc doc(storage::open(memory_file, unsynced()), observer_replica<key>());
      apply_in_slices(doc, all);
    }
  }
  std::size_t nodes;
  std::size_t folders;
  std::string tables_file;
  std::string memory_file;
};

/// What treecrdt_open_probe printed: its JSON object, one line.
struct probe_output {
  std::string json;
  [[nodiscard]] double number(const std::string& field) const {
    const std::string tag = "\"" + field + "\": ";
    const auto at = json.find(tag);
    if (at == std::string::npos) throw std::runtime_error("treecrdt_open_probe printed no " + field + ": " + json);
    return std::strtod(json.c_str() + at + tag.size(), nullptr);
  }
};

#ifdef TREECRDT_BENCH_OPEN_PROBE
/// Runs the probe on `file` as `store` (tables or memory) and returns what it printed.
probe_output run_probe(const std::string& file, const std::string& store) {
  const std::string out_path = temp_db_path("probe") + ".json";
  std::vector<std::string> args{TREECRDT_BENCH_OPEN_PROBE, file, store};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error(std::string("cannot start treecrdt_open_probe: ") + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
  std::ifstream in(out_path);
  std::stringstream text;
  text << in.rdbuf();
  in.close();
  std::remove(out_path.c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("treecrdt_open_probe " + file + " " + store + " failed: " + text.str());
  return {text.str()};
}
#endif

/// Opens `file` as a Doc with every option defaulted and lists ROOT; returns the seconds that took
/// and checks what it saw.
template <class Doc>
double open_and_list(const std::string& file, std::size_t folders, std::size_t nodes, double& list_seconds,
                     std::uint64_t& folded) {
  std::optional<Doc> doc;
  const stopwatch sw;
  doc.emplace(storage::open(file), observer_replica<key>());
  const stopwatch list;
  const std::vector<node_id> top = doc->children(root_node);
  const double t = sw.seconds();
  list_seconds += list.seconds();
  if (top.size() != folders || doc->store().node_count() != nodes + 2)  // + ROOT and TRASH
    throw std::logic_error("the reopened document does not hold the tree that was written");
  folded += doc->stats().ops_applied_forward + doc->stats().ops_replayed_last_catch_up;
  return t;  // the document closes here, untimed
}

void open_bench(benchmark::State& state, std::size_t nodes) {
  const std::size_t folders = static_cast<std::size_t>(std::sqrt(static_cast<double>(nodes)));
  auto& fx = cached_fixture<open_fixture>("tables/open/" + std::to_string(nodes),
                                          [&] { return std::make_shared<open_fixture>(nodes, folders); });
  double tables_s = 0;
  double memory_s = 0;
  double tables_list_s = 0;
  double memory_list_s = 0;
  std::uint64_t tables_folded = 0;
  std::uint64_t memory_folded = 0;
  std::uint64_t round = 0;
  const std::size_t expected = fx.nodes;
  for (auto _ : state) {
    double ta = 0;
    const std::function<void()> paths[] = {
        [&] {
          ta = open_and_list<tables_doc>(fx.tables_file, fx.folders, expected, tables_list_s, tables_folded);
          tables_s += ta;
        },
        [&] {
          memory_s += open_and_list<memory_doc>(fx.memory_file, fx.folders, expected, memory_list_s, memory_folded);
        },
    };
    rotated(paths, round++);
    state.SetIterationTime(ta);
  }
  // An open that folded anything is not the O(1) path this benchmark is about.
  if (tables_folded != 0) throw std::logic_error("opening the sqlite_store document folded ops");
  const double n = static_cast<double>(state.iterations());
  state.counters["tables_ms"] = figure(tables_s * 1e3 / n);
  state.counters["tables_list_ms"] = figure(tables_list_s * 1e3 / n);
  state.counters["memory_ms"] = figure(memory_s * 1e3 / n);
  state.counters["memory_list_ms"] = figure(memory_list_s * 1e3 / n);
  state.counters["memory_replayed"] = figure(static_cast<double>(memory_folded) / n);
  state.counters["speedup"] = figure(memory_s / tables_s);
  state.counters["nodes"] = figure(static_cast<double>(fx.nodes));
  state.counters["root_children"] = figure(static_cast<double>(fx.folders));
#ifdef TREECRDT_BENCH_OPEN_PROBE
  // Once per repetition, untimed by the library: a fresh process per store.
  for (const char* store : {"tables", "memory"}) {
    const probe_output p = run_probe(store == std::string("tables") ? fx.tables_file : fx.memory_file, store);
    if (p.number("children") != static_cast<double>(fx.folders) ||
        (store == std::string("tables") && p.number("ops_folded") != 0))
      throw std::logic_error(std::string("treecrdt_open_probe saw the wrong tree or folded ops: ") + p.json);
    const std::string prefix = std::string(store) + "_probe";
    state.counters[prefix + "_ms"] = figure(p.number("total_ms"));
    state.counters[prefix + "_peak_rss_bytes"] = figure(p.number("max_rss_kb") * 1024.0);
    state.counters[prefix + "_start_rss_bytes"] = figure(p.number("start_rss_kb") * 1024.0);
  }
#endif
}

// ---- 2. in-order apply ---------------------------------------------------------------------------

struct apply_fixture {
  explicit apply_fixture(std::size_t base)
      : gen(41, shallow_depth_limit(base)),
        tables(storage::open(temp_db_path("apply-tables")), observer_replica<key>()),
        memory(storage::open(temp_db_path("apply-memory")), observer_replica<key>()),
        never(storage::open(temp_db_path("apply-never")), observer_replica<key>()) {
    const std::vector<op<key>> ops = gen.grow(base);
    const std::span<const op<key>> all(ops);
    apply_in_slices(tables, all);
    apply_in_slices(memory, all);
    apply_in_slices(never, all);
  }
  op_stream<key> gen;
  tables_doc tables;
  memory_doc memory;
  memory_never_doc never;
};

/// Wall and CPU seconds of one path, summed over iterations.
struct timing {
  double wall = 0;
  double cpu = 0;
  template <class F>
  double run(F&& f) {
    const stopwatch sw;
    f();
    const double t = sw.seconds();
    wall += t;
    cpu += sw.cpu_seconds();
    return t;
  }
};

void apply_bench(benchmark::State& state, const std::string& mix_name, std::size_t base, std::size_t batch) {
  auto& fx = cached_fixture<apply_fixture>("tables/apply/" + mix_name + "/" + std::to_string(base),
                                           [&] { return std::make_shared<apply_fixture>(base); });
  timing t_tables, t_memory, t_never;
  std::uint64_t ops = 0;
  std::uint64_t round = 0;
  for (auto _ : state) {
    const std::vector<op<key>> next = mix_name == "inserts" ? fx.gen.grow(batch) : fx.gen.take(batch, edit_mix);
    const std::span<const op<key>> all(next);
    double ta = 0;
    const std::function<void()> paths[] = {
        [&] { ta = t_tables.run([&] { fx.tables.apply(all); }); },
        [&] { t_memory.run([&] { fx.memory.apply(all); }); },
        [&] { t_never.run([&] { fx.never.apply(all); }); },
    };
    rotated(paths, round++);
    state.SetIterationTime(ta);
    ops += next.size();
  }
  if (fx.tables.head() != fx.memory.head() || fx.tables.store().node_count() != fx.memory.store().node_count() ||
      fx.never.store().node_count() != fx.memory.store().node_count())
    throw std::logic_error("the three documents disagree after the same ops");
  const double n_ops = static_cast<double>(ops);
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.counters["tables_ops_per_s"] = figure(n_ops / t_tables.wall);
  state.counters["tables_ops_per_s_cpu"] = figure(n_ops / t_tables.cpu);
  state.counters["memory_ops_per_s"] = figure(n_ops / t_memory.wall);
  state.counters["never_checkpoint_ops_per_s"] = figure(n_ops / t_never.wall);
  state.counters["tables_vs_memory"] = figure(t_tables.wall / t_memory.wall);
  state.counters["tables_vs_memory_cpu"] = figure(t_tables.cpu / t_memory.cpu);
  state.counters["tables_vs_never_checkpoint"] = figure(t_tables.wall / t_never.wall);
  state.counters["tables_vs_never_checkpoint_cpu"] = figure(t_tables.cpu / t_never.cpu);
  state.counters["nodes"] = figure(static_cast<double>(fx.tables.store().node_count()));
}

// ---- 3. late op ----------------------------------------------------------------------------------

struct late_fixture {
  late_fixture(std::size_t tree, std::size_t n) : log_ops(n) {
    const std::vector<op<key>> log = catch_up_log<key>(tree, n);
    tables = std::make_unique<tables_doc>(storage::open(temp_db_path("late-tables")), observer_replica<key>());
    rebuild = std::make_unique<tables_doc>(storage::open(temp_db_path("late-rebuild")), observer_replica<key>(),
                                           default_cadence{}, default_retention{},
                                           options_for(catch_up_mode::replay_from_start));
    memory = std::make_unique<memory_doc>(storage::open(temp_db_path("late-memory")), observer_replica<key>());
    const std::span<const op<key>> all(log);
    apply_in_slices(*tables, all);
    apply_in_slices(*rebuild, all);
    apply_in_slices(*memory, all);
  }
  std::size_t log_ops;
  std::unique_ptr<tables_doc> tables;
  std::unique_ptr<tables_doc> rebuild;
  std::unique_ptr<memory_doc> memory;
  std::uint64_t late_counter = 0;
};

void late_op_bench(benchmark::State& state, std::size_t tree, std::size_t log_ops, std::size_t k) {
  auto& fx = cached_fixture<late_fixture>("tables/catch_up/" + std::to_string(tree) + "/" + std::to_string(log_ops),
                                          [&] { return std::make_shared<late_fixture>(tree, log_ops); });
  const node_id moved{0x0b0b0b0b, 1 + log_ops % tree};
  catch_up_tally t_tables, t_rebuild, t_memory;
  std::uint64_t round = 0;
  for (auto _ : state) {
    ++fx.late_counter;
    const op<key> late[] = {make_move(
        op_stream<key>::late_key(log_ops - k, fx.late_counter), moved, root_node,
        bytes{static_cast<char>(0x81), static_cast<char>(fx.late_counter >> 8), static_cast<char>(fx.late_counter)})};
    double ta = 0;
    const std::function<void()> paths[] = {
        [&] { ta = t_tables.run(*fx.tables, late); },
        [&] { t_rebuild.run(*fx.rebuild, late); },
        [&] { t_memory.run(*fx.memory, late); },
    };
    rotated(paths, round++);
    state.SetIterationTime(ta);
  }
  const auto expected = fx.memory->export_canonical();
  if (fx.tables->export_canonical() != expected || fx.rebuild->export_canonical() != expected)
    throw std::logic_error("the three documents disagree after catch-up");
  if (t_rebuild.full_replays != round) throw std::logic_error("the rebuilding document did not fold the log again");
  const double n = static_cast<double>(state.iterations());
  t_tables.report(state, "tables", n);
  t_rebuild.report(state, "rebuild", n);
  t_memory.report(state, "memory", n);
  state.SetLabel("sqlite_store: " + t_tables.path(round) + "; memory store: " + t_memory.path(round));
  state.counters["speedup"] = figure(t_rebuild.seconds / t_tables.seconds);
  state.counters["speedup_cpu"] = figure(t_rebuild.cpu / t_tables.cpu);
  state.counters["tables_vs_memory"] = figure(t_tables.seconds / t_memory.seconds);
  state.counters["tree_nodes"] = figure(static_cast<double>(fx.tables->store().node_count()));
}

const registrar tables_benchmarks([] {
  const std::size_t nodes = pick<std::size_t>(1000000, 10000);
  add(
      "tables/open/sqlite/nodes:" + size_name(nodes), [nodes](benchmark::State& s) { open_bench(s, nodes); },
      benchmark::kMillisecond)
      ->Iterations(pick(3, 2));

  const std::size_t batch = 10000;
  for (const std::string mix : {"inserts", "edit_mix"}) {
    const std::size_t base = pick<std::size_t>(100000, 2000);
    add(
        "tables/apply/sqlite/" + mix + "/batch:" + size_name(batch),
        [mix, base, batch](benchmark::State& s) { apply_bench(s, mix, base, batch); }, benchmark::kMillisecond)
        ->Iterations(pick(10, 1));
  }

  const std::size_t tree = pick<std::size_t>(30000, 2000);
  const std::size_t log_ops = pick<std::size_t>(300000, 10000);
  const std::size_t k = 100;
  add(
      "tables/catch_up/sqlite/tree:" + size_name(tree) + "/log:" + size_name(log_ops) + "/k:" + size_name(k),
      [=](benchmark::State& s) { late_op_bench(s, tree, log_ops, k); }, benchmark::kMillisecond)
      ->Iterations(catch_up_iterations(log_ops));
});

}  // namespace
}  // namespace treecrdt::bench
