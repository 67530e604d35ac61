#pragma once
// postgres_tree_tables: TreeTables (tree_tables.hpp) in PostgreSQL. Link `treecrdt::postgres`.
//
// The materialized tree of one document lives in the database of its op log, keyed by the same
// `doc` bytea, and is written on the postgres_storage handle's own connection inside its
// transaction, so the tree always commits (or rolls back) together with the ops that made it.
//
// Schema (component 'treecrdt_tree' version 1 in treecrdt_schema; created idempotently by open()):
//   treecrdt_tree(doc bytea, id bytea, parent bytea NULL, order_key bytea NULL, tomb smallint NOT NULL,
//                 payload bytea NULL, state bytea NOT NULL)  PRIMARY KEY (doc, id)
//     INDEX treecrdt_tree_by_parent (doc, parent, order_key, id): folder listings and neighbours.
//     One row per node (ROOT and TRASH included), columns as tree_tables.hpp describes them. bytea
//     compares bytewise (a proper prefix first), which is the (order_key, id) order the concept needs.
//   treecrdt_tree_meta(doc bytea PRIMARY KEY, state bytea NOT NULL)   -- the store's metadata blob
//   treecrdt_tree_journal(doc bytea, last_seq bigint, first_seq bigint NOT NULL, ops bytea NOT NULL)
//     PRIMARY KEY (doc, last_seq); seq values are plain non-negative bigint.
//   VIEW treecrdt_tree_view(doc, id, parent, order_key, payload): every node but ROOT and TRASH with
//     its *visible* parent (TRASH's id when tomb = 2, else parent), for SQL readers:
//       SELECT id FROM treecrdt_tree_view WHERE doc = $1 AND parent = $2 ORDER BY order_key, id
//     lists a folder's visible children in order, as children() does for any parent but TRASH. A
//     UNION ALL of the two cases, so a filter on parent still uses the index.
// A database with a newer 'treecrdt_tree' version is refused (schema_error). Creation runs under
// the schema advisory lock of postgres/schema.hpp, in its own transaction when none is open.
//
// Transactions: writes require an open transaction of the storage (std::logic_error otherwise);
// reads run in it when one is open, else on their own, reconnecting first like the storage's reads.
//
// Faults: every failure throws storage_error("postgres", SQLSTATE or "connection", message naming
// the operation, retryable) as the storage does; a row that does not decode throws code
// "corrupt_row". The connection (and so the prepared statements) may be replaced by the storage's
// next begin() or by an idle read: statements are prepared per connection by the shared session.
//
// Round trips: one per call; put_all and load_many send their rows as arrays in one statement.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../detail/binary.hpp"
#include "../detail/hex.hpp"
#include "../errors.hpp"
#include "../node_id.hpp"
#include "../op_key.hpp"
#include "../storage/postgres.hpp"
#include "table_store.hpp"
#include "tree_tables.hpp"

