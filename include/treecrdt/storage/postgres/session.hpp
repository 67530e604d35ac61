#pragma once
// The part of a postgres_storage handle's state that does not depend on its key type: the
// connection, its prepared statements, the transaction flags and the reconnect rule. The handle owns
// it through a shared_ptr and lends it out (postgres_storage::shared_session()) to components that
// keep their own tables in the handle's transactions, such as the tree tables of
// store/postgres_store.hpp: it stays put when the handle is moved, and a reconnect replaces the
// connection inside it, so a borrower never holds a stale PGconn*.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "../../bytes.hpp"
#include "../../detail/hex.hpp"
#include "../../errors.hpp"
#include "connection.hpp"
#include "statements.hpp"

namespace treecrdt::pg {

struct document_session {
  std::string conninfo;
  bytes doc;
  connection conn;
  statement_cache cache;
  std::vector<std::string_view> extension_prepared;  // names run(statement_text) prepared on conn
  bool in_transaction = false;
  bool scanning = false;

  result run(statement st, const params& p, std::string_view what) { return cache.run(conn, st, p, what); }

  /// Runs a statement that is not one of statements[] (another component's), preparing it under
  /// st.name the first time this connection sees that name. Requires: st.name is a string literal
  /// (kept by view) unique among all statements, and always names the same SQL.
  result run(const statement_text& st, const params& p, std::string_view what) {
    const std::string_view name(st.name);
    if (std::find(extension_prepared.begin(), extension_prepared.end(), name) == extension_prepared.end()) {
      conn.prepare(what, st.name, st.sql, st.parameter_types());
      extension_prepared.push_back(name);
    }
    return conn.exec_prepared(what, st.name, p);
  }

  void reconnect() {
    conn.close();
    cache.reset();
    extension_prepared.clear();
    conn = connection::open(conninfo);
  }

  /// For work that starts outside any transaction: a connection known to be lost is replaced
  /// first, and one found lost by `work` itself is replaced and `work` runs once more. Safe because
  /// nothing was in flight; never used inside a transaction, whose work a new connection lacks.
  template <class Work>
  result idle_call(Work&& work) {
    const bool fresh = !conn.healthy();
    if (fresh) reconnect();
    try {
      return work();
    } catch (const storage_error&) {
      if (fresh || conn.healthy()) throw;
      reconnect();
      return work();
    }
  }

  /// A read: inside the open transaction or scan as is, otherwise with idle_call's reconnect.
  /// `Statement` is a statement (the storage's) or a statement_text (another component's).
  template <class Statement>
  result run_read(const Statement& st, const params& p, std::string_view what) {
    if (in_transaction || scanning) return run(st, p, what);
    return idle_call([&] { return run(st, p, what); });
  }

  void end_transaction_quietly() noexcept {
    const auto status = conn.transaction_status();
    if (status == PQTRANS_INTRANS || status == PQTRANS_INERROR) conn.exec_ignoring_errors("ROLLBACK");
  }

  [[nodiscard]] std::string describe_document() const { return treecrdt::detail::to_hex(doc); }
};

}  // namespace treecrdt::pg
