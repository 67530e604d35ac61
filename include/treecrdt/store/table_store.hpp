#pragma once
// table_store: a MaterializedStore whose tree lives in database tables (TreeTables, tree_tables.hpp)
// next to the op log, written in the same transaction. Opening a document over it is O(1) when the
// tables are at the log's head: nothing is restored or replayed, and reads are indexed queries.
//
// Memory: a bounded cache of node rows (cache_limit, default 65,536 rows). The fold reads and
// changes rows in the cache; flush() writes the changed ones before the transaction commits. Rows
// are evicted only between ops and between reads, never while a caller holds a reference.
// Handles are node ids, so a handle stays valid across eviction.
//
// Rule 6 state per row is that of memory_store (see memory_store.hpp): per replica the greatest dot
// of its changes, exact dots where a delete declared gaps, deleted_at, the payload writer — except
// that a parent's share of rules 2 and 3 stays with the child that brought it (record_relocation):
// a row records the dot that attached it (`arrival`), and its parent takes that dot only when the
// child leaves. S(x), a union over x's subtree, is unchanged by this, and an insert or a move in
// rewrites no row but the node's own (and a move its old parent's). The
// verdict itself is persisted in the `tomb` column: a change under a deleted node marks the verdict
// of each deleted ancestor undecided (O(depth), skipped while no node is deleted), and flush()
// decides every undecided verdict before commit, so the tables — and SQL readers — always see
// decided verdicts.
//
// Undo journal (SPEC §8 rewind), persisted: for each op it records the before-image of every row
// the op changed (none for a row it created); flush() writes the records of a transaction as one
// journal chunk. rewind_before(k) restores the images of the ops with key ≥ k, newest first, so a
// late op is absorbed by work proportional to the ops undone — also after a reopen. The journal
// keeps the last `journal_ops` ops (catch_up_options); beyond it catch-up rebuilds the tables.
//
// Checkpoints: a table store is its own checkpoint (its tables are the state at the head, written
// with the log), so the document writes none for it and never restores one into it.
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "../canonical_export.hpp"
#include "../detail/binary.hpp"
#include "../errors.hpp"
#include "../head_position.hpp"
#include "../op_codec.hpp"
#include "../op_key.hpp"
#include "rule6.hpp"
#include "store_concepts.hpp"
#include "tree_tables.hpp"

namespace treecrdt {

template <OpKey Key, TreeTables Tables>
class table_store {
 public:
  using key_type = Key;
  using replica_type = replica_of<Key>;
  using version_vector_type = version_vector<replica_type>;
  using head_type = head_position<Key>;
  using tables_type = Tables;

  /// A node by id; `valid` is false only for the null handle.
  struct handle {
    node_id id{};
    bool valid = false;
    friend bool operator==(const handle&, const handle&) = default;
  };

  static constexpr std::size_t default_cache_limit = 65536;

  table_store() = default;
  table_store(table_store&&) noexcept = default;
  table_store& operator=(table_store&&) noexcept = default;

  // ---- binding and persistence -----------------------------------------------------------------

  /// Binds to the database of `storage` (Tables::open creates the tables if missing). The document
  /// calls this once, before anything else. Throws what Tables::open throws.
  template <class Storage>
  void bind(Storage& storage) {
    tables_.emplace(Tables::open(storage));
  }
  [[nodiscard]] bool bound() const noexcept { return tables_.has_value(); }
  [[nodiscard]] Tables& tables() { return *checked_tables(); }

  /// Drops everything cached and reads the persisted state: head(), applied_version() and the rows
  /// as the tables hold them. Tables without a state yet are initialized (ROOT and TRASH), which
  /// needs a write transaction. O(replicas) — never O(tree).
  void reload_state() {
    drop_cache();
    const auto blob = checked_tables()->load_meta();
    if (!blob || meta_is_older_format(*blob)) {
      if (!tables_->in_transaction())
        throw error(blob ? "table_store: the tree tables were written by an older version of treecrdt; open the "
                           "document writable once to rebuild them from the log"
                         : "table_store: the document has no materialized tree tables yet; open it writable once");
      clear();
      return;
    }
    try {
      read_meta(*blob);
    } catch (const detail::decode_failure& e) {
      throw storage_error("table_store", "corrupt_row", std::string("tree metadata cannot be decoded: ") + e.what(),
                          false);
    }
  }

  /// Writes every change since the last flush into the open transaction: the journal chunk of the
  /// ops folded since, the changed rows, every undecided verdict decided, the metadata.
  /// Complexity: O(rows changed + verdicts decided × their subtrees).
  void flush() {
    if (!tables_ || !tables_->in_transaction()) return;
    write_journal_chunk();
    write_dirty_rows();
    decide_verdicts();
    std::string meta;
    write_meta(meta);
    tables_->store_meta(meta);
    if (head_.seq > journal_limit_) tables_->journal_trim_through(head_.seq - journal_limit_);
    if (cache_.size() > cache_limit_) evict();
  }

  /// Forgets every change not flushed and committed (after a rollback). reload_state() must follow
  /// before the store is used again.
  void discard() noexcept { drop_cache(); }

  /// Ops to keep journaled from now on (the document passes catch_up_options::journal_ops at open).
  void set_journal_limit(std::uint64_t ops) noexcept { journal_limit_ = ops; }
  /// Rows kept cached between transactions (at least 16). A tuning knob, not state: const, so it can
  /// be set through document::store().
  void set_cache_limit(std::size_t rows) const noexcept { cache_limit_ = rows < 16 ? 16 : rows; }
  [[nodiscard]] std::size_t cached_rows() const noexcept { return cache_.size(); }

