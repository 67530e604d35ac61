// Properties of the memory store's undo journal and delta snapshots (SPEC §8 rewind and incremental
// checkpoints), checked against the reference fold: rewinding to any key gives the fold of the ops
// before it, redoing gives the store back byte for byte, and a delta over any mark restores the state.
#include <rapidcheck/catch.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "test_helpers.hpp"
#include "treecrdt/checkpoint_codec.hpp"
#include "treecrdt/fold.hpp"
#include "treecrdt/reads.hpp"
#include "treecrdt/store/memory_store.hpp"

using namespace treecrdt;
using namespace treecrdt_test;

namespace {

template <class Key>
std::vector<op<Key>> sorted_ops(const history<Key>& h) {
  std::vector<op<Key>> ops = h.ops;
  std::sort(ops.begin(), ops.end(), [](const op<Key>& a, const op<Key>& b) { return a.key < b.key; });
  return ops;
}

/// Folds `ops` into a fresh store journaling everything. A delete that declares untracked gaps makes
/// the first fold inexact; the store keeps the tracked set across clear(), so a second fold is exact.
template <class Key>
void fold_exactly(memory_store<Key>& s, const std::vector<op<Key>>& ops, std::size_t journal) {
  for (int pass = 0; pass < 2; ++pass) {
    s.clear();
    s.start_journal({}, journal);
    for (const auto& o : ops) apply_op(s, o);
    if (!s.needs_rebuild()) return;
  }
  RC_FAIL("a second fold from the start still needs a rebuild");
}

template <class Key>
std::string snapshot_of(const memory_store<Key>& s) {
  std::string out;
  s.snapshot(out);
  return out;
}

template <class Key>
std::vector<op<Key>> prefix(const std::vector<op<Key>>& ops, std::size_t n) {
  return std::vector<op<Key>>(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace

TEMPLATE_TEST_CASE("store property: rewind gives the fold of the ops before the frontier, and redo restores every byte",
                   "[store][property][rewind]", default_op_key, compact_op_key) {
  using K = TestType;
  rc::prop("rewind_before(k) == reference_fold(ops < k); redo == before", [] {
    const auto ops = sorted_ops(*gen_history<K>());
    RC_PRE(!ops.empty());
    memory_store<K> s;
    fold_exactly(s, ops, ops.size());
    const std::string before = snapshot_of(s);
    const canonical_export exported = export_canonical(s);
    const auto cut = *rc::gen::inRange<std::size_t>(0, ops.size());
    RC_ASSERT(s.rewind_cost(ops[cut].key) == std::optional<std::uint64_t>(ops.size() - cut));
    const auto head = s.rewind_before(ops[cut].key);
    RC_ASSERT(head.seq == cut);
    RC_ASSERT(head.key == (cut == 0 ? std::nullopt : std::optional<K>(ops[cut - 1].key)));
    rc_assert_same_export(reference_fold(prefix(ops, cut)), export_canonical(s),
                          "after rewinding to op " + std::to_string(cut));
    for (std::size_t i = cut; i < ops.size(); ++i) apply_op(s, ops[i]);
    RC_ASSERT(snapshot_of(s) == before);
    RC_ASSERT(export_canonical(s) == exported);
  });
}

TEMPLATE_TEST_CASE("store property: a bounded journal rewinds exactly as far as it reaches",
                   "[store][property][rewind]", default_op_key, compact_op_key) {
  using K = TestType;
  rc::prop("rewind_cost is nullopt beyond the journal, exact within it", [] {
    const auto ops = sorted_ops(*gen_history<K>());
    RC_PRE(ops.size() >= 2);
    const auto journal = *rc::gen::inRange<std::size_t>(1, ops.size());
    memory_store<K> s;
    fold_exactly(s, ops, journal);
    const auto cut = *rc::gen::inRange<std::size_t>(0, ops.size());
    const auto cost = s.rewind_cost(ops[cut].key);
    // The journal holds the newest `journal` ops: it reaches op `cut` iff cut ≥ size − journal.
    RC_ASSERT(cost.has_value() == (cut >= ops.size() - journal));
    if (!cost) return;
    RC_ASSERT(*cost == ops.size() - cut);
    (void)s.rewind_before(ops[cut].key);
    rc_assert_same_export(reference_fold(prefix(ops, cut)), export_canonical(s), "after a bounded rewind");
  });
}

TEMPLATE_TEST_CASE("store property: a delta over any earlier mark restores the state byte for byte",
                   "[store][property][delta]", default_op_key, compact_op_key) {
  using K = TestType;
  rc::prop("restore(full at mark) + restore_delta(since mark) == the store", [] {
    const auto ops = sorted_ops(*gen_history<K>());
    RC_PRE(!ops.empty());
    // Learn the tracked gap set first, so both folds below are exact.
    memory_store<K> s;
    fold_exactly(s, ops, ops.size());
    s.clear();
    s.start_journal({}, ops.size());
    const auto a = *rc::gen::inRange<std::size_t>(0, ops.size() + 1);
    for (std::size_t i = 0; i < a; ++i) apply_op(s, ops[i]);
    const std::string base = snapshot_of(s);
    const std::uint64_t mark = s.mark_checkpoint();
    // Later marks split what follows into several epochs; a delta over the first spans them all.
    const auto later_marks =
        *rc::gen::container<std::vector<bool>>(ops.size() - a, rc::gen::weightedElement<bool>({{1, true}, {7, false}}));
    for (std::size_t i = a; i < ops.size(); ++i) {
      apply_op(s, ops[i]);
      if (later_marks[i - a]) (void)s.mark_checkpoint();
    }
    if (*rc::gen::arbitrary<bool>() && a < ops.size()) {  // a rewind and redo after the mark
      const auto cut = *rc::gen::inRange<std::size_t>(a, ops.size());
      (void)s.rewind_before(ops[cut].key);
      for (std::size_t i = cut; i < ops.size(); ++i) apply_op(s, ops[i]);
    }
    RC_ASSERT(s.can_snapshot_since(mark));
    std::string delta;
    s.snapshot_since(mark, delta);
    memory_store<K> t;
    t.restore(base);
    t.restore_delta(delta);
    RC_ASSERT(snapshot_of(t) == snapshot_of(s));
    rc_assert_same_export(export_canonical(s), export_canonical(t), "restored from base + delta");
  });
}

TEMPLATE_TEST_CASE("store property: staged delta records are the bytes the node walk writes",
                   "[store][property][delta]", default_op_key, compact_op_key) {
  using K = TestType;
  rc::prop("snapshot_since(newest mark) with staging == without", [] {
    const auto ops = sorted_ops(*gen_history<K>());
    RC_PRE(!ops.empty());
    memory_store<K> learn;  // the tracked gap set first, so the folds below stay exact
    fold_exactly(learn, ops, ops.size());
    memory_store<K> staged;
    memory_store<K> walked;
    walked.set_delta_staging(false);
    // A small limit makes an epoch stop staging part-way: its delta then walks, same bytes. These
    // trees are small: staging is asked for whatever their size.
    staged.set_delta_staging(true, *rc::gen::element<std::size_t>(0, 100, 1000, std::size_t{1} << 30), 0);
    for (memory_store<K>* s : {&staged, &walked}) {
      fold_exactly(*s, ops, ops.size());
      s->clear();
      s->start_journal({}, ops.size());
    }
    // Marks, ops, rewinds and redos at random points (a rewind never crosses the newest mark: a
    // document drops such a link); at random steps both stores write the same delta over their
    // newest mark, and it restores the state over the snapshot taken at the mark.
    std::size_t applied = 0;
    std::size_t at_mark = 0;
    std::uint64_t mark_staged = staged.mark_checkpoint();
    std::uint64_t mark_walked = walked.mark_checkpoint();
    std::string base = snapshot_of(staged);
    const auto steps = *rc::gen::inRange<std::size_t>(1, 3 * ops.size() + 2);
    for (std::size_t step = 0; step < steps; ++step) {
      const int what = *rc::gen::inRange(0, 8);
      if (what == 0) {
        mark_staged = staged.mark_checkpoint();
        mark_walked = walked.mark_checkpoint();
        base = snapshot_of(staged);
        at_mark = applied;
      } else if (what == 1 && applied > at_mark) {
        const auto cut = *rc::gen::inRange<std::size_t>(at_mark, applied);
        (void)staged.rewind_before(ops[cut].key);
        (void)walked.rewind_before(ops[cut].key);
        applied = cut;
      } else if (applied < ops.size()) {
        apply_op(staged, ops[applied]);
        apply_op(walked, ops[applied]);
        ++applied;
      }
      if (*rc::gen::inRange(0, 4) != 0) continue;
      std::string a;
      std::string b;
      staged.snapshot_since(mark_staged, a);
      walked.snapshot_since(mark_walked, b);
      RC_ASSERT(a == b);
      memory_store<K> t;
      t.restore(base);
      t.restore_delta(a);
      RC_ASSERT(snapshot_of(t) == snapshot_of(staged));
    }
  });
}

TEMPLATE_TEST_CASE("store: a delta is never larger than what changed", "[store][delta]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  memory_store<K> s;
  s.start_journal({}, 100);
  for (std::uint64_t n = 1; n <= 1000; ++n)
    apply_op(s, make_insert(make_key<K>(n, 1, n), root_node, nid(n), bytes("k"), bytes("payload")));
  std::string full;
  s.snapshot(full);
  const std::uint64_t mark = s.mark_checkpoint();
  for (std::uint64_t n = 1001; n <= 1010; ++n)
    apply_op(s, make_payload(make_key<K>(n, 1, n), nid(n - 1000), bytes("new")));
  std::string delta;
  s.snapshot_since(mark, delta);
  CHECK(delta.size() * 50 < full.size());  // 10 nodes of 1,002
  CHECK(s.can_snapshot_since(mark));

  // Only the changed part of each node is written: id, parts, flags, payload and its writer.
  const std::uint64_t quiet = s.mark_checkpoint();
  std::string empty;
  s.snapshot_since(quiet, empty);
  const std::uint64_t payloads = s.mark_checkpoint();
  for (std::uint64_t n = 1011; n <= 1020; ++n)
    apply_op(s, make_payload(make_key<K>(n, 1, n), nid(n - 1000), bytes("new")));
  std::string payload_delta;
  s.snapshot_since(payloads, payload_delta);
  CHECK(payload_delta.size() - empty.size() <= 10 * 32);  // a whole record is 60 B and more

  // A record of part of a node cannot create it: over a base without the node it is corrupt.
  memory_store<K> fresh;
  CHECK_THROWS_WITH(fresh.restore_delta(payload_delta), Catch::Contains("base lacks"));
  CHECK(fresh.node_count() == 2);

  s.clear();
  CHECK_FALSE(s.can_snapshot_since(mark));  // a new lineage: no delta over the old mark
}
