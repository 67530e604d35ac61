#pragma once
// The two ways ops reach a materialized tree, behind one small interface so a benchmark body is
// written once: the fold alone (apply_op on a store) and a full document over a storage policy.
#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "treecrdt/checkpoint_policy.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/fold.hpp"
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

/// document::apply over a fresh storage made by `MakeStorage`, with the given cadence.
template <class Key, class Storage, class Cadence = never_checkpoint, class Retention = default_retention>
class document_target {
 public:
  using key_type = Key;
  using document_type = document<Key, Storage, memory_store<Key>, Cadence, Retention>;

  explicit document_target(Storage storage, Cadence cadence = {}, Retention retention = {})
      : doc_(std::move(storage), observer_replica<Key>(), cadence, retention) {}

  /// One document::apply per `batch` ops (the unit a replica would receive them in).
  void apply(std::span<const op<Key>> ops, std::size_t batch) {
    for (std::size_t i = 0; i < ops.size(); i += batch) doc_.apply(ops.subspan(i, std::min(batch, ops.size() - i)));
  }
  void apply(std::span<const op<Key>> ops) { doc_.apply(ops); }
  [[nodiscard]] std::size_t node_count() const { return doc_.store().node_count(); }
  [[nodiscard]] document_type& doc() noexcept { return doc_; }

 private:
  document_type doc_;
};

}  // namespace treecrdt::bench
