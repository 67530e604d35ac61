// The generic storage conformance suite: written once, included by one small .cpp per storage
// policy after defining TREECRDT_CONFORMANCE_FACTORIES as a comma-separated list of factory types.
//
// A factory is one fresh, empty document location of some policy:
//   struct F {
//     using key_type = ...;  using storage_type = ...;      // storage_type satisfies Storage
//     F();                                                  // a new empty location
//     storage_type open();                                  // a new handle to it (reopen = restart)
//   };
// Every test below uses only the Storage concept and the document, so it means the same thing for
// memory, SQLite and PostgreSQL.
#include <rapidcheck/catch.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "properties/op_generators.hpp"
#include "properties/reference_fold.hpp"
#include "support/keys.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/storage/storage_traits.hpp"

namespace conformance {
using namespace treecrdt;
using treecrdt::testing::key;
using treecrdt::testing::nid;

/// Retention chosen at run time, so one document type covers "keep all" and exponential.
struct test_retention {
  bool keep_all = false;
  exponential_retention exponential{};
  [[nodiscard]] std::vector<bool> select(std::span<const checkpoint_summary> cps, std::uint64_t head) const {
    return keep_all ? keep_all_checkpoints{}.select(cps, head) : exponential.select(cps, head);
  }
};

/// Catch-up options forcing one path (none: the planner chooses).
[[nodiscard]] inline catch_up_options forcing(catch_up_path path, std::uint64_t journal_ops = 16384) {
  return catch_up_options{journal_ops, path};
}

template <class F>
using doc_t = document<typename F::key_type, typename F::storage_type, memory_store<typename F::key_type>, every_n_ops,
                       test_retention>;

template <class F>
[[nodiscard]] doc_t<F> open_doc(F& f, std::uint64_t cadence, test_retention r = {true, {}},
                                catch_up_options options = {}) {
  return doc_t<F>(f.open(), testing::replica<typename F::key_type>(99), every_n_ops{cadence}, r, options);
}

/// Every delta link's base is stored: a chain never dangles after pruning.
template <class Key>
[[nodiscard]] bool chains_resolve(const std::vector<checkpoint_info<Key>>& cps) {
  return std::all_of(cps.begin(), cps.end(), [&](const checkpoint_info<Key>& cp) {
    return !cp.base || std::any_of(cps.begin(), cps.end(), [&](const auto& b) { return b.key == *cp.base; });
  });
}

/// "Op n": an insert under ROOT whose key has lamport n, from replica r (counter = n).
template <class Key>
[[nodiscard]] op<Key> numbered_insert(std::uint64_t n, int r = 1) {
  return make_insert(key<Key>(n, r, n), root_node, nid(n), bytes(1, static_cast<char>(n)));
}

template <class Doc>
void apply_one(Doc& d, const typename Doc::op_type& o) {
  d.apply(std::span<const typename Doc::op_type>(&o, 1));
}

template <class Key>
[[nodiscard]] std::uint64_t count_after(const std::map<dot<replica_of<Key>>, op<Key>>& log, const Key& k) {
  return static_cast<std::uint64_t>(
      std::count_if(log.begin(), log.end(), [&](const auto& kv) { return k < kv.second.key; }));
}

template <class Key>
[[nodiscard]] std::vector<op<Key>> values(const std::map<dot<replica_of<Key>>, op<Key>>& log) {
  std::vector<op<Key>> out;
  for (const auto& [d, o] : log) out.push_back(o);
  return out;
}
}  // namespace conformance

using namespace conformance;

// ---- the storage primitives ----------------------------------------------------------------------

TEMPLATE_TEST_CASE("conformance: append stores new ops once and reports which were new", "[conformance]",
                   TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  auto s = f.open();
  const std::vector<op<K>> batch{numbered_insert<K>(3), numbered_insert<K>(1), numbered_insert<K>(3)};
  {
    auto tx = s.begin();
    CHECK(s.append(batch) == std::vector<std::size_t>{0, 1});
    tx.commit();
  }
  {
    auto tx = s.begin();
    const std::vector<op<K>> again{numbered_insert<K>(1), numbered_insert<K>(2)};
    CHECK(s.append(again) == std::vector<std::size_t>{1});
    tx.commit();
  }
  CHECK(s.op_count() == 3);
  CHECK(s.max_lamport() == 3);
  CHECK(s.max_counter(testing::replica<K>(1)) == 3);
  CHECK(s.max_counter(testing::replica<K>(7)) == 0);
}

TEMPLATE_TEST_CASE("conformance: a conflicting duplicate rejects the whole batch", "[conformance]",
                   TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  auto d = open_doc(f, 4);
  apply_one(d, numbered_insert<K>(1));
  const auto before = d.export_canonical();
  auto changed = numbered_insert<K>(1);
  changed.order_key = "zz";
  const std::vector<op<K>> batch{numbered_insert<K>(2), changed};
  try {
    d.apply(batch);
    FAIL("conflict not detected");
  } catch (const conflicting_op_error& e) {
    CHECK(e.index() == 1);
    CHECK(std::string(e.what()).find("counter 1") != std::string::npos);
  }
  CHECK(d.storage().op_count() == 1);  // op 2 of the same batch was not stored either
  CHECK(d.export_canonical() == before);
  auto reopened = open_doc(f, 4);
  CHECK(reopened.export_canonical() == before);
}

