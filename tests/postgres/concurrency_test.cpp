// Writers of one document are serialized across connections; writers of different documents are not.
// Catch2 assertions are not thread-safe: threads record what they saw, the main thread checks it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <treecrdt/storage/postgres.hpp>

#include "pg_test_support.hpp"

using namespace treecrdt_pg_test;

TEST_CASE("postgres concurrency: writers of one document are serialized across connections",
          "[postgres][concurrency]") {
  // Each transaction reads the document's max lamport and appends an op at max + 1: a read-modify-
  // write that loses updates (two ops with one lamport) unless writers really take turns.
  constexpr int writers = 4;
  constexpr int transactions_each = 25;
  const std::string doc = unique_doc("serialized");
  { storage_t create(pg_url(), doc); }

  std::mutex mutex;
  std::vector<std::uint64_t> counts_at_begin;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      try {
        storage_t s(pg_url(), doc);
        const std::string replica = "writer" + std::to_string(w);
        for (int i = 1; i <= transactions_each; ++i) {
          auto tx = s.begin();
          const std::uint64_t lamport = s.max_lamport() + 1;
          const auto fresh = s.append(std::vector<op_t>{
              insert_op(k(lamport, replica, static_cast<std::uint64_t>(i)), static_cast<std::uint64_t>(w * 1000 + i))});
          tx.commit();
          std::lock_guard lock(mutex);
          counts_at_begin.push_back(tx.op_count_at_begin());
          if (fresh.size() != 1) failures.push_back(replica + ": an op of its own was taken for a duplicate");
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        failures.push_back(e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& f : failures) FAIL_CHECK(f);

  constexpr std::uint64_t total = writers * transactions_each;
  storage_t check(pg_url(), doc);
  CHECK(check.op_count() == total);
  const auto ops = scan_all(check);
  REQUIRE(ops.size() == total);
  // Serialized: the lamports are exactly 1..total and each transaction saw a distinct count.
  for (std::uint64_t i = 0; i < total; ++i) CHECK(ops[i].key.lamport == i + 1);
  std::sort(counts_at_begin.begin(), counts_at_begin.end());
  std::vector<std::uint64_t> expected(total);
  std::iota(expected.begin(), expected.end(), std::uint64_t{0});
  CHECK(counts_at_begin == expected);
}

TEST_CASE("postgres concurrency: the document lock blocks only writers of the same document",
          "[postgres][concurrency]") {
  const std::string doc_a = unique_doc("lock-a");
  const std::string doc_b = unique_doc("lock-b");
  storage_t a(pg_url(), doc_a);
  storage_t a_other(pg_url(), doc_a);
  storage_t b(pg_url(), doc_b);
  // Instead of hanging, a blocked lock wait ends in an error: 55P03 lock_not_available.
  PQclear(PQexec(b.raw_connection(), "SET lock_timeout = '20s'"));
  PQclear(PQexec(a_other.raw_connection(), "SET lock_timeout = '200ms'"));

  auto held = a.begin();
  (void)a.append(std::vector<op_t>{insert_op(k(1, "a", 1), 1)});
  const treecrdt::materialization_meta<key> written{{k(1, "a", 1), 1}, std::nullopt};
  a.store_meta(written);

  // Another document: not blocked, commits while doc A's transaction is still open.
  {
    auto tx = b.begin();
    CHECK(b.append(std::vector<op_t>{insert_op(k(1, "b", 1), 1)}).size() == 1);
    tx.commit();
  }
  CHECK(b.op_count() == 1);

  // Same document from another connection: waits for the lock.
  try {
    auto tx = a_other.begin();
    FAIL("a second writer of the same document got the lock");
  } catch (const treecrdt::storage_error& e) {
    CHECK(e.code() == "55P03");
    CHECK_FALSE(e.retryable());
  }

  held.commit();
  // A handle whose view may be stale learns under the lock that the log and the head changed.
  CHECK(a_other.load_meta() == written);
  auto tx = a_other.begin();
  CHECK(tx.op_count_at_begin() == 1);
  CHECK(a_other.op_count() == 1);
  CHECK(a_other.load_meta() == written);
  (void)a_other.append(std::vector<op_t>{insert_op(k(2, "a", 2), 2)});
  CHECK(a_other.op_count() == 2);
  tx.commit();
  CHECK(a.op_count() == 2);
}
