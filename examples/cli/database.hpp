#pragma once
// Opening a treecrdt document from the command line — a SQLite file, or a PostgreSQL document when
// the tool is built with treecrdt::postgres (TREECRDT_CLI_WITH_POSTGRES) — with the tree in memory
// or in tables of its database, the tool's own settings stored with the document, and the
// pre-check that makes an import all-or-nothing.
#include <sqlite3.h>

#include <concepts>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

#include "cli/cli_support.hpp"
#include "cli/location.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/json.hpp"
#include "treecrdt/op_codec.hpp"
#include "treecrdt/storage/sqlite.hpp"
#include "treecrdt/store/sqlite_store.hpp"
#if TREECRDT_CLI_WITH_POSTGRES
#include "cli/postgres_support.hpp"
#endif

namespace treecrdt_cli {

using sqlite_storage = treecrdt::sqlite_storage<key>;
using sqlite_table_store = treecrdt::sqlite_store<key>;
/// A document of the tool over any storage policy, with the tree in memory or in tables of the
/// database. The checkpoint policies only matter to the memory store.
template <class Storage, class Store = treecrdt::memory_store<key>>
using cli_document = treecrdt::document<key, Storage, Store, treecrdt::every_n_ops, treecrdt::exponential_retention>;
using sqlite_document = cli_document<sqlite_storage>;

/// The tool never edits locally; this replica id only names the process to the document.
inline const treecrdt::bytes cli_replica = "treecrdt-cli";

/// Checkpoint cadence when none was ever stored: the library's default.
inline constexpr std::uint64_t default_cadence = treecrdt::log_size_cadence{}.long_interval;

/// Owns one prepared statement on a connection the storage owns.
class raw_statement {
 public:
  raw_statement(sqlite3* db, const char* sql, std::string during) : db_(db), during_(std::move(during)) {
    if (const int rc = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); rc != SQLITE_OK)
      treecrdt::sqlite::throw_error(db, rc, during_);
  }
  raw_statement(const raw_statement&) = delete;
  raw_statement& operator=(const raw_statement&) = delete;
  ~raw_statement() { sqlite3_finalize(stmt_); }

  void bind(int index, std::int64_t v) { check(sqlite3_bind_int64(stmt_, index, v)); }
  void bind_blob(int index, std::string_view b) {
    // An empty view may have a null data pointer, which SQLite would bind as NULL, not as x''.
    check(b.empty() ? sqlite3_bind_zeroblob(stmt_, index, 0)
                    : sqlite3_bind_blob64(stmt_, index, b.data(), b.size(), SQLITE_TRANSIENT));
  }
  /// True when a row is ready; false when done.
  [[nodiscard]] bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    treecrdt::sqlite::throw_error(db_, rc, during_);
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  [[nodiscard]] std::int64_t column_int64(int col) const noexcept { return sqlite3_column_int64(stmt_, col); }
  [[nodiscard]] std::string_view column_blob(int col) const noexcept {
    const void* data = sqlite3_column_blob(stmt_, col);
    const int size = sqlite3_column_bytes(stmt_, col);
    return data == nullptr || size <= 0
               ? std::string_view()
               : std::string_view(static_cast<const char*>(data), static_cast<std::size_t>(size));
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) treecrdt::sqlite::throw_error(db_, rc, during_);
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string during_;
};

// ---- settings ----------------------------------------------------------------------------------
// The checkpoint cadence an import was created with lives in the database itself, in a table of
// the tool's own (`treecrdt_cli_settings`), so every later command that opens the document writes
// checkpoints at the same spacing and keeps the retention policy in step with it. The library's
// schema check requires its own tables and tolerates extra ones.

[[nodiscard]] inline std::optional<std::uint64_t> stored_cadence(sqlite3* db) {
  raw_statement exists(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'treecrdt_cli_settings'",
                       "reading the tool's settings");
  if (!exists.step()) return std::nullopt;
  raw_statement get(db, "SELECT value FROM treecrdt_cli_settings WHERE name = 'cadence'", "reading the stored cadence");
  if (!get.step()) return std::nullopt;
  return static_cast<std::uint64_t>(get.column_int64(0));
}

inline void store_cadence(sqlite3* db, std::uint64_t cadence) {
  {
    raw_statement create(db,
                         "CREATE TABLE IF NOT EXISTS treecrdt_cli_settings ("
                         "name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
                         "creating the tool's settings table");
    (void)create.step();
  }
  raw_statement put(db, "INSERT OR REPLACE INTO treecrdt_cli_settings (name, value) VALUES ('cadence', ?1)",
                    "storing the cadence");
  put.bind(1, static_cast<std::int64_t>(cadence));
  (void)put.step();
}