TEMPLATE_TEST_CASE("conformance: an invalid op rejects the whole batch", "[conformance]",
                   TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  auto d = open_doc(f, 4);
  auto bad = numbered_insert<K>(5);
  bad.key.counter = 0;
  const std::vector<op<K>> batch{numbered_insert<K>(2), bad};
  try {
    d.apply(batch);
    FAIL("invalid op accepted");
  } catch (const invalid_op_error& e) {
    CHECK(e.index() == 1);
    CHECK(e.reason() == "counter is 0");
  }
  CHECK(d.storage().op_count() == 0);
  CHECK(d.children(root_node).empty());
}

TEMPLATE_TEST_CASE("conformance: scan_after is strictly after, in key order", "[conformance]",
                   TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  auto s = f.open();
  std::vector<op<K>> ops;
  // Equal lamports across replicas and counters; large values near the unsigned 64-bit limit.
  for (int r : {3, 1, 2})
    for (std::uint64_t c : {1ull, 2ull}) ops.push_back(make_payload(key<K>(7, r, c), nid(1), bytes("x")));
  ops.push_back(make_payload(key<K>(~0ull, 1, ~0ull), nid(1), bytes("max")));
  ops.push_back(make_payload(key<K>(1ull << 63, 2, 1ull << 63), nid(1), bytes("mid")));
  ops.push_back(make_payload(key<K>((1ull << 63) - 1, 2, 5), nid(1), bytes("below-mid")));
  {
    auto tx = s.begin();
    (void)s.append(ops);
    tx.commit();
  }
  std::vector<K> sorted;
  for (const auto& o : ops) sorted.push_back(o.key);
  std::sort(sorted.begin(), sorted.end());
  const auto scan = [&](std::optional<K> after) {
    std::vector<K> seen;
    s.scan_after(after, [&](const op<K>& o) { seen.push_back(o.key); });
    return seen;
  };
  CHECK(scan(std::nullopt) == sorted);
  for (std::size_t i = 0; i < sorted.size(); ++i)
    CHECK(scan(sorted[i]) == std::vector<K>(sorted.begin() + static_cast<std::ptrdiff_t>(i) + 1, sorted.end()));
  CHECK(scan(key<K>(7, 2, 1)) == std::vector<K>(sorted.begin() + 3, sorted.end()));  // (7,1,1) (7,1,2) (7,2,1) first
  CHECK(s.max_lamport() == ~0ull);
  // Stored ops come back exactly as appended.
  std::vector<op<K>> back;
  s.scan_after(std::nullopt, [&](const op<K>& o) { back.push_back(o); });
  for (const auto& o : ops) CHECK(std::count(back.begin(), back.end(), o) == 1);
}

TEMPLATE_TEST_CASE("conformance: checkpoint primitives", "[conformance]", TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  auto s = f.open();
  const K k2 = key<K>(2, 1, 2), k5 = key<K>(5, 1, 5), k9 = key<K>(9, 1, 9);
  {
    auto tx = s.begin();
    (void)s.save_checkpoint(k5, 5, "five");
    (void)s.save_checkpoint(k2, 2, "two");
    (void)s.save_checkpoint(k9, 9, "nine");
    const auto id5 = s.save_checkpoint(k5, 5, "five again");  // same head: replaces
    CHECK(s.load_checkpoint(id5) == "five again");
    tx.commit();
  }
  auto list = s.list_checkpoints();
  REQUIRE(list.size() == 3);
  CHECK(list[0].key == k2);
  CHECK(list[1].key == k5);
  CHECK(list[2].key == k9);
  CHECK(list[1].seq == 5);
  CHECK(list[1].size_bytes == std::string("five again").size());
  CHECK(s.latest_checkpoint_before(std::nullopt)->key == k9);
  CHECK(s.latest_checkpoint_before(k9)->key == k5);  // strictly before
  CHECK(s.latest_checkpoint_before(key<K>(5, 1, 6))->key == k5);
  CHECK_FALSE(s.latest_checkpoint_before(k2).has_value());
  {
    auto tx = s.begin();
    CHECK(s.drop_checkpoints_from(k5) == 2);
    tx.commit();
  }
  CHECK(s.list_checkpoints().size() == 1);
  {
    auto tx = s.begin();
    s.drop_checkpoint(s.list_checkpoints()[0].id);
    tx.commit();
  }
  CHECK(s.list_checkpoints().empty());
  CHECK_THROWS_AS(s.load_checkpoint(12345), storage_error);
}

