#pragma once
// A treecrdt SQLite file of schema version 1, written the way version 1 of the library wrote it:
// WAL mode, then that version's exact DDL in one transaction, then rows through a plain connection
// with bound values. No storage code of the current version is involved (only the op body codec and
// the integer encoding, which version 2 did not change), so migration tests start from what an old
// file really holds. Default keys only.
#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "sqlite/sqlite_test_support.hpp"
#include "treecrdt/op.hpp"
#include "treecrdt/op_codec.hpp"
#include "treecrdt/storage/sqlite/schema.hpp"

namespace treecrdt_test {

// The DDL of schema version 1, exactly as include/treecrdt/storage/sqlite/schema.hpp had it before
// version 2 (commit 4e35d3a and earlier).
inline constexpr const char* version_1_ddl = R"sql(
CREATE TABLE treecrdt_ops (
  lamport INTEGER NOT NULL,
  replica BLOB NOT NULL,
  counter INTEGER NOT NULL,
  body BLOB NOT NULL,
  PRIMARY KEY (lamport, replica, counter)
) WITHOUT ROWID;
CREATE UNIQUE INDEX treecrdt_ops_by_id ON treecrdt_ops (replica, counter);
CREATE TABLE treecrdt_meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  head_lamport INTEGER,
  head_replica BLOB,
  head_counter INTEGER,
  head_seq INTEGER NOT NULL,
  frontier_lamport INTEGER,
  frontier_replica BLOB,
  frontier_counter INTEGER,
  op_count INTEGER NOT NULL
);
INSERT INTO treecrdt_meta (id, head_seq, op_count) VALUES (1, 0, 0);
CREATE TABLE treecrdt_checkpoints (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  lamport INTEGER NOT NULL,
  replica BLOB NOT NULL,
  counter INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  size INTEGER NOT NULL,
  blob BLOB NOT NULL,
  UNIQUE (lamport, replica, counter)
);
PRAGMA application_id = 1413698116;
PRAGMA user_version = 1;
)sql";

/// A new version 1 file at `path`, open on a plain connection until destroyed.
class version_1_file {
 public:
  using K = treecrdt::default_op_key;

  explicit version_1_file(const std::string& path) {
    try {
      if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("test cannot open " + path);
      exec_sql(db_, "PRAGMA journal_mode = WAL");
      exec_sql(db_, std::string("BEGIN IMMEDIATE;") + version_1_ddl + "COMMIT;");
    } catch (...) {
      sqlite3_close(db_);
      throw;
    }
  }
  version_1_file(const version_1_file&) = delete;
  version_1_file& operator=(const version_1_file&) = delete;
  ~version_1_file() { sqlite3_close(db_); }

  [[nodiscard]] sqlite3* db() const noexcept { return db_; }

  void add_op(const treecrdt::op<K>& o) {
    statement st(db_, "INSERT INTO treecrdt_ops (lamport, replica, counter, body) VALUES (?1, ?2, ?3, ?4)");
    st.bind_key(1, o.key);
    st.bind_blob(4, treecrdt::encode_op_body(o));
    st.run();
    exec_sql(db_, "UPDATE treecrdt_meta SET op_count = op_count + 1");
  }
  void set_head(const K& head, std::int64_t seq) {
    statement st(db_,
                 "UPDATE treecrdt_meta SET head_lamport = ?1, head_replica = ?2, head_counter = ?3, head_seq = ?4");
    st.bind_key(1, head);
    st.bind_int(4, seq);
    st.run();
  }
  std::uint64_t add_checkpoint(const K& key, std::int64_t seq, const std::string& blob) {
    statement st(db_,
                 "INSERT OR REPLACE INTO treecrdt_checkpoints (lamport, replica, counter, seq, size, blob) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    st.bind_key(1, key);
    st.bind_int(4, seq);
    st.bind_int(5, static_cast<std::int64_t>(blob.size()));
    st.bind_blob(6, blob);
    st.run();
    return static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db_));
  }
  void drop_checkpoint(std::uint64_t id) {
    statement st(db_, "DELETE FROM treecrdt_checkpoints WHERE id = ?1");
    st.bind_int(1, static_cast<std::int64_t>(id));
    st.run();
  }

 private:
  class statement {
   public:
    statement(sqlite3* db, const char* sql) {
      if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK)
        throw std::runtime_error(std::string("test cannot prepare: ") + sqlite3_errmsg(db));
    }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    ~statement() { sqlite3_finalize(st_); }
    void bind_int(int i, std::int64_t v) { sqlite3_bind_int64(st_, i, v); }
    void bind_blob(int i, const std::string& v) { sqlite3_bind_blob64(st_, i, v.data(), v.size(), SQLITE_TRANSIENT); }
    void bind_key(int first, const K& k) {
      bind_int(first, treecrdt::sqlite::to_ordered_int64(k.lamport));
      bind_blob(first + 1, k.replica);
      bind_int(first + 2, treecrdt::sqlite::to_ordered_int64(k.counter));
    }
    void run() {
      if (sqlite3_step(st_) != SQLITE_DONE)
        throw std::runtime_error(std::string("test statement failed: ") + sqlite3_errmsg(sqlite3_db_handle(st_)));
    }

   private:
    sqlite3_stmt* st_ = nullptr;
  };
  sqlite3* db_ = nullptr;
};

}  // namespace treecrdt_test
