#pragma once
// Every error the library throws derives from treecrdt::error.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace treecrdt {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An op that breaks SPEC §3 validation. The whole batch it came in was rejected.
class invalid_op_error : public error {
 public:
  invalid_op_error(std::size_t index, std::string op, std::string reason)
      : error("invalid op #" + std::to_string(index) + " " + op + ": " + reason), index_(index), op_(std::move(op)),
        reason_(std::move(reason)) {}
  /// Position of the op in its batch.
  [[nodiscard]] std::size_t index() const noexcept { return index_; }
  [[nodiscard]] const std::string& op() const noexcept { return op_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

 private:
  std::size_t index_;
  std::string op_;
  std::string reason_;
};

/// Two ops with the same (replica, counter) but different content. The whole batch was rejected.
class conflicting_op_error : public error {
 public:
  conflicting_op_error(std::size_t index, std::string op)
      : error("conflicting op #" + std::to_string(index) + " " + op +
              ": same (replica, counter) as a different op already known"),
        index_(index), op_(std::move(op)) {}
  [[nodiscard]] std::size_t index() const noexcept { return index_; }
  [[nodiscard]] const std::string& op() const noexcept { return op_; }

 private:
  std::size_t index_;
  std::string op_;
};

/// A local edit refused because this replica's next lamport or counter would pass the clock limit
/// (limits::max_clock): an op that carried it would be refused by every replica. Nothing was stored;
/// remote ops are still accepted. Reached only after a peer sent an op with a lamport (or an op under
/// this replica's own id with a counter) close to the limit.
class clock_exhausted_error : public error {
 public:
  using error::error;
};

/// A text input (JSON Lines) that cannot be read; names the 1-based line.
class parse_error : public error {
 public:
  parse_error(std::size_t line, const std::string& what)
      : error("line " + std::to_string(line) + ": " + what), line_(line) {}
  [[nodiscard]] std::size_t line() const noexcept { return line_; }

 private:
  std::size_t line_;
};

/// A failure reported by a storage backend. `code` is the backend's own code (SQLite result code
/// name, PostgreSQL SQLSTATE); `retryable` says whether the same call may succeed if repeated
/// (busy/locked, deadlock, serialization failure, lost connection). The transaction was rolled back.
class storage_error : public error {
 public:
  storage_error(std::string backend, std::string code, const std::string& message, bool retryable)
      : error(backend + " error [" + code + "]" + (retryable ? " (retryable)" : "") + ": " + message),
        backend_(std::move(backend)), code_(std::move(code)), retryable_(retryable) {}
  [[nodiscard]] const std::string& backend() const noexcept { return backend_; }
  [[nodiscard]] const std::string& code() const noexcept { return code_; }
  [[nodiscard]] bool retryable() const noexcept { return retryable_; }

 private:
  std::string backend_;
  std::string code_;
  bool retryable_;
};

/// The storage holds something this library version cannot use (foreign file, future schema).
class schema_error : public error {
 public:
  using error::error;
};

/// A checkpoint's bytes do not verify (checksum, header or body). Catch-up skips such a
/// checkpoint and falls back; this type only escapes from explicit checkpoint decoding.
class corrupt_checkpoint_error : public error {
 public:
  using error::error;
};

}  // namespace treecrdt