  /// Loads the rows of `ids` not cached yet in one round trip, and remembers which do not exist, so
  /// that folding a batch touching them costs no lookup per op. Room for them is made first: an
  /// eviction in the middle of the batch would drop the rows prefetched for its later ops (they are
  /// not read yet, so second chance takes them first) and read each again on its own.
  void prefetch_nodes(const std::vector<node_id>& ids) {
    if (cache_.size() + ids.size() > cache_limit_) {
      if (tables_ && tables_->in_transaction()) {
        write_journal_chunk();
        write_dirty_rows();
      }
      evict(cache_limit_ > ids.size() ? cache_limit_ - ids.size() : 0);
    }
    std::vector<node_id> wanted;
    for (const node_id& id : ids)
      if (!cache_.contains(id) && !absent_.contains(id)) wanted.push_back(id);
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    if (wanted.empty()) return;
    std::vector<tree_row> rows = checked_tables()->load_many(wanted);
    std::sort(rows.begin(), rows.end(), [](const tree_row& a, const tree_row& b) { return a.id < b.id; });
    cache_.reserve(cache_.size() + rows.size());
    auto next = rows.begin();
    for (const node_id& id : wanted) {
      if (next != rows.end() && next->id == id)
        cache_.try_emplace(id, decode_row(*next++));
      else
        absent_.insert(id);
    }
  }

  // ---- structure (the fold) --------------------------------------------------------------------

  [[nodiscard]] handle ensure(node_id id) {
    if (lookup(id)) return {id, true};
    cached& e = cache_[id];
    e.created_in = op_serial_;
    absent_.erase(id);
    ++node_count_;
    mark_dirty(id, e);
    if (journaling()) {
      pending_.back().images.push_back({id, std::nullopt});
      e.imaged_at = op_serial_;
    }
    return {id, true};
  }
  [[nodiscard]] handle find(node_id id) const {
    // A read between transactions: nothing unwritten is cached, so rows may go.
    if (cache_.size() > cache_limit_ && tables_ && !tables_->in_transaction()) evict();
    return lookup(id) ? handle{id, true} : handle{};
  }
  [[nodiscard]] handle parent_of(handle h) const {
    const auto& p = row(h).s.parent;
    return p ? handle{*p, true} : handle{};
  }
  [[nodiscard]] node_id id_of(handle h) const noexcept { return h.id; }

  /// Rule 1: the walk from p to the top, over cached rows. O(depth of p), and O(1) for a node the
  /// current op created (it has no descendants yet, so nothing can be placed above itself).
  [[nodiscard]] bool would_cycle(handle n, handle p) const {
    if (const cached* e = lookup(n.id); e && e->created_in == op_serial_ && op_serial_ != 0) return false;
    std::uint64_t steps = 0;
    for (std::optional<node_id> x = p.id; x; x = row(handle{*x, true}).s.parent) {
      if (*x == n.id) return true;
      if (++steps > node_count_ + 2) throw corrupt("the parent chain of " + to_hex(p.id) + " has a cycle");
    }
    return false;
  }

  /// Called by apply_op before each op: version, journal record, and — between ops — eviction.
  void begin_op(const Key& key) {
    if (cache_.size() > cache_limit_ && tables_ && tables_->in_transaction()) {
      write_journal_chunk();
      write_dirty_rows();
      evict();
    }
    applied_.observe(key.replica, key.counter);
    op_replica_ = intern(key.replica);
    ++op_serial_;
    if (journal_limit_ > 0) pending_.push_back({key, head_, {}});
    head_.key = key;
    ++head_.seq;
  }

  void attach(handle h, handle p, const bytes& order_key) {
    cached& e = change(h.id);
    if (e.s.parent) invalidate_upwards(*e.s.parent);
    e.s.parent = p.id;
    e.s.order_key = order_key;
    e.moved = true;
    invalidate_upwards(h.id);
  }

  void record_change(handle h, const replica_type& r, std::uint64_t counter) {
    record_dot(h, replica_index(r), counter);
  }

  /// Rules 2 and 3's dots (fold.hpp): d joins n's summary and becomes n's arrival; the new parent
  /// gets nothing, since S(p) includes n's summary while n stays under p. The old parent (none and
  /// TRASH aside) takes n's previous arrival, which S(old) must keep after n leaves, and for a move
  /// d as well. O(1) rows changed besides the old parent's.
  void record_relocation(handle n, handle old_parent, handle p, const replica_type& r, std::uint64_t counter,
                         bool moved) {
    const std::optional<dot> came = row(n).s.arrival;
    record_change(n, r, counter);
    if (old_parent.valid && old_parent.id != trash_node) {
      if (came) record_dot(old_parent, came->replica, came->counter);
      if (moved) record_change(old_parent, r, counter);
    }
    const std::optional<dot> now =
        p.id == trash_node ? std::nullopt : std::optional<dot>(dot{replica_index(r), counter});  // TRASH has no S
    if (now != came) change(n.id).s.arrival = now;
  }

  void merge_deleted(handle h, const replica_type& r, std::uint64_t counter, const version_vector_type* known) {
    cached& e = change(h.id);
    if (!e.s.deleted_at) {
      e.s.deleted_at.emplace();
      ++deleted_nodes_;
    }
    e.s.deleted_at->observe(r, counter);
    if (known) e.s.deleted_at->merge(*known);
    intern(r);  // rows name replicas by index: every replica deleted_at names is in the table
    if (known)
      for (const auto& entry : known->entries()) intern(entry.first);
    undecide(h.id, e);
    if (detail::track_declared_gaps(*e.s.deleted_at, tracked_gaps_)) rebuild_required_ = true;  // as memory_store
  }

  [[nodiscard]] const std::optional<Key>& payload_writer(handle h) const { return row(h).s.writer; }

  void set_payload(handle h, std::optional<bytes> value, const Key& writer) {
    cached& e = change(h.id);
    e.s.payload = std::move(value);
    e.s.writer = writer;
    intern(writer.replica);
    invalidate_upwards(h.id);
  }