// write_checkpoint hands its buffer over (storage_traits::save_checkpoint): a policy that keeps
// blobs in memory adopts it instead of copying; either way the bytes stored are the bytes given,
// and a rolled-back transaction forgets them.
TEMPLATE_TEST_CASE("conformance: a checkpoint handed over is stored byte for byte and rolls back", "[conformance]",
                   TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  using S = typename F::storage_type;
  F f;
  auto s = f.open();
  const K k2 = key<K>(2, 1, 2), k3 = key<K>(3, 1, 3);
  std::string blob(100000, '\0');
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 131 % 251);
  const std::string expected = blob;
  {
    auto tx = s.begin();
    (void)storage_traits<S>::save_checkpoint(s, k3, 3, std::string(blob), std::nullopt);
  }  // dropped without commit
  CHECK(s.list_checkpoints().empty());
  std::uint64_t id2 = 0, id3 = 0;
  {
    auto tx = s.begin();
    id2 = storage_traits<S>::save_checkpoint(s, k2, 2, std::move(blob), std::nullopt);
    id3 = storage_traits<S>::save_checkpoint(s, k3, 3, std::string("delta"), k2);
    tx.commit();
  }
  const auto list = s.list_checkpoints();
  REQUIRE(list.size() == 2);
  CHECK(list[0].id == id2);
  CHECK(list[0].size_bytes == expected.size());
  CHECK_FALSE(list[0].base.has_value());
  CHECK(list[1].base == std::optional<K>(k2));
  CHECK(s.load_checkpoint(id2) == expected);
  CHECK(s.load_checkpoint(id3) == "delta");
  auto again = f.open();
  CHECK(again.load_checkpoint(id2) == expected);
}

TEMPLATE_TEST_CASE("conformance: checkpoint base links round-trip", "[conformance]", TREECRDT_CONFORMANCE_FACTORIES) {
  // SPEC §8 incremental checkpoints: the storage records which checkpoint each one is a delta over
  // (nullopt: a full one) and hands the link back; it never follows, checks or prunes chains.
  using F = TestType;
  using K = typename F::key_type;
  using cp = checkpoint_info<K>;
  F f;
  auto s = f.open();
  const K k1 = key<K>(1, 1, 1), k2 = key<K>(2, 1, 2), k5 = key<K>(5, 1, 5), k7 = key<K>(7, 2, 3), k9 = key<K>(9, 2, 9),
          k12 = key<K>(12, 1, 12);
  std::uint64_t id2 = 0, id5 = 0, id9 = 0;
  {
    auto tx = s.begin();
    id2 = s.save_checkpoint(k2, 2, "full");  // no base: a full checkpoint
    id5 = s.save_checkpoint(k5, 5, "delta", k2);
    id9 = s.save_checkpoint(k9, 9, "delta2", k5);  // the chain 2 <- 5 <- 9
    tx.commit();
  }
  const std::vector<cp> chain{{id2, k2, 2, 4, std::nullopt}, {id5, k5, 5, 5, k2}, {id9, k9, 9, 6, k5}};
  CHECK(s.list_checkpoints() == chain);
  CHECK(s.list_checkpoints()[0].is_full());
  CHECK_FALSE(s.list_checkpoints()[1].is_full());
  CHECK(s.latest_checkpoint_before(std::nullopt) == chain[2]);
  CHECK(s.latest_checkpoint_before(k9) == chain[1]);
  CHECK(s.latest_checkpoint_before(k5) == chain[0]);
  CHECK(s.latest_checkpoint_before(key<K>(5, 1, 6)) == chain[1]);
  CHECK(s.load_checkpoint(id5) == "delta");
  CHECK(f.open().list_checkpoints() == chain);  // a reopened handle reads the same links

  // Saving at an existing key replaces the checkpoint and its base: a delta becomes full, another
  // changes its base, a full one becomes a delta (over a key with no checkpoint: not checked here).
  {
    auto tx = s.begin();
    id5 = s.save_checkpoint(k5, 5, "now full");
    id9 = s.save_checkpoint(k9, 9, "over 2", k2);
    id2 = s.save_checkpoint(k2, 2, "delta over 1", k1);
    tx.commit();
  }
  const std::vector<cp> relinked{{id2, k2, 2, 12, k1}, {id5, k5, 5, 8, std::nullopt}, {id9, k9, 9, 6, k2}};
  CHECK(s.list_checkpoints() == relinked);
  CHECK(s.latest_checkpoint_before(std::nullopt) == relinked[2]);
  CHECK(s.latest_checkpoint_before(k5) == relinked[0]);
  CHECK(f.open().latest_checkpoint_before(k9) == relinked[1]);

  // A rolled-back transaction leaves the links as they were.
  {
    auto tx = s.begin();
    (void)s.save_checkpoint(k9, 9, "x", k5);
    (void)s.save_checkpoint(k5, 5, "y", k2);
    (void)s.save_checkpoint(k12, 12, "z", k9);
  }
  CHECK(s.list_checkpoints() == relinked);

  // Dropping goes by key and never cascades along links: drop_checkpoints_from(k9) drops 9 and
  // 12 (a delta over 9) and leaves 7, a delta over 5; dropping 5 leaves 7 with its (now dangling) base.
  std::uint64_t id7 = 0;
  {
    auto tx = s.begin();
    (void)s.save_checkpoint(k12, 12, "top", k9);
    id7 = s.save_checkpoint(k7, 7, "seven", k5);
    CHECK(s.drop_checkpoints_from(k9) == 2);
    tx.commit();
  }
  CHECK(s.list_checkpoints() == std::vector<cp>{relinked[0], relinked[1], {id7, k7, 7, 5, k5}});
  CHECK(s.latest_checkpoint_before(std::nullopt) == cp{id7, k7, 7, 5, k5});
  {
    auto tx = s.begin();
    s.drop_checkpoint(id5);
    tx.commit();
  }
  CHECK(s.list_checkpoints() == std::vector<cp>{relinked[0], {id7, k7, 7, 5, k5}});
  CHECK(f.open().list_checkpoints() == std::vector<cp>{relinked[0], {id7, k7, 7, 5, k5}});
}

