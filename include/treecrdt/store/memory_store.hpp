#pragma once
// The default materialized store: nodes in a stable deque, a hash index by id, and per node an
// intrusive red-black tree of its children ordered by (order_key, node id). Attach/detach are
// O(log k) in the number of siblings and never copy or scan a sibling list; parent walks run over a
// dense array of parent slots.
//
// Size O(tree + replicas), not O(history). Rule 6 compares deleted_at(n) with S(n), the dots of n's
// subtree. The store keeps, per node and replica, only the greatest dot of last_change (a
// `change_summary`). That decides rule 6 exactly whenever deleted_at has no gap: every dot of S(n)
// is then in deleted_at iff the greatest one is. Where some deleted_at does declare gaps (dots below
// its greatest that its author had not seen), the store tracks those gap dots exactly: the union of
// every gap ever declared is `tracked_gaps_`, and each node keeps last_change ∩ tracked_gaps_ in
// `exact_dots`. An untracked dot is then in deleted_at iff it is ≤ its greatest dot, and tracked
// ones are checked one by one. A delete that declares a gap not tracked yet cannot be exact about
// the dots already folded: the store widens the tracked set to every dot of that replica from the
// gap on, flags `needs_rebuild()`, and catch-up folds the log again from the start — once per
// replica, not per delete. Local deletes record gap-free context (SPEC §7) unless the log itself
// has gaps, so this happens with foreign deletes that declare gaps, and tombstones without
// known_state; only the dots of such replicas then cost history-sized memory.
//
// Tombstone summary: each deleted node caches its verdict; any change that can alter S of a node
// clears the cached verdict of every deleted ancestor on the way to the root — O(depth), skipped
// while no node has a deleted_at. A verdict is recomputed (one subtree walk) only when read again.
//
// Undo journal (SPEC §8 rewind): with a journal limit n > 0, the store records for each of the last
// n ops what it changed (a new node, a parent and key before, a summary entry before, a tracked dot
// added, deleted_at before, payload and writer before), so rewind_before(k) undoes the ops with
// key ≥ k exactly, newest first, in work proportional to what they changed.
//
// Delta snapshots (SPEC §8 incremental checkpoints): every change stamps its node with the current
// epoch; mark_checkpoint() closes an epoch, and snapshot_since(e) writes only the nodes stamped after
// mark e — O(what changed), whatever the tree size.
//
// Staged records: reading the changed nodes back at checkpoint time costs a cache and TLB miss per
// node on a large tree (about 1 µs a node at 100k nodes, more than applying the op). So once a mark
// is taken, a node's delta record is encoded when the next op after its first change in the epoch
// begins, while the node is still in cache, into a buffer for the current epoch; a delta over the
// newest mark re-encodes only the nodes changed again since (often-changed nodes, likely cached)
// and copies the bytes (in the order the nodes were first changed, byte for byte what the node walk
// of one epoch writes; with no garbage the buffer is the delta's body as it is, one copy). A re-encoded
// node's older record is garbage; the buffer is compacted when garbage exceeds the live records. Deltas spanning
// several epochs take the node walk, and so does an epoch whose records outgrow a limit (64 MB by default: a long
// replay between two marks) or that began on a tree of fewer than 4,096 nodes (cached whole: no miss to avoid).
#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <boost/intrusive/set.hpp>

#include "../detail/binary.hpp"
#include "../detail/ring.hpp"
#include "../head_position.hpp"
#include "../op_codec.hpp"
#include "rule6.hpp"
#include "store_concepts.hpp"

namespace treecrdt {

template <OpKey Key>
class memory_store {
 public:
  using key_type = Key;
  using replica_type = replica_of<Key>;
  using version_vector_type = version_vector<replica_type>;
  using head_type = head_position<Key>;

 private:
  // Per node, in a dense array by slot: `not_deleted` for nodes without deleted_at, else the cached
  // rule-6 verdict. Walks up the tree read only this array and parent_slots_, never node records.
  enum class tomb_verdict : std::uint8_t { not_deleted, unknown, alive, tombstoned };
  using child_hook = boost::intrusive::set_base_hook<boost::intrusive::link_mode<boost::intrusive::normal_link>,
                                                     boost::intrusive::optimize_size<true>>;

  struct node_rec;
  struct sibling_order {
    bool operator()(const node_rec& a, const node_rec& b) const noexcept {
      if (const int c = a.order_key->compare(*b.order_key); c != 0) return c < 0;
      return a.id < b.id;
    }
  };
  using child_set =
      boost::intrusive::set<node_rec, boost::intrusive::base_hook<child_hook>, boost::intrusive::compare<sibling_order>,
                            boost::intrusive::constant_time_size<false>>;

  /// The greatest dot of one replica in a node's last_change; replicas are interned (replicas_).
  struct change_entry {
    std::uint32_t replica;
    std::uint64_t max;
  };
  using change_summary = boost::container::small_vector<change_entry, 4>;

  struct node_rec : child_hook {
    node_rec(node_id i, std::uint32_t pos) : id(i), slot(pos) {}
    node_id id;
    std::uint32_t slot;  // position in nodes_ and in the per-slot arrays
    node_rec* parent = nullptr;
    node_id parent_id{};  // parent->id, kept here: a snapshot then never visits the parent's record
    std::optional<bytes> order_key;
    child_set children;
    change_summary last_change;                       // sorted by replica index
    std::unique_ptr<version_vector_type> exact_dots;  // last_change ∩ tracked_gaps_; rare
    std::unique_ptr<version_vector_type> deleted_at;  // rare: keep nodes small
    std::optional<bytes> payload;
    std::optional<Key> payload_writer;
  };

  // ---- undo journal records ------------------------------------------------------------------
  enum class step_kind : std::uint8_t { created, attached, summary, exact_dot, deleted, payload };
  struct undo_step {
    step_kind kind;
    std::uint32_t slot;
    std::uint32_t aux;    // attached: old parent slot; summary/exact_dot: replica index
    std::uint64_t value;  // summary: old greatest dot (0: no entry); exact_dot: the counter
  };
  struct undo_heavy {                         // the parts of a step that own memory, in a parallel queue
    std::optional<bytes> text;                // attached: old order key; payload: old value
    std::optional<Key> writer;                // payload: old writer
    std::unique_ptr<version_vector_type> vv;  // deleted: old deleted_at
  };
  struct journaled_op {  // trivially destructible: dropping one touches nothing
    std::uint64_t lamport;
    std::uint64_t counter;
    std::uint32_t replica;      // index into replicas_ (never renumbered while the journal lives)
    std::uint64_t first_step;   // absolute index into the step queue
    std::uint64_t first_heavy;  // absolute index into the heavy queue
  };

 public:
  using handle = node_rec*;

