#pragma once
// SQLite storage policy: the op log, the materialization metadata and the checkpoints of one
// document in one SQLite database — a file, ":memory:", or an SQLite URI (sqlite_options::uri).
// Needs the treecrdt::sqlite CMake target (SQLite >= 3.24).
//
// ─── On-disk format, schema version 3 ──────────────────────────────────────────────────────────
// Identification (database header):
//   PRAGMA application_id = 0x54435244 ("TCRD")     marks the file as treecrdt's
//   PRAGMA user_version   = 3                       schema version
// Opening checks both before writing anything. A brand-new or empty database (no tables, both
// values 0) is initialized in one transaction. A treecrdt file of version 1 or 2 is migrated in place,
// in one transaction (see "Versions" below). Anything else that is not a treecrdt file of a version
// this header reads — another program's database, a newer schema, a file that is not SQLite at
// all — fails with schema_error saying what was found, and the file is left untouched.
// A treecrdt file is in WAL mode (set before its tables are created, re-asserted at every writable
// open): readers never block the writer and a commit is one append to the -wal file. Each
// connection sets PRAGMA synchronous from sqlite_options (FULL by default: commits survive power loss).
//
// Encodings:
//   lamport, counter (uint64)  INTEGER holding the value with its top bit flipped (v XOR 2^63), so
//                              that signed SQL order equals unsigned order: 0 → -2^63, 2^64-1 → 2^63-1
//   replica                    BLOB, replica_codec<R>::to_bytes (default key: the replica bytes;
//                              compact key: 8 bytes big-endian). BLOBs compare with memcmp, a proper
//                              prefix first, which is exactly the op key's replica order.
//   body                       BLOB, encode_op_body(op): everything but the key, canonical.
//   seq, op_count, size        plain non-negative INTEGER.
//
// Tables:
//   treecrdt_ops (lamport, replica, counter, body)   WITHOUT ROWID, PRIMARY KEY (lamport, replica, counter)
//       The op log, clustered in op-key order: scan_after is one range read of the primary key,
//       bodies included. UNIQUE INDEX treecrdt_ops_by_id (replica, counter) makes the op id unique;
//       it also serves the duplicate/conflict lookup, max_counter(replica) and scan_unknown_to.
//   treecrdt_meta (id = 1, head_lamport, head_replica, head_counter, head_seq,
//                  frontier_lamport, frontier_replica, frontier_counter, op_count)
//       Exactly one row. A head or frontier key is either all NULL (none) or all set.
//       op_count is kept by append in the same transaction, so op_count() is O(1).
//   treecrdt_checkpoints (id INTEGER PRIMARY KEY AUTOINCREMENT, lamport, replica, counter, seq, size,
//                         base_lamport, base_replica, base_counter, blob)
//       UNIQUE (lamport, replica, counter): one checkpoint per head key; saving again replaces it
//       (base included) under a new id (AUTOINCREMENT never reuses ids, so a stale id cannot name a
//       newer blob). The base key, encoded like the head key, names the checkpoint this one is a
//       delta over; all three NULL (a CHECK enforces all or none) means a full checkpoint. The
//       storage only records the link: the document builds, verifies and prunes chains.
//       `blob` is opaque here (the document checksums it); `size` = its length. blob is the last
//       column so listing checkpoints does not read their overflow pages.
//   treecrdt_version (replica, first, last)          WITHOUT ROWID, PRIMARY KEY (replica, first)
//       The log's version vector: one row per maximal run [first, last] of counters (encoded like
//       treecrdt_ops.counter) that a replica has in the log, so a replica without gaps is one row
//       (first = 1: its contiguous frontier) and each gap adds one. append keeps it exact in the
//       same transaction (one merge per run of new counters in the batch, its neighbours found by
//       primary-key seeks), so log_version() reads O(replicas + gaps) rows, never the log.
//
// Versions (sqlite/schema.hpp):
//   1  the first layout: treecrdt_checkpoints without the base columns.
//   2  base_lamport, base_replica, base_counter added (incremental checkpoints).
//   3  treecrdt_version added (the log's version vector).
// A writable open of an older file migrates it in one transaction, step by step. 1 -> 2: the
// checkpoints table is rebuilt with the base columns before `blob` (ids and the AUTOINCREMENT
// high-water mark kept) and every existing checkpoint becomes a full one. 2 -> 3: treecrdt_version
// is created and filled from the log (one pass over its ids). If any step fails the transaction
// rolls back, the file stays at its version and open() throws sqlite_error naming the step. A
// read-only open of an older file throws schema_error (migration needs write access).
// A future schema version will raise user_version; this header refuses anything above 3.
// ──────────────────────────────────────────────────────────────────────────────────────────────
//
// Semantics are those of the Storage concept (storage_concepts.hpp). Every write must happen inside
// a `transaction` from begin(); a transaction rolls back in its destructor unless committed.
// Every SQLite failure throws sqlite_error (a storage_error: code = SQLite result code name,
// retryable for SQLITE_BUSY / SQLITE_LOCKED). A handle is one connection: use it from one thread at
// a time; several handles (processes) may share a file, SQLite serializes their writers.
#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../detail/counter_runs.hpp"
#include "../detail/hex.hpp"
#include "../errors.hpp"
#include "../op.hpp"
#include "../op_codec.hpp"
#include "../version_vector.hpp"
#include "sqlite/connection.hpp"
#include "sqlite/error.hpp"
#include "sqlite/schema.hpp"
#include "storage_concepts.hpp"

