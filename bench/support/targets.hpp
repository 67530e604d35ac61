#pragma once
// The two ways ops reach a materialized tree, behind one small interface so a benchmark body is
// written once: the fold alone (apply_op on a store) and a full document over a storage policy.
#include <algorithm>
#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "treecrdt/checkpoint_policy.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/fold.hpp"
#include "treecrdt/storage/memory.hpp"
#include "treecrdt/store/memory_store.hpp"

namespace treecrdt::bench {

/// The replica id a benchmark document runs as (never one of the stream's writers).
template <class Key>
[[nodiscard]] typename Key::replica_type observer_replica() {
  if constexpr (std::is_integral_v<typename Key::replica_type>) {
    return 0x0b5e;
  } else {
    return "observer";
  }
}

/// apply_op on a bare store, one op at a time, in the order given.
template <class Store>
class fold_target {
 public:
  using key_type = typename Store::key_type;
  void apply(std::span<const op<key_type>> ops) {
    for (const auto& o : ops) apply_op(store_, o);
  }
  [[nodiscard]] std::size_t node_count() const { return store_.node_count(); }
  [[nodiscard]] const Store& store() const { return store_; }

 private:
  Store store_;
};

/// How a benchmark document catches up after a late op.
enum class catch_up_mode {
  library_default,    // the document's own planner and default undo journal
  forced_checkpoint,  // restore a checkpoint (chain) and replay the suffix whenever one is usable
  replay_from_start,  // no undo journal, always a full replay: the baseline of every speedup
};

[[nodiscard]] inline catch_up_options options_for(catch_up_mode mode) {
  catch_up_options o;
  switch (mode) {
    case catch_up_mode::library_default: break;
    case catch_up_mode::forced_checkpoint: o.force = catch_up_path::checkpoint; break;
    case catch_up_mode::replay_from_start:
      o.journal_ops = 0;
      o.force = catch_up_path::full_replay;
      break;
  }
  return o;
}

/// document::apply over a fresh storage made by `MakeStorage`, with the given policies.
template <class Key, class Storage, class Cadence = default_cadence, class Retention = default_retention>
class document_target {
 public:
  using key_type = Key;
  using document_type = document<Key, Storage, memory_store<Key>, Cadence, Retention>;

  explicit document_target(Storage storage, Cadence cadence = {}, Retention retention = {},
                           catch_up_options options = {})
      : doc_(std::move(storage), observer_replica<Key>(), cadence, retention, options) {}
  document_target(Storage storage, catch_up_mode mode)
      : document_target(std::move(storage), {}, {}, options_for(mode)) {}

  /// One document::apply per `batch` ops (the unit a replica would receive them in).
  void apply(std::span<const op<Key>> ops, std::size_t batch) {
    for (std::size_t i = 0; i < ops.size(); i += batch) doc_.apply(ops.subspan(i, std::min(batch, ops.size() - i)));
  }
  void apply(std::span<const op<Key>> ops) { doc_.apply(ops); }
  [[nodiscard]] std::size_t node_count() const { return doc_.store().node_count(); }
  [[nodiscard]] document_type& doc() noexcept { return doc_; }
  [[nodiscard]] const document_type& doc() const noexcept { return doc_; }

 private:
  document_type doc_;
};

/// `document<Key, Storage>` with every other parameter defaulted: what a user gets.
template <class Key, class Storage>
using default_document_target = document_target<Key, Storage>;
static_assert(
    std::same_as<typename default_document_target<default_op_key, memory_storage<default_op_key>>::document_type,
                 document<default_op_key, memory_storage<default_op_key>>>);

/// No checkpoints, but the default undo journal: separates what checkpoints cost.
template <class Key, class Storage>
using never_checkpoint_target = document_target<Key, Storage, never_checkpoint, default_retention>;

/// No checkpoints and no undo journal: the document doing nothing for catch-up ahead of time, the
/// cheapest forward path (and, on a late op, a replay from the start).
template <class Key, class Storage>
class plain_document_target : public document_target<Key, Storage, never_checkpoint, default_retention> {
 public:
  explicit plain_document_target(Storage storage)
      : document_target<Key, Storage, never_checkpoint, default_retention>(
            std::move(storage), {}, {}, options_for(catch_up_mode::replay_from_start)) {}
};

}  // namespace treecrdt::bench
