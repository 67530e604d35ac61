#pragma once
// The default materialized store: nodes in a stable deque, a hash index by id, and per node an
// intrusive red-black tree of its children ordered by (order_key, node id). Attach/detach are
// O(log k) in the number of siblings and never copy or scan a sibling list; parent walks are
// pointer chases.
//
// Tombstone summary: rule 6 needs S(n) over n's whole subtree, but only for nodes that have a
// `deleted_at`. Each such node caches its verdict; any change that can alter S of a node (a new
// dot in last_change, a payload write, a subtree moving in or out) clears the cached verdict of
// every deleted ancestor on the way to the root — O(depth), and skipped entirely while no node
// has ever been deleted. A verdict is recomputed (one subtree walk) only when it is read again.
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

#include <boost/intrusive/set.hpp>

#include "../detail/binary.hpp"
#include "../op_codec.hpp"
#include "store_concepts.hpp"

namespace treecrdt {

template <OpKey Key>
class memory_store {
 public:
  using key_type = Key;
  using replica_type = replica_of<Key>;
  using version_vector_type = version_vector<replica_type>;

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

  struct node_rec : child_hook {
    node_rec(node_id i, std::uint32_t pos) : id(i), slot(pos) {}
    node_id id;
    std::uint32_t slot;  // position in nodes_ and in parent_slots_
    node_rec* parent = nullptr;
    std::optional<bytes> order_key;
    child_set children;
    version_vector_type last_change;
    std::unique_ptr<version_vector_type> deleted_at;  // rare: keep nodes small
    std::optional<bytes> payload;
    std::optional<Key> payload_writer;
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
      if (nodes_.size() >= no_parent) throw std::length_error("memory_store: more than 2^32 - 1 nodes");
      it->second = &nodes_.emplace_back(id, static_cast<std::uint32_t>(nodes_.size()));
      parent_slots_.push_back(no_parent);
      verdicts_.push_back(tomb_verdict::not_deleted);
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

  /// Rule 1 over the compact parent array: the same walk as treecrdt::would_cycle, but each step
  /// reads 4 bytes from an array that stays in cache instead of a whole node record. The fold uses
  /// it in place of the generic walk. Complexity: O(depth of p).
  [[nodiscard]] bool would_cycle(handle n, handle p) const noexcept {
    for (std::uint32_t x = p->slot; x != no_parent; x = parent_slots_[x])
      if (x == n->slot) return true;
    return false;
  }
  [[nodiscard]] handle trash() const noexcept { return trash_; }

  void attach(handle h, handle p, const bytes& order_key) {
    if (h->parent) {
      invalidate_upwards(h->parent);
      unlink_from_parent(h);
    }
    h->order_key = order_key;
    link_to_parent(h, p);
    invalidate_upwards(h);
  }

  void record_change(handle h, const replica_type& r, std::uint64_t counter) {
    h->last_change.observe(r, counter);
    invalidate_upwards(h);
  }

  void merge_deleted(handle h, const replica_type& r, std::uint64_t counter, const version_vector_type* known) {
    if (!h->deleted_at) {
      h->deleted_at = std::make_unique<version_vector_type>();
      ++deleted_nodes_;
    }
    h->deleted_at->observe(r, counter);
    if (known) h->deleted_at->merge(*known);
    verdicts_[h->slot] = tomb_verdict::unknown;
  }

  [[nodiscard]] const std::optional<Key>& payload_writer(handle h) const noexcept { return h->payload_writer; }

  void set_payload(handle h, std::optional<bytes> value, const Key& writer) {
    h->payload = std::move(value);
    h->payload_writer = writer;
    invalidate_upwards(h);
  }

  // ---- reads -----------------------------------------------------------------------------------

  [[nodiscard]] bool is_tombstoned(handle h) const {
    if (!h->deleted_at) return false;
    tomb_verdict& v = verdicts_[h->slot];
    if (v == tomb_verdict::unknown) v = deleter_saw_whole_subtree(h) ? tomb_verdict::tombstoned : tomb_verdict::alive;
    return v == tomb_verdict::tombstoned;
  }

