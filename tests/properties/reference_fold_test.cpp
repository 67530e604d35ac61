// Self-checks of the reference model against small scenarios computed by hand from SPEC §5/§6,
// and properties of the reference itself (order independence, invariants, key-type agnosticism).
#include <rapidcheck/catch.h>
#include <catch2/catch.hpp>

#include <optional>
#include <stdexcept>
#include <vector>

#include "test_helpers.hpp"

using namespace treecrdt;
using namespace treecrdt_test;

namespace {

template <class Key>
struct scenario {
  std::vector<op<Key>> ops;

  [[nodiscard]] reference_model<Key> model() const { return reference_model<Key>(ops); }
  [[nodiscard]] canonical_export exported() const { return reference_fold(ops); }

  [[nodiscard]] static Key k(std::uint64_t lamport, unsigned replica, std::uint64_t counter) {
    return make_key<Key>(lamport, replica, counter);
  }
};

const export_row& row_of(const canonical_export& ex, node_id n) {
  for (const auto& row : ex.nodes)
    if (row.node == n) return row;
  throw std::logic_error("no row for " + to_hex(n));
}

std::optional<std::vector<node_id>> list_of(const canonical_export& ex, node_id parent) {
  for (const auto& [p, kids] : ex.children)
    if (p == parent) return kids;
  return std::nullopt;
}

const node_id a = nid(1), b = nid(2), c = nid(3), x = nid(4), y = nid(5);

}  // namespace

TEMPLATE_TEST_CASE("reference: the empty log exports ROOT's empty list only", "[reference]", default_op_key,
                   compact_op_key) {
  const canonical_export ex = reference_fold(std::vector<op<TestType>>{});
  CHECK(ex.nodes.empty());
  REQUIRE(ex.children.size() == 1);
  CHECK(ex.children[0].first == root_node);
  CHECK(ex.children[0].second.empty());
}

TEMPLATE_TEST_CASE("reference rule 0: ops on unseen nodes create placeholders", "[reference]", default_op_key,
                   compact_op_key) {
  using S = scenario<TestType>;
  S s;
  s.ops = {make_payload(S::k(1, 0, 1), x, bytes("v")),             // x: placeholder with a payload
           make_move(S::k(2, 0, 2), a, b, "80"),                   // a and its parent b both unseen
           make_delete(S::k(3, 0, 3), c, make_vv<TestType>({}))};  // c: placeholder, deleted
  const auto ex = s.exported();
  REQUIRE(ex.nodes.size() == 4);
  CHECK(row_of(ex, x) == export_row{x, std::nullopt, std::nullopt, false, bytes("v")});
  CHECK(row_of(ex, a) == export_row{a, b, bytes("80"), false, std::nullopt});
  CHECK(row_of(ex, b) == export_row{b, std::nullopt, std::nullopt, false, std::nullopt});
  // S(c) is empty, so any delete is aware of it.
  CHECK(row_of(ex, c) == export_row{c, std::nullopt, std::nullopt, true, std::nullopt});
  CHECK(list_of(ex, root_node) == std::vector<node_id>{});
  CHECK(list_of(ex, b) == std::vector<node_id>{a});
  CHECK(reference_invariants_hold(ex));
}

TEMPLATE_TEST_CASE("reference rule 2: self-parent and cyclic inserts do nothing structural, payload still lands",
                   "[reference]", default_op_key, compact_op_key) {
  using S = scenario<TestType>;
  S s;
  s.ops = {make_insert(S::k(1, 0, 1), root_node, a, "80"), make_insert(S::k(2, 0, 2), a, b, "80"),
           make_insert(S::k(3, 0, 3), b, a, "40", bytes("p")),   // a under its own child: cycle
           make_insert(S::k(4, 0, 4), c, c, "80", bytes("q"))};  // c under itself
  const auto ex = s.exported();
  CHECK(row_of(ex, a) == export_row{a, root_node, bytes("80"), false, bytes("p")});
  CHECK(row_of(ex, b) == export_row{b, a, bytes("80"), false, std::nullopt});
  CHECK(row_of(ex, c) == export_row{c, std::nullopt, std::nullopt, false, bytes("q")});
  CHECK(list_of(ex, root_node) == std::vector<node_id>{a});
  CHECK(list_of(ex, a) == std::vector<node_id>{b});
}

