#pragma once
// The PostgreSQL schema (documented in ../postgres.hpp), its idempotent creation and the in-place
// migration of an older layout. Both run in one transaction under a database-wide advisory lock, so
// processes opening a database at the same moment neither race on CREATE/ALTER TABLE nor see half a
// schema.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "../../errors.hpp"
#include "connection.hpp"

namespace treecrdt::pg {

/// Version of the table layout below. A database written by a newer library is refused.
///   1: the first layout.
///   2: treecrdt_checkpoints gains base_lamport, base_replica, base_counter (incremental checkpoints).
///   3: treecrdt_version, each document's version vector kept by append (runs of counters per replica).
inline constexpr std::int32_t schema_version = 3;
/// The oldest version ensure_schema migrates in place.
inline constexpr std::int32_t oldest_migratable_version = 1;

/// Arbitrary constant identifying "treecrdt schema setup" among advisory locks.
inline constexpr const char* schema_lock_sql = "SELECT pg_advisory_xact_lock(7310593858810291521)";

inline constexpr const char* create_version_table_sql =
    "CREATE TABLE IF NOT EXISTS treecrdt_schema ("
    " component text PRIMARY KEY,"
    " version integer NOT NULL)";

inline constexpr const char* read_version_sql = "SELECT version FROM treecrdt_schema WHERE component = 'treecrdt'";

/// The log's version vector per document: one row per maximal run [first, last] of counters
/// (encoded like treecrdt_ops.counter) that a replica has in the document's log. Kept by the append
/// statement in the same transaction; read whole by log_version(), O(replicas + gaps) rows.
inline constexpr const char* version_table_sql =
    "CREATE TABLE IF NOT EXISTS treecrdt_version ("
    " doc bytea NOT NULL,"
    " replica bytea NOT NULL,"
    " first bigint NOT NULL,"
    " last bigint NOT NULL,"
    " PRIMARY KEY (doc, replica, first))";

inline constexpr std::array<const char*, 6> create_tables_sql = {
    // lamport and counter hold uint64 - 2^63 (see wire.hpp): signed order equals unsigned order.
    "CREATE TABLE IF NOT EXISTS treecrdt_ops ("
    " doc bytea NOT NULL,"
    " replica bytea NOT NULL,"
    " counter bigint NOT NULL,"
    " lamport bigint NOT NULL,"
    " body bytea NOT NULL,"
    " PRIMARY KEY (doc, replica, counter))",
    "CREATE INDEX IF NOT EXISTS treecrdt_ops_by_key ON treecrdt_ops (doc, lamport, replica, counter)",
    "CREATE TABLE IF NOT EXISTS treecrdt_meta ("
    " doc bytea PRIMARY KEY,"
    " op_count bigint NOT NULL DEFAULT 0,"
    " head_lamport bigint, head_replica bytea, head_counter bigint,"
    " head_seq bigint NOT NULL DEFAULT 0,"
    " frontier_lamport bigint, frontier_replica bytea, frontier_counter bigint,"
    " next_checkpoint_id bigint NOT NULL DEFAULT 1,"
    " CHECK ((head_lamport IS NULL) = (head_replica IS NULL) AND (head_replica IS NULL) = (head_counter IS NULL)),"
    " CHECK ((frontier_lamport IS NULL) = (frontier_replica IS NULL)"
    "        AND (frontier_replica IS NULL) = (frontier_counter IS NULL)))",
    // The base columns come last, where the 1 -> 2 migration's ADD COLUMN puts them, so a migrated
    // database and a new one have the same layout (blob is TOASTed, so its position costs nothing).
    "CREATE TABLE IF NOT EXISTS treecrdt_checkpoints ("
    " doc bytea NOT NULL,"
    " id bigint NOT NULL,"
    " lamport bigint NOT NULL, replica bytea NOT NULL, counter bigint NOT NULL,"
    " seq bigint NOT NULL,"
    " size_bytes bigint NOT NULL,"
    " blob bytea NOT NULL,"
    " base_lamport bigint, base_replica bytea, base_counter bigint,"
    " PRIMARY KEY (doc, id),"
    " UNIQUE (doc, lamport, replica, counter),"
    " CONSTRAINT treecrdt_checkpoints_base_check CHECK ((base_lamport IS NULL) = (base_replica IS NULL)"
    "   AND (base_replica IS NULL) = (base_counter IS NULL)))",
    version_table_sql,
    "INSERT INTO treecrdt_schema (component, version) VALUES ('treecrdt', 3)",
};
static_assert(schema_version == 3, "create_tables_sql writes version 3: update it with the layout");

/// One step of the in-place upgrade: the statements that turn a version `from` layout into a
/// version `from + 1` one, the version row's update included. They run in ensure_schema's
/// transaction, after the advisory lock.
struct migration_step {
  std::int32_t from;
  std::array<const char*, 3> sql;  // run in order; nullptr entries are skipped
};

/// 1 -> 2: the nullable base key of incremental checkpoints. Adding nullable columns without a
/// default only changes the catalog (no table rewrite), and every existing row of every document
/// reads as base NULL: a full checkpoint. The CHECK scans the table once (blobs are not detoasted).
inline constexpr migration_step migrate_1_to_2 = {
    1,
    {
        "ALTER TABLE treecrdt_checkpoints"
        " ADD COLUMN base_lamport bigint, ADD COLUMN base_replica bytea, ADD COLUMN base_counter bigint,"
        " ADD CONSTRAINT treecrdt_checkpoints_base_check CHECK ((base_lamport IS NULL) = (base_replica IS NULL)"
        "   AND (base_replica IS NULL) = (base_counter IS NULL))",
        "UPDATE treecrdt_schema SET version = 2 WHERE component = 'treecrdt' AND version = 1",
        nullptr,
    }};

/// 2 -> 3: treecrdt_version, filled from every document's log in one pass. Within one replica's
/// counters in ascending order, counter - row_number() is the same for every counter of a run of
/// consecutive counters and grows from one run to the next, so grouping by it gives the runs.
/// (No overflow: the k-th smallest stored counter is at least k above the smallest bigint.)
inline constexpr migration_step migrate_2_to_3 = {
    2,
    {
        version_table_sql,
        "INSERT INTO treecrdt_version (doc, replica, first, last)"
        " SELECT doc, replica, min(counter), max(counter) FROM ("
        "  SELECT doc, replica, counter, counter - row_number() OVER (PARTITION BY doc, replica ORDER BY counter) AS "
        "run"
        "  FROM treecrdt_ops) AS numbered"
        " GROUP BY doc, replica, run",
        "UPDATE treecrdt_schema SET version = 3 WHERE component = 'treecrdt' AND version = 2",
    }};

/// Every step, oldest first; the last one ends at schema_version.
inline constexpr std::array<migration_step, 2> migration_steps = {migrate_1_to_2, migrate_2_to_3};
static_assert(migration_steps.front().from == oldest_migratable_version &&
                  migration_steps.back().from + 1 == schema_version,
              "the migration steps must lead from oldest_migratable_version to schema_version");

namespace detail {
[[nodiscard]] inline schema_error version_mismatch(std::int32_t found) {
  return schema_error("postgres: the database has treecrdt schema version " + std::to_string(found) +
                      " (table treecrdt_schema) but this library reads version " + std::to_string(schema_version) +
                      (found > schema_version ? "; upgrade the library" : "; no migration from it exists"));
}
[[nodiscard]] inline bool migratable(std::int32_t found) noexcept {
  return found >= oldest_migratable_version && found < schema_version;
}
[[nodiscard]] inline std::int32_t read_version(const result& r) {
  try {
    return r.int4(0, 0);
  } catch (const treecrdt::detail::decode_failure& e) {
    throw schema_error(std::string("postgres: treecrdt_schema.version is not an integer column: ") + e.what());
  }
}
}  // namespace detail

/// Creates the tables if missing, migrates an older layout in place and checks the stored version.
/// The common case (schema present, current version) costs one statement; only a missing or older
/// schema takes the lock, then creates or migrates it in the same transaction: every document's
/// rows are kept, and a failure leaves the database exactly as it was.
/// Throws: schema_error if the database holds a newer (or unknown older) layout version;
///   storage_error on failures, for a failed migration step with "schema migration from version N
///   to N+1" in its message (the transaction is then rolled back).
inline void ensure_schema(connection& conn) {
  constexpr std::string_view what = "schema setup";
  try {
    const result version = conn.exec(what, read_version_sql);
    if (version.rows() == 1) {
      const std::int32_t found = detail::read_version(version);
      if (found == schema_version) return;
      if (!detail::migratable(found)) throw detail::version_mismatch(found);
    }
  } catch (const storage_error& e) {
    if (e.code() != "42P01") throw;  // undefined_table: a fresh database, created below
  }
  (void)conn.exec(what, "BEGIN");
  try {
    (void)conn.exec(what, schema_lock_sql);
    (void)conn.exec(what, create_version_table_sql);
    const result version = conn.exec(what, read_version_sql);
    if (version.rows() == 0) {
      for (const char* sql : create_tables_sql) (void)conn.exec(what, sql);
    } else {
      // Read again under the lock: another process may have migrated the database meanwhile.
      const std::int32_t found = detail::read_version(version);
      if (found != schema_version && !detail::migratable(found)) throw detail::version_mismatch(found);
      for (const migration_step& step : migration_steps) {
        if (step.from < found) continue;
        const std::string step_what = "schema migration from version " + std::to_string(step.from) + " to " +
                                      std::to_string(step.from + 1) + " (rolled back: the database is unchanged)";
        for (const char* sql : step.sql)
          if (sql != nullptr) (void)conn.exec(step_what, sql);
      }
    }
    (void)conn.exec(what, "COMMIT");
  } catch (...) {
    conn.exec_ignoring_errors("ROLLBACK");
    throw;
  }
}

}  // namespace treecrdt::pg
