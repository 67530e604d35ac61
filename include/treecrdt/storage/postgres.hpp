#pragma once
// PostgreSQL storage policy (libpq). Link `treecrdt::postgres`.
//
// A `postgres_storage<Key>` is a handle to ONE document inside a database that holds many: every
// table is keyed first by the document id `doc`, and every statement names exactly one document.
//
// Schema (version 3, created idempotently on open; see postgres/schema.hpp):
//   treecrdt_schema(component text PK, version int)            -- ('treecrdt', 3); newer -> schema_error
//   treecrdt_ops(doc bytea, replica bytea, counter bigint, lamport bigint, body bytea)
//     PRIMARY KEY (doc, replica, counter); INDEX (doc, lamport, replica, counter)
//     body = encode_op_body(op); replica = replica_codec bytes (bytea order = unsigned byte order,
//     a proper prefix first).
//   treecrdt_meta(doc bytea PK, op_count, head_lamport/head_replica/head_counter (NULL = no head),
//     head_seq, frontier_lamport/frontier_replica/frontier_counter (NULL = up to date),
//     next_checkpoint_id)                                       -- one row per document
//   treecrdt_checkpoints(doc bytea, id bigint, lamport, replica, counter, seq, size_bytes, blob bytea,
//                        base_lamport bigint, base_replica bytea, base_counter bigint)
//     PRIMARY KEY (doc, id); UNIQUE (doc, lamport, replica, counter)
//     The base key (encoded like the head key) names the checkpoint this one is a delta over; all
//     three NULL (CHECK treecrdt_checkpoints_base_check: all or none) = a full checkpoint. The
//     storage only records the link: the document builds, verifies and prunes chains.
//   treecrdt_version(doc bytea, replica bytea, first bigint, last bigint)  PRIMARY KEY (doc, replica, first)
//     The document's version vector: one row per maximal run [first, last] of counters a replica has
//     in the log (a replica without gaps is one row starting at 1; each gap adds one). The append
//     statement keeps it exact in its own round trip, so log_version() reads O(replicas + gaps) rows.
//   lamport and counter are uint64 stored as (value - 2^63) in bigint, so the database's signed order
//   equals the unsigned key order (indexes, row-value comparisons, ORDER BY). op_count, seq, ids and
//   sizes are stored as plain bigint.
//
// Versions: 1 had no base columns; 2 added them; 3 added treecrdt_version. Opening an older database
// migrates it in place, once, in one transaction under the schema advisory lock, step by step.
// 1 -> 2: ALTER TABLE adds the three nullable columns and the CHECK (a catalog change, the rows are
// not rewritten), every document's existing checkpoints read as full ones. 2 -> 3: treecrdt_version
// is created and filled from every document's log in one pass. The version row is bumped by each
// step. A failed step rolls everything back and the constructor throws storage_error ("schema
// migration from version N to N+1 ..."). Handles of a version 2 library must not write to a
// migrated database: their appends would not maintain treecrdt_version.
//
// Sharding: `doc` is the distribution column of every table, and each statement touches one `doc`,
// so the layout shards by document. With Citus, for example:
//   SELECT create_distributed_table('treecrdt_meta', 'doc');
//   SELECT create_distributed_table('treecrdt_ops', 'doc', colocate_with => 'treecrdt_meta');
//   SELECT create_distributed_table('treecrdt_checkpoints', 'doc', colocate_with => 'treecrdt_meta');
//   SELECT create_reference_table('treecrdt_schema');
//
// Concurrency: begin() takes a row lock on the document's meta row (SELECT ... FOR UPDATE) in a
// READ COMMITTED transaction, so writers of one document are serialized across connections and
// processes, writers of different documents never wait for each other, and every statement after the
// lock sees everything committed before it. A document object held in memory may be stale relative
// to another writer: begin() reads op_count and the head/frontier from the locked row, so op_count()
// (also transaction::op_count_at_begin()) and load_meta() inside the transaction are current; the op
// count only ever grows, so comparing it with the count the document last saw tells whether the log
// changed under it. While the lock is held nobody else can change that row, so inside a transaction
// op_count() and load_meta() answer from what begin() read plus this handle's own append/store_meta,
// without a round trip (changes made through raw_connection() are not seen by them).
//
// Faults: every libpq/server failure throws storage_error("postgres", SQLSTATE or "connection",
// message, retryable), retryable for a lost connection, 40001, 40P01 and 57P01..57P03. The
// transaction is then dead; destroy it. The next begin() reconnects with the same connection string,
// so retrying the same batch works: append is idempotent, so a retry after an ambiguous commit
// leaves neither a duplicate nor a gap.
//
// Thread safety: one handle (one connection) per thread; different handles are independent.
#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <numeric>
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
#include "postgres/connection.hpp"
#include "postgres/schema.hpp"
#include "postgres/session.hpp"
#include "postgres/statements.hpp"
#include "postgres/wire.hpp"
#include "storage_concepts.hpp"

