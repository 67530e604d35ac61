// SQLite I/O faults (SPEC §8 atomicity, README "storage failure"), with the memory store and with the
// tree in the file's tables (sqlite_store): a scenario of forward appends,
// late ops (caught up by rewind and by restoring delta checkpoint chains), a deferred catch-up, local
// edits, a reopen, checkpoint writes every 4 ops and pruning runs over a test VFS (fault_vfs.hpp)
// that makes one chosen I/O call fail. The scenario's calls are counted in a fault-free run first;
// then it runs once for every call number N:
//   one_shot(N)   the N-th read, write, sync or truncate fails with SQLITE_IOERR_*;
//   disk_full(N)  the N-th write and every later one answer SQLITE_FULL until the test frees space.
// After each fault that surfaces, the call reports a storage_error naming SQLite's code and what
// failed; nothing of the call is in the file (read through another connection) or in the document;
// the same document object then repeats the call successfully. At the end of every run the file
// holds exactly the acknowledged ops, every checkpoint in it is valid, and a reopened document
// exports the fold of the acknowledged ops.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sqlite/acknowledged_ops.hpp"
#include "sqlite/fault_vfs.hpp"
#include "sqlite/scratch_dir.hpp"
#include "sqlite/sqlite_document_support.hpp"
#include "sqlite/sqlite_test_support.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/storage/sqlite.hpp"
#include "treecrdt/store/sqlite_store.hpp"

using namespace treecrdt;
using treecrdt_test::acknowledged_ops;
using treecrdt_test::fault_vfs;
using treecrdt_test::scratch_dir;

namespace {

using K = default_op_key;
using op_t = op<K>;
using sqlite_document = document<K, sqlite_storage<K>, memory_store<K>, every_n_ops, exponential_retention>;
// The tree in the file's tables: faults also land on its rows, journal chunks and metadata.
using table_document = document<K, sqlite_storage<K>, sqlite_store<K>, every_n_ops, exponential_retention>;

const bytes local_replica("\x01", 1);

/// The scenario's remote input: batches of a seeded history, mostly in order with some late ops,
/// and a few early ops held back until the end (very late: beyond the rewind journal).
struct scenario_input {
  std::vector<std::vector<op_t>> batches;
  std::vector<op_t> very_late;
};

scenario_input make_input() {
  auto history = treecrdt_test::seeded_history<K>(41, 90, 3, 12);
  scenario_input in;
  std::vector<op_t> rest;
  for (std::size_t i = 0; i < history.size(); ++i) (i % 23 == 7 ? in.very_late : rest).push_back(history[i]);
  in.batches = treecrdt_test::seeded_batches(rest, 42, 6, 4);
  return in;
}

/// Totals over every run of one plan.
struct fault_totals {
  std::uint64_t runs = 0;
  std::uint64_t injected = 0;                    // calls answered with an injected error
  std::uint64_t surfaced = 0;                    // document calls that threw because of one
  std::uint64_t during_open = 0;                 // of those, opening the document (constructor)
  std::uint64_t absorbed = 0;                    // runs whose injected faults never reached a document call
  std::uint64_t stale_reads = 0;                 // failures after which reads threw until the next call
  std::map<std::string, std::uint64_t> by_call;  // fault kind of the surfaced fault -> count
  std::set<std::string> codes;                   // storage_error codes seen
  std::set<std::string> operations;              // "what failed" parts of their messages
};

/// The part of an sqlite_error message that names the failed operation ("append: inserting an op"),
/// with the file name left out: "sqlite error [CODE]: <operation>: <SQLite's message>".
std::string operation_of(const storage_error& e, const std::string& path) {
  std::string what = e.what();
  if (const auto at = what.find(path); at != std::string::npos) what.replace(at, path.size(), "<file>");
  const auto start = what.find("]: ");
  const auto from = start == std::string::npos ? 0 : start + 3;
  const auto end = what.rfind(": ");
  return end == std::string::npos || end < from ? std::string() : what.substr(from, end - from);
}

/// What the scenario exercised, summed over the document objects of a run (from their stats()).
struct coverage {
  std::uint64_t rewinds = 0, checkpoint_restores = 0, links_restored_max = 0, checkpoints_written = 0,
                delta_checkpoints_written = 0, checkpoints_invalidated = 0, checkpoints_pruned = 0, late_ops = 0;
  // After every call: the chain length of its catch-up, if it restored one.
  void note(const materialization_stats<K>& s) {
    links_restored_max = std::max(links_restored_max, s.checkpoint_links_restored_last_catch_up);
  }
  // When a document object is done with.
  void add(const materialization_stats<K>& s) {
    rewinds += s.rewinds;
    checkpoint_restores += s.checkpoint_restores;
    checkpoints_written += s.checkpoints_written;
    delta_checkpoints_written += s.delta_checkpoints_written;
    checkpoints_invalidated += s.checkpoints_invalidated;
    checkpoints_pruned += s.checkpoints_pruned;
    late_ops += s.late_ops;
  }
};

/// One run of the scenario over `path` through the fault VFS, with `fault_vfs::get()` already armed.
template <class Doc>
class scenario_run {
 public:
  scenario_run(const std::string& path, const scenario_input& input, fault_totals& totals)
      : path_(path), input_(input), totals_(totals) {}

