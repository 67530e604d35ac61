#pragma once
// The ops a test saw acknowledged (the call that carried them returned), by op id, and what a log
// must look like given them: each acknowledged op stored exactly once with the same content, and a
// document over that log exporting the fold of the log (treecrdt::fold_from_start over a fresh
// memory_store of the ops in key order). Backend-neutral: the PostgreSQL killed-writer test uses it too.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "treecrdt/canonical_export.hpp"
#include "treecrdt/detail/hex.hpp"
#include "treecrdt/fold.hpp"
#include "treecrdt/op.hpp"
#include "treecrdt/reads.hpp"
#include "treecrdt/store/memory_store.hpp"

namespace treecrdt_test {

/// The canonical export of the fold of `ops` (any order, no two with the same id).
template <treecrdt::OpKey Key>
[[nodiscard]] treecrdt::canonical_export fold_export(std::vector<treecrdt::op<Key>> ops) {
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  treecrdt::memory_store<Key> store;
  treecrdt::fold_from_start(store, ops);
  return treecrdt::export_canonical(store);
}

/// The export as text, every field spelled out: equal texts mean equal exports. For exports that
/// cross a process boundary.
[[nodiscard]] inline std::string export_text(const treecrdt::canonical_export& e) {
  std::string out;
  const auto opt = [](const std::optional<treecrdt::bytes>& b) {
    return b ? "=" + treecrdt::detail::to_hex(*b) : std::string("-");
  };
  for (const auto& r : e.nodes)
    out += "node " + treecrdt::to_hex(r.node) + " parent " + (r.parent ? treecrdt::to_hex(*r.parent) : "-") + " key " +
           opt(r.order_key) + (r.tombstoned ? " tombstoned" : " live") + " payload " + opt(r.payload) + "\n";
  for (const auto& [parent, kids] : e.children) {
    out += "children " + treecrdt::to_hex(parent) + ":";
    for (const auto& k : kids) out += " " + treecrdt::to_hex(k);
    out += "\n";
  }
  return out;
}

/// Every op of a storage's log, in scan order.
template <class Storage>
[[nodiscard]] std::vector<treecrdt::op<typename Storage::key_type>> log_of(Storage& s) {
  std::vector<treecrdt::op<typename Storage::key_type>> out;
  s.scan_after(std::nullopt, [&](const auto& o) { out.push_back(o); });
  return out;
}

/// What comparing a log with the acknowledged ops found.
struct log_check {
  std::uint64_t acknowledged = 0;    // distinct acknowledged ops
  std::uint64_t found = 0;           // of those, stored exactly once with the same content
  std::uint64_t lost = 0;            // acknowledged but not stored
  std::uint64_t duplicated = 0;      // stored more than once
  std::uint64_t changed = 0;         // stored with other content
  std::uint64_t unacknowledged = 0;  // stored but never acknowledged
  [[nodiscard]] bool exact() const noexcept { return lost == 0 && duplicated == 0 && changed == 0; }
  [[nodiscard]] std::string describe() const {
    return std::to_string(acknowledged) + " acknowledged, " + std::to_string(found) + " found, " +
           std::to_string(lost) + " lost, " + std::to_string(duplicated) + " duplicated, " + std::to_string(changed) +
           " changed, " + std::to_string(unacknowledged) + " stored but not acknowledged";
  }
};

template <treecrdt::OpKey Key>
class acknowledged_ops {
 public:
  using op_type = treecrdt::op<Key>;
  using id_type = treecrdt::dot<treecrdt::replica_of<Key>>;

  /// Records `o` as acknowledged. An id acknowledged twice must carry the same op.
  void add(const op_type& o) {
    const auto [it, inserted] = ops_.emplace(o.id(), o);
    if (!inserted && !(it->second == o)) conflicts_.push_back(describe(o));
  }
  template <class Range>
  void add_all(const Range& ops) {
    for (const auto& o : ops) add(o);
  }

  [[nodiscard]] std::size_t size() const noexcept { return ops_.size(); }
  [[nodiscard]] bool contains(const id_type& id) const { return ops_.count(id) != 0; }
  /// Ids acknowledged twice with different content (a test harness error).
  [[nodiscard]] const std::vector<std::string>& conflicts() const noexcept { return conflicts_; }

  [[nodiscard]] std::vector<op_type> ops() const {
    std::vector<op_type> out;
    out.reserve(ops_.size());
    for (const auto& [id, o] : ops_) out.push_back(o);
    return out;
  }
  [[nodiscard]] treecrdt::canonical_export fold() const { return fold_export<Key>(ops()); }

  /// Compares `log` (every stored op) with the acknowledged ops.
  [[nodiscard]] log_check check(const std::vector<op_type>& log) const {
    log_check c;
    c.acknowledged = ops_.size();
    std::map<id_type, std::vector<const op_type*>> stored;
    for (const auto& o : log) stored[o.id()].push_back(&o);
    for (const auto& [id, o] : ops_) {
      const auto it = stored.find(id);
      if (it == stored.end()) {
        ++c.lost;
        continue;
      }
      if (it->second.size() > 1) ++c.duplicated;
      if (!(*it->second.front() == o)) ++c.changed;
      if (it->second.size() == 1 && *it->second.front() == o) ++c.found;
    }
    for (const auto& [id, list] : stored) {
      if (!ops_.count(id)) ++c.unacknowledged;
      if (!ops_.count(id) && list.size() > 1) ++c.duplicated;
    }
    return c;
  }

 private:
  std::map<id_type, op_type> ops_;
  std::vector<std::string> conflicts_;
};

}  // namespace treecrdt_test