[[nodiscard]] inline std::optional<std::uint64_t> stored_cadence(sqlite_storage& s) {
  return stored_cadence(s.raw_handle());
}
inline void store_cadence(sqlite_storage& s, std::uint64_t cadence) { store_cadence(s.raw_handle(), cadence); }

/// Cadence `interval` (0 = no checkpoints) with a retention spaced to match it.
[[nodiscard]] inline std::pair<treecrdt::every_n_ops, treecrdt::exponential_retention> policies_for(
    std::uint64_t cadence) {
  treecrdt::exponential_retention retention;
  retention.granularity = cadence == 0 ? default_cadence : cadence;
  return {treecrdt::every_n_ops{cadence}, retention};
}

// ---- opening -----------------------------------------------------------------------------------

/// Opens the storage of an existing database; a missing file is an error rather than a new,
/// empty document (only `import` creates databases).
[[nodiscard]] inline sqlite_storage open_existing_storage(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw command_error(path + ": no such database (create one with import)");
  if (!std::filesystem::is_regular_file(path, ec)) throw command_error(path + ": not a regular file, not a database");
  // SQLite would treat an empty file as a new database and write a schema into it.
  if (std::filesystem::file_size(path, ec) == 0) throw command_error(path + ": empty file, not a treecrdt database");
  return sqlite_storage::open(path);
}

/// Opens the document: the memory store restores its latest valid checkpoint and replays the log
/// after it; the table store reads its tables and folds only ops stored after their head. Uses the
/// cadence stored by import (or `cadence_override` when given, which is then stored).
template <class Store = treecrdt::memory_store<key>, class Storage>
[[nodiscard]] cli_document<Storage, Store> open_document(Storage storage,
                                                         std::optional<std::uint64_t> cadence_override = std::nullopt) {
  std::uint64_t cadence = default_cadence;
  if (cadence_override) {
    store_cadence(storage, *cadence_override);
    cadence = *cadence_override;
  } else if (const auto stored = stored_cadence(storage)) {
    cadence = *stored;
  }
  auto [every, retention] = policies_for(cadence);
  return cli_document<Storage, Store>(std::move(storage), cli_replica, every, retention);
}

// ---- the materialized store (--store) ------------------------------------------------------------

/// Where a command keeps the tree while it works on a document.
enum class store_kind { automatic, memory, tables };

/// The --store option of a command; checked before anything is opened.
[[nodiscard]] inline store_kind store_option(const arguments& args) {
  const auto text = args.option("--store");
  if (!text || *text == "auto") return store_kind::automatic;
  if (*text == "memory") return store_kind::memory;
  if (*text != "tables")
    throw usage_error("--store expects auto, memory or tables, got \"" + std::string(*text) + "\"");
  return store_kind::tables;
}

/// The table store of each storage policy: the tree in tables of the same database, written in
/// the transactions of the log (sqlite_store in the file; postgres_store keyed by the document id).
template <class Storage>
struct tables_of;
template <>
struct tables_of<sqlite_storage> {
  using type = sqlite_table_store;
};
#if TREECRDT_CLI_WITH_POSTGRES
template <>
struct tables_of<postgres_storage> {
  using type = postgres_table_store;
};
#endif
template <class Storage>
using table_store_for = typename tables_of<Storage>::type;

/// True when the database already holds sqlite_store's tables. A plain query: opening the store
/// itself would create them. (PostgreSQL: postgres_support.hpp, per document.)
[[nodiscard]] inline bool has_tree_tables(sqlite_storage& s) {
  raw_statement find(s.raw_handle(), "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'treecrdt_tree_meta'",
                     "looking for the tree tables");
  return find.step();
}

/// Whether `kind` means the table store for this storage: `auto` follows what the document holds,
/// so documents written before the tables existed keep the memory store.
template <class Storage>
[[nodiscard]] bool use_tables(Storage& storage, store_kind kind) {
  return kind == store_kind::tables || (kind == store_kind::automatic && has_tree_tables(storage));
}

/// Opens the document over `storage` with the store `kind` selects and returns f(doc). f is
/// instantiated once per document type, so each command's body is written once.
template <class Storage, class F>
decltype(auto) with_document(Storage& storage, store_kind kind, std::optional<std::uint64_t> cadence, F&& f) {
  if (use_tables(storage, kind)) {
    auto doc = open_document<table_store_for<Storage>>(std::move(storage), cadence);
    return f(doc);
  }
  auto doc = open_document(std::move(storage), cadence);
  return f(doc);
}

