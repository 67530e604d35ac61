#pragma once
// sqlite_store: the materialized tree in tables of the document's SQLite database, written in the
// same transaction as the log (table_store over sqlite_tree_tables). Needs the treecrdt::sqlite
// CMake target. Use it as the document's Store with sqlite_storage:
//
//   using doc = treecrdt::document<treecrdt::default_op_key, treecrdt::sqlite_storage<>,
//                                  treecrdt::sqlite_store<>>;
//
// ─── Tables (tree schema version 1, next to the log's; see sqlite.hpp for the log) ──────────────
//   treecrdt_tree (id, parent, order_key, tomb, payload, state)     WITHOUT ROWID, PRIMARY KEY (id)
//       One row per node, ROOT and TRASH included (tree_tables.hpp has the column meanings).
//       id and parent are 16-byte BLOBs, big-endian, so BLOB order is node id order.
//       INDEX treecrdt_tree_children (parent, order_key, id): a folder is one index range.
//   treecrdt_tree_meta (id = 1, version, state)
//       version = 1 (a newer one is refused with schema_error); state = the store's metadata blob
//       (head, replica table, folded version), NULL until the store first writes it.
//   treecrdt_tree_journal (last_seq INTEGER PRIMARY KEY, first_seq, ops)
//       The undo journal: before-images of the rows the ops at positions first_seq..last_seq
//       changed, one chunk per transaction (table_store.hpp).
//   VIEW treecrdt_tree_view (id, parent, order_key, payload)
//       Every node but ROOT and TRASH with its visible parent (TRASH's id for a tombstoned node), so
//         SELECT id FROM treecrdt_tree_view WHERE parent = ?1 ORDER BY order_key, id
//       lists a folder exactly as document::children() does, for every parent but TRASH.
// Binding sets the connection's page cache to 64 MB (PRAGMA cache_size = -65536; an application may
// set another value after opening the document). The tables are created, in one transaction, the first time a document
// with this store opens the database; a database written only by documents with another store has none, and gets them
// then (the tree is then folded from the log once).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../errors.hpp"
#include "../storage/sqlite.hpp"
#include "table_store.hpp"
#include "tree_tables.hpp"

namespace treecrdt {

class sqlite_tree_tables {
 public:
  static constexpr std::int64_t schema_version = 1;

  /// Binds to the database of `storage`, creating the tree tables if missing (in a transaction of
  /// their own). Throws schema_error for a newer tree schema, sqlite_error for SQLite failures
  /// (e.g. SQLITE_READONLY when the tables are missing from a read-only database).
  template <OpKey Key>
  [[nodiscard]] static sqlite_tree_tables open(sqlite_storage<Key>& storage) {
    sqlite::connection& conn = storage.database();
    // The tree's pages are read and written all over its B-trees (a node's parent is anywhere): a
    // page cache of 64 MB instead of SQLite's 2 MB keeps a transaction from spilling and re-reading
    // them. It grows only as pages are used (an open that lists a folder reads a handful).
    conn.exec("PRAGMA cache_size = -65536", "sizing the page cache for the tree tables");
    if (!has_tables(conn)) {
      auto tx = storage.begin();
      if (!has_tables(conn)) conn.exec(create_sql, "creating the tree tables");
      tx.commit();
    }
    {
      sqlite::statement version(conn, "SELECT version FROM treecrdt_tree_meta WHERE id = 1", "reading the tree schema");
      auto u = version.use();
      if (!u.step()) throw schema_error("sqlite: treecrdt_tree_meta has no row");
      if (u.column_int64(0) != schema_version)
        throw schema_error("sqlite: the tree tables have schema version " + std::to_string(u.column_int64(0)) +
                           " but this library reads version " + std::to_string(schema_version));
    }
    return sqlite_tree_tables(conn);
  }

