#pragma once
// How SQLite failures become treecrdt errors: every failing call throws `sqlite_error`, a
// storage_error whose code is the primary result code name ("SQLITE_BUSY"), whose message names
// what was being done, SQLite's own message and the extended code, and which is retryable exactly
// for SQLITE_BUSY and SQLITE_LOCKED (another connection holds a lock; the same call may succeed later).
#include <sqlite3.h>

#include <string>
#include <string_view>

#include "../../errors.hpp"

namespace treecrdt {

/// Name of a primary SQLite result code ("SQLITE_READONLY"); "SQLITE_<n>" for an unknown one.
[[nodiscard]] inline std::string sqlite_result_code_name(int code) {
  switch (code & 0xff) {
    case SQLITE_OK: return "SQLITE_OK";
    case SQLITE_ERROR: return "SQLITE_ERROR";
    case SQLITE_INTERNAL: return "SQLITE_INTERNAL";
    case SQLITE_PERM: return "SQLITE_PERM";
    case SQLITE_ABORT: return "SQLITE_ABORT";
    case SQLITE_BUSY: return "SQLITE_BUSY";
    case SQLITE_LOCKED: return "SQLITE_LOCKED";
    case SQLITE_NOMEM: return "SQLITE_NOMEM";
    case SQLITE_READONLY: return "SQLITE_READONLY";
    case SQLITE_INTERRUPT: return "SQLITE_INTERRUPT";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
    case SQLITE_NOTFOUND: return "SQLITE_NOTFOUND";
    case SQLITE_FULL: return "SQLITE_FULL";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL: return "SQLITE_PROTOCOL";
    case SQLITE_EMPTY: return "SQLITE_EMPTY";
    case SQLITE_SCHEMA: return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG: return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH: return "SQLITE_MISMATCH";
    case SQLITE_MISUSE: return "SQLITE_MISUSE";
    case SQLITE_NOLFS: return "SQLITE_NOLFS";
    case SQLITE_AUTH: return "SQLITE_AUTH";
    case SQLITE_FORMAT: return "SQLITE_FORMAT";
    case SQLITE_RANGE: return "SQLITE_RANGE";
    case SQLITE_NOTADB: return "SQLITE_NOTADB";
    case SQLITE_NOTICE: return "SQLITE_NOTICE";
    case SQLITE_WARNING: return "SQLITE_WARNING";
    case SQLITE_ROW: return "SQLITE_ROW";
    case SQLITE_DONE: return "SQLITE_DONE";
    default: return "SQLITE_" + std::to_string(code & 0xff);
  }
}

namespace detail {
struct sqlite_code_name {
  int code;
  const char* name;
};
// Extended codes a caller is likely to meet; #ifdef keeps older SQLite headers compiling.
inline constexpr sqlite_code_name sqlite_extended_code_names[] = {
#ifdef SQLITE_BUSY_RECOVERY
    {SQLITE_BUSY_RECOVERY, "SQLITE_BUSY_RECOVERY"},
#endif
#ifdef SQLITE_BUSY_SNAPSHOT
    {SQLITE_BUSY_SNAPSHOT, "SQLITE_BUSY_SNAPSHOT"},
#endif
#ifdef SQLITE_BUSY_TIMEOUT
    {SQLITE_BUSY_TIMEOUT, "SQLITE_BUSY_TIMEOUT"},
#endif
#ifdef SQLITE_LOCKED_SHAREDCACHE
    {SQLITE_LOCKED_SHAREDCACHE, "SQLITE_LOCKED_SHAREDCACHE"},
#endif
#ifdef SQLITE_READONLY_RECOVERY
    {SQLITE_READONLY_RECOVERY, "SQLITE_READONLY_RECOVERY"},
#endif
#ifdef SQLITE_READONLY_CANTLOCK
    {SQLITE_READONLY_CANTLOCK, "SQLITE_READONLY_CANTLOCK"},
#endif
#ifdef SQLITE_READONLY_ROLLBACK
    {SQLITE_READONLY_ROLLBACK, "SQLITE_READONLY_ROLLBACK"},
#endif
#ifdef SQLITE_READONLY_DBMOVED
    {SQLITE_READONLY_DBMOVED, "SQLITE_READONLY_DBMOVED"},
#endif
#ifdef SQLITE_READONLY_CANTINIT
    {SQLITE_READONLY_CANTINIT, "SQLITE_READONLY_CANTINIT"},
#endif
#ifdef SQLITE_READONLY_DIRECTORY
    {SQLITE_READONLY_DIRECTORY, "SQLITE_READONLY_DIRECTORY"},
#endif
#ifdef SQLITE_IOERR_READ
    {SQLITE_IOERR_READ, "SQLITE_IOERR_READ"},
#endif
#ifdef SQLITE_IOERR_SHORT_READ
    {SQLITE_IOERR_SHORT_READ, "SQLITE_IOERR_SHORT_READ"},
#endif
#ifdef SQLITE_IOERR_WRITE
    {SQLITE_IOERR_WRITE, "SQLITE_IOERR_WRITE"},
#endif
#ifdef SQLITE_IOERR_FSYNC
    {SQLITE_IOERR_FSYNC, "SQLITE_IOERR_FSYNC"},
#endif
#ifdef SQLITE_IOERR_TRUNCATE
    {SQLITE_IOERR_TRUNCATE, "SQLITE_IOERR_TRUNCATE"},
#endif
#ifdef SQLITE_IOERR_LOCK
    {SQLITE_IOERR_LOCK, "SQLITE_IOERR_LOCK"},
#endif
#ifdef SQLITE_IOERR_SHMOPEN
    {SQLITE_IOERR_SHMOPEN, "SQLITE_IOERR_SHMOPEN"},
#endif
#ifdef SQLITE_CORRUPT_INDEX
    {SQLITE_CORRUPT_INDEX, "SQLITE_CORRUPT_INDEX"},
#endif
#ifdef SQLITE_CANTOPEN_ISDIR
    {SQLITE_CANTOPEN_ISDIR, "SQLITE_CANTOPEN_ISDIR"},
#endif
#ifdef SQLITE_CANTOPEN_FULLPATH
    {SQLITE_CANTOPEN_FULLPATH, "SQLITE_CANTOPEN_FULLPATH"},
#endif
#ifdef SQLITE_CONSTRAINT_CHECK
    {SQLITE_CONSTRAINT_CHECK, "SQLITE_CONSTRAINT_CHECK"},
#endif
#ifdef SQLITE_CONSTRAINT_NOTNULL
    {SQLITE_CONSTRAINT_NOTNULL, "SQLITE_CONSTRAINT_NOTNULL"},
#endif
#ifdef SQLITE_CONSTRAINT_PRIMARYKEY
    {SQLITE_CONSTRAINT_PRIMARYKEY, "SQLITE_CONSTRAINT_PRIMARYKEY"},
#endif
#ifdef SQLITE_CONSTRAINT_UNIQUE
    {SQLITE_CONSTRAINT_UNIQUE, "SQLITE_CONSTRAINT_UNIQUE"},
#endif
#ifdef SQLITE_ABORT_ROLLBACK
    {SQLITE_ABORT_ROLLBACK, "SQLITE_ABORT_ROLLBACK"},
#endif
    {SQLITE_OK, "SQLITE_OK"},  // keeps the array non-empty whatever the header defines
};
}  // namespace detail

/// Name of an extended result code ("SQLITE_BUSY_SNAPSHOT"); the primary name for a primary code;
/// "<primary name>/<n>" for an extended code this header does not know.
[[nodiscard]] inline std::string sqlite_extended_code_name(int code) {
  if (code == (code & 0xff)) return sqlite_result_code_name(code);
  for (const auto& entry : detail::sqlite_extended_code_names)
    if (entry.code == code) return entry.name;
  return sqlite_result_code_name(code) + "/" + std::to_string(code >> 8);
}

/// A failed SQLite call. Catch it as storage_error; the numeric codes are here for callers that
/// want them. The transaction it happened in is rolled back when its `transaction` object dies.
class sqlite_error : public storage_error {
 public:
  sqlite_error(int extended_code, std::string_view during, std::string_view sqlite_message)
      : storage_error("sqlite", sqlite_result_code_name(extended_code),
                      std::string(during) + ": " + std::string(sqlite_message) +
                          (extended_code == (extended_code & 0xff)
                               ? std::string()
                               : " (extended code " + sqlite_extended_code_name(extended_code) + ")"),
                      is_retryable(extended_code)),
        extended_code_(extended_code) {}

  [[nodiscard]] int primary_code() const noexcept { return extended_code_ & 0xff; }
  [[nodiscard]] int extended_code() const noexcept { return extended_code_; }

  [[nodiscard]] static bool is_retryable(int code) noexcept {
    return (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED;
  }

 private:
  int extended_code_;
};

namespace sqlite {

/// Throws the sqlite_error for the last failure on `db` (its extended code and message).
/// `rc` is the code the failing call returned; it wins when the handle has no error recorded.
[[noreturn]] inline void throw_error(sqlite3* db, int rc, std::string_view during) {
  int code = rc;
  std::string message = sqlite3_errstr(rc);
  if (db != nullptr && (sqlite3_errcode(db) & 0xff) == (rc & 0xff)) {
    code = sqlite3_extended_errcode(db);
    message = sqlite3_errmsg(db);
  }
  throw sqlite_error(code, during, message);
}

}  // namespace sqlite
}  // namespace treecrdt
