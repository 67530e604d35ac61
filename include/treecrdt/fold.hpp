#pragma once
// The fold (SPEC §5) as free functions over any MaterializedStore: applying every op of the log in
// ascending key order to the initial store gives the materialized state. Each function is one
// numbered rule; none of them allocates beyond what the store needs.
#include "op.hpp"
#include "store/store_concepts.hpp"

namespace treecrdt {

/// Rule 1, cycle(n, p): would placing n under p make n its own ancestor?
/// The walk may simply run until a node without a parent: ROOT and TRASH never have one, and n is
/// never ROOT or TRASH (validation), so stopping there gives the rule's "false" exactly.
/// Complexity: O(depth of p).
/// A store may provide its own `would_cycle(n, p)` with the same meaning (e.g. over a denser
/// layout); it is used when present.
template <MaterializedStore Store>
[[nodiscard]] bool would_cycle(const Store& s, typename Store::handle n, typename Store::handle p) {
  if constexpr (requires {
                  { s.would_cycle(n, p) } -> std::convertible_to<bool>;
                }) {
    return s.would_cycle(n, p);
  } else {
    for (auto x = p; x != typename Store::handle{}; x = s.parent_of(x))
      if (x == n) return true;
    return false;
  }
}

/// The dots of rules 2 and 3: d joins last_change of n, of the new parent p (unless p is TRASH, for
/// a move) and, for a move, of the old parent (unless none or TRASH). A store may record them its
/// own way with `record_relocation(n, old_parent, p, replica, counter, moved)` when every S(x) of
/// rule 6 comes out the same (table_store keeps a parent's share with the child that brought it).
template <MaterializedStore Store>
void record_relocation(Store& s, typename Store::handle n, typename Store::handle old_parent, typename Store::handle p,
                       const replica_of<typename Store::key_type>& replica, std::uint64_t counter, bool moved) {
  if constexpr (requires { s.record_relocation(n, old_parent, p, replica, counter, moved); }) {
    s.record_relocation(n, old_parent, p, replica, counter, moved);
  } else {
    s.record_change(n, replica, counter);
    if (moved && old_parent != typename Store::handle{} && s.id_of(old_parent) != trash_node)
      s.record_change(old_parent, replica, counter);
    if (!moved || s.id_of(p) != trash_node) s.record_change(p, replica, counter);
  }
}

/// Rule 5: last-writer-wins payload.
template <MaterializedStore Store>
void apply_payload(Store& s, typename Store::handle n, const std::optional<bytes>& value,
                   const typename Store::key_type& key) {
  const auto& writer = s.payload_writer(n);
  if (writer && !(*writer < key)) return;
  s.set_payload(n, value, key);
}

/// Applies one op (rules 0–5). Requires: `o` is valid (validation_error(o) is empty), and its key is
/// greater than every op already folded into `s`. With a store that reports needs_rebuild() after
/// it, the state is not exact until the log is folded again from the start (fold_from_start does).
/// Complexity: O(depth + log siblings) for insert/move, O(|known_state|) for delete/tombstone.
template <MaterializedStore Store>
void apply_op(Store& s, const op<typename Store::key_type>& o) {
  using handle = typename Store::handle;
  const auto& replica = o.key.replica;
  const std::uint64_t counter = o.key.counter;
  if constexpr (requires { s.begin_op(o.key); }) s.begin_op(o.key);  // journal, version tracking
  switch (o.kind) {
    case op_kind::insert: {  // rule 2
      const handle n = s.ensure(o.node);
      const handle p = s.ensure(o.parent);
      if (p != n && !would_cycle(s, n, p)) {
        const handle old_parent = s.parent_of(n);
        s.attach(n, p, o.order_key);
        record_relocation(s, n, old_parent, p, replica, counter, false);
      }
      if (o.payload) apply_payload(s, n, o.payload, o.key);
      return;
    }
    case op_kind::move: {  // rule 3
      const handle n = s.ensure(o.node);
      const handle p = s.ensure(o.parent);
      const bool to_trash = o.parent == trash_node;
      if (!to_trash && (p == n || would_cycle(s, n, p))) return;
      const handle old_parent = s.parent_of(n);
      s.attach(n, p, o.order_key);
      record_relocation(s, n, old_parent, p, replica, counter, true);
      return;
    }
    case op_kind::delete_:
    case op_kind::tombstone: {  // rule 4
      const handle n = s.ensure(o.node);
      s.merge_deleted(n, replica, counter, o.known_state ? &*o.known_state : nullptr);
      return;
    }
    case op_kind::payload:  // rule 5
      apply_payload(s, s.ensure(o.node), o.payload, o.key);
      return;
  }
}

/// Folds `sorted_ops` (ascending key, distinct) into `s` from the initial state: the definition of
/// the materialized state. A store may ask for a second fold from the start (needs_rebuild(): a
/// delete declared gaps it had not tracked); this does it, so the result is always exact.
/// Complexity: O(ops × fold step), twice when a rebuild is needed.
template <MaterializedStore Store, class Ops>
void fold_from_start(Store& s, const Ops& sorted_ops) {
  for (;;) {
    s.clear();
    for (const auto& o : sorted_ops) apply_op(s, o);
    if constexpr (requires { s.needs_rebuild(); }) {
      if (s.needs_rebuild()) continue;
    }
    return;
  }
}

}  // namespace treecrdt
