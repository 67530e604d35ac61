// Lost connections: a backend terminated by the server (pg_terminate_backend) makes the current call
// fail with a retryable storage_error; the next begin() reconnects, and retrying the same batch
// leaves every op in the log exactly once.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <treecrdt/storage/postgres.hpp>

#include "pg_test_support.hpp"

using namespace treecrdt_pg_test;

namespace {

std::vector<op_t> make_batch(const std::string& replica, std::uint64_t first_counter, std::uint64_t size) {
  std::vector<op_t> out;
  for (std::uint64_t c = first_counter; c < first_counter + size; ++c) out.push_back(insert_op(k(c, replica, c), c));
  return out;
}

bool is_connection_loss(const treecrdt::storage_error& e) {
  return e.code() == "connection" || e.code() == "57P01" || e.code().rfind("08", 0) == 0;
}

/// The log must hold exactly `expected` (as a set), each op once.
void check_log_is(storage_t& s, std::vector<op_t> expected) {
  std::sort(expected.begin(), expected.end(), [](const op_t& x, const op_t& y) { return x.key < y.key; });
  CHECK(s.op_count() == expected.size());
  CHECK(scan_all(s) == expected);
}

}  // namespace

TEST_CASE("postgres faults: a connection killed in the middle of appends", "[postgres][faults]") {
  storage_t w(pg_url(), unique_doc("killed"));
  side_connection admin(pg_url());
  const auto batch1 = make_batch("w", 1, 10);
  const auto batch2 = make_batch("w", 11, 10);
  {
    auto tx = w.begin();
    (void)w.append(batch1);
    tx.commit();
  }
  const int victim = PQbackendPID(w.raw_connection());
  {
    auto tx = w.begin();
    CHECK(w.append(std::vector<op_t>(batch2.begin(), batch2.begin() + 5)).size() == 5);
    admin.terminate_backend(victim);
    try {
      (void)w.append(std::vector<op_t>(batch2.begin() + 5, batch2.end()));
      FAIL("append on a terminated connection succeeded");
    } catch (const treecrdt::storage_error& e) {
      INFO(e.what());
      CHECK(e.retryable());
      CHECK(is_connection_loss(e));
      CHECK(e.backend() == "postgres");
    }
  }  // the destructor must cope with the dead connection

  // Retry the whole batch: begin() reconnects; the half appended before the kill was rolled back.
  {
    auto tx = w.begin();
    CHECK(PQbackendPID(w.raw_connection()) != victim);
    CHECK(w.append(batch2).size() == 10);
    tx.commit();
  }
  // A retry after a commit whose outcome was unknown to the caller is harmless.
  {
    auto tx = w.begin();
    CHECK(w.append(batch2).empty());
    tx.commit();
  }
  auto all = batch1;
  all.insert(all.end(), batch2.begin(), batch2.end());
  check_log_is(w, all);
}

TEST_CASE("postgres faults: a connection killed before commit", "[postgres][faults]") {
  storage_t w(pg_url(), unique_doc("killed-commit"));
  side_connection admin(pg_url());
  const auto batch = make_batch("c", 1, 8);
  {
    auto tx = w.begin();
    CHECK(w.append(batch).size() == 8);
    (void)w.save_checkpoint(batch.back().key, 8, "cp");
    admin.terminate_backend(PQbackendPID(w.raw_connection()));
    try {
      tx.commit();
      FAIL("commit on a terminated connection succeeded");
    } catch (const treecrdt::storage_error& e) {
      INFO(e.what());
      CHECK(e.retryable());
    }
  }
  CHECK(w.op_count() == 0);  // nothing was committed; the read reconnects by itself
  CHECK(w.list_checkpoints().empty());
  {
    auto tx = w.begin();
    CHECK(w.append(batch).size() == 8);
    tx.commit();
  }
  check_log_is(w, batch);
}

TEST_CASE("postgres faults: a connection killed while idle is replaced transparently", "[postgres][faults]") {
  storage_t w(pg_url(), unique_doc("killed-idle"));
  side_connection admin(pg_url());
  const auto batch = make_batch("i", 1, 3);

  admin.terminate_backend(PQbackendPID(w.raw_connection()));
  CHECK(w.op_count() == 0);  // a read outside a transaction reconnects and runs again

  admin.terminate_backend(PQbackendPID(w.raw_connection()));
  {
    auto tx = w.begin();  // BEGIN finds the connection dead, reconnects, begins again
    CHECK(w.append(batch).size() == 3);
    tx.commit();
  }
  admin.terminate_backend(PQbackendPID(w.raw_connection()));
  CHECK(scan_all(w) == batch);  // also the scan's own read transaction
}

TEST_CASE("postgres faults: a writer keeps retrying while its backend is killed at random moments",
          "[postgres][faults]") {
  constexpr std::uint64_t batches = 60;
  constexpr std::uint64_t batch_size = 20;
  constexpr int kills = 8;
  const std::string doc = unique_doc("killed-random");
  storage_t w(pg_url(), doc);

  std::atomic<int> live_pid{PQbackendPID(w.raw_connection())};
  std::atomic<bool> writer_done{false};
  std::atomic<int> retries{0};
  std::vector<std::string> unexpected;  // written by the writer thread only, read after join

  std::thread writer([&] {
    try {
      for (std::uint64_t b = 0; b < batches; ++b) {
        const auto batch = make_batch("k", 1 + b * batch_size, batch_size);
        for (;;) {
          try {
            auto tx = w.begin();
            live_pid = PQbackendPID(w.raw_connection());
            (void)w.append(batch);
            (void)w.op_count();
            tx.commit();
            break;
          } catch (const treecrdt::storage_error& e) {
            if (!e.retryable()) throw;
            ++retries;
          }
        }
      }
    } catch (const std::exception& e) {
      unexpected.emplace_back(e.what());
    }
    writer_done = true;
  });

  int done_kills = 0;
  {
    side_connection admin(pg_url());
    std::mt19937 rng(7);
    int last_killed = 0;
    while (done_kills < kills && !writer_done) {
      const int pid = live_pid;
      if (pid != last_killed) {
        admin.terminate_backend(pid);
        last_killed = pid;
        ++done_kills;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(200, 3000)(rng)));
    }
  }
  writer.join();

  for (const auto& u : unexpected) FAIL_CHECK(u);
  INFO("kills: " << done_kills << ", retried calls: " << retries.load());
  CHECK(done_kills > 0);
  std::vector<op_t> all;
  for (std::uint64_t b = 0; b < batches; ++b) {
    const auto batch = make_batch("k", 1 + b * batch_size, batch_size);
    all.insert(all.end(), batch.begin(), batch.end());
  }
  storage_t check(pg_url(), doc);
  check_log_is(check, all);
}
