#pragma once
// The canonical export (SPEC §6): the comparable, byte-stable summary of a materialized tree.
#include <optional>
#include <utility>
#include <vector>

#include "bytes.hpp"
#include "node_id.hpp"

namespace treecrdt {

struct export_row {
  node_id node;
  std::optional<node_id> parent;  // physical parent (TRASH included); none for a placeholder
  std::optional<bytes> order_key;
  bool tombstoned = false;
  std::optional<bytes> payload;
  friend bool operator==(const export_row&, const export_row&) = default;
};

/// `nodes`: every node but ROOT and TRASH, ascending by id.
/// `children`: ROOT's visible children list (always present, possibly empty), then every other
/// node whose visible children list is non-empty, ascending by parent id; each list in sibling
/// order `(order_key, node id)` without tombstoned children. A tombstoned parent's list is
/// included too: its children are hidden only through it, not removed from it (SPEC §5 rule 6).
struct canonical_export {
  std::vector<export_row> nodes;
  std::vector<std::pair<node_id, std::vector<node_id>>> children;
  friend bool operator==(const canonical_export&, const canonical_export&) = default;
};

}  // namespace treecrdt