  memory_store() { clear(); }
  memory_store(memory_store&&) noexcept = default;
  memory_store& operator=(memory_store&&) noexcept = default;
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;
  ~memory_store() { unlink_all(); }

  // ---- structure -------------------------------------------------------------------------------

  [[nodiscard]] handle ensure(node_id id) {
    auto [it, inserted] = index_.try_emplace(id, nullptr);
    if (inserted) {
      if (nodes_.size() >= no_parent) {
        index_.erase(it);
        throw std::length_error("memory_store: more than 2^32 - 1 nodes");
      }
      it->second = &nodes_.emplace_back(id, static_cast<std::uint32_t>(nodes_.size()));
      parent_slots_.push_back(no_parent);
      verdicts_.push_back(tomb_verdict::not_deleted);
      node_epoch_.push_back(0);
      node_change_pos_.push_back(0);
      touch(it->second, all_parts);
      record({step_kind::created, it->second->slot, 0, 0});
    }
    return it->second;
  }
  [[nodiscard]] handle find(node_id id) const {
    const auto it = index_.find(id);
    return it == index_.end() ? nullptr : it->second;
  }
  [[nodiscard]] handle parent_of(handle h) const noexcept { return h->parent; }
  [[nodiscard]] node_id id_of(handle h) const noexcept { return h->id; }
  [[nodiscard]] handle root() const noexcept { return root_; }
  [[nodiscard]] handle trash() const noexcept { return trash_; }

  /// Rule 1 over the compact parent array: the same walk as treecrdt::would_cycle, but each step
  /// reads 4 bytes from an array that stays in cache instead of a whole node record. The fold uses
  /// it in place of the generic walk. Complexity: O(depth of p).
  [[nodiscard]] bool would_cycle(handle n, handle p) const noexcept {
    for (std::uint32_t x = p->slot; x != no_parent; x = parent_slots_[x])
      if (x == n->slot) return true;
    return false;
  }

  /// Called by apply_op before each op: the op's dot joins applied_version(), its replica is
  /// interned for the record_change calls that follow, and the journal opens a record for it.
  void begin_op(const Key& key) {
    if (staging_) stage_changed_records(false);
    applied_.observe(key.replica, key.counter);
    op_replica_ = intern(key.replica);
    if (journal_limit_ > 0) {
      if (journal_.empty()) {
        journal_origin_ = head_.key;
        last_dropped_.reset();
      }
      journal_.push_back(
          {key.lamport, key.counter, op_replica_, steps_dropped_ + steps_.size(), heavy_dropped_ + heavy_.size()});
      if (journal_.size() > journal_limit_) drop_oldest_journaled();
    }
    head_.key = key;
    ++head_.seq;
  }

  void attach(handle h, handle p, const bytes& order_key) {
    if (recording()) {
      record({step_kind::attached, h->slot, h->parent ? h->parent->slot : no_parent, 0});
      heavy_.push_back({std::move(h->order_key), std::nullopt, nullptr});
    }
    place(h, p, std::optional<bytes>(order_key));
  }

  void record_change(handle h, const replica_type& r, std::uint64_t counter) {
    const std::uint32_t ri = replicas_[op_replica_] == r ? op_replica_ : intern(r);
    bool changed = false;
    auto it = std::lower_bound(h->last_change.begin(), h->last_change.end(), ri,
                               [](const change_entry& e, std::uint32_t v) { return e.replica < v; });
    if (it == h->last_change.end() || it->replica != ri) {
      record({step_kind::summary, h->slot, ri, 0});
      h->last_change.insert(it, change_entry{ri, counter});
      changed = true;
    } else if (it->max < counter) {
      record({step_kind::summary, h->slot, ri, it->max});
      it->max = counter;
      changed = true;
    }
    if (!tracked_gaps_.empty() && tracked_gaps_.contains(r, counter) &&
        !(h->exact_dots && h->exact_dots->contains(r, counter))) {
      record({step_kind::exact_dot, h->slot, ri, counter});
      if (!h->exact_dots) h->exact_dots = std::make_unique<version_vector_type>();
      h->exact_dots->observe(r, counter);
      changed = true;
    }
    if (changed) {
      touch(h, part_summary);
      invalidate_upwards(h);
    }
  }

  void merge_deleted(handle h, const replica_type& r, std::uint64_t counter, const version_vector_type* known) {
    if (recording()) {
      record({step_kind::deleted, h->slot, 0, 0});
      heavy_.push_back({std::nullopt, std::nullopt,
                        h->deleted_at ? std::make_unique<version_vector_type>(*h->deleted_at) : nullptr});
    }
    if (!h->deleted_at) {
      h->deleted_at = std::make_unique<version_vector_type>();
      ++deleted_nodes_;
    }
    h->deleted_at->observe(r, counter);
    if (known) h->deleted_at->merge(*known);
    // Snapshots write deleted_at by replica index: every replica it names is in the table.
    intern(r);
    if (known)
      for (const auto& entry : known->entries()) intern(entry.first);
    verdicts_[h->slot] = tomb_verdict::unknown;
    touch(h, part_deleted);
    // Rule 6 is exact only if every gap this deleted_at declares is tracked dot by dot.
    if (detail::track_declared_gaps(*h->deleted_at, tracked_gaps_)) rebuild_required_ = true;
  }

  [[nodiscard]] const std::optional<Key>& payload_writer(handle h) const noexcept { return h->payload_writer; }

  void set_payload(handle h, std::optional<bytes> value, const Key& writer) {
    if (recording()) {
      record({step_kind::payload, h->slot, 0, 0});
      heavy_.push_back({std::move(h->payload), std::move(h->payload_writer), nullptr});
    }
    h->payload = std::move(value);
    h->payload_writer = writer;
    touch(h, part_payload);
    invalidate_upwards(h);
  }

  // ---- reads -----------------------------------------------------------------------------------

  [[nodiscard]] bool is_tombstoned(handle h) const {
    if (!h->deleted_at) return false;
    tomb_verdict& v = verdicts_[h->slot];
    if (v == tomb_verdict::unknown) v = deleter_saw_whole_subtree(h) ? tomb_verdict::tombstoned : tomb_verdict::alive;
    return v == tomb_verdict::tombstoned;
  }

  /// The known_state a local delete of h records (SPEC §7): for every replica with a dot in S(h),
  /// every dot of that replica folded into this store. A superset of S(h) made only of dots this
  /// replica has seen, gap-free unless the log itself has gaps. Complexity: O(subtree + replicas).
  [[nodiscard]] version_vector_type known_state_for_delete(handle h) const {
    return detail::delete_context(applied_, replicas_, [&](auto&& on_node) {
      visit_subtree(h, [&](const node_rec& m) {
        on_node(m.last_change, m.payload_writer ? &m.payload_writer->replica : nullptr);
        return true;
      });
    });
  }

