#pragma once
// Shared by the document-over-SQLite tests: deterministic histories (the property tests' history
// interpreter driven by a seeded engine instead of RapidCheck), cutting them into shuffled batches
// (so late ops happen), a logical dump of a treecrdt database, and checkpoint corruption.
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "properties/op_generators.hpp"
#include "treecrdt/detail/hex.hpp"
#include "treecrdt/op.hpp"

namespace treecrdt_test {

/// `steps` random history steps over `replicas` replicas and `nodes` nodes, reproducible from `seed`.
template <treecrdt::OpKey Key>
[[nodiscard]] std::vector<treecrdt::op<Key>> seeded_history(std::uint32_t seed, std::size_t steps, unsigned replicas,
                                                            unsigned nodes) {
  std::mt19937 rng(seed);
  std::vector<history_step> script(steps);
  const auto pick = [&rng](unsigned bound) { return static_cast<unsigned>(rng() % bound); };
  for (auto& s : script) s = history_step{pick(100), pick(8), pick(64), pick(64), pick(256), pick(64)};
  return interpret_history<Key>(replicas, nodes, script).ops;
}

/// The ops shuffled "mostly forward" (each op moves back by up to `lateness` places, so some keys
/// arrive below the head), then cut into batches of 1..max_batch ops.
template <treecrdt::OpKey Key>
[[nodiscard]] std::vector<std::vector<treecrdt::op<Key>>> seeded_batches(std::vector<treecrdt::op<Key>> ops,
                                                                         std::uint32_t seed, std::size_t lateness,
                                                                         std::size_t max_batch) {
  std::mt19937 rng(seed);
  std::vector<std::pair<std::size_t, std::size_t>> order;  // (position + jitter, index)
  for (std::size_t i = 0; i < ops.size(); ++i) order.emplace_back(i + rng() % (lateness + 1), i);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::vector<treecrdt::op<Key>>> batches;
  for (std::size_t i = 0; i < order.size();) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % max_batch, order.size() - i);
    std::vector<treecrdt::op<Key>> batch;
    for (std::size_t j = 0; j < n; ++j) batch.push_back(ops[order[i + j].second]);
    batches.push_back(std::move(batch));
    i += n;
  }
  return batches;
}

/// Every row of `sql`, columns joined by '|', rows by '\n' (BLOBs as hex via quote()).
[[nodiscard]] inline std::string query_rows(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("test cannot prepare: ") + sqlite3_errmsg(db) + " in: " + sql);
  std::string out;
  int rc = 0;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
      const unsigned char* text = sqlite3_column_text(stmt, c);
      if (c) out += '|';
      out += text != nullptr ? reinterpret_cast<const char*>(text) : "NULL";
    }
    out += '\n';
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) throw std::runtime_error("test query failed: " + sql);
  return out;
}

/// Everything a treecrdt database holds, as text: equal dumps mean equal logical content.
[[nodiscard]] inline std::string dump_treecrdt_database(sqlite3* db) {
  return "ops:\n" +
         query_rows(db,
                    "SELECT lamport, quote(replica), counter, quote(body) FROM treecrdt_ops "
                    "ORDER BY lamport, replica, counter") +
         "meta:\n" +
         query_rows(db,
                    "SELECT quote(head_lamport), quote(head_replica), quote(head_counter), head_seq, "
                    "quote(frontier_lamport), quote(frontier_replica), quote(frontier_counter), "
                    "op_count FROM treecrdt_meta") +
         "checkpoints:\n" +
         query_rows(db,
                    "SELECT id, lamport, quote(replica), counter, seq, size, quote(base_lamport), quote(base_replica), "
                    "quote(base_counter), quote(blob) FROM treecrdt_checkpoints ORDER BY id");
}

/// Flips one byte in the middle of checkpoint `id`'s blob, through SQL with a bound parameter.
inline void flip_checkpoint_byte(sqlite3* db, std::uint64_t id) {
  sqlite3_stmt* read = nullptr;
  sqlite3_prepare_v2(db, "SELECT blob FROM treecrdt_checkpoints WHERE id = ?1", -1, &read, nullptr);
  sqlite3_bind_int64(read, 1, static_cast<sqlite3_int64>(id));
  if (sqlite3_step(read) != SQLITE_ROW) {
    sqlite3_finalize(read);
    throw std::runtime_error("test: no checkpoint " + std::to_string(id));
  }
  std::string blob(static_cast<const char*>(sqlite3_column_blob(read, 0)),
                   static_cast<std::size_t>(sqlite3_column_bytes(read, 0)));
  sqlite3_finalize(read);
  blob[blob.size() / 2] = static_cast<char>(blob[blob.size() / 2] ^ 0x5a);
  sqlite3_stmt* write = nullptr;
  sqlite3_prepare_v2(db, "UPDATE treecrdt_checkpoints SET blob = ?2 WHERE id = ?1", -1, &write, nullptr);
  sqlite3_bind_int64(write, 1, static_cast<sqlite3_int64>(id));
  sqlite3_bind_blob(write, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(write);
  sqlite3_finalize(write);
  if (rc != SQLITE_DONE || sqlite3_changes(db) != 1) throw std::runtime_error("test: cannot corrupt checkpoint");
}

}  // namespace treecrdt_test