namespace treecrdt {

struct sqlite_options {
  /// How long a call waits for another connection's lock before failing with SQLITE_BUSY.
  std::chrono::milliseconds busy_timeout{5000};
  /// Open without write access: reads work, every write fails with SQLITE_READONLY.
  bool read_only = false;
  /// Read the path as an SQLite URI ("file:doc.db?mode=ro", "file:name?mode=memory&cache=shared")
  /// instead of a plain file name.
  bool uri = false;
  /// PRAGMA synchronous. `full` makes each commit durable across power loss; `normal` (in WAL mode)
  /// survives process crashes but may lose the last commits on power loss, and is faster; `off`
  /// never syncs: an OS crash or power loss may corrupt the file (tests and scratch data only).
  enum class sync_mode { off, normal, full } synchronous = sync_mode::full;
};

template <OpKey Key = default_op_key>
class sqlite_storage {
 public:
  using key_type = Key;
  using op_type = op<Key>;
  using replica_type = replica_of<Key>;
  using checkpoint_type = checkpoint_info<Key>;
  using transaction = sqlite::transaction;

  /// Opens (creating if needed) the database at `path`; ":memory:" gives a private in-memory one,
  /// and with `options.uri` the path is an SQLite URI. Prepares every statement once.
  /// Throws: schema_error for a file that is not a treecrdt database of a supported version (the
  ///   file is not modified); sqlite_error when SQLite cannot open or read it (e.g. SQLITE_CANTOPEN).
  [[nodiscard]] static sqlite_storage open(std::string path, const sqlite_options& options = {}) {
    const int flags = options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    sqlite::connection conn(path, flags | SQLITE_OPEN_NOMUTEX | (options.uri ? SQLITE_OPEN_URI : 0));
    conn.set_busy_timeout(options.busy_timeout);
    sqlite::refuse_non_databases(path, [&] {
      // Durability first, so that initializing a new file already follows the chosen setting.
      conn.exec(options.synchronous == sqlite_options::sync_mode::full     ? "PRAGMA synchronous = FULL"
                : options.synchronous == sqlite_options::sync_mode::normal ? "PRAGMA synchronous = NORMAL"
                                                                           : "PRAGMA synchronous = OFF",
                "setting PRAGMA synchronous");
      sqlite::open_schema(conn, path);
    });
    return sqlite_storage(std::make_unique<state>(std::move(conn), std::move(path)));
  }

  sqlite_storage(sqlite_storage&&) noexcept = default;
  sqlite_storage& operator=(sqlite_storage&&) noexcept = default;
  ~sqlite_storage() = default;

  /// The handle's connection, for components that keep tables of their own in the same database and
  /// write them in the same transactions (sqlite_store.hpp). Stable for the handle's lifetime, moves
  /// included. Do not begin or end transactions on it behind the handle's back.
  [[nodiscard]] sqlite::connection& database() noexcept { return s_->conn; }

  /// Starts a write transaction (BEGIN IMMEDIATE). Throws sqlite_error (SQLITE_BUSY, retryable,
  /// when another connection keeps the write lock longer than the busy timeout).
  [[nodiscard]] transaction begin() { return transaction(s_->tx); }