  [[nodiscard]] std::optional<tree_row> load(node_id id) {
    auto u = st_->load.use();
    const detail::node_id_raw key(id);
    u.bind_blob_borrowed(1, key.view());
    if (!u.step()) return std::nullopt;
    return read_row(u, id, 0);
  }
  /// One cursor over the ids in order: each seek finds the first row at or after an id, so every
  /// id before that row is known absent without a seek of its own (a run of new nodes costs one).
  [[nodiscard]] std::vector<tree_row> load_many(const std::vector<node_id>& ids) {
    std::vector<node_id> sorted_copy;
    const std::vector<node_id>* order = &ids;
    if (!std::is_sorted(ids.begin(), ids.end())) {
      sorted_copy = ids;
      std::sort(sorted_copy.begin(), sorted_copy.end());
      order = &sorted_copy;
    }
    std::vector<tree_row> out;
    node_id next_row{};  // the first row after the last id sought, when known
    bool next_known = false;
    for (std::size_t i = 0; i < order->size(); ++i) {
      const node_id& id = (*order)[i];
      if ((next_known && id < next_row) || (i > 0 && (*order)[i - 1] == id)) continue;
      auto u = st_->seek.use();
      const detail::node_id_raw key(id);
      u.bind_blob_borrowed(1, key.view());
      if (!u.step()) break;  // no row at or after id: the rest are absent too
      const node_id found = read_id(u, 5);
      if (found == id) {
        out.push_back(read_row(u, id, 0));
        next_known = false;
      } else {
        next_row = found;
        next_known = true;
      }
    }
    return out;
  }
  void put(const tree_row& r) {
    auto u = st_->put.use();
    const detail::node_id_raw id(r.id);
    u.bind_blob_borrowed(1, id.view());
    std::optional<detail::node_id_raw> parent;
    if (r.parent)
      u.bind_blob_borrowed(2, parent.emplace(*r.parent).view());
    else
      u.bind_null(2);
    bind_optional(u, 3, r.order_key);
    u.bind(4, static_cast<std::int64_t>(r.tomb));
    bind_optional(u, 5, r.payload);
    u.bind_blob_borrowed(6, r.state);
    u.run();
  }
  void put_all(const std::vector<tree_row>& rows) {
    for (const tree_row& r : rows) put(r);
  }
  void update_states(const std::vector<tree_row>& rows) {
    for (const tree_row& r : rows) {
      auto u = st_->update_state.use();
      const detail::node_id_raw id(r.id);
      u.bind_blob_borrowed(1, id.view());
      u.bind(2, static_cast<std::int64_t>(r.tomb));
      bind_optional(u, 3, r.payload);
      u.bind_blob_borrowed(4, r.state);
      u.run();
    }
  }
  void erase(node_id id) {
    auto u = st_->erase.use();
    u.bind_blob(1, detail::node_id_bytes(id));
    u.run();
  }
  [[nodiscard]] std::vector<tree_child> children(node_id parent) {
    std::vector<tree_child> out;
    auto u = st_->children.use();
    u.bind_blob(1, detail::node_id_bytes(parent));
    while (u.step()) out.push_back({read_id(u, 0), read_tomb(u, 1)});
    return out;
  }
  [[nodiscard]] std::optional<bytes> neighbour_key(node_id parent, const std::optional<std::pair<bytes, node_id>>& from,
                                                   bool forward, node_id skip) {
    sqlite::statement& s = from ? (forward ? st_->next_from : st_->prev_from) : (forward ? st_->first : st_->last);
    auto u = s.use();
    u.bind_blob(1, detail::node_id_bytes(parent));
    u.bind_blob(2, detail::node_id_bytes(skip));
    if (from) {
      u.bind_blob(3, from->first);
      u.bind_blob(4, detail::node_id_bytes(from->second));
    }
    if (!u.step()) return std::nullopt;
    return bytes(u.column_blob(0));
  }
  [[nodiscard]] std::vector<tree_row> rows_after(std::optional<node_id> after, std::size_t limit) {
    std::vector<tree_row> out;
    auto u = (after ? st_->rows_after : st_->rows_first).use();
    u.bind(1, static_cast<std::int64_t>(limit));
    if (after) u.bind_blob(2, detail::node_id_bytes(*after));
    while (u.step()) out.push_back(read_row(u, read_id(u, 5), 0));
    return out;
  }
  void clear_rows() {
    st_->clear_rows.use().run();
    st_->clear_journal.use().run();
  }
  [[nodiscard]] std::optional<bytes> load_meta() {
    auto u = st_->load_meta.use();
    if (!u.step() || u.is_null(0)) return std::nullopt;
    return bytes(u.column_blob(0));
  }
  void store_meta(std::string_view blob) {
    auto u = st_->store_meta.use();
    u.bind_blob(1, blob);
    u.run();
  }
  void journal_append(const journal_chunk& c) {
    auto u = st_->journal_append.use();
    u.bind(1, static_cast<std::int64_t>(c.last_seq));
    u.bind(2, static_cast<std::int64_t>(c.first_seq));
    u.bind_blob(3, c.ops);
    u.run();
  }
  [[nodiscard]] std::optional<journal_chunk> journal_newest(std::optional<std::uint64_t> before) {
    auto u = st_->journal_newest.use();
    u.bind(1, before ? static_cast<std::int64_t>(*before) : INT64_MAX);
    if (!u.step()) return std::nullopt;
    return journal_chunk{static_cast<std::uint64_t>(u.column_int64(1)), static_cast<std::uint64_t>(u.column_int64(0)),
                         bytes(u.column_blob(2))};
  }
  void journal_erase(std::uint64_t last_seq) {
    auto u = st_->journal_erase.use();
    u.bind(1, static_cast<std::int64_t>(last_seq));
    u.run();
  }
  void journal_trim_through(std::uint64_t seq) {
    auto u = st_->journal_trim.use();
    u.bind(1, static_cast<std::int64_t>(seq > INT64_MAX ? INT64_MAX : seq));
    u.run();
  }
  [[nodiscard]] bool in_transaction() const noexcept { return conn_->in_transaction(); }

