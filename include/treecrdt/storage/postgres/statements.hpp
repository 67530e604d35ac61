#pragma once
// Every data statement of the PostgreSQL storage policy, as fixed SQL with numbered parameters.
// A connection prepares each one the first time it is used and reuses it afterwards.
// $1 is always the document id: every statement touches exactly one document.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "connection.hpp"
#include "wire.hpp"

namespace treecrdt::pg {

enum class statement : std::uint8_t {
  lock_document,
  ensure_document,
  append,
  declare_scan_all,
  declare_scan_after,
  fetch_scan,
  close_scan,
  op_count,
  max_lamport,
  max_counter,
  load_meta,
  store_meta,
  save_checkpoint,
  latest_checkpoint,
  latest_checkpoint_before,
  load_checkpoint,
  drop_checkpoints_from,
  drop_checkpoint,
  list_checkpoints,
  log_version,
  ops_above,
};
inline constexpr std::size_t statement_count = 21;

/// Rows per FETCH of scan_after (the number in the fetch_scan SQL): bounds client memory while
/// amortizing round trips.
inline constexpr int scan_fetch_rows = 1000;

struct statement_text {
  const char* name;
  const char* sql;
  std::array<type_oid, 10> types;  // of $1, $2, ...; unused slots stay 0 (no type has OID 0)
  [[nodiscard]] constexpr std::span<const type_oid> parameter_types() const noexcept {
    std::size_t n = 0;
    while (n < types.size() && types[n] != 0) ++n;
    return {types.data(), n};
  }
};

// Column order of key-carrying results: lamport, replica, counter (then the rest).
inline constexpr std::array<statement_text, statement_count> statements = {{
    // Serializes writers of one document across connections and processes; read committed then shows
    // each following statement everything committed before the lock was granted. Returns the meta
    // row (same columns as load_meta), which stays exact while the lock is held.
    {"treecrdt_lock_document",
     "SELECT op_count, head_lamport, head_replica, head_counter, head_seq, frontier_lamport, frontier_replica,"
     " frontier_counter FROM treecrdt_meta WHERE doc = $1 FOR UPDATE",
     {bytea_oid}},
    {"treecrdt_ensure_document",
     "INSERT INTO treecrdt_meta (doc) VALUES ($1) ON CONFLICT (doc) DO NOTHING",
     {bytea_oid}},
    // One round trip per batch. `clash` finds batch ops whose id is stored with other content; only
    // when there is none (and $7, "check only", is false) are the new ops inserted; the op count is
    // bumped by what was inserted, and the new counters are merged into treecrdt_version: the stored
    // runs of each replica that touch [lowest new counter - 1, highest + 1] are deleted and written
    // back joined with the new counters (a new run starts wherever a counter or run does not follow
    // the previous one's last + 1). Result rows: (false, batch index) per clash, (true, batch index)
    // per newly stored op.
    {"treecrdt_append",
     "WITH batch AS ("
     "  SELECT * FROM unnest($2::int8[], $3::bytea[], $4::int8[], $5::int8[], $6::bytea[])"
     "    AS b(idx, replica, counter, lamport, body)),"
     " clash AS ("
     "  SELECT b.idx FROM batch b JOIN treecrdt_ops o"
     "    ON o.doc = $1 AND o.replica = b.replica AND o.counter = b.counter"
     "  WHERE o.lamport <> b.lamport OR o.body <> b.body),"
     " inserted AS ("
     "  INSERT INTO treecrdt_ops (doc, replica, counter, lamport, body)"
     "  SELECT $1, b.replica, b.counter, b.lamport, b.body FROM batch b"
     "  WHERE NOT $7 AND NOT EXISTS (SELECT 1 FROM clash)"
     "  ON CONFLICT (doc, replica, counter) DO NOTHING"
     "  RETURNING replica, counter),"
     " counted AS ("
     "  UPDATE treecrdt_meta SET op_count = op_count + (SELECT count(*) FROM inserted)"
     "  WHERE doc = $1 RETURNING op_count),"
     // The client's runs of the sent counters, per replica: every counter in them is stored once the
     // insert ran (new, or an equal duplicate), so they are merged only if something was inserted.
     " runs AS ("
     "  SELECT replica, first, last FROM unnest($8::bytea[], $9::int8[], $10::int8[]) AS r(replica, first, last)"
     "  WHERE EXISTS (SELECT 1 FROM inserted)),"
     " old_runs AS ("
     "  DELETE FROM treecrdt_version v USING runs r"
     "  WHERE v.doc = $1 AND v.replica = r.replica AND v.last >= r.first - 1"
     "   AND v.first <= CASE WHEN r.last = 9223372036854775807 THEN r.last ELSE r.last + 1 END"
     "  RETURNING v.replica, v.first, v.last),"
     " pieces AS (SELECT replica, first, last FROM old_runs UNION ALL SELECT replica, first, last FROM runs),"
     // A piece starts a new run unless it overlaps or touches one before it (a stored run may
     // cover counters of a sent run: the duplicates).
     " marked AS ("
     "  SELECT replica, first, last,"
     "   CASE WHEN first - 1 <= max(last) OVER (PARTITION BY replica ORDER BY first, last"
     "     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS starts"
     "  FROM pieces),"
     " grouped AS ("
     "  SELECT replica, first, last, sum(starts) OVER (PARTITION BY replica ORDER BY first, last) AS run"
     "  FROM marked),"
     " versioned AS ("
     "  INSERT INTO treecrdt_version (doc, replica, first, last)"
     "  SELECT $1, replica, min(first), max(last) FROM grouped GROUP BY replica, run)"
     // What the client cannot tell by itself: clashes (kind 0), how many rows went in (kind 1) and,
     // only if that is fewer than were sent, which sent rows were duplicates of stored ops (kind 2).
     " SELECT 0::int8, c.idx FROM clash c"
     " UNION ALL"
     " SELECT 1::int8, count(*) FROM inserted"
     " UNION ALL"
     " SELECT 2::int8, b.idx FROM batch b"
     "  WHERE (SELECT count(*) FROM inserted) < (SELECT count(*) FROM batch) AND NOT $7"
     "   AND NOT EXISTS (SELECT 1 FROM clash)"
     "   AND NOT EXISTS (SELECT 1 FROM inserted i WHERE i.replica = b.replica AND i.counter = b.counter)",
     {bytea_oid, int8_array_oid, bytea_array_oid, int8_array_oid, int8_array_oid, bytea_array_oid, bool_oid,
      bytea_array_oid, int8_array_oid, int8_array_oid}},
    {"treecrdt_declare_scan_all",
     "DECLARE treecrdt_scan NO SCROLL CURSOR FOR"
     " SELECT lamport, replica, counter, body FROM treecrdt_ops WHERE doc = $1"
     " ORDER BY lamport, replica, counter",
     {bytea_oid}},
    {"treecrdt_declare_scan_after",
     "DECLARE treecrdt_scan NO SCROLL CURSOR FOR"
     " SELECT lamport, replica, counter, body FROM treecrdt_ops"
     " WHERE doc = $1 AND (lamport, replica, counter) > ($2, $3, $4)"
     " ORDER BY lamport, replica, counter",
     {bytea_oid, int8_oid, bytea_oid, int8_oid}},
    {"treecrdt_fetch_scan", "FETCH FORWARD 1000 FROM treecrdt_scan", {}},
    {"treecrdt_close_scan", "CLOSE treecrdt_scan", {}},
    {"treecrdt_op_count", "SELECT op_count FROM treecrdt_meta WHERE doc = $1", {bytea_oid}},
    {"treecrdt_max_lamport",
     "SELECT lamport FROM treecrdt_ops WHERE doc = $1 ORDER BY lamport DESC LIMIT 1",
     {bytea_oid}},
    {"treecrdt_max_counter",
     "SELECT counter FROM treecrdt_ops WHERE doc = $1 AND replica = $2 ORDER BY counter DESC LIMIT 1",
     {bytea_oid, bytea_oid}},
    {"treecrdt_load_meta",
     "SELECT op_count, head_lamport, head_replica, head_counter, head_seq, frontier_lamport, frontier_replica,"
     " frontier_counter FROM treecrdt_meta WHERE doc = $1",
     {bytea_oid}},
    {"treecrdt_store_meta",
     "UPDATE treecrdt_meta SET head_lamport = $2, head_replica = $3, head_counter = $4, head_seq = $5,"
     " frontier_lamport = $6, frontier_replica = $7, frontier_counter = $8 WHERE doc = $1",
     {bytea_oid, int8_oid, bytea_oid, int8_oid, int8_oid, int8_oid, bytea_oid, int8_oid}},
    // Ids come from a per-document counter in the (already locked) meta row; a checkpoint at an
    // existing key is replaced (its base too) and gets a new id. $7..$9: the base key, all NULL for
    // a full checkpoint.
    {"treecrdt_save_checkpoint",
     "WITH next AS ("
     "  UPDATE treecrdt_meta SET next_checkpoint_id = next_checkpoint_id + 1 WHERE doc = $1"
     "  RETURNING next_checkpoint_id - 1 AS id)"
     " INSERT INTO treecrdt_checkpoints"
     "  (doc, id, lamport, replica, counter, seq, size_bytes, blob, base_lamport, base_replica, base_counter)"
     " SELECT $1, next.id, $2, $3, $4, $5, octet_length($6), $6, $7, $8, $9 FROM next"
     " ON CONFLICT (doc, lamport, replica, counter) DO UPDATE"
     "  SET id = EXCLUDED.id, seq = EXCLUDED.seq, size_bytes = EXCLUDED.size_bytes, blob = EXCLUDED.blob,"
     "   base_lamport = EXCLUDED.base_lamport, base_replica = EXCLUDED.base_replica,"
     "   base_counter = EXCLUDED.base_counter"
     " RETURNING id",
     {bytea_oid, int8_oid, bytea_oid, int8_oid, int8_oid, bytea_oid, int8_oid, bytea_oid, int8_oid}},
    // Checkpoint rows: lamport, replica, counter, id, seq, size_bytes, base key (3; NULL: full).
    {"treecrdt_latest_checkpoint",
     "SELECT lamport, replica, counter, id, seq, size_bytes, base_lamport, base_replica, base_counter"
     " FROM treecrdt_checkpoints WHERE doc = $1"
     " ORDER BY lamport DESC, replica DESC, counter DESC LIMIT 1",
     {bytea_oid}},
    {"treecrdt_latest_checkpoint_before",
     "SELECT lamport, replica, counter, id, seq, size_bytes, base_lamport, base_replica, base_counter"
     " FROM treecrdt_checkpoints"
     " WHERE doc = $1 AND (lamport, replica, counter) < ($2, $3, $4)"
     " ORDER BY lamport DESC, replica DESC, counter DESC LIMIT 1",
     {bytea_oid, int8_oid, bytea_oid, int8_oid}},
    {"treecrdt_load_checkpoint",
     "SELECT blob FROM treecrdt_checkpoints WHERE doc = $1 AND id = $2",
     {bytea_oid, int8_oid}},
    {"treecrdt_drop_checkpoints_from",
     "DELETE FROM treecrdt_checkpoints WHERE doc = $1 AND (lamport, replica, counter) >= ($2, $3, $4)",
     {bytea_oid, int8_oid, bytea_oid, int8_oid}},
    {"treecrdt_drop_checkpoint", "DELETE FROM treecrdt_checkpoints WHERE doc = $1 AND id = $2", {bytea_oid, int8_oid}},
    {"treecrdt_list_checkpoints",
     "SELECT lamport, replica, counter, id, seq, size_bytes, base_lamport, base_replica, base_counter"
     " FROM treecrdt_checkpoints WHERE doc = $1"
     " ORDER BY lamport, replica, counter",
     {bytea_oid}},
    {"treecrdt_log_version",
     "SELECT replica, first, last FROM treecrdt_version WHERE doc = $1 ORDER BY replica, first",
     {bytea_oid}},
    // scan_unknown_to: per replica of the document (from treecrdt_version), the ops above the
    // peer's contiguous frontier ($2/$3: replicas and frontiers the peer has; others from 0), one
    // primary-key range each, in key order. OFFSET 0 keeps the planner from flattening the LATERAL
    // subquery into a join that reads every op of the replica and filters the counters afterwards.
    {"treecrdt_ops_above",
     "SELECT o.lamport, o.replica, o.counter, o.body"
     " FROM (SELECT r.replica, coalesce(k.frontier, -9223372036854775808) AS frontier"
     "  FROM (SELECT DISTINCT replica FROM treecrdt_version WHERE doc = $1) AS r"
     "  LEFT JOIN unnest($2::bytea[], $3::int8[]) AS k(replica, frontier) ON k.replica = r.replica) AS f"
     " CROSS JOIN LATERAL (SELECT lamport, replica, counter, body FROM treecrdt_ops"
     "  WHERE doc = $1 AND replica = f.replica AND counter > f.frontier OFFSET 0) AS o"
     " ORDER BY o.lamport, o.replica, o.counter",
     {bytea_oid, bytea_array_oid, int8_array_oid}},
}};

namespace detail {
/// The largest $n in `sql`: how many parameters the server will expect.
[[nodiscard]] constexpr std::size_t highest_placeholder(const char* sql) noexcept {
  std::size_t highest = 0;
  for (std::size_t i = 0; sql[i] != '\0'; ++i) {
    if (sql[i] != '$') continue;
    std::size_t n = 0;
    while (sql[i + 1] >= '0' && sql[i + 1] <= '9') n = n * 10 + static_cast<std::size_t>(sql[++i] - '0');
    highest = n > highest ? n : highest;
  }
  return highest;
}
/// The first decimal number in `sql`.
[[nodiscard]] constexpr int first_number(const char* sql) noexcept {
  std::size_t i = 0;
  while (sql[i] != '\0' && (sql[i] < '0' || sql[i] > '9')) ++i;
  int n = 0;
  for (; sql[i] >= '0' && sql[i] <= '9'; ++i) n = n * 10 + (sql[i] - '0');
  return n;
}
[[nodiscard]] constexpr bool every_statement_types_its_parameters() noexcept {
  for (const statement_text& s : statements)
    if (s.parameter_types().size() != highest_placeholder(s.sql)) return false;
  return true;
}
}  // namespace detail

static_assert(static_cast<std::size_t>(statement::ops_above) + 1 == statement_count,
              "one statements[] entry per enumerator, in order");
static_assert(detail::every_statement_types_its_parameters(), "a statement's types do not match its $n");
static_assert(detail::first_number(statements[static_cast<std::size_t>(statement::fetch_scan)].sql) == scan_fetch_rows,
              "fetch_scan must fetch scan_fetch_rows rows");

/// Prepares statements on first use, once per connection.
class statement_cache {
 public:
  /// Forget what was prepared: the connection was replaced.
  void reset() noexcept { prepared_ = {}; }

  result run(connection& conn, statement s, const params& p, std::string_view what) {
    const auto i = static_cast<std::size_t>(s);
    const statement_text& text = statements[i];
    if (!prepared_[i]) {
      conn.prepare(what, text.name, text.sql, text.parameter_types());
      prepared_[i] = true;
    }
    return conn.exec_prepared(what, text.name, p);
  }

 private:
  std::array<bool, statement_count> prepared_{};
};

}  // namespace treecrdt::pg
