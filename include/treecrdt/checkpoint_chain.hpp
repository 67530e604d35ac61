#pragma once
// Incremental checkpoints (SPEC §8): a chain is one full checkpoint followed by deltas, each over
// the link before it. Writing a delta costs what changed since the previous link; the chain is
// rebased (a new full checkpoint) once its deltas add up to its delta budget —
// catch_up_options::rebase_ratio (3 by default) times the full one's size, but at least
// catch_up_options::min_delta_budget (1 MiB by default) — or it reaches `max_chain_links`.
// Restoring a chain thus costs at most about (1 + rebase_ratio) full snapshots or one full snapshot
// and a megabyte of deltas (a few milliseconds), and full snapshots cost at most 1 / rebase_ratio of
// the deltas' bytes, far less on small trees, whose full snapshot would otherwise be rewritten every
// few links (a 1,000-node tree: every ~7 links at ratio 3, every ~20 with the floor).
//
//   checkpoint_chain  the links of the chain new deltas are written onto, with the store's change
//                     mark at each (a link restored from storage has no mark but the newest)
//   write_checkpoint  a full or delta checkpoint of the store at the head
//   restore_chain     full link, then every delta, each verified against where it is filed; a link
//                     that fails, or a missing base, throws corrupt_link naming the bad link
//   prune_checkpoints the retention policy's choice, closed over the links kept ones need
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "checkpoint_codec.hpp"
#include "checkpoint_policy.hpp"
#include "errors.hpp"
#include "storage/storage_concepts.hpp"
#include "storage/storage_traits.hpp"
#include "store/store_concepts.hpp"

namespace treecrdt {

// The link bound binds only on chains of small deltas (a small tree's under the budget floor, or a
// short cadence): each link costs a load and a check when restored. On a large tree the ratio binds
// first: at 1M nodes a chain holds ~2,000 deltas of 1,024 ops (~72 kB each); a bound of 1,024 cut it
// in half and wrote a full snapshot (73 MB) every 1M ops, half of all the checkpoint bytes.
inline constexpr std::size_t max_chain_links = 4096;

template <OpKey Key>
class checkpoint_chain {
 public:
  struct link {
    checkpoint_info<Key> info;
    std::optional<std::uint64_t> mark;  // the store's change mark at this link; none: no delta over it
  };
  std::string buffer;  // the bytes of the checkpoint being written; reused where the storage copies it

  [[nodiscard]] const std::vector<link>& links() const noexcept { return links_; }
  [[nodiscard]] bool empty() const noexcept { return links_.empty(); }
  [[nodiscard]] link& newest() noexcept { return links_.back(); }
  void append(link l) {
    if (!links_.empty()) delta_bytes_ += l.info.size_bytes;
    links_.push_back(std::move(l));
  }
  void reset() noexcept {
    links_.clear();
    delta_bytes_ = 0;
  }
  /// A late op at `key` invalidated every link at or after it.
  void drop_from(const Key& key) {
    while (!links_.empty() && !(links_.back().info.key < key)) {
      if (links_.size() > 1) delta_bytes_ -= links_.back().info.size_bytes;
      links_.pop_back();
    }
  }
  [[nodiscard]] std::uint64_t full_bytes() const noexcept {
    return links_.empty() ? 0 : links_.front().info.size_bytes;
  }
  /// The bytes of deltas the chain may hold before it is rebased (catch_up_options).
  [[nodiscard]] std::uint64_t delta_budget(std::uint64_t ratio, std::uint64_t floor) const noexcept {
    const std::uint64_t full = full_bytes();
    const std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t scaled = full != 0 && ratio > most / full ? most : ratio * full;
    return std::max(scaled, floor);
  }
  /// The deltas' bytes, kept as links come and go: O(1), however long the chain.
  [[nodiscard]] std::uint64_t delta_bytes() const noexcept { return delta_bytes_; }

