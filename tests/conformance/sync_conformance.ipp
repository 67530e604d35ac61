// The sync part of the storage conformance suite: the log's version vector a policy keeps
// (storage_traits::log_version, document::version) and the ops a peer lacks
// (storage_traits::scan_unknown_to, document::ops_since), checked against a scan of the log.
// Included after storage_conformance.ipp by the same .cpp files, with the same factories.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "support/keys.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/storage/storage_traits.hpp"

namespace sync_conformance {
using namespace treecrdt;

/// The version vector of the log by definition: every stored op's dot, from a full scan.
template <class S>
[[nodiscard]] version_vector<replica_of<typename S::key_type>> scanned_version(S& s) {
  version_vector<replica_of<typename S::key_type>> vv;
  s.scan_after(std::nullopt, [&](const auto& o) { vv.observe(o.key.replica, o.key.counter); });
  return vv;
}

/// The ops a peer holding `known` lacks, by definition: a filtered scan, in key order.
template <class S>
[[nodiscard]] std::vector<op<typename S::key_type>> scanned_unknown(
    S& s, const version_vector<replica_of<typename S::key_type>>& known) {
  std::vector<op<typename S::key_type>> out;
  s.scan_after(std::nullopt, [&](const auto& o) {
    if (!known.contains(o.key.replica, o.key.counter)) out.push_back(o);
  });
  return out;
}

/// Op (replica r, counter c) with a lamport that interleaves replicas.
template <class Key>
[[nodiscard]] op<Key> dot_op(int r, std::uint64_t c) {
  return make_insert(testing::key<Key>(c * 4 + static_cast<std::uint64_t>(r), r, c), root_node,
                     testing::nid(static_cast<std::uint64_t>(r) * 100000 + c), bytes("k"));
}
}  // namespace sync_conformance

TEMPLATE_TEST_CASE("conformance: the stored version vector equals the log's dots after every append",
                   "[conformance][sync]", TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  using traits = storage_traits<typename F::storage_type>;
  STATIC_REQUIRE(traits::has_log_version);
  F f;
  auto s = f.open();
  CHECK(traits::log_version(s).empty());

  // Counters arrive in random batches, out of order, with gaps that close later, duplicates, and
  // runs that join stored runs on both sides.
  std::mt19937_64 rng(20240613);
  std::vector<op<K>> pending;
  for (int r = 1; r <= 3; ++r)
    for (std::uint64_t c = 1; c <= 60; ++c) pending.push_back(sync_conformance::dot_op<K>(r, c));
  pending.push_back(sync_conformance::dot_op<K>(4, 1000));  // far above its (empty) frontier
  std::shuffle(pending.begin(), pending.end(), rng);
  std::size_t at = 0;
  while (at < pending.size()) {
    const std::size_t n = std::min<std::size_t>(pending.size() - at, 1 + rng() % 12);
    std::vector<op<K>> batch(pending.begin() + static_cast<std::ptrdiff_t>(at),
                             pending.begin() + static_cast<std::ptrdiff_t>(at + n));
    if (at > 0 && rng() % 3 == 0) batch.push_back(pending[rng() % at]);  // a duplicate of a stored op
    // Consecutive counters in one batch form runs; add the next counter of a batch member too.
    auto tx = s.begin();
    (void)s.append(batch);
    tx.commit();
    at += n;
    INFO("after " << at << " ops");
    REQUIRE(traits::log_version(s) == sync_conformance::scanned_version(s));
  }
  version_vector<replica_of<K>> expected;
  for (int r = 1; r <= 3; ++r) expected.add_range(testing::replica<K>(r), 1, 60);
  expected.observe(testing::replica<K>(4), 1000);
  CHECK(traits::log_version(s) == expected);

  // A rolled-back append leaves no trace in it; a reopened handle reads the same.
  {
    auto tx = s.begin();
    const std::vector<op<K>> more{sync_conformance::dot_op<K>(1, 61), sync_conformance::dot_op<K>(4, 999),
                                  sync_conformance::dot_op<K>(5, 1)};
    (void)s.append(more);
  }
  CHECK(traits::log_version(s) == expected);
  auto again = f.open();
  CHECK(traits::log_version(again) == expected);
}