  // ---- reads -----------------------------------------------------------------------------------

  [[nodiscard]] bool is_tombstoned(handle h) const {
    cached& e = row(h);
    if (!e.s.deleted_at) return false;
    if (e.tomb == tomb_state::undecided) {
      e.tomb = deleter_saw_whole_subtree(h.id, e.s) ? tomb_state::tombstoned : tomb_state::alive;
      if (tables_->in_transaction()) mark_dirty(h.id, e);
    }
    return e.tomb == tomb_state::tombstoned;
  }

  /// What a local delete records (SPEC §7), as memory_store: for every replica with a dot in S(h),
  /// every dot of it folded into the store. O(subtree + replicas) rows read.
  [[nodiscard]] version_vector_type known_state_for_delete(handle h) const {
    return detail::delete_context(applied_, replicas_, [&](auto&& on_node) {
      visit_subtree(h.id, [&](const node_state& m) {
        on_node(m.summary, m.writer ? &m.writer->replica : nullptr);
        return true;
      });
    });
  }

  [[nodiscard]] const version_vector_type& applied_version() const noexcept { return applied_; }

  /// Visible children in sibling order: one indexed query. TRASH keeps no child list.
  template <class F>
  void for_each_child(handle p, F&& f) const {
    if (p.id == trash_node) return;
    for (const tree_child& c : children_rows(p.id)) {
      const bool tombstoned =
          c.tomb == tomb_state::undecided ? is_tombstoned(handle{c.id, true}) : c.tomb == tomb_state::tombstoned;
      if (!tombstoned) f(handle{c.id, true});
    }
  }

  /// Keys around `pos` among p's physical children, ignoring `moving`: at most two indexed queries.
  [[nodiscard]] std::pair<std::optional<bytes>, std::optional<bytes>> sibling_bounds(handle p, position pos,
                                                                                     handle moving) const {
    write_dirty_rows();
    Tables& t = *tables_;
    switch (pos.at) {
      case position::where::first: return {std::nullopt, t.neighbour_key(p.id, std::nullopt, true, moving.id)};
      case position::where::last: return {t.neighbour_key(p.id, std::nullopt, false, moving.id), std::nullopt};
      case position::where::after:
      case position::where::before: {
        const cached* s = lookup(pos.sibling);
        if (!s || s->s.parent != p.id || pos.sibling == moving.id || p.id == trash_node)
          throw std::invalid_argument("position sibling " + to_hex(pos.sibling) + " is not another child of " +
                                      to_hex(p.id));
        const bytes key = *s->s.order_key;
        const std::optional<std::pair<bytes, node_id>> from{std::in_place, key, pos.sibling};
        if (pos.at == position::where::after) return {key, t.neighbour_key(p.id, from, true, moving.id)};
        return {t.neighbour_key(p.id, from, false, moving.id), key};
      }
    }
    return {std::nullopt, std::nullopt};
  }

  /// References stay valid until the next find(), ensure(), begin_op() or flush().
  [[nodiscard]] const std::optional<bytes>& payload(handle h) const { return row(h).s.payload; }
  [[nodiscard]] const std::optional<bytes>& order_key(handle h) const { return row(h).s.order_key; }

  /// Every node, by id, in pages of 1,024 rows (memory stays bounded).
  template <class F>
  void for_each_node(F&& f) const {
    for_each_row_page([&](const tree_row& r) { f(handle{r.id, true}); });
  }
  [[nodiscard]] std::size_t node_count() const noexcept { return static_cast<std::size_t>(node_count_); }

  /// SPEC §6 canonical export streamed from the tables: O(n) rows read, one folder query per node,
  /// without filling the cache.
  [[nodiscard]] canonical_export export_canonical() const {
    canonical_export out;
    for_each_row_page([&](const tree_row& r) {
      const bool tombstoned =
          r.tomb == tomb_state::undecided ? is_tombstoned(handle{r.id, true}) : r.tomb == tomb_state::tombstoned;
      if (!is_reserved(r.id)) out.nodes.push_back({r.id, r.parent, r.order_key, tombstoned, r.payload});
      if (r.id == trash_node) return;
      std::vector<node_id> kids;
      for_each_child(handle{r.id, true}, [&](handle c) { kids.push_back(c.id); });
      if (r.id == root_node || !kids.empty()) out.children.emplace_back(r.id, std::move(kids));
    });
    return out;
  }

  // ---- rewind (persisted undo journal) ---------------------------------------------------------

  [[nodiscard]] const head_type& head() const noexcept { return head_; }

  /// Forgets the journal (in the tables too); the store is at `at` and journals up to `limit` ops.
  void start_journal(const head_type& at, std::uint64_t limit) {
    pending_.clear();
    if (tables_ && tables_->in_transaction()) tables_->journal_trim_through(max_seq);
    head_ = at;
    journal_limit_ = limit;
  }

  /// Ops rewind_before(frontier) would undo, or nullopt when the journal does not reach back to
  /// every applied op with key ≥ frontier. O(ops undone): reads the chunks that hold them.
  [[nodiscard]] std::optional<std::uint64_t> rewind_cost(const Key& frontier) const {
    if (!head_.key || *head_.key < frontier) return 0;
    std::uint64_t count = 0;
    std::optional<head_type> oldest_before;
    const auto visit = [&](const undo_record& rec) {
      if (rec.key < frontier) return false;
      ++count;
      oldest_before = rec.before;
      return true;
    };
    for (auto it = pending_.rbegin(); it != pending_.rend(); ++it)
      if (!visit(*it)) return count;
    std::optional<std::uint64_t> below;
    if (!pending_.empty()) below = pending_.front().before.seq + 1;
    while (auto chunk = tables_->journal_newest(below)) {
      const std::vector<undo_record> recs = decode_chunk(*chunk);
      for (auto it = recs.rbegin(); it != recs.rend(); ++it)
        if (!visit(*it)) return count;
      below = chunk->first_seq;
    }
    // Every journaled op is undone: that reaches only if the journal starts at the log's start.
    if (oldest_before && oldest_before->seq == 0) return count;
    if (!oldest_before && head_.seq == 0) return count;
    return std::nullopt;
  }

