#pragma once
// Helpers shared by the PostgreSQL tests: the server URL, unique document ids (tests never share a
// document, so they cannot see each other's data), a side connection for SQL the storage does not
// offer (killing backends, scratch schemas), and small op builders.
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <treecrdt/op.hpp>
#include <treecrdt/storage/postgres.hpp>

namespace treecrdt_pg_test {

[[nodiscard]] inline std::string pg_url() {
  const char* url = std::getenv("TREECRDT_PG_URL");
  if (url == nullptr || *url == '\0') throw std::runtime_error("TREECRDT_PG_URL is not set");
  return url;
}

/// `url` with a libpq option added, e.g. with_option(url, "options", "-csearch_path=x").
[[nodiscard]] inline std::string with_uri_parameter(const std::string& url, std::string_view key,
                                                    std::string_view percent_encoded_value) {
  const char sep = url.find('?') == std::string::npos ? '?' : '&';
  return url + sep + std::string(key) + "=" + std::string(percent_encoded_value);
}

/// A document id no other test (or earlier run against the same server) uses.
[[nodiscard]] inline std::string unique_doc(std::string_view label) {
  static std::atomic<std::uint64_t> sequence{0};
  static const std::uint64_t run = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }();
  return std::string(label) + "/" + std::to_string(run) + "/" + std::to_string(sequence.fetch_add(1));
}

/// A plain libpq connection for the test's own SQL. Constant statements only.
class side_connection {
 public:
  explicit side_connection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK)
      throw std::runtime_error(std::string("side connection: ") + PQerrorMessage(conn_));
    (void)query("SET client_min_messages = warning");  // DROP ... CASCADE notices are noise
  }
  side_connection(const side_connection&) = delete;
  side_connection& operator=(const side_connection&) = delete;
  ~side_connection() { PQfinish(conn_); }

  /// Runs `sql` with text parameters; returns the first column of every row (NULL as "").
  std::vector<std::string> query(const std::string& sql, const std::vector<std::string>& args = {}) {
    std::vector<const char*> values;
    for (const auto& a : args) values.push_back(a.c_str());
    PGresult* r =
        PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
    const auto status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      const std::string message = PQresultErrorMessage(r);
      PQclear(r);
      throw std::runtime_error("side connection: " + sql + ": " + message);
    }
    std::vector<std::string> out;
    for (int i = 0; i < PQntuples(r); ++i) out.emplace_back(PQgetvalue(r, i, 0));
    PQclear(r);
    return out;
  }

  /// Terminates backend `pid` and waits until the server no longer lists it, so the victim's next
  /// call is certain to find its connection gone.
  void terminate_backend(int pid) {
    const std::string p = std::to_string(pid);
    (void)query("SELECT pg_terminate_backend($1::int)", {p});
    for (int polls = 0; !query("SELECT 1 FROM pg_stat_activity WHERE pid = $1::int", {p}).empty(); ++polls) {
      if (polls == 6000) throw std::runtime_error("backend " + p + " did not terminate");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

 private:
  PGconn* conn_;
};

using key = treecrdt::default_op_key;
using op_t = treecrdt::op<key>;
using storage_t = treecrdt::postgres_storage<key>;

[[nodiscard]] inline key k(std::uint64_t lamport, std::string replica, std::uint64_t counter) {
  return key{lamport, std::move(replica), counter};
}

/// An insert under ROOT of node `n`, named by its key.
[[nodiscard]] inline op_t insert_op(key kk, std::uint64_t n, std::string order_key = "80") {
  return treecrdt::make_insert(std::move(kk), treecrdt::root_node, treecrdt::node_id{0, n}, std::move(order_key));
}

/// Every op of the document, in scan order.
template <class Storage>
[[nodiscard]] std::vector<treecrdt::op<typename Storage::key_type>> scan_all(
    Storage& s, const std::optional<typename Storage::key_type>& after = std::nullopt) {
  std::vector<treecrdt::op<typename Storage::key_type>> out;
  s.scan_after(after, [&](const auto& o) { out.push_back(o); });
  return out;
}

}  // namespace treecrdt_pg_test