TEMPLATE_TEST_CASE("conformance: an uncommitted transaction leaves no trace", "[conformance]",
                   TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  auto s = f.open();
  {
    auto tx = s.begin();
    const std::vector<op<K>> ops{numbered_insert<K>(1)};
    (void)s.append(ops);
    (void)s.save_checkpoint(key<K>(1, 1, 1), 1, "cp");
    s.store_meta({{key<K>(1, 1, 1), 1}, std::nullopt});
  }  // dropped without commit
  CHECK(s.op_count() == 0);
  CHECK(s.list_checkpoints().empty());
  CHECK(s.load_meta() == materialization_meta<K>{});
  auto again = f.open();
  CHECK(again.op_count() == 0);
  int scanned = 0;
  again.scan_after(std::nullopt, [&](const op<K>&) { ++scanned; });
  CHECK(scanned == 0);
}

// ---- catch-up (SPEC §8) --------------------------------------------------------------------------

TEMPLATE_TEST_CASE("conformance: SPEC §8 stale-checkpoint regression scenario, every catch-up path",
                   "[conformance][catch-up]", TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  for (const catch_up_path path :
       {catch_up_path::none, catch_up_path::rewind, catch_up_path::checkpoint, catch_up_path::full_replay}) {
    CAPTURE(to_string(path));
    F f;
    auto d = open_doc(f, 1, {true, {}}, forcing(path));
    apply_one(d, numbered_insert<K>(2));  // checkpoint at 2
    apply_one(d, numbered_insert<K>(1));  // late: catch-up
    CHECK(d.stats().late_ops == 1);
    apply_one(d, numbered_insert<K>(5));
    apply_one(d, numbered_insert<K>(3));  // late: must not use anything taken at 5
    CHECK(d.head().seq == 4);
    CHECK(d.head().key == key<K>(5, 1, 5));
    CHECK(d.children(root_node) == std::vector<node_id>{nid(1), nid(2), nid(3), nid(5)});
    switch (path) {
      case catch_up_path::none:  // the planner: undoing one op beats restoring anything
      case catch_up_path::rewind:
        CHECK(d.stats().last_catch_up_path == catch_up_path::rewind);
        CHECK(d.stats().ops_undone_last_catch_up == 1);    // 5
        CHECK(d.stats().ops_replayed_last_catch_up == 2);  // 3 and 5
        CHECK_FALSE(d.stats().restored_checkpoint.has_value());
        break;
      case catch_up_path::checkpoint:
        CHECK(d.stats().last_catch_up_path == catch_up_path::checkpoint);
        REQUIRE(d.stats().restored_checkpoint.has_value());
        CHECK(d.stats().restored_checkpoint->key == key<K>(2, 1, 2));
        CHECK(d.stats().restored_checkpoint->seq == 2);
        CHECK(d.stats().ops_replayed_last_catch_up == 2);  // 3 and 5
        break;
      default:
        CHECK(d.stats().last_catch_up_path == catch_up_path::full_replay);
        CHECK(d.stats().ops_replayed_last_catch_up == 4);
        break;
    }
    const std::uint64_t lamports[] = {1, 2, 3, 5};
    const auto cps = d.storage().list_checkpoints();
    CHECK(chains_resolve(cps));
    for (const auto& cp : cps) {  // every checkpoint left is valid
      const auto at_or_below = std::count_if(std::begin(lamports), std::end(lamports),
                                             [&](std::uint64_t n) { return !(cp.key < key<K>(n, 1, n)); });
      CHECK(cp.seq == static_cast<std::uint64_t>(at_or_below));
    }
    auto reopened = open_doc(f, 1);
    CHECK(reopened.export_canonical() == d.export_canonical());
    CHECK(reopened.head().seq == 4);
  }
}

