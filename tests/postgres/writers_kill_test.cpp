// Eight writers on ONE PostgreSQL document while their backends are killed at random: each writer is
// a thread with its own document and connection (tagged with an application_name), and in a random
// mix makes local edits (insert, move, remove, set_payload), appends batches of a foreign history
// (each batch given to two writers, so the same ops race in over two connections), and re-appends
// what the others wrote (read with ops_since, applied: duplicates). A separate connection keeps
// calling pg_terminate_backend on a random writer's backend. Writers repeat a call that fails with a
// retryable storage_error; an op counts as acknowledged once the call that carried it returned.
// Afterwards every acknowledged op is in the log exactly once with its content, no op is stored
// twice, an unacknowledged op is the foreign history's or a writer's own edit whose commit was cut
// off (at most one per failed call of that writer), and every writer's handle (after one more
// append, which catches it up under the document lock) and a fresh document export the fold of the log.
#include <rapidcheck.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <treecrdt/document.hpp>
#include <treecrdt/storage/postgres.hpp>

#include "pg_test_support.hpp"
#include "properties/op_generators.hpp"
#include "sqlite/acknowledged_ops.hpp"

using namespace treecrdt_pg_test;

namespace {

using pg_document = treecrdt::document<key, storage_t, treecrdt::memory_store<key>, treecrdt::every_n_ops,
                                       treecrdt::exponential_retention>;
using batch_list = std::vector<std::vector<op_t>>;

constexpr unsigned writers = 8;
constexpr int steps_per_writer = 40;

std::string writer_replica(unsigned w) { return "pg-kill-writer-" + std::to_string(w); }
std::string application_name(unsigned w) { return "treecrdt-kill-writer-" + std::to_string(w); }

struct writer_state {
  std::unique_ptr<pg_document> doc;
  std::vector<op_t> acked;
  int retries = 0;  // calls repeated after a retryable storage_error
  std::string failure;
};

/// Calls `f` until it does not fail with a retryable storage error; counts the repeats.
template <class F>
auto retrying(int& retries, F&& f) {
  for (;;) {
    try {
      return f();
    } catch (const treecrdt::storage_error& e) {
      if (!e.retryable()) throw;
      ++retries;
    }
  }
}

void run_writer(unsigned w, const std::string& doc_id, const batch_list& share, writer_state& st) {
  const std::string conninfo = with_uri_parameter(pg_url(), "application_name", application_name(w));
  retrying(st.retries, [&] {
    st.doc = std::make_unique<pg_document>(storage_t(conninfo, doc_id), writer_replica(w), treecrdt::every_n_ops{4},
                                           treecrdt::exponential_retention{1, 4});
  });
  pg_document& doc = *st.doc;
  std::mt19937 rng(77 + w);
  treecrdt::version_vector<treecrdt::replica_of<key>> seen;
  const auto acknowledge = [&](const std::vector<op_t>& ops) {
    st.acked.insert(st.acked.end(), ops.begin(), ops.end());
    for (const auto& o : ops) seen.observe(o.key.replica, o.key.counter);
  };
  std::size_t next = 0;
  for (int step = 0; step < steps_per_writer; ++step) {
    const unsigned choice = rng() % 10;
    if (choice >= 4 && choice < 7 && next < share.size()) {
      const auto& batch = share[next++];
      retrying(st.retries, [&] { doc.apply(batch); });
      acknowledge(batch);
    } else if (choice >= 7) {
      const auto theirs = retrying(st.retries, [&] { return doc.ops_since(seen); });
      if (theirs.empty()) continue;
      retrying(st.retries, [&] { doc.apply(theirs); });
      acknowledge(theirs);
    } else {
      // Targets from this handle's tree. Reads refuse while a rebuild after a failure is pending
      // (the next call rebuilds): then the edit is an insert under ROOT.
      std::vector<treecrdt::node_id> live;
      try {
        for (const auto& r : doc.export_canonical().nodes)
          if (r.parent && !r.tombstoned) live.push_back(r.node);
      } catch (const treecrdt::storage_error&) {
        throw;
      } catch (const treecrdt::error&) {
        live.clear();
      }
      const auto pick = [&] { return live.empty() ? treecrdt::root_node : live[rng() % live.size()]; };
      const unsigned kind = live.size() < 4 ? 0 : rng() % 10;
      const auto made = retrying(st.retries, [&] {
        if (kind < 4) return doc.insert(pick(), treecrdt::position::last(), "w" + std::to_string(w));
        if (kind < 6) return doc.move(pick(), pick(), treecrdt::position::first());
        if (kind < 8) return doc.set_payload(pick(), "v" + std::to_string(rng() % 100));
        return doc.remove(pick());
      });
      acknowledge(std::vector<op_t>{made});
    }
  }
}

}  // namespace

