#pragma once
// Thin RAII owners of SQLite's C handles: a connection, a prepared statement (prepared once, reset
// after every use by a guard), and a transaction that rolls back unless committed. They only
// bind parameters; SQL text is always a constant of the caller, never built from data.
// None of them is thread-safe: one connection belongs to one thread at a time.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "error.hpp"

namespace treecrdt::sqlite {

/// Owns one `sqlite3*`. Move-only; closing happens in the destructor.
class connection {
 public:
  /// Opens (and with SQLITE_OPEN_CREATE creates) `path`; ":memory:" is a private in-memory database.
  /// Throws sqlite_error (e.g. SQLITE_CANTOPEN) naming the path.
  connection(const std::string& path, int flags) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
      // SQLite may hand back a handle even on failure; it only carries the message.
      const std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
      const int code = db != nullptr ? sqlite3_extended_errcode(db) : rc;
      sqlite3_close_v2(db);
      throw sqlite_error(code, "opening " + path, message);
    }
    db_ = db;
  }
  connection(connection&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  connection& operator=(connection&& o) noexcept {
    if (this != &o) {
      close();
      db_ = std::exchange(o.db_, nullptr);
    }
    return *this;
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() { close(); }

  [[nodiscard]] sqlite3* get() const noexcept { return db_; }

  /// Runs constant SQL without results (DDL, PRAGMA settings). Never pass data-derived text.
  void exec(const char* sql, std::string_view during) {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) throw_error(db_, rc, during);
  }

  void set_busy_timeout(std::chrono::milliseconds timeout) {
    const auto ms = timeout.count() < 0 ? 0 : timeout.count() > INT32_MAX ? INT32_MAX : timeout.count();
    const int rc = sqlite3_busy_timeout(db_, static_cast<int>(ms));
    if (rc != SQLITE_OK) throw_error(db_, rc, "setting the busy timeout");
  }

  /// True while a transaction is open on this connection.
  [[nodiscard]] bool in_transaction() const noexcept { return sqlite3_get_autocommit(db_) == 0; }
  /// Rows changed by the last INSERT/UPDATE/DELETE that finished on this connection.
  [[nodiscard]] std::int64_t changes() const noexcept { return sqlite3_changes(db_); }
  [[nodiscard]] std::int64_t last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }
  [[nodiscard]] bool read_only() const noexcept { return sqlite3_db_readonly(db_, "main") == 1; }

 private:
  void close() noexcept {
    // close_v2 defers the close if a statement is still alive, so destruction order cannot leak.
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
  }
  sqlite3* db_ = nullptr;
};

class statement;

/// One use of a prepared statement: binds, steps and reads columns; resets and clears the bindings
/// when it ends (also on exceptions), so the statement never holds a read snapshot or stale values.
class statement_use {
 public:
  statement_use(const statement_use&) = delete;
  statement_use& operator=(const statement_use&) = delete;
  ~statement_use();

  statement_use& bind(int index, std::int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  /// Binds a BLOB (never TEXT, so comparisons are memcmp); an empty value is a zero-length blob.
  statement_use& bind_blob(int index, std::string_view value) {
    check(value.empty() ? sqlite3_bind_zeroblob(stmt_, index, 0)
                        : sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT));
    return *this;
  }
  /// bind_blob without SQLite's copy of the bytes: `value` must stay valid until this use ends
  /// (it resets the statement and clears its bindings then), e.g. the caller's own buffer.
  statement_use& bind_blob_borrowed(int index, std::string_view value) {
    check(value.empty() ? sqlite3_bind_zeroblob(stmt_, index, 0)
                        : sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_STATIC));
    return *this;
  }
  statement_use& bind_null(int index) {
    check(sqlite3_bind_null(stmt_, index));
    return *this;
  }

  /// Advances to the next row: true when a row is available, false when the statement is done.
  [[nodiscard]] bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_error(sqlite3_db_handle(stmt_), rc, during_);
  }
  /// Runs a statement that returns no rows.
  void run() {
    while (step()) {
    }
  }

  [[nodiscard]] int column_type(int col) const noexcept { return sqlite3_column_type(stmt_, col); }
  [[nodiscard]] bool is_null(int col) const noexcept { return column_type(col) == SQLITE_NULL; }
  [[nodiscard]] std::int64_t column_int64(int col) const noexcept { return sqlite3_column_int64(stmt_, col); }
  /// The bytes of a BLOB column; valid until the next step or the end of this use.
  [[nodiscard]] std::string_view column_blob(int col) const noexcept {
    const void* data = sqlite3_column_blob(stmt_, col);
    const int size = sqlite3_column_bytes(stmt_, col);
    if (data == nullptr || size <= 0) return {};
    return {static_cast<const char*>(data), static_cast<std::size_t>(size)};
  }
  [[nodiscard]] std::string column_text(int col) const {
    const unsigned char* data = sqlite3_column_text(stmt_, col);
    return data == nullptr ? std::string()
                           : std::string(reinterpret_cast<const char*>(data),
                                         static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
  }

 private:
  friend class statement;
  statement_use(statement& owner, sqlite3_stmt* stmt, std::string_view during) noexcept
      : owner_(owner), stmt_(stmt), during_(during) {}
  void check(int rc) const {
    if (rc != SQLITE_OK) throw_error(sqlite3_db_handle(stmt_), rc, during_);
  }
  statement& owner_;
  sqlite3_stmt* stmt_;
  std::string_view during_;
};