TEMPLATE_TEST_CASE("conformance: late ops with several replicas and cadences, by checkpoint and by rewind",
                   "[conformance][catch-up]", TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  for (const catch_up_path path : {catch_up_path::checkpoint, catch_up_path::rewind}) {
    for (std::uint64_t cadence : {1u, 2u, 3u, 7u}) {
      CAPTURE(to_string(path), cadence);
      F f;
      auto d = open_doc(f, cadence, {true, {}}, forcing(path));
      std::map<dot<replica_of<K>>, op<K>> log;
      // Three replicas; replica 3's ops arrive late, one at a time, after everything else.
      std::vector<op<K>> late;
      for (std::uint64_t n = 1; n <= 30; ++n) {
        const int r = 1 + static_cast<int>(n % 3);
        auto o = make_insert(key<K>(n, r, n), n % 4 == 0 ? root_node : nid(n / 2), nid(n), bytes(1, 'k'));
        if (r == 3) {
          late.push_back(o);
        } else {
          apply_one(d, o);
          log.emplace(o.id(), o);
        }
      }
      std::reverse(late.begin(), late.end());
      for (const auto& o : late) {
        const auto cps_before = d.storage().list_checkpoints();
        const std::uint64_t behind = count_after(log, o.key);  // applied ops the late one sorts before
        const auto written_before = d.stats().checkpoints_written;
        apply_one(d, o);
        log.emplace(o.id(), o);
        CHECK(d.export_canonical() == treecrdt_test::reference_fold(values(log)));
        CHECK(d.head().seq == log.size());
        CHECK(d.stats().checkpoints_written - written_before <= 1);  // only the newest due position
        if (path == catch_up_path::rewind) {
          // Within the journal: absorbed in place, k ops undone and k + 1 folded, nothing restored.
          CHECK(d.stats().last_catch_up_path == catch_up_path::rewind);
          CHECK(d.stats().ops_undone_last_catch_up == behind);
          CHECK(d.stats().ops_replayed_last_catch_up == behind + 1);
          CHECK_FALSE(d.stats().restored_checkpoint.has_value());
        } else {
          // The restored checkpoint is the latest one strictly before the late op; replay covers
          // exactly the ops after it.
          std::optional<checkpoint_info<K>> expected;
          for (const auto& cp : cps_before)
            if (cp.key < o.key) expected = cp;
          CHECK(d.stats().restored_checkpoint == expected);
          const std::uint64_t after = expected ? count_after(log, expected->key) : log.size();
          CHECK(d.stats().ops_replayed_last_catch_up == after);
        }
        CHECK(chains_resolve(d.storage().list_checkpoints()));
      }
    }
  }
}

TEMPLATE_TEST_CASE("conformance: a late op beyond the journal falls back to a checkpoint", "[conformance][catch-up]",
                   TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  auto d = open_doc(f, 4, {true, {}}, forcing(catch_up_path::none, 5));  // a journal of 5 ops
  std::vector<op<K>> all;
  for (std::uint64_t n = 2; n <= 40; n += 2) {
    all.push_back(numbered_insert<K>(n));
    apply_one(d, all.back());
  }
  all.push_back(numbered_insert<K>(37));  // 2 ops behind: rewind
  apply_one(d, all.back());
  CHECK(d.stats().last_catch_up_path == catch_up_path::rewind);
  CHECK(d.stats().ops_undone_last_catch_up == 2);
  all.push_back(numbered_insert<K>(15));  // 13 ops behind, beyond the journal: a checkpoint
  apply_one(d, all.back());
  CHECK(d.stats().last_catch_up_path == catch_up_path::checkpoint);
  REQUIRE(d.stats().restored_checkpoint.has_value());
  CHECK(d.stats().restored_checkpoint->key < key<K>(15, 1, 15));
  CHECK(d.export_canonical() == treecrdt_test::reference_fold(all));
  // Without checkpoints and beyond the journal, only a replay from the start is exact.
  F g;
  doc_t<F> plain(g.open(), testing::replica<K>(99), every_n_ops{0}, test_retention{true, {}},
                 forcing(catch_up_path::none, 3));
  for (std::uint64_t n = 2; n <= 20; n += 2) apply_one(plain, numbered_insert<K>(n));
  apply_one(plain, numbered_insert<K>(3));
  CHECK(plain.stats().last_catch_up_path == catch_up_path::full_replay);
  CHECK(plain.stats().ops_replayed_last_catch_up == 11);
}

TEMPLATE_TEST_CASE("conformance: a stale checkpoint is detected and never used", "[conformance][catch-up]",
                   TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  {
    auto d = open_doc(f, 1);
    apply_one(d, numbered_insert<K>(2));  // full checkpoint (2, seq 1)
    apply_one(d, numbered_insert<K>(5));  // delta (5, seq 2) over it
    const auto cps = d.storage().list_checkpoints();
    REQUIRE(cps.size() == 2);
    CHECK(cps[1].base == key<K>(2, 1, 2));
  }
  {
    // Write op 3 behind the document's back, without invalidating: the link at 5 now claims
    // seq 2 although 3 ops have keys ≤ 5 — exactly what the known defect restores.
    auto s = f.open();
    auto tx = s.begin();
    const std::vector<op<K>> ops{numbered_insert<K>(3)};
    (void)s.append(ops);
    tx.commit();
  }
  auto d = open_doc(f, 1, {true, {}}, forcing(catch_up_path::checkpoint));  // 3 ops: replay would be cheaper
  CHECK(d.stats().stale_checkpoints_detected == 1);
  REQUIRE(d.stats().restored_checkpoint.has_value());
  CHECK(d.stats().restored_checkpoint->key == key<K>(2, 1, 2));
  CHECK(d.children(root_node) == std::vector<node_id>{nid(2), nid(3), nid(5)});
  CHECK(d.head().seq == 3);
}

