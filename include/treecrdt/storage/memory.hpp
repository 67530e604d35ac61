#pragma once
// In-memory storage policy. A `memory_storage` is a handle to a shared in-memory database: copies of
// the handle see the same data, so a document can be closed and "reopened" over it (restart tests).
// Transactions keep an undo journal, so a failed append leaves the data exactly as before.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../errors.hpp"
#include "../op.hpp"
#include "../version_vector.hpp"
#include "storage_concepts.hpp"

namespace treecrdt {

template <OpKey Key>
class memory_storage {
 public:
  using key_type = Key;
  using op_type = op<Key>;
  using replica_type = replica_of<Key>;
  using checkpoint_type = checkpoint_info<Key>;

  struct stored_checkpoint {
    checkpoint_type info;
    bytes blob;
  };

  /// The shared data. Public so tests can reach it (e.g. to corrupt a checkpoint on purpose).
  struct database {
    std::map<Key, op_type> log;                                          // ordered by key: scan_after is an upper_bound
    std::unordered_map<replica_type, std::map<std::uint64_t, Key>> ids;  // replica -> counter -> key
    version_vector<replica_type> version;  // the dots of `log`, kept by append (log_version)
    std::uint64_t max_lamport = 0;
    materialization_meta<Key> meta;
    std::map<Key, stored_checkpoint> checkpoints;
    std::uint64_t next_checkpoint_id = 1;
    bool in_transaction = false;
    // Undo journal of the open transaction.
    std::vector<Key> appended;
    std::optional<materialization_meta<Key>> meta_before;
    std::uint64_t max_lamport_before = 0;
    std::vector<std::pair<Key, std::optional<stored_checkpoint>>> checkpoints_before;
  };

  /// RAII transaction: rolls back in the destructor unless committed.
  class transaction {
   public:
    explicit transaction(std::shared_ptr<database> db) : db_(std::move(db)) {
      if (db_->in_transaction) throw std::logic_error("memory_storage: nested transaction");
      db_->in_transaction = true;
      db_->max_lamport_before = db_->max_lamport;
    }
    transaction(transaction&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
    transaction& operator=(transaction&&) = delete;
    ~transaction() {
      if (db_) rollback();
    }
    void commit() {
      clear_journal();
      db_ = nullptr;
    }

   private:
    void rollback() noexcept {
      for (const Key& k : db_->appended) {
        db_->ids[k.replica].erase(k.counter);
        db_->version.erase(k.replica, k.counter);
        db_->log.erase(k);
      }
      if (db_->meta_before) db_->meta = *db_->meta_before;
      db_->max_lamport = db_->max_lamport_before;
      // Undo checkpoint changes newest first, so the oldest recorded state wins.
      for (auto it = db_->checkpoints_before.rbegin(); it != db_->checkpoints_before.rend(); ++it) {
        if (it->second)
          db_->checkpoints.insert_or_assign(it->first, std::move(*it->second));
        else
          db_->checkpoints.erase(it->first);
      }
      clear_journal();
    }
    void clear_journal() noexcept {
      db_->appended.clear();
      db_->meta_before.reset();
      db_->checkpoints_before.clear();
      db_->in_transaction = false;
    }
    std::shared_ptr<database> db_;
  };

  memory_storage() : db_(std::make_shared<database>()) {}

  [[nodiscard]] transaction begin() { return transaction(db_); }

  [[nodiscard]] std::vector<std::size_t> append(std::span<const op_type> batch) {
    require_transaction();
    std::vector<std::size_t> fresh;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const op_type& o = batch[i];
      auto& by_counter = db_->ids[o.key.replica];
      if (const auto it = by_counter.find(o.key.counter); it != by_counter.end()) {
        if (db_->log.at(it->second) != o) throw conflicting_op_error(i, describe(o));
        continue;
      }
      by_counter.emplace(o.key.counter, o.key);
      db_->version.observe(o.key.replica, o.key.counter);
      db_->log.emplace(o.key, o);
      db_->appended.push_back(o.key);
      db_->max_lamport = std::max(db_->max_lamport, o.key.lamport);
      fresh.push_back(i);
    }
    return fresh;
  }

  template <class Visitor>
  void scan_after(const std::optional<Key>& after, Visitor&& visit) {
    auto it = after ? db_->log.upper_bound(*after) : db_->log.begin();
    for (; it != db_->log.end(); ++it) visit(std::as_const(it->second));
  }

  /// The dots of the log (the optional storage_traits::log_version): kept up to date by append and
  /// undone by a rollback, so reading it is O(replicas + gaps), never a scan.
  [[nodiscard]] version_vector<replica_type> log_version() { return db_->version; }

