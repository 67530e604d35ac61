#pragma once
// The on-disk format of sqlite_storage (documented in full at the top of storage/sqlite.hpp):
// the application id and schema version written in the file header, the order-preserving integer
// encoding, the DDL, the migration of files written by an older version, and the check run at open
// that refuses foreign or newer files without touching them.
#include <sqlite3.h>

#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "../../errors.hpp"
#include "connection.hpp"
#include "error.hpp"

#if SQLITE_VERSION_NUMBER < 3024000
#error "treecrdt's SQLite storage needs SQLite >= 3.24 (row values, ON CONFLICT DO NOTHING, prepare_v3)"
#endif

namespace treecrdt::sqlite {

/// PRAGMA application_id of every treecrdt database: the ASCII bytes "TCRD".
inline constexpr std::int32_t application_id = 0x54435244;
/// PRAGMA user_version: the schema version this header reads and writes.
///   1: the first layout.
///   2: treecrdt_checkpoints gains base_lamport, base_replica, base_counter (incremental checkpoints).
///   3: treecrdt_version, the log's version vector kept by append (runs of counters per replica).
inline constexpr std::int32_t schema_version = 3;
/// The oldest version open() migrates in place; older (0) is an incomplete file, refused.
inline constexpr std::int32_t oldest_migratable_version = 1;

/// SQLite integers are signed 64-bit; lamports and counters are unsigned. Flipping the top bit maps
/// 0 → INT64_MIN and 2^64-1 → INT64_MAX, so SQL comparisons and ORDER BY follow unsigned order.
[[nodiscard]] constexpr std::int64_t to_ordered_int64(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>(v ^ (std::uint64_t{1} << 63));
}
[[nodiscard]] constexpr std::uint64_t from_ordered_int64(std::int64_t v) noexcept {
  return static_cast<std::uint64_t>(v) ^ (std::uint64_t{1} << 63);
}

inline constexpr const char* schema_ddl = R"sql(
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
  base_lamport INTEGER,
  base_replica BLOB,
  base_counter INTEGER,
  blob BLOB NOT NULL,
  UNIQUE (lamport, replica, counter),
  CHECK ((base_lamport IS NULL) = (base_replica IS NULL) AND (base_replica IS NULL) = (base_counter IS NULL))
);
CREATE TABLE treecrdt_version (
  replica BLOB NOT NULL,
  first INTEGER NOT NULL,
  last INTEGER NOT NULL,
  PRIMARY KEY (replica, first)
) WITHOUT ROWID;
PRAGMA application_id = 1413698116;
PRAGMA user_version = 3;
)sql";
static_assert(application_id == 1413698116 && schema_version == 3, "keep schema_ddl's PRAGMAs in sync");

/// One step of the in-place upgrade: the DDL that turns a version `from` file into a version
/// `from + 1` one, run inside the open transaction together with the user_version bump.
struct migration_step {
  std::int32_t from;
  const char* ddl;
};

/// 1 -> 2: treecrdt_checkpoints gets the nullable base key; every existing checkpoint becomes a full
/// one (base NULL). ALTER TABLE ADD COLUMN would append the columns after `blob`, so reading them
/// would walk every blob's overflow pages; the table is rebuilt instead (SQLite's documented
/// create-copy-drop-rename procedure) so that a migrated file has exactly the layout of a new one.
/// Ids are copied, and the AUTOINCREMENT high-water mark too, so no dropped id is ever reused.
inline constexpr const char* migrate_1_to_2_ddl = R"sql(
CREATE TABLE treecrdt_checkpoints_v2 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  lamport INTEGER NOT NULL,
  replica BLOB NOT NULL,
  counter INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  size INTEGER NOT NULL,
  base_lamport INTEGER,
  base_replica BLOB,
  base_counter INTEGER,
  blob BLOB NOT NULL,
  UNIQUE (lamport, replica, counter),
  CHECK ((base_lamport IS NULL) = (base_replica IS NULL) AND (base_replica IS NULL) = (base_counter IS NULL))
);
INSERT INTO treecrdt_checkpoints_v2 (id, lamport, replica, counter, seq, size, blob)
  SELECT id, lamport, replica, counter, seq, size, blob FROM treecrdt_checkpoints ORDER BY id;
DELETE FROM sqlite_sequence WHERE name = 'treecrdt_checkpoints_v2';
INSERT INTO sqlite_sequence (name, seq)
  SELECT 'treecrdt_checkpoints_v2', seq FROM sqlite_sequence WHERE name = 'treecrdt_checkpoints';