namespace treecrdt {

template <OpKey Key = default_op_key>
class postgres_storage {
  struct session;

 public:
  using key_type = Key;
  using op_type = op<Key>;
  using replica_type = replica_of<Key>;
  using checkpoint_type = checkpoint_info<Key>;

  /// RAII transaction holding the document's writer lock. Rolls back in the destructor unless
  /// committed; the destructor never throws.
  class transaction {
   public:
    transaction(transaction&& o) noexcept : s_(std::move(o.s_)), op_count_at_begin_(o.op_count_at_begin_) {}
    transaction& operator=(transaction&&) = delete;
    ~transaction() {
      if (s_) s_->rollback_quietly();
    }

    /// Effects: commits. Throws storage_error if COMMIT fails (retryable when the connection was
    /// lost: the outcome is then unknown, and re-appending the same batch is the safe retry) or with
    /// code 25P02 if an earlier statement of this transaction had failed, so the server rolled back.
    void commit() {
      if (!s_) throw std::logic_error("postgres_storage: commit() on a finished transaction");
      const std::shared_ptr<session> s = std::move(s_);
      s->forget_transaction();
      try {
        const pg::result r = s->conn.exec("commit", "COMMIT");
        if (r.command_status() != "COMMIT")
          throw storage_error(std::string(pg::backend_name), "25P02",
                              "commit: an earlier statement of this transaction failed, so it was rolled back", false);
      } catch (...) {
        s->end_transaction_quietly();
        throw;
      }
    }

    /// op_count() as read under the lock when the transaction began.
    [[nodiscard]] std::uint64_t op_count_at_begin() const noexcept { return op_count_at_begin_; }

   private:
    friend class postgres_storage;
    explicit transaction(std::shared_ptr<session> s) noexcept : s_(std::move(s)) { s_->in_transaction = true; }
    std::shared_ptr<session> s_;
    std::uint64_t op_count_at_begin_ = 0;
  };

  /// Opens `document` in the database named by `conninfo` (libpq keyword string or URI).
  /// Effects: connects and creates the schema if missing. The document's meta row is created by
  /// its first begin(); until then it reads as empty.
  /// Throws: std::invalid_argument for an empty document id; schema_error for a database written by
  /// another schema version; storage_error when the server cannot be reached or fails.
  postgres_storage(std::string conninfo, bytes document) : s_(std::make_shared<session>()) {
    if (document.empty()) throw std::invalid_argument("postgres_storage: the document id must not be empty");
    s_->conninfo = std::move(conninfo);
    s_->doc = std::move(document);
    s_->conn = pg::connection::open(s_->conninfo);
    pg::ensure_schema(s_->conn);
  }

  /// Effects: starts a transaction and waits for the document's writer lock. Reconnects first if the
  /// connection was lost (also when the loss is only noticed by this BEGIN: nothing was in flight).
  /// Throws: std::logic_error if a transaction or scan is already open on this handle; storage_error.
  [[nodiscard]] transaction begin() {
    session& s = *s_;
    if (s.in_transaction) throw std::logic_error("postgres_storage: begin() while a transaction is open");
    if (s.scanning) throw std::logic_error("postgres_storage: begin() inside scan_after");
    (void)s.idle_call([&] { return s.conn.exec("begin", "BEGIN ISOLATION LEVEL READ COMMITTED"); });
    transaction tx(s_);
    pg::params p;
    p.add_bytes(s.doc);
    pg::result locked = s.run(pg::statement::lock_document, p, "begin");
    if (locked.rows() == 0) {  // the document's first transaction: create its meta row, then lock it
      (void)s.run(pg::statement::ensure_document, p, "begin");
      locked = s.run(pg::statement::lock_document, p, "begin");
    }
    if (locked.rows() != 1)
      throw storage_error(std::string(pg::backend_name), "missing_document",
                          "begin: no treecrdt_meta row for document " + s.describe_document(), false);
    s.locked = read_meta_row(locked, "begin");
    tx.op_count_at_begin_ = s.locked->op_count;
    return tx;
  }