  /// Undoes every journaled op with key ≥ frontier, newest first; returns the head reached.
  /// Requires rewind_cost(frontier). Complexity: O(rows the undone ops changed).
  head_type rewind_before(const Key& frontier) {
    while (!pending_.empty() && !(pending_.back().key < frontier)) {
      undo(pending_.back());
      pending_.pop_back();
    }
    if (!pending_.empty()) return head_;
    while (head_.key && !(*head_.key < frontier)) {
      auto chunk = tables_->journal_newest(std::nullopt);
      if (!chunk) break;
      std::vector<undo_record> recs = decode_chunk(*chunk);
      tables_->journal_erase(chunk->last_seq);
      while (!recs.empty() && !(recs.back().key < frontier)) {
        undo(recs.back());
        recs.pop_back();
      }
      if (!recs.empty()) tables_->journal_append(encode_chunk(recs));  // its older ops stay journaled
    }
    return head_;
  }

  [[nodiscard]] bool needs_rebuild() const noexcept { return rebuild_required_; }

  // ---- snapshots (the MaterializedStore contract; the document never checkpoints this store) -----

  /// The whole state: header, then every row (id order). O(tree).
  void snapshot(std::string& out) const {
    detail::binary_writer w(out);
    write_meta(out);
    w.varint(node_count_);
    for_each_row_page([&](const tree_row& r) {
      detail::encode_node(w, r.id);
      w.u8(static_cast<std::uint8_t>(r.tomb));
      optional_bytes(w, r.parent ? std::optional<bytes>(detail::node_id_bytes(*r.parent)) : std::nullopt);
      optional_bytes(w, r.order_key);
      optional_bytes(w, r.payload);
      w.byte_string(r.state);
    });
  }

  /// Replaces the tables' tree with a snapshot. Throws detail::decode_failure (the store is then
  /// cleared) on malformed input: a node twice, an unknown parent, a parent cycle, no ROOT or TRASH.
  void restore(std::string_view in) {
    clear();
    try {
      detail::binary_reader r(in);
      read_meta_from(r);
      const std::uint64_t count = r.varint();
      if (count > r.remaining()) throw detail::decode_failure("node count exceeds snapshot size");
      std::unordered_map<node_id, std::optional<node_id>> parents;
      std::vector<tree_row> rows;
      for (std::uint64_t i = 0; i < count; ++i) {
        tree_row row;
        row.id = detail::decode_node(r);
        const std::uint8_t tomb = r.u8();
        if (tomb > 2) throw detail::decode_failure("unknown tomb state");
        row.tomb = static_cast<tomb_state>(tomb);
        if (const auto p = read_optional_bytes(r)) row.parent = detail::node_id_from_bytes(*p);
        row.order_key = read_optional_bytes(r);
        row.payload = read_optional_bytes(r);
        row.state = bytes(r.byte_string());
        (void)decode_row(row);  // validates the state against the replica table
        if (!parents.try_emplace(row.id, row.parent).second)
          throw detail::decode_failure("snapshot lists a node twice");
        rows.push_back(std::move(row));
      }
      if (!r.at_end()) throw detail::decode_failure("trailing bytes after snapshot");
      if (!parents.contains(root_node) || !parents.contains(trash_node))
        throw detail::decode_failure("snapshot lacks ROOT or TRASH");
      for (const auto& [id, p] : parents) {
        std::uint64_t steps = 0;
        for (auto x = p; x; x = parents.at(*x)) {
          if (!parents.contains(*x)) throw detail::decode_failure("snapshot names an unknown parent");
          if (*x == id || ++steps > count) throw detail::decode_failure("snapshot has a parent cycle");
        }
      }
      drop_cache();
      tables_->clear_rows();
      tables_->put_all(rows);
      node_count_ = count;
      deleted_nodes_ = static_cast<std::uint64_t>(
          std::count_if(rows.begin(), rows.end(), [](const tree_row& x) { return x.tomb != tomb_state::not_deleted; }));
    } catch (...) {
      clear();
      throw;
    }
  }

  /// Back to the initial state (only ROOT and TRASH), in the tables too. Keeps the tracked gap dots.
  void clear() {
    drop_cache();
    checked_tables()->clear_rows();
    replicas_.clear();
    replica_ids_.clear();
    applied_ = {};
    deleted_nodes_ = 0;
    node_count_ = 0;
    rebuild_required_ = false;
    head_ = {};
    pending_.clear();
    op_replica_ = intern(replica_type{});
    for (const node_id id : {root_node, trash_node}) {
      cached& e = cache_[id];
      ++node_count_;
      mark_dirty(id, e);
    }
  }

 private:
  struct change_entry {
    std::uint32_t replica;
    std::uint64_t max;
    friend bool operator==(const change_entry&, const change_entry&) = default;
  };
  struct dot {  // replica by table index
    std::uint32_t replica;
    std::uint64_t counter;
    friend bool operator==(const dot&, const dot&) = default;
  };
  // What a row holds, decoded; copyable so the journal can keep before-images.
  struct node_state {
    std::optional<node_id> parent;
    std::optional<bytes> order_key;
    std::optional<bytes> payload;
    std::optional<Key> writer;
    std::optional<dot> arrival;                               // the op that attached it (record_relocation)
    boost::container::small_vector<change_entry, 2> summary;  // sorted by replica index
    std::optional<version_vector_type> exact;                 // summary ∩ tracked gaps; rare
    std::optional<version_vector_type> deleted_at;
  };
  struct cached {
    node_state s;
    tomb_state tomb = tomb_state::not_deleted;
    bool dirty = false;
    bool stored = false;           // the tables hold a row for it (loaded, or written in this transaction)
    bool moved = false;            // parent or order key changed since the row was last read or written
    mutable bool used = false;     // read since the last eviction pass (second chance)
    std::uint64_t created_in = 0;  // op_serial_ of the op that created it (0: older than this session)
    std::uint64_t imaged_at = 0;   // op_serial_ of the journal record holding this row's before-image
  };
  struct undo_record {
    Key key;
    head_type before;
    std::vector<std::pair<node_id, std::optional<node_state>>> images;  // none: the op created it
  };