TEMPLATE_TEST_CASE("reference rule 1: cycles are detected through placeholders", "[reference]", default_op_key,
                   compact_op_key) {
  using S = scenario<TestType>;
  S s;
  s.ops = {make_move(S::k(1, 0, 1), a, x, "80"),   // a under placeholder x
           make_move(S::k(2, 0, 2), x, y, "80"),   // x under placeholder y
           make_move(S::k(3, 1, 1), y, a, "80"),   // y under a: y -> a -> x -> y, refused
           make_move(S::k(4, 1, 2), x, a, "80")};  // x under its own child: refused
  const auto m = s.model();
  CHECK(m.nodes().at(a).parent == x);
  CHECK(m.nodes().at(x).parent == y);
  CHECK_FALSE(m.nodes().at(y).parent.has_value());
  CHECK(reference_invariants_hold(m.export_canonical()));
  // A cycle-refused move changes nothing, not even last_change.
  CHECK(m.nodes().at(y).last_change == dot_set{ref_dot_of(S::k(2, 0, 2))});
}

TEMPLATE_TEST_CASE("reference rule 3: move to TRASH and back", "[reference]", default_op_key, compact_op_key) {
  using S = scenario<TestType>;
  S s;
  s.ops = {make_insert(S::k(1, 0, 1), root_node, a, "80"), make_insert(S::k(2, 0, 2), a, b, "80"),
           make_move(S::k(3, 0, 3), a, trash_node, "")};
  auto ex = s.exported();
  CHECK(row_of(ex, a) == export_row{a, trash_node, bytes(""), false, std::nullopt});
  CHECK(list_of(ex, root_node) == std::vector<node_id>{});
  CHECK(list_of(ex, a) == std::vector<node_id>{b});  // a is not deleted: its own list stays
  CHECK_FALSE(list_of(ex, trash_node).has_value());
  // b leaves a for TRASH, then a comes back under ROOT.
  s.ops.push_back(make_move(S::k(4, 1, 1), b, trash_node, "40"));
  s.ops.push_back(make_move(S::k(5, 1, 2), a, root_node, "c0"));
  ex = s.exported();
  CHECK(row_of(ex, a) == export_row{a, root_node, bytes("c0"), false, std::nullopt});
  CHECK(row_of(ex, b).parent == trash_node);
  CHECK(list_of(ex, root_node) == std::vector<node_id>{a});
  CHECK_FALSE(list_of(ex, a).has_value());
  // TRASH keeps no last_change; the old parent a is touched by b's move out.
  const auto m = s.model();
  CHECK(m.nodes().at(a).last_change.count(ref_dot_of(S::k(4, 1, 1))) == 1);
}

TEMPLATE_TEST_CASE("reference key order: equal lamports break ties by replica, then counter", "[reference]",
                   default_op_key, compact_op_key) {
  using S = scenario<TestType>;
  for (bool reversed : {false, true}) {
    S s;
    s.ops = {make_insert(S::k(1, 0, 1), root_node, a, "80"),
             make_insert(S::k(1, 1, 1), root_node, b, "80"),
             make_move(S::k(5, 1, 2), a, b, "11"),  // replica 1 sorts after replica 0 at lamport 5
             make_move(S::k(5, 0, 2), b, a, "22"),  // applied first; then a under b is a cycle
             make_payload(S::k(7, 0, 4), a, bytes("late counter")),
             make_payload(S::k(7, 0, 3), a, bytes("early"))};
    if (reversed) std::reverse(s.ops.begin(), s.ops.end());
    const auto ex = s.exported();
    CHECK(row_of(ex, b) == export_row{b, a, bytes("22"), false, std::nullopt});
    CHECK(row_of(ex, a) == export_row{a, root_node, bytes("80"), false, bytes("late counter")});
  }
}

