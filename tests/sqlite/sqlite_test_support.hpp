#pragma once
// Helpers for the SQLite tests: a temporary directory removed at the end of the test, raw file
// bytes (to prove a refused file was not touched), and raw SQL on a file or a handle, for setting
// up foreign files and corrupting rows on purpose.
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>

namespace treecrdt_test {

/// A fresh directory (under the system temp dir unless `base` says otherwise), removed with
/// everything in it on destruction.
class temp_dir {
 public:
  explicit temp_dir(const std::filesystem::path& base = std::filesystem::temp_directory_path(),
                    const std::string& prefix = "treecrdt-sqlite-") {
    std::string pattern = (base / (prefix + "XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

[[nodiscard]] inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file_bytes(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) throw std::runtime_error("cannot write " + path);
}

/// Runs `sql` on an open handle; throws with SQLite's message on failure.
inline void exec_sql(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    throw std::runtime_error("test SQL failed: " + text + " in: " + sql);
  }
}

/// Opens `path` with a plain connection (no treecrdt involved), runs `sql`, closes.
inline void exec_sql_on_file(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("test cannot open " + path);
  }
  try {
    exec_sql(db, sql);
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
  sqlite3_close(db);
}

/// The single integer result of `sql` on an open handle (e.g. a PRAGMA).
[[nodiscard]] inline long long query_int(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("test cannot prepare: ") + sqlite3_errmsg(db));
  long long value = 0;
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) throw std::runtime_error("test query returned no row: " + sql);
  return value;
}

/// The single text result of `sql` on an open handle.
[[nodiscard]] inline std::string query_text(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("test cannot prepare: ") + sqlite3_errmsg(db));
  std::string value;
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr)
    value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) throw std::runtime_error("test query returned no row: " + sql);
  return value;
}

}  // namespace treecrdt_test