namespace treecrdt {
namespace pg {

inline constexpr type_oid int2_oid = 21;
inline constexpr type_oid int2_array_oid = 1005;

/// Version of the tree tables' layout (component 'treecrdt_tree' in treecrdt_schema).
inline constexpr std::int32_t tree_schema_version = 1;

inline constexpr const char* read_tree_version_sql =
    "SELECT version FROM treecrdt_schema WHERE component = 'treecrdt_tree'";

// ROOT (16 zero bytes) and TRASH (16 0xff bytes) as SQL; decode() keeps them independent of
// standard_conforming_strings.
inline constexpr std::array<const char*, 6> create_tree_tables_sql = {
    "CREATE TABLE IF NOT EXISTS treecrdt_tree ("
    " doc bytea NOT NULL,"
    " id bytea NOT NULL,"
    " parent bytea,"
    " order_key bytea,"
    " tomb smallint NOT NULL,"
    " payload bytea,"
    " state bytea NOT NULL,"
    " PRIMARY KEY (doc, id))",
    "CREATE INDEX IF NOT EXISTS treecrdt_tree_by_parent ON treecrdt_tree (doc, parent, order_key, id)",
    "CREATE TABLE IF NOT EXISTS treecrdt_tree_meta ("
    " doc bytea PRIMARY KEY,"
    " state bytea NOT NULL)",
    "CREATE TABLE IF NOT EXISTS treecrdt_tree_journal ("
    " doc bytea NOT NULL,"
    " last_seq bigint NOT NULL,"
    " first_seq bigint NOT NULL,"
    " ops bytea NOT NULL,"
    " PRIMARY KEY (doc, last_seq))",
    "CREATE OR REPLACE VIEW treecrdt_tree_view AS"
    " SELECT doc, id, parent, order_key, payload FROM treecrdt_tree"
    "  WHERE tomb <> 2 AND id <> decode('00000000000000000000000000000000', 'hex')"
    "   AND id <> decode('ffffffffffffffffffffffffffffffff', 'hex')"
    " UNION ALL"
    " SELECT doc, id, decode('ffffffffffffffffffffffffffffffff', 'hex'), order_key, payload FROM treecrdt_tree"
    "  WHERE tomb = 2 AND id <> decode('00000000000000000000000000000000', 'hex')"
    "   AND id <> decode('ffffffffffffffffffffffffffffffff', 'hex')",
    "INSERT INTO treecrdt_schema (component, version) VALUES ('treecrdt_tree', 1)",
};
static_assert(tree_schema_version == 1, "create_tree_tables_sql writes version 1: update it with the layout");

enum class tree_statement : std::uint8_t {
  load,
  put,
  put_all,
  load_many,
  erase,
  children,
  first_child,
  last_child,
  child_after,
  child_before,
  rows_first,
  rows_after,
  clear_rows,
  load_meta,
  store_meta,
  journal_append,
  journal_newest,
  journal_newest_before,
  journal_erase,
  journal_trim_through,
  update_states,
};
inline constexpr std::size_t tree_statement_count = 21;

// Row columns, in this order wherever rows are read: id, parent, order_key, tomb, payload, state.
// $1 is always the document id.
inline constexpr std::array<statement_text, tree_statement_count> tree_statements = {{
    {"treecrdt_tree_load",
     "SELECT id, parent, order_key, tomb, payload, state FROM treecrdt_tree WHERE doc = $1 AND id = $2",
     {bytea_oid, bytea_oid}},
    {"treecrdt_tree_put",
     "INSERT INTO treecrdt_tree (doc, id, parent, order_key, tomb, payload, state)"
     " VALUES ($1, $2, $3, $4, $5, $6, $7)"
     " ON CONFLICT (doc, id) DO UPDATE SET parent = EXCLUDED.parent, order_key = EXCLUDED.order_key,"
     "  tomb = EXCLUDED.tomb, payload = EXCLUDED.payload, state = EXCLUDED.state",
     {bytea_oid, bytea_oid, bytea_oid, bytea_oid, int2_oid, bytea_oid, bytea_oid}},
    // The same upsert for a whole batch (ids distinct: one statement cannot update a row twice).
    {"treecrdt_tree_put_all",
     "INSERT INTO treecrdt_tree (doc, id, parent, order_key, tomb, payload, state)"
     " SELECT $1, r.id, r.parent, r.order_key, r.tomb, r.payload, r.state"
     " FROM unnest($2::bytea[], $3::bytea[], $4::bytea[], $5::int2[], $6::bytea[], $7::bytea[])"
     "  AS r(id, parent, order_key, tomb, payload, state)"
     " ON CONFLICT (doc, id) DO UPDATE SET parent = EXCLUDED.parent, order_key = EXCLUDED.order_key,"
     "  tomb = EXCLUDED.tomb, payload = EXCLUDED.payload, state = EXCLUDED.state",
     {bytea_oid, bytea_array_oid, bytea_array_oid, bytea_array_oid, int2_array_oid, bytea_array_oid, bytea_array_oid}},
    {"treecrdt_tree_load_many",
     "SELECT id, parent, order_key, tomb, payload, state FROM treecrdt_tree WHERE doc = $1 AND id = ANY($2::bytea[])",
     {bytea_oid, bytea_array_oid}},
    {"treecrdt_tree_erase", "DELETE FROM treecrdt_tree WHERE doc = $1 AND id = $2", {bytea_oid, bytea_oid}},
    {"treecrdt_tree_children",
     "SELECT id, tomb FROM treecrdt_tree WHERE doc = $1 AND parent = $2 ORDER BY order_key, id",
     {bytea_oid, bytea_oid}},
    // Neighbours: $2 parent, $3 the child to skip, $4/$5 the (order_key, id) to start from. Each is
    // one descent of treecrdt_tree_by_parent.
    {"treecrdt_tree_first_child",
     "SELECT order_key FROM treecrdt_tree WHERE doc = $1 AND parent = $2 AND id <> $3"
     " ORDER BY order_key, id LIMIT 1",
     {bytea_oid, bytea_oid, bytea_oid}},
    {"treecrdt_tree_last_child",
     "SELECT order_key FROM treecrdt_tree WHERE doc = $1 AND parent = $2 AND id <> $3"
     " ORDER BY order_key DESC, id DESC LIMIT 1",
     {bytea_oid, bytea_oid, bytea_oid}},
    {"treecrdt_tree_child_after",
     "SELECT order_key FROM treecrdt_tree WHERE doc = $1 AND parent = $2 AND id <> $3"
     " AND (order_key, id) > ($4, $5) ORDER BY order_key, id LIMIT 1",
     {bytea_oid, bytea_oid, bytea_oid, bytea_oid, bytea_oid}},
    {"treecrdt_tree_child_before",
     "SELECT order_key FROM treecrdt_tree WHERE doc = $1 AND parent = $2 AND id <> $3"
     " AND (order_key, id) < ($4, $5) ORDER BY order_key DESC, id DESC LIMIT 1",
     {bytea_oid, bytea_oid, bytea_oid, bytea_oid, bytea_oid}},
    {"treecrdt_tree_rows_first",
     "SELECT id, parent, order_key, tomb, payload, state FROM treecrdt_tree WHERE doc = $1 ORDER BY id LIMIT $2",
     {bytea_oid, int8_oid}},
    {"treecrdt_tree_rows_after",
     "SELECT id, parent, order_key, tomb, payload, state FROM treecrdt_tree WHERE doc = $1 AND id > $2"
     " ORDER BY id LIMIT $3",
     {bytea_oid, bytea_oid, int8_oid}},
    {"treecrdt_tree_clear_rows",
     "WITH nodes AS (DELETE FROM treecrdt_tree WHERE doc = $1)"
     " DELETE FROM treecrdt_tree_journal WHERE doc = $1",
     {bytea_oid}},
    {"treecrdt_tree_load_meta", "SELECT state FROM treecrdt_tree_meta WHERE doc = $1", {bytea_oid}},
    {"treecrdt_tree_store_meta",
     "INSERT INTO treecrdt_tree_meta (doc, state) VALUES ($1, $2)"
     " ON CONFLICT (doc) DO UPDATE SET state = EXCLUDED.state",
     {bytea_oid, bytea_oid}},
    {"treecrdt_tree_journal_append",
     "INSERT INTO treecrdt_tree_journal (doc, last_seq, first_seq, ops) VALUES ($1, $2, $3, $4)",
     {bytea_oid, int8_oid, int8_oid, bytea_oid}},
    // Journal chunks: first_seq, last_seq, ops.
    {"treecrdt_tree_journal_newest",
     "SELECT first_seq, last_seq, ops FROM treecrdt_tree_journal WHERE doc = $1 ORDER BY last_seq DESC LIMIT 1",
     {bytea_oid}},
    {"treecrdt_tree_journal_newest_before",
     "SELECT first_seq, last_seq, ops FROM treecrdt_tree_journal WHERE doc = $1 AND last_seq < $2"
     " ORDER BY last_seq DESC LIMIT 1",
     {bytea_oid, int8_oid}},
    {"treecrdt_tree_journal_erase",
     "DELETE FROM treecrdt_tree_journal WHERE doc = $1 AND last_seq = $2",
     {bytea_oid, int8_oid}},
    {"treecrdt_tree_journal_trim_through",
     "DELETE FROM treecrdt_tree_journal WHERE doc = $1 AND last_seq <= $2",
     {bytea_oid, int8_oid}},
    // Rows whose parent and order key are as stored: no indexed column changes, so the server can
    // update them in place (HOT) without touching treecrdt_tree_by_parent.
    {"treecrdt_tree_update_states",
     "UPDATE treecrdt_tree AS t SET tomb = r.tomb, payload = r.payload, state = r.state"
     " FROM unnest($2::bytea[], $3::int2[], $4::bytea[], $5::bytea[]) AS r(id, tomb, payload, state)"
     " WHERE t.doc = $1 AND t.id = r.id",
     {bytea_oid, bytea_array_oid, int2_array_oid, bytea_array_oid, bytea_array_oid}},
}};

namespace detail {
[[nodiscard]] constexpr bool every_tree_statement_types_its_parameters() noexcept {
  for (const statement_text& s : tree_statements)
    if (s.parameter_types().size() != highest_placeholder(s.sql)) return false;
  return true;
}
[[nodiscard]] inline schema_error tree_version_mismatch(std::int32_t found) {
  return schema_error("postgres: the database has treecrdt_tree schema version " + std::to_string(found) +
                      " (table treecrdt_schema) but this library reads version " + std::to_string(tree_schema_version) +
                      (found > tree_schema_version ? "; upgrade the library" : "; no migration from it exists"));
}
/// True when `version` (the result of read_tree_version_sql) holds the current version; throws
/// schema_error for another one; false when there is no row yet.
[[nodiscard]] inline bool tree_schema_present(const result& version) {
  if (version.rows() == 0) return false;
  const std::int32_t found = read_version(version);
  if (found != tree_schema_version) throw tree_version_mismatch(found);
  return true;
}
}  // namespace detail

static_assert(static_cast<std::size_t>(tree_statement::update_states) + 1 == tree_statement_count,
              "one tree_statements[] entry per enumerator, in order");
static_assert(detail::every_tree_statement_types_its_parameters(), "a tree statement's types do not match its $n");

/// Creates the tree tables if missing and checks their version: one statement when they exist;
/// otherwise the schema advisory lock, then creation, inside the session's open transaction (they
/// then commit or roll back with it) or in a transaction of their own.
/// Throws: schema_error for another stored version; storage_error on failures.
inline void ensure_tree_schema(document_session& s) {
  constexpr std::string_view what = "tree schema setup";
  const auto create = [&] {
    (void)s.conn.exec(what, schema_lock_sql);
    // Read again under the lock: another process may have created the tables meanwhile.
    if (detail::tree_schema_present(s.conn.exec(what, read_tree_version_sql))) return;
    for (const char* sql : create_tree_tables_sql) (void)s.conn.exec(what, sql);
  };
  if (s.in_transaction || s.scanning) {
    if (!detail::tree_schema_present(s.conn.exec(what, read_tree_version_sql))) create();
    return;
  }
  (void)s.idle_call([&] {
    if (detail::tree_schema_present(s.conn.exec(what, read_tree_version_sql))) return result{};
    (void)s.conn.exec(what, "BEGIN");
    try {
      create();
      (void)s.conn.exec(what, "COMMIT");
    } catch (...) {
      s.conn.exec_ignoring_errors("ROLLBACK");
      throw;
    }
    return result{};
  });
}

}  // namespace pg

/// One document's materialized tree in PostgreSQL tables (schema above), written in the
/// transactions of the document's postgres_storage handle. Movable; shares the handle's session, so
/// it stays valid when the handle is moved. Use it on the handle's thread only.
class postgres_tree_tables {
 public:
  /// Effects: binds to `storage`'s session (connection and document id) and creates the tree
  ///   tables if missing (see ensure_tree_schema: inside storage's open transaction if any).
  /// Throws: schema_error for a database with a newer tree layout; storage_error.
  template <OpKey Key>
  [[nodiscard]] static postgres_tree_tables open(postgres_storage<Key>& storage) {
    postgres_tree_tables t(storage.shared_session());
    pg::ensure_tree_schema(*t.s_);
    return t;
  }