DROP TABLE treecrdt_checkpoints;
ALTER TABLE treecrdt_checkpoints_v2 RENAME TO treecrdt_checkpoints;
PRAGMA user_version = 2;
)sql";

/// 2 -> 3: treecrdt_version, the log's version vector, built from the existing log. Each row is a
/// maximal run of counters one replica has in the log: a run starts at a counter whose predecessor
/// is not stored and ends at the first counter from there whose successor is not stored. Both are
/// index seeks on treecrdt_ops_by_id, so the build is one pass over the log's ids, O(n log n).
/// (Counters are stored with the top bit flipped, which keeps "+ 1" and "- 1" exact: stored
/// counters are at most the clock limit, far below the top of the range.)
inline constexpr const char* migrate_2_to_3_ddl = R"sql(
CREATE TABLE treecrdt_version (
  replica BLOB NOT NULL,
  first INTEGER NOT NULL,
  last INTEGER NOT NULL,
  PRIMARY KEY (replica, first)
) WITHOUT ROWID;
INSERT INTO treecrdt_version (replica, first, last)
  SELECT s.replica, s.counter,
         (SELECT e.counter FROM treecrdt_ops AS e
           WHERE e.replica = s.replica AND e.counter >= s.counter
             AND NOT EXISTS (SELECT 1 FROM treecrdt_ops AS n WHERE n.replica = e.replica AND n.counter = e.counter + 1)
           ORDER BY e.counter LIMIT 1)
  FROM treecrdt_ops AS s
  WHERE NOT EXISTS (SELECT 1 FROM treecrdt_ops AS p WHERE p.replica = s.replica AND p.counter = s.counter - 1);
PRAGMA user_version = 3;
)sql";

/// Every step, oldest first; the last one ends at schema_version.
inline constexpr migration_step migration_steps[] = {{1, migrate_1_to_2_ddl}, {2, migrate_2_to_3_ddl}};
static_assert(migration_steps[0].from == oldest_migratable_version &&
                  migration_steps[std::size(migration_steps) - 1].from + 1 == schema_version,
              "the migration steps must lead from oldest_migratable_version to schema_version");

inline const std::vector<std::string>& required_tables() {
  static const std::vector<std::string> names{"treecrdt_checkpoints", "treecrdt_meta", "treecrdt_ops"};
  return names;
}

/// What the file's header and catalogue say, read without writing anything.
struct schema_probe {
  std::int64_t application_id = 0;
  std::int64_t user_version = 0;
  std::vector<std::string> objects;  // names in sqlite_master, SQLite's internal ones excluded

  [[nodiscard]] bool empty_database() const noexcept {
    return application_id == 0 && user_version == 0 && objects.empty();
  }
  [[nodiscard]] bool has(const std::string& name) const {
    for (const auto& o : objects)
      if (o == name) return true;
    return false;
  }
  [[nodiscard]] std::string describe() const {
    std::string s =
        "application_id " + hex32(application_id) + ", user_version " + std::to_string(user_version) + ", objects: ";
    if (objects.empty()) s += "none";
    for (std::size_t i = 0; i < objects.size(); ++i) s += (i ? ", " : "") + objects[i];
    return s;
  }
  [[nodiscard]] static std::string hex32(std::int64_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s = "0x";
    const auto u = static_cast<std::uint32_t>(v);
    for (int shift = 28; shift >= 0; shift -= 4) s += digits[(u >> shift) & 0xf];
    return s;
  }
};

[[nodiscard]] inline schema_probe probe_schema(const connection& conn) {
  schema_probe p;
  {
    statement s(conn, "PRAGMA application_id", "reading PRAGMA application_id");
    auto u = s.use();
    if (u.step()) p.application_id = u.column_int64(0);
  }
  {
    statement s(conn, "PRAGMA user_version", "reading PRAGMA user_version");
    auto u = s.use();
    if (u.step()) p.user_version = u.column_int64(0);
  }
  {
    statement s(conn, "SELECT name FROM sqlite_master WHERE substr(name, 1, 7) <> 'sqlite_' ORDER BY name",
                "listing the database's tables");
    auto u = s.use();
    while (u.step()) p.objects.push_back(u.column_text(0));
  }
  return p;
}

