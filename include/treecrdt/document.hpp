#pragma once
// A replica's view of one replicated tree: the front end applications use. It owns a storage
// handle (the log, the only source of truth), the materialized store derived from it, and the
// replica's clock. Every append — remote batch or local edit — is one storage transaction that
// holds the ops, the new head/frontier and any checkpoint written for it.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "catch_up.hpp"
#include "catch_up_options.hpp"
#include "checkpoint_chain.hpp"
#include "checkpoint_policy.hpp"
#include "errors.hpp"
#include "fold.hpp"
#include "fwd.hpp"
#include "materialization_stats.hpp"
#include "op.hpp"
#include "order_key.hpp"
#include "reads.hpp"
#include "storage/memory.hpp"
#include "storage/storage_concepts.hpp"
#include "storage/storage_traits.hpp"
#include "store/memory_store.hpp"
#include "store/store_concepts.hpp"

namespace treecrdt {

/// Tag for `apply(batch, defer_catch_up)`: store late ops now, catch up later.
struct defer_catch_up_t {
  explicit defer_catch_up_t() = default;
};
inline constexpr defer_catch_up_t defer_catch_up{};

/// A node id derived from an op id: (replica hash, counter). Unique per op id unless two replica ids
/// hash alike in 64 bits; applications that need stronger guarantees pass their own ids.
template <class Replica>
[[nodiscard]] node_id mint_node_id(const Replica& replica, std::uint64_t counter) {
  std::uint64_t h;
  if constexpr (std::is_integral_v<Replica>) {
    h = static_cast<std::uint64_t>(replica);
  } else {
    h = detail::fnv1a64(replica_codec<Replica>::to_bytes(replica));
  }
  node_id id{h, counter};
  if (is_reserved(id)) id.hi ^= 1;  // counter ≥ 1 rules out ROOT; this rules out TRASH
  return id;
}

// The default template arguments are in fwd.hpp.
template <OpKey Key, Storage StoragePolicy, MaterializedStore Store, CadencePolicy Cadence, RetentionPolicy Retention>
class document {
  static_assert(std::same_as<typename StoragePolicy::key_type, Key>,
                "treecrdt::document: StoragePolicy::key_type must be the document's Key");
  static_assert(std::same_as<typename Store::key_type, Key>,
                "treecrdt::document: Store::key_type must be the document's Key");

 public:
  using key_type = Key;
  using op_type = op<Key>;
  using replica_type = replica_of<Key>;
  using version_vector_type = version_vector<replica_type>;
  using storage_type = StoragePolicy;
  using store_type = Store;
  using stats_type = materialization_stats<Key>;

  /// Opens the document over `storage` as replica `local`: restores the latest valid checkpoint
  /// chain, replays the log after it and resumes the clock. `options` bound the rewind journal and
  /// may force a catch-up path. Throws storage errors; nothing is lost on throw.
  /// Complexity: O(ops after the latest checkpoint + its chain's size).
  document(StoragePolicy storage, replica_type local, Cadence cadence = {}, Retention retention = {},
           catch_up_options options = {})
      : storage_(std::move(storage)), local_(std::move(local)), cadence_(std::move(cadence)),
        retention_(std::move(retention)), options_(options) {
    if constexpr (requires { store_.bind(storage_); }) store_.bind(storage_);  // a store in the storage's database
    reload();
  }

  // ---- remote ops ------------------------------------------------------------------------------

  /// Appends a batch of ops in any order and brings the tree up to date before returning.
  /// Effects: all-or-nothing. Exact duplicates (of stored ops or within the batch) are ignored.
  /// A batch with late ops costs one catch-up however many it holds.
  /// Throws: invalid_op_error / conflicting_op_error naming the batch index (nothing stored or
  /// applied); storage_error (rolled back; the tree is as before the call).
  void apply(std::span<const op_type> batch) { append(batch, false); }

  /// Like apply, but late ops only lower the replay frontier; the tree stays as it was (stale, see
  /// is_stale()) until catch_up() — e.g. to import many batches with one catch-up at the end.
  void apply(std::span<const op_type> batch, defer_catch_up_t) { append(batch, true); }

  /// Runs a pending catch-up (no-op when the tree is up to date).
  void catch_up() {
    ensure_usable();  // a failed rebuild left the tree unusable: rebuilding also catches up
    if (!frontier_) return;
    transact([&](auto& ctx) {
      treecrdt::catch_up(ctx, frontier_, true);
      frontier_.reset();
    });
  }

  // ---- local edits (each returns the op it made, already stored and applied) -----------------