  /// The row of `id`, or none. One indexed read.
  [[nodiscard]] std::optional<tree_row> load(node_id id) {
    const std::string raw = detail::node_id_bytes(id);
    pg::params p;
    p.add_bytes(s_->doc).add_bytes(raw);
    const pg::result r = read(pg::tree_statement::load, p, "load");
    if (r.rows() == 0) return std::nullopt;
    return read_row(r, 0, "load");
  }

  /// Requires: a transaction. Effects: inserts or replaces the row with row.id. One round trip.
  void put(const tree_row& row) {
    pg::document_session& s = require_transaction("put");
    pg::params p;
    p.add_bytes(s.doc).add_owned(detail::node_id_bytes(row.id));
    if (row.parent)
      p.add_owned(detail::node_id_bytes(*row.parent));
    else
      p.add_null();
    add_optional(p, row.order_key);
    p.add_owned(tomb_binary(row.tomb));
    add_optional(p, row.payload);
    p.add_bytes(row.state);
    (void)run(pg::tree_statement::put, p, "put");
  }

  /// Requires: a transaction. Effects: put() of each row in order (of repeated ids the last one
  ///   wins), in one statement: the rows go to the server as arrays. Complexity: O(m log m) here
  ///   (rows are sent in id order, which also keeps the index writes local), O(m log n) there.
  void put_all(const std::vector<tree_row>& rows) {
    pg::document_session& s = require_transaction("put_all");
    if (rows.empty()) return;
    std::vector<std::size_t> order(rows.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rows[a].id < rows[b].id; });
    pg::array_builder ids(pg::bytea_oid), parents(pg::bytea_oid), keys(pg::bytea_oid), tombs(pg::int2_oid),
        payloads(pg::bytea_oid), states(pg::bytea_oid);
    for (std::size_t i = 0; i < order.size(); ++i) {
      // An upsert cannot change one row twice: of equal ids (adjacent, in input order) send the last.
      if (i + 1 < order.size() && rows[order[i + 1]].id == rows[order[i]].id) continue;
      const tree_row& row = rows[order[i]];
      ids.add_bytes(detail::node_id_bytes(row.id));
      if (row.parent)
        parents.add_bytes(detail::node_id_bytes(*row.parent));
      else
        parents.add_null();
      add_optional(keys, row.order_key);
      tombs.add_bytes(tomb_binary(row.tomb));
      add_optional(payloads, row.payload);
      states.add_bytes(row.state);
    }
    pg::params p;
    p.add_bytes(s.doc)
        .add_owned(std::move(ids).finish())
        .add_owned(std::move(parents).finish())
        .add_owned(std::move(keys).finish())
        .add_owned(std::move(tombs).finish())
        .add_owned(std::move(payloads).finish())
        .add_owned(std::move(states).finish());
    (void)run(pg::tree_statement::put_all, p, "put_all");
  }