TEMPLATE_TEST_CASE("conformance: a corrupt chain link is skipped, never trusted", "[conformance][catch-up]",
                   TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  for (const bool corrupt_the_middle : {true, false}) {
    CAPTURE(corrupt_the_middle);
    F f;
    std::vector<op<K>> ops;
    // A wide tree (payloads on every node) so the deltas stay smaller than the full link.
    for (std::uint64_t n = 1; n <= 40; ++n) ops.push_back(numbered_insert<K>(n * 2));
    canonical_export expected;
    {
      auto d = open_doc(f, 4);
      d.apply(std::span<const op<K>>(ops.data(), 28));
      for (std::size_t i = 28; i < ops.size(); ++i) apply_one(d, ops[i]);  // links at 32, 36, 40
      expected = d.export_canonical();
    }
    std::vector<checkpoint_info<K>> cps;
    {
      auto s = f.open();
      cps = s.list_checkpoints();
      REQUIRE(cps.size() == 4);
      REQUIRE(cps[0].is_full());
      REQUIRE(cps[0].seq == 28);
      for (std::size_t i = 1; i < 4; ++i) REQUIRE(cps[i].base == cps[i - 1].key);
      auto tx = s.begin();
      // Flip one byte of a delta's body, or truncate the full link the chain starts from.
      const std::size_t bad = corrupt_the_middle ? 2 : 0;
      auto blob = s.load_checkpoint(cps[bad].id);
      if (corrupt_the_middle) {
        blob[blob.size() / 2] = static_cast<char>(blob[blob.size() / 2] ^ 0x20);
      } else {
        blob.resize(blob.size() - 3);
      }
      (void)s.save_checkpoint(cps[bad].key, cps[bad].seq, blob, cps[bad].base);
      tx.commit();
    }
    auto d = open_doc(f, 4);
    CHECK(d.export_canonical() == expected);
    if (corrupt_the_middle) {
      // 36 is corrupt and 40 depends on it: both dropped, the chain up to 32 restored.
      CHECK(d.stats().corrupt_checkpoints_skipped == 2);
      REQUIRE(d.stats().restored_checkpoint.has_value());
      CHECK(d.stats().restored_checkpoint->seq == 32);
      CHECK(d.stats().checkpoint_links_restored_last_catch_up == 2);
      CHECK(d.stats().ops_replayed_last_catch_up == 8);
    } else {
      // Every link depends on the broken full one: a replay from the start.
      CHECK(d.stats().corrupt_checkpoints_skipped == 4);
      CHECK(d.stats().last_catch_up_path == catch_up_path::full_replay);
      CHECK(d.stats().ops_replayed_last_catch_up == 40);
    }
    // A late op afterwards still catches up correctly.
    apply_one(d, numbered_insert<K>(1));
    ops.push_back(numbered_insert<K>(1));
    CHECK(d.export_canonical() == treecrdt_test::reference_fold(ops));
  }
}

TEMPLATE_TEST_CASE("conformance: restart replays only the ops after the latest checkpoint", "[conformance][restart]",
                   TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  F f;
  canonical_export before;
  std::uint64_t lamport_before = 0;
  {
    auto d = open_doc(f, 16);
    node_id last = root_node;
    for (int i = 0; i < 50; ++i) {
      const auto o = d.insert(i % 5 == 0 ? root_node : last, position::last(), bytes("v"));
      last = o.node;
    }
    d.set_payload(last, "final");
    before = d.export_canonical();
    lamport_before = d.lamport();
    CHECK(d.storage().op_count() == 51);
  }
  auto d = open_doc(f, 16);
  CHECK(d.export_canonical() == before);
  REQUIRE(d.stats().restored_checkpoint.has_value());
  CHECK(d.stats().restored_checkpoint->seq == 48);
  CHECK(d.stats().ops_replayed_last_catch_up == 3);
  CHECK(d.stats().full_replays == 0);
  // The clock resumes: the next local op is newer than everything and uses the next counter.
  const auto o = d.insert(root_node, position::first());
  CHECK(o.key.lamport == lamport_before + 1);
  CHECK(o.key.counter == 52);
  CHECK(d.children(root_node).front() == o.node);
}

TEMPLATE_TEST_CASE("conformance: deferred catch-up survives a restart", "[conformance][restart]",
                   TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  std::vector<op<K>> all;
  {
    auto d = open_doc(f, 2);
    for (std::uint64_t n = 10; n <= 20; ++n) all.push_back(numbered_insert<K>(n));
    d.apply(all);
    const std::vector<op<K>> late{numbered_insert<K>(3), numbered_insert<K>(15, 2)};
    d.apply(late, defer_catch_up);
    all.insert(all.end(), late.begin(), late.end());
    CHECK(d.is_stale());
    CHECK(d.frontier() == key<K>(3, 1, 3));
    const auto latest = d.storage().latest_checkpoint_before(std::nullopt);  // all were ≥ 3: dropped
    CHECK_FALSE(latest.has_value());
  }  // closed while stale
  auto d = open_doc(f, 2);
  CHECK_FALSE(d.is_stale());
  CHECK(d.export_canonical() == treecrdt_test::reference_fold(all));
}

