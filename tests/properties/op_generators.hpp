#pragma once
// RapidCheck generators for plausible multi-replica histories and for ways of delivering them.
//
// A history is generated as a script of small integer "steps" and then interpreted: shrinking the
// script (fewer steps, smaller selectors) keeps every history plausible (per-replica counters still
// strictly increase, Lamport clocks still respect what each replica has seen), so counterexamples
// shrink to a few readable ops. Replica ids are one byte for the default key and the same integer
// for the compact key, so both key types order every history identically.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <rapidcheck.h>

#include "op_show.hpp"
#include "treecrdt/op.hpp"

namespace treecrdt_test {

/// Replica number `index` as a Key's replica: the single byte 0x10+index, or that integer.
template <treecrdt::OpKey Key>
[[nodiscard]] treecrdt::replica_of<Key> test_replica(unsigned index) {
  return treecrdt::replica_codec<treecrdt::replica_of<Key>>::from_bytes(
      treecrdt::bytes(1, static_cast<char>(0x10 + index)));
}

/// Node `k` (1-based) of the generated pool. Every fifth node has a non-zero high half so the
/// 128-bit order is exercised, not just the low word.
[[nodiscard]] inline treecrdt::node_id pool_node(unsigned k) noexcept {
  return treecrdt::node_id{k % 5 == 0 ? 1u : 0u, k};
}

/// Short order keys from a tiny alphabet, so equal keys (ties broken by node id) are common.
/// Selector 0 gives "80"; the empty key is included.
[[nodiscard]] inline treecrdt::bytes pick_order_key(unsigned selector) {
  static constexpr unsigned char alphabet[] = {0x80, 0x40, 0xc0, 0x00, 0xff};
  const unsigned length = selector % 4 == 3 ? 0 : (selector % 4 == 2 ? 2 : 1);
  unsigned digits = selector / 4;
  treecrdt::bytes key;
  for (unsigned i = 0; i < length; ++i) {
    key.push_back(static_cast<char>(alphabet[digits % 5]));
    digits /= 5;
  }
  return key;
}

/// One scripted step; every field is a selector interpreted modulo what it chooses from.
struct history_step {
  unsigned what = 0;     // the kind of step, [0, 100): see interpret_history
  unsigned replica = 0;  // which replica acts
  unsigned a = 0;        // usually the target node
  unsigned b = 0;        // usually the parent / the other replica
  unsigned c = 0;        // order key, payload bytes
  unsigned d = 0;        // known_state mode, payload presence
};

inline void showValue(const history_step& s, std::ostream& os) {
  os << "{what " << s.what << " replica " << s.replica << " a " << s.a << " b " << s.b << " c " << s.c << " d " << s.d
     << "}";
}

/// A generated history: the ops in creation order, plus the shape it was generated with.
template <treecrdt::OpKey Key>
struct history {
  std::vector<treecrdt::op<Key>> ops;
  unsigned replicas = 0;
  unsigned nodes = 0;
};

template <treecrdt::OpKey Key>
void showValue(const history<Key>& h, std::ostream& os) {
  os << h.ops.size() << " ops, " << h.replicas << " replicas, " << h.nodes << " nodes, as JSON lines:\n";
  write_ops_json_lines(os, h.ops);
}

namespace detail {

/// What one replica knows while the script runs.
struct replica_clock {
  std::uint64_t counter = 0;
  std::uint64_t lamport = 0;
  std::set<std::pair<unsigned, std::uint64_t>> seen;  // dots (replica index, counter)
};

template <treecrdt::OpKey Key>
class history_builder {
 public:
  using op_type = treecrdt::op<Key>;
  using vv_type = treecrdt::version_vector<treecrdt::replica_of<Key>>;

  history_builder(unsigned replicas, unsigned nodes) : clocks_(replicas), nodes_(nodes) {}