  // Pruning lists every stored checkpoint, so it runs only when it may drop something new: after a
  // full checkpoint (the retention policy chooses among full ones; deltas of the newest chain are
  // kept anyway), or once as many checkpoints were written since the last prune as that prune kept.
  // Either way its cost is O(1) amortized per checkpoint written, not O(chain length).
  void note_written(bool full) noexcept {
    ++written_since_prune_;
    full_since_prune_ = full_since_prune_ || full;
  }
  [[nodiscard]] bool prune_due() const noexcept {
    return full_since_prune_ || written_since_prune_ >= std::max<std::uint64_t>(kept_at_prune_, 1);
  }
  void note_pruned(std::uint64_t kept) noexcept {
    written_since_prune_ = 0;
    full_since_prune_ = false;
    kept_at_prune_ = kept;
  }

 private:
  std::vector<link> links_;  // oldest (the full one) first
  std::uint64_t delta_bytes_ = 0;
  std::uint64_t written_since_prune_ = 0;
  bool full_since_prune_ = false;
  std::uint64_t kept_at_prune_ = 0;
};

/// A link of a chain failed to verify or is missing: catch-up drops it and falls back.
template <OpKey Key>
struct corrupt_link {
  checkpoint_info<Key> link;
  std::string why;
};

/// Persists a checkpoint of ctx.store at (key, seq): a delta over the chain's newest link when the
/// store can write one and the chain is not due for a rebase, else a full one that starts a new
/// chain. Complexity: O(changed since the newest link) for a delta, O(tree) for a full one.
template <class Ctx>
void write_checkpoint(Ctx& ctx, const typename Ctx::key_type& key, std::uint64_t seq) {
  using key_type = typename Ctx::key_type;
  using store_type = std::remove_cvref_t<decltype(ctx.store)>;
  auto& chain = ctx.chain;
  std::string& blob = chain.buffer;
  std::optional<key_type> base;
  if constexpr (DeltaSnapshotStore<store_type>) {
    const std::uint64_t budget = chain.delta_budget(ctx.options.rebase_ratio, ctx.options.min_delta_budget);
    if (!chain.empty() && chain.links().size() < max_chain_links && chain.newest().mark &&
        chain.delta_bytes() < budget && ctx.store.can_snapshot_since(*chain.newest().mark)) {
      encode_delta_checkpoint(blob, ctx.store, *chain.newest().mark, key, seq, chain.newest().info);
      // Otherwise the deltas would outweigh the base: rebase.
      if (chain.delta_bytes() + blob.size() <= budget) base = chain.newest().info.key;
    }
  }
  if (!base) encode_checkpoint(blob, ctx.store, key, seq);
  const std::uint64_t size = blob.size();
  // The buffer goes to the storage (a policy holding blobs in memory keeps it: no copy); the next
  // checkpoint starts a fresh one, sized by the store.
  const std::uint64_t id = storage_traits<std::remove_cvref_t<decltype(ctx.storage)>>::save_checkpoint(
      ctx.storage, key, seq, std::move(blob), base);
  blob.clear();
  std::optional<std::uint64_t> mark;
  if constexpr (DeltaSnapshotStore<store_type>) {
    mark = ctx.store.mark_checkpoint();
    if (!base) ctx.store.forget_changes_through(*mark);
  }
  if (!base) chain.reset();
  chain.append({checkpoint_info<key_type>{id, key, seq, size, base}, mark});
  chain.note_written(!base);
  ++ctx.stats.checkpoints_written;
  if (base) ++ctx.stats.delta_checkpoints_written;
  ctx.stats.checkpoint_bytes_written += size;
  ctx.wrote_checkpoint = true;
  if (!base) std::string().swap(blob);  // a copying policy left the buffer: keep no whole tree's worth
}

/// The links from the full checkpoint to `newest`, oldest first, resolved through their bases in
/// `all` (list_checkpoints()). Throws corrupt_link if a base is missing or the chain loops.
template <OpKey Key>
[[nodiscard]] std::vector<checkpoint_info<Key>> chain_to(const std::vector<checkpoint_info<Key>>& all,
                                                         const checkpoint_info<Key>& newest) {
  std::map<Key, const checkpoint_info<Key>*> by_key;
  for (const auto& cp : all) by_key.emplace(cp.key, &cp);
  std::vector<checkpoint_info<Key>> chain{newest};
  while (chain.back().base) {
    const auto it = by_key.find(*chain.back().base);
    if (it == by_key.end() || !(it->second->key < chain.back().key) || chain.size() > all.size())
      throw corrupt_link<Key>{chain.back(), "its base is missing"};
    chain.push_back(*it->second);
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

/// Restores ctx.store to the checkpoint `newest` (a full one or the end of a delta chain) and makes
/// that chain the one new deltas go onto. Returns the number of links applied. Throws corrupt_link
/// for the first link that does not verify (the store is then cleared); storage errors pass through.
/// Complexity: O(full snapshot + deltas of the chain).
template <class Ctx>
std::size_t restore_chain(Ctx& ctx, const checkpoint_info<typename Ctx::key_type>& newest) {
  using key_type = typename Ctx::key_type;
  using store_type = std::remove_cvref_t<decltype(ctx.store)>;
  const std::vector<checkpoint_info<key_type>> links =
      newest.base ? chain_to(ctx.storage.list_checkpoints(), newest) : std::vector<checkpoint_info<key_type>>{newest};
  ctx.chain.reset();
  for (std::size_t i = 0; i < links.size(); ++i) {
    const auto& cp = links[i];
    try {
      const bytes blob = ctx.storage.load_checkpoint(cp.id);
      if (i == 0) {
        if (cp.base) throw corrupt_checkpoint_error("chain does not start with a full checkpoint");
        restore_checkpoint(ctx.store, blob, cp.key, cp.seq);
      } else if constexpr (DeltaSnapshotStore<store_type>) {
        apply_delta_checkpoint(ctx.store, blob, cp.key, cp.seq, links[i - 1]);
      } else {
        throw corrupt_checkpoint_error("this store cannot apply delta checkpoints");
      }
    } catch (const corrupt_checkpoint_error& e) {
      ctx.store.clear();
      ctx.chain.reset();
      throw corrupt_link<key_type>{cp, e.what()};
    }
    ctx.chain.append({cp, std::nullopt});
  }
  if constexpr (DeltaSnapshotStore<store_type>) ctx.chain.newest().mark = ctx.store.mark_checkpoint();
  return links.size();
}

/// Drops every checkpoint neither the retention policy nor a kept link's chain needs. The chain new
/// deltas are written onto is always kept. Complexity: O(stored checkpoints) and their listing; the
/// document calls it when ctx.chain.prune_due().
template <class Ctx>
void prune_checkpoints(Ctx& ctx) {
  using key_type = typename Ctx::key_type;
  const auto all = ctx.storage.list_checkpoints();
  std::vector<checkpoint_summary> summaries;
  summaries.reserve(all.size());
  for (const auto& cp : all) summaries.push_back({cp.seq, cp.is_full(), cp.size_bytes});
  std::vector<bool> keep = ctx.retention.select(summaries, ctx.head.seq);
  keep.resize(all.size(), false);
  std::map<key_type, std::size_t> index;
  for (std::size_t i = 0; i < all.size(); ++i) index.emplace(all[i].key, i);
  for (const auto& l : ctx.chain.links())
    if (const auto it = index.find(l.info.key); it != index.end()) keep[it->second] = true;
  for (std::size_t i = all.size(); i-- > 0;) {  // newest first: a kept delta keeps its base
    if (!keep[i] || !all[i].base) continue;
    if (const auto it = index.find(*all[i].base); it != index.end()) keep[it->second] = true;
  }
  std::uint64_t kept = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (keep[i]) {
      ++kept;
      continue;
    }
    ctx.storage.drop_checkpoint(all[i].id);
    ++ctx.stats.checkpoints_pruned;
  }
  ctx.chain.note_pruned(kept);
  ctx.wrote_checkpoint = false;
}

}  // namespace treecrdt
