#pragma once
// Reads over a materialized store by node id (SPEC §6) and the canonical export.
#include <algorithm>
#include <optional>
#include <vector>

#include "canonical_export.hpp"
#include "store/store_concepts.hpp"

namespace treecrdt {

/// Visible children of p in sibling order; empty for an unknown node or TRASH. O(k) plus any
/// tombstone verdicts that must be recomputed.
template <MaterializedStore Store>
[[nodiscard]] std::vector<node_id> children_of(const Store& s, node_id parent) {
  std::vector<node_id> out;
  const auto p = s.find(parent);
  if (p != typename Store::handle{}) s.for_each_child(p, [&](auto c) { out.push_back(s.id_of(c)); });
  return out;
}

/// TRASH if n is tombstoned, else its physical parent; none for an unknown node or a placeholder.
template <MaterializedStore Store>
[[nodiscard]] std::optional<node_id> parent_of(const Store& s, node_id n) {
  const auto h = s.find(n);
  if (h == typename Store::handle{}) return std::nullopt;
  if (s.is_tombstoned(h)) return trash_node;
  const auto p = s.parent_of(h);
  if (p == typename Store::handle{}) return std::nullopt;
  return s.id_of(p);
}

template <MaterializedStore Store>
[[nodiscard]] std::optional<bytes> payload_of(const Store& s, node_id n) {
  const auto h = s.find(n);
  if (h == typename Store::handle{}) return std::nullopt;
  return s.payload(h);
}

template <MaterializedStore Store>
[[nodiscard]] bool is_tombstoned(const Store& s, node_id n) {
  const auto h = s.find(n);
  return h != typename Store::handle{} && s.is_tombstoned(h);
}

/// The canonical export through the store's handles: O(n log n).
template <MaterializedStore Store>
[[nodiscard]] canonical_export export_by_handles(const Store& s) {
  using handle = typename Store::handle;
  std::vector<handle> all;
  all.reserve(s.node_count());
  s.for_each_node([&](handle h) { all.push_back(h); });
  std::sort(all.begin(), all.end(), [&](handle a, handle b) { return s.id_of(a) < s.id_of(b); });

  canonical_export out;
  out.nodes.reserve(all.size());
  for (handle h : all) {
    const node_id id = s.id_of(h);
    if (id != root_node && id != trash_node) {
      const handle p = s.parent_of(h);
      out.nodes.push_back({id, p == handle{} ? std::nullopt : std::optional<node_id>(s.id_of(p)), s.order_key(h),
                           s.is_tombstoned(h), s.payload(h)});
    }
    if (id == trash_node) continue;
    std::vector<node_id> kids;
    s.for_each_child(h, [&](handle c) { kids.push_back(s.id_of(c)); });
    if (id == root_node || !kids.empty()) out.children.emplace_back(id, std::move(kids));
  }
  return out;
}

/// SPEC §6 canonical export; see canonical_export.hpp for the exact shape. O(n log n).
template <MaterializedStore Store>
[[nodiscard]] canonical_export export_canonical(const Store& s) {
  if constexpr (requires { s.export_canonical(); }) {
    return s.export_canonical();  // e.g. streamed from a database, without caching every node
  } else {
    return export_by_handles(s);
  }
}

}  // namespace treecrdt