/// Throws schema_error unless `p` is a complete treecrdt database of a version this header reads
/// (schema_version) or migrates (oldest_migratable_version up to schema_version).
inline void require_treecrdt_schema(const schema_probe& p, const std::string& path) {
  if (p.application_id != application_id)
    throw schema_error(path + " is not a treecrdt database (found " + p.describe() +
                       "; treecrdt files have application_id " + schema_probe::hex32(application_id) +
                       "); refusing to open it");
  if (p.user_version > schema_version)
    throw schema_error(path + " has treecrdt schema version " + std::to_string(p.user_version) +
                       ", newer than the version this library supports (" + std::to_string(schema_version) +
                       "); open it with a newer treecrdt");
  if (p.user_version < oldest_migratable_version)
    throw schema_error(path + " has the treecrdt application_id but schema version " + std::to_string(p.user_version) +
                       " (found " + p.describe() + "); the file is incomplete or damaged");
  std::vector<std::string> tables = required_tables();
  if (p.user_version >= 3) tables.emplace_back("treecrdt_version");  // older files get it by migration
  for (const auto& t : tables)
    if (!p.has(t))
      throw schema_error(path + " is a treecrdt schema version " + std::to_string(p.user_version) +
                         " database without table " + t + " (found " + p.describe() + ")");
}

/// Upgrades a treecrdt file of an older version (checked by require_treecrdt_schema) to
/// schema_version in place: every step and the user_version bump run in one write transaction, so
/// the file is either fully migrated or, when any step fails, left exactly as it was.
/// Throws: schema_error when the handle cannot write (the file is then untouched); sqlite_error
///   naming the path and the step when a step fails (rolled back), or SQLITE_BUSY (retryable) when
///   another connection holds the write lock longer than the busy timeout.
inline void migrate_schema(connection& conn, const std::string& path, std::int32_t found) {
  if (conn.read_only())
    throw schema_error(path + " has treecrdt schema version " + std::to_string(found) + "; this library uses version " +
                       std::to_string(schema_version) +
                       " and migrates older files in place, which needs write access: open it once without read_only");
  transaction_statements st(conn);
  transaction tx(st);
  // Look again under the write lock: another process may have migrated the file meanwhile.
  const schema_probe p = probe_schema(conn);
  require_treecrdt_schema(p, path);
  for (const migration_step& step : migration_steps) {
    if (step.from < p.user_version) continue;
    conn.exec(step.ddl, "migrating " + path + " from treecrdt schema version " + std::to_string(step.from) + " to " +
                            std::to_string(step.from + 1) + " (rolled back: the file is unchanged)");
  }
  tx.commit();
}

/// WAL mode: readers never block the writer, and a commit is one append to the log file.
/// It is a property of the file (kept across connections); in-memory databases ignore it.
inline void enable_wal(connection& conn) {
  if (!conn.read_only()) conn.exec("PRAGMA journal_mode = WAL", "switching to WAL mode");
}

/// Runs `open_steps` (the first reads of a freshly opened connection) and reports a file that is not
/// an SQLite database at all as schema_error instead of SQLITE_NOTADB.
template <class Steps>
void refuse_non_databases(const std::string& path, Steps&& open_steps) {
  try {
    open_steps();
  } catch (const sqlite_error& e) {
    if (e.primary_code() != SQLITE_NOTADB) throw;
    throw schema_error(path + " is not a SQLite database, so not a treecrdt database (" + e.what() + ")");
  }
}

/// Checks the file at open, initializes it when it is a brand-new, empty database and migrates it
/// when it is treecrdt's of an older version, then makes sure it is in WAL mode.
/// Effects: nothing is written unless the database is empty or treecrdt's own; a foreign or newer
///   file is left as is.
/// Throws: schema_error (foreign, newer or damaged file; an older one opened read-only),
///   sqlite_error (I/O, locks, SQLITE_NOTADB, a failed migration step).
inline void open_schema(connection& conn, const std::string& path) {
  schema_probe p = probe_schema(conn);
  if (p.empty_database()) {
    enable_wal(conn);  // before the tables exist, so creating them is already a WAL commit
    // Look again under the write lock: another process may have initialized the file meanwhile.
    transaction_statements st(conn);
    transaction tx(st);
    p = probe_schema(conn);
    if (p.empty_database()) {
      conn.exec(schema_ddl, "creating the treecrdt schema");
      tx.commit();
      return;
    }
  }
  require_treecrdt_schema(p, path);
  if (p.user_version < schema_version) migrate_schema(conn, path, static_cast<std::int32_t>(p.user_version));
  enable_wal(conn);
}

}  // namespace treecrdt::sqlite