  void run() {
    open();
    const std::size_t reopen_at = input_.batches.size() * 2 / 3;
    for (std::size_t i = 0; i < input_.batches.size(); ++i) {
      // Alternate the catch-up path: restoring delta checkpoint chains, and the planner's choice (rewind).
      doc_->force_catch_up_path(i % 2 == 0 ? catch_up_path::checkpoint : catch_up_path::none);
      const auto& batch = input_.batches[i];
      if (i % 6 == 5) {
        step("apply deferred", [&] {
          doc_->apply(batch, defer_catch_up);
          return batch;
        });
        step("catch_up", [&] {
          doc_->catch_up();
          return std::vector<op_t>{};
        });
      } else {
        step("apply", [&] {
          doc_->apply(batch);
          return batch;
        });
      }
      if (i % 3 == 1) local_edit(i);
      if (i == reopen_at) open();
    }
    doc_->force_catch_up_path(catch_up_path::checkpoint);
    step("apply very late", [&] {
      doc_->apply(input_.very_late);
      return input_.very_late;
    });
    local_edit(input_.batches.size());
    covered_.add(doc_->stats());
    doc_.reset();  // closing checkpoints the WAL into the file: faults may land there too
  }

  [[nodiscard]] const coverage& covered() const noexcept { return covered_; }

  /// After the run: the file holds exactly the acknowledged ops, its checkpoints are valid, and a
  /// reopened document (default VFS) exports their fold.
  void verify_file() const {
    fault_vfs::get().disarm();
    Doc reopened(sqlite_storage<K>::open(path_), local_replica, every_n_ops{4}, exponential_retention{1, 4});
    const auto log = treecrdt_test::log_of(reopened.storage());
    const auto check = acked_.check(log);
    INFO(check.describe());
    REQUIRE(check.exact());
    REQUIRE(check.unacknowledged == 0);
    std::vector<K> keys;
    for (const auto& o : log) keys.push_back(o.key);
    for (const auto& cp : reopened.storage().list_checkpoints())
      REQUIRE(cp.seq == static_cast<std::uint64_t>(std::upper_bound(keys.begin(), keys.end(), cp.key) - keys.begin()));
    REQUIRE(reopened.head().seq == log.size());
    REQUIRE(reopened.export_canonical() == acked_.fold());
  }

  [[nodiscard]] std::size_t acknowledged() const noexcept { return acked_.size(); }

 private:
  void open() {
    if (doc_) covered_.add(doc_->stats());
    doc_.reset();
    for (int attempt = 0;; ++attempt) {
      REQUIRE(attempt < 2);
      try {
        doc_.emplace(sqlite_storage<K>::open(fault_vfs::uri(path_), sqlite_options{.uri = true}), local_replica,
                     every_n_ops{4}, exponential_retention{1, 4},
                     // No delta budget floor and a ratio of 1: this small tree's chains are rebased
                     // often, so the scenario also prunes (late ops invalidate most links; with the
                     // 1 MiB default floor it would never rebase).
                     catch_up_options{.journal_ops = 12, .rebase_ratio = 1, .min_delta_budget = 0});
        return;
      } catch (const storage_error& e) {
        ++totals_.during_open;
        surfaced(e, "open");
      }
    }
  }