  /// Effects: see Storage. One round trip: the whole batch goes to the server as arrays; the server
  /// reports clashing ids and inserts the rest only if there are none, then reports how many rows
  /// went in and, only when some sent ones did not, which (the duplicates of stored ops).
  /// Throws: conflicting_op_error naming the first conflicting batch index (nothing of the batch is
  /// then stored, even if the caller commits); std::logic_error outside a transaction; storage_error.
  [[nodiscard]] std::vector<std::size_t> append(std::span<const op_type> batch) {
    session& s = require_transaction("append");
    if (batch.empty()) return {};

    // Ids repeated inside the batch: a later copy is a duplicate if equal, else a conflict.
    std::vector<std::size_t> order(batch.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const Key& ka = batch[a].key;
      const Key& kb = batch[b].key;
      if (ka.replica != kb.replica) return ka.replica < kb.replica;
      if (ka.counter != kb.counter) return ka.counter < kb.counter;
      return a < b;
    });
    std::vector<bool> repeated(batch.size(), false);
    std::optional<std::size_t> batch_conflict;
    for (std::size_t i = 1, first = order[0]; i < order.size(); ++i) {
      const std::size_t cur = order[i];
      if (batch[cur].key.replica != batch[first].key.replica || batch[cur].key.counter != batch[first].key.counter) {
        first = cur;
        continue;
      }
      repeated[cur] = true;
      if (!(batch[cur] == batch[first]) && (!batch_conflict || cur < *batch_conflict)) batch_conflict = cur;
    }

    // With a conflict inside the batch only the ops before it are checked against the log (so the
    // reported index is the first conflict in batch order), and nothing is inserted.
    const std::size_t end = batch_conflict.value_or(batch.size());
    pg::array_builder idx(pg::int8_oid), replicas(pg::bytea_oid), counters(pg::int8_oid), lamports(pg::int8_oid),
        bodies(pg::bytea_oid);
    std::size_t sent = 0;
    for (std::size_t i = 0; i < end; ++i) {
      if (repeated[i]) continue;
      const op_type& o = batch[i];
      idx.add_int8(static_cast<std::int64_t>(i));
      replicas.add_bytes(replica_codec<replica_type>::to_bytes(o.key.replica));
      counters.add_int8(pg::to_sortable_int8(o.key.counter));
      lamports.add_int8(pg::to_sortable_int8(o.key.lamport));
      bodies.add_bytes(encode_op_body(o));
      ++sent;
    }
    if (sent == 0) throw conflicting_op_error(*batch_conflict, describe(batch[*batch_conflict]));

    // The sent ids' runs of consecutive counters per replica: the server merges these few runs into
    // treecrdt_version instead of grouping every row.
    std::vector<std::size_t> sent_ids;
    sent_ids.reserve(sent);
    for (std::size_t i = 0; i < end; ++i)
      if (!repeated[i]) sent_ids.push_back(i);
    pg::array_builder run_replicas(pg::bytea_oid), run_firsts(pg::int8_oid), run_lasts(pg::int8_oid);
    detail::for_each_counter_run(batch, std::span<const std::size_t>(sent_ids),
                                 [&](const replica_type& replica, std::uint64_t first, std::uint64_t last) {
                                   run_replicas.add_bytes(replica_codec<replica_type>::to_bytes(replica));
                                   run_firsts.add_int8(pg::to_sortable_int8(first));
                                   run_lasts.add_int8(pg::to_sortable_int8(last));
                                 });

