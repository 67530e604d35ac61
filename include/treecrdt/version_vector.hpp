#pragma once
// Gap-aware version vectors (SPEC §4): a set of dots stored per replica as a contiguous prefix
// 1..frontier plus sorted, disjoint, non-adjacent ranges above it. Missing counters stay missing.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/container/flat_map.hpp>

#include "detail/binary.hpp"
#include "op_key.hpp"

namespace treecrdt {

/// An inclusive range of counters `[first, last]`.
struct counter_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  friend bool operator==(const counter_range&, const counter_range&) = default;
};

template <class Replica>
class version_vector {
 public:
  using replica_type = Replica;

  /// Per replica: counters 1..frontier, plus `ranges` (sorted, disjoint, first > frontier + 1,
  /// never adjacent to each other). Empty entries are never stored.
  struct entry {
    std::uint64_t frontier = 0;
    std::vector<counter_range> ranges;
    friend bool operator==(const entry&, const entry&) = default;
  };

  /// Adds the dot (r, c); c == 0 is ignored. Complexity: O(1) amortized for in-order counters,
  /// O(log g + g) worst case in the number g of gaps of that replica.
  void observe(const Replica& r, std::uint64_t c) {
    if (c != 0) add_range(r, c, c);
  }

  /// Adds every counter in [first, last] (first ≥ 1, first ≤ last); other inputs are ignored.
  void add_range(const Replica& r, std::uint64_t first, std::uint64_t last) {
    if (first == 0 || first > last) return;
    auto it = entries_.find(r);  // find first: operator[] would build a key to insert
    if (it == entries_.end()) it = entries_.emplace(r, entry{}).first;
    insert_range(it->second, first, last);
  }

  /// Removes the dot (r, c) if present (undo of observe). Complexity: O(g) in the gaps of r.
  void erase(const Replica& r, std::uint64_t c) {
    const auto it = entries_.find(r);
    if (c == 0 || it == entries_.end()) return;
    entry& e = it->second;
    if (c <= e.frontier) {
      if (c < e.frontier) e.ranges.insert(e.ranges.begin(), counter_range{c + 1, e.frontier});
      e.frontier = c - 1;
    } else {
      auto at = std::upper_bound(e.ranges.begin(), e.ranges.end(), c,
                                 [](std::uint64_t v, const counter_range& cr) { return v < cr.first; });
      if (at == e.ranges.begin()) return;
      --at;
      if (at->last < c) return;
      if (at->first == at->last) {
        e.ranges.erase(at);
      } else if (at->first == c) {
        ++at->first;
      } else if (at->last == c) {
        --at->last;
      } else {
        const counter_range upper{c + 1, at->last};
        at->last = c - 1;
        e.ranges.insert(std::next(at), upper);
      }
    }
    if (e.frontier == 0 && e.ranges.empty()) entries_.erase(it);
  }

  /// The dots in 1..max_counter(r) that are missing, per replica: what a peer holding this vector
  /// has declared it has *not* seen. Complexity: linear in the ranges.
  [[nodiscard]] version_vector gaps() const {
    version_vector out;
    for (const auto& [r, e] : entries_) {
      std::uint64_t next = e.frontier + 1;
      for (const auto& cr : e.ranges) {
        if (cr.first > next) out.add_range(r, next, cr.first - 1);
        next = cr.last + 1;
      }
    }
    return out;
  }

  [[nodiscard]] bool contains(const Replica& r, std::uint64_t c) const {
    if (c == 0) return false;
    const auto it = entries_.find(r);
    return it != entries_.end() && covers(it->second, c, c);
  }

  /// Set union. Complexity: linear in the total size of both vectors' entries.
  void merge(const version_vector& other) {
    for (const auto& [r, e] : other.entries_) {
      entry& mine = entries_[r];
      if (e.frontier > 0) insert_range(mine, 1, e.frontier);
      for (const auto& range : e.ranges) insert_range(mine, range.first, range.last);
    }
  }

  /// True when every dot of `other` is in this vector.
  [[nodiscard]] bool is_aware_of(const version_vector& other) const {
    for (const auto& [r, e] : other.entries_) {
      const auto it = entries_.find(r);
      if (it == entries_.end()) return false;
      if (e.frontier > 0 && !covers(it->second, 1, e.frontier)) return false;
      for (const auto& range : e.ranges)
        if (!covers(it->second, range.first, range.last)) return false;
    }
    return true;
  }

  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  [[nodiscard]] std::size_t replica_count() const noexcept { return entries_.size(); }
  /// Entries sorted by replica: the canonical iteration order for encoders.
  [[nodiscard]] const auto& entries() const noexcept { return entries_; }

  /// Largest counter seen from r (0 if none).
  [[nodiscard]] std::uint64_t max_counter(const Replica& r) const {
    const auto it = entries_.find(r);
    if (it == entries_.end()) return 0;
    return it->second.ranges.empty() ? it->second.frontier : it->second.ranges.back().last;
  }

  friend bool operator==(const version_vector&, const version_vector&) = default;

 private:
  static bool covers(const entry& e, std::uint64_t first, std::uint64_t last) {
    if (last <= e.frontier) return true;
    if (first <= e.frontier) first = e.frontier + 1;
    // The only range that can hold `first` is the last one starting at or below it.
    auto it = std::upper_bound(e.ranges.begin(), e.ranges.end(), first,
                               [](std::uint64_t v, const counter_range& cr) { return v < cr.first; });
    if (it == e.ranges.begin()) return false;
    --it;
    return it->first <= first && it->last >= last;
  }