  void local_edit(std::size_t i) {
    // Targets come from the tree as it is, which is the same in every run up to the fault.
    const auto rows = read_tree().nodes;
    std::vector<node_id> live;
    for (const auto& r : rows)
      if (r.parent && !r.tombstoned) live.push_back(r.node);
    const auto pick = [&](std::size_t salt) { return live.empty() ? root_node : live[(i * 7 + salt) % live.size()]; };
    switch (i % 4) {
      case 0:
        step("insert", [&] { return std::vector{doc_->insert(pick(1), position::first(), bytes("new"))}; });
        break;
      case 1:
        step("set_payload", [&] { return std::vector{doc_->set_payload(pick(2), bytes("p" + std::to_string(i)))}; });
        break;
      case 2: step("move", [&] { return std::vector{doc_->move(pick(3), pick(5), position::last())}; }); break;
      default:
        if (!live.empty()) step("remove", [&] { return std::vector{doc_->remove(pick(4))}; });
    }
  }

  /// Runs one document call. When it fails: the failure must be an injected one, reported as a
  /// storage_error, with nothing of the call visible; then the same object repeats it successfully.
  void step(const char* what, const std::function<std::vector<op_t>()>& call) {
    INFO("step " << what << " after " << acked_.size() << " acknowledged ops");
    const auto export_before = read_tree();
    const std::uint64_t fired_before = fault_vfs::get().fired();
    try {
      acked_.add_all(call());
      covered_.note(doc_->stats());
      return;
    } catch (const storage_error& e) {
      REQUIRE(fault_vfs::get().fired() > fired_before);
      surfaced(e, what);
    }
    check_nothing_visible(export_before);
    acked_.add_all(call());  // the fault is gone (one_shot fired, disk_full disarmed): must succeed
    if (!doc_->is_stale()) REQUIRE(doc_->export_canonical() == acked_.fold());
  }

  // A table store reads the file to answer: a read may meet the injected fault too. It must say
  // so as a storage_error and change nothing; read again, it answers.
  canonical_export read_tree() {
    const std::uint64_t fired_before = fault_vfs::get().fired();
    try {
      return doc_->export_canonical();
    } catch (const storage_error& e) {
      REQUIRE(PersistentStore<typename Doc::store_type>);  // the memory store reads no file
      REQUIRE(fault_vfs::get().fired() > fired_before);
      surfaced(e, "read");
    }
    return doc_->export_canonical();
  }

  void surfaced(const storage_error& e, const char* what) {
    INFO("step " << what << ": " << e.what());
    ++totals_.surfaced;
    ++totals_.by_call[fault_vfs::call_names[static_cast<std::size_t>(fault_vfs::get().last_fired())]];
    totals_.codes.insert(e.code());
    totals_.operations.insert(operation_of(e, fault_vfs::uri(path_)));
    REQUIRE(e.backend() == "sqlite");
    REQUIRE((e.code() == "SQLITE_IOERR" || e.code() == "SQLITE_FULL"));
    REQUIRE_FALSE(e.retryable());
    REQUIRE(std::string(e.what()).find(e.code() == "SQLITE_FULL" ? "full" : "I/O error") != std::string::npos);
    REQUIRE(!operation_of(e, fault_vfs::uri(path_)).empty());
    fault_vfs::get().disarm();  // space is freed: later calls may write again
  }