 private:
  static constexpr const char* create_sql =
      "CREATE TABLE treecrdt_tree ("
      " id BLOB PRIMARY KEY NOT NULL, parent BLOB, order_key BLOB,"
      " tomb INTEGER NOT NULL CHECK (tomb BETWEEN 0 AND 3), payload BLOB, state BLOB NOT NULL"
      ") WITHOUT ROWID;"
      "CREATE INDEX treecrdt_tree_children ON treecrdt_tree (parent, order_key, id);"
      "CREATE TABLE treecrdt_tree_meta (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL,"
      " state BLOB);"
      "INSERT INTO treecrdt_tree_meta (id, version, state) VALUES (1, 1, NULL);"
      "CREATE TABLE treecrdt_tree_journal (last_seq INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL,"
      " ops BLOB NOT NULL);"
      "CREATE VIEW treecrdt_tree_view (id, parent, order_key, payload) AS"
      " SELECT id, CASE WHEN tomb = 2 THEN x'ffffffffffffffffffffffffffffffff' ELSE parent END, order_key, payload"
      " FROM treecrdt_tree"
      " WHERE id <> x'00000000000000000000000000000000' AND id <> x'ffffffffffffffffffffffffffffffff';";

  static bool has_tables(sqlite::connection& conn) {
    sqlite::statement s(conn, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'treecrdt_tree_meta'",
                        "looking for the tree tables");
    auto u = s.use();
    return u.step() && u.column_int64(0) == 1;
  }

