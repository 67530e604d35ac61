// libFuzzer harness: a document<> driven by a program decoded from the input. The program
// generates valid remote ops (three replicas, eight node ids, small lamports, now and then one next
// to the clock limit), delivers them in batches of any order — forward, late, duplicated, deferred
// and caught up later — makes local edits, sends batches that must be refused whole (an invalid op
// or a conflicting duplicate among valid ones), and reopens the document over its storage.
// Checkpoints are due every 1 to 6 ops, so catch-ups restore and re-write them all the time.
//
// Checked whenever the document is up to date: its canonical export equals a fresh fold of every
// op it acknowledged (fold_from_start over a new memory_store, in key order), its version and op count
// match that set, and its clock is the largest lamport in it. At the end the fresh fold is also
// checked against the independent reference model of SPEC §5 (tests/properties/reference_fold.hpp).
// A refused batch must leave the document exactly as it was. Local edits may only fail for the
// documented reasons (a sibling that is not a child; the clock limit).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "properties/reference_fold.hpp"
#include "treecrdt/document.hpp"

namespace {

using namespace treecrdt;
using K = default_op_key;
using doc_type = document<K, memory_storage<K>, memory_store<K>, every_n_ops>;
using treecrdt_fuzz::byte_source;

constexpr int remote_replicas = 3;  // replica ids "\x01" .. "\x03"
const bytes local_replica("\x09");

[[nodiscard]] bytes replica_id(unsigned r) { return bytes(1, static_cast<char>(r)); }
[[nodiscard]] node_id nid(unsigned n) { return node_id{0, n}; }

// TREECRDT_FUZZ_TRACE=1 prints the program as it runs (to read a finding).
[[nodiscard]] bool tracing() {
  static const bool on = std::getenv("TREECRDT_FUZZ_TRACE") != nullptr;
  return on;
}

[[nodiscard]] std::string show(const op<K>& o) {
  std::string out = describe(o);
  if (o.kind == op_kind::insert || o.kind == op_kind::move)
    out += " parent " + to_hex(o.parent) + " key " + detail::to_hex(o.order_key.substr(0, 8)) +
           (o.order_key.size() > 8 ? "... (" + std::to_string(o.order_key.size()) + " bytes)" : "");
  if (o.payload) out += " payload " + detail::to_hex(*o.payload);
  if (o.known_state) {
    out += " known {";
    for (const auto& [r, e] : o.known_state->entries()) {
      out += " " + detail::to_hex(r) + ":1-" + std::to_string(e.frontier);
      for (const auto& cr : e.ranges) out += "," + std::to_string(cr.first) + "-" + std::to_string(cr.last);
    }
    out += " }";
  }
  return out;
}

void trace(const std::string& line) {
  if (tracing()) std::fprintf(stderr, "%s\n", line.c_str());
}

void trace_batch(const char* what, const std::vector<op<K>>& batch) {
  if (!tracing()) return;
  trace(what);
  for (const auto& o : batch) trace("  " + show(o));
}

void trace_export(const canonical_export& e) {
  for (const auto& row : e.nodes)
    trace("  node " + std::to_string(row.node.lo) + " parent " + (row.parent ? to_hex(*row.parent) : "-") + " key " +
          (row.order_key ? detail::to_hex(*row.order_key) : "-") + (row.tombstoned ? " tombstoned" : "") + " payload " +
          (row.payload ? detail::to_hex(*row.payload) : "-"));
  for (const auto& [p, kids] : e.children) {
    std::string line = "  children of " + std::to_string(p.lo) + ":";
    for (const auto& k : kids) line += " " + std::to_string(k.lo);
    trace(line);
  }
}

struct harness {
  byte_source in;
  memory_storage<K> storage;
  every_n_ops cadence;
  std::optional<doc_type> doc;
  std::vector<op<K>> acknowledged;  // every op of every accepted batch and every local edit
  std::vector<op<K>> pending;       // generated remote ops not delivered yet
  std::vector<node_id> nodes;       // ids ops may name: nid(1..8) plus ids minted by local inserts
  std::uint64_t next_counter[remote_replicas + 1] = {0, 1, 1, 1};

  harness(const std::uint8_t* data, std::size_t size) : in(data, size), cadence{1 + in.below(6)} {
    for (unsigned n = 1; n <= 8; ++n) nodes.push_back(nid(n));
    doc.emplace(storage, local_replica, cadence);
  }

  [[nodiscard]] node_id any_node() { return nodes[in.below(static_cast<unsigned>(nodes.size()))]; }
  [[nodiscard]] node_id any_parent() {
    const unsigned pick = in.below(10);
    return pick == 0 ? root_node : pick == 1 ? trash_node : any_node();
  }

  [[nodiscard]] version_vector<bytes> any_known_state() {
    version_vector<bytes> vv;
    for (unsigned r = 1; r <= remote_replicas; ++r) {
      if (in.chance(2)) vv.add_range(replica_id(r), 1, in.below(static_cast<unsigned>(next_counter[r]) + 1));
      if (in.chance(3)) vv.observe(replica_id(r), 1 + in.below(static_cast<unsigned>(next_counter[r]) + 2));
    }
    if (in.chance(3)) vv.add_range(local_replica, 1, in.below(8));
    return vv;
  }

