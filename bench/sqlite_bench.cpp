// Workloads 3 (over SQLite), 5 and 6: the SQLite storage policy, files in a temporary directory.
//
//   catch_up/sqlite/tree:T/log:N/k:K   workload 3's body (support/catch_up_body.hpp) over
//                                 sqlite_storage: a 300k-op log over a 30k-node tree.
//   restart/sqlite/log:N          open an existing document file of N ops (workload 3's log over a
//                                 tree of min(10,000, N/4) nodes) and construct a `document<>` (restore
//                                 the newest checkpoint chain, replay the rest), paired
//                                 with opening a file holding the same log without checkpoints (the
//                                 same constructor then replays all N ops). Files are written once per
//                                 N, untimed; they are then in the page cache (a warm restart).
//   append/sqlite/batch:B         the body of support/append_body.hpp over three files: document::apply,
//                                 append() alone, and as the raw baseline one prepared plain INSERT
//                                 per row into a table of the same shape as treecrdt_ops (same
//                                 columns and types, same primary key and unique index), rows encoded
//                                 beforehand, all in one transaction.
// Every file: WAL mode, PRAGMA synchronous = FULL (the policy's default), so each commit syncs.
#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/append_body.hpp"
#include "support/bench_support.hpp"
#include "support/catch_up_body.hpp"
#include "support/targets.hpp"
#include "support/workload.hpp"
#include "treecrdt/op_codec.hpp"
#include "treecrdt/storage/sqlite.hpp"

namespace treecrdt::bench {
namespace {

using key = default_op_key;
using storage = sqlite_storage<key>;

storage open_temp(const std::string& stem) { return storage::open(temp_db_path(stem)); }

// ---- appends: the SQLite backend of support/append_body.hpp ------------------------------------

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string("raw SQLite baseline: ") + what + ": " + sqlite3_errmsg(db));
}

/// A table shaped like treecrdt_ops (same columns and types, primary key and unique index; see
/// storage/sqlite/schema.hpp) in its own file, written with one prepared plain INSERT per row.
class raw_sqlite_table {
 public:
  /// The rows of treecrdt_ops for a batch, encoded as the policy encodes them.
  struct row {
    std::int64_t lamport;
    std::string replica;
    std::int64_t counter;
    std::string body;
  };
  using rows = std::vector<row>;

  explicit raw_sqlite_table(const std::string& path) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    db_.reset(db);  // owned even when opening failed: SQLite may hand back a handle with the message
    check(db_.get(), rc, "open");
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = FULL");
    exec(
        "CREATE TABLE raw_ops (lamport INTEGER NOT NULL, replica BLOB NOT NULL, counter INTEGER NOT NULL, "
        "body BLOB NOT NULL, PRIMARY KEY (lamport, replica, counter)) WITHOUT ROWID");
    exec("CREATE UNIQUE INDEX raw_ops_by_id ON raw_ops (replica, counter)");
    sqlite3_stmt* stmt = nullptr;
    const int prc =
        sqlite3_prepare_v3(db_.get(), "INSERT INTO raw_ops (lamport, replica, counter, body) VALUES (?1, ?2, ?3, ?4)",
                           -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    insert_.reset(stmt);
    check(db_.get(), prc, "prepare");
  }

  [[nodiscard]] rows prepare(std::span<const op<key>> ops) const {
    rows out;
    out.reserve(ops.size());
    for (const auto& o : ops)
      out.push_back({sqlite::to_ordered_int64(o.key.lamport), replica_codec<bytes>::to_bytes(o.key.replica),
                     sqlite::to_ordered_int64(o.key.counter), encode_op_body(o)});
    return out;
  }

  /// One transaction: BEGIN IMMEDIATE, an INSERT per row, COMMIT.
  void write(const rows& batch) {
    sqlite3* db = db_.get();
    sqlite3_stmt* st = insert_.get();
    exec("BEGIN IMMEDIATE");
    for (const row& r : batch) {
      sqlite3_bind_int64(st, 1, r.lamport);
      sqlite3_bind_blob(st, 2, r.replica.data(), static_cast<int>(r.replica.size()), SQLITE_STATIC);
      sqlite3_bind_int64(st, 3, r.counter);
      sqlite3_bind_blob(st, 4, r.body.data(), static_cast<int>(r.body.size()), SQLITE_STATIC);
      check(db, sqlite3_step(st), "insert");
      sqlite3_reset(st);
    }
    exec("COMMIT");
  }