TEMPLATE_TEST_CASE("conformance: a deferred catch-up rewinds once for many late ops", "[conformance][catch-up]",
                   TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  F f;
  auto d = open_doc(f, 8);
  std::vector<op<K>> all;
  for (std::uint64_t n = 2; n <= 400; n += 2) all.push_back(numbered_insert<K>(n));
  d.apply(all);
  const auto catch_ups = d.stats().catch_ups;
  const std::vector<op<K>> late{numbered_insert<K>(393), numbered_insert<K>(381), numbered_insert<K>(399)};
  for (const auto& o : late) d.apply(std::span<const op<K>>(&o, 1), defer_catch_up);
  all.insert(all.end(), late.begin(), late.end());
  d.catch_up();
  CHECK(d.stats().catch_ups == catch_ups + 1);
  CHECK(d.stats().last_catch_up_path == catch_up_path::rewind);
  CHECK(d.stats().ops_undone_last_catch_up == 10);    // 382 ... 400
  CHECK(d.stats().ops_replayed_last_catch_up == 13);  // those and the three late ones
  CHECK(d.export_canonical() == treecrdt_test::reference_fold(all));
}

// ---- properties ------------------------------------------------------------------------------------

namespace treecrdt {
inline void showValue(catch_up_path p, std::ostream& os) { os << to_string(p); }
}  // namespace treecrdt

namespace conformance {
/// A catch-up path to force, as a generated number so counterexamples show it.
inline rc::Gen<catch_up_path> gen_path() {
  return rc::gen::element(catch_up_path::none, catch_up_path::rewind, catch_up_path::checkpoint,
                          catch_up_path::full_replay);
}
}  // namespace conformance

TEMPLATE_TEST_CASE("conformance: property: any path, delivery, cadence, journal, retention and restarts give the fold",
                   "[conformance][property]", TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  rc::prop("export equals the reference fold after every batch", [] {
    const auto h = *treecrdt_test::gen_history<K>(40);
    const auto plan = *treecrdt_test::gen_delivery<K>(h.ops);
    const auto cadence = *rc::gen::inRange<std::uint64_t>(1, 101);
    const bool keep_all = *rc::gen::arbitrary<bool>();
    const auto keep_recent = *rc::gen::inRange<std::uint64_t>(1, 5);
    const auto journal = *rc::gen::inRange<std::uint64_t>(0, 60);
    const catch_up_path path = *gen_path();
    RC_TAG(to_string(path));
    const test_retention retention{keep_all, exponential_retention{keep_recent, cadence}};
    const catch_up_options options = forcing(path, journal);
    F f;
    auto open = [&] {
      return std::make_unique<doc_t<F>>(f.open(), testing::replica<K>(99), every_n_ops{cadence}, retention, options);
    };
    auto d = open();
    std::map<dot<replica_of<K>>, op<K>> log;
    bool restarted = false;
    for (const auto& batch : plan.batches) {
      if (*rc::gen::inRange(0, 6) == 0) {  // restart: reopen from the same storage
        d.reset();
        d = open();
        restarted = true;
        // Reopening restores the newest checkpoint, or replays everything when the planner finds that
        // cheaper (tiny logs) or replay is forced.
        const auto latest = d->storage().latest_checkpoint_before(std::nullopt);
        const auto& restored = d->stats().restored_checkpoint;
        if (d->stats().rebuilds == 0) {
          RC_ASSERT(!restored || restored == latest);
          RC_ASSERT(d->stats().ops_replayed_last_catch_up == (restored ? count_after(log, latest->key) : log.size()));
          if (path == catch_up_path::checkpoint) RC_ASSERT(restored.has_value() == latest.has_value());
        }
      }
      const auto cps_before = d->storage().list_checkpoints();
      std::optional<K> lowest_new;
      for (const auto& o : batch)
        if (!log.count(o.id()) && (!lowest_new || o.key < *lowest_new)) lowest_new = o.key;
      const bool late = lowest_new && d->head().key && *lowest_new < *d->head().key;
      const auto seq_before = d->head().seq;
      const auto undo = late ? count_after(log, *lowest_new) : 0;
      const auto before = d->stats();
      d->apply(batch);
      for (const auto& o : batch) log.emplace(o.id(), o);
      const auto& st = d->stats();
      RC_ASSERT(d->export_canonical() == treecrdt_test::reference_fold(values(log)));
      RC_ASSERT(d->head().seq == log.size());
      // At most one checkpoint per append (the newest due position), one more per rebuild.
      RC_ASSERT(st.checkpoints_written - before.checkpoints_written <= 1 + (st.rebuilds - before.rebuilds));
      const auto written = d->storage().list_checkpoints();
      RC_ASSERT(chains_resolve(written));
      // Every stored checkpoint is valid: seq = number of ops with key ≤ its head.
      for (const auto& cp : written) RC_ASSERT(cp.seq == log.size() - count_after(log, cp.key));
      if (!late || st.rebuilds != before.rebuilds) continue;
      RC_ASSERT(st.catch_ups == before.catch_ups + 1);  // one catch-up per batch
      if (st.last_catch_up_path == catch_up_path::rewind) {
        RC_ASSERT(st.ops_undone_last_catch_up == undo);
        RC_ASSERT(st.ops_replayed_last_catch_up == log.size() - (seq_before - undo));
      }
      if (path == catch_up_path::rewind && !restarted && journal >= seq_before)
        RC_ASSERT(st.last_catch_up_path == catch_up_path::rewind);  // the journal reaches back
      if (path == catch_up_path::full_replay) RC_ASSERT(st.last_catch_up_path == catch_up_path::full_replay);
      if (path == catch_up_path::checkpoint) {
        std::optional<checkpoint_info<K>> expected;  // latest (valid) checkpoint strictly before
        for (const auto& cp : cps_before)
          if (cp.key < *lowest_new) expected = cp;
        if (expected) {  // forced: restored even where another path would be cheaper
          RC_ASSERT(st.last_catch_up_path == catch_up_path::checkpoint);
          RC_ASSERT(st.restored_checkpoint == expected);
          RC_ASSERT(st.ops_replayed_last_catch_up == count_after(log, expected->key));
        } else {  // none to restore: the planner's choice among the others
          RC_ASSERT(st.last_catch_up_path != catch_up_path::checkpoint);
        }
      }
    }
  });
}

