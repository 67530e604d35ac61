// Several `document`s, each with its own PostgreSQL connection in its own thread, apply random
// batches (late ops, duplicates, ops also sent by another writer) to ONE document at the same time,
// while another thread writes a second document. Afterwards a freshly opened document equals the
// fold of all ops (the reference fold, and an in-memory document fed everything), every writer's own
// document catches up to it on its next append, and the second document holds exactly its own ops.
//
// Histories come from the shared RapidCheck generators, sampled with fixed seeds (threads and
// RC_ASSERT do not mix, and each case costs real round trips), so a failure names its seed and
// prints its ops as JSON lines.
#include <rapidcheck.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <treecrdt/document.hpp>
#include <treecrdt/storage/postgres.hpp>

#include "pg_test_support.hpp"
#include "properties/op_generators.hpp"
#include "properties/op_show.hpp"
#include "properties/reference_fold.hpp"

using namespace treecrdt_pg_test;

namespace {

using pg_document = treecrdt::document<key, storage_t>;
using memory_document = treecrdt::document<key>;

template <class T>
T sample(const rc::Gen<T>& gen, std::uint64_t seed, int size = 50) {
  return gen(rc::Random(seed), size).value();
}

/// Distinct ops of `ops` (a delivery may repeat some), i.e. what the log must hold.
std::size_t distinct_ids(const std::vector<op_t>& ops) {
  std::set<std::pair<std::string, std::uint64_t>> ids;
  for (const auto& o : ops) ids.emplace(o.key.replica, o.key.counter);
  return ids.size();
}

struct writer_plan {
  std::vector<std::vector<op_t>> batches;
};

}  // namespace

TEST_CASE("postgres documents: concurrent writers of one document converge to the fold",
          "[postgres][document][concurrency]") {
  constexpr unsigned writers = 3;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    const auto history = sample(treecrdt_test::gen_history<key>(56), seed).ops;
    const auto other_history = sample(treecrdt_test::gen_history<key>(56), seed + 1000).ops;
    INFO("ops of the shared document as JSON lines:\n" << treecrdt_test::ops_as_json_lines(history));

    // Every op goes to one writer; every third op also to the next one (the same op arrives twice,
    // over two connections). Each writer gets its own random order and batching.
    std::vector<std::vector<op_t>> share(writers);
    for (std::size_t i = 0; i < history.size(); ++i) {
      share[i % writers].push_back(history[i]);
      if (i % 3 == 0) share[(i + 1) % writers].push_back(history[i]);
    }
    std::vector<writer_plan> plans;
    for (unsigned w = 0; w < writers; ++w)
      plans.push_back({sample(treecrdt_test::gen_delivery<key>(share[w]), seed * 100 + w).batches});
    const auto other_plan = sample(treecrdt_test::gen_delivery<key>(other_history), seed * 100 + 99).batches;

    const std::string doc = unique_doc("documents");
    const std::string other_doc = unique_doc("documents-other");
    std::vector<std::unique_ptr<pg_document>> docs;
    for (unsigned w = 0; w < writers; ++w)
      docs.push_back(std::make_unique<pg_document>(storage_t(pg_url(), doc), "pg-writer-" + std::to_string(w),
                                                   treecrdt::every_n_ops{2 + w}));
    pg_document other(storage_t(pg_url(), other_doc), "pg-other", treecrdt::every_n_ops{3});

    std::mutex mutex;
    std::vector<std::string> failures;
    const auto run = [&](pg_document& d, const std::vector<std::vector<op_t>>& batches, const std::string& who) {
      try {
        for (const auto& batch : batches) d.apply(batch);
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        failures.push_back(who + ": " + e.what());
      }
    };
    std::vector<std::thread> threads;
    for (unsigned w = 0; w < writers; ++w)
      threads.emplace_back(run, std::ref(*docs[w]), std::cref(plans[w].batches), "writer " + std::to_string(w));
    threads.emplace_back(run, std::ref(other), std::cref(other_plan), std::string("other document"));
    for (auto& t : threads) t.join();
    for (const auto& f : failures) FAIL_CHECK(f);

    const auto expected = treecrdt_test::reference_fold(history);
    memory_document in_memory(treecrdt::memory_storage<key>{}, "memory");
    in_memory.apply(history);
    REQUIRE(in_memory.export_canonical() == expected);

    pg_document fresh(storage_t(pg_url(), doc), "checker");
    CHECK(fresh.storage().op_count() == distinct_ids(history));
    const auto got = fresh.export_canonical();
    INFO("fresh document:\n"
         << treecrdt_test::describe_export(got) << "expected:\n"
         << treecrdt_test::describe_export(expected));
    CHECK(got == expected);

    // A writer that finished early is stale; its next append notices the other writers' commits
    // (under the document lock) and catches up before applying.
    if (!history.empty()) {
      for (unsigned w = 0; w < writers; ++w) {
        CAPTURE(w);
        docs[w]->apply(std::vector<op_t>{history.front()});
        CHECK(docs[w]->export_canonical() == expected);
      }
    }

    pg_document other_fresh(storage_t(pg_url(), other_doc), "checker");
    CHECK(other_fresh.storage().op_count() == distinct_ids(other_history));
    CHECK(other_fresh.export_canonical() == treecrdt_test::reference_fold(other_history));
  }
}