  static constexpr std::uint64_t max_seq = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  // 2: rows record their arrival and parents no longer hold their children's (record_relocation).
  // Tables of format 1 are rebuilt from the log at the first writable open.
  static constexpr std::uint8_t meta_format = 2;
  static constexpr std::size_t journal_chunk_ops = 128;

  [[nodiscard]] Tables* checked_tables() const {
    if (!tables_) throw std::logic_error("table_store: used before bind()");
    return &*tables_;
  }
  // Adds the dot (replica by table index) to h's summary, and to its exact dots if tracked.
  void record_dot(handle h, std::uint32_t ri, std::uint64_t counter) {
    const cached& now = row(h);
    const auto it = std::lower_bound(now.s.summary.begin(), now.s.summary.end(), ri,
                                     [](const change_entry& x, std::uint32_t v) { return x.replica < v; });
    const bool raises = it == now.s.summary.end() || it->replica != ri || it->max < counter;
    const replica_type& r = replicas_[ri];
    const bool exact = !tracked_gaps_.empty() && tracked_gaps_.contains(r, counter) &&
                       !(now.s.exact && now.s.exact->contains(r, counter));
    if (!raises && !exact) return;
    const auto at = it - now.s.summary.begin();
    cached& e = change(h.id);
    if (raises) {
      if (at < static_cast<std::ptrdiff_t>(e.s.summary.size()) &&
          e.s.summary[static_cast<std::size_t>(at)].replica == ri)
        e.s.summary[static_cast<std::size_t>(at)].max = counter;
      else
        e.s.summary.insert(e.s.summary.begin() + at, change_entry{ri, counter});
    }
    if (exact) {
      if (!e.s.exact) e.s.exact.emplace();
      e.s.exact->observe(r, counter);
    }
    invalidate_upwards(h.id);
  }
  [[nodiscard]] std::uint32_t replica_index(const replica_type& r) {
    return replicas_[op_replica_] == r ? op_replica_ : intern(r);
  }
  [[nodiscard]] static storage_error corrupt(const std::string& what) {
    return storage_error("table_store", "corrupt_row", what, false);
  }

  // ---- the cache -------------------------------------------------------------------------------

  // An op looks its two nodes up many times: the last two rows found are remembered (the map's
  // elements stay put until erased, and every erase forgets them).
  [[nodiscard]] cached* lookup(node_id id) const {
    for (const recent_row& m : recent_)
      if (m.row && m.id == id) return m.row;
    if (const auto it = cache_.find(id); it != cache_.end()) {
      it->second.used = true;
      return remember(id, it->second);
    }
    if (absent_.contains(id)) return nullptr;
    auto r = checked_tables()->load(id);
    if (!r) return nullptr;
    return remember(id, cache_.try_emplace(id, decode_row(*r)).first->second);
  }
  cached* remember(node_id id, cached& e) const {
    recent_[recent_next_] = {id, &e};
    recent_next_ ^= 1;
    return &e;
  }
  void forget_recent() const noexcept { recent_ = {}; }
  [[nodiscard]] cached& row(handle h) const {
    cached* e = lookup(h.id);
    if (!e) throw corrupt("node " + to_hex(h.id) + " has no row in the tree tables");
    return *e;
  }
  void mark_dirty(node_id id, cached& e) const {
    if (!e.dirty) dirty_.push_back(id);
    e.dirty = true;
  }
  [[nodiscard]] bool journaling() const noexcept { return journal_limit_ > 0 && !pending_.empty() && !undoing_; }
  // The row about to change: its before-image joins the current op's record (once per op).
  cached& change(node_id id) {
    cached& e = row(handle{id, true});
    if (journaling() && e.imaged_at != op_serial_) {
      pending_.back().images.push_back({id, e.s});
      e.imaged_at = op_serial_;
    }
    mark_dirty(id, e);
    return e;
  }
  void undecide(node_id id, cached& e) const {
    e.tomb = e.s.deleted_at ? tomb_state::undecided : tomb_state::not_deleted;
    if (e.s.deleted_at) undecided_.insert(id);
    mark_dirty(id, e);
  }
  // A change at or below `id` may change S of it and of each ancestor: their verdicts are undecided.
  void invalidate_upwards(node_id id) {
    if (deleted_nodes_ == 0) return;
    std::uint64_t steps = 0;
    for (std::optional<node_id> x = id; x; ++steps) {
      cached& e = row(handle{*x, true});
      if (e.s.deleted_at && e.tomb != tomb_state::undecided) undecide(*x, e);
      x = e.s.parent;
      if (steps > node_count_ + 2) throw corrupt("the parent chain of " + to_hex(id) + " has a cycle");
    }
  }
  // Second chance: rows not read since the last pass go first; if that is not enough, any clean
  // row. Called only where nothing unwritten is cached and no caller holds a reference.
  void evict() const { evict(cache_limit_ - cache_limit_ / 4); }
  void evict(std::size_t target) const {
    forget_recent();
    for (auto it = cache_.begin(); it != cache_.end();)
      if (!it->second.used && !it->second.dirty && !is_reserved(it->first))
        it = cache_.erase(it);
      else
        (it++)->second.used = false;
    for (auto it = cache_.begin(); it != cache_.end() && cache_.size() > target;)
      it = it->second.dirty || is_reserved(it->first) ? std::next(it) : cache_.erase(it);
    if (absent_.size() > cache_limit_) absent_.clear();
  }
  void drop_rows() const {
    forget_recent();
    cache_.clear();
    absent_.clear();
  }
  void drop_cache() const {
    drop_rows();
    dirty_.clear();
    pending_.clear();
    undecided_.clear();
  }