  /// Effects: stores the ops of `batch` whose (replica, counter) is new, with one reused INSERT
  ///   ... ON CONFLICT DO NOTHING each; returns their batch indices, ascending. A row that already
  ///   exists with an equal key and body is a duplicate and is skipped.
  /// Throws: conflicting_op_error(index, op) when a stored op has the same id but other content;
  ///   sqlite_error. Either way the caller's transaction must be dropped (rolls back everything).
  /// Complexity: O(b log n).
  [[nodiscard]] std::vector<std::size_t> append(std::span<const op_type> batch) {
    require_transaction("append");
    std::vector<std::size_t> fresh;
    std::string& body = s_->body_buffer;  // borrowed by the statement: no copy, no allocation per op
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const op_type& o = batch[i];
      encode_op_body_into(body, o);
      {
        auto u = s_->st.insert_op.use();
        u.bind(1, sqlite::to_ordered_int64(o.key.lamport));
        u.bind_blob_borrowed(2, replica_bytes(o.key.replica, s_->replica_buffer));
        u.bind(3, sqlite::to_ordered_int64(o.key.counter));
        u.bind_blob_borrowed(4, body);
        u.run();
      }
      if (s_->conn.changes() == 1) {
        fresh.push_back(i);
        continue;
      }
      auto u = s_->st.find_op.use();
      u.bind_blob(1, replica_codec<replica_type>::to_bytes(o.key.replica));
      u.bind(2, sqlite::to_ordered_int64(o.key.counter));
      if (!u.step())
        throw storage_error("sqlite", "corrupt_row",
                            "append: " + describe(o) + " was refused as a duplicate but no stored op has its id",
                            false);
      const bool same = u.column_type(0) == SQLITE_INTEGER &&
                        sqlite::from_ordered_int64(u.column_int64(0)) == o.key.lamport && u.column_blob(1) == body;
      if (!same) throw conflicting_op_error(i, describe(o));
    }
    if (!fresh.empty()) {
      auto u = s_->st.add_op_count.use();
      u.bind(1, static_cast<std::int64_t>(fresh.size()));
      u.run();
      record_versions(batch, fresh);
    }
    return fresh;
  }

  /// The dots of every stored op (the optional storage_traits::log_version behind
  /// document::version): read from treecrdt_version, O(replicas + gaps) rows.
  /// Throws: storage_error "corrupt_row" for a row that does not decode; sqlite_error.
  [[nodiscard]] version_vector<replica_type> log_version() {
    version_vector<replica_type> vv;
    auto u = s_->st.version_all.use();
    std::optional<std::pair<bytes, replica_type>> current;  // decode each replica once
    while (u.step()) {
      const std::string_view raw = u.column_blob(0);
      if (!current || current->first != raw) {
        try {
          current.emplace(bytes(raw), replica_codec<replica_type>::from_bytes(raw));
        } catch (const detail::decode_failure& e) {
          throw storage_error("sqlite", "corrupt_row",
                              "treecrdt_version: replica " + detail::to_hex(raw) + " cannot be decoded: " + e.what(),
                              false);
        }
      }
      vv.add_range(current->second, sqlite::from_ordered_int64(u.column_int64(1)),
                   sqlite::from_ordered_int64(u.column_int64(2)));
    }
    return vv;
  }

  /// Effects: calls visit(const op_type&) for each stored op with key > *after (all when nullopt),
  ///   ascending, stepping one row at a time. `visit` may write checkpoints and metadata on this
  ///   handle (other tables than the log); it must not append.
  /// Throws: storage_error "corrupt_row" naming the op id when a stored row does not decode;
  ///   sqlite_error; whatever `visit` throws.
  template <class Visitor>
  void scan_after(const std::optional<Key>& after, Visitor&& visit) {
    sqlite::statement& cached = after ? s_->st.scan_after : s_->st.scan_all;
    if (!cached.in_use()) return run_scan(cached, after, visit);
    // A scan started from inside another scan's visitor gets its own statement.
    sqlite::statement fresh = after ? make_scan_after_statement(s_->conn) : make_scan_all_statement(s_->conn);
    run_scan(fresh, after, visit);
  }