template <class Store>
inline constexpr bool is_table_store = false;
template <treecrdt::OpKey Key, treecrdt::TreeTables Tables>
inline constexpr bool is_table_store<treecrdt::table_store<Key, Tables>> = true;

/// True for a document over a table store (SQLite or PostgreSQL).
template <class Doc>
inline constexpr bool on_tables = is_table_store<typename Doc::store_type>;

template <class Doc>
[[nodiscard]] constexpr std::string_view store_name(const Doc&) noexcept {
  return on_tables<Doc> ? "table" : "memory";
}

/// The store line of `stats`. Reads the tables' metadata only: nothing is folded or written.
template <class Storage>
[[nodiscard]] std::string describe_store(Storage& storage, store_kind kind) {
  if (!use_tables(storage, kind))
    return "memory (rebuilt at each open from the latest checkpoint and the log after it)";
  // `--store tables` on a document without them: they appear at the next open that uses them.
  if (!has_tree_tables(storage)) return "tables (not created yet: the next command opening DOC creates them)";
  table_store_for<Storage> store;
  store.bind(storage);  // the tables exist: binding only reads their schema version
  if (!store.tables().load_meta()) return "tables (empty: the next command opening DOC fills them)";
  store.reload_state();
  const auto& at = store.head();
  return "tables, " + std::to_string(store.node_count()) + " nodes (ROOT and TRASH included), at seq " +
         std::to_string(at.seq) +
         (at == storage.load_meta().head ? " (the log's head)" : " (behind the log: the next open folds the rest)");
}

/// Whether a command may create the document it names (import, sync) or needs an existing one.
enum class open_mode { existing, create };

/// Opens the storage at `where` and calls f(storage&) with it (a sqlite_storage or a
/// postgres_storage); returns what f returns. A missing SQLite file or a PostgreSQL document never
/// written is an error unless `mode` is create.
template <class F>
decltype(auto) with_storage(const location& where, open_mode mode, F&& f) {
  if (const auto* file = std::get_if<sqlite_location>(&where)) {
    if (mode == open_mode::existing) {
      sqlite_storage s = open_existing_storage(file->path);
      return f(s);
    }
    std::error_code ec;
    if (std::filesystem::is_directory(file->path, ec))
      throw command_error(file->path + ": is a directory, not a database");
    sqlite_storage s = sqlite_storage::open(file->path);
    return f(s);
  }
  const auto& pg = std::get<postgres_location>(where);
#if TREECRDT_CLI_WITH_POSTGRES
  postgres_storage s(pg.conninfo, pg.doc);
  if (mode == open_mode::existing && !document_exists(s))
    throw command_error(pg.shown + ": no such document (create one with import or sync)");
  return f(s);
#else
  throw command_error(pg.shown + ": this treecrdt tool was built without PostgreSQL support");
#endif
}

/// Opens the existing document at `where` with the store `kind` selects and returns f(doc).
template <class F>
decltype(auto) with_existing_document(const location& where, store_kind kind, F&& f) {
  return with_storage(where, open_mode::existing,
                      [&](auto& storage) { return with_document(storage, kind, std::nullopt, f); });
}

/// The first op (as a position in `ops`) whose (replica, counter) is stored with other content,
/// or nullopt. Lets import refuse a conflicting file before storing any of it, instead of failing
/// halfway through its batches.
[[nodiscard]] inline std::uint64_t storage_bytes(sqlite_storage& s) { return s.storage_bytes(); }

[[nodiscard]] inline std::optional<std::size_t> first_stored_conflict(
    sqlite_storage& storage, std::span<const treecrdt::json::numbered_op<key>> ops) {
  if (storage.op_count() == 0) return std::nullopt;
  // Reads the documented on-disk format (storage/sqlite.hpp): ids are unique per (replica, counter).
  raw_statement find(storage.raw_handle(), "SELECT lamport, body FROM treecrdt_ops WHERE replica = ?1 AND counter = ?2",
                     "looking up stored ops");
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const auto& o = ops[i].value;
    find.reset();
    find.bind_blob(1, treecrdt::replica_codec<key::replica_type>::to_bytes(o.key.replica));
    find.bind(2, treecrdt::sqlite::to_ordered_int64(o.key.counter));
    if (!find.step()) continue;
    const bool same = treecrdt::sqlite::from_ordered_int64(find.column_int64(0)) == o.key.lamport &&
                      find.column_blob(1) == treecrdt::encode_op_body(o);
    if (!same) return i;
  }
  return std::nullopt;
}

}  // namespace treecrdt_cli