  // Nothing of the failed call is stored (another connection reads the file) or applied: the tree
  // is either as before the call or rebuilt from the log (a deferred catch-up is then done too).
  void check_nothing_visible(const canonical_export& before) {
    {
      auto other = sqlite_storage<K>::open(path_);
      const auto log = treecrdt_test::log_of(other);
      const auto check = acked_.check(log);
      INFO(check.describe());
      REQUIRE(check.exact());
      REQUIRE(check.unacknowledged == 0);
      REQUIRE(other.op_count() == log.size());
    }
    std::optional<canonical_export> now;
    try {
      now = doc_->export_canonical();
    } catch (const treecrdt::storage_error&) {
      throw;
    } catch (const treecrdt::error& e) {
      // The rebuild after the failure could not write either (the disk was still full): reads say
      // so until the next call rebuilds the tree.
      INFO(e.what());
      REQUIRE(std::string(e.what()).find("could not be rebuilt") != std::string::npos);
      ++totals_.stale_reads;
    }
    if (now) REQUIRE(*now == (doc_->is_stale() ? before : acked_.fold()));
  }

  std::string path_;
  const scenario_input& input_;
  fault_totals& totals_;
  std::optional<Doc> doc_;
  acknowledged_ops<K> acked_;
  coverage covered_;
};

/// Runs the scenario once per call number 1..calls with `plan`; returns the totals.
template <class Doc>
fault_totals run_every_fault(const scenario_input& input, fault_vfs::plan plan, std::uint64_t calls) {
  fault_totals totals;
  auto& vfs = fault_vfs::get();
  for (std::uint64_t n = 1; n <= calls; ++n) {
    CAPTURE(n);
    const scratch_dir dir;
    const auto path = dir.file("faults.db");
    vfs.reset();
    vfs.arm(plan, n);
    const std::uint64_t surfaced_before = totals.surfaced;
    scenario_run<Doc> run(path, input, totals);
    run.run();
    REQUIRE(vfs.fired() >= 1);  // the run is the fault-free one up to call n, so call n happens
    totals.injected += vfs.fired();
    if (totals.surfaced == surfaced_before) ++totals.absorbed;
    run.verify_file();
    ++totals.runs;
  }
  return totals;
}

void report(const char* plan, std::uint64_t calls, const fault_totals& t, double seconds) {
  std::cout << "sqlite I/O faults, " << plan << ": " << calls << " fault points, " << t.runs << " scenarios survived, "
            << t.injected << " faults injected, " << t.surfaced << " surfaced as storage errors (" << t.during_open
            << " while opening), " << t.absorbed << " runs absorbed them with every call succeeding, " << t.stale_reads
            << " left reads refusing until the next call; by call:";
  for (const auto& [call, n] : t.by_call) std::cout << ' ' << call << '=' << n;
  std::cout << "; codes:";
  for (const auto& c : t.codes) std::cout << ' ' << c;
  std::cout << "; " << seconds << " s\nfailed operations:";
  for (const auto& o : t.operations) std::cout << " [" << o << ']';
  std::cout << '\n';
}

/// The fault-free run: checks the scenario itself and counts its calls (all kinds, and writes).
struct call_counts {
  std::uint64_t calls = 0;
  std::uint64_t writes = 0;
};

template <class Doc>
call_counts count_calls(const scenario_input& input) {
  auto& vfs = fault_vfs::get();
  const scratch_dir dir;
  vfs.reset();
  fault_totals totals;
  scenario_run<Doc> clean(dir.file("clean.db"), input, totals);
  clean.run();
  clean.verify_file();
  const call_counts counts{vfs.total(), vfs.count(fault_vfs::call::write)};
  INFO("fault-free run: " << counts.calls << " calls, " << counts.writes << " writes");
  REQUIRE(totals.surfaced == 0);
  REQUIRE(clean.acknowledged() > 80);
  REQUIRE(vfs.count(fault_vfs::call::sync) > 0);
  REQUIRE(vfs.count(fault_vfs::call::truncate) > 0);
  // The scenario takes every path the faults are meant to hit.
  const coverage& c = clean.covered();
  CHECK(c.late_ops > 0);
  CHECK(c.rewinds > 0);
  if constexpr (!PersistentStore<typename Doc::store_type>) {  // a table store keeps no checkpoints
    CHECK(c.checkpoint_restores > 0);
    CHECK(c.links_restored_max > 1);  // a delta chain, not only full checkpoints
    CHECK(c.delta_checkpoints_written > 0);
    CHECK(c.checkpoints_invalidated > 0);
    CHECK(c.checkpoints_pruned > 0);
  }
  std::cout << "sqlite I/O faults: the scenario acknowledges " << clean.acknowledged() << " ops with " << counts.calls
            << " I/O calls (" << vfs.count(fault_vfs::call::read) << " reads, " << counts.writes << " writes, "
            << vfs.count(fault_vfs::call::sync) << " syncs, " << vfs.count(fault_vfs::call::truncate) << " truncates); "
            << c.late_ops << " late ops, " << c.rewinds << " rewinds, " << c.checkpoint_restores
            << " checkpoint restores (chains up to " << c.links_restored_max << " links), " << c.checkpoints_written
            << " checkpoints written (" << c.delta_checkpoints_written << " deltas), " << c.checkpoints_invalidated
            << " invalidated, " << c.checkpoints_pruned << " pruned\n";
  return counts;
}

/// Syncs only count (see fault_vfs.hpp) while a test case runs.
struct no_real_syncs {
  no_real_syncs() { fault_vfs::get().set_real_syncs(false); }
  ~no_real_syncs() {
    fault_vfs::get().reset();
    fault_vfs::get().set_real_syncs(true);
  }
  no_real_syncs(const no_real_syncs&) = delete;
  no_real_syncs& operator=(const no_real_syncs&) = delete;
};

}  // namespace