  /// The dots of every op folded into this store: when the store is caught up, the log's version.
  [[nodiscard]] const version_vector_type& applied_version() const noexcept { return applied_; }

  template <class F>
  void for_each_child(handle p, F&& f) const {
    for (node_rec& c : p->children)
      if (!is_tombstoned(&c)) f(&c);
  }

  /// Keys of the neighbours around `pos` among p's physical children, ignoring `moving` (the node
  /// being placed, if it is already there). Throws std::invalid_argument if the sibling of an
  /// after/before position is not a child of p, or is `moving` itself.
  [[nodiscard]] std::pair<std::optional<bytes>, std::optional<bytes>> sibling_bounds(handle p, position pos,
                                                                                     handle moving) const {
    auto& kids = p->children;
    const auto skip_fwd = [&](auto it) {
      while (it != kids.end() && &*it == moving) ++it;
      return it;
    };
    const auto key_or_none = [&](auto it) { return it == kids.end() ? std::optional<bytes>{} : it->order_key; };
    const auto before_it = [&](auto it) -> std::optional<bytes> {
      while (it != kids.begin()) {
        --it;
        if (&*it != moving) return it->order_key;
      }
      return std::nullopt;
    };
    switch (pos.at) {
      case position::where::first: return {std::nullopt, key_or_none(skip_fwd(kids.begin()))};
      case position::where::last: return {before_it(kids.end()), std::nullopt};
      case position::where::after:
      case position::where::before: {
        node_rec* const s = find(pos.sibling);
        if (!s || s->parent != p || s == moving || p == trash_)
          throw std::invalid_argument("position sibling " + to_hex(pos.sibling) + " is not another child of " +
                                      to_hex(p->id));
        const auto it = kids.iterator_to(*s);
        if (pos.at == position::where::after) return {s->order_key, key_or_none(skip_fwd(std::next(it)))};
        return {before_it(it), s->order_key};
      }
    }
    return {std::nullopt, std::nullopt};
  }

  [[nodiscard]] const std::optional<bytes>& payload(handle h) const noexcept { return h->payload; }
  [[nodiscard]] const std::optional<bytes>& order_key(handle h) const noexcept { return h->order_key; }

  template <class F>
  void for_each_node(F&& f) const {
    for (const node_rec& n : nodes_) f(const_cast<handle>(&n));
  }
  [[nodiscard]] std::size_t node_count() const noexcept { return nodes_.size(); }

  // ---- rewind (undo journal) -------------------------------------------------------------------

  /// The head the store is at, as counted by begin_op since the last start_journal.
  [[nodiscard]] const head_type& head() const noexcept { return head_; }

  /// Forgets the journal; the store is now at `at` and journals up to `limit` ops from here (0: none).
  void start_journal(const head_type& at, std::uint64_t limit) {
    journal_.clear();
    steps_.clear();
    heavy_.clear();
    steps_dropped_ = heavy_dropped_ = 0;
    journal_origin_.reset();
    last_dropped_.reset();
    head_ = at;
    journal_limit_ = limit;
  }
  [[nodiscard]] std::uint64_t journal_limit() const noexcept { return journal_limit_; }
  [[nodiscard]] std::size_t journal_size() const noexcept { return journal_.size(); }

  /// How many applied ops rewind_before(frontier) would undo, or nullopt if the journal does not
  /// reach back to every applied op with key ≥ frontier. Complexity: O(log journal).
  [[nodiscard]] std::optional<std::uint64_t> rewind_cost(const Key& frontier) const {
    if (!head_.key || *head_.key < frontier) return 0;
    if (journal_.empty()) return std::nullopt;
    std::size_t lo = 0;  // the first journaled op with key ≥ frontier, by binary search
    for (std::size_t hi = journal_.size(); lo < hi;) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (key_of(journal_[mid]) < frontier)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo == 0) {  // every journaled op is undone: the one before must be older
      const std::optional<Key> before = journal_base_key();
      if (head_.seq != journal_.size() && !(before && *before < frontier)) return std::nullopt;
    }
    return static_cast<std::uint64_t>(journal_.size() - lo);
  }

  /// Undoes every journaled op with key ≥ frontier, newest first, and returns the head reached.
  /// Requires: rewind_cost(frontier) has a value. Complexity: O(what the undone ops changed).
  head_type rewind_before(const Key& frontier) {
    while (!journal_.empty() && !(key_of(journal_.back()) < frontier)) undo_last();
    return head_;
  }

  // ---- rule-6 exactness ------------------------------------------------------------------------

  /// True once a delete declared gaps the store had not tracked: verdicts may be wrong until the
  /// log is folded again from the start (clear() keeps the tracked set, so that fold is exact).
  [[nodiscard]] bool needs_rebuild() const noexcept { return rebuild_required_; }

  // ---- snapshots -------------------------------------------------------------------------------

  /// Closes the current change epoch and returns its mark: snapshot_since(mark) will hold the
  /// nodes changed from now on.
  std::uint64_t mark_checkpoint() {
    const std::uint64_t mark = epoch_;
    ++epoch_;
    epoch_changes_.emplace_back();
    clear_staged();
    staging_ = staging_enabled_ && nodes_.size() >= staging_min_nodes_;
    return mark;
  }
  /// Whether delta records are staged as nodes change (the default; see the header comment), the
  /// most bytes of live records an epoch stages (past it, e.g. a long replay between two marks, the
  /// epoch stops staging and its delta walks the nodes), and the fewest nodes a tree has for an
  /// epoch to stage (a smaller tree is cached whole: its deltas walk). Off, every delta walks the
  /// changed nodes. All write the same bytes; a tuning and testing knob.
  void set_delta_staging(bool enabled, std::size_t max_live_bytes = default_staged_limit,
                         std::size_t min_nodes = default_staging_min_nodes) {
    staging_enabled_ = enabled;
    staged_limit_ = max_live_bytes;
    staging_min_nodes_ = min_nodes;
    if (!enabled) {
      staging_ = false;
      clear_staged();
    }
  }
  /// Whether snapshot_since(mark) can be written (the store still knows every change since it).
  [[nodiscard]] bool can_snapshot_since(std::uint64_t mark) const noexcept {
    return mark + 1 >= first_epoch_ && mark < epoch_;
  }
  /// Drops the change lists up to and including `mark` (no delta will be written over them).
  void forget_changes_through(std::uint64_t mark) {
    while (first_epoch_ <= mark && epoch_changes_.size() > 1) {
      epoch_changes_.pop_front();
      ++first_epoch_;
    }
  }