  [[nodiscard]] op<K> any_remote_op() {
    const unsigned r = 1 + in.below(remote_replicas);
    K key{1 + in.below(40), replica_id(r), next_counter[r]++};
    if (in.chance(64)) key.lamport = limits::max_clock - in.below(3);  // valid, but exhausts the clock
    const node_id node = any_node();
    switch (in.below(5)) {
      case 0: {
        std::optional<bytes> payload;
        if (in.chance(2)) payload = in.bytes_up_to(2);
        return make_insert(key, any_parent(), node, in.bytes_up_to(3), payload);
      }
      case 1: return make_move(key, node, any_parent(), in.bytes_up_to(3));
      case 2: return make_delete(key, node, any_known_state());
      case 3: {
        std::optional<version_vector<bytes>> known;
        if (in.chance(2)) known = any_known_state();
        return make_tombstone(key, node, known);
      }
      default: {
        std::optional<bytes> value;
        if (!in.chance(3)) value = in.bytes_up_to(2);
        return make_payload(key, in.chance(8) ? root_node : node, value);
      }
    }
  }

  [[nodiscard]] std::vector<op<K>> take_pending(unsigned most) {
    std::vector<op<K>> batch;
    const unsigned n = 1 + in.below(most);
    for (unsigned i = 0; i < n && !pending.empty(); ++i) {
      const auto at = pending.begin() + in.below(static_cast<unsigned>(pending.size()));
      batch.push_back(std::move(*at));
      pending.erase(at);
    }
    return batch;
  }

  void deliver(bool defer) {
    std::vector<op<K>> batch = take_pending(6);
    if (!acknowledged.empty() && in.chance(3))  // a duplicate of a stored op: ignored
      batch.push_back(acknowledged[in.below(static_cast<unsigned>(acknowledged.size()))]);
    if (!batch.empty() && in.chance(4)) batch.push_back(batch[in.below(static_cast<unsigned>(batch.size()))]);
    if (batch.empty()) return;
    trace_batch(defer ? "apply, deferred:" : "apply:", batch);
    try {
      if (defer)
        doc->apply(std::span<const op<K>>(batch), defer_catch_up);
      else
        doc->apply(std::span<const op<K>>(batch));
    } catch (const std::exception& e) {
      treecrdt_fuzz::fail(std::string("a valid batch was refused: ") + e.what());
    }
    acknowledged.insert(acknowledged.end(), batch.begin(), batch.end());
    if (defer && in.chance(2)) {
      trace("catch_up");
      doc->catch_up();
    }
  }

  // A batch of valid pending ops (not consumed) with one bad op at a random place.
  void refused_batch() {
    std::vector<op<K>> batch;
    for (unsigned i = 0, n = in.below(4); i < n && !pending.empty(); ++i)
      batch.push_back(pending[in.below(static_cast<unsigned>(pending.size()))]);
    std::vector<op<K>> unique;
    for (auto& o : batch)
      if (std::none_of(unique.begin(), unique.end(), [&](const op<K>& u) { return u.id() == o.id(); }))
        unique.push_back(o);
    batch = std::move(unique);
    op<K> bad;
    bool conflict = false;
    const unsigned shape = in.below(6);
    if (shape >= 4 && !acknowledged.empty()) {
      const op<K>& stored = acknowledged[in.below(static_cast<unsigned>(acknowledged.size()))];
      if (stored.key.replica != local_replica) {  // same dot, other content
        bad = stored;
        bad.key.lamport = stored.key.lamport == 1 ? 2 : stored.key.lamport - 1;
        conflict = true;
      }
    }
    if (!conflict) {
      switch (shape) {
        case 1: bad = make_move(K{3, replica_id(2), 999}, root_node, nid(1), bytes("\x80")); break;
        case 2:
          bad = make_insert(K{limits::max_clock + 1, replica_id(3), 998}, root_node, nid(2), bytes("\x80"));
          break;
        case 3:
          bad = make_insert(K{4, replica_id(3), 997}, root_node, nid(2), bytes(limits::max_order_key_bytes + 1, 'k'));
          break;
        default: bad = make_payload(K{1, replica_id(1), 0}, nid(1), std::nullopt); break;  // counter 0
      }
    }
    const std::size_t at = in.below(static_cast<unsigned>(batch.size()) + 1);
    batch.insert(batch.begin() + static_cast<std::ptrdiff_t>(at), bad);

    trace_batch(conflict ? "apply, refused (conflict):" : "apply, refused (invalid):", batch);
    const bool up_to_date = !doc->is_stale();
    const canonical_export before = up_to_date ? doc->export_canonical() : canonical_export{};
    const std::uint64_t count_before = storage.op_count();
    bool refused = false;
    try {
      doc->apply(std::span<const op<K>>(batch));
    } catch (const invalid_op_error& e) {
      refused = !conflict && e.index() == at;
    } catch (const conflicting_op_error& e) {
      refused = conflict && e.index() == at;
    }
    if (!refused) treecrdt_fuzz::fail("a batch with a bad op was accepted, or refused naming the wrong op");
    FUZZ_CHECK(storage.op_count() == count_before);
    FUZZ_CHECK(doc->is_stale() == !up_to_date);
    if (up_to_date) FUZZ_CHECK(doc->export_canonical() == before);
  }