    pg::params p;
    p.add_bytes(s.doc)
        .add_owned(std::move(idx).finish())
        .add_owned(std::move(replicas).finish())
        .add_owned(std::move(counters).finish())
        .add_owned(std::move(lamports).finish())
        .add_owned(std::move(bodies).finish())
        .add_bool(batch_conflict.has_value())
        .add_owned(std::move(run_replicas).finish())
        .add_owned(std::move(run_firsts).finish())
        .add_owned(std::move(run_lasts).finish());
    const pg::result r = s.run(pg::statement::append, p, "append");

    std::optional<std::size_t> stored_conflict;
    std::uint64_t inserted = 0;
    std::vector<bool> stored_before(batch.size(), false);  // sent, but a duplicate of a stored op
    for (int row = 0; row < r.rows(); ++row) {
      const std::int64_t kind = r.int8(row, 0);
      const auto value = static_cast<std::size_t>(r.int8(row, 1));
      if (kind == 0 && (!stored_conflict || value < *stored_conflict)) stored_conflict = value;
      if (kind == 1) inserted = value;
      if (kind == 2 && value < batch.size()) stored_before[value] = true;
    }
    if (stored_conflict) throw conflicting_op_error(*stored_conflict, describe(batch[*stored_conflict]));
    if (batch_conflict) throw conflicting_op_error(*batch_conflict, describe(batch[*batch_conflict]));
    std::vector<std::size_t> fresh;
    fresh.reserve(static_cast<std::size_t>(inserted));
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (!repeated[i] && !stored_before[i]) fresh.push_back(i);
    if (fresh.size() != inserted)
      throw storage_error(std::string(pg::backend_name), "inconsistent_append",
                          "append: the server inserted " + std::to_string(inserted) + " rows of a batch with " +
                              std::to_string(fresh.size()) + " new ids",
                          false);
    s.locked->op_count += fresh.size();
    return fresh;
  }

  /// Effects: see Storage. Streams through a server-side cursor, scan_fetch_rows rows per round
  /// trip, inside the open transaction (or a short read-only one when none is open). `visit` may
  /// call any other member on this handle except begin() and scan_after().
  template <class Visitor>
  void scan_after(const std::optional<Key>& after, Visitor&& visit) {
    session& s = *s_;
    if (s.scanning) throw std::logic_error("postgres_storage: scan_after() inside scan_after");
    const bool own_transaction = !s.in_transaction;
    if (own_transaction)
      (void)s.idle_call([&] { return s.conn.exec("scan_after", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); });
    scan_guard guard{s, own_transaction};
    pg::params p;
    p.add_bytes(s.doc);
    if (after) add_key(p, *after);
    (void)s.run(after ? pg::statement::declare_scan_after : pg::statement::declare_scan_all, p, "scan_after");
    guard.cursor_open = true;
    const pg::params none;
    for (;;) {
      const pg::result rows = s.run(pg::statement::fetch_scan, none, "scan_after");
      for (int row = 0; row < rows.rows(); ++row) {
        const op_type o = read_op(rows, row, "scan_after");
        visit(std::as_const(o));
      }
      if (rows.rows() < pg::scan_fetch_rows) break;
    }
    (void)s.run(pg::statement::close_scan, none, "scan_after");
    guard.cursor_open = false;
    if (guard.own_transaction) {
      (void)s.conn.exec("scan_after", "COMMIT");
      guard.own_transaction = false;
    }
  }

  /// The dots of every stored op (the optional storage_traits::log_version behind
  /// document::version): one read of treecrdt_version, O(replicas + gaps) rows.
  [[nodiscard]] version_vector<replica_type> log_version() {
    const pg::result r = read(pg::statement::log_version, "log_version");
    version_vector<replica_type> vv;
    std::optional<std::pair<std::string_view, replica_type>> current;  // decode each replica once
    for (int row = 0; row < r.rows(); ++row) {
      const std::string_view raw = r.field(row, 0);
      try {
        if (!current || current->first != raw) current.emplace(raw, replica_codec<replica_type>::from_bytes(raw));
        vv.add_range(current->second, pg::from_sortable_int8(r.int8(row, 1)), pg::from_sortable_int8(r.int8(row, 2)));
      } catch (const detail::decode_failure& e) {
        throw corrupt("log_version", "a row of treecrdt_version", e.what());
      }
    }
    return vv;
  }