  /// Effects: calls visit(const op_type&) for every stored op whose dot is not in `known`, in
  ///   ascending key order (the optional storage_traits operation behind document::ops_since).
  ///   Walks the distinct replicas with one index seek each and reads only the counter ranges
  ///   `known` lacks for that replica (one index range read per gap of `known`), so a peer that is
  ///   nearly up to date costs O((R + g) log n + k log k) for R replicas, g gaps and k ops sent,
  ///   not a scan of the whole log. The k ops are held in memory to be sorted (the caller collects
  ///   them anyway). An empty `known` streams the log in key order instead.
  /// Throws: storage_error "corrupt_row" for a row that does not decode; sqlite_error.
  template <class Visitor>
  void scan_unknown_to(const version_vector<replica_type>& known, Visitor&& visit) {
    // A peer that has nothing gets the whole log: one streaming read in key order, not a lookup
    // per op through the id index.
    if (known.empty()) return scan_after(std::nullopt, std::forward<Visitor>(visit));
    std::vector<op_type> unknown;
    std::optional<bytes> previous;  // the replica bytes visited last
    for (;;) {
      auto next = previous ? s_->st.next_replica_after.use() : s_->st.first_replica.use();
      if (previous) next.bind_blob(1, *previous);
      if (!next.step() || next.is_null(0)) break;
      previous = bytes(next.column_blob(0));
      replica_type replica{};
      try {
        replica = replica_codec<replica_type>::from_bytes(*previous);
      } catch (const detail::decode_failure& e) {
        throw storage_error("sqlite", "corrupt_row",
                            "stored replica " + detail::to_hex(*previous) + " cannot be decoded: " + e.what(), false);
      }
      // The counter ranges `known` lacks for this replica: between its frontier and its first
      // range, between its ranges, and above its last; one index range read each.
      const auto read_range = [&](std::uint64_t first, std::uint64_t last) {
        auto rows = s_->st.ops_of_replica_between.use();
        rows.bind_blob(1, *previous);
        rows.bind(2, sqlite::to_ordered_int64(first));
        rows.bind(3, sqlite::to_ordered_int64(last));
        while (rows.step()) unknown.push_back(decode_row(rows));
      };
      constexpr std::uint64_t top = ~std::uint64_t{0};
      const auto entry = known.entries().find(replica);
      if (entry == known.entries().end()) {
        read_range(1, top);
        continue;
      }
      if (entry->second.frontier == top) continue;
      std::uint64_t from = entry->second.frontier + 1;
      bool open_end = true;
      for (const counter_range& r : entry->second.ranges) {
        if (r.first > from) read_range(from, r.first - 1);
        if (r.last == top) open_end = false;
        from = r.last + 1;
      }
      if (open_end) read_range(from, top);
    }
    std::sort(unknown.begin(), unknown.end(), [](const op_type& a, const op_type& b) { return a.key < b.key; });
    for (const op_type& o : unknown) visit(o);
  }

  /// Number of distinct stored ops. O(1): read from treecrdt_meta.
  [[nodiscard]] std::uint64_t op_count() {
    auto u = s_->st.op_count.use();
    if (!u.step()) throw missing_meta_row();
    return static_cast<std::uint64_t>(u.column_int64(0));
  }

  /// Largest stored lamport, 0 when the log is empty. O(log n): the end of the primary key.
  [[nodiscard]] std::uint64_t max_lamport() {
    auto u = s_->st.max_lamport.use();
    return u.step() && !u.is_null(0) ? sqlite::from_ordered_int64(u.column_int64(0)) : 0;
  }

  /// Largest stored counter of `replica`, 0 when it has none. O(log n) via treecrdt_ops_by_id.
  [[nodiscard]] std::uint64_t max_counter(const replica_type& replica) {
    auto u = s_->st.max_counter.use();
    u.bind_blob(1, replica_codec<replica_type>::to_bytes(replica));
    return u.step() && !u.is_null(0) ? sqlite::from_ordered_int64(u.column_int64(0)) : 0;
  }

  [[nodiscard]] materialization_meta<Key> load_meta() {
    auto u = s_->st.load_meta.use();
    if (!u.step()) throw missing_meta_row();
    materialization_meta<Key> meta;
    try {
      meta.head.key = read_optional_key(u, 0, "head");
      meta.head.seq = static_cast<std::uint64_t>(u.column_int64(3));
      meta.frontier = read_optional_key(u, 4, "frontier");
    } catch (const detail::decode_failure& e) {
      throw storage_error("sqlite", "corrupt_row", std::string("treecrdt_meta cannot be decoded: ") + e.what(), false);
    }
    return meta;
  }

