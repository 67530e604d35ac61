#pragma once
// What the tool needs of a PostgreSQL document beyond the storage policy: whether it exists and
// whether it has tree tables (postgres_store), the tool's settings (the checkpoint cadence, as for
// SQLite files), the import pre-check for ops that conflict with stored ones, and the bytes its
// rows take. Plain SQL on the storage's own connection, outside its transactions, with bound
// parameters only.
#include <libpq-fe.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "cli/cli_support.hpp"
#include "treecrdt/json.hpp"
#include "treecrdt/op_codec.hpp"
#include "treecrdt/storage/postgres.hpp"
#include "treecrdt/store/postgres_store.hpp"

namespace treecrdt_cli {

using postgres_storage = treecrdt::postgres_storage<key>;
using postgres_table_store = treecrdt::postgres_store<key>;

namespace pg_detail {
/// Runs `sql` with binary parameters and results on the storage's connection.
inline treecrdt::pg::result run(postgres_storage& s, const char* sql, const treecrdt::pg::params& p,
                                std::string_view what) {
  const auto a = p.for_libpq();
  PGresult* raw =
      PQexecParams(s.raw_connection(), sql, p.size(), nullptr, a.values.data(), a.lengths.data(), a.formats.data(), 1);
  treecrdt::pg::result r(raw);
  const auto status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throw treecrdt::pg::make_storage_error(s.raw_connection(), raw, what);
  return r;
}
}  // namespace pg_detail

/// True when the document has ever been written (its meta row exists).
[[nodiscard]] inline bool document_exists(postgres_storage& s) {
  treecrdt::pg::params p;
  p.add_bytes(s.document_id());
  return pg_detail::run(s, "SELECT 1 FROM treecrdt_meta WHERE doc = $1", p, "looking up the document").rows() == 1;
}

/// True when `name` is a table or view of the database (on the connection's search path).
[[nodiscard]] inline bool relation_exists(postgres_storage& s, const char* name) {
  treecrdt::pg::params p;
  p.add_bytes(name);  // inferred as text, whose binary form is its bytes
  return pg_detail::run(s, "SELECT to_regclass($1) IS NOT NULL", p, "looking up a table").boolean(0, 0);
}

/// True when this document already has postgres_store's tables: the tables exist (they are shared
/// by every document of the database) and hold its metadata row. Plain queries: opening the store
/// would create the tables, and its first write transaction the document's rows.
[[nodiscard]] inline bool has_tree_tables(postgres_storage& s) {
  if (!relation_exists(s, "treecrdt_tree_meta")) return false;
  treecrdt::pg::params p;
  p.add_bytes(s.document_id());
  return pg_detail::run(s, "SELECT 1 FROM treecrdt_tree_meta WHERE doc = $1", p, "looking for the tree tables")
             .rows() == 1;
}

[[nodiscard]] inline std::optional<std::uint64_t> stored_cadence(postgres_storage& s) {
  treecrdt::pg::params none;
  if (pg_detail::run(s, "SELECT to_regclass('treecrdt_cli_settings') IS NOT NULL", none, "reading the tool's settings")
          .boolean(0, 0) == false)
    return std::nullopt;
  treecrdt::pg::params p;
  p.add_bytes(s.document_id());
  const auto r = pg_detail::run(s, "SELECT value FROM treecrdt_cli_settings WHERE doc = $1 AND name = 'cadence'", p,
                                "reading the stored cadence");
  if (r.rows() == 0) return std::nullopt;
  return static_cast<std::uint64_t>(r.int8(0, 0));
}

inline void store_cadence(postgres_storage& s, std::uint64_t cadence) {
  treecrdt::pg::params none;
  // Two processes creating the table at once would race in CREATE TABLE IF NOT EXISTS: an advisory
  // lock held for the creating transaction serializes them.
  (void)pg_detail::run(s, "BEGIN", none, "creating the tool's settings table");
  try {
    (void)pg_detail::run(s, "SELECT pg_advisory_xact_lock(7310593858810291522)", none,
                         "creating the tool's settings table");
    (void)pg_detail::run(s,
                         "CREATE TABLE IF NOT EXISTS treecrdt_cli_settings ("
                         " doc bytea NOT NULL, name text NOT NULL, value bigint NOT NULL, PRIMARY KEY (doc, name))",
                         none, "creating the tool's settings table");
    (void)pg_detail::run(s, "COMMIT", none, "creating the tool's settings table");
  } catch (...) {
    PQclear(PQexec(s.raw_connection(), "ROLLBACK"));
    throw;
  }
  treecrdt::pg::params p;
  p.add_bytes(s.document_id()).add_int8(static_cast<std::int64_t>(cadence));
  (void)pg_detail::run(s,
                       "INSERT INTO treecrdt_cli_settings (doc, name, value) VALUES ($1, 'cadence', $2)"
                       " ON CONFLICT (doc, name) DO UPDATE SET value = EXCLUDED.value",
                       p, "storing the cadence");
}

/// The first op (as a position in `ops`) whose (replica, counter) is stored with other content,
/// or nullopt: one query per 10,000 ops.
[[nodiscard]] inline std::optional<std::size_t> first_stored_conflict(
    postgres_storage& s, std::span<const treecrdt::json::numbered_op<key>> ops) {
  constexpr std::size_t chunk = 10000;
  for (std::size_t from = 0; from < ops.size(); from += chunk) {
    const std::size_t to = std::min(ops.size(), from + chunk);
    treecrdt::pg::array_builder idx(treecrdt::pg::int8_oid), replicas(treecrdt::pg::bytea_oid),
        counters(treecrdt::pg::int8_oid), lamports(treecrdt::pg::int8_oid), bodies(treecrdt::pg::bytea_oid);
    for (std::size_t i = from; i < to; ++i) {
      const auto& o = ops[i].value;
      idx.add_int8(static_cast<std::int64_t>(i));
      replicas.add_bytes(o.key.replica);
      counters.add_int8(treecrdt::pg::to_sortable_int8(o.key.counter));
      lamports.add_int8(treecrdt::pg::to_sortable_int8(o.key.lamport));
      bodies.add_bytes(treecrdt::encode_op_body(o));
    }
    treecrdt::pg::params p;
    p.add_bytes(s.document_id())
        .add_owned(std::move(idx).finish())
        .add_owned(std::move(replicas).finish())
        .add_owned(std::move(counters).finish())
        .add_owned(std::move(lamports).finish())
        .add_owned(std::move(bodies).finish());
    const auto r =
        pg_detail::run(s,
                       "SELECT min(b.idx) FROM unnest($2::int8[], $3::bytea[], $4::int8[], $5::int8[], $6::bytea[])"
                       "  AS b(idx, replica, counter, lamport, body)"
                       " JOIN treecrdt_ops o ON o.doc = $1 AND o.replica = b.replica AND o.counter = b.counter"
                       " WHERE o.lamport <> b.lamport OR o.body <> b.body",
                       p, "looking up stored ops");
    if (!r.is_null(0, 0)) return static_cast<std::size_t>(r.int8(0, 0));
  }
  return std::nullopt;
}

/// Bytes of the document's rows (ops, checkpoints, version vector, and its tree tables' rows when
/// it has them), as PostgreSQL stores them.
[[nodiscard]] inline std::uint64_t storage_bytes(postgres_storage& s) {
  treecrdt::pg::params p;
  p.add_bytes(s.document_id());
  const auto r =
      pg_detail::run(s,
                     "SELECT ((SELECT coalesce(sum(pg_column_size(o.*)), 0) FROM treecrdt_ops o WHERE doc = $1)"
                     " + (SELECT coalesce(sum(pg_column_size(c.*)), 0) FROM treecrdt_checkpoints c WHERE doc = $1)"
                     " + (SELECT coalesce(sum(pg_column_size(v.*)), 0) FROM treecrdt_version v WHERE doc = $1)"
                     ")::bigint",
                     p, "measuring the document");
  auto bytes = static_cast<std::uint64_t>(r.int8(0, 0));
  if (has_tree_tables(s)) {
    const auto t =
        pg_detail::run(s,
                       "SELECT ((SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM treecrdt_tree t WHERE doc = $1)"
                       " + (SELECT coalesce(sum(pg_column_size(m.*)), 0) FROM treecrdt_tree_meta m WHERE doc = $1)"
                       " + (SELECT coalesce(sum(pg_column_size(j.*)), 0) FROM treecrdt_tree_journal j WHERE doc = $1)"
                       ")::bigint",
                       p, "measuring the document's tree tables");
    bytes += static_cast<std::uint64_t>(t.int8(0, 0));
  }
  return bytes;
}

}  // namespace treecrdt_cli
