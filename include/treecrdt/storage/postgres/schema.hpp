#pragma once
// The PostgreSQL schema (documented in ../postgres.hpp) and its idempotent creation. Creation runs in
// one transaction under a database-wide advisory lock, so processes opening a fresh database at the
// same moment neither race on CREATE TABLE nor see half a schema.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "../../errors.hpp"
#include "connection.hpp"

namespace treecrdt::pg {

/// Version of the table layout below. A database written by a newer library is refused.
inline constexpr std::int32_t schema_version = 1;

/// Arbitrary constant identifying "treecrdt schema setup" among advisory locks.
inline constexpr const char* schema_lock_sql = "SELECT pg_advisory_xact_lock(7310593858810291521)";

inline constexpr const char* create_version_table_sql =
    "CREATE TABLE IF NOT EXISTS treecrdt_schema ("
    " component text PRIMARY KEY,"
    " version integer NOT NULL)";

inline constexpr const char* read_version_sql = "SELECT version FROM treecrdt_schema WHERE component = 'treecrdt'";

inline constexpr std::array<const char*, 5> create_tables_sql = {
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
    "CREATE TABLE IF NOT EXISTS treecrdt_checkpoints ("
    " doc bytea NOT NULL,"
    " id bigint NOT NULL,"
    " lamport bigint NOT NULL, replica bytea NOT NULL, counter bigint NOT NULL,"
    " seq bigint NOT NULL,"
    " size_bytes bigint NOT NULL,"
    " blob bytea NOT NULL,"
    " PRIMARY KEY (doc, id),"
    " UNIQUE (doc, lamport, replica, counter))",
    "INSERT INTO treecrdt_schema (component, version) VALUES ('treecrdt', 1)",
};
static_assert(schema_version == 1, "create_tables_sql writes version 1: update it with the layout");

namespace detail {
[[nodiscard]] inline schema_error version_mismatch(std::int32_t found) {
  return schema_error("postgres: the database has treecrdt schema version " + std::to_string(found) +
                      " (table treecrdt_schema) but this library reads version " + std::to_string(schema_version) +
                      (found > schema_version ? "; upgrade the library" : "; no migration from it exists"));
}
[[nodiscard]] inline std::int32_t read_version(const result& r) {
  try {
    return r.int4(0, 0);
  } catch (const treecrdt::detail::decode_failure& e) {
    throw schema_error(std::string("postgres: treecrdt_schema.version is not an integer column: ") + e.what());
  }
}
}  // namespace detail

/// Creates the tables if missing and checks the stored version. The common case (schema present,
/// current version) costs one statement; only a missing schema takes the lock and creates it.
/// Throws: schema_error if the database holds another layout version; storage_error on failures.
inline void ensure_schema(connection& conn) {
  constexpr std::string_view what = "schema setup";
  try {
    const result version = conn.exec(what, read_version_sql);
    if (version.rows() == 1) {
      const std::int32_t found = detail::read_version(version);
      if (found != schema_version) throw detail::version_mismatch(found);
      return;
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
      const std::int32_t found = detail::read_version(version);
      if (found != schema_version) throw detail::version_mismatch(found);
    }
    (void)conn.exec(what, "COMMIT");
  } catch (...) {
    conn.exec_ignoring_errors("ROLLBACK");
    throw;
  }
}

}  // namespace treecrdt::pg