/// A prepared statement owned for the connection's lifetime. Move-only. `use()` hands out one
/// guarded use at a time; asking for a second while the first is alive is a logic error.
class statement {
 public:
  /// Prepares constant `sql`; `during` names the statement's purpose in error messages.
  statement(const connection& conn, const char* sql, std::string during) : during_(std::move(during)) {
    const int rc = sqlite3_prepare_v3(conn.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK) throw_error(conn.get(), rc, "preparing " + during_);
  }
  statement(statement&& o) noexcept
      : stmt_(std::exchange(o.stmt_, nullptr)), during_(std::move(o.during_)), in_use_(o.in_use_) {}
  statement& operator=(statement&&) = delete;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement() { sqlite3_finalize(stmt_); }

  [[nodiscard]] statement_use use() {
    if (in_use_) throw std::logic_error("sqlite statement '" + during_ + "' is already in use");
    in_use_ = true;
    return statement_use(*this, stmt_, during_);
  }
  [[nodiscard]] bool in_use() const noexcept { return in_use_; }

 private:
  friend class statement_use;
  sqlite3_stmt* stmt_ = nullptr;
  std::string during_;
  bool in_use_ = false;
};

inline statement_use::~statement_use() {
  sqlite3_reset(stmt_);  // its code repeats the step's failure, already reported
  sqlite3_clear_bindings(stmt_);
  owner_.in_use_ = false;
}

/// The three statements a transaction needs, prepared once per connection.
struct transaction_statements {
  explicit transaction_statements(const connection& conn)
      : db(conn.get()), begin(conn, "BEGIN IMMEDIATE", "BEGIN IMMEDIATE"), commit(conn, "COMMIT", "COMMIT"),
        rollback(conn, "ROLLBACK", "ROLLBACK") {}
  sqlite3* db;
  statement begin;
  statement commit;
  statement rollback;
};

/// RAII write transaction. BEGIN IMMEDIATE takes the write lock up front, so a concurrent writer
/// is reported at begin (SQLITE_BUSY, retryable) instead of deadlocking at the first write.
/// Rolls back in the destructor unless `commit()` succeeded. Must not outlive its storage.
class transaction {
 public:
  explicit transaction(transaction_statements& st) : st_(&st) {
    if (sqlite3_get_autocommit(st.db) == 0)
      throw std::logic_error("sqlite transaction: a transaction is already open on this connection");
    st.begin.use().run();
  }
  transaction(transaction&& o) noexcept : st_(std::exchange(o.st_, nullptr)) {}
  transaction& operator=(transaction&&) = delete;
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction() { rollback(); }

  /// Makes every change durable. Throws sqlite_error (e.g. SQLITE_BUSY); the transaction then
  /// stays open and is rolled back by the destructor (or `rollback()`).
  void commit() {
    if (st_ == nullptr) throw std::logic_error("sqlite transaction: commit after commit or rollback");
    st_->commit.use().run();
    st_ = nullptr;
  }
  /// Discards every change now. No-op after commit. Never throws.
  void rollback() noexcept {
    if (st_ == nullptr) return;
    // SQLite may already have rolled back by itself (e.g. after SQLITE_FULL); then there is nothing to do.
    if (sqlite3_get_autocommit(st_->db) == 0) {
      try {
        st_->rollback.use().run();
      } catch (...) {  // NOLINT(bugprone-empty-catch): a failed rollback leaves nothing to undo for us;
      }                // SQLite discards the open transaction when the connection closes.
    }
    st_ = nullptr;
  }
  [[nodiscard]] bool active() const noexcept { return st_ != nullptr; }

 private:
  transaction_statements* st_;
};

}  // namespace treecrdt::sqlite