TEMPLATE_TEST_CASE("reference key order: replicas compare as unsigned bytes", "[reference]", default_op_key,
                   compact_op_key) {
  using S = scenario<TestType>;
  S s;
  // test_replica(0x6f) is 0x7f and test_replica(0x70) is 0x80: a signed comparison would flip them.
  s.ops = {make_payload(S::k(3, 0x70, 1), a, bytes("from 80")), make_payload(S::k(3, 0x6f, 1), a, bytes("from 7f"))};
  CHECK(row_of(s.exported(), a).payload == bytes("from 80"));
}

TEST_CASE("reference key order: a replica that is a proper prefix sorts first", "[reference]") {
  using S = scenario<default_op_key>;
  S s;
  s.ops = {make_payload(default_op_key{3, bytes("\x10\x00", 2), 1}, a, bytes("longer")),
           make_payload(default_op_key{3, bytes("\x10"), 1}, a, bytes("prefix"))};
  CHECK(row_of(s.exported(), a).payload == bytes("longer"));
}

TEMPLATE_TEST_CASE("reference rule 5: payload is last-writer-wins by key, in any input order", "[reference]",
                   default_op_key, compact_op_key) {
  using S = scenario<TestType>;
  S s;
  s.ops = {make_payload(S::k(3, 0, 3), a, bytes("y")), make_payload(S::k(2, 0, 2), a, std::nullopt),
           make_insert(S::k(1, 0, 1), root_node, a, "80", bytes("x"))};
  CHECK(row_of(s.exported(), a).payload == bytes("y"));
  s.ops.push_back(make_payload(S::k(4, 1, 1), a, std::nullopt));
  CHECK_FALSE(row_of(s.exported(), a).payload.has_value());
  // An insert's payload competes by the insert's key, even when its structural part is refused.
  s.ops.push_back(make_insert(S::k(9, 1, 2), a, a, "80", bytes("z")));
  CHECK(row_of(s.exported(), a).payload == bytes("z"));
  CHECK(row_of(s.exported(), a).parent == root_node);
}

TEMPLATE_TEST_CASE("reference rule 6: a delete unaware of a child insert keeps the node, an aware one hides it",
                   "[reference]", default_op_key, compact_op_key) {
  using S = scenario<TestType>;
  S s;
  s.ops = {make_insert(S::k(1, 0, 1), root_node, a, "80"),
           make_insert(S::k(2, 1, 1), a, c, "80"),                       // B inserts c under a
           make_delete(S::k(2, 0, 2), a, make_vv<TestType>({{0, 1}}))};  // A did not see it
  auto m = s.model();
  CHECK_FALSE(m.tombstoned(a));
  CHECK(list_of(m.export_canonical(), root_node) == std::vector<node_id>{a});

  s.ops.push_back(make_delete(S::k(3, 1, 2), a, make_vv<TestType>({{0, 1}, {1, 1}})));
  m = s.model();
  CHECK(m.tombstoned(a));
  CHECK_FALSE(m.tombstoned(c));  // hidden only through its ancestor
  const auto ex = m.export_canonical();
  CHECK(list_of(ex, root_node) == std::vector<node_id>{});
  CHECK(list_of(ex, a) == std::vector<node_id>{c});  // a tombstoned parent keeps its list
  CHECK(row_of(ex, a).tombstoned);
  CHECK(row_of(ex, c) == export_row{c, a, bytes("80"), false, std::nullopt});
}

TEMPLATE_TEST_CASE("reference rule 6: a move out touches the old parent, an insert elsewhere does not", "[reference]",
                   default_op_key, compact_op_key) {
  using S = scenario<TestType>;
  const auto base = [] {
    return std::vector<op<TestType>>{make_insert(S::k(1, 0, 1), root_node, a, "80"),
                                     make_insert(S::k(2, 0, 2), a, c, "80"),
                                     make_delete(S::k(3, 0, 3), a, make_vv<TestType>({{0, 1}, {0, 2}}))};
  };
  S moved;
  moved.ops = base();
  moved.ops.push_back(make_move(S::k(3, 1, 1), c, root_node, "c0"));  // unseen by the delete
  CHECK_FALSE(moved.model().tombstoned(a));

  S reinserted;
  reinserted.ops = base();
  reinserted.ops.push_back(make_insert(S::k(3, 1, 1), root_node, c, "c0"));  // rule 2: old parent untouched
  CHECK(reinserted.model().tombstoned(a));
  CHECK(list_of(reinserted.exported(), root_node) == std::vector<node_id>{c});
}

