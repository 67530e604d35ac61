#pragma once
// Move-only RAII owners for the libpq handles (PGconn, PGresult), bound parameters, and the
// translation of every libpq or server failure into storage_error("postgres", SQLSTATE, message,
// retryable). Statements always go through the extended protocol with binary results, so values are
// read without text parsing and no SQL is ever assembled from data.
#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../../errors.hpp"
#include "wire.hpp"

namespace treecrdt::pg {

inline constexpr std::string_view backend_name = "postgres";

/// Whether repeating the failed work may succeed: a lost connection (class 08), a serialization
/// failure, a deadlock, or a server that is shutting down / restarting (57P01..57P03).
[[nodiscard]] inline bool is_retryable_sqlstate(std::string_view state) noexcept {
  return state.substr(0, 2) == "08" || state == "40001" || state == "40P01" || state == "57P01" || state == "57P02" ||
         state == "57P03";
}

namespace detail {
/// libpq messages end with a newline and may span lines; errors read better on one line.
[[nodiscard]] inline std::string one_line(std::string_view text) {
  std::string out;
  bool pending_space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}
}  // namespace detail

/// Builds the storage_error for a failed call. `what` names the operation, e.g. "append". With no
/// SQLSTATE (the connection broke before the server could answer) the code is "connection".
[[nodiscard]] inline storage_error make_storage_error(const PGconn* conn, const PGresult* res, std::string_view what) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = res != nullptr ? detail::one_line(PQresultErrorMessage(res)) : std::string();
  if (message.empty() && conn != nullptr) message = detail::one_line(PQerrorMessage(conn));
  if (message.empty()) message = "libpq reported no message";
  const bool connection_lost = conn == nullptr || PQstatus(conn) != CONNECTION_OK;
  const std::string code = state != nullptr && *state != '\0' ? std::string(state) : std::string("connection");
  return storage_error(std::string(backend_name), code, std::string(what) + ": " + message,
                       connection_lost || is_retryable_sqlstate(code));
}

/// Owner of one PGresult, with binary-format column readers.
class result {
 public:
  result() noexcept = default;
  explicit result(PGresult* r) noexcept : handle_(r) {}

  [[nodiscard]] PGresult* get() const noexcept { return handle_.get(); }
  [[nodiscard]] int rows() const noexcept { return PQntuples(handle_.get()); }
  [[nodiscard]] bool is_null(int row, int col) const noexcept { return PQgetisnull(handle_.get(), row, col) != 0; }

  /// The raw (binary) bytes of a field; empty for NULL.
  [[nodiscard]] std::string_view field(int row, int col) const noexcept {
    return {PQgetvalue(handle_.get(), row, col), static_cast<std::size_t>(PQgetlength(handle_.get(), row, col))};
  }
  [[nodiscard]] std::int64_t int8(int row, int col) const {
    return static_cast<std::int64_t>(read_be<8>(field(row, col)));
  }
  [[nodiscard]] std::int32_t int4(int row, int col) const {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(read_be<4>(field(row, col))));
  }
  [[nodiscard]] bool boolean(int row, int col) const { return read_be<1>(field(row, col)) != 0; }

  /// Rows touched by an INSERT/UPDATE/DELETE.
  [[nodiscard]] std::uint64_t affected_rows() const {
    const char* n = PQcmdTuples(handle_.get());
    return n == nullptr || *n == '\0' ? 0 : std::stoull(n);
  }
  [[nodiscard]] std::string_view command_status() const noexcept { return PQcmdStatus(handle_.get()); }

 private:
  struct deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
  };
  std::unique_ptr<PGresult, deleter> handle_;
};

/// Bound parameters, all in binary format. Borrowed values must outlive the call they are used in.
class params {
 public:
  params& add_bytes(std::string_view v) {
    items_.push_back({kind::borrowed, {}, v});
    return *this;
  }
  params& add_owned(std::string v) {
    items_.push_back({kind::owned, std::move(v), {}});
    return *this;
  }
  params& add_int8(std::int64_t v) { return add_owned(int8_binary(v)); }
  params& add_bool(bool v) { return add_owned(std::string(1, v ? '\1' : '\0')); }
  params& add_null() {
    items_.push_back({kind::null, {}, {}});
    return *this;
  }