  void write_dirty_rows() const {
    if (dirty_.empty()) return;
    // Rows in place under the same parent change no index entry: only their state is rewritten.
    std::vector<tree_row> placed;
    std::vector<tree_row> in_place;
    placed.reserve(dirty_.size());
    for (const node_id& id : dirty_) {
      const auto it = cache_.find(id);
      if (it == cache_.end() || !it->second.dirty) continue;  // undone creation, or listed twice
      cached& e = it->second;
      (e.stored && !e.moved ? in_place : placed).push_back(encode_row(id, e));
      e.dirty = e.moved = false;
      e.stored = true;
    }
    dirty_.clear();
    if (!placed.empty()) tables_->put_all(placed);
    if (!in_place.empty()) tables_->update_states(in_place);
  }
  // Chunks of at most journal_chunk_ops ops, so that rewinding k ops reads and rewrites O(k + that)
  // bytes however large the transaction was.
  void write_journal_chunk() {
    for (std::size_t from = 0; from < pending_.size(); from += journal_chunk_ops) {
      const std::size_t to = std::min(pending_.size(), from + journal_chunk_ops);
      tables_->journal_append(encode_chunk(std::span<const undo_record>(pending_.data() + from, to - from)));
    }
    pending_.clear();
  }
  // Every verdict left undecided by this transaction, decided on rows that are all written.
  void decide_verdicts() {
    while (!undecided_.empty()) {
      write_dirty_rows();
      const std::vector<node_id> ids(undecided_.begin(), undecided_.end());
      undecided_.clear();
      for (const node_id& id : ids)
        if (cached* e = lookup(id); e && e->tomb == tomb_state::undecided) (void)is_tombstoned(handle{id, true});
    }
    write_dirty_rows();
  }

  [[nodiscard]] std::vector<tree_child> children_rows(node_id p) const {
    write_dirty_rows();
    return checked_tables()->children(p);
  }
  template <class F>
  void for_each_row_page(F&& f) const {
    write_dirty_rows();
    std::optional<node_id> after;
    for (;;) {
      const std::vector<tree_row> page = checked_tables()->rows_after(after, 1024);
      for (const tree_row& r : page) f(r);
      if (page.size() < 1024) return;
      after = page.back().id;
    }
  }
  // The rule-6 state of a node without caching it (subtree walks must not fill the cache).
  template <class Visit>
  void visit_subtree(node_id top, Visit&& visit) const {
    std::vector<node_id> stack{top};
    while (!stack.empty()) {
      const node_id id = stack.back();
      stack.pop_back();
      std::optional<cached> loaded;
      const cached* e = nullptr;
      if (const auto it = cache_.find(id); it != cache_.end()) {
        e = &it->second;
      } else if (auto r = checked_tables()->load(id)) {
        loaded.emplace(decode_row(*r));
        e = &*loaded;
      } else {
        throw corrupt("node " + to_hex(id) + " is listed as a child but has no row");
      }
      if (!visit(e->s)) return;
      if (id == trash_node) continue;
      for (const tree_child& c : children_rows(id)) stack.push_back(c.id);
    }
  }
  [[nodiscard]] bool deleter_saw_whole_subtree(node_id id, const node_state& n) const {
    const version_vector_type& seen = *n.deleted_at;
    const std::vector<std::uint64_t> seen_max = detail::greatest_seen(seen, replica_ids_, replicas_.size());
    bool all = true;
    visit_subtree(id, [&](const node_state& m) {
      for (const change_entry& c : m.summary)
        if (c.max > seen_max[c.replica]) return all = false;
      if (m.exact && !seen.is_aware_of(*m.exact)) return all = false;
      if (m.writer && !seen.contains(m.writer->replica, m.writer->counter)) return all = false;
      return true;
    });
    return all;
  }
  std::uint32_t intern(const replica_type& r) {
    const auto [it, inserted] = replica_ids_.try_emplace(r, static_cast<std::uint32_t>(replicas_.size()));
    if (inserted) replicas_.push_back(r);
    return it->second;
  }

  // ---- undo ------------------------------------------------------------------------------------

  // Three passes, so that every walk up the tree sees rows that exist: verdicts above where the
  // op left each row, then the images, then verdicts above where the rows are again.
  void undo(const undo_record& rec) {
    undoing_ = true;
    for (const auto& image : rec.images)
      if (const auto& p = row(handle{image.first, true}).s.parent) invalidate_upwards(*p);
    for (auto it = rec.images.rbegin(); it != rec.images.rend(); ++it) {
      const node_id id = it->first;
      cached& e = row(handle{id, true});
      if (e.s.deleted_at) --deleted_nodes_;
      if (!it->second) {  // created by this op: gone again
        forget_recent();
        cache_.erase(id);
        tables_->erase(id);
        absent_.insert(id);
        --node_count_;
        continue;
      }
      e.s = *it->second;
      e.moved = true;  // (conservative: the image may hold another parent)
      if (e.s.deleted_at) ++deleted_nodes_;
      undecide(id, e);
    }
    for (const auto& image : rec.images)
      if (image.second) invalidate_upwards(image.first);
    applied_.erase(rec.key.replica, rec.key.counter);
    head_ = rec.before;
    undoing_ = false;
  }