  /// Effects: calls visit(const op_type&) for every stored op whose dot is not in `known`, in key
  ///   order (the optional storage_traits::scan_unknown_to behind document::ops_since). One round
  ///   trip: per replica of the document, the ops above `known`'s contiguous frontier for it (a
  ///   primary-key range), filtered here against `known`'s ranges. A peer that is nearly up to date
  ///   costs what it is sent, not a scan of the log. The rows are held in memory until visited
  ///   (the caller collects them anyway); an empty `known` streams the whole log instead.
  template <class Visitor>
  void scan_unknown_to(const version_vector<replica_type>& known, Visitor&& visit) {
    if (known.empty()) return scan_after(std::nullopt, std::forward<Visitor>(visit));
    session& s = *s_;
    pg::array_builder replicas(pg::bytea_oid), frontiers(pg::int8_oid);
    for (const auto& [replica, entry] : known.entries()) {
      replicas.add_bytes(replica_codec<replica_type>::to_bytes(replica));
      frontiers.add_int8(pg::to_sortable_int8(entry.frontier));
    }
    pg::params p;
    p.add_bytes(s.doc).add_owned(std::move(replicas).finish()).add_owned(std::move(frontiers).finish());
    const pg::result r = s.run_read(pg::statement::ops_above, p, "scan_unknown_to");
    for (int row = 0; row < r.rows(); ++row) {
      const op_type o = read_op(r, row, "scan_unknown_to");
      if (!known.contains(o.key.replica, o.key.counter)) visit(std::as_const(o));
    }
  }

  /// Number of distinct stored ops, from the meta row. O(1); no round trip inside a transaction.
  [[nodiscard]] std::uint64_t op_count() {
    if (s_->locked) return s_->locked->op_count;
    const pg::result r = read(pg::statement::op_count, "op_count");
    return r.rows() == 0 ? 0 : static_cast<std::uint64_t>(r.int8(0, 0));
  }

  [[nodiscard]] std::uint64_t max_lamport() {
    const pg::result r = read(pg::statement::max_lamport, "max_lamport");
    return r.rows() == 0 ? 0 : pg::from_sortable_int8(r.int8(0, 0));
  }

  [[nodiscard]] std::uint64_t max_counter(const replica_type& replica) {
    session& s = *s_;
    const bytes r_bytes = replica_codec<replica_type>::to_bytes(replica);
    pg::params p;
    p.add_bytes(s.doc).add_bytes(r_bytes);
    const pg::result r = s.run_read(pg::statement::max_counter, p, "max_counter");
    return r.rows() == 0 ? 0 : pg::from_sortable_int8(r.int8(0, 0));
  }

  /// The stored head and frontier (empty for a document never written). No round trip inside a
  /// transaction.
  [[nodiscard]] materialization_meta<Key> load_meta() {
    if (s_->locked) return s_->locked->meta;
    const pg::result r = read(pg::statement::load_meta, "load_meta");
    return r.rows() == 0 ? materialization_meta<Key>{} : read_meta_row(r, "load_meta").meta;
  }

  void store_meta(const materialization_meta<Key>& meta) {
    session& s = require_transaction("store_meta");
    pg::params p;
    p.add_bytes(s.doc);
    add_optional_key(p, meta.head.key);
    p.add_int8(static_cast<std::int64_t>(meta.head.seq));
    add_optional_key(p, meta.frontier);
    (void)s.run(pg::statement::store_meta, p, "store_meta");
    s.locked->meta = meta;
  }

  /// Effects: stores the checkpoint at head `key`, a delta over the checkpoint at head *base (a full
  /// one when nullopt), replacing one with the same key (its base too); returns its new id.
  std::uint64_t save_checkpoint(const Key& key, std::uint64_t seq, std::string_view blob,
                                const std::optional<Key>& base = std::nullopt) {
    session& s = require_transaction("save_checkpoint");
    pg::params p;
    p.add_bytes(s.doc);
    add_key(p, key);
    p.add_int8(static_cast<std::int64_t>(seq)).add_bytes(blob);
    add_optional_key(p, base);
    const pg::result r = s.run(pg::statement::save_checkpoint, p, "save_checkpoint");
    if (r.rows() != 1)
      throw storage_error(std::string(pg::backend_name), "missing_document",
                          "save_checkpoint: no treecrdt_meta row for document " + s.describe_document(), false);
    return static_cast<std::uint64_t>(r.int8(0, 0));
  }