  /// Requires: a transaction; each row exists with the parent and order key it names. Effects:
  ///   rewrites tomb, payload and state of each, in one statement (ids distinct).
  void update_states(const std::vector<tree_row>& rows) {
    pg::document_session& s = require_transaction("update_states");
    if (rows.empty()) return;
    pg::array_builder ids(pg::bytea_oid), tombs(pg::int2_oid), payloads(pg::bytea_oid), states(pg::bytea_oid);
    for (const tree_row& row : rows) {
      ids.add_bytes(detail::node_id_bytes(row.id));
      tombs.add_bytes(tomb_binary(row.tomb));
      add_optional(payloads, row.payload);
      states.add_bytes(row.state);
    }
    pg::params p;
    p.add_bytes(s.doc)
        .add_owned(std::move(ids).finish())
        .add_owned(std::move(tombs).finish())
        .add_owned(std::move(payloads).finish())
        .add_owned(std::move(states).finish());
    (void)run(pg::tree_statement::update_states, p, "update_states");
  }

  /// The rows of those ids that exist, in no particular order (each once, even if asked twice).
  /// One round trip: the ids go to the server as an array.
  [[nodiscard]] std::vector<tree_row> load_many(const std::vector<node_id>& wanted) {
    if (wanted.empty()) return {};
    pg::array_builder ids(pg::bytea_oid);
    for (node_id id : wanted) ids.add_bytes(detail::node_id_bytes(id));
    pg::params p;
    p.add_bytes(s_->doc).add_owned(std::move(ids).finish());
    const pg::result r = read(pg::tree_statement::load_many, p, "load_many");
    std::vector<tree_row> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) out.push_back(read_row(r, row, "load_many"));
    return out;
  }

  /// Requires: a transaction. Effects: removes the row of `id` if present.
  void erase(node_id id) {
    pg::document_session& s = require_transaction("erase");
    pg::params p;
    p.add_bytes(s.doc).add_owned(detail::node_id_bytes(id));
    (void)run(pg::tree_statement::erase, p, "erase");
  }

  /// Every row whose parent is `parent`, by (order_key, id) bytewise. O(k + log n), one index range.
  [[nodiscard]] std::vector<tree_child> children(node_id parent) {
    pg::params p;
    p.add_bytes(s_->doc).add_owned(detail::node_id_bytes(parent));
    const pg::result r = read(pg::tree_statement::children, p, "children");
    std::vector<tree_child> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) {
      try {
        out.push_back(tree_child{detail::node_id_from_bytes(r.field(row, 0)), read_tomb(r, row, 1)});
      } catch (const detail::decode_failure& e) {
        throw corrupt_row("children", r, row, e.what());
      }
    }
    return out;
  }

  /// The order key of the first child of `parent` other than `skip` strictly after (forward) or
  /// before `from` = (order_key, id) in (order_key, id) order, from the start (forward) or end when
  /// `from` is none; none if there is no such child. One index descent.
  [[nodiscard]] std::optional<bytes> neighbour_key(node_id parent, const std::optional<std::pair<bytes, node_id>>& from,
                                                   bool forward, node_id skip) {
    pg::params p;
    p.add_bytes(s_->doc).add_owned(detail::node_id_bytes(parent)).add_owned(detail::node_id_bytes(skip));
    pg::tree_statement st = forward ? pg::tree_statement::first_child : pg::tree_statement::last_child;
    if (from) {
      p.add_bytes(from->first).add_owned(detail::node_id_bytes(from->second));
      st = forward ? pg::tree_statement::child_after : pg::tree_statement::child_before;
    }
    const pg::result r = read(st, p, "neighbour_key");
    if (r.rows() == 0) return std::nullopt;
    if (r.is_null(0, 0))
      throw storage_error(std::string(pg::backend_name), "corrupt_row",
                          "neighbour_key: a child of node " + to_hex(parent) + " of document " +
                              s_->describe_document() + " has no order key",
                          false);
    return bytes(r.field(0, 0));
  }

  /// Up to `limit` rows with id > `after` (all ids when none), ascending by id: pages of a full
  /// scan. O(limit + log n), one index range.
  [[nodiscard]] std::vector<tree_row> rows_after(std::optional<node_id> after, std::size_t limit) {
    if (limit == 0) return {};
    const auto capped = static_cast<std::int64_t>(
        std::min<std::uint64_t>(limit, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
    pg::params p;
    p.add_bytes(s_->doc);
    if (after) p.add_owned(detail::node_id_bytes(*after));
    p.add_int8(capped);
    const pg::result r = read(after ? pg::tree_statement::rows_after : pg::tree_statement::rows_first, p, "rows_after");
    std::vector<tree_row> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) out.push_back(read_row(r, row, "rows_after"));
    return out;
  }

  /// Requires: a transaction. Effects: removes every row and journal chunk of this document (the
  /// metadata blob stays; other documents are untouched). One round trip.
  void clear_rows() {
    pg::document_session& s = require_transaction("clear_rows");
    pg::params p;
    p.add_bytes(s.doc);
    (void)run(pg::tree_statement::clear_rows, p, "clear_rows");
  }

  /// The metadata blob, or none if never stored.
  [[nodiscard]] std::optional<bytes> load_meta() {
    pg::params p;
    p.add_bytes(s_->doc);
    const pg::result r = read(pg::tree_statement::load_meta, p, "load_meta");
    if (r.rows() == 0) return std::nullopt;
    return bytes(r.field(0, 0));
  }

  /// Requires: a transaction. Effects: replaces the metadata blob.
  void store_meta(std::string_view blob) {
    pg::document_session& s = require_transaction("store_meta");
    pg::params p;
    p.add_bytes(s.doc).add_bytes(blob);
    (void)run(pg::tree_statement::store_meta, p, "store_meta");
  }

  /// Requires: a transaction; chunk.last_seq not stored yet (else storage_error 23505); both seqs
  /// < 2^63 (else storage_error "out_of_range"). Effects: stores the chunk.
  void journal_append(const journal_chunk& chunk) {
    pg::document_session& s = require_transaction("journal_append");
    pg::params p;
    p.add_bytes(s.doc)
        .add_int8(to_bigint(chunk.last_seq, "journal_append"))
        .add_int8(to_bigint(chunk.first_seq, "journal_append"))
        .add_bytes(chunk.ops);
    (void)run(pg::tree_statement::journal_append, p, "journal_append");
  }

  /// The chunk with the greatest last_seq < `before` (any chunk when none), or none.
  /// O(log chunks + size): one index descent.
  [[nodiscard]] std::optional<journal_chunk> journal_newest(std::optional<std::uint64_t> before) {
    const std::uint64_t limit = before.value_or(0);
    if (before && limit == 0) return std::nullopt;
    const bool bounded = before && limit <= bigint_max;  // above it: every stored last_seq is below
    pg::params p;
    p.add_bytes(s_->doc);
    if (bounded) p.add_int8(static_cast<std::int64_t>(limit));
    const pg::result r = read(bounded ? pg::tree_statement::journal_newest_before : pg::tree_statement::journal_newest,
                              p, "journal_newest");
    if (r.rows() == 0) return std::nullopt;
    const std::int64_t first = r.int8(0, 0);
    const std::int64_t last = r.int8(0, 1);
    if (first < 0 || last < 0)
      throw storage_error(std::string(pg::backend_name), "corrupt_row",
                          "journal_newest: a chunk of document " + s_->describe_document() + " has a negative seq",
                          false);
    return journal_chunk{static_cast<std::uint64_t>(first), static_cast<std::uint64_t>(last), bytes(r.field(0, 2))};
  }

  /// Requires: a transaction. Effects: removes the chunk with that last_seq, if any.
  void journal_erase(std::uint64_t last_seq) {
    pg::document_session& s = require_transaction("journal_erase");
    if (last_seq > bigint_max) return;  // cannot be stored
    pg::params p;
    p.add_bytes(s.doc).add_int8(static_cast<std::int64_t>(last_seq));
    (void)run(pg::tree_statement::journal_erase, p, "journal_erase");
  }

  /// Requires: a transaction. Effects: removes every chunk with last_seq <= seq.
  void journal_trim_through(std::uint64_t seq) {
    pg::document_session& s = require_transaction("journal_trim_through");
    pg::params p;
    p.add_bytes(s.doc).add_int8(static_cast<std::int64_t>(std::min(seq, bigint_max)));
    (void)run(pg::tree_statement::journal_trim_through, p, "journal_trim_through");
  }

  /// Whether a write transaction of the storage is open (a scan's own read-only one is not).
  [[nodiscard]] bool in_transaction() const noexcept { return s_->in_transaction; }

 private:
  static constexpr std::uint64_t bigint_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

  explicit postgres_tree_tables(std::shared_ptr<pg::document_session> s) noexcept : s_(std::move(s)) {}

  static const pg::statement_text& text(pg::tree_statement st) noexcept {
    return pg::tree_statements[static_cast<std::size_t>(st)];
  }
  pg::result run(pg::tree_statement st, const pg::params& p, std::string_view what) {
    return s_->run(text(st), p, what);
  }
  pg::result read(pg::tree_statement st, const pg::params& p, std::string_view what) {
    return s_->run_read(text(st), p, what);
  }

  pg::document_session& require_transaction(std::string_view what) const {
    if (!s_->in_transaction)
      throw std::logic_error("postgres_tree_tables: " + std::string(what) + "() outside a transaction");
    return *s_;
  }

  static void add_optional(pg::params& p, const std::optional<bytes>& v) {
    if (v)
      p.add_bytes(*v);
    else
      p.add_null();
  }
  static void add_optional(pg::array_builder& a, const std::optional<bytes>& v) {
    if (v)
      a.add_bytes(*v);
    else
      a.add_null();
  }
  /// smallint in binary: two bytes, big-endian.
  static std::string tomb_binary(tomb_state t) { return std::string{'\0', static_cast<char>(t)}; }

  static tomb_state read_tomb(const pg::result& r, int row, int col) {
    const std::uint64_t v = pg::read_be<2>(r.field(row, col));
    if (v > static_cast<std::uint64_t>(tomb_state::undecided))
      throw detail::decode_failure("tomb " + std::to_string(v) + " is not 0..3");
    return static_cast<tomb_state>(v);
  }

  /// Columns: id, parent, order_key, tomb, payload, state.
  tree_row read_row(const pg::result& r, int row, std::string_view what) const {
    try {
      tree_row out;
      out.id = detail::node_id_from_bytes(r.field(row, 0));
      if (!r.is_null(row, 1)) out.parent = detail::node_id_from_bytes(r.field(row, 1));
      if (!r.is_null(row, 2)) out.order_key = bytes(r.field(row, 2));
      out.tomb = read_tomb(r, row, 3);
      if (!r.is_null(row, 4)) out.payload = bytes(r.field(row, 4));
      out.state = bytes(r.field(row, 5));
      return out;
    } catch (const detail::decode_failure& e) {
      throw corrupt_row(what, r, row, e.what());
    }
  }

  storage_error corrupt_row(std::string_view what, const pg::result& r, int row, const char* reason) const {
    return storage_error(std::string(pg::backend_name), "corrupt_row",
                         std::string(what) + ": the treecrdt_tree row with id " + detail::to_hex(r.field(row, 0)) +
                             " of document " + s_->describe_document() + " cannot be read: " + reason,
                         false);
  }

  std::int64_t to_bigint(std::uint64_t v, std::string_view what) const {
    if (v > bigint_max)
      throw storage_error(std::string(pg::backend_name), "out_of_range",
                          std::string(what) + ": seq " + std::to_string(v) + " does not fit a bigint (document " +
                              s_->describe_document() + ")",
                          false);
    return static_cast<std::int64_t>(v);
  }

  std::shared_ptr<pg::document_session> s_;
};

static_assert(TreeTables<postgres_tree_tables>);

/// A materialized store whose tree lives in PostgreSQL tables next to the log (see the schema above).
template <OpKey Key = default_op_key>
using postgres_store = table_store<Key, postgres_tree_tables>;

}  // namespace treecrdt