  op_type insert(node_id parent, position pos, std::optional<bytes> payload = std::nullopt) {
    ensure_usable();  // before minting from the counter: a rebuild may advance it
    return insert_node(parent, mint_node_id(local_, counter_ + 1), pos, std::move(payload));
  }
  op_type insert_node(node_id parent, node_id node, position pos, std::optional<bytes> payload = std::nullopt) {
    ensure_usable();  // every local edit rebuilds first, so its key follows every committed op
    Key key = next_key();
    bytes k = order_key_for(parent, node, pos, key);
    return commit_local(make_insert(std::move(key), parent, node, std::move(k), std::move(payload)));
  }
  op_type move(node_id node, node_id new_parent, position pos) {
    ensure_usable();
    Key key = next_key();
    bytes k = new_parent == trash_node ? bytes{} : order_key_for(new_parent, node, pos, key);
    return commit_local(make_move(std::move(key), node, new_parent, std::move(k)));
  }
  /// Deletes `node` with the known_state the store gives for it (SPEC §7; memory_store: every dot
  /// this replica has seen of each replica with a dot in S(node)): edits this replica has not seen
  /// keep the node alive.
  op_type remove(node_id node) {
    ensure_usable();
    const auto h = store_.find(node);
    version_vector_type known =
        h == typename Store::handle{} ? version_vector_type{} : store_.known_state_for_delete(h);
    return commit_local(make_delete(next_key(), node, std::move(known)));
  }
  op_type set_payload(node_id node, bytes value) {
    ensure_usable();
    return commit_local(make_payload(next_key(), node, std::optional<bytes>(std::move(value))));
  }
  op_type clear_payload(node_id node) {
    ensure_usable();
    return commit_local(make_payload(next_key(), node, std::nullopt));
  }

  // ---- reads -----------------------------------------------------------------------------------

  [[nodiscard]] std::vector<node_id> children(node_id parent) const { return children_of(usable_store(), parent); }
  [[nodiscard]] std::optional<node_id> parent(node_id n) const { return parent_of(usable_store(), n); }
  [[nodiscard]] std::optional<bytes> payload(node_id n) const { return payload_of(usable_store(), n); }
  [[nodiscard]] bool exists(node_id n) const { return usable_store().find(n) != typename Store::handle{}; }
  [[nodiscard]] bool is_tombstoned(node_id n) const { return treecrdt::is_tombstoned(usable_store(), n); }
  [[nodiscard]] canonical_export export_canonical() const { return treecrdt::export_canonical(usable_store()); }
  [[nodiscard]] const Store& store() const { return usable_store(); }

  // ---- sync ------------------------------------------------------------------------------------

  /// Every stored op whose dot is not in `known`, in key order. O(log size) scan unless the
  /// storage policy provides scan_unknown_to.
  [[nodiscard]] std::vector<op_type> ops_since(const version_vector_type& known) {
    std::vector<op_type> out;
    storage_traits<StoragePolicy>::scan_unknown_to(storage_, known, [&](const op_type& o) { out.push_back(o); });
    return out;
  }
  /// The set of dots in the log. O(replicas + gaps): from the store's folded dots when it is up to
  /// date with the log, else from the storage's own version vector (storage_traits::log_version;
  /// a policy without one is scanned, O(log size)).
  [[nodiscard]] version_vector_type version() {
    if constexpr (requires { store_.applied_version(); }) {
      if (!frontier_ && !needs_reload_ && storage_.op_count() == head_.seq) return store_.applied_version();
    }
    return storage_traits<StoragePolicy>::log_version(storage_);
  }

  // ---- materialization -------------------------------------------------------------------------

  [[nodiscard]] const head_position<Key>& head() const noexcept { return head_; }
  /// The smallest late key not reflected yet (only after a deferred apply).
  [[nodiscard]] const std::optional<Key>& frontier() const noexcept { return frontier_; }
  [[nodiscard]] bool is_stale() const noexcept { return frontier_.has_value(); }
  [[nodiscard]] const stats_type& stats() const noexcept { return stats_; }
  [[nodiscard]] const replica_type& local_replica() const noexcept { return local_; }
  [[nodiscard]] std::uint64_t lamport() const noexcept { return lamport_; }
  [[nodiscard]] StoragePolicy& storage() noexcept { return storage_; }
  [[nodiscard]] const Cadence& cadence() const noexcept { return cadence_; }
  [[nodiscard]] const Retention& retention() const noexcept { return retention_; }
  [[nodiscard]] const catch_up_options& options() const noexcept { return options_; }
  /// Forces (or, with catch_up_path::none, frees) the path of later catch-ups; for tests and benchmarks.
  void force_catch_up_path(catch_up_path path) noexcept { options_.force = path; }