  [[nodiscard]] std::optional<checkpoint_type> latest_checkpoint_before(const std::optional<Key>& bound) {
    session& s = *s_;
    pg::params p;
    p.add_bytes(s.doc);
    if (bound) add_key(p, *bound);
    const pg::result r = s.run_read(bound ? pg::statement::latest_checkpoint_before : pg::statement::latest_checkpoint,
                                    p, "latest_checkpoint_before");
    if (r.rows() == 0) return std::nullopt;
    return read_checkpoint(r, 0, "latest_checkpoint_before");
  }

  /// Throws storage_error (code "not_found") if this document has no checkpoint with that id.
  [[nodiscard]] bytes load_checkpoint(std::uint64_t id) {
    session& s = *s_;
    pg::params p;
    p.add_bytes(s.doc).add_int8(static_cast<std::int64_t>(id));
    const pg::result r = s.run_read(pg::statement::load_checkpoint, p, "load_checkpoint");
    if (r.rows() == 0) throw not_found("load_checkpoint", id);
    return bytes(r.field(0, 0));
  }

  std::uint64_t drop_checkpoints_from(const Key& key) {
    session& s = require_transaction("drop_checkpoints_from");
    pg::params p;
    p.add_bytes(s.doc);
    add_key(p, key);
    return s.run(pg::statement::drop_checkpoints_from, p, "drop_checkpoints_from").affected_rows();
  }

  /// Throws storage_error (code "not_found") if this document has no checkpoint with that id.
  void drop_checkpoint(std::uint64_t id) {
    session& s = require_transaction("drop_checkpoint");
    pg::params p;
    p.add_bytes(s.doc).add_int8(static_cast<std::int64_t>(id));
    if (s.run(pg::statement::drop_checkpoint, p, "drop_checkpoint").affected_rows() == 0)
      throw not_found("drop_checkpoint", id);
  }

