#pragma once
// What the checkpoint harnesses share with the program that writes their seeds
// (seeds.cpp): the head every fuzzed checkpoint is filed under, sample stores to
// snapshot, and the checks run on a store that a checkpoint restored.
//
// The checkpoint format is the library's business (checkpoint_codec.hpp) and may change, so the
// seeds are generated at test time from the current code rather than committed.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "treecrdt/checkpoint_codec.hpp"
#include "treecrdt/fold.hpp"
#include "treecrdt/op.hpp"
#include "treecrdt/reads.hpp"
#include "treecrdt/store/memory_store.hpp"

namespace treecrdt_fuzz {

using checkpoint_key = treecrdt::default_op_key;
using checkpoint_store = treecrdt::memory_store<checkpoint_key>;

inline const checkpoint_key checkpoint_head{1000, treecrdt::bytes("h"), 17};
inline constexpr std::uint64_t checkpoint_seq = 42;

[[nodiscard]] inline treecrdt::node_id fixture_node(std::uint64_t n) { return treecrdt::node_id{0, n}; }

/// Deterministic op histories covering every op kind, placeholders, TRASH, cycles refused by the
/// fold, and deletes kept alive or not by what they knew.
[[nodiscard]] inline std::vector<std::vector<treecrdt::op<checkpoint_key>>> sample_histories() {
  using namespace treecrdt;
  using K = checkpoint_key;
  const auto k = [](std::uint64_t lamport, char r, std::uint64_t counter) { return K{lamport, bytes(1, r), counter}; };
  const auto n = fixture_node;
  std::vector<std::vector<op<K>>> out;
  out.push_back({});
  out.push_back({make_insert(k(1, 'a', 1), root_node, n(1), bytes("\x80"))});
  out.push_back({make_insert(k(1, 'a', 1), root_node, n(1), bytes("\x80"), bytes("one")),
                 make_insert(k(2, 'a', 2), n(1), n(2), bytes("\x80")),
                 make_insert(k(2, 'b', 1), n(1), n(3), bytes("\x7f"), bytes("three")),
                 make_move(k(3, 'b', 2), n(2), n(3), bytes("\x81")),
                 make_move(k(3, 'a', 3), n(3), n(2), bytes("\x81")),  // would form a cycle: skipped
                 make_payload(k(4, 'a', 4), n(2), bytes("two")), make_payload(k(4, 'b', 3), root_node, bytes("r"))});
  {
    version_vector<bytes> seen;
    seen.add_range(bytes("a"), 1, 2);
    version_vector<bytes> partial;
    partial.observe(bytes("a"), 1);
    out.push_back({make_insert(k(1, 'a', 1), root_node, n(1), bytes("\x80")),
                   make_insert(k(2, 'a', 2), n(1), n(2), bytes("\x80")),
                   make_insert(k(3, 'b', 1), n(1), n(4), bytes("\x90")),
                   make_delete(k(4, 'c', 1), n(2), seen),                   // saw everything: tombstoned
                   make_delete(k(4, 'c', 2), n(1), partial),                // missed a's insert: alive
                   make_tombstone(k(5, 'c', 3), n(4)),                      // no known_state
                   make_move(k(6, 'a', 3), n(5), trash_node, bytes()),      // placeholder moved to TRASH
                   make_move(k(7, 'b', 2), n(6), n(7), bytes("\x80\x01")),  // two placeholders
                   make_payload(k(8, 'c', 4), n(8), std::nullopt)});
  }
  {
    std::vector<op<K>> random;
    std::uint64_t x = 0x9e3779b97f4a7c15ULL;
    const auto next = [&x] {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    std::uint64_t counters[3] = {1, 1, 1};
    for (std::uint64_t i = 1; i <= 60; ++i) {
      const auto r = static_cast<std::size_t>(next() % 3);
      const K key = k(i, static_cast<char>('a' + r), counters[r]++);
      const node_id node = n(1 + next() % 12);
      const node_id parent = next() % 4 == 0 ? root_node : n(1 + next() % 12);
      const bytes order(1, static_cast<char>(next() % 256));
      switch (next() % 5) {
        case 0: random.push_back(make_insert(key, parent, node, order, bytes(next() % 3, 'p'))); break;
        case 1: random.push_back(make_move(key, node, next() % 7 == 0 ? trash_node : parent, order)); break;
        case 2: {
          version_vector<bytes> known;
          known.add_range(bytes("a"), 1, next() % 20);
          known.observe(bytes("b"), 1 + next() % 20);
          random.push_back(make_delete(key, node, known));
          break;
        }
        case 3: random.push_back(make_tombstone(key, node)); break;
        default: random.push_back(make_payload(key, node, bytes(next() % 4, 'v'))); break;
      }
    }
    out.push_back(std::move(random));
  }
  return out;
}

[[nodiscard]] inline checkpoint_store fold_store(const std::vector<treecrdt::op<checkpoint_key>>& history) {
  auto ops = history;
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  checkpoint_store s;
  treecrdt::fold_from_start(s, ops);
  return s;
}

/// The delta harness's base and its head: the random sample history's first half, folded. A delta
/// over it is filed one position later.
inline constexpr std::size_t delta_base_ops = 30;
inline const checkpoint_key delta_head{1001, treecrdt::bytes("h"), 18};
inline constexpr std::uint64_t delta_seq = 43;
[[nodiscard]] inline std::vector<treecrdt::op<checkpoint_key>> delta_history() {
  auto ops = sample_histories().back();
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return ops;
}
[[nodiscard]] inline checkpoint_store delta_base_store() {
  const auto ops = delta_history();
  return fold_store({ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(delta_base_ops)});
}
[[nodiscard]] inline treecrdt::checkpoint_info<checkpoint_key> delta_base_info() {
  return {1, checkpoint_head, checkpoint_seq, 0, std::nullopt};
}

/// What must hold for any store a checkpoint restored, whatever the bytes were: reads terminate
/// without a sanitizer report, a snapshot of it restores to the same tree, and further ops fold
/// onto it the same way as onto that copy.
inline void exercise_restored(checkpoint_store& s) {
  using namespace treecrdt;
  const canonical_export before = export_canonical(s);
  std::string snap;
  s.snapshot(snap);
  checkpoint_store copy;
  copy.restore(snap);
  FUZZ_CHECK(export_canonical(copy) == before);
  std::vector<node_id> ids;
  for (const auto& row : before.nodes) {
    if (ids.size() == 4) break;
    ids.push_back(row.node);
    (void)children_of(s, row.node);
    (void)parent_of(s, row.node);
    (void)payload_of(s, row.node);
    (void)is_tombstoned(s, row.node);
  }
  ids.push_back(fixture_node(999));
  std::uint64_t lamport = 2000;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const checkpoint_key k{lamport++, bytes("z"), i + 1};
    const node_id target = ids[i];
    const node_id parent = ids[(i + 1) % ids.size()];
    const auto o = i % 2 == 0 ? make_move(k, target, parent, bytes("\x80")) : make_delete(k, target, {});
    apply_op(s, o);
    apply_op(copy, o);
  }
  FUZZ_CHECK(export_canonical(s) == export_canonical(copy));
}

}  // namespace treecrdt_fuzz