  void store_meta(const materialization_meta<Key>& meta) {
    require_transaction("store_meta");
    auto u = s_->st.store_meta.use();
    bind_optional_key(u, 1, meta.head.key);
    u.bind(4, to_count(meta.head.seq, "head seq"));
    bind_optional_key(u, 5, meta.frontier);
    u.run();
  }

  /// Stores a checkpoint at head `key`, a delta over the checkpoint at head *base (a full one when
  /// nullopt), replacing one with the same key (its base too); returns its new id.
  std::uint64_t save_checkpoint(const Key& key, std::uint64_t seq, std::string_view blob,
                                const std::optional<Key>& base = std::nullopt) {
    require_transaction("save_checkpoint");
    auto u = s_->st.save_checkpoint.use();
    bind_key(u, 1, key);
    u.bind(4, to_count(seq, "checkpoint seq"));
    u.bind(5, static_cast<std::int64_t>(blob.size()));
    bind_optional_key(u, 6, base);
    u.bind_blob(9, blob);
    u.run();
    return static_cast<std::uint64_t>(s_->conn.last_insert_rowid());
  }

  /// The checkpoint with the greatest key strictly below *bound (the greatest of all when nullopt).
  [[nodiscard]] std::optional<checkpoint_type> latest_checkpoint_before(const std::optional<Key>& bound) {
    auto u = bound ? s_->st.latest_checkpoint_before.use() : s_->st.latest_checkpoint.use();
    if (bound) bind_key(u, 1, *bound);
    if (!u.step()) return std::nullopt;
    return read_checkpoint_info(u);
  }

  /// The blob of checkpoint `id`. Throws storage_error "not_found" for an unknown id.
  [[nodiscard]] bytes load_checkpoint(std::uint64_t id) {
    auto u = s_->st.load_checkpoint.use();
    u.bind(1, checkpoint_rowid(id));
    if (!u.step()) throw checkpoint_not_found(id);
    return bytes(u.column_blob(0));
  }

  /// Drops every checkpoint with key >= `key`; returns how many.
  std::uint64_t drop_checkpoints_from(const Key& key) {
    require_transaction("drop_checkpoints_from");
    auto u = s_->st.drop_checkpoints_from.use();
    bind_key(u, 1, key);
    u.run();
    return static_cast<std::uint64_t>(s_->conn.changes());
  }

  /// Drops checkpoint `id`. Throws storage_error "not_found" for an unknown id.
  void drop_checkpoint(std::uint64_t id) {
    require_transaction("drop_checkpoint");
    auto u = s_->st.drop_checkpoint.use();
    u.bind(1, checkpoint_rowid(id));
    u.run();
    if (s_->conn.changes() == 0) throw checkpoint_not_found(id);
  }

  /// Every checkpoint, ascending by key (blobs are not read).
  [[nodiscard]] std::vector<checkpoint_type> list_checkpoints() {
    std::vector<checkpoint_type> out;
    auto u = s_->st.list_checkpoints.use();
    while (u.step()) out.push_back(read_checkpoint_info(u));
    return out;
  }

  /// Size of the database image in bytes: page_count × page_size, committed pages still in the WAL
  /// included (the -wal file's own size is not added).
  [[nodiscard]] std::uint64_t storage_bytes() {
    auto u = s_->st.storage_bytes.use();
    return u.step() ? static_cast<std::uint64_t>(u.column_int64(0)) : 0;
  }

  /// The path the handle was opened with (":memory:" for an in-memory database).
  [[nodiscard]] const std::string& path() const noexcept { return s_->path; }

  /// Escape hatch: the connection. Do not finalize it, and leave its transaction state alone
  /// while a `transaction` of this handle is alive.
  [[nodiscard]] sqlite3* raw_handle() const noexcept { return s_->conn.get(); }

 private:
  // Merges the newly stored ops' counters into treecrdt_version: per replica, the new counters
  // form runs [a, b] (none of them was stored before, so no stored run overlaps one); each run is
  // joined with the stored run ending at a - 1 and the one starting at b + 1, if any.
  void record_versions(std::span<const op_type> batch, const std::vector<std::size_t>& fresh) {
    detail::for_each_counter_run(batch, std::span<const std::size_t>(fresh),
                                 [&](const replica_type& replica, std::uint64_t first, std::uint64_t last) {
                                   merge_run(replica_codec<replica_type>::to_bytes(replica), first, last);
                                 });
  }