TEMPLATE_TEST_CASE("sqlite I/O faults: every read, write, sync and truncate of the scenario fails once in turn",
                   "[sqlite][faults][io]", sqlite_document, table_document) {
  const no_real_syncs fast;
  const scenario_input input = make_input();
  const call_counts counts = count_calls<TestType>(input);
  const auto t0 = std::chrono::steady_clock::now();
  const fault_totals t = run_every_fault<TestType>(input, fault_vfs::plan::one_shot, counts.calls);
  report("one failing call", counts.calls, t,
         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  CHECK(t.runs == counts.calls);
  CHECK(t.injected == counts.calls);
  CHECK(t.surfaced > counts.calls / 2);
}

TEMPLATE_TEST_CASE("sqlite I/O faults: the disk fills up at every write of the scenario in turn",
                   "[sqlite][faults][io]", sqlite_document, table_document) {
  const no_real_syncs fast;
  const scenario_input input = make_input();
  const call_counts counts = count_calls<TestType>(input);
  const auto t0 = std::chrono::steady_clock::now();
  const fault_totals t = run_every_fault<TestType>(input, fault_vfs::plan::disk_full, counts.writes);
  report("disk full from one write on", counts.writes, t,
         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  CHECK(t.runs == counts.writes);
  CHECK(t.surfaced > counts.writes / 2);
}

// Regression test of a document bug the disk-full runs above found: when an append failed and the
// rebuild after it failed too, reload() had already cleared the frontier, so a later catch_up()
// returned without rebuilding and the tree stayed unreadable. document::catch_up() now calls
// ensure_usable() first.
TEST_CASE("sqlite I/O faults: catch_up() after a failed rebuild rebuilds the tree", "[sqlite][faults]") {
  const scratch_dir dir;
  const auto path = dir.file("catch-up.db");
  auto& vfs = fault_vfs::get();
  vfs.reset();
  sqlite_document doc(sqlite_storage<K>::open(fault_vfs::uri(path), sqlite_options{.uri = true}), local_replica,
                      every_n_ops{4}, exponential_retention{1, 4});
  const auto n = [](std::uint64_t lamport, char replica) {
    return make_insert(K{lamport, bytes(1, replica), lamport}, root_node, node_id{0, lamport}, bytes("80"));
  };
  doc.apply(std::vector{n(2, 'a'), n(3, 'a'), n(4, 'a')});
  doc.apply(std::vector{n(1, 'b')}, defer_catch_up);  // late: the document is stale until catch_up()
  REQUIRE(doc.is_stale());
  vfs.arm(fault_vfs::plan::disk_full, 1);  // every write fails: catch_up() and the rebuild after it
  CHECK_THROWS_AS(doc.catch_up(), storage_error);
  vfs.disarm();
  doc.catch_up();  // the disk has room again
  CHECK_NOTHROW(doc.export_canonical());
  vfs.reset();
}