 private:
  struct close_db {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
  };
  struct finalize_stmt {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
  };
  void exec(const char* sql) { check(db_.get(), sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr), sql); }
  // Declared in this order so the statement is finalized before the connection closes.
  std::unique_ptr<sqlite3, close_db> db_;
  std::unique_ptr<sqlite3_stmt, finalize_stmt> insert_;
};

struct sqlite_backend {
  using storage = treecrdt::bench::storage;
  using raw_table = raw_sqlite_table;
  [[nodiscard]] storage open(const std::string& role) const { return open_temp("append-" + role); }
  [[nodiscard]] std::unique_ptr<raw_table> make_raw() const {
    return std::make_unique<raw_table>(temp_db_path("append-raw"));
  }
};

// ---- restart -----------------------------------------------------------------------------------

struct restart_fixture {
  explicit restart_fixture(std::size_t n)
      : checkpointed(temp_db_path("restart-checkpointed")), plain(temp_db_path("restart-plain")) {
    const std::vector<op<key>> log = catch_up_log<key>(std::min<std::size_t>(10000, n / 4), n);
    {
      default_document_target<key, storage> a(storage::open(checkpointed));
      a.apply(std::span<const op<key>>(log));
    }
    {
      never_checkpoint_target<key, storage> b(storage::open(plain));
      b.apply(std::span<const op<key>>(log));
    }
  }
  std::string checkpointed;
  std::string plain;
};

void sqlite_restart(benchmark::State& state, std::size_t n) {
  auto& fx = cached_fixture<restart_fixture>("restart/sqlite/" + std::to_string(n),
                                             [n] { return std::make_shared<restart_fixture>(n); });
  using with_checkpoints = document<key, storage>;
  using from_start = document<key, storage, memory_store<key>, never_checkpoint>;
  double cp_s = 0;
  double full_s = 0;
  std::uint64_t cp_replayed = 0;
  std::uint64_t full_replayed = 0;
  for (auto _ : state) {
    std::optional<with_checkpoints> a;
    std::optional<from_start> b;
    const stopwatch ca;
    a.emplace(storage::open(fx.checkpointed), observer_replica<key>());
    const double ta = ca.seconds();
    const stopwatch cb;
    b.emplace(storage::open(fx.plain), observer_replica<key>());
    const double tb = cb.seconds();
    if (a->head() != b->head()) throw std::logic_error("the two files reopened at different heads");
    state.SetIterationTime(ta);
    cp_s += ta;
    full_s += tb;
    cp_replayed += a->stats().ops_replayed_last_catch_up;
    full_replayed += b->stats().ops_replayed_last_catch_up;
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["restart_ms"] = figure(cp_s * 1e3 / iters);
  state.counters["replay_from_start_ms"] = figure(full_s * 1e3 / iters);
  state.counters["speedup"] = figure(full_s / cp_s);
  state.counters["replayed_restart"] = figure(static_cast<double>(cp_replayed) / iters);
  state.counters["replayed_from_start"] = figure(static_cast<double>(full_replayed) / iters);
}

const registrar sqlite_benchmarks([] {
  register_catch_up<key, storage>("sqlite", [](const std::string& name) { return open_temp("catch-up-" + name); },
                                  pick<std::size_t>(30000, 2000), pick<std::size_t>(300000, 10000), {10000, 100});

  for (const std::size_t n : pick<std::vector<std::size_t>>({10000, 100000, 1000000}, {10000, 20000}))
    add(
        "restart/sqlite/log:" + size_name(n), [n](benchmark::State& s) { sqlite_restart(s, n); },
        benchmark::kMillisecond)
        ->Iterations(static_cast<std::int64_t>(std::clamp<std::size_t>(300000 / n, 1, 10)));

  register_appends("sqlite", sqlite_backend{}, {1, 100, 10000}, [](std::size_t b) -> std::int64_t {
    return b == 1 ? pick(200, 20) : b == 100 ? pick(50, 5) : pick(5, 1);
  });
});

}  // namespace
}  // namespace treecrdt::bench