  void merge_run(const bytes& replica, std::uint64_t first, std::uint64_t last) {
    const std::int64_t a = sqlite::to_ordered_int64(first);
    const std::int64_t b = sqlite::to_ordered_int64(last);
    std::optional<std::int64_t> left;  // first of the stored run ending at first - 1
    {
      auto u = s_->st.version_before.use();
      u.bind_blob(1, replica);
      u.bind(2, a);
      if (u.step() && u.column_int64(1) == a - 1) left = u.column_int64(0);
    }
    std::int64_t new_last = b;
    if (last != ~std::uint64_t{0}) {
      bool joined = false;
      {
        auto u = s_->st.version_at.use();  // the stored run starting at last + 1
        u.bind_blob(1, replica);
        u.bind(2, b + 1);
        if (u.step()) {
          new_last = u.column_int64(0);
          joined = true;
        }
      }
      if (joined) {
        auto u = s_->st.version_drop.use();
        u.bind_blob(1, replica);
        u.bind(2, b + 1);
        u.run();
      }
    }
    auto u = left ? s_->st.version_extend.use() : s_->st.version_insert.use();
    u.bind_blob(1, replica);
    u.bind(2, left.value_or(a));
    u.bind(3, new_last);
    u.run();
  }

  static sqlite::statement make_scan_all_statement(const sqlite::connection& c) {
    return {c, "SELECT lamport, replica, counter, body FROM treecrdt_ops ORDER BY lamport, replica, counter",
            "scan_after: reading the op log"};
  }
  static sqlite::statement make_scan_after_statement(const sqlite::connection& c) {
    return {c,
            "SELECT lamport, replica, counter, body FROM treecrdt_ops "
            "WHERE (lamport, replica, counter) > (?1, ?2, ?3) ORDER BY lamport, replica, counter",
            "scan_after: reading the op log"};
  }