  [[nodiscard]] int size() const noexcept { return static_cast<int>(items_.size()); }

  /// The arrays libpq wants. Valid while this object is alive and unchanged.
  struct arrays {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
  };
  [[nodiscard]] arrays for_libpq() const {
    arrays a;
    a.values.reserve(items_.size());
    for (const item& i : items_) {
      const std::string_view v = i.how == kind::owned ? std::string_view(i.owned) : i.borrowed;
      // A non-NULL empty value still needs a non-null pointer.
      a.values.push_back(i.how == kind::null ? nullptr : (v.data() != nullptr ? v.data() : ""));
      a.lengths.push_back(static_cast<int>(v.size()));
      a.formats.push_back(1);
    }
    return a;
  }

 private:
  enum class kind : std::uint8_t { borrowed, owned, null };
  struct item {
    kind how;
    std::string owned;
    std::string_view borrowed;
  };
  std::vector<item> items_;
};

/// Owner of one PGconn. Every call that fails throws storage_error; none retries by itself.
class connection {
 public:
  connection() noexcept = default;

  /// Connects with a libpq connection string or URI. Throws storage_error (code "connection",
  /// retryable) when the server cannot be reached or refuses the login.
  [[nodiscard]] static connection open(const std::string& conninfo) {
    connection c;
    c.handle_.reset(PQconnectdb(conninfo.c_str()));
    if (!c.handle_) throw storage_error(std::string(backend_name), "connection", "connect: out of memory", true);
    if (PQstatus(c.handle_.get()) != CONNECTION_OK)
      throw storage_error(std::string(backend_name), "connection",
                          "connect: " + detail::one_line(PQerrorMessage(c.handle_.get())), true);
    // A library must not print: server notices ("relation already exists, skipping") are dropped
    // instead of going to stderr. Errors still arrive as results.
    PQsetNoticeReceiver(
        c.handle_.get(), [](void*, const PGresult*) {}, nullptr);
    return c;
  }

  [[nodiscard]] PGconn* get() const noexcept { return handle_.get(); }
  [[nodiscard]] bool healthy() const noexcept { return handle_ && PQstatus(handle_.get()) == CONNECTION_OK; }
  [[nodiscard]] PGTransactionStatusType transaction_status() const noexcept {
    return handle_ ? PQtransactionStatus(handle_.get()) : PQTRANS_UNKNOWN;
  }
  void close() noexcept { handle_.reset(); }

  /// Runs one constant statement without parameters (transaction control, DDL).
  result exec(std::string_view what, const char* sql) {
    return check(PQexecParams(handle_.get(), sql, 0, nullptr, nullptr, nullptr, nullptr, 1), what);
  }

  void prepare(std::string_view what, const char* name, const char* sql, std::span<const type_oid> types) {
    (void)check(PQprepare(handle_.get(), name, sql, static_cast<int>(types.size()), types.data()), what);
  }

  result exec_prepared(std::string_view what, const char* name, const params& p) {
    const auto a = p.for_libpq();
    return check(PQexecPrepared(handle_.get(), name, p.size(), a.values.data(), a.lengths.data(), a.formats.data(), 1),
                 what);
  }

  /// For destructors: runs a constant statement and ignores any failure.
  void exec_ignoring_errors(const char* sql) noexcept {
    if (handle_) PQclear(PQexec(handle_.get(), sql));
  }

 private:
  result check(PGresult* raw, std::string_view what) {
    result r(raw);
    if (raw != nullptr) {
      const auto status = PQresultStatus(raw);
      if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    }
    throw make_storage_error(handle_.get(), raw, what);
  }

  struct deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
  };
  std::unique_ptr<PGconn, deleter> handle_;
};

}  // namespace treecrdt::pg