  /// A self-contained encoding of the whole store. Complexity: O(tree + replicas).
  void snapshot(std::string& out) const {
    // Room for the whole snapshot at once, sized by the bytes a record took in the previous one: a
    // buffer that had to grow would copy the snapshot and fault in twice its size. The slack covers
    // the last record's bound (write_node sizes each record by one) and the checksum trailer.
    const std::size_t start = out.size();
    out.reserve(start + 64 + nodes_.size() * snapshot_record_bytes_ + record_slack + trailer_room);
    detail::binary_writer w(out);
    write_header(w);
    w.varint(nodes_.size());
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (i + 2 * prefetch_distance < nodes_.size()) prefetch_record(nodes_[i + 2 * prefetch_distance]);
      if (i + prefetch_distance < nodes_.size()) prefetch_pointees(nodes_[i + prefetch_distance]);
      write_node(w, nodes_[i]);
    }
    const std::size_t per_record = (out.size() - start) / nodes_.size();  // ROOT and TRASH: never 0
    snapshot_record_bytes_ = std::max<std::size_t>(80, per_record + per_record / 16 + 1);
  }

  /// The nodes changed since `mark`, with the store-wide header: restore_delta over the state at
  /// the mark gives this state. Requires can_snapshot_since(mark). Complexity: O(changed + replicas).
  void snapshot_since(std::uint64_t mark, std::string& out) const {
    detail::binary_writer w(out);
    write_header(w);
    if (staging_ && mark + 1 == epoch_) {
      stage_changed_records(true);                // may pass the limit and stop staging
      if (staging_) return write_staged(w, out);  // else walk, below
    }
    std::vector<epoch_change> changed;
    if (mark + 1 == epoch_) {
      // One epoch: one entry per node (a removed node's has no parts), in entry order, the order
      // staged records take.
      for (const epoch_change& c : epoch_changes_.back())
        if (c.parts != 0 && c.slot < nodes_.size()) changed.push_back(c);
    } else {
      // A node changed in several epochs since the mark (or a slot freed by a rewind and reused) is
      // listed more than once: one record with the union of the parts, in slot order.
      std::uint64_t epoch = first_epoch_;
      for (const auto& list : epoch_changes_) {
        if (epoch > mark)
          for (const epoch_change& c : list)
            if (c.slot < nodes_.size()) changed.push_back(c);
        ++epoch;
      }
      std::sort(changed.begin(), changed.end(),
                [](const epoch_change& a, const epoch_change& b) { return a.slot < b.slot; });
      std::size_t kept = 0;
      for (const epoch_change& c : changed)
        if (kept > 0 && changed[kept - 1].slot == c.slot)
          changed[kept - 1].parts |= c.parts;
        else
          changed[kept++] = c;
      changed.resize(kept);
      std::erase_if(changed, [](const epoch_change& c) { return c.parts == 0; });
    }
    out.reserve(out.size() + changed.size() * 80 + trailer_room);
    w.varint(changed.size());
    for (std::size_t i = 0; i < changed.size(); ++i) {
      if (i + 2 * prefetch_distance < changed.size()) prefetch_record(nodes_[changed[i + 2 * prefetch_distance].slot]);
      if (i + prefetch_distance < changed.size()) prefetch_pointees(nodes_[changed[i + prefetch_distance].slot]);
      write_node(w, nodes_[changed[i].slot], changed[i].parts);
    }
  }

  /// Replaces the whole state with a snapshot. Throws detail::decode_failure (and leaves the store
  /// cleared) on malformed or inconsistent input: a node listed twice, a parent never listed, a
  /// parent cycle, ROOT or TRASH with a parent, a count larger than the input.
  void restore(std::string_view in) {
    clear();
    try {
      detail::binary_reader r(in);
      read_header(r, false);
      const std::uint64_t count = r.varint();
      if (count > r.remaining()) throw detail::decode_failure("node count exceeds snapshot size");
      std::vector<std::pair<node_rec*, node_id>> links;
      std::vector<bool> listed(2, false);  // ROOT and TRASH must be listed once too
      for (std::uint64_t i = 0; i < count; ++i) {
        const node_id id = detail::decode_node(r);
        const bool fresh = !index_.contains(id);
        node_rec* n = ensure(id);
        if (n == root_ || n == trash_) {
          if (listed[n == trash_ ? 1 : 0]) throw detail::decode_failure("snapshot lists a node twice");
          listed[n == trash_ ? 1 : 0] = true;
        } else if (!fresh) {
          throw detail::decode_failure("snapshot lists a node twice");
        }
        const auto [parts, flags] = read_parts(r);
        if (parts != all_parts) throw detail::decode_failure("a full snapshot lists part of a node");
        read_node(r, *n, parts, flags, links);
      }
      if (!r.at_end()) throw detail::decode_failure("trailing bytes after snapshot");
      if (!listed[0] || !listed[1]) throw detail::decode_failure("snapshot lacks ROOT or TRASH");
      link_all(links);
      if (has_cycle()) throw detail::decode_failure("snapshot has a parent cycle");
    } catch (...) {
      clear();
      throw;
    }
    reset_epochs();
  }

  /// Applies a delta written by snapshot_since over the state it was taken from. Throws
  /// detail::decode_failure on malformed or inconsistent input (the store is then cleared).
  void restore_delta(std::string_view in) {
    try {
      detail::binary_reader r(in);
      read_header(r, true);
      const std::uint64_t count = r.varint();
      if (count > r.remaining()) throw detail::decode_failure("node count exceeds delta size");
      std::vector<std::pair<node_rec*, node_id>> links;
      std::vector<node_rec*> changed;
      for (std::uint64_t i = 0; i < count; ++i) {
        const node_id id = detail::decode_node(r);
        const bool fresh = !index_.contains(id);
        const auto [parts, flags] = read_parts(r);
        if (fresh && parts != all_parts) throw detail::decode_failure("delta changes part of a node its base lacks");
        node_rec* n = ensure(id);
        if ((parts & part_structure) && n->parent) unlink_from_parent(n);
        changed.push_back(n);
        read_node(r, *n, parts, flags, links);
      }
      if (!r.at_end()) throw detail::decode_failure("trailing bytes after delta");
      std::sort(changed.begin(), changed.end());
      if (std::adjacent_find(changed.begin(), changed.end()) != changed.end())
        throw detail::decode_failure("delta lists a node twice");
      link_all(links);
      for (node_rec* n : changed)
        if (reaches_itself(n)) throw detail::decode_failure("delta makes a parent cycle");
      for (node_rec* n : changed) invalidate_upwards(n);
    } catch (...) {
      clear();
      throw;
    }
    reset_epochs();
  }

  /// Back to the initial state (only ROOT and TRASH). Keeps the tracked gap dots: a fold from here
  /// is exact for every delete seen so far.
  void clear() {
    unlink_all();
    nodes_.clear();
    parent_slots_.clear();
    verdicts_.clear();
    node_epoch_.clear();
    node_change_pos_.clear();
    index_.clear();
    replicas_.clear();
    replica_ids_.clear();
    applied_ = {};
    deleted_nodes_ = 0;
    rebuild_required_ = false;
    start_journal({}, journal_limit_);
    reset_epochs();
    const std::uint64_t limit = journal_limit_;
    journal_limit_ = 0;  // creating ROOT and TRASH is not an op to undo
    root_ = ensure(root_node);
    trash_ = ensure(trash_node);
    journal_limit_ = limit;
    op_replica_ = intern(replica_type{});
  }

 private:
  // ---- structure helpers -------------------------------------------------------------------------

  void place(handle h, handle p, std::optional<bytes> order_key) {
    if (h->parent) {
      invalidate_upwards(h->parent);
      unlink_from_parent(h);
    }
    h->order_key = std::move(order_key);
    if (p) link_to_parent(h, p);
    touch(h, part_structure);
    invalidate_upwards(h);
  }
  void link_to_parent(handle h, handle p) {
    h->parent = p;
    h->parent_id = p->id;
    parent_slots_[h->slot] = p->slot;
    if (p != trash_) p->children.insert_equal(*h);  // TRASH keeps no child list (rule 3)
  }
  void unlink_from_parent(handle h) {
    if (h->parent != trash_) h->parent->children.erase(h->parent->children.iterator_to(*h));
    h->parent = nullptr;
    parent_slots_[h->slot] = no_parent;
  }
  void unlink_all() noexcept {
    for (node_rec& n : nodes_) n.children.clear();
  }

  // A change below `h` may change S of h and of each of its ancestors.
  void invalidate_upwards(handle h) noexcept {
    if (deleted_nodes_ == 0) return;
    for (std::uint32_t x = h->slot; x != no_parent; x = parent_slots_[x])
      if (verdicts_[x] != tomb_verdict::not_deleted) verdicts_[x] = tomb_verdict::unknown;
  }

  template <class Visit>
  bool visit_subtree(handle top, Visit&& visit) const {
    std::vector<const node_rec*> stack{top};
    while (!stack.empty()) {
      const node_rec* n = stack.back();
      stack.pop_back();
      if (!visit(*n)) return false;
      for (const node_rec& c : n->children) stack.push_back(&c);
    }
    return true;
  }

  bool deleter_saw_whole_subtree(handle h) const {
    const version_vector_type& seen = *h->deleted_at;
    const std::vector<std::uint64_t> seen_max = detail::greatest_seen(seen, replica_ids_, replicas_.size());
    return visit_subtree(h, [&](const node_rec& m) {
      for (const change_entry& e : m.last_change)
        if (e.max > seen_max[e.replica]) return false;
      if (m.exact_dots && !seen.is_aware_of(*m.exact_dots)) return false;
      return !m.payload_writer || seen.contains(m.payload_writer->replica, m.payload_writer->counter);
    });
  }

  std::uint32_t intern(const replica_type& r) {
    const auto [it, inserted] = replica_ids_.try_emplace(r, static_cast<std::uint32_t>(replicas_.size()));
    if (inserted) replicas_.push_back(r);
    return it->second;
  }

  // ---- journal helpers -------------------------------------------------------------------------

  [[nodiscard]] bool recording() const noexcept { return journal_limit_ > 0 && !journal_.empty() && !undoing_; }
  void record(const undo_step& s) {
    if (recording()) steps_.push_back(s);
  }

  [[nodiscard]] Key key_of(const journaled_op& o) const { return Key{o.lamport, replicas_[o.replica], o.counter}; }
  /// The head's key before the oldest journaled op.
  [[nodiscard]] std::optional<Key> journal_base_key() const {
    return last_dropped_ ? std::optional<Key>(key_of(*last_dropped_)) : journal_origin_;
  }

  void drop_oldest_journaled() {
    last_dropped_ = journal_.front();
    journal_.pop_front();
    const std::uint64_t keep_step = journal_.empty() ? steps_dropped_ + steps_.size() : journal_.front().first_step;
    const std::uint64_t keep_heavy = journal_.empty() ? heavy_dropped_ + heavy_.size() : journal_.front().first_heavy;
    for (; steps_dropped_ < keep_step; ++steps_dropped_) steps_.pop_front();
    for (; heavy_dropped_ < keep_heavy; ++heavy_dropped_) heavy_.pop_front();
  }

  void undo_last() {
    undoing_ = true;
    const std::uint64_t first_step = journal_.back().first_step;
    while (steps_dropped_ + steps_.size() > first_step) undo(steps_.take_back());
    journal_.take_back();
    head_.key = journal_.empty() ? journal_base_key() : std::optional<Key>(key_of(journal_.back()));
    --head_.seq;
    undoing_ = false;
  }

  void undo(const undo_step& s) {
    if (s.kind == step_kind::created) {  // later steps are undone: it is a bare placeholder again
      node_rec& n = nodes_.back();
      if (node_epoch_.back() == epoch_) forget_removed_change(node_change_pos_.back());
      if (n.parent) unlink_from_parent(&n);
      index_.erase(n.id);
      if (n.deleted_at) --deleted_nodes_;
      nodes_.pop_back();
      parent_slots_.pop_back();
      verdicts_.pop_back();
      node_epoch_.pop_back();
      node_change_pos_.pop_back();
      return;
    }
    node_rec* const h = &nodes_[s.slot];
    switch (s.kind) {
      case step_kind::attached: {
        undo_heavy old = pop_heavy();
        place(h, s.aux == no_parent ? nullptr : &nodes_[s.aux], std::move(old.text));
        return;
      }
      case step_kind::summary: {
        auto it = std::lower_bound(h->last_change.begin(), h->last_change.end(), s.aux,
                                   [](const change_entry& e, std::uint32_t v) { return e.replica < v; });
        if (s.value == 0)
          h->last_change.erase(it);
        else
          it->max = s.value;
        break;
      }
      case step_kind::exact_dot:
        h->exact_dots->erase(replicas_[s.aux], s.value);
        if (h->exact_dots->empty()) h->exact_dots.reset();
        break;
      case step_kind::deleted: {
        undo_heavy old = pop_heavy();
        if (!old.vv) {
          h->deleted_at.reset();
          --deleted_nodes_;
          verdicts_[h->slot] = tomb_verdict::not_deleted;
        } else {
          h->deleted_at = std::move(old.vv);
          verdicts_[h->slot] = tomb_verdict::unknown;
        }
        break;
      }
      case step_kind::payload: {
        undo_heavy old = pop_heavy();
        h->payload = std::move(old.text);
        h->payload_writer = std::move(old.writer);
        break;
      }
      case step_kind::created: break;
    }
    touch(h, all_parts);
    invalidate_upwards(h);
  }
  undo_heavy pop_heavy() { return heavy_.take_back(); }

  // ---- change epochs (delta snapshots) ---------------------------------------------------------

  // Records that `parts` of h changed in this epoch: one entry per node and epoch, its parts
  // or-ed in place (node_change_pos_ finds it).
  void touch(handle h, std::uint8_t parts) {
    const std::uint32_t slot = h->slot;
    auto& list = epoch_changes_.back();
    if (node_epoch_[slot] == epoch_) {
      const std::uint32_t pos = node_change_pos_[slot];
      list[pos].parts |= parts;
      if (staging_ && !staged_index_[pos].stale) {
        staged_index_[pos].stale = true;
        retouched_.push_back({pos, h});
      }
      return;
    }
    node_epoch_[slot] = epoch_;
    const auto pos = static_cast<std::uint32_t>(list.size());
    node_change_pos_[slot] = pos;
    list.push_back({slot, parts});
    if (staging_) {
      staged_index_.emplace_back();
      first_touched_.push_back({pos, h});
    }
  }
  // A rewind removed the node of the current epoch's entry `pos` (its creation was undone): no delta
  // lists it. A later node in the same slot gets an entry of its own.
  void forget_removed_change(std::uint32_t pos) {
    epoch_changes_.back()[pos].parts = 0;
    if (!staging_) return;
    staged_live_ -= staged_index_[pos].length;
    staged_index_[pos].length = 0;
  }
  // After a restore or clear nothing earlier can be a delta base: start a fresh lineage of epochs.
  void reset_epochs() {
    ++epoch_;
    first_epoch_ = epoch_;
    epoch_changes_.clear();
    epoch_changes_.emplace_back();
    staging_ = false;  // until the next mark: no delta can be asked for before one
    clear_staged();
  }

  // ---- staged delta records (the current epoch) --------------------------------------------------

  struct touched_entry {
    std::uint32_t pos;  // in the current epoch's list
    node_rec* node;     // its node, by pointer: reaching it by slot would miss the cache in nodes_'s map
  };
  void clear_staged() const noexcept {
    staged_.clear();  // keeps its capacity: the next epoch reuses it
    staged_index_.clear();
    first_touched_.clear();
    retouched_.clear();
    staged_live_ = 0;
  }
  // Encodes the records of the entries first changed since the last call (when an op begins: their
  // nodes are still in cache) and, with `retouched`, of those changed again after being staged
  // (when a delta is written: re-encoding a node at every op that changes it — a parent gaining
  // child after child — would cost more than encoding it once more at the end, when such a
  // frequently changed node is likely still cached). Const: staging is a cache of write_node's output.
  void stage_changed_records(bool retouched) const {
    if (!first_touched_.empty()) stage(first_touched_);
    if (retouched && !retouched_.empty()) stage(retouched_);
    if (staged_live_ > staged_limit_) {  // the records would outgrow what a walk costs to avoid
      staging_ = false;
      clear_staged();
      return;
    }
    if (staged_.size() > 2 * staged_live_ + staged_slack) compact_staged();
  }
  void stage(std::vector<touched_entry>& entries) const {
    const auto& list = epoch_changes_.back();
    detail::binary_writer w(staged_);
    for (const auto& [pos, node] : entries) {
      staged_record& rec = staged_index_[pos];
      rec.stale = false;
      if (list[pos].parts == 0) continue;  // removed by a rewind: `node` is gone
      staged_live_ -= rec.length;
      rec.at = staged_.size();
      write_node(w, *node, list[pos].parts);
      rec.length = staged_.size() - rec.at;
      staged_live_ += rec.length;
    }
    entries.clear();
  }
  // Drops superseded records: copies the newest record of each live entry into a fresh buffer.
  void compact_staged() const {
    std::string live;
    live.reserve(staged_live_ + staged_slack);
    const auto& list = epoch_changes_.back();
    for (std::size_t pos = 0; pos < staged_index_.size(); ++pos) {
      staged_record& rec = staged_index_[pos];
      if (list[pos].parts == 0) continue;
      const std::size_t at = live.size();
      live.append(staged_, rec.at, rec.length);
      rec.at = at;
    }
    staged_.swap(live);
  }
  // The records of a delta over the newest mark, in entry order (the order the nodes were first
  // changed) like the walk of one epoch writes them. Records are staged in entry order and only a
  // re-encoded or removed node leaves garbage (compaction keeps entry order), so a buffer of live
  // records only is the body as it is: one sequential copy, no sort or scattered reads.
  // Requires: every record staged (stage_changed_records ran and staging_ is still on).
  void write_staged(detail::binary_writer& w, std::string& out) const {
    const auto& list = epoch_changes_.back();
    std::size_t records = 0;
    for (const epoch_change& c : list) records += c.parts != 0 ? 1 : 0;
    w.varint(records);
    out.reserve(out.size() + staged_live_ + trailer_room);
    if (staged_.size() == staged_live_) {
      out.append(staged_);
      return;
    }
    for (std::size_t pos = 0; pos < list.size(); ++pos)
      if (list[pos].parts != 0) out.append(staged_, staged_index_[pos].at, staged_index_[pos].length);
  }

  // ---- snapshot encoding -----------------------------------------------------------------------

  void write_header(detail::binary_writer& w) const {
    w.varint(replicas_.size());
    for (const replica_type& r : replicas_) w.byte_string(replica_codec<replica_type>::to_bytes(r));
    encode_version_vector(w, applied_);
    encode_version_vector(w, tracked_gaps_);
  }

  // A delta's replica table extends the current one (indices are never reused).
  void read_header(detail::binary_reader& r, bool delta) {
    const std::uint64_t n = r.varint();
    if (n > r.remaining() || n >= no_parent) throw detail::decode_failure("replica count exceeds snapshot size");
    if (delta && n < replicas_.size()) throw detail::decode_failure("delta drops replicas of its base");
    std::vector<replica_type> table;
    table.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) table.push_back(replica_codec<replica_type>::from_bytes(r.byte_string()));
    for (std::size_t i = 0; i < replicas_.size() && delta; ++i)
      if (!(table[i] == replicas_[i])) throw detail::decode_failure("delta renumbers the replicas of its base");
    replicas_.clear();
    replica_ids_.clear();
    for (const replica_type& rep : table)
      if (!replica_ids_.try_emplace(rep, static_cast<std::uint32_t>(replicas_.size())).second)
        throw detail::decode_failure("snapshot lists a replica twice");
      else
        replicas_.push_back(rep);
    if (replicas_.empty()) throw detail::decode_failure("snapshot lacks the replica table");
    op_replica_ = 0;
    applied_ = decode_version_vector<replica_type>(r);
    tracked_gaps_ = decode_version_vector<replica_type>(r);
  }

  // Snapshots visit records scattered over the heap, and what they point to: fetch them a few
  // nodes ahead of the one being written (the record first, its pointees once it has arrived).
  static constexpr std::size_t prefetch_distance = 8;
  static void prefetch(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
  }
  static void prefetch_record(const node_rec& n) noexcept {
    for (std::size_t line = 0; line < sizeof(node_rec); line += 64) prefetch(reinterpret_cast<const char*>(&n) + line);
  }
  static void prefetch_pointees(const node_rec& n) noexcept {
    if (n.order_key) prefetch(n.order_key->data());
    if (n.payload) prefetch(n.payload->data());
    if (n.deleted_at) prefetch(n.deleted_at.get());
  }

  // The parts of a node record; a delta writes only those a node changed since its base.
  enum node_part : std::uint8_t {
    part_structure = 1,  // parent and order key
    part_summary = 2,    // last_change and exact dots
    part_deleted = 4,    // deleted_at
    part_payload = 8,    // payload and its writer
    all_parts = 15,
  };
  enum node_flags : std::uint8_t {
    has_parent = 1,
    has_payload = 2,
    has_writer = 4,
    has_deleted = 8,
    has_exact = 16,
  };
  // The flags each part of a node record may carry.
  static constexpr std::uint8_t flags_of(std::uint8_t parts) noexcept {
    return static_cast<std::uint8_t>((parts & part_structure ? has_parent : 0) |
                                     (parts & part_summary ? has_exact : 0) | (parts & part_deleted ? has_deleted : 0) |
                                     (parts & part_payload ? has_payload | has_writer : 0));
  }

  // Version vectors inside nodes name replicas by their index in the header's table.
  [[nodiscard]] auto write_replica_index() const {
    return [this](auto& w, const replica_type& r) { w.varint(replica_ids_.at(r)); };
  }
  [[nodiscard]] auto read_replica_index() const {
    return [this](detail::binary_reader& r) -> const replica_type& {
      const std::uint64_t index = r.varint();
      if (index >= replicas_.size()) throw detail::decode_failure("version vector names an unknown replica");
      return replicas_[static_cast<std::size_t>(index)];
    };
  }

  // A node record: id, the parts that follow (a full snapshot has them all; a delta only those
  // changed since its base), flags, then per part: parent and order key; change summary and exact
  // dots; deleted_at; payload and writer.
  // Snapshots write millions of records: each is written into room sized once by a bound (one
  // resize), through raw_writer, instead of one checked string append per field.
  void write_node(detail::binary_writer& w, const node_rec& n, std::uint8_t parts = all_parts) const {
    constexpr std::size_t v = detail::raw_writer::varint_bound;
    const std::uint8_t flags = static_cast<std::uint8_t>(
        ((n.parent ? has_parent : 0) | (n.payload ? has_payload : 0) | (n.payload_writer ? has_writer : 0) |
         (n.deleted_at ? has_deleted : 0) | (n.exact_dots ? has_exact : 0)) &
        flags_of(parts));
    std::size_t bound = 16 + 2;
    if (flags & has_parent) bound += 16 + v + n.order_key->size();
    if (parts & part_summary) bound += v + 2 * v * n.last_change.size();
    if (flags & has_exact) bound += encoded_size_bound(*n.exact_dots, v);
    if (flags & has_deleted) bound += encoded_size_bound(*n.deleted_at, v);
    if (flags & has_payload) bound += v + n.payload->size();
    if (flags & has_writer) bound += 3 * v;
    std::string& out = w.buffer();
    const std::size_t start = out.size();
    out.resize(start + bound);
    detail::raw_writer c(out.data() + start);
    detail::encode_node(c, n.id);
    c.u8(parts);
    c.u8(flags);
    if (flags & has_parent) {
      detail::encode_node(c, n.parent_id);
      c.byte_string(*n.order_key);
    }
    if (parts & part_summary) {
      c.varint(n.last_change.size());
      for (const change_entry& e : n.last_change) {
        c.varint(e.replica);
        c.varint(e.max);
      }
    }
    if (flags & has_exact) encode_version_vector(c, *n.exact_dots, write_replica_index());
    if (flags & has_deleted) encode_version_vector(c, *n.deleted_at, write_replica_index());
    if (flags & has_payload) c.byte_string(*n.payload);
    if (flags & has_writer) {  // the writer's replica by its index in the table (it was interned when folded)
      c.varint(n.payload_writer->lamport);
      c.varint(replica_ids_.at(n.payload_writer->replica));
      c.varint(n.payload_writer->counter);
    }
    out.resize(static_cast<std::size_t>(c.end() - out.data()));
  }

  // Reads a record's parts and flags; a part that is not listed leaves the node's value as it is.
  [[nodiscard]] static std::pair<std::uint8_t, std::uint8_t> read_parts(detail::binary_reader& r) {
    const std::uint8_t parts = r.u8();
    if (parts == 0 || (parts & ~all_parts) != 0) throw detail::decode_failure("unknown node record parts");
    const std::uint8_t flags = r.u8();
    if ((flags & ~flags_of(parts)) != 0) throw detail::decode_failure("node flags outside the record's parts");
    return {parts, flags};
  }

  void read_node(detail::binary_reader& r, node_rec& n, std::uint8_t parts, std::uint8_t flags,
                 std::vector<std::pair<node_rec*, node_id>>& links) {
    if (parts & part_structure) {
      n.order_key.reset();
      if (flags & has_parent) {
        const node_id parent = detail::decode_node(r);
        n.order_key = bytes(r.byte_string());
        if (&n == root_ || &n == trash_) throw detail::decode_failure("ROOT or TRASH has a parent");
        links.emplace_back(&n, parent);
      }
    }
    if (parts & part_summary) {
      const std::uint64_t entries = r.varint();
      if (entries > replicas_.size()) throw detail::decode_failure("more summary entries than replicas");
      n.last_change.clear();
      for (std::uint64_t i = 0; i < entries; ++i) {
        const std::uint64_t replica = r.varint();
        const std::uint64_t max = r.varint();
        if (replica >= replicas_.size() || max == 0 || (i > 0 && replica <= n.last_change.back().replica))
          throw detail::decode_failure("malformed change summary");
        n.last_change.push_back({static_cast<std::uint32_t>(replica), max});
      }
      n.exact_dots =
          flags & has_exact
              ? std::make_unique<version_vector_type>(decode_version_vector<replica_type>(r, read_replica_index()))
              : nullptr;
    }
    if (parts & part_deleted) {
      const bool was_deleted = n.deleted_at != nullptr;
      n.deleted_at =
          flags & has_deleted
              ? std::make_unique<version_vector_type>(decode_version_vector<replica_type>(r, read_replica_index()))
              : nullptr;
      if (n.deleted_at && n.deleted_at->empty()) throw detail::decode_failure("empty deleted_at");
      deleted_nodes_ += (n.deleted_at ? 1 : 0) - (was_deleted ? 1 : 0);
      verdicts_[n.slot] = n.deleted_at ? tomb_verdict::unknown : tomb_verdict::not_deleted;
    }
    if (parts & part_payload) {
      n.payload = flags & has_payload ? std::optional<bytes>(bytes(r.byte_string())) : std::nullopt;
      n.payload_writer.reset();
      if (flags & has_writer) {
        Key writer;
        writer.lamport = r.varint();
        const std::uint64_t replica = r.varint();
        if (replica >= replicas_.size()) throw detail::decode_failure("payload writer names an unknown replica");
        writer.replica = replicas_[static_cast<std::size_t>(replica)];
        writer.counter = r.varint();
        n.payload_writer = std::move(writer);
      }
      if (n.payload && !n.payload_writer) throw detail::decode_failure("payload without a writer");
    }
  }

  void link_all(const std::vector<std::pair<node_rec*, node_id>>& links) {
    for (const auto& [n, pid] : links) {
      node_rec* p = find(pid);
      if (!p || p == n) throw detail::decode_failure("snapshot names an unknown parent");
      link_to_parent(n, p);
    }
  }

  // Whether following parents from n comes back to n (bounded by the node count).
  [[nodiscard]] bool reaches_itself(const node_rec* n) const noexcept {
    std::size_t steps = 0;
    for (std::uint32_t x = parent_slots_[n->slot]; x != no_parent; x = parent_slots_[x])
      if (x == n->slot || ++steps > nodes_.size()) return true;
    return false;
  }
  // Any parent cycle at all: O(n), each node settled once.
  [[nodiscard]] bool has_cycle() const {
    std::vector<std::uint8_t> state(nodes_.size(), 0);  // 0 new, 1 on the current path, 2 settled
    std::vector<std::uint32_t> path;
    for (std::uint32_t start = 0; start < nodes_.size(); ++start) {
      std::uint32_t x = start;
      while (x != no_parent && state[x] == 0) {
        state[x] = 1;
        path.push_back(x);
        x = parent_slots_[x];
      }
      if (x != no_parent && state[x] == 1) return true;
      for (std::uint32_t p : path) state[p] = 2;
      path.clear();
    }
    return false;
  }

  static constexpr std::uint32_t no_parent = ~std::uint32_t{0};
  std::deque<node_rec> nodes_;                  // stable addresses: handles and intrusive links point into it
  std::vector<std::uint32_t> parent_slots_;     // parent_slots_[slot] = parent's slot: a cache-dense copy
  mutable std::vector<tomb_verdict> verdicts_;  // by slot; mutable: reads fill the cache
  std::vector<std::uint64_t> node_epoch_;       // by slot: the epoch of the node's last change
  std::unordered_map<node_id, node_rec*> index_;
  std::vector<replica_type> replicas_;  // interned replicas, by index
  std::unordered_map<replica_type, std::uint32_t> replica_ids_;
  std::uint32_t op_replica_ = 0;      // the replica of the op being folded
  version_vector_type applied_;       // dots of every folded op
  version_vector_type tracked_gaps_;  // dots tracked exactly: ⊇ every gap a deleted_at has declared
  bool rebuild_required_ = false;
  std::size_t deleted_nodes_ = 0;
  node_rec* root_ = nullptr;
  node_rec* trash_ = nullptr;
  // Journal.
  head_type head_;
  std::uint64_t journal_limit_ = 0;
  bool undoing_ = false;
  detail::ring<journaled_op> journal_;
  detail::ring<undo_step> steps_;
  detail::ring<undo_heavy> heavy_;
  std::optional<Key> journal_origin_;         // the head's key when the journal last started empty
  std::optional<journaled_op> last_dropped_;  // the newest op dropped from the journal since then
  std::uint64_t steps_dropped_ = 0;
  std::uint64_t heavy_dropped_ = 0;
  // Change epochs: epoch_changes_[i] lists the nodes changed in epoch first_epoch_ + i, each once
  // with the parts it changed.
  struct epoch_change {
    std::uint32_t slot;
    std::uint8_t parts;  // node_part bits; 0: the node was removed by a rewind
  };
  std::vector<std::uint32_t> node_change_pos_;  // by slot: its entry in its latest epoch's list
  std::uint64_t epoch_ = 1;
  std::uint64_t first_epoch_ = 1;
  std::deque<std::vector<epoch_change>> epoch_changes_;
  // Staged records of the current epoch (mutable: a cache the const snapshot_since fills).
  struct staged_record {
    std::size_t at = 0;      // offset in staged_
    std::size_t length = 0;  // 0: not staged yet, or the node was removed
    bool stale = true;       // the node changed after its record was encoded
  };
  static constexpr std::size_t staged_slack = 64 * 1024;
  // Room reserved past a delta's records for what the caller appends (a checkpoint's checksum):
  // without it that append reallocates and copies the whole delta.
  static constexpr std::size_t trailer_room = 64;
  static constexpr std::size_t record_slack = 4096;
  mutable std::size_t snapshot_record_bytes_ = 80;  // a full snapshot's bytes per node, with a margin
  static constexpr std::size_t default_staged_limit = 64 * 1024 * 1024;
  // Below this many nodes the records fit in the L2 cache (about 450 B a node): walking the changed
  // nodes when a delta is written misses no cache, and encodes each once instead of at its first
  // change and again if it changed later (1,000-node tree: checkpoint share about 21 % to 11 %).
  static constexpr std::size_t default_staging_min_nodes = 4096;
  std::size_t staging_min_nodes_ = default_staging_min_nodes;
  std::size_t staged_limit_ = default_staged_limit;
  bool staging_enabled_ = true;
  mutable bool staging_ = false;  // a mark was taken (deltas over it may be asked for), records within the limit
  mutable std::string staged_;    // records, a node's newest last
  mutable std::vector<staged_record> staged_index_;   // by entry of the current epoch's list
  mutable std::vector<touched_entry> first_touched_;  // entries not staged yet
  mutable std::vector<touched_entry> retouched_;      // staged entries whose node changed since
  mutable std::size_t staged_live_ = 0;               // bytes of the newest record of each live entry
};

static_assert(MaterializedStore<memory_store<default_op_key>>);
static_assert(MaterializedStore<memory_store<compact_op_key>>);

}  // namespace treecrdt