TEMPLATE_TEST_CASE("reference rule 6: only the winning payload write counts against a delete", "[reference]",
                   default_op_key, compact_op_key) {
  using S = scenario<TestType>;
  S s;
  s.ops = {make_insert(S::k(1, 0, 1), root_node, a, "80"), make_payload(S::k(5, 0, 2), a, bytes("seen")),
           make_payload(S::k(4, 1, 1), a, bytes("lost")),  // concurrent, loses to (5, A, 2)
           make_delete(S::k(6, 0, 3), a, make_vv<TestType>({{0, 1}, {0, 2}}))};
  CHECK(s.model().tombstoned(a));
  CHECK(row_of(s.exported(), a).payload == bytes("seen"));
  s.ops.push_back(make_payload(S::k(6, 1, 2), a, bytes("wins")));  // (6, B) > (6, A): unseen winner
  CHECK_FALSE(s.model().tombstoned(a));
}

TEMPLATE_TEST_CASE("reference rule 4: concurrent deletes merge their knowledge", "[reference]", default_op_key,
                   compact_op_key) {
  using S = scenario<TestType>;
  S s;
  s.ops = {make_insert(S::k(1, 0, 1), root_node, a, "80"), make_insert(S::k(1, 1, 1), a, b, "80")};
  S only_a = s, only_b = s, both = s;
  const auto del_a = make_delete(S::k(2, 0, 2), a, make_vv<TestType>({{0, 1}}));
  const auto del_b = make_tombstone(S::k(2, 1, 2), a, make_vv<TestType>({{1, 1}}));
  only_a.ops.push_back(del_a);
  only_b.ops.push_back(del_b);
  both.ops.push_back(del_a);
  both.ops.push_back(del_b);
  CHECK_FALSE(only_a.model().tombstoned(a));
  CHECK_FALSE(only_b.model().tombstoned(a));
  CHECK(both.model().tombstoned(a));
}

TEMPLATE_TEST_CASE("reference rule 4: a tombstone without known_state knows only its own dot", "[reference]",
                   default_op_key, compact_op_key) {
  using S = scenario<TestType>;
  S s;
  s.ops = {make_insert(S::k(1, 0, 1), root_node, a, "80"), make_tombstone(S::k(2, 0, 2), a),
           make_tombstone(S::k(3, 0, 3), x)};  // x: a fresh placeholder with nothing in S(x)
  const auto m = s.model();
  CHECK_FALSE(m.tombstoned(a));
  CHECK(m.tombstoned(x));
  // A gapped known_state misses the dot in the gap.
  s.ops.push_back(make_insert(S::k(4, 0, 4), root_node, b, "80"));
  s.ops.push_back(make_payload(S::k(5, 0, 5), b, bytes("v")));
  s.ops.push_back(make_delete(S::k(6, 0, 6), b, make_vv<TestType>({{0, 1}, {0, 2}, {0, 3}, {0, 5}})));
  CHECK_FALSE(s.model().tombstoned(b));
  s.ops.push_back(make_delete(S::k(7, 0, 7), b, make_vv<TestType>({{0, 4}})));
  CHECK(s.model().tombstoned(b));
}

TEMPLATE_TEST_CASE("reference reads: siblings sort by unsigned order key, then 128-bit node id", "[reference]",
                   default_op_key, compact_op_key) {
  using S = scenario<TestType>;
  const node_id high{1, 0};  // greater than every id with hi == 0
  S s;
  s.ops = {
      make_insert(S::k(1, 0, 1), root_node, high, "40"), make_insert(S::k(2, 0, 2), root_node, c, "40"),
      make_insert(S::k(3, 0, 3), root_node, a, "\x80"),  make_insert(S::k(4, 0, 4), root_node, b, "\x7f"),
      make_insert(S::k(5, 0, 5), root_node, x, ""),      make_insert(S::k(6, 0, 6), root_node, y, bytes("40\x00", 3))};
  const auto ex = s.exported();
  CHECK(list_of(ex, root_node) == std::vector<node_id>{x, c, high, y, b, a});
  CHECK(reference_invariants_hold(ex));
}