TEST_CASE("postgres documents: 8 writers of one document survive random backend terminations",
          "[postgres][document][faults]") {
  const std::string doc_id = unique_doc("kill-writers");
  // The foreign history: batch b goes to writer b % 8 and, for even b, to the next writer too.
  const auto history = treecrdt_test::gen_history<key>(120)(rc::Random(4242), 120).value().ops;
  const auto foreign = treecrdt_test::gen_delivery<key>(history)(rc::Random(4343), 50).value().batches;
  std::vector<batch_list> shares(writers);
  for (std::size_t b = 0; b < foreign.size(); ++b) {
    shares[b % writers].push_back(foreign[b]);
    if (b % 2 == 0) shares[(b + 1) % writers].push_back(foreign[b]);
  }
  std::map<treecrdt::dot<treecrdt::replica_of<key>>, op_t> foreign_ops;
  for (const auto& o : history) foreign_ops.emplace(o.id(), o);

  side_connection admin(pg_url());  // before any thread starts: its failure must not strand them
  const auto started = std::chrono::steady_clock::now();
  std::vector<writer_state> states(writers);
  std::atomic<unsigned> finished{0};
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      try {
        run_writer(w, doc_id, shares[w], states[w]);
      } catch (const std::exception& e) {
        states[w].failure = e.what();
      }
      ++finished;
    });

  // The killer: a random writer's backend every 5-35 ms until every writer is done.
  int terminations = 0;
  std::string killer_failure;
  try {
    std::mt19937 rng(78);
    while (finished < writers) {
      std::this_thread::sleep_for(std::chrono::microseconds(5000 + rng() % 30000));
      const unsigned victim = static_cast<unsigned>(rng() % writers);
      // One statement lists and terminates (only rows the WHERE kept reach the FILTER), so a backend
      // rarely vanishes in between.
      const auto killed = admin.query(
          "SELECT (count(*) FILTER (WHERE pg_terminate_backend(pid)))::text FROM pg_stat_activity "
          "WHERE application_name = $1",
          {application_name(victim)});
      terminations += std::stoi(killed.at(0));
    }
  } catch (const std::exception& e) {  // the writers still finish (retries end once nobody kills)
    killer_failure = e.what();
  }
  for (auto& t : threads) t.join();
  if (!killer_failure.empty()) FAIL("the killing connection failed: " << killer_failure);
  for (unsigned w = 0; w < writers; ++w)
    if (!states[w].failure.empty()) FAIL_CHECK("writer " << w << ": " << states[w].failure);
  REQUIRE(finished == writers);

  // The log against the acknowledgements.
  treecrdt_test::acknowledged_ops<key> acked;
  int retries = 0;
  std::size_t acknowledgements = 0;
  for (const auto& st : states) {
    acked.add_all(st.acked);
    retries += st.retries;
    acknowledgements += st.acked.size();
  }
  for (const auto& c : acked.conflicts()) FAIL_CHECK("one op id acknowledged with two contents: " << c);
  pg_document fresh(storage_t(pg_url(), doc_id), "pg-kill-checker");
  const auto log = treecrdt_test::log_of(fresh.storage());
  const auto check = acked.check(log);
  INFO(check.describe());
  CHECK(check.lost == 0);
  CHECK(check.duplicated == 0);
  CHECK(check.changed == 0);
  CHECK(check.found == check.acknowledged);
  CHECK(fresh.storage().op_count() == log.size());

  std::map<std::string, int> unacked_local;
  for (const auto& o : log) {
    if (const auto f = foreign_ops.find(o.id()); f != foreign_ops.end()) {
      CHECK(f->second == o);
      continue;
    }
    INFO("stored op " << treecrdt::describe(o));
    CHECK(o.key.replica.rfind("pg-kill-writer-", 0) == 0);  // nobody but the writers and the history
    if (!acked.contains(o.id())) ++unacked_local[o.key.replica];
  }
  int unacked_total = 0;
  for (unsigned w = 0; w < writers; ++w) {
    CAPTURE(w);
    CHECK(unacked_local[writer_replica(w)] <= states[w].retries);
    unacked_total += unacked_local[writer_replica(w)];
  }

  // Every handle converges to the fold of the log.
  const auto fold = treecrdt_test::fold_export<key>(log);
  CHECK(fresh.export_canonical() == fold);
  CHECK(fresh.head().seq == log.size());
  for (unsigned w = 0; w < writers; ++w) {
    CAPTURE(w);
    pg_document& doc = *states[w].doc;
    int unused = 0;
    retrying(unused, [&] { doc.apply(std::vector<op_t>{log.front()}); });
    CHECK(doc.export_canonical() == fold);
    CHECK(doc.head().seq == log.size());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "postgres writers: " << writers << " writers, " << terminations << " backend terminations survived, "
            << retries << " calls retried, in " << seconds << " s; ops acknowledged " << check.acknowledged << " ("
            << acknowledgements << " acknowledgements), found " << check.found << ", lost " << check.lost
            << ", duplicated " << check.duplicated << ", changed " << check.changed << "; log " << log.size()
            << " ops, of which " << unacked_total << " local edits committed with the acknowledgement cut off; "
            << writers << " handles converged to the fold\n";
  CHECK(terminations >= 20);
  CHECK(check.acknowledged >= 120);
}
