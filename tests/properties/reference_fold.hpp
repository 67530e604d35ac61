#pragma once
// A deliberately simple reference model of SPEC §5 (the fold) and §6 (canonical export), written
// straight from the text. It shares no algorithm with the library: its own key order, dots as plain
// sets, nodes in a std::map, cycle checks and tombstone tests recomputed literally every time.
// Obvious over fast: it is only ever run on test-sized histories.
//
// From the library it uses plain data types only: op<Key> (read), node_id, canonical_export (written)
// and replica_codec<R>::to_bytes (to name a replica in a dot).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "treecrdt/canonical_export.hpp"
#include "treecrdt/node_id.hpp"
#include "treecrdt/op.hpp"

namespace treecrdt_test {

/// A dot `(replica bytes, counter)`. Only membership matters, so std::pair's own order is fine here.
using ref_dot = std::pair<treecrdt::bytes, std::uint64_t>;
using dot_set = std::set<ref_dot>;

/// Unsigned-byte lexicographic order, a proper prefix first (SPEC §2), spelled out by hand.
[[nodiscard]] inline bool ref_bytes_less(const treecrdt::bytes& a, const treecrdt::bytes& b) noexcept {
  const std::size_t common = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < common; ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

/// Replicas compare by their own type: bytes as unsigned bytes, integers as integers.
[[nodiscard]] inline bool ref_replica_less(const treecrdt::bytes& a, const treecrdt::bytes& b) noexcept {
  return ref_bytes_less(a, b);
}
[[nodiscard]] inline bool ref_replica_less(std::uint64_t a, std::uint64_t b) noexcept { return a < b; }

/// SPEC §2: op keys compare by lamport, then replica, then counter.
template <treecrdt::OpKey Key>
[[nodiscard]] bool ref_key_less(const Key& a, const Key& b) {
  if (a.lamport != b.lamport) return a.lamport < b.lamport;
  if (a.replica != b.replica) return ref_replica_less(a.replica, b.replica);
  return a.counter < b.counter;
}

template <treecrdt::OpKey Key>
[[nodiscard]] ref_dot ref_dot_of(const Key& k) {
  return {treecrdt::replica_codec<treecrdt::replica_of<Key>>::to_bytes(k.replica), k.counter};
}

/// Expands a version vector into the set of dots it stands for (SPEC §4): 1..frontier plus every
/// range. Fine for test-sized counters.
template <class Replica>
[[nodiscard]] dot_set ref_dots_of(const treecrdt::version_vector<Replica>& vv) {
  dot_set out;
  for (const auto& [replica, e] : vv.entries()) {
    const treecrdt::bytes r = treecrdt::replica_codec<Replica>::to_bytes(replica);
    for (std::uint64_t c = 1; c <= e.frontier; ++c) out.insert({r, c});
    for (const auto& range : e.ranges)
      for (std::uint64_t c = range.first; c <= range.last; ++c) out.insert({r, c});
  }
  return out;
}

/// The state of SPEC §5 and the fold that builds it.
template <treecrdt::OpKey Key>
class reference_model {
 public:
  using op_type = treecrdt::op<Key>;
  using node_id = treecrdt::node_id;

  struct node_state {
    std::optional<node_id> parent;
    std::optional<treecrdt::bytes> order_key;
    dot_set last_change;
    std::optional<dot_set> deleted_at;
    std::optional<treecrdt::bytes> payload;
    std::optional<Key> payload_writer;
  };

  /// Folds every distinct op of `ops` in ascending key order. Throws std::invalid_argument for an
  /// op the spec calls invalid or for two different ops with the same (replica, counter).
  explicit reference_model(std::vector<op_type> ops) {
    nodes_[treecrdt::root_node];
    for (const op_type& o : distinct_in_key_order(std::move(ops))) apply(o);
  }

  [[nodiscard]] const std::map<node_id, node_state>& nodes() const noexcept { return nodes_; }

  /// SPEC §5 rule 6, literally: deleted_at exists and contains S(n).
  [[nodiscard]] bool tombstoned(node_id n) const {
    const auto it = nodes_.find(n);
    if (it == nodes_.end() || !it->second.deleted_at) return false;
    const dot_set& deleted = *it->second.deleted_at;
    const dot_set s = subtree_dots(n);
    return std::includes(deleted.begin(), deleted.end(), s.begin(), s.end());
  }

  /// SPEC §6 children(p): physical children sorted by (order_key, node id), tombstoned ones left out.
  [[nodiscard]] std::vector<node_id> visible_children(node_id p) const {
    std::vector<node_id> kids;
    for (const auto& [id, st] : nodes_)
      if (st.parent == p && !tombstoned(id)) kids.push_back(id);
    std::sort(kids.begin(), kids.end(), [this](node_id a, node_id b) {
      const treecrdt::bytes ka = nodes_.at(a).order_key.value_or(treecrdt::bytes{});
      const treecrdt::bytes kb = nodes_.at(b).order_key.value_or(treecrdt::bytes{});
      if (ka != kb) return ref_bytes_less(ka, kb);
      return a < b;
    });
    return kids;
  }

  /// SPEC §6 canonical export, shaped as documented on treecrdt::canonical_export.
  [[nodiscard]] treecrdt::canonical_export export_canonical() const {
    treecrdt::canonical_export out;
    for (const auto& [id, st] : nodes_) {
      if (treecrdt::is_reserved(id)) continue;
      out.nodes.push_back({id, st.parent, st.order_key, tombstoned(id), st.payload});
    }
    out.children.emplace_back(treecrdt::root_node, visible_children(treecrdt::root_node));
    for (const auto& [id, st] : nodes_) {
      if (treecrdt::is_reserved(id)) continue;
      auto kids = visible_children(id);
      if (!kids.empty()) out.children.emplace_back(id, std::move(kids));
    }
    return out;
  }

 private:
  static void check_valid(const op_type& o) {
    using treecrdt::op_kind;
    const bool structural = o.kind != op_kind::payload;
    if (o.key.counter == 0) throw std::invalid_argument("reference_fold: counter 0");
    if (o.node == treecrdt::trash_node || (structural && o.node == treecrdt::root_node))
      throw std::invalid_argument("reference_fold: op targets a reserved node");
    if (o.kind == op_kind::delete_ && !o.known_state)
      throw std::invalid_argument("reference_fold: delete without known_state");
  }

  static std::vector<op_type> distinct_in_key_order(std::vector<op_type> ops) {
    std::map<ref_dot, op_type> by_id;
    for (op_type& o : ops) {
      check_valid(o);
      const ref_dot id = ref_dot_of(o.key);
      const auto found = by_id.find(id);
      if (found == by_id.end()) {
        by_id.emplace(id, std::move(o));
      } else if (!(found->second == o)) {
        throw std::invalid_argument("reference_fold: two different ops share one (replica, counter)");
      }
    }
    std::vector<op_type> out;
    for (auto& entry : by_id) out.push_back(std::move(entry.second));
    std::sort(out.begin(), out.end(), [](const op_type& a, const op_type& b) { return ref_key_less(a.key, b.key); });
    return out;
  }

  // Rule 0.
  node_state& ensure(node_id n) { return nodes_[n]; }

  // Rule 1: walk p, parent(p), ... looking for n.
  [[nodiscard]] bool cycle(node_id n, node_id p) const {
    if (treecrdt::is_reserved(p)) return false;
    std::set<node_id> seen;  // only a guard: the rules never build a cycle
    std::optional<node_id> at = p;
    while (at && !treecrdt::is_reserved(*at)) {
      if (*at == n) return true;
      if (!seen.insert(*at).second) throw std::logic_error("reference_fold: parent links form a cycle");
      at = nodes_.at(*at).parent;
    }
    return false;
  }

  void apply(const op_type& o) {
    using treecrdt::op_kind;
    const ref_dot d = ref_dot_of(o.key);
    switch (o.kind) {
      case op_kind::insert: {
        ensure(o.parent);
        ensure(o.node);
        if (o.parent != o.node && !cycle(o.node, o.parent)) {  // rule 2
          node_state& n = nodes_.at(o.node);
          n.parent = o.parent;
          n.order_key = o.order_key;
          n.last_change.insert(d);
          nodes_.at(o.parent).last_change.insert(d);
        }
        if (o.payload) write_payload(o.node, o.payload, o.key);
        break;
      }
      case op_kind::move: {  // rule 3
        ensure(o.parent);
        ensure(o.node);
        const bool to_trash = o.parent == treecrdt::trash_node;
        if (!to_trash && (o.parent == o.node || cycle(o.node, o.parent))) break;
        node_state& n = nodes_.at(o.node);
        const std::optional<node_id> old_parent = n.parent;
        n.parent = o.parent;
        n.order_key = o.order_key;
        n.last_change.insert(d);
        if (old_parent && *old_parent != treecrdt::trash_node) nodes_.at(*old_parent).last_change.insert(d);
        if (!to_trash) nodes_.at(o.parent).last_change.insert(d);
        break;
      }
      case op_kind::delete_:
      case op_kind::tombstone: {  // rule 4
        node_state& n = ensure(o.node);
        if (!n.deleted_at) n.deleted_at.emplace();
        n.deleted_at->insert(d);
        if (o.known_state) {
          const dot_set known = ref_dots_of(*o.known_state);
          n.deleted_at->insert(known.begin(), known.end());
        }
        break;
      }
      case op_kind::payload: {
        ensure(o.node);
        write_payload(o.node, o.payload, o.key);
        break;
      }
    }
  }

  // Rule 5: last writer wins by op key.
  void write_payload(node_id target, const std::optional<treecrdt::bytes>& value, const Key& k) {
    node_state& n = nodes_.at(target);
    if (n.payload_writer && !ref_key_less(*n.payload_writer, k)) return;
    n.payload = value;
    n.payload_writer = k;
  }

  // S(n) of rule 6: last_change and payload-writer dots of n and every physical descendant.
  [[nodiscard]] dot_set subtree_dots(node_id n) const {
    dot_set out;
    std::vector<node_id> todo{n};
    std::set<node_id> visited;
    while (!todo.empty()) {
      const node_id at = todo.back();
      todo.pop_back();
      if (!visited.insert(at).second) throw std::logic_error("reference_fold: parent links form a cycle");
      const node_state& st = nodes_.at(at);
      out.insert(st.last_change.begin(), st.last_change.end());
      if (st.payload_writer) out.insert(ref_dot_of(*st.payload_writer));
      for (const auto& [id, child] : nodes_)
        if (child.parent == at) todo.push_back(id);
    }
    return out;
  }

  std::map<node_id, node_state> nodes_;
};

/// The canonical export of the fold of `ops` (duplicates allowed, any order).
template <treecrdt::OpKey Key>
[[nodiscard]] treecrdt::canonical_export reference_fold(std::vector<treecrdt::op<Key>> ops) {
  return reference_model<Key>(std::move(ops)).export_canonical();
}

/// Checks the structural invariants any canonical export must have (SPEC §5/§6), on the export alone:
/// rows ascending without ROOT/TRASH; parent links free of cycles; each visible node listed exactly
/// once, under its physical parent; lists sorted by (order_key, id); no tombstoned child listed;
/// ROOT's list first, then non-empty lists ascending by parent id. Returns the first violation found.
[[nodiscard]] inline std::optional<std::string> export_invariant_violation(const treecrdt::canonical_export& ex) {
  using treecrdt::node_id;
  using treecrdt::to_hex;
  std::map<node_id, const treecrdt::export_row*> rows;
  for (std::size_t i = 0; i < ex.nodes.size(); ++i) {
    const auto& row = ex.nodes[i];
    if (treecrdt::is_reserved(row.node)) return "row for reserved node " + to_hex(row.node);
    if (i > 0 && !(ex.nodes[i - 1].node < row.node)) return "rows not strictly ascending at " + to_hex(row.node);
    if (row.parent.has_value() != row.order_key.has_value())
      return "parent and order_key not both present or both absent for " + to_hex(row.node);
    rows.emplace(row.node, &row);
  }
  for (const auto& [id, row] : rows) {
    std::set<node_id> seen;
    std::optional<node_id> at = row->parent;
    while (at && !treecrdt::is_reserved(*at)) {
      if (*at == id || !seen.insert(*at).second) return "parent links of " + to_hex(id) + " form a cycle";
      const auto next = rows.find(*at);
      if (next == rows.end()) return "parent " + to_hex(*at) + " of a node has no row";
      at = next->second->parent;
    }
  }
  if (ex.children.empty() || ex.children.front().first != treecrdt::root_node) return "ROOT's list is not first";
  std::set<node_id> listed;
  std::set<node_id> listed_parents;
  for (std::size_t i = 0; i < ex.children.size(); ++i) {
    const auto& [parent, kids] = ex.children[i];
    if (i > 0) {
      if (parent == treecrdt::root_node || parent == treecrdt::trash_node) return "reserved parent listed twice";
      if (kids.empty()) return "empty children list for " + to_hex(parent);
      if (i > 1 && !(ex.children[i - 1].first < parent)) return "children lists not ascending at " + to_hex(parent);
      if (!rows.count(parent)) return "children list for unknown node " + to_hex(parent);
    }
    listed_parents.insert(parent);
    for (std::size_t j = 0; j < kids.size(); ++j) {
      const node_id kid = kids[j];
      const auto row = rows.find(kid);
      if (row == rows.end()) return "listed child " + to_hex(kid) + " has no row";
      if (row->second->parent != parent) return "child " + to_hex(kid) + " listed under a non-parent " + to_hex(parent);
      if (row->second->tombstoned) return "tombstoned child " + to_hex(kid) + " listed";
      if (!listed.insert(kid).second) return "child " + to_hex(kid) + " listed twice";
      if (j > 0) {
        const auto& prev = *rows.at(kids[j - 1]);
        const auto& cur = *row->second;
        const bool ordered = ref_bytes_less(*prev.order_key, *cur.order_key) ||
                             (*prev.order_key == *cur.order_key && prev.node < cur.node);
        if (!ordered) return "children of " + to_hex(parent) + " not sorted at " + to_hex(kid);
      }
    }
  }
  // Completeness: every visible node under a listable parent appears in that parent's list.
  for (const auto& [id, row] : rows) {
    if (!row->parent || *row->parent == treecrdt::trash_node || row->tombstoned) continue;
    if (!listed.count(id)) return "visible child " + to_hex(id) + " missing from its parent's list";
  }
  return std::nullopt;
}

[[nodiscard]] inline bool reference_invariants_hold(const treecrdt::canonical_export& ex) {
  return !export_invariant_violation(ex).has_value();
}

}  // namespace treecrdt_test