  void step(const history_step& s) {
    const unsigned r = s.replica % replicas();
    const treecrdt::node_id target = node(s.a);
    if (s.what < 30) {  // insert, sometimes under a placeholder, itself, or TRASH
      treecrdt::node_id parent = treecrdt::root_node;
      if (s.b % 16 == 15) {
        parent = treecrdt::trash_node;
      } else if (s.b % 8 >= 4) {
        parent = node(s.b);
      }
      std::optional<treecrdt::bytes> payload;
      if (s.d % 3 == 1) payload = treecrdt::bytes(1, static_cast<char>('a' + s.c % 4));
      emit(r, [&](Key k) { return treecrdt::make_insert(k, parent, target, pick_order_key(s.c), payload); });
    } else if (s.what < 55) {  // move, including to and out of TRASH
      treecrdt::node_id parent = node(s.b);
      if (s.b % 6 == 0) parent = treecrdt::root_node;
      if (s.b % 6 == 1) parent = treecrdt::trash_node;
      emit(r, [&](Key k) { return treecrdt::make_move(k, target, parent, pick_order_key(s.c)); });
    } else if (s.what < 65) {  // delete
      const vv_type known = known_state(r, s.d % 5, s.c);
      emit(r, [&](Key k) { return treecrdt::make_delete(k, target, known); });
    } else if (s.what < 72) {  // tombstone, with or without known_state
      std::optional<vv_type> known;
      if (s.d % 6 != 5) known = known_state(r, s.d % 6, s.c);
      emit(r, [&](Key k) { return treecrdt::make_tombstone(k, target, known); });
    } else if (s.what < 84) {  // payload set / clear
      std::optional<treecrdt::bytes> value;
      if (s.c % 3 != 0) value = treecrdt::bytes(1 + s.c % 2, static_cast<char>('p' + s.c % 5));
      emit(r, [&](Key k) { return treecrdt::make_payload(k, target, value); });
    } else if (s.what < 92) {  // sync: r learns everything replica b knows (b == r: from everyone)
      const unsigned from = s.b % replicas();
      for (unsigned other = 0; other < replicas(); ++other)
        if (other == from || from == r) learn(r, other);
    } else {  // two concurrent moves that would form a cycle together
      const unsigned r2 = (r + 1) % replicas();
      treecrdt::node_id other = node(s.b);
      if (other == target) other = node(s.b + 1);
      emit(r, [&](Key k) { return treecrdt::make_move(k, target, other, pick_order_key(s.c)); });
      emit(r2, [&](Key k) { return treecrdt::make_move(k, other, target, pick_order_key(s.c + 1)); });
    }
  }

  [[nodiscard]] std::vector<op_type> take() { return std::move(ops_); }

 private:
  [[nodiscard]] unsigned replicas() const noexcept { return static_cast<unsigned>(clocks_.size()); }
  [[nodiscard]] treecrdt::node_id node(unsigned selector) const noexcept { return pool_node(1 + selector % nodes_); }

  template <class Make>
  void emit(unsigned r, Make make) {
    replica_clock& clock = clocks_[r];
    ++clock.counter;
    ++clock.lamport;
    clock.seen.insert({r, clock.counter});
    all_.insert({r, clock.counter});
    ops_.push_back(make(Key{clock.lamport, test_replica<Key>(r), clock.counter}));
  }

  void learn(unsigned r, unsigned from) {
    if (r == from) return;
    clocks_[r].lamport = std::max(clocks_[r].lamport, clocks_[from].lamport);
    clocks_[r].seen.insert(clocks_[from].seen.begin(), clocks_[from].seen.end());
  }

  // Modes: 0 and 1 every dot generated so far (aware deletes, which hide), 2 what r has seen,
  // 3 the same with gaps punched in, 4 only the lower half of each replica's counters (stale).
  [[nodiscard]] vv_type known_state(unsigned r, unsigned mode, unsigned salt) const {
    const auto& source = mode <= 1 ? all_ : clocks_[r].seen;
    std::vector<std::uint64_t> max_by_replica(replicas(), 0);
    for (const auto& [rep, c] : source) max_by_replica[rep] = std::max(max_by_replica[rep], c);
    vv_type vv;
    for (const auto& [rep, c] : source) {
      if (mode == 3 && (c + salt) % 3 == 0) continue;
      if (mode == 4 && 2 * c > max_by_replica[rep]) continue;
      vv.observe(test_replica<Key>(rep), c);
    }
    return vv;
  }