TEMPLATE_TEST_CASE("conformance: ops_since sends exactly the ops a peer's version vector lacks", "[conformance][sync]",
                   TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  using traits = storage_traits<typename F::storage_type>;
  F f;
  auto s = f.open();
  {
    std::vector<op<K>> all;
    for (int r = 1; r <= 3; ++r)
      for (std::uint64_t c = 1; c <= 40; ++c)
        if (!(r == 2 && c % 7 == 0)) all.push_back(sync_conformance::dot_op<K>(r, c));  // replica 2 has gaps
    auto tx = s.begin();
    (void)s.append(all);
    tx.commit();
  }
  std::mt19937_64 rng(7);
  for (int round = 0; round < 40; ++round) {
    // A peer's vector: random dots, some from replicas the log does not have, some beyond the log.
    version_vector<replica_of<K>> known;
    const int dots = static_cast<int>(rng() % 90);
    for (int i = 0; i < dots; ++i) {
      const int r = 1 + static_cast<int>(rng() % 4);
      const std::uint64_t first = 1 + rng() % 45;
      known.add_range(testing::replica<K>(r), first, first + rng() % 6);
    }
    if (round == 0) known = {};
    if (round == 1) known = traits::log_version(s);  // up to date: nothing to send
    std::vector<op<K>> sent;
    traits::scan_unknown_to(s, known, [&](const op<K>& o) { sent.push_back(o); });
    INFO("round " << round);
    CHECK(sent == sync_conformance::scanned_unknown(s, known));
    if (round == 1) CHECK(sent.empty());
  }
}

TEMPLATE_TEST_CASE("conformance: document::version is the log's dots, also while a catch-up is pending",
                   "[conformance][sync]", TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  using D = document<K, typename F::storage_type>;
  D d(f.open(), testing::replica<K>(9));
  std::vector<op<K>> ops;
  for (std::uint64_t c = 1; c <= 30; ++c) ops.push_back(sync_conformance::dot_op<K>(1, c));
  d.apply(std::span<const op<K>>(ops).subspan(10));
  CHECK(d.version() == sync_conformance::scanned_version(d.storage()));
  d.apply(std::span<const op<K>>(ops).subspan(0, 5), defer_catch_up);  // late ops: stale until catch_up
  REQUIRE(d.is_stale());
  CHECK(d.version() == sync_conformance::scanned_version(d.storage()));
  d.catch_up();
  CHECK(d.version() == sync_conformance::scanned_version(d.storage()));

  // Another handle appends behind this one's back: version() still sees the whole log.
  {
    D other(f.open(), testing::replica<K>(8));
    other.apply(std::span<const op<K>>(ops).subspan(5, 5));
    (void)other.insert(root_node, position::last());
  }
  const auto vv = d.version();
  CHECK(vv == sync_conformance::scanned_version(d.storage()));
  CHECK(vv.max_counter(testing::replica<K>(1)) == 30);
  CHECK(vv.max_counter(testing::replica<K>(8)) == 1);
  version_vector<replica_of<K>> none;
  CHECK(d.ops_since(none).size() == 31);
  CHECK(d.ops_since(vv).empty());
}

TEMPLATE_TEST_CASE("conformance: the stored version vector handles counters at the ends of the range",
                   "[conformance][sync]", TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  using traits = storage_traits<typename F::storage_type>;
  constexpr std::uint64_t top = std::uint64_t{1} << 63;
  constexpr std::uint64_t max = ~std::uint64_t{0};
  F f;
  auto s = f.open();
  const auto at = [](std::uint64_t c) {
    return make_insert(testing::key<K>(c, 7, c), root_node, testing::nid(c), bytes("e"));
  };
  for (const std::vector<std::uint64_t>& counters :
       std::vector<std::vector<std::uint64_t>>{{max}, {1, top}, {top - 1, max - 2}, {top + 1, 2}, {max - 1}}) {
    std::vector<op<K>> batch;
    for (std::uint64_t c : counters) batch.push_back(at(c));
    auto tx = s.begin();
    (void)s.append(batch);
    tx.commit();
    REQUIRE(traits::log_version(s) == sync_conformance::scanned_version(s));
  }
  version_vector<replica_of<K>> expected;
  expected.add_range(testing::replica<K>(7), 1, 2);
  expected.add_range(testing::replica<K>(7), top - 1, top + 1);
  expected.add_range(testing::replica<K>(7), max - 2, max);
  CHECK(traits::log_version(s) == expected);

  version_vector<replica_of<K>> all;
  all.add_range(testing::replica<K>(7), 1, max);
  std::vector<op<K>> sent;
  traits::scan_unknown_to(s, all, [&](const op<K>& o) { sent.push_back(o); });
  CHECK(sent.empty());
  version_vector<replica_of<K>> high;
  high.add_range(testing::replica<K>(7), top, max);
  traits::scan_unknown_to(s, high, [&](const op<K>& o) { sent.push_back(o); });
  CHECK(sent == sync_conformance::scanned_unknown(s, high));
  CHECK(sent.size() == 3);
}
