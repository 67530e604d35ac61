#pragma once
// The MaterializedStore concept: the tree state the fold writes (SPEC §5) and the reads (§6).
// Stores work with `handle`s (cheap node references) so the fold never looks a node up twice.
//
// Structure (used by the fold; `h`, `p` are non-null handles)
//   ensure(id) -> handle          the node, created as a placeholder if absent (rule 0). O(1) avg.
//   find(id) -> handle            the node or a null handle (`handle{}`). O(1) avg.
//   parent_of(h) -> handle        physical parent or null. O(1).
//   id_of(h) -> node_id
//   attach(h, p, order_key)       detach h from its parent, place it under p (TRASH keeps no
//                                 child list). O(log k) in the number of siblings.
//   record_change(h, replica, counter)            add a dot to last_change(h)
//   merge_deleted(h, replica, counter, known)     deleted_at(h) ∪= {dot} ∪ *known (known may be null)
//   payload_writer(h) -> const std::optional<Key>&
//   set_payload(h, optional<bytes>, writer key)
// Reads
//   is_tombstoned(h) -> bool      rule 6; amortized cheap (a store keeps whatever summary it likes)
//   known_state_for_delete(h) -> version vector  what a local delete of h records (SPEC §7): S(n),
//                                 or a superset of it made only of dots folded into the store
//   for_each_child(h, f)          visible children in sibling order (f gets a handle)
//   sibling_bounds(p, position, moving) -> pair of optional keys around the insertion point
//   payload(h), order_key(h) -> const std::optional<bytes>&
//   for_each_node(f), node_count()
// Snapshots (checkpoints)
//   snapshot(std::string& out) appends a self-contained encoding; restore(string_view) replaces the
//   whole state with it and throws detail::decode_failure on malformed input; clear() resets to the
//   initial state (only ROOT and TRASH).
//
// Optional capabilities, detected with the concepts at the end of this file (memory_store has all):
//   begin_op(key)                 called by apply_op before each op (journals, version tracking)
//   record_relocation(n, old_parent, p, replica, counter, moved)   records the dots of rules 2 and 3
//                                 its own way instead of record_change on each node (fold.hpp), as
//                                 long as every S(x) of rule 6 comes out the same (table_store)
//   RewindableStore               an undo journal: rewind_cost(k), rewind_before(k), start_journal
//   DeltaSnapshotStore            incremental checkpoints: mark_checkpoint, snapshot_since, restore_delta
//   needs_rebuild()               the store cannot stay exact without a fold from the start
//   applied_version()             the dots of every op folded into the store
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "../bytes.hpp"
#include "../head_position.hpp"
#include "../node_id.hpp"
#include "../op_key_concepts.hpp"
#include "../version_vector.hpp"

namespace treecrdt {

/// Where a local insert or move places a node among its new siblings (SPEC §7).
struct position {
  enum class where : std::uint8_t { first, last, after, before };
  where at = where::last;
  node_id sibling{};

