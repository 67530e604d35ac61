#pragma once
// Pieces of rule 6 (SPEC §5) that every store keeping per-replica change summaries shares
// (memory_store, table_store): what a local delete records, the greatest dot a delete saw of each
// interned replica, and widening the exactly-tracked dots when a delete declares new gaps.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "../version_vector.hpp"

namespace treecrdt::detail {

/// Adds every dot `from` holds of replica r to `to`.
template <class Replica>
void copy_replica_dots(const version_vector<Replica>& from, const Replica& r, version_vector<Replica>& to) {
  const auto it = from.entries().find(r);
  if (it == from.entries().end()) return;
  to.add_range(r, 1, it->second.frontier);
  for (const counter_range& cr : it->second.ranges) to.add_range(r, cr.first, cr.last);
}

/// What a local delete records (SPEC §7): for every replica with a dot in the subtree — an entry of
/// a node's change summary (by interned index) or a payload writer — every dot of it in `applied`.
/// `visit_subtree(on_node)` calls on_node(summary, writer replica or nullptr) for each node.
template <class Replica, class VisitSubtree>
[[nodiscard]] version_vector<Replica> delete_context(const version_vector<Replica>& applied,
                                                     const std::vector<Replica>& replicas,
                                                     VisitSubtree&& visit_subtree) {
  std::vector<bool> in_subtree(replicas.size(), false);
  version_vector<Replica> known;
  visit_subtree([&](const auto& summary, const Replica* writer) {
    for (const auto& entry : summary) in_subtree[entry.replica] = true;
    if (writer) copy_replica_dots(applied, *writer, known);
  });
  for (std::size_t i = 0; i < replicas.size(); ++i)
    if (in_subtree[i]) copy_replica_dots(applied, replicas[i], known);
  return known;
}

/// Per interned replica (by index), the greatest counter `seen` holds of it (0 for none).
template <class Replica>
[[nodiscard]] std::vector<std::uint64_t> greatest_seen(const version_vector<Replica>& seen,
                                                       const std::unordered_map<Replica, std::uint32_t>& ids,
                                                       std::size_t replicas) {
  std::vector<std::uint64_t> out(replicas, 0);
  for (const auto& [r, e] : seen.entries())
    if (const auto it = ids.find(r); it != ids.end())
      out[it->second] = e.ranges.empty() ? e.frontier : e.ranges.back().last;
  return out;
}

/// After a delete merged into `deleted_at`: if it declares gaps not tracked yet, tracks every dot
/// of those replicas from their lowest gap on (so a later gap of the same replica needs no other
/// fold) and returns true: verdicts are exact again only after a fold from the start.
template <class Replica>
[[nodiscard]] bool track_declared_gaps(const version_vector<Replica>& deleted_at, version_vector<Replica>& tracked) {
  const version_vector<Replica> gaps = deleted_at.gaps();
  if (gaps.empty() || tracked.is_aware_of(gaps)) return false;
  for (const auto& [r, e] : gaps.entries())
    tracked.add_range(r, e.frontier > 0 ? 1 : e.ranges.front().first, ~std::uint64_t{0});
  return true;
}

}  // namespace treecrdt::detail