  [[nodiscard]] std::vector<checkpoint_type> list_checkpoints() {
    const pg::result r = read(pg::statement::list_checkpoints, "list_checkpoints");
    std::vector<checkpoint_type> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) out.push_back(read_checkpoint(r, row, "list_checkpoints"));
    return out;
  }

  /// Escape hatch: the live libpq connection (replaced after a reconnect; nullptr after a failed one).
  /// Do not end or start transactions on it behind the handle's back.
  [[nodiscard]] PGconn* raw_connection() noexcept { return s_->conn.get(); }

  [[nodiscard]] const bytes& document_id() const noexcept { return s_->doc; }

  /// For components that keep their own tables in this handle's transactions (the tree tables of
  /// store/postgres_store.hpp): the handle's session, shared, so it stays valid when the handle is
  /// moved or destroyed and always holds the live connection. Run statements through its
  /// run(statement_text) (inside a transaction) or run_read() (reconnects when idle); never begin or
  /// end transactions on it, and do not use it from another thread than the handle's.
  [[nodiscard]] std::shared_ptr<pg::document_session> shared_session() const noexcept { return s_; }

 private:
  /// The document's meta row as read under the writer lock, kept current by this handle.
  struct locked_meta {
    std::uint64_t op_count = 0;
    materialization_meta<Key> meta;
  };

  /// The key-independent part (connection, statement caches, flags, reconnect) is shared with
  /// shared_session()'s users; the locked meta row is this handle's own.
  struct session : pg::document_session {
    std::optional<locked_meta> locked;  // set while a transaction holds the lock

    void forget_transaction() noexcept {
      in_transaction = false;
      locked.reset();
    }
    void rollback_quietly() noexcept {
      forget_transaction();
      end_transaction_quietly();
    }
  };

  /// Leaves the connection usable whichever way scan_after ends.
  struct scan_guard {
    session& s;
    bool own_transaction = false;
    bool cursor_open = false;
    scan_guard(session& sess, bool own) noexcept : s(sess), own_transaction(own) { s.scanning = true; }
    scan_guard(const scan_guard&) = delete;
    scan_guard& operator=(const scan_guard&) = delete;
    ~scan_guard() {
      if (own_transaction)
        s.end_transaction_quietly();  // also closes the cursor
      else if (cursor_open)
        s.conn.exec_ignoring_errors("CLOSE treecrdt_scan");
      s.scanning = false;
    }
  };

  session& require_transaction(std::string_view what) const {
    if (!s_->in_transaction)
      throw std::logic_error("postgres_storage: " + std::string(what) + "() outside a transaction");
    return *s_;
  }

  pg::result read(pg::statement st, std::string_view what) {
    session& s = *s_;
    pg::params p;
    p.add_bytes(s.doc);
    return s.run_read(st, p, what);
  }

  static void add_key(pg::params& p, const Key& k) {
    p.add_int8(pg::to_sortable_int8(k.lamport))
        .add_owned(replica_codec<replica_type>::to_bytes(k.replica))
        .add_int8(pg::to_sortable_int8(k.counter));
  }
  static void add_optional_key(pg::params& p, const std::optional<Key>& k) {
    if (k)
      add_key(p, *k);
    else
      p.add_null().add_null().add_null();
  }

  /// Reads (lamport, replica, counter) from columns first..first+2.
  Key read_key(const pg::result& r, int row, int first, std::string_view what) const {
    try {
      return Key{pg::from_sortable_int8(r.int8(row, first)),
                 replica_codec<replica_type>::from_bytes(r.field(row, first + 1)),
                 pg::from_sortable_int8(r.int8(row, first + 2))};
    } catch (const detail::decode_failure& e) {
      throw corrupt(what, "a stored key", e.what());
    }
  }

  op_type read_op(const pg::result& r, int row, std::string_view what) const {
    Key key = read_key(r, row, 0, what);
    try {
      return decode_op_body<Key>(key, r.field(row, 3));
    } catch (const detail::decode_failure& e) {
      throw corrupt(what, "the stored body of op " + describe_key(key), e.what());
    }
  }

  /// Columns: op_count, head key (3), head_seq, frontier key (3).
  locked_meta read_meta_row(const pg::result& r, std::string_view what) const {
    locked_meta m;
    m.op_count = static_cast<std::uint64_t>(r.int8(0, 0));
    if (!r.is_null(0, 1)) m.meta.head.key = read_key(r, 0, 1, what);
    m.meta.head.seq = static_cast<std::uint64_t>(r.int8(0, 4));
    if (!r.is_null(0, 5)) m.meta.frontier = read_key(r, 0, 5, what);
    return m;
  }

  /// Columns: key (3), id, seq, size_bytes, base key (3, all NULL for a full checkpoint).
  checkpoint_type read_checkpoint(const pg::result& r, int row, std::string_view what) const {
    checkpoint_type cp;
    cp.key = read_key(r, row, 0, what);
    cp.id = static_cast<std::uint64_t>(r.int8(row, 3));
    cp.seq = static_cast<std::uint64_t>(r.int8(row, 4));
    cp.size_bytes = static_cast<std::uint64_t>(r.int8(row, 5));
    if (!r.is_null(row, 6)) cp.base = read_key(r, row, 6, what);
    return cp;
  }

  storage_error corrupt(std::string_view what, const std::string& item, const char* reason) const {
    return storage_error(
        std::string(pg::backend_name), "corrupt_data",
        std::string(what) + ": " + item + " of document " + s_->describe_document() + " cannot be read: " + reason,
        false);
  }
  storage_error not_found(std::string_view what, std::uint64_t id) const {
    return storage_error(std::string(pg::backend_name), "not_found",
                         std::string(what) + ": document " + s_->describe_document() + " has no checkpoint with id " +
                             std::to_string(id),
                         false);
  }

  std::shared_ptr<session> s_;
};

static_assert(Storage<postgres_storage<default_op_key>>);
static_assert(Storage<postgres_storage<compact_op_key>>);

}  // namespace treecrdt