  [[nodiscard]] static constexpr position first() noexcept { return {where::first, {}}; }
  [[nodiscard]] static constexpr position last() noexcept { return {where::last, {}}; }
  [[nodiscard]] static constexpr position after(node_id s) noexcept { return {where::after, s}; }
  [[nodiscard]] static constexpr position before(node_id s) noexcept { return {where::before, s}; }
};

namespace detail {
template <class H>
struct handle_sink {
  void operator()(H) const noexcept {}
};
}  // namespace detail

// (kept as written: clang-format 14 cannot indent requires-expression bodies)
// clang-format off
template <class S>
concept MaterializedStore =
    OpKey<typename S::key_type> && std::default_initializable<S> && std::movable<S> &&
    requires(S& s, const S& cs, node_id id, typename S::handle h, const bytes& k,
             const replica_of<typename S::key_type>& r, std::uint64_t c,
             const version_vector<replica_of<typename S::key_type>>* known, std::optional<bytes> value,
             const typename S::key_type& key, std::string& out, std::string_view in, position pos) {
      typename S::handle;
      requires std::equality_comparable<typename S::handle>;
      { s.ensure(id) } -> std::same_as<typename S::handle>;
      { cs.find(id) } -> std::same_as<typename S::handle>;
      { cs.parent_of(h) } -> std::same_as<typename S::handle>;
      { cs.id_of(h) } -> std::same_as<node_id>;
      s.attach(h, h, k);
      s.record_change(h, r, c);
      s.merge_deleted(h, r, c, known);
      { cs.payload_writer(h) } -> std::same_as<const std::optional<typename S::key_type>&>;
      s.set_payload(h, std::move(value), key);
      { cs.is_tombstoned(h) } -> std::same_as<bool>;
      { cs.known_state_for_delete(h) } -> std::same_as<version_vector<replica_of<typename S::key_type>>>;
      cs.for_each_child(h, detail::handle_sink<typename S::handle>{});
      { cs.sibling_bounds(h, pos, h) } -> std::same_as<std::pair<std::optional<bytes>, std::optional<bytes>>>;
      { cs.payload(h) } -> std::same_as<const std::optional<bytes>&>;
      { cs.order_key(h) } -> std::same_as<const std::optional<bytes>&>;
      cs.for_each_node(detail::handle_sink<typename S::handle>{});
      { cs.node_count() } -> std::same_as<std::size_t>;
      cs.snapshot(out);
      s.restore(in);
      s.clear();
    };
// clang-format on

}  // namespace treecrdt

namespace treecrdt {

// (kept as written: clang-format 14 cannot indent requires-expression bodies)
// clang-format off

/// A store that keeps an exact undo record of the ops it applied (SPEC §8 rewind).
///   start_journal(head, limit)   forget the journal; the store is at `head`; journal up to `limit` ops
///   head() -> head_position      where begin_op calls have brought the store since then
///   rewind_cost(k) -> optional<uint64_t>  ops rewind_before(k) would undo; nullopt if the journal
///                                does not reach back to every applied op with key ≥ k. O(log journal)
///   rewind_before(k) -> head_position     undo those ops, newest first; the head reached.
///                                Complexity: O(what they changed). Requires rewind_cost(k).
template <class S>
concept RewindableStore =
    MaterializedStore<S> &&
    requires(S& s, const S& cs, const typename S::key_type& k, const head_position<typename S::key_type>& h,
             std::uint64_t n) {
      s.begin_op(k);
      s.start_journal(h, n);
      { cs.head() } -> std::convertible_to<head_position<typename S::key_type>>;
      { cs.rewind_cost(k) } -> std::same_as<std::optional<std::uint64_t>>;
      { s.rewind_before(k) } -> std::same_as<head_position<typename S::key_type>>;
    };

/// A store that can write and apply deltas (SPEC §8 incremental checkpoints).
///   mark_checkpoint() -> mark     the state now; later changes are "since" it
///   can_snapshot_since(mark)      the store still knows every change since the mark
///   snapshot_since(mark, out)     append the changes since mark: O(changed), not O(tree)
///   restore_delta(in)             apply such a delta over the state at its mark; throws
///                                 detail::decode_failure (store cleared) when malformed
///   forget_changes_through(mark)  no delta over marks ≤ this one will be asked for
template <class S>
concept DeltaSnapshotStore =
    MaterializedStore<S> && requires(S& s, const S& cs, std::uint64_t mark, std::string& out, std::string_view in) {
      { s.mark_checkpoint() } -> std::same_as<std::uint64_t>;
      { cs.can_snapshot_since(mark) } -> std::same_as<bool>;
      cs.snapshot_since(mark, out);
      s.restore_delta(in);
      s.forget_changes_through(mark);
    };

/// A store whose state lives in the storage's database (table_store.hpp): the document binds it to
/// the storage once (`bind(storage)`) and it is written in the same transactions as the log. It is
/// its own checkpoint: the document writes none for it and restores none into it.
///   reload_state()   drop what is cached and read the persisted state (head() included). O(1)
///   flush()          write every change into the open transaction; called before each commit
///   discard()        drop unwritten changes after a rollback; reload_state() must follow
template <class S>
concept PersistentStore = RewindableStore<S> && requires(S& s) {
      s.reload_state();
      s.flush();
      s.discard();
    };
// clang-format on

}  // namespace treecrdt