  [[nodiscard]] position any_position() {
    switch (in.below(4)) {
      case 0: return position::first();
      case 1: return position::last();
      case 2: return position::after(any_node());
      default: return position::before(any_node());
    }
  }

  void local_edit() {
    const std::uint64_t count_before = storage.op_count();
    try {
      op<K> made;
      switch (in.below(5)) {
        case 0: {
          std::optional<bytes> payload;
          if (in.chance(2)) payload = in.bytes_up_to(2);
          const node_id parent = in.chance(3) ? root_node : any_node();
          made = doc->insert(parent, any_position(), payload);
          if (nodes.size() < 16) nodes.push_back(made.node);
          break;
        }
        case 1: {
          const node_id node = any_node();
          const node_id parent = any_parent();
          made = doc->move(node, parent, any_position());
          break;
        }
        case 2: made = doc->remove(any_node()); break;
        case 3: made = doc->set_payload(in.chance(8) ? root_node : any_node(), in.bytes_up_to(2)); break;
        default: made = doc->clear_payload(any_node()); break;
      }
      trace("local: " + show(made));
      FUZZ_CHECK(!validation_error(made));
      FUZZ_CHECK(made.key.replica == local_replica);
      acknowledged.push_back(std::move(made));
    } catch (const std::invalid_argument&) {  // position sibling is not a child of the parent
      FUZZ_CHECK(storage.op_count() == count_before);
    } catch (const clock_exhausted_error&) {
      FUZZ_CHECK(doc->lamport() >= limits::max_clock);
      FUZZ_CHECK(storage.op_count() == count_before);
    }
  }

  void reopen() {
    trace("reopen");
    doc.reset();
    doc.emplace(storage, local_replica, cadence);
  }

  // The fold of the acknowledged ops over a fresh store, in key order, each distinct op once.
  [[nodiscard]] std::vector<op<K>> distinct_acknowledged() const {
    std::map<dot<bytes>, op<K>> by_id;
    for (const auto& o : acknowledged) {
      const auto [it, fresh] = by_id.emplace(o.id(), o);
      if (!fresh && !(it->second == o)) treecrdt_fuzz::fail("the harness acknowledged two different ops with one dot");
    }
    std::vector<op<K>> out;
    for (auto& [id, o] : by_id) out.push_back(o);
    std::sort(out.begin(), out.end(), [](const op<K>& a, const op<K>& b) { return a.key < b.key; });
    return out;
  }

  void check(bool final_check) {
    trace("check");
    if (doc->is_stale()) doc->catch_up();
    const std::vector<op<K>> ops = distinct_acknowledged();
    memory_store<K> fresh;
    version_vector<bytes> dots;
    std::uint64_t lamport = 0;
    fold_from_start(fresh, ops);  // a second pass when a delete declared untracked gaps
    for (const auto& o : ops) {
      dots.observe(o.key.replica, o.key.counter);
      lamport = std::max(lamport, o.key.lamport);
    }
    const canonical_export expected = export_canonical(fresh);
    // At the end, first the fold itself against the reference model: a finding there is in the
    // store's rules, not in the document's incremental paths.
    if (final_check && treecrdt_test::reference_fold(ops) != expected)
      treecrdt_fuzz::fail("a fresh fold (fold_from_start over a new memory_store) disagrees with the reference model");
    if (tracing() && doc->export_canonical() != expected) {
      trace("document's export, then the fold's:");
      trace_export(doc->export_canonical());
      trace_export(expected);
      trace("the reference model's:");
      trace_export(treecrdt_test::reference_fold(ops));
    }
    FUZZ_CHECK(doc->export_canonical() == expected);
    FUZZ_CHECK(storage.op_count() == ops.size());
    FUZZ_CHECK(doc->version() == dots);
    FUZZ_CHECK(doc->lamport() == lamport);
  }

  void run() {
    for (int step = 0; step < 64 && !in.empty(); ++step) {
      switch (in.below(10)) {
        case 0:
        case 1:
        case 2: pending.push_back(any_remote_op()); break;
        case 3:
        case 4: deliver(false); break;
        case 5: deliver(true); break;
        case 6: local_edit(); break;
        case 7: refused_batch(); break;
        case 8: reopen(); break;
        default: check(false); break;
      }
      if (tracing() && !doc->is_stale()) check(false);  // find the first step that diverges
    }
    check(true);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  harness h(data, size);
  h.run();
  return 0;
}