  // ---- encodings -------------------------------------------------------------------------------

  static void optional_bytes(detail::binary_writer& w, const std::optional<bytes>& b) {
    w.u8(b ? 1 : 0);
    if (b) w.byte_string(*b);
  }
  [[nodiscard]] static std::optional<bytes> read_optional_bytes(detail::binary_reader& r) {
    const std::uint8_t present = r.u8();
    if (present > 1) throw detail::decode_failure("bad presence flag");
    return present ? std::optional<bytes>(bytes(r.byte_string())) : std::nullopt;
  }
  [[nodiscard]] auto write_replica_index() const {
    return [this](detail::binary_writer& w, const replica_type& r) { w.varint(replica_ids_.at(r)); };
  }
  [[nodiscard]] auto read_replica_index() const {
    return [this](detail::binary_reader& r) -> const replica_type& {
      const std::uint64_t index = r.varint();
      if (index >= replicas_.size()) throw detail::decode_failure("version vector names an unknown replica");
      return replicas_[static_cast<std::size_t>(index)];
    };
  }

  // The state column: summary, then flags and the rare parts; replicas by table index.
  enum state_flags : std::uint8_t { has_exact = 1, has_deleted = 2, has_writer = 4, has_arrival = 8 };
  void encode_state(detail::binary_writer& w, const node_state& s) const {
    w.varint(s.summary.size());
    for (const change_entry& c : s.summary) {
      w.varint(c.replica);
      w.varint(c.max);
    }
    w.u8(static_cast<std::uint8_t>((s.exact ? has_exact : 0) | (s.deleted_at ? has_deleted : 0) |
                                   (s.writer ? has_writer : 0) | (s.arrival ? has_arrival : 0)));
    if (s.exact) encode_version_vector(w, *s.exact, write_replica_index());
    if (s.deleted_at) encode_version_vector(w, *s.deleted_at, write_replica_index());
    if (s.writer) {
      w.varint(s.writer->lamport);
      w.varint(replica_ids_.at(s.writer->replica));
      w.varint(s.writer->counter);
    }
    if (s.arrival) {
      w.varint(s.arrival->replica);
      w.varint(s.arrival->counter);
    }
  }
  void decode_state(detail::binary_reader& r, node_state& s) const {
    const std::uint64_t entries = r.varint();
    if (entries > replicas_.size()) throw detail::decode_failure("more summary entries than replicas");
    for (std::uint64_t i = 0; i < entries; ++i) {
      const std::uint64_t replica = r.varint();
      const std::uint64_t max = r.varint();
      if (replica >= replicas_.size() || max == 0 || (i > 0 && replica <= s.summary.back().replica))
        throw detail::decode_failure("malformed change summary");
      s.summary.push_back({static_cast<std::uint32_t>(replica), max});
    }
    const std::uint8_t flags = r.u8();
    if (flags & ~(has_exact | has_deleted | has_writer | has_arrival))
      throw detail::decode_failure("unknown state flags");
    if (flags & has_exact) s.exact = decode_version_vector<replica_type>(r, read_replica_index());
    if (flags & has_deleted) s.deleted_at = decode_version_vector<replica_type>(r, read_replica_index());
    if (s.deleted_at && s.deleted_at->empty()) throw detail::decode_failure("empty deleted_at");
    if (flags & has_writer) {
      Key k;
      k.lamport = r.varint();
      const std::uint64_t replica = r.varint();
      if (replica >= replicas_.size()) throw detail::decode_failure("payload writer names an unknown replica");
      k.replica = replicas_[static_cast<std::size_t>(replica)];
      k.counter = r.varint();
      s.writer = std::move(k);
    }
    if (flags & has_arrival) {
      const std::uint64_t replica = r.varint();
      const std::uint64_t counter = r.varint();
      if (replica >= replicas_.size() || counter == 0) throw detail::decode_failure("malformed arrival dot");
      s.arrival = dot{static_cast<std::uint32_t>(replica), counter};
    }
  }

  [[nodiscard]] tree_row encode_row(node_id id, const cached& e) const {
    tree_row out{id, e.s.parent, e.s.order_key, e.tomb, e.s.payload, {}};
    detail::binary_writer w(out.state);
    encode_state(w, e.s);
    return out;
  }
  [[nodiscard]] cached decode_row(const tree_row& row) const {
    cached e;
    try {
      e.s.parent = row.parent;
      e.s.order_key = row.order_key;
      e.s.payload = row.payload;
      detail::binary_reader r(row.state);
      decode_state(r, e.s);
      if (!r.at_end()) throw detail::decode_failure("trailing bytes in the state column");
      if (static_cast<std::uint8_t>(row.tomb) > 3) throw detail::decode_failure("unknown tomb state");
      if (e.s.parent.has_value() != e.s.order_key.has_value())
        throw detail::decode_failure("a parent without an order key or the reverse");
    } catch (const detail::decode_failure& f) {
      throw corrupt("the row of node " + to_hex(row.id) + " cannot be decoded: " + f.what());
    }
    e.stored = true;
    e.tomb = e.s.deleted_at ? row.tomb : tomb_state::not_deleted;
    if (e.tomb == tomb_state::not_deleted && e.s.deleted_at) e.tomb = tomb_state::undecided;
    if (e.tomb == tomb_state::undecided) undecided_.insert(row.id);
    return e;
  }