  struct statements {
    explicit statements(const sqlite::connection& c)
        : load(c, "SELECT parent, order_key, tomb, payload, state FROM treecrdt_tree WHERE id = ?1",
               "tree: reading a node"),
          seek(c,
               "SELECT parent, order_key, tomb, payload, state, id FROM treecrdt_tree WHERE id >= ?1"
               " ORDER BY id LIMIT 1",
               "tree: reading nodes"),
          put(c,
              "INSERT INTO treecrdt_tree (id, parent, order_key, tomb, payload, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
              " ON CONFLICT (id) DO UPDATE SET parent = excluded.parent, order_key = excluded.order_key,"
              " tomb = excluded.tomb, payload = excluded.payload, state = excluded.state",
              "tree: writing a node"),
          update_state(c, "UPDATE treecrdt_tree SET tomb = ?2, payload = ?3, state = ?4 WHERE id = ?1",
                       "tree: rewriting a node's state"),
          erase(c, "DELETE FROM treecrdt_tree WHERE id = ?1", "tree: removing a node"),
          children(c, "SELECT id, tomb FROM treecrdt_tree WHERE parent = ?1 ORDER BY order_key, id",
                   "tree: listing a folder"),
          first(c, "SELECT order_key FROM treecrdt_tree WHERE parent = ?1 AND id <> ?2 ORDER BY order_key, id LIMIT 1",
                "tree: first child key"),
          last(c,
               "SELECT order_key FROM treecrdt_tree WHERE parent = ?1 AND id <> ?2"
               " ORDER BY order_key DESC, id DESC LIMIT 1",
               "tree: last child key"),
          next_from(c,
                    "SELECT order_key FROM treecrdt_tree WHERE parent = ?1 AND id <> ?2 AND (order_key, id) > (?3, ?4)"
                    " ORDER BY order_key, id LIMIT 1",
                    "tree: next sibling key"),
          prev_from(c,
                    "SELECT order_key FROM treecrdt_tree WHERE parent = ?1 AND id <> ?2 AND (order_key, id) < (?3, ?4)"
                    " ORDER BY order_key DESC, id DESC LIMIT 1",
                    "tree: previous sibling key"),
          rows_first(c, "SELECT parent, order_key, tomb, payload, state, id FROM treecrdt_tree ORDER BY id LIMIT ?1",
                     "tree: scanning nodes"),
          rows_after(c,
                     "SELECT parent, order_key, tomb, payload, state, id FROM treecrdt_tree WHERE id > ?2"
                     " ORDER BY id LIMIT ?1",
                     "tree: scanning nodes"),
          clear_rows(c, "DELETE FROM treecrdt_tree", "tree: clearing"),
          clear_journal(c, "DELETE FROM treecrdt_tree_journal", "tree: clearing the journal"),
          load_meta(c, "SELECT state FROM treecrdt_tree_meta WHERE id = 1", "tree: reading its metadata"),
          store_meta(c, "UPDATE treecrdt_tree_meta SET state = ?1 WHERE id = 1", "tree: writing its metadata"),
          journal_append(c, "INSERT INTO treecrdt_tree_journal (last_seq, first_seq, ops) VALUES (?1, ?2, ?3)",
                         "tree: journaling ops"),
          journal_newest(c,
                         "SELECT last_seq, first_seq, ops FROM treecrdt_tree_journal WHERE last_seq < ?1"
                         " ORDER BY last_seq DESC LIMIT 1",
                         "tree: reading the journal"),
          journal_erase(c, "DELETE FROM treecrdt_tree_journal WHERE last_seq = ?1", "tree: dropping a journal chunk"),
          journal_trim(c, "DELETE FROM treecrdt_tree_journal WHERE last_seq <= ?1", "tree: trimming the journal") {}
    sqlite::statement load, seek, put, update_state, erase, children, first, last, next_from, prev_from, rows_first,
        rows_after, clear_rows, clear_journal, load_meta, store_meta, journal_append, journal_newest, journal_erase,
        journal_trim;
  };

  explicit sqlite_tree_tables(sqlite::connection& conn) : conn_(&conn), st_(std::make_unique<statements>(conn)) {}

  static void bind_optional(sqlite::statement_use& u, int index, const std::optional<bytes>& b) {
    if (b)
      u.bind_blob_borrowed(index, *b);
    else
      u.bind_null(index);
  }
  [[nodiscard]] static node_id read_id(const sqlite::statement_use& u, int col) {
    try {
      return detail::node_id_from_bytes(u.column_blob(col));
    } catch (const detail::decode_failure& e) {
      throw storage_error("sqlite", "corrupt_row", std::string("treecrdt_tree: ") + e.what(), false);
    }
  }
  [[nodiscard]] static tomb_state read_tomb(const sqlite::statement_use& u, int col) {
    const std::int64_t t = u.column_int64(col);
    if (t < 0 || t > 3) throw storage_error("sqlite", "corrupt_row", "treecrdt_tree: unknown tomb state", false);
    return static_cast<tomb_state>(t);
  }
  // Columns from `col`: parent, order_key, tomb, payload, state.
  [[nodiscard]] static tree_row read_row(const sqlite::statement_use& u, node_id id, int col) {
    tree_row r;
    r.id = id;
    if (!u.is_null(col)) r.parent = read_id(u, col);
    if (!u.is_null(col + 1)) r.order_key = bytes(u.column_blob(col + 1));
    r.tomb = read_tomb(u, col + 2);
    if (!u.is_null(col + 3)) r.payload = bytes(u.column_blob(col + 3));
    r.state = bytes(u.column_blob(col + 4));
    return r;
  }

  sqlite::connection* conn_;
  std::unique_ptr<statements> st_;
};

static_assert(TreeTables<sqlite_tree_tables>);

/// A materialized store whose tree lives in the document's SQLite database (see above).
template <OpKey Key = default_op_key>
using sqlite_store = table_store<Key, sqlite_tree_tables>;

}  // namespace treecrdt