TEMPLATE_TEST_CASE("conformance: property: checkpoints stay near the head and bound a late op's replay",
                   "[conformance][property]", TREECRDT_CONFORMANCE_FACTORIES) {
  using F = TestType;
  using K = typename F::key_type;
  rc::prop("newest checkpoint within batch + cadence of the head; restore replays at most k + batch + cadence", [] {
    const auto n_ops = *rc::gen::inRange<std::uint64_t>(2, 300);
    const auto cadence = *rc::gen::inRange<std::uint64_t>(1, 40);
    const auto late_lamport = *rc::gen::inRange<std::uint64_t>(1, n_ops);  // below the last: really late
    const bool keep_all = *rc::gen::arbitrary<bool>();
    const auto keep_recent = *rc::gen::inRange<std::uint64_t>(1, 5);
    const auto batch_size = *rc::gen::inRange<std::size_t>(1, 50);
    const test_retention retention{keep_all, exponential_retention{keep_recent, cadence}};
    F f;
    doc_t<F> d(f.open(), testing::replica<K>(99), every_n_ops{cadence}, retention,
               forcing(catch_up_path::checkpoint, 0));
    std::vector<op<K>> in_order;
    for (std::uint64_t n = 1; n <= n_ops; ++n)
      if (n != late_lamport)
        in_order.push_back(make_payload(key<K>(n, 1 + static_cast<int>(n % 2), n), nid(n % 7), bytes("p")));
    for (std::size_t i = 0; i < in_order.size(); i += batch_size) {
      const auto end = std::min(in_order.size(), i + batch_size);
      d.apply(std::span<const op<K>>(in_order.data() + i, end - i));
      // SPEC §8: the bound on the distance from the head to the nearest valid checkpoint holds
      // after every append, whatever catch-up skipped.
      const auto newest = d.storage().latest_checkpoint_before(std::nullopt);
      if (d.head().seq >= cadence + batch_size) {
        RC_ASSERT(newest.has_value());
        RC_ASSERT(d.head().seq - newest->seq < cadence + batch_size);
      }
    }
    const auto cps = d.storage().list_checkpoints();
    RC_ASSERT(chains_resolve(cps));
    if (!keep_all) {  // O(keep_recent + log history) full snapshots, plus the newest chain
      const std::uint64_t unit = keep_recent * cadence;
      std::uint64_t levels = 0;
      while ((unit << levels) <= d.head().seq) ++levels;
      const auto fulls = std::count_if(cps.begin(), cps.end(), [](const auto& cp) { return cp.is_full(); });
      RC_ASSERT(static_cast<std::uint64_t>(fulls) <= keep_recent + levels + 2);
      RC_ASSERT(cps.size() <= static_cast<std::size_t>(fulls) + max_chain_links);
    }
    const K late_key = key<K>(late_lamport, 1 + static_cast<int>(late_lamport % 2), late_lamport);
    const std::uint64_t k = n_ops - late_lamport;  // stored ops with a greater key
    bool had_earlier = false;
    for (const auto& cp : cps) had_earlier |= cp.key < late_key;
    apply_one(d, make_payload(late_key, nid(late_lamport % 7), bytes("late")));
    const auto replayed = d.stats().ops_replayed_last_catch_up;
    RC_ASSERT(d.stats().restored_checkpoint.has_value() == had_earlier);  // never a needless full replay
    if (had_earlier && keep_all) RC_ASSERT(replayed <= k + 1 + batch_size + cadence);
  });
}