  void encode_image(detail::binary_writer& w, node_id id, const std::optional<node_state>& s) const {
    detail::encode_node(w, id);
    w.u8(s ? 1 : 0);
    if (!s) return;
    w.u8(s->parent ? 1 : 0);
    if (s->parent) detail::encode_node(w, *s->parent);
    optional_bytes(w, s->order_key);
    optional_bytes(w, s->payload);
    encode_state(w, *s);
  }
  [[nodiscard]] journal_chunk encode_chunk(std::span<const undo_record> recs) const {
    journal_chunk c;
    c.first_seq = recs.front().before.seq + 1;
    c.last_seq = recs.back().before.seq + 1;
    detail::binary_writer w(c.ops);
    w.varint(recs.size());
    for (const undo_record& rec : recs) {
      encode_key(w, rec.key);
      w.u8(rec.before.key ? 1 : 0);
      if (rec.before.key) encode_key(w, *rec.before.key);
      w.varint(rec.before.seq);
      w.varint(rec.images.size());
      for (const auto& [id, s] : rec.images) encode_image(w, id, s);
    }
    return c;
  }
  [[nodiscard]] std::vector<undo_record> decode_chunk(const journal_chunk& c) const {
    std::vector<undo_record> recs;
    try {
      detail::binary_reader r(c.ops);
      const std::uint64_t n = r.varint();
      if (n > r.remaining()) throw detail::decode_failure("op count exceeds the chunk");
      for (std::uint64_t i = 0; i < n; ++i) {
        undo_record rec{decode_key<Key>(r), {}, {}};
        if (r.u8() == 1) rec.before.key = decode_key<Key>(r);
        rec.before.seq = r.varint();
        const std::uint64_t images = r.varint();
        if (images > r.remaining()) throw detail::decode_failure("image count exceeds the chunk");
        for (std::uint64_t j = 0; j < images; ++j) {
          const node_id id = detail::decode_node(r);
          if (r.u8() == 0) {
            rec.images.push_back({id, std::nullopt});
            continue;
          }
          node_state s;
          if (r.u8() == 1) s.parent = detail::decode_node(r);
          s.order_key = read_optional_bytes(r);
          s.payload = read_optional_bytes(r);
          decode_state(r, s);
          rec.images.push_back({id, std::move(s)});
        }
        recs.push_back(std::move(rec));
      }
      if (!r.at_end()) throw detail::decode_failure("trailing bytes");
      if (recs.empty() || recs.front().before.seq + 1 != c.first_seq || recs.back().before.seq + 1 != c.last_seq)
        throw detail::decode_failure("the chunk's ops do not match its positions");
    } catch (const detail::decode_failure& f) {
      throw corrupt("undo journal chunk ending at op " + std::to_string(c.last_seq) +
                    " cannot be decoded: " + f.what());
    }
    return recs;
  }

  // Metadata: format, head, replica table, folded version, tracked gaps, counts, flags.
  void write_meta(std::string& out) const {
    detail::binary_writer w(out);
    w.u8(meta_format);
    w.u8(head_.key ? 1 : 0);
    if (head_.key) encode_key(w, *head_.key);
    w.varint(head_.seq);
    w.varint(replicas_.size());
    for (const replica_type& r : replicas_) w.byte_string(replica_codec<replica_type>::to_bytes(r));
    encode_version_vector(w, applied_);
    encode_version_vector(w, tracked_gaps_);
    w.varint(node_count_);
    w.varint(deleted_nodes_);
    w.u8(rebuild_required_ ? 1 : 0);
    w.varint(journal_limit_);
  }
  [[nodiscard]] static bool meta_is_older_format(std::string_view blob) noexcept {
    return !blob.empty() && static_cast<std::uint8_t>(blob.front()) < meta_format;
  }
  void read_meta(std::string_view blob) {
    detail::binary_reader r(blob);
    read_meta_from(r);
    if (!r.at_end()) throw detail::decode_failure("trailing bytes after the tree metadata");
  }
  void read_meta_from(detail::binary_reader& r) {
    if (r.u8() != meta_format) throw detail::decode_failure("unknown tree metadata format");
    head_type head;
    if (r.u8() == 1) head.key = decode_key<Key>(r);
    head.seq = r.varint();
    const std::uint64_t n = r.varint();
    if (n > r.remaining() || n == 0) throw detail::decode_failure("bad replica table size");
    replicas_.clear();
    replica_ids_.clear();
    for (std::uint64_t i = 0; i < n; ++i)
      if (intern(replica_codec<replica_type>::from_bytes(r.byte_string())) != i)
        throw detail::decode_failure("the replica table lists a replica twice");
    applied_ = decode_version_vector<replica_type>(r);
    tracked_gaps_ = decode_version_vector<replica_type>(r);
    node_count_ = r.varint();
    deleted_nodes_ = r.varint();
    rebuild_required_ = r.u8() == 1;
    journal_limit_ = r.varint();
    head_ = head;
    op_replica_ = 0;
  }

  mutable std::optional<Tables> tables_;  // mutable: reads write pending rows before a query
  mutable std::unordered_map<node_id, cached> cache_;
  struct recent_row {
    node_id id;
    cached* row = nullptr;
  };
  mutable std::array<recent_row, 2> recent_{};  // lookup()'s memory; see there
  mutable unsigned recent_next_ = 0;
  mutable std::unordered_set<node_id> absent_;     // known not to exist (prefetch, undone creations)
  mutable std::vector<node_id> dirty_;             // rows changed since the last write
  mutable std::unordered_set<node_id> undecided_;  // verdicts to decide before commit
  mutable std::vector<undo_record> pending_;       // journal records not written yet
  mutable std::size_t cache_limit_ = default_cache_limit;
  std::vector<replica_type> replicas_;
  std::unordered_map<replica_type, std::uint32_t> replica_ids_;
  std::uint32_t op_replica_ = 0;
  version_vector_type applied_;
  version_vector_type tracked_gaps_;
  std::uint64_t node_count_ = 0;
  std::uint64_t deleted_nodes_ = 0;
  bool rebuild_required_ = false;
  head_type head_;
  std::uint64_t journal_limit_ = 0;
  std::uint64_t op_serial_ = 0;
  bool undoing_ = false;
};

}  // namespace treecrdt