 private:
  // A persistent store's tables are its checkpoint: the checkpoint layer sees the never_checkpoint
  // cadence for it (and materialization_context::uses_checkpoints is false), whatever the user chose.
  using context_cadence = std::conditional_t<PersistentStore<Store>, never_checkpoint, Cadence>;
  using context = materialization_context<StoragePolicy, Store, context_cadence, Retention>;
  [[nodiscard]] const context_cadence& context_cadence_ref() const noexcept {
    if constexpr (PersistentStore<Store>) {
      static constexpr never_checkpoint none{};
      return none;
    } else {
      return cadence_;
    }
  }

  // Runs `body` in one storage transaction with a context over our pieces, then persists the
  // head/frontier, prunes if checkpoints were written, and commits. If anything throws after the
  // store may have changed, the store is rebuilt from storage so memory never runs ahead of the log.
  template <class Body>
  void transact(Body&& body) {
    ensure_usable();
    std::optional<typename StoragePolicy::transaction> tx(storage_.begin());
    context ctx{storage_, store_, context_cadence_ref(), retention_, head_, stats_, chain_, options_};
    const auto head_before = head_;
    const auto frontier_before = frontier_;
    try {
      const materialization_meta<Key> stored = storage_.load_meta();
      if (stored != persisted_ || storage_.op_count() != persisted_op_count_) {
        // Another handle wrote this document since our last commit: catch up with its log first.
        treecrdt::catch_up(ctx, stored.frontier, false);
        frontier_.reset();
      }
      body(ctx);
      if (ctx.wrote_checkpoint && ctx.chain.prune_due()) treecrdt::prune(ctx);
      if constexpr (PersistentStore<Store>) store_.flush();
      const materialization_meta<Key> meta{head_, frontier_};
      storage_.store_meta(meta);
      const std::uint64_t count = storage_.op_count();
      tx->commit();
      persisted_ = meta;
      persisted_op_count_ = count;
    } catch (...) {
      tx.reset();  // roll back first: reload() below opens a transaction of its own
      head_ = head_before;
      frontier_ = frontier_before;
      chain_.reset();  // links written or dropped in the rolled-back transaction: start a new chain
      if constexpr (PersistentStore<Store>) {
        store_.discard();  // its rows of this transaction were rolled back with it
      } else if (!ctx.store_changed) {
        throw;  // e.g. a conflict found by append: memory is still exact
      }
      needs_reload_ = true;
      try {
        reload();
      } catch (...) {  // storage unreachable: reads throw until a later call reloads successfully
      }
      throw;
    }
  }

  void append(std::span<const op_type> batch, bool defer) {
    validate(batch);
    if (batch.empty()) return;
    std::uint64_t max_lamport = lamport_;
    std::uint64_t max_own = counter_;
    transact([&](auto& ctx) {
      const std::vector<std::size_t> fresh_idx = storage_.append(batch);
      stats_.duplicate_ops_ignored += batch.size() - fresh_idx.size();
      if (fresh_idx.empty()) return;
      std::vector<const op_type*> fresh;
      fresh.reserve(fresh_idx.size());
      for (std::size_t i : fresh_idx) {
        fresh.push_back(&batch[i]);
        max_lamport = std::max(max_lamport, batch[i].key.lamport);
        if (batch[i].key.replica == local_) max_own = std::max(max_own, batch[i].key.counter);
      }
      std::sort(fresh.begin(), fresh.end(), [](const op_type* a, const op_type* b) { return a->key < b->key; });
      const Key& lowest = fresh.front()->key;
      const bool late = head_.key && lowest < *head_.key;
      if (late) {
        stats_.late_ops += static_cast<std::uint64_t>(
            std::count_if(fresh.begin(), fresh.end(), [&](const op_type* o) { return o->key < *head_.key; }));
        frontier_ = frontier_ && *frontier_ < lowest ? *frontier_ : lowest;
        invalidate_from(ctx, lowest);
      }
      if (frontier_) {
        if (!defer) {
          treecrdt::catch_up(ctx, frontier_, true);
          frontier_.reset();
        }
        return;  // stale: forward ops wait for the catch-up too
      }
      if constexpr (requires { store_.prefetch_nodes(std::vector<node_id>{}); }) prefetch(fresh);
      const std::uint64_t due = forward_run_due(ctx, head_.seq + fresh.size());
      for (const op_type* o : fresh) apply_forward(ctx, *o, due);
      finish_forward_run(ctx);
    });
    lamport_ = max_lamport;
    counter_ = max_own;
  }