  /// Calls visit(op) for every stored op whose dot is not in `known`, in key order (the optional
  /// storage_traits::scan_unknown_to behind document::ops_since). Per replica it walks only the
  /// counter ranges `known` lacks, through the replica's counter index, so the cost is
  /// O(R + g + k log n) for R replicas, g gaps of `known` and k ops sent, not a scan of the log.
  template <class Visitor>
  void scan_unknown_to(const version_vector<replica_type>& known, Visitor&& visit) {
    if (known.empty()) return scan_after(std::nullopt, std::forward<Visitor>(visit));  // the whole log, in order
    std::vector<const Key*> unknown;
    for (const auto& [replica, by_counter] : db_->ids) {
      const auto entry = known.entries().find(replica);
      if (entry == known.entries().end()) {
        for (const auto& [counter, k] : by_counter) unknown.push_back(&k);
        continue;
      }
      if (entry->second.frontier == ~std::uint64_t{0}) continue;  // every counter known
      // The complement of `known` for this replica: (frontier, first range), between ranges, after the last.
      std::uint64_t from = entry->second.frontier + 1;
      const auto& counters = by_counter;                 // clang 14 cannot capture a structured binding
      const auto take_until = [&](std::uint64_t last) {  // counters in [from, last]
        for (auto it = counters.lower_bound(from); it != counters.end() && it->first <= last; ++it)
          unknown.push_back(&it->second);
      };
      bool open_end = true;  // false once `known` covers the largest counter there is
      for (const counter_range& r : entry->second.ranges) {
        if (r.first > from) take_until(r.first - 1);
        if (r.last == ~std::uint64_t{0}) open_end = false;
        from = r.last + 1;
      }
      if (open_end) take_until(~std::uint64_t{0});
    }
    std::sort(unknown.begin(), unknown.end(), [](const Key* a, const Key* b) { return *a < *b; });
    for (const Key* k : unknown) visit(std::as_const(db_->log.at(*k)));
  }

  [[nodiscard]] std::uint64_t op_count() { return db_->log.size(); }
  [[nodiscard]] std::uint64_t max_lamport() { return db_->max_lamport; }
  [[nodiscard]] std::uint64_t max_counter(const replica_type& r) {
    const auto it = db_->ids.find(r);
    return it == db_->ids.end() || it->second.empty() ? 0 : it->second.rbegin()->first;
  }

  [[nodiscard]] materialization_meta<Key> load_meta() { return db_->meta; }
  void store_meta(const materialization_meta<Key>& meta) {
    require_transaction();
    if (!db_->meta_before) db_->meta_before = db_->meta;
    db_->meta = meta;
  }

  std::uint64_t save_checkpoint(const Key& key, std::uint64_t seq, std::string_view blob,
                                const std::optional<Key>& base = std::nullopt) {
    return adopt_checkpoint(key, seq, bytes(blob), base);
  }
  /// save_checkpoint that keeps the caller's buffer instead of a copy (storage_traits uses it).
  std::uint64_t adopt_checkpoint(const Key& key, std::uint64_t seq, bytes&& blob,
                                 const std::optional<Key>& base = std::nullopt) {
    require_transaction();
    remember_checkpoint(key);
    const std::uint64_t id = db_->next_checkpoint_id++;
    const std::uint64_t size = blob.size();
    db_->checkpoints.insert_or_assign(key, stored_checkpoint{{id, key, seq, size, base}, std::move(blob)});
    return id;
  }

  [[nodiscard]] std::optional<checkpoint_type> latest_checkpoint_before(const std::optional<Key>& bound) {
    auto& cps = db_->checkpoints;
    auto it = bound ? cps.lower_bound(*bound) : cps.end();
    if (it == cps.begin()) return std::nullopt;
    return std::prev(it)->second.info;
  }

  [[nodiscard]] bytes load_checkpoint(std::uint64_t id) { return find_checkpoint(id)->second.blob; }

  std::uint64_t drop_checkpoints_from(const Key& key) {
    require_transaction();
    std::uint64_t dropped = 0;
    for (auto it = db_->checkpoints.lower_bound(key); it != db_->checkpoints.end(); ++dropped) {
      db_->checkpoints_before.emplace_back(it->first, std::move(it->second));
      it = db_->checkpoints.erase(it);
    }
    return dropped;
  }

  void drop_checkpoint(std::uint64_t id) {
    require_transaction();
    auto it = find_checkpoint(id);
    db_->checkpoints_before.emplace_back(it->first, std::move(it->second));
    db_->checkpoints.erase(it);
  }

  [[nodiscard]] std::vector<checkpoint_type> list_checkpoints() {
    std::vector<checkpoint_type> out;
    out.reserve(db_->checkpoints.size());
    for (const auto& [k, cp] : db_->checkpoints) out.push_back(cp.info);
    return out;
  }

  /// Escape hatch: the shared data behind this handle.
  [[nodiscard]] database& raw() noexcept { return *db_; }

 private:
  void require_transaction() const {
    if (!db_->in_transaction) throw std::logic_error("memory_storage: write outside a transaction");
  }
  void remember_checkpoint(const Key& key) {
    const auto it = db_->checkpoints.find(key);
    db_->checkpoints_before.emplace_back(
        key, it == db_->checkpoints.end() ? std::nullopt : std::optional<stored_checkpoint>(it->second));
  }
  auto find_checkpoint(std::uint64_t id) {
    const auto it = std::find_if(db_->checkpoints.begin(), db_->checkpoints.end(),
                                 [&](const auto& kv) { return kv.second.info.id == id; });
    if (it == db_->checkpoints.end())
      throw storage_error("memory", "not_found", "no checkpoint with id " + std::to_string(id), false);
    return it;
  }

  std::shared_ptr<database> db_;
};

static_assert(Storage<memory_storage<default_op_key>>);
static_assert(Storage<memory_storage<compact_op_key>>);

}  // namespace treecrdt