  // Every statement of the storage, prepared once at open.
  struct statements {
    explicit statements(const sqlite::connection& c)
        : insert_op(c,
                    "INSERT INTO treecrdt_ops (lamport, replica, counter, body) VALUES (?1, ?2, ?3, ?4) "
                    "ON CONFLICT DO NOTHING",
                    "append: inserting an op"),
          find_op(c, "SELECT lamport, body FROM treecrdt_ops WHERE replica = ?1 AND counter = ?2",
                  "append: reading the stored op with the same id"),
          add_op_count(c, "UPDATE treecrdt_meta SET op_count = op_count + ?1 WHERE id = 1",
                       "append: updating op_count"),
          scan_all(make_scan_all_statement(c)), scan_after(make_scan_after_statement(c)),
          first_replica(c, "SELECT min(replica) FROM treecrdt_ops", "scan_unknown_to: finding the first replica"),
          next_replica_after(c, "SELECT min(replica) FROM treecrdt_ops WHERE replica > ?1",
                             "scan_unknown_to: finding the next replica"),
          ops_of_replica_between(c,
                                 "SELECT lamport, replica, counter, body FROM treecrdt_ops "
                                 "WHERE replica = ?1 AND counter BETWEEN ?2 AND ?3",
                                 "scan_unknown_to: reading a replica's ops"),
          op_count(c, "SELECT op_count FROM treecrdt_meta WHERE id = 1", "op_count"),
          max_lamport(c, "SELECT max(lamport) FROM treecrdt_ops", "max_lamport"),
          max_counter(c, "SELECT max(counter) FROM treecrdt_ops WHERE replica = ?1", "max_counter"),
          load_meta(c,
                    "SELECT head_lamport, head_replica, head_counter, head_seq, "
                    "frontier_lamport, frontier_replica, frontier_counter FROM treecrdt_meta WHERE id = 1",
                    "load_meta"),
          store_meta(c,
                     "UPDATE treecrdt_meta SET head_lamport = ?1, head_replica = ?2, head_counter = ?3, "
                     "head_seq = ?4, frontier_lamport = ?5, frontier_replica = ?6, frontier_counter = ?7 "
                     "WHERE id = 1",
                     "store_meta"),
          save_checkpoint(c,
                          "INSERT OR REPLACE INTO treecrdt_checkpoints (lamport, replica, counter, seq, size, "
                          "base_lamport, base_replica, base_counter, blob) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                          "save_checkpoint"),
          latest_checkpoint(c,
                            "SELECT id, lamport, replica, counter, seq, size, base_lamport, base_replica, base_counter "
                            "FROM treecrdt_checkpoints "
                            "ORDER BY lamport DESC, replica DESC, counter DESC LIMIT 1",
                            "latest_checkpoint_before"),
          latest_checkpoint_before(
              c,
              "SELECT id, lamport, replica, counter, seq, size, base_lamport, base_replica, base_counter "
              "FROM treecrdt_checkpoints "
              "WHERE (lamport, replica, counter) < (?1, ?2, ?3) "
              "ORDER BY lamport DESC, replica DESC, counter DESC LIMIT 1",
              "latest_checkpoint_before"),
          load_checkpoint(c, "SELECT blob FROM treecrdt_checkpoints WHERE id = ?1", "load_checkpoint"),
          drop_checkpoints_from(c, "DELETE FROM treecrdt_checkpoints WHERE (lamport, replica, counter) >= (?1, ?2, ?3)",
                                "drop_checkpoints_from"),
          drop_checkpoint(c, "DELETE FROM treecrdt_checkpoints WHERE id = ?1", "drop_checkpoint"),
          list_checkpoints(c,
                           "SELECT id, lamport, replica, counter, seq, size, base_lamport, base_replica, base_counter "
                           "FROM treecrdt_checkpoints "
                           "ORDER BY lamport, replica, counter",
                           "list_checkpoints"),
          storage_bytes(c, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                        "storage_bytes"),
          version_all(c, "SELECT replica, first, last FROM treecrdt_version ORDER BY replica, first",
                      "log_version: reading treecrdt_version"),
          version_before(c,
                         "SELECT first, last FROM treecrdt_version WHERE replica = ?1 AND first < ?2 "
                         "ORDER BY first DESC LIMIT 1",
                         "append: finding the run of counters before new ones"),
          version_at(c, "SELECT last FROM treecrdt_version WHERE replica = ?1 AND first = ?2",
                     "append: finding the run of counters after new ones"),
          version_drop(c, "DELETE FROM treecrdt_version WHERE replica = ?1 AND first = ?2",
                       "append: joining two runs of counters"),
          version_extend(c, "UPDATE treecrdt_version SET last = ?3 WHERE replica = ?1 AND first = ?2",
                         "append: extending a run of counters"),
          version_insert(c, "INSERT INTO treecrdt_version (replica, first, last) VALUES (?1, ?2, ?3)",
                         "append: recording a run of counters") {}

    sqlite::statement insert_op, find_op, add_op_count, scan_all, scan_after, first_replica, next_replica_after,
        ops_of_replica_between, op_count, max_lamport, max_counter, load_meta, store_meta, save_checkpoint,
        latest_checkpoint, latest_checkpoint_before, load_checkpoint, drop_checkpoints_from, drop_checkpoint,
        list_checkpoints, storage_bytes, version_all, version_before, version_at, version_drop, version_extend,
        version_insert;
  };

  // Heap-allocated so that moving the storage keeps the statements' and transactions' pointers valid.
  // Members are destroyed in reverse order: statements first, the connection last.
  struct state {
    state(sqlite::connection c, std::string p) : conn(std::move(c)), path(std::move(p)), tx(conn), st(conn) {}
    sqlite::connection conn;
    std::string path;
    sqlite::transaction_statements tx;
    statements st;
    std::string body_buffer;     // append's encoded op body, reused
    std::string replica_buffer;  // append's encoded replica, reused (when replicas are not bytes)
  };

  explicit sqlite_storage(std::unique_ptr<state> s) noexcept : s_(std::move(s)) {}

  void require_transaction(const char* what) const {
    if (!s_->conn.in_transaction())
      throw std::logic_error(std::string("sqlite_storage::") + what + " outside a transaction");
  }

  /// The replica's bytes as stored: the replica itself when it is bytes, else encoded into `buffer`.
  static std::string_view replica_bytes(const replica_type& r, std::string& buffer) {
    if constexpr (std::same_as<replica_type, bytes>) {
      return r;
    } else {
      buffer = replica_codec<replica_type>::to_bytes(r);
      return buffer;
    }
  }
  static void bind_key(sqlite::statement_use& u, int first, const Key& k) {
    u.bind(first, sqlite::to_ordered_int64(k.lamport));
    u.bind_blob(first + 1, replica_codec<replica_type>::to_bytes(k.replica));
    u.bind(first + 2, sqlite::to_ordered_int64(k.counter));
  }
  static void bind_optional_key(sqlite::statement_use& u, int first, const std::optional<Key>& k) {
    if (k) return bind_key(u, first, *k);
    for (int i = 0; i < 3; ++i) u.bind_null(first + i);
  }