  // A store in a database reads the rows a forward run will touch in one round trip.
  void prefetch(const std::vector<const op_type*>& ops) {
    std::vector<node_id> ids;
    ids.reserve(2 * ops.size());
    for (const op_type* o : ops) {
      ids.push_back(o->node);
      if (o->kind == op_kind::insert || o->kind == op_kind::move) ids.push_back(o->parent);
    }
    store_.prefetch_nodes(ids);
  }

  void validate(std::span<const op_type> batch) const {
    check_batch_limits(batch);
    std::unordered_map<replica_type, std::unordered_map<std::uint64_t, std::size_t>> seen;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const op_type& o = batch[i];
      if (auto why = validation_error(o)) throw invalid_op_error(i, describe(o), *why);
      auto [it, inserted] = seen[o.key.replica].try_emplace(o.key.counter, i);
      if (!inserted && batch[it->second] != o) throw conflicting_op_error(i, describe(o));
    }
  }

  op_type commit_local(op_type o) {
    apply(std::span<const op_type>(&o, 1));
    return o;
  }

  // The clock rule (limits.hpp): a local op never carries a lamport or counter past the clock
  // limit, which every replica would refuse; the edit fails instead of wrapping around to 0.
  [[nodiscard]] Key next_key() const {
    if (lamport_ >= limits::max_clock)
      throw clock_exhausted_error("treecrdt::document: local edit refused: lamport " + std::to_string(lamport_) +
                                  " is at the clock limit " + std::to_string(limits::max_clock));
    if (counter_ >= limits::max_clock)
      throw clock_exhausted_error("treecrdt::document: local edit refused: counter " + std::to_string(counter_) +
                                  " of this replica is at the clock limit " + std::to_string(limits::max_clock));
    Key k;
    k.lamport = lamport_ + 1;
    k.replica = local_;
    k.counter = counter_ + 1;
    return k;
  }

  [[nodiscard]] bytes order_key_for(node_id parent, node_id node, position pos, const Key& key) {
    ensure_usable();
    const auto p = store_.find(parent);
    if (p == typename Store::handle{}) {
      if (pos.at == position::where::after || pos.at == position::where::before)
        throw std::invalid_argument("position sibling " + to_hex(pos.sibling) + " is not a child of " + to_hex(parent));
      return order_key_between(std::nullopt, std::nullopt, seed_of(key));
    }
    const auto [lo, hi] = store_.sibling_bounds(p, pos, store_.find(node));
    const auto view = [](const std::optional<bytes>& b) {
      return b ? std::optional<std::string_view>(*b) : std::nullopt;
    };
    return order_key_between(view(lo), view(hi), seed_of(key));
  }

  [[nodiscard]] static std::uint64_t seed_of(const Key& key) {
    std::uint64_t x =
        detail::fnv1a64(replica_codec<replica_type>::to_bytes(key.replica)) ^ (key.counter * 0x9e3779b97f4a7c15ULL);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    return x ^ (x >> 29);
  }

  // Rebuilds the store from storage: the open path, also used after a failed append.
  void reload() {
    auto tx = storage_.begin();
    context ctx{storage_, store_, context_cadence_ref(), retention_, head_, stats_, chain_, options_};
    const auto meta = storage_.load_meta();
    treecrdt::catch_up(ctx, meta.frontier, false);
    frontier_.reset();
    treecrdt::prune(ctx);
    if constexpr (PersistentStore<Store>) store_.flush();
    persisted_ = {head_, frontier_};
    storage_.store_meta(persisted_);
    persisted_op_count_ = storage_.op_count();
    lamport_ = storage_.max_lamport();
    counter_ = storage_.max_counter(local_);
    tx.commit();
    needs_reload_ = false;
  }

  void ensure_usable() {
    if (needs_reload_) reload();
  }
  [[nodiscard]] const Store& usable_store() const {
    if (needs_reload_)
      throw error(
          "treecrdt::document: the tree could not be rebuilt after a failed append; call a "
          "mutating member (or reopen) once the storage is reachable again");
    return store_;
  }

  StoragePolicy storage_;
  Store store_;
  replica_type local_;
  Cadence cadence_;
  Retention retention_;
  catch_up_options options_;
  checkpoint_chain<Key> chain_;  // the checkpoint chain new deltas go onto
  head_position<Key> head_;
  std::optional<Key> frontier_;
  materialization_meta<Key> persisted_;
  std::uint64_t persisted_op_count_ = 0;
  stats_type stats_;
  std::uint64_t lamport_ = 0;
  std::uint64_t counter_ = 0;
  bool needs_reload_ = false;
};

}  // namespace treecrdt
