#pragma once
// Deterministic op streams for the benchmarks. A generator keeps a tiny model of the tree it has
// built (each node's parent) and emits ops with strictly increasing keys, so that folding them
// in emission order is the in-order (forward) path. Generators are plain values: copying one
// saves its state, so a benchmark can rebuild a tree and replay exactly the same stream again.
//
// Where moves go matters more than anything else for their cost, because the fold's cycle check
// (SPEC rule 1) walks from the new parent to the root. Two models:
//   - shallow (depth_limit D > 0): the new parent is a uniformly chosen node of depth < D that is
//     not inside the moved subtree, so the tree stays a shallow hierarchy, like folders;
//   - uniform (D = 0): the new parent is any node or ROOT. Repeated uniform moves drift towards a
//     uniformly random tree, whose depth grows like the square root of its size (hundreds of
//     levels at 100k nodes), so each move then walks hundreds of ancestors.
//
// Keys: lamport = 1, 2, 3, … (one per op); replicas take turns; counters count per replica.
// Default keys use 8-byte replica ids (within std::string's small-buffer, like short ids);
// compact keys use the replica's index + 1.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "treecrdt/node_id.hpp"
#include "treecrdt/op.hpp"
#include "treecrdt/op_key.hpp"

namespace treecrdt::bench {

/// Relative weights of the kinds a steady-state stream emits.
struct op_mix {
  unsigned insert = 0;
  unsigned move = 0;
  unsigned payload = 0;
  unsigned remove = 0;  // delete with known_state = every dot emitted so far
};

/// The mix of workload 1 (in-order apply): mostly moves and payload writes, some growth and deletes.
inline constexpr op_mix edit_mix{20, 40, 35, 5};
/// Tree-size-preserving mix (catch-up logs, cadence runs): no inserts, so the tree stays put.
inline constexpr op_mix steady_mix{0, 45, 50, 5};
inline constexpr op_mix moves_only{0, 1, 0, 0};

/// Depth limit of the shallow move model for a tree of `nodes`: about the depth a random recursive
/// tree of that size has anyway (ln n), plus two.
[[nodiscard]] inline std::size_t shallow_depth_limit(std::size_t nodes) {
  return static_cast<std::size_t>(std::ceil(std::log(static_cast<double>(std::max<std::size_t>(nodes, 2))))) + 2;
}

/// xorshift32 (Marsaglia): a tiny generator whose sequence is easy to reproduce in another
/// language. bench/peers/loro_bench.js implements the same one, so the peer comparison makes
/// exactly the same random choices as the C++ side. `seed` must not be zero.
class xorshift32 {
 public:
  explicit xorshift32(std::uint32_t seed) noexcept : x_(seed) {}
  std::uint32_t operator()() noexcept {
    x_ ^= x_ << 13;
    x_ ^= x_ >> 17;
    x_ ^= x_ << 5;
    return x_;
  }

 private:
  std::uint32_t x_;
};

template <class Key>
class op_stream {
 public:
  using op_type = op<Key>;
  using replica_type = typename Key::replica_type;

  explicit op_stream(std::uint64_t seed, std::size_t depth_limit = 0, std::size_t replicas = 4,
                     std::size_t payload_bytes = 16)
      : rng_(seed), depth_limit_(depth_limit), payload_bytes_(payload_bytes), counters_(replicas, 0) {
    for (std::size_t i = 0; i < replicas; ++i) replicas_.push_back(make_replica(i));
  }

  /// `n` inserts, each under a uniformly chosen existing node or ROOT (a random recursive tree:
  /// depth grows like the logarithm of the size). Inserts carry a payload unless payload_bytes is 0.
  [[nodiscard]] std::vector<op_type> grow(std::size_t n) {
    std::vector<op_type> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(insert());
    return out;
  }

  /// `n` inserts directly under ROOT (a flat list of siblings).
  [[nodiscard]] std::vector<op_type> grow_flat(std::size_t n) {
    std::vector<op_type> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(insert_under(root_index));
    return out;
  }

  /// `n` ops drawn from `mix` (falls back to inserts while the tree is empty).
  [[nodiscard]] std::vector<op_type> take(std::size_t n, const op_mix& mix) {
    std::vector<op_type> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(next(mix));
    return out;
  }

  [[nodiscard]] op_type next(const op_mix& mix) {
    if (parent_.empty()) return insert();
    const unsigned total = mix.insert + mix.move + mix.payload + mix.remove;
    unsigned pick = static_cast<unsigned>(uniform(total));
    if (pick < mix.insert) return insert();
    pick -= mix.insert;
    if (pick < mix.move) return move();
    pick -= mix.move;
    if (pick < mix.payload) return payload();
    return remove();
  }

  /// A move of a random node (see the two models above). In the uniform model a move that would
  /// make a cycle is emitted anyway: the fold must skip it, and so does the model.
  [[nodiscard]] op_type move() {
    const std::size_t n = pick_node();
    const std::int64_t p = depth_limit_ > 0 ? shallow_parent_for(n) : uniform_parent();
    if (!is_ancestor_or_self(n, p)) parent_[n] = p;
    return make_move(next_key(), id_of(n), id_of(p), order_key());
  }

  [[nodiscard]] op_type insert() { return insert_under(uniform_parent()); }