TEMPLATE_TEST_CASE("reference input: duplicates are ignored, conflicting ops rejected", "[reference]", default_op_key,
                   compact_op_key) {
  using S = scenario<TestType>;
  S s;
  s.ops = {make_insert(S::k(1, 0, 1), root_node, a, "80"), make_insert(S::k(1, 0, 1), root_node, a, "80")};
  CHECK(s.exported().nodes.size() == 1);
  s.ops.push_back(make_insert(S::k(2, 0, 1), root_node, b, "80"));  // same dot, other content
  CHECK_THROWS_AS(s.exported(), std::invalid_argument);
  S bad;
  bad.ops = {make_insert(S::k(1, 0, 0), root_node, a, "80")};
  CHECK_THROWS_AS(bad.exported(), std::invalid_argument);
}

TEST_CASE("export invariant checker reports each kind of broken export", "[reference]") {
  canonical_export good;
  good.nodes = {{a, root_node, bytes("80"), false, std::nullopt},
                {b, a, bytes("80"), false, std::nullopt},
                {c, a, bytes("90"), false, std::nullopt}};
  good.children = {{root_node, {a}}, {a, {b, c}}};
  REQUIRE_FALSE(export_invariant_violation(good));

  auto unsorted = good;
  unsorted.children[1].second = {c, b};
  CHECK(export_invariant_violation(unsorted));
  auto twice = good;
  twice.children[0].second = {a, a};
  CHECK(export_invariant_violation(twice));
  auto missing = good;
  missing.children[1].second = {b};
  CHECK(export_invariant_violation(missing));
  auto tomb = good;
  tomb.nodes[2].tombstoned = true;
  CHECK(export_invariant_violation(tomb));
  auto cyclic = good;
  cyclic.nodes[0].parent = b;
  cyclic.children = {{root_node, {}}, {a, {b, c}}, {b, {a}}};
  CHECK(export_invariant_violation(cyclic));
  auto wrong_parent = good;
  wrong_parent.children = {{root_node, {a, b}}, {a, {c}}};
  CHECK(export_invariant_violation(wrong_parent));
  auto no_root = good;
  no_root.children.erase(no_root.children.begin());
  CHECK(export_invariant_violation(no_root));
  auto unordered_rows = good;
  std::swap(unordered_rows.nodes[0], unordered_rows.nodes[1]);
  CHECK(export_invariant_violation(unordered_rows));
}

TEMPLATE_TEST_CASE("reference property: order, batching and duplicates do not change the fold", "[reference][property]",
                   default_op_key, compact_op_key) {
  rc::prop("same export for any delivery order", [] {
    const auto h = *gen_history<TestType>();
    const auto d = *gen_delivery<TestType>(h.ops);
    const auto expected = reference_fold(h.ops);
    rc_assert_invariants(expected, "reference export");
    rc_assert_same_export(expected, reference_fold(flatten(d)), "reference fold of the shuffled delivery");
  });
}

TEST_CASE("reference property: default and compact keys fold the same script identically", "[reference][property]") {
  rc::prop("same export for both key types", [] {
    const unsigned replicas = *rc::gen::inRange(2u, 6u);
    const unsigned nodes = *rc::gen::inRange(3u, 13u);
    const auto steps = *gen_history_script();
    const auto wide = interpret_history<default_op_key>(replicas, nodes, steps);
    const auto compact = interpret_history<compact_op_key>(replicas, nodes, steps);
    RC_ASSERT(wide.ops.size() == compact.ops.size());
    rc_assert_same_export(reference_fold(wide.ops), reference_fold(compact.ops), "compact vs default keys");
  });
}