  // Reads (lamport, replica, counter) from three columns. Throws detail::decode_failure when a
  // column has the wrong type or the replica bytes are malformed for this key type.
  static Key read_key(const sqlite::statement_use& u, int first) {
    if (u.column_type(first) != SQLITE_INTEGER) throw detail::decode_failure("lamport is not an INTEGER");
    if (u.column_type(first + 1) != SQLITE_BLOB) throw detail::decode_failure("replica is not a BLOB");
    if (u.column_type(first + 2) != SQLITE_INTEGER) throw detail::decode_failure("counter is not an INTEGER");
    return Key{sqlite::from_ordered_int64(u.column_int64(first)),
               replica_codec<replica_type>::from_bytes(u.column_blob(first + 1)),
               sqlite::from_ordered_int64(u.column_int64(first + 2))};
  }
  static std::optional<Key> read_optional_key(const sqlite::statement_use& u, int first, const char* name) {
    const int nulls = int{u.is_null(first)} + int{u.is_null(first + 1)} + int{u.is_null(first + 2)};
    if (nulls == 3) return std::nullopt;
    if (nulls != 0) throw detail::decode_failure(std::string(name) + " key is partly NULL");
    return read_key(u, first);
  }

  template <class Visitor>
  void run_scan(sqlite::statement& stmt, const std::optional<Key>& after, Visitor& visit) {
    auto u = stmt.use();
    if (after) bind_key(u, 1, *after);
    while (u.step()) {
      const op_type o = decode_row(u);
      visit(o);
    }
  }

  static op_type decode_row(const sqlite::statement_use& u) {
    try {
      if (u.column_type(3) != SQLITE_BLOB) throw detail::decode_failure("body is not a BLOB");
      return decode_op_body(read_key(u, 0), u.column_blob(3));
    } catch (const detail::decode_failure& e) {
      throw storage_error("sqlite", "corrupt_row",
                          "stored op (replica " + detail::to_hex(u.column_blob(1)) + ", counter " +
                              std::to_string(sqlite::from_ordered_int64(u.column_int64(2))) +
                              ") in treecrdt_ops cannot be decoded: " + e.what(),
                          false);
    }
  }

  // Columns: id, key (3), seq, size, base key (3).
  static checkpoint_type read_checkpoint_info(const sqlite::statement_use& u) {
    checkpoint_type info;
    info.id = static_cast<std::uint64_t>(u.column_int64(0));
    try {
      info.key = read_key(u, 1);
      info.base = read_optional_key(u, 6, "base");
    } catch (const detail::decode_failure& e) {
      throw storage_error("sqlite", "corrupt_row",
                          "checkpoint " + std::to_string(info.id) + " has an unreadable key: " + e.what(), false);
    }
    info.seq = static_cast<std::uint64_t>(u.column_int64(4));
    info.size_bytes = static_cast<std::uint64_t>(u.column_int64(5));
    return info;
  }

  static std::int64_t to_count(std::uint64_t v, const char* what) {
    if (v > static_cast<std::uint64_t>(INT64_MAX))
      throw std::out_of_range(std::string("sqlite_storage: ") + what + " does not fit in an SQLite INTEGER");
    return static_cast<std::int64_t>(v);
  }
  // Ids are rowids (1..2^63-1); a larger id cannot exist and must not wrap onto a real one.
  static std::int64_t checkpoint_rowid(std::uint64_t id) {
    return id > static_cast<std::uint64_t>(INT64_MAX) ? 0 : static_cast<std::int64_t>(id);
  }
  static storage_error checkpoint_not_found(std::uint64_t id) {
    return storage_error("sqlite", "not_found", "no checkpoint with id " + std::to_string(id), false);
  }
  static storage_error missing_meta_row() {
    return storage_error("sqlite", "corrupt_row", "treecrdt_meta has no row", false);
  }

  std::unique_ptr<state> s_;
};

static_assert(Storage<sqlite_storage<default_op_key>>);
static_assert(Storage<sqlite_storage<compact_op_key>>);

}  // namespace treecrdt