  [[nodiscard]] op_type payload() {
    return make_payload(next_key(), id_of(pick_node()), std::optional<bytes>(payload_value()));
  }

  [[nodiscard]] op_type remove() {
    version_vector<replica_type> seen;
    for (std::size_t i = 0; i < replicas_.size(); ++i)
      if (counters_[i] > 0) seen.add_range(replicas_[i], 1, counters_[i]);
    return make_delete(next_key(), id_of(pick_node()), std::move(seen));
  }

  /// A key that sorts after every key emitted so far, from a replica id above all stream replicas
  /// (so it cannot collide with them). Used to make "late" ops with a chosen lamport.
  [[nodiscard]] static Key late_key(std::uint64_t lamport, std::uint64_t counter) {
    Key k;
    k.lamport = lamport;
    if constexpr (std::is_integral_v<replica_type>) {
      k.replica = 0xffff;
    } else {
      k.replica = "~late~~~";
    }
    k.counter = counter;
    return k;
  }

  [[nodiscard]] node_id random_node() { return id_of(pick_node()); }
  [[nodiscard]] std::size_t node_count() const noexcept { return parent_.size(); }
  [[nodiscard]] std::uint64_t lamport() const noexcept { return lamport_; }

  /// Depth of nodes in the model (ROOT's children have depth 1), over an even sample of at most
  /// 10,000 nodes: average and maximum.
  [[nodiscard]] std::pair<double, std::size_t> depth_profile() const {
    double sum = 0;
    std::size_t deepest = 0;
    std::size_t sampled = 0;
    const std::size_t step = std::max<std::size_t>(1, parent_.size() / 10000);
    for (std::size_t i = 0; i < parent_.size(); i += step, ++sampled) {
      std::size_t d = 1;
      for (std::int64_t x = parent_[i]; x >= 0; x = parent_[static_cast<std::size_t>(x)]) ++d;
      sum += static_cast<double>(d);
      deepest = std::max(deepest, d);
    }
    return {sampled == 0 ? 0.0 : sum / static_cast<double>(sampled), deepest};
  }

 private:
  static replica_type make_replica(std::size_t i) {
    if constexpr (std::is_integral_v<replica_type>) {
      return static_cast<replica_type>(i + 1);
    } else {
      std::string r = "replica0";
      r.back() = static_cast<char>('0' + i % 10);
      r[r.size() - 2] = static_cast<char>('a' + i / 10 % 26);
      return r;
    }
  }

  Key next_key() {
    const std::size_t r = turn_++ % replicas_.size();
    Key k;
    k.lamport = ++lamport_;
    k.replica = replicas_[r];
    k.counter = ++counters_[r];
    return k;
  }

  static constexpr std::int64_t root_index = -1;

  [[nodiscard]] op_type insert_under(std::int64_t p) {
    parent_.push_back(p);
    std::optional<bytes> value;
    if (payload_bytes_ > 0) value = payload_value();
    return make_insert(next_key(), id_of(p), id_of(parent_.size() - 1), order_key(), std::move(value));
  }

  [[nodiscard]] static node_id id_of(std::size_t i) noexcept { return node_id{0x0b0b0b0b, i + 1}; }
  [[nodiscard]] static node_id id_of(std::int64_t i) noexcept {
    return i < 0 ? root_node : id_of(static_cast<std::size_t>(i));
  }

  std::uint64_t uniform(std::uint64_t bound) {
    return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(rng_);
  }
  std::size_t pick_node() { return static_cast<std::size_t>(uniform(parent_.size())); }

  std::int64_t uniform_parent() {
    const std::uint64_t i = uniform(parent_.size() + 1);
    return i == parent_.size() ? root_index : static_cast<std::int64_t>(i);
  }

  // Rejection sampling: a node (or ROOT) whose depth is below the limit and that is not inside
  // n's subtree. ROOT always qualifies, so this ends.
  std::int64_t shallow_parent_for(std::size_t n) {
    for (;;) {
      const std::int64_t p = uniform_parent();
      std::size_t depth = 0;
      std::int64_t x = p;
      while (x >= 0 && depth < depth_limit_ && static_cast<std::size_t>(x) != n) {
        x = parent_[static_cast<std::size_t>(x)];
        ++depth;
      }
      if (x == root_index) return p;
    }
  }

  [[nodiscard]] bool is_ancestor_or_self(std::size_t n, std::int64_t p) const {
    for (std::int64_t x = p; x >= 0; x = parent_[static_cast<std::size_t>(x)])
      if (static_cast<std::size_t>(x) == n) return true;
    return false;
  }

  // Three bytes shaped like the library's own order keys (a head byte and a two-byte integer).
  bytes order_key() {
    const auto v = uniform(1u << 16);
    return bytes{static_cast<char>(0x81), static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
  }

  bytes payload_value() {
    bytes b(payload_bytes_, '\0');
    for (char& c : b) c = static_cast<char>('a' + uniform(26));
    return b;
  }

  std::mt19937_64 rng_;
  std::size_t depth_limit_;
  std::size_t payload_bytes_;
  std::vector<replica_type> replicas_;
  std::vector<std::uint64_t> counters_;
  std::size_t turn_ = 0;
  std::uint64_t lamport_ = 0;
  std::vector<std::int64_t> parent_;  // model of the tree: parent index per node, root_index for ROOT
};

}  // namespace treecrdt::bench