  /// S(n): the union of last_change and payload-writer dots over n and its physical descendants.
  [[nodiscard]] version_vector_type subtree_state(handle h) const {
    version_vector_type s;
    visit_subtree(h, [&](const node_rec& m) {
      s.merge(m.last_change);
      if (m.payload_writer) s.observe(m.payload_writer->replica, m.payload_writer->counter);
      return true;
    });
    return s;
  }

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

  // ---- snapshots -------------------------------------------------------------------------------

  void snapshot(std::string& out) const {
    detail::binary_writer w(out);
    w.varint(nodes_.size());
    for (const node_rec& n : nodes_) {
      detail::encode_node(w, n.id);
      w.u8(n.parent ? 1 : 0);
      if (n.parent) detail::encode_node(w, n.parent->id);
      w.u8(n.order_key ? 1 : 0);
      if (n.order_key) w.byte_string(*n.order_key);
      encode_version_vector(w, n.last_change);
      w.u8(n.deleted_at ? 1 : 0);
      if (n.deleted_at) encode_version_vector(w, *n.deleted_at);
      w.u8(n.payload ? 1 : 0);
      if (n.payload) w.byte_string(*n.payload);
      w.u8(n.payload_writer ? 1 : 0);
      if (n.payload_writer) encode_key(w, *n.payload_writer);
    }
  }

  void restore(std::string_view in) {
    clear();
    try {
      detail::binary_reader r(in);
      const std::uint64_t count = r.varint();
      if (count > r.remaining()) throw detail::decode_failure("node count exceeds snapshot size");
      std::vector<std::pair<node_rec*, node_id>> parents;
      for (std::uint64_t i = 0; i < count; ++i) {
        node_rec* n = ensure(detail::decode_node(r));
        if (r.u8()) parents.emplace_back(n, detail::decode_node(r));
        if (r.u8()) n->order_key = bytes(r.byte_string());
        n->last_change = decode_version_vector<replica_type>(r);
        if (r.u8()) {
          n->deleted_at = std::make_unique<version_vector_type>(decode_version_vector<replica_type>(r));
          ++deleted_nodes_;
          verdicts_[n->slot] = tomb_verdict::unknown;
        }
        if (r.u8()) n->payload = bytes(r.byte_string());
        if (r.u8()) n->payload_writer = decode_key<Key>(r);
      }
      if (!r.at_end()) throw detail::decode_failure("trailing bytes after snapshot");
      if (index_.size() != count) throw detail::decode_failure("snapshot lists a node twice or lacks ROOT/TRASH");
      for (auto [n, pid] : parents) {
        node_rec* p = find(pid);
        if (!p || !n->order_key || p == n) throw detail::decode_failure("snapshot names an unknown parent");
        link_to_parent(n, p);
      }
    } catch (...) {
      clear();
      throw;
    }
  }

  void clear() {
    unlink_all();
    nodes_.clear();
    parent_slots_.clear();
    verdicts_.clear();
    index_.clear();
    deleted_nodes_ = 0;
    root_ = ensure(root_node);
    trash_ = ensure(trash_node);
  }

 private:
  void link_to_parent(handle h, handle p) {
    h->parent = p;
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
    return visit_subtree(h, [&](const node_rec& m) {
      if (!seen.is_aware_of(m.last_change)) return false;
      return !m.payload_writer || seen.contains(m.payload_writer->replica, m.payload_writer->counter);
    });
  }

  static constexpr std::uint32_t no_parent = ~std::uint32_t{0};
  std::deque<node_rec> nodes_;                  // stable addresses: handles and intrusive links point into it
  std::vector<std::uint32_t> parent_slots_;     // parent_slots_[slot] = parent's slot: a cache-dense copy
  mutable std::vector<tomb_verdict> verdicts_;  // by slot; mutable: reads fill the cache
  std::unordered_map<node_id, node_rec*> index_;
  std::size_t deleted_nodes_ = 0;
  node_rec* root_ = nullptr;
  node_rec* trash_ = nullptr;
};

static_assert(MaterializedStore<memory_store<default_op_key>>);
static_assert(MaterializedStore<memory_store<compact_op_key>>);

}  // namespace treecrdt