  std::vector<replica_clock> clocks_;
  unsigned nodes_;
  std::set<std::pair<unsigned, std::uint64_t>> all_;
  std::vector<op_type> ops_;
};

/// A selector in [0, bound) drawn uniformly whatever RapidCheck's current size is.
[[nodiscard]] inline rc::Gen<unsigned> selector(unsigned bound) {
  return rc::gen::resize(rc::kNominalSize, rc::gen::inRange(0u, bound));
}

}  // namespace detail

[[nodiscard]] inline rc::Gen<history_step> gen_history_step() {
  using detail::selector;
  return rc::gen::map(
      rc::gen::tuple(selector(100), selector(8), selector(64), selector(64), selector(256), selector(64)),
      [](const std::tuple<unsigned, unsigned, unsigned, unsigned, unsigned, unsigned>& t) {
        return history_step{std::get<0>(t), std::get<1>(t), std::get<2>(t),
                            std::get<3>(t), std::get<4>(t), std::get<5>(t)};
      });
}

/// Turns a script into ops. Deterministic: the same script always gives the same history.
template <treecrdt::OpKey Key>
[[nodiscard]] history<Key> interpret_history(unsigned replicas, unsigned nodes,
                                             const std::vector<history_step>& steps) {
  detail::history_builder<Key> builder(replicas, nodes);
  for (const auto& s : steps) builder.step(s);
  return history<Key>{builder.take(), replicas, nodes};
}

/// Scripts of 0..max_steps steps, uniformly whatever RapidCheck's current size is (a cycle-pair step
/// makes two ops, a sync none).
[[nodiscard]] inline rc::Gen<std::vector<history_step>> gen_history_script(int max_steps = 56) {
  return rc::gen::resize(max_steps, rc::gen::container<std::vector<history_step>>(gen_history_step()));
}

/// A plausible history of 2–5 replicas over a pool of 3–12 nodes, about `max_steps` ops at most.
template <treecrdt::OpKey Key>
[[nodiscard]] rc::Gen<history<Key>> gen_history(int max_steps = 56) {
  return rc::gen::map(rc::gen::tuple(detail::selector(4), detail::selector(10), gen_history_script(max_steps)),
                      [](const std::tuple<unsigned, unsigned, std::vector<history_step>>& t) {
                        return interpret_history<Key>(2 + std::get<0>(t), 3 + std::get<1>(t), std::get<2>(t));
                      });
}

/// How ops reach a replica: batches, in order.
template <treecrdt::OpKey Key>
struct delivery {
  std::vector<std::vector<treecrdt::op<Key>>> batches;
};

template <treecrdt::OpKey Key>
void showValue(const delivery<Key>& d, std::ostream& os) {
  os << d.batches.size() << " batches:\n";
  for (std::size_t i = 0; i < d.batches.size(); ++i) {
    os << "-- batch " << i << " --\n";
    write_ops_json_lines(os, d.batches[i]);
  }
}

/// A delivery plan for `ops`: a random order (as the sort by random weights), some exact
/// duplicates re-sent at random places, then cut into random batches. Shrinks towards the
/// original order in one batch.
template <treecrdt::OpKey Key>
[[nodiscard]] rc::Gen<delivery<Key>> gen_delivery(std::vector<treecrdt::op<Key>> ops) {
  using detail::selector;
  const auto n = static_cast<unsigned>(ops.size());
  const unsigned max_dups = n / 4 + 1;
  auto dups = rc::gen::mapcat(selector(max_dups + 1), [n](unsigned count) {
    return rc::gen::container<std::vector<std::pair<unsigned, unsigned>>>(
        count, rc::gen::pair(selector(std::max(n, 1u)), selector(1u << 16)));
  });
  return rc::gen::map(
      rc::gen::tuple(rc::gen::container<std::vector<unsigned>>(n, selector(1u << 16)), std::move(dups),
                     rc::gen::container<std::vector<unsigned>>(n + max_dups, selector(4))),
      [ops = std::move(ops)](const std::tuple<std::vector<unsigned>, std::vector<std::pair<unsigned, unsigned>>,
                                              std::vector<unsigned>>& t) {
        const auto& [weights, duplicates, cuts] = t;
        std::vector<std::pair<unsigned, std::size_t>> order;  // (weight, index into ops)
        for (std::size_t i = 0; i < ops.size(); ++i) order.emplace_back(weights[i], i);
        if (!ops.empty())
          for (const auto& [index, weight] : duplicates) order.emplace_back(weight, index % ops.size());
        std::stable_sort(order.begin(), order.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
        delivery<Key> out;
        for (std::size_t i = 0; i < order.size(); ++i) {
          if (out.batches.empty() || cuts[i] == 3) out.batches.emplace_back();
          out.batches.back().push_back(ops[order[i].second]);
        }
        return out;
      });
}

}  // namespace treecrdt_test
