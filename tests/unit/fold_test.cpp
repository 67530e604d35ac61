// SPEC §5: one test per numbered rule and the edge cases the core issue lists, run on the fold
// alone (apply_op over a memory_store) and read back through reads.hpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "support/keys.hpp"
#include "treecrdt/fold.hpp"
#include "treecrdt/reads.hpp"
#include "treecrdt/store/memory_store.hpp"

using namespace treecrdt;
using treecrdt::testing::key;
using treecrdt::testing::nid;
using treecrdt::testing::replica;

namespace {
template <class Key>
struct tree {
  memory_store<Key> store;
  std::vector<op<Key>> log;

  // Folds the whole log in key order from the initial state (the definition of the state).
  void add(op<Key> o) {
    log.push_back(std::move(o));
    std::sort(log.begin(), log.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    fold_from_start(store, log);
  }
  [[nodiscard]] std::vector<node_id> kids(node_id p) const { return children_of(store, p); }
  [[nodiscard]] std::optional<node_id> parent(node_id n) const { return parent_of(store, n); }
  [[nodiscard]] std::optional<node_id> physical_parent(node_id n) const {
    const auto h = store.find(n);
    const auto p = store.parent_of(h);
    return p ? std::optional<node_id>(store.id_of(p)) : std::nullopt;
  }
  [[nodiscard]] bool hidden(node_id n) const { return is_tombstoned(store, n); }
};
using ids = std::vector<node_id>;
}  // namespace

#define KEYS default_op_key, compact_op_key

TEMPLATE_TEST_CASE("rule 0: ops before their node's insert create placeholders", "[fold]", KEYS) {
  using K = TestType;
  tree<K> t;
  t.add(make_move(key<K>(1, 1, 1), nid(2), nid(1), "80"));  // neither node inserted yet
  CHECK(t.store.find(nid(1)) != nullptr);
  CHECK(t.physical_parent(nid(2)) == nid(1));
  CHECK_FALSE(t.physical_parent(nid(1)).has_value());  // placeholder: no parent, no key
  CHECK_FALSE(t.store.order_key(t.store.find(nid(1))).has_value());
  t.add(make_payload(key<K>(2, 1, 2), nid(9), bytes("p")));
  CHECK(payload_of(t.store, nid(9)) == bytes("p"));
  t.add(make_insert(key<K>(3, 1, 3), root_node, nid(1), "80"));  // the insert arrives later
  CHECK(t.kids(root_node) == ids{nid(1)});
  CHECK(t.kids(nid(1)) == ids{nid(2)});
}

TEMPLATE_TEST_CASE("rules 1-2: insert under itself or a descendant does nothing structural", "[fold]", KEYS) {
  using K = TestType;
  tree<K> t;
  t.add(make_insert(key<K>(1, 1, 1), root_node, nid(1), "80"));
  t.add(make_insert(key<K>(2, 1, 2), nid(1), nid(2), "80"));
  t.add(make_insert(key<K>(3, 1, 3), nid(1), nid(1), "90"));               // p == n
  t.add(make_insert(key<K>(4, 1, 4), nid(2), nid(1), "90", bytes("pl")));  // cycle, but payload applies
  CHECK(t.kids(root_node) == ids{nid(1)});
  CHECK(t.kids(nid(1)) == ids{nid(2)});
  CHECK(t.store.order_key(t.store.find(nid(1))) == bytes("80"));
  CHECK(payload_of(t.store, nid(1)) == bytes("pl"));
}

TEMPLATE_TEST_CASE("rule 1: cycles are detected through placeholders", "[fold]", KEYS) {
  using K = TestType;
  tree<K> t;
  t.add(make_move(key<K>(1, 1, 1), nid(2), nid(1), "80"));  // 1 is a placeholder parent of 2
  t.add(make_move(key<K>(2, 2, 1), nid(3), nid(2), "80"));  // 3 under 2
  t.add(make_move(key<K>(3, 1, 2), nid(1), nid(3), "80"));  // 1 under 3 would close 1→2→3→1
  CHECK_FALSE(t.physical_parent(nid(1)).has_value());
  CHECK(t.physical_parent(nid(3)) == nid(2));
  CHECK(t.physical_parent(nid(2)) == nid(1));
}

TEMPLATE_TEST_CASE("rule 2: insert moves an existing node without touching the old parent", "[fold]", KEYS) {
  using K = TestType;
  tree<K> t;
  t.add(make_insert(key<K>(1, 1, 1), root_node, nid(1), "80"));
  t.add(make_insert(key<K>(2, 1, 2), nid(1), nid(2), "80"));
  version_vector<typename K::replica_type> seen;
  seen.add_range(replica<K>(1), 1, 2);
  t.add(make_delete(key<K>(3, 1, 3), nid(1), seen));  // aware of everything: 1 is hidden
  REQUIRE(t.hidden(nid(1)));
  // Re-inserting 2 under ROOT leaves node 1's last_change alone: 1 stays hidden.
  t.add(make_insert(key<K>(4, 2, 1), root_node, nid(2), "90"));
  CHECK(t.hidden(nid(1)));
  CHECK(t.kids(root_node) == ids{nid(2)});
}

TEMPLATE_TEST_CASE("rule 3: a move out of a deleted node keeps it alive, unlike an insert", "[fold]", KEYS) {
  using K = TestType;
  tree<K> t;
  t.add(make_insert(key<K>(1, 1, 1), root_node, nid(1), "80"));
  t.add(make_insert(key<K>(2, 1, 2), nid(1), nid(2), "80"));
  version_vector<typename K::replica_type> seen;
  seen.add_range(replica<K>(1), 1, 2);
  t.add(make_delete(key<K>(3, 1, 3), nid(1), seen));
  REQUIRE(t.hidden(nid(1)));
  t.add(make_move(key<K>(4, 2, 1), nid(2), root_node, "90"));  // concurrent move out: dot lands on 1
  CHECK_FALSE(t.hidden(nid(1)));
  CHECK(t.kids(root_node) == ids{nid(1), nid(2)});
}

TEMPLATE_TEST_CASE("rule 3: move to TRASH and back", "[fold]", KEYS) {
  using K = TestType;
  tree<K> t;
  t.add(make_insert(key<K>(1, 1, 1), root_node, nid(1), "80"));
  t.add(make_move(key<K>(2, 1, 2), nid(1), trash_node, ""));
  CHECK(t.kids(root_node).empty());
  CHECK(t.physical_parent(nid(1)) == trash_node);
  CHECK(t.parent(nid(1)) == trash_node);
  CHECK(t.kids(trash_node).empty());  // TRASH keeps no list of children
  t.add(make_move(key<K>(3, 1, 3), nid(1), root_node, "70"));
  CHECK(t.kids(root_node) == ids{nid(1)});
  CHECK(t.store.order_key(t.store.find(nid(1))) == bytes("70"));
}

TEMPLATE_TEST_CASE("rule 3: a move that would form a cycle does nothing, the other wins", "[fold]", KEYS) {
  using K = TestType;
  tree<K> t;
  t.add(make_insert(key<K>(1, 1, 1), root_node, nid(1), "80"));
  t.add(make_insert(key<K>(1, 2, 1), root_node, nid(2), "81"));
  // Concurrent: replica 1 moves 1 under 2, replica 2 moves 2 under 1. Key order decides.
  t.add(make_move(key<K>(5, 2, 2), nid(2), nid(1), "80"));
  t.add(make_move(key<K>(5, 1, 2), nid(1), nid(2), "80"));
  // (5, r1) < (5, r2): 1 goes under 2 first; then 2 under 1 would cycle and is skipped.
  CHECK(t.kids(root_node) == ids{nid(2)});
  CHECK(t.kids(nid(2)) == ids{nid(1)});
}

TEMPLATE_TEST_CASE("equal lamports tie-break by replica, then counter", "[fold]", KEYS) {
  using K = TestType;
  for (int order = 0; order < 2; ++order) {
    tree<K> t;
    std::vector<op<K>> ops{
        make_payload(key<K>(7, 2, 1), nid(1), bytes("r2")), make_payload(key<K>(7, 1, 9), nid(1), bytes("r1")),
        make_payload(key<K>(8, 1, 3), nid(2), bytes("c3")), make_payload(key<K>(8, 1, 4), nid(2), bytes("c4"))};
    if (order) std::reverse(ops.begin(), ops.end());
    for (auto& o : ops) t.add(o);
    CHECK(payload_of(t.store, nid(1)) == bytes("r2"));
    CHECK(payload_of(t.store, nid(2)) == bytes("c4"));
  }
}

TEMPLATE_TEST_CASE("rule 5: payload set, clear, and a lower key loses", "[fold]", KEYS) {
  using K = TestType;
  tree<K> t;
  t.add(make_insert(key<K>(1, 1, 1), root_node, nid(1), "80", bytes("a")));
  CHECK(payload_of(t.store, nid(1)) == bytes("a"));
  t.add(make_payload(key<K>(3, 1, 2), nid(1), std::nullopt));
  CHECK_FALSE(payload_of(t.store, nid(1)).has_value());
  t.add(make_payload(key<K>(2, 2, 1), nid(1), bytes("late")));  // key below the clear: ignored
  CHECK_FALSE(payload_of(t.store, nid(1)).has_value());
  t.add(make_payload(key<K>(4, 2, 2), nid(1), bytes("b")));
  CHECK(payload_of(t.store, nid(1)) == bytes("b"));
}

TEMPLATE_TEST_CASE("rules 4 and 6: defensive delete", "[fold]", KEYS) {
  using K = TestType;
  using vv = version_vector<typename K::replica_type>;
  const auto base = [] {
    tree<K> t;
    t.add(make_insert(key<K>(1, 1, 1), root_node, nid(1), "80"));
    t.add(make_insert(key<K>(2, 1, 2), nid(1), nid(2), "80"));
    return t;
  };
  vv saw_both;
  saw_both.add_range(replica<K>(1), 1, 2);

  SECTION("aware delete hides the node; its children stay attached, hidden through it") {
    auto t = base();
    t.add(make_delete(key<K>(3, 1, 3), nid(1), saw_both));
    CHECK(t.hidden(nid(1)));
    CHECK(t.parent(nid(1)) == trash_node);
    CHECK(t.kids(root_node).empty());
    CHECK_FALSE(t.hidden(nid(2)));
    CHECK(t.physical_parent(nid(2)) == nid(1));
    CHECK(t.kids(nid(1)) == ids{nid(2)});
  }
  SECTION("delete unaware of a concurrent child insert keeps the node") {
    auto t = base();
    t.add(make_delete(key<K>(3, 1, 3), nid(1), saw_both));
    t.add(make_insert(key<K>(3, 2, 1), nid(1), nid(3), "90"));  // replica 2 had not seen the delete
    CHECK_FALSE(t.hidden(nid(1)));
    CHECK(t.kids(root_node) == ids{nid(1)});
    CHECK(t.kids(nid(1)) == ids{nid(2), nid(3)});
  }
  SECTION("delete unaware of a winning payload write keeps the node") {
    auto t = base();
    t.add(make_delete(key<K>(3, 1, 3), nid(1), saw_both));
    t.add(make_payload(key<K>(3, 2, 1), nid(2), bytes("edit")));
    CHECK_FALSE(t.hidden(nid(1)));
  }
  SECTION("a delete that saw the payload write hides the node") {
    auto t = base();
    t.add(make_payload(key<K>(3, 2, 1), nid(2), bytes("edit")));
    vv saw = saw_both;
    saw.observe(replica<K>(2), 1);
    t.add(make_delete(key<K>(4, 1, 3), nid(1), saw));
    CHECK(t.hidden(nid(1)));
  }
  SECTION("a losing payload write does not keep the node") {
    auto t = base();
    t.add(make_payload(key<K>(5, 1, 4), nid(2), bytes("winner")));
    vv saw = saw_both;
    saw.observe(replica<K>(1), 4);
    t.add(make_delete(key<K>(6, 1, 5), nid(1), saw));
    t.add(make_payload(key<K>(4, 2, 1), nid(2), bytes("loser")));  // lower key: not the writer
    CHECK(payload_of(t.store, nid(2)) == bytes("winner"));
    CHECK(t.hidden(nid(1)));
  }
  SECTION("concurrent deletes merge their knowledge") {
    auto t = base();
    t.add(make_insert(key<K>(3, 2, 1), nid(1), nid(3), "90"));
    vv only_r1 = saw_both;
    vv only_r2;
    only_r2.observe(replica<K>(2), 1);
    t.add(make_delete(key<K>(4, 1, 3), nid(1), only_r1));
    CHECK_FALSE(t.hidden(nid(1)));  // unaware of replica 2's insert
    t.add(make_delete(key<K>(4, 2, 2), nid(1), only_r2));
    CHECK(t.hidden(nid(1)));  // the union saw everything
  }
  SECTION("tombstone without known_state hides only what its own dot covers") {
    auto t = base();
    t.add(make_tombstone(key<K>(3, 1, 3), nid(2)));
    CHECK_FALSE(t.hidden(nid(2)));  // it had not seen the insert
    vv saw;
    saw.observe(replica<K>(1), 2);
    t.add(make_tombstone(key<K>(4, 1, 4), nid(2), saw));
    CHECK(t.hidden(nid(2)));
    CHECK(t.kids(nid(1)).empty());
  }
  SECTION("a move into the deleted subtree revives it; moving it back out again does too") {
    auto t = base();
    t.add(make_insert(key<K>(1, 3, 1), root_node, nid(5), "99"));
    vv saw = saw_both;
    saw.observe(replica<K>(3), 1);
    t.add(make_delete(key<K>(3, 1, 3), nid(1), saw));
    REQUIRE(t.hidden(nid(1)));
    t.add(make_move(key<K>(4, 3, 2), nid(5), nid(2), "80"));  // unseen move into the subtree
    CHECK_FALSE(t.hidden(nid(1)));
  }
}

TEMPLATE_TEST_CASE("the cached tombstone verdict equals the definition under random edits", "[fold]", KEYS) {
  using K = TestType;
  using vv = version_vector<typename K::replica_type>;
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200; ++round) {
    memory_store<K> s;
    std::uint64_t counters[3] = {0, 0, 0};
    for (int step = 0; step < 60; ++step) {
      const int r = static_cast<int>(rng() % 3);
      const K k = key<K>(static_cast<std::uint64_t>(step + 1), r, ++counters[r]);
      const node_id n = nid(1 + rng() % 8), p = rng() % 3 == 0 ? root_node : nid(1 + rng() % 8);
      switch (rng() % 5) {
        case 0: apply_op(s, make_insert(k, p, n, bytes(1, static_cast<char>(rng() % 4)))); break;
        case 1: apply_op(s, make_move(k, n, rng() % 6 == 0 ? trash_node : p, bytes(1, 'm'))); break;
        case 2: {
          vv known;
          for (int rr = 0; rr < 3; ++rr) known.add_range(replica<K>(rr), 1, rng() % (counters[rr] + 1));
          apply_op(s, make_delete(k, n, known));
          break;
        }
        case 3: apply_op(s, make_payload(k, n, bytes("x"))); break;
        default: apply_op(s, make_tombstone(k, n)); break;
      }
      // Check every node's cached verdict against a from-scratch evaluation of rule 6.
      s.for_each_node([&](auto h) {
        const bool cached = s.is_tombstoned(h);
        memory_store<K> fresh;
        std::string snap;
        s.snapshot(snap);
        fresh.restore(snap);  // a restored store has no cached verdicts
        CHECK(cached == fresh.is_tombstoned(fresh.find(s.id_of(h))));
      });
    }
  }
}