  static void insert_range(entry& e, std::uint64_t first, std::uint64_t last) {
    if (last <= e.frontier) return;
    if (first <= e.frontier + 1) {
      e.frontier = last;
    } else {
      auto& rs = e.ranges;
      // Fast path: in-order counters extend or follow the last range. (Here first ≥ 2, and every
      // range starts at 2 or above: "a - 1 > b" spells "a > b + 1" without overflow at 2^64 − 1.)
      if (rs.empty() || first - 1 > rs.back().last) {
        rs.push_back({first, last});
        return;
      }
      // General path: merge with every range that overlaps or touches [first, last].
      auto lo = std::lower_bound(rs.begin(), rs.end(), first,
                                 [](const counter_range& cr, std::uint64_t v) { return cr.last < v - 1; });
      auto hi = lo;
      while (hi != rs.end() && hi->first - 1 <= last) {
        first = std::min(first, hi->first);
        last = std::max(last, hi->last);
        ++hi;
      }
      lo = rs.erase(lo, hi);
      rs.insert(lo, counter_range{first, last});
    }
    absorb_into_frontier(e);
  }

  static void absorb_into_frontier(entry& e) {
    auto& rs = e.ranges;
    std::size_t drop = 0;
    while (drop < rs.size() && rs[drop].first - 1 <= e.frontier) {
      e.frontier = std::max(e.frontier, rs[drop].last);
      ++drop;
    }
    if (drop > 0) rs.erase(rs.begin(), rs.begin() + static_cast<std::ptrdiff_t>(drop));
  }

  boost::container::flat_map<Replica, entry> entries_;
};

/// Canonical binary form: entries in replica order, ranges in counter order. `write_replica(w, r)`
/// writes a replica's name; a store writes its index into a replica table it writes once instead.
/// `Writer` is detail::binary_writer or detail::raw_writer (the same bytes).
template <class Writer, class Replica, class WriteReplica>
void encode_version_vector(Writer& w, const version_vector<Replica>& vv, WriteReplica&& write_replica) {
  w.varint(vv.replica_count());
  for (const auto& [r, e] : vv.entries()) {
    write_replica(w, r);
    w.varint(e.frontier);
    w.varint(e.ranges.size());
    for (const auto& cr : e.ranges) {
      w.varint(cr.first);
      w.varint(cr.last);
    }
  }
}

/// An upper bound of the bytes encode_version_vector writes for `vv`, given at most
/// `replica_bound` bytes per replica name.
template <class Replica>
[[nodiscard]] std::size_t encoded_size_bound(const version_vector<Replica>& vv, std::size_t replica_bound) noexcept {
  std::size_t n = detail::raw_writer::varint_bound;
  for (const auto& [r, e] : vv.entries())
    n += replica_bound + (2 + 2 * e.ranges.size()) * detail::raw_writer::varint_bound;
  return n;
}

template <class Replica>
void encode_version_vector(detail::binary_writer& w, const version_vector<Replica>& vv) {
  encode_version_vector(w, vv, [](detail::binary_writer& out, const Replica& r) {
    if constexpr (std::is_same_v<Replica, bytes>)
      out.byte_string(r);  // no copy of the name
    else
      out.byte_string(replica_codec<Replica>::to_bytes(r));
  });
}

/// Inverse of encode_version_vector. Accepts only the canonical form it writes — replicas in
/// ascending order, no empty entry, ranges ascending, each starting above the frontier or the
/// previous range plus one — so equal vectors have equal bytes. Throws detail::decode_failure.
/// `read_replica(r)` reads what the matching `write_replica` wrote.
template <class Replica, class ReadReplica>
[[nodiscard]] version_vector<Replica> decode_version_vector(detail::binary_reader& r, ReadReplica&& read_replica) {
  version_vector<Replica> vv;
  const std::uint64_t n = r.varint();
  std::optional<Replica> previous;
  for (std::uint64_t i = 0; i < n; ++i) {
    Replica rep = read_replica(r);
    if (previous && !(*previous < rep))
      throw detail::decode_failure("version vector replicas out of order or listed twice");
    const std::uint64_t frontier = r.varint();
    const std::uint64_t ranges = r.varint();
    if (frontier == 0 && ranges == 0) throw detail::decode_failure("empty version vector entry");
    vv.add_range(rep, 1, frontier);
    std::uint64_t below = frontier;  // the next range must start above below + 1
    for (std::uint64_t j = 0; j < ranges; ++j) {
      const std::uint64_t first = r.varint();
      const std::uint64_t last = r.varint();
      if (first == 0 || first > last) throw detail::decode_failure("bad counter range in version vector");
      if (first - 1 <= below)
        throw detail::decode_failure("version vector ranges out of order, overlapping or touching");
      vv.add_range(rep, first, last);
      below = last;
    }
    previous = std::move(rep);
  }
  return vv;
}

template <class Replica>
[[nodiscard]] version_vector<Replica> decode_version_vector(detail::binary_reader& r) {
  return decode_version_vector<Replica>(
      r, [](detail::binary_reader& in) { return replica_codec<Replica>::from_bytes(in.byte_string()); });
}

}  // namespace treecrdt
