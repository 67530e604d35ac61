// Properties of treecrdt::document over memory storage, checked against the reference fold:
// convergence under any delivery, equality with the reference after every batch, export invariants,
// and convergence of random local edits with random syncs (SPEC §5–§8).
#include <rapidcheck/catch.h>
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "edit_script.hpp"
#include "test_helpers.hpp"
#include "treecrdt/document.hpp"
#if TREECRDT_PROPERTIES_WITH_JSON
#include "treecrdt/json.hpp"
#endif

using namespace treecrdt;
using namespace treecrdt_test;

namespace {

template <class Key>
using test_document = document<Key>;

/// Local replicas of the documents: distinct from the generated histories' replicas (0x10..0x14).
template <class Key>
replica_of<Key> doc_replica(unsigned i) {
  return test_replica<Key>(0x70 + i);
}

template <class Key>
void deliver(test_document<Key>& doc, const delivery<Key>& d, bool deferred) {
  for (const auto& batch : d.batches) {
    if (deferred) {
      doc.apply(batch, defer_catch_up);
    } else {
      doc.apply(batch);
    }
  }
  if (deferred) doc.catch_up();
}

/// Checkpoint intervals worth mixing: every op, every few ops, and the default (rarely reached here).
/// Generated as a number so a counterexample shows it.
rc::Gen<unsigned> gen_interval() { return rc::gen::element(1u, 2u, 3u, 5u, 8u, 64u); }

void rc_assert_same_json([[maybe_unused]] const canonical_export& a, [[maybe_unused]] const canonical_export& b) {
#if TREECRDT_PROPERTIES_WITH_JSON
  RC_ASSERT(json::encode_export(a) == json::encode_export(b));
#endif
}

}  // namespace

TEMPLATE_TEST_CASE("document property: replicas converge whatever the delivery order and batching",
                   "[document][property]", default_op_key, compact_op_key) {
  using K = TestType;
  rc::prop("three documents, three deliveries, one export", [] {
    const auto h = *gen_history<K>();
    const auto d0 = *gen_delivery<K>(h.ops);
    const auto d1 = *gen_delivery<K>(h.ops);
    const auto d2 = *gen_delivery<K>(h.ops);
    const every_n_ops cadence{*gen_interval()};
    test_document<K> a(memory_storage<K>{}, doc_replica<K>(0));
    test_document<K> b(memory_storage<K>{}, doc_replica<K>(1), cadence);
    test_document<K> c(memory_storage<K>{}, doc_replica<K>(2), every_n_ops{1}, exponential_retention{1, 4});
    deliver(a, d0, false);
    deliver(b, d1, false);
    deliver(c, d2, true);  // late ops only lower the frontier; one catch-up at the end
    const auto ea = a.export_canonical();
    rc_assert_same_export(ea, b.export_canonical(), "document b vs document a");
    rc_assert_same_export(ea, c.export_canonical(), "document c (deferred catch-up) vs document a");
    rc_assert_same_json(ea, c.export_canonical());
    // Reopening over the same storage (restore a checkpoint, replay the suffix) changes nothing.
    test_document<K> reopened(b.storage(), doc_replica<K>(1), cadence);
    rc_assert_same_export(ea, reopened.export_canonical(), "document b reopened vs document a");
    RC_ASSERT(a.version() == c.version());
  });
}

TEMPLATE_TEST_CASE("document property: the tree equals the reference fold after every batch", "[document][property]",
                   default_op_key, compact_op_key) {
  using K = TestType;
  rc::prop("export == reference_fold(ops delivered so far)", [] {
    const auto h = *gen_history<K>();
    const auto d = *gen_delivery<K>(h.ops);
    const every_n_ops cadence{*gen_interval()};
    test_document<K> doc(memory_storage<K>{}, doc_replica<K>(0), cadence);
    std::vector<op<K>> delivered;
    for (std::size_t i = 0; i < d.batches.size(); ++i) {
      doc.apply(d.batches[i]);
      delivered.insert(delivered.end(), d.batches[i].begin(), d.batches[i].end());
      rc_assert_same_export(reference_fold(delivered), doc.export_canonical(),
                            "after batch " + std::to_string(i) + " of " + std::to_string(d.batches.size()));
    }
  });
}

TEMPLATE_TEST_CASE("document property: every export keeps the tree invariants", "[document][property]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  rc::prop("no cycles, each child listed once under its parent, lists sorted, no tombstoned child listed", [] {
    const auto h = *gen_history<K>();
    const auto d = *gen_delivery<K>(h.ops);
    test_document<K> doc(memory_storage<K>{}, doc_replica<K>(0), every_n_ops{*gen_interval()});
    for (std::size_t i = 0; i < d.batches.size(); ++i) {
      doc.apply(d.batches[i]);
      const auto ex = doc.export_canonical();
      rc_assert_invariants(ex, "after batch " + std::to_string(i));
      // The per-node reads agree with the export.
      for (const auto& row : ex.nodes) {
        RC_ASSERT(doc.exists(row.node));
        RC_ASSERT(doc.is_tombstoned(row.node) == row.tombstoned);
        RC_ASSERT(doc.payload(row.node) == row.payload);
        RC_ASSERT(doc.parent(row.node) == (row.tombstoned ? std::optional<node_id>(trash_node) : row.parent));
      }
      for (const auto& [parent, kids] : ex.children) RC_ASSERT(doc.children(parent) == kids);
    }
  });
}

TEMPLATE_TEST_CASE("document property: local edits with random syncs converge to the reference fold",
                   "[document][property]", default_op_key, compact_op_key) {
  using K = TestType;
  rc::prop("2-3 editing replicas, synced at random, then fully", [] {
    const unsigned count = *rc::gen::inRange(2u, 4u);
    const auto steps = *rc::gen::resize(40, rc::gen::container<std::vector<edit_step>>(gen_edit_step()));
    std::vector<test_document<K>> docs;
    for (unsigned i = 0; i < count; ++i)
      docs.emplace_back(memory_storage<K>{}, doc_replica<K>(i), every_n_ops{*gen_interval()});
    const std::vector<op<K>> made = run_edits<K>(docs, steps);
    RC_LOG() << "local ops made, as JSON lines:\n" << ops_as_json_lines(made);
    // Two rounds of pairwise pulls reach everyone with everything.
    for (int round = 0; round < 2; ++round)
      for (auto& to : docs)
        for (auto& from : docs)
          if (&to != &from) to.apply(from.ops_since(to.version()));
    const auto expected = reference_fold(made);
    for (std::size_t i = 0; i < docs.size(); ++i) {
      rc_assert_same_export(expected, docs[i].export_canonical(), "document " + std::to_string(i));
      RC_ASSERT(docs[i].ops_since(docs[i].version()).empty());
    }
    rc_assert_same_json(docs.front().export_canonical(), docs.back().export_canonical());
  });
}

/// The default retention, counting its passes: each is one prune, which lists every checkpoint.
struct counting_retention {
  exponential_retention inner;
  std::shared_ptr<std::uint64_t> passes = std::make_shared<std::uint64_t>(0);
  [[nodiscard]] std::vector<bool> select(std::span<const checkpoint_summary> cps, std::uint64_t head_seq) const {
    ++*passes;
    return inner.select(cps, head_seq);
  }
};

// The delta budget (checkpoint_chain.hpp): a chain runs on deltas until they outweigh
// rebase_ratio × its full checkpoint, but at least min_delta_budget (catch_up_options), or until
// max_chain_links. A small tree's full snapshot (a few kB) is thus not rewritten every few links,
// and a chain is still rebased at the link bound; with a floor of 0, by the ratio. Pruning, which
// lists every checkpoint, runs after a full one and then at doubling counts: O(log links) passes
// over a chain, not one per link. Counts, not times.
TEMPLATE_TEST_CASE("document: a small tree's chain is rebased by the delta budget floor and the link bound",
                   "[document][checkpoint]", default_op_key, compact_op_key) {
  using K = TestType;
  const counting_retention retention;
  document<K, memory_storage<K>, memory_store<K>, default_cadence, counting_retention> doc(
      memory_storage<K>{}, doc_replica<K>(0), every_n_ops{4}, retention);
  std::uint64_t lamport = 0;
  const auto next_key = [&] {
    ++lamport;
    return make_key<K>(lamport, 1, lamport);
  };
  for (std::uint64_t n = 1; n <= 20; ++n) {
    const op<K> ins = make_insert(next_key(), root_node, nid(n), bytes(1, static_cast<char>('a' + n)));
    doc.apply(std::span<const op<K>>(&ins, 1));
  }
  const auto fulls = [&] { return doc.stats().checkpoints_written - doc.stats().delta_checkpoints_written; };
  REQUIRE(fulls() == 1);  // at op 4: a delta needs a chain to extend
  const std::uint64_t full_size = doc.storage().list_checkpoints().front().size_bytes;
  const std::uint64_t floor = catch_up_options{}.min_delta_budget;
  const std::uint64_t ratio = catch_up_options{}.rebase_ratio;
  REQUIRE(ratio * full_size < floor / 8);  // the floor, not the ratio, is what binds
  std::uint64_t written = doc.stats().checkpoints_written;
  // Payload writes until the chain has max_chain_links links (each 4 ops, each a few records).
  while (written < max_chain_links) {
    const op<K> p = make_payload(next_key(), nid(1 + lamport % 20), bytes("value"));
    doc.apply(std::span<const op<K>>(&p, 1));
    written = doc.stats().checkpoints_written;
    REQUIRE(fulls() == 1);  // far more than ratio × full_size of deltas: still one chain
  }
  std::uint64_t delta_bytes = 0;
  for (const auto& cp : doc.storage().list_checkpoints()) delta_bytes += cp.is_full() ? 0 : cp.size_bytes;
  CHECK(delta_bytes > 4 * ratio * full_size);
  CHECK(delta_bytes <= floor);
  // Passes: one at the full checkpoint, then after 1, 2, 4, ... further links: about log2(links).
  std::uint64_t log2_links = 0;
  while ((std::uint64_t{2} << log2_links) <= max_chain_links) ++log2_links;
  CHECK(*retention.passes >= log2_links);
  CHECK(*retention.passes <= log2_links + 3);
  CHECK(doc.storage().list_checkpoints().size() == max_chain_links);  // the chain is kept whole
  for (int i = 0; i < 4; ++i) {  // the next checkpoint would be link max_chain_links + 1: a rebase
    const op<K> p = make_payload(next_key(), nid(1), bytes("rebase"));
    doc.apply(std::span<const op<K>>(&p, 1));
  }
  CHECK(fulls() == 2);
  CHECK(doc.stats().checkpoints_written == max_chain_links + 1);
  // The new full one prunes the old chain but its full link, one of keep_recent older full ones.
  CHECK(doc.storage().list_checkpoints().size() == 2);

  // With no floor the ratio binds: the chain's deltas never pass ratio × its full checkpoint, and
  // a smaller ratio rebases more often (0: every checkpoint is a full one).
  std::uint64_t previous_fulls = 0;
  for (const std::uint64_t r : {ratio, std::uint64_t{1}, std::uint64_t{0}}) {
    CAPTURE(r);
    test_document<K> ratio_only(memory_storage<K>{}, doc_replica<K>(0), every_n_ops{4}, exponential_retention{},
                                catch_up_options{.rebase_ratio = r, .min_delta_budget = 0});
    for (std::uint64_t i = 1; i <= 2000; ++i) {
      const op<K> o = i <= 20
                          ? make_insert(make_key<K>(i, 1, i), root_node, nid(i), bytes(1, static_cast<char>('a' + i)))
                          : make_payload(make_key<K>(i, 1, i), nid(1 + i % 20), bytes("value"));
      ratio_only.apply(std::span<const op<K>>(&o, 1));
      const auto cps = ratio_only.storage().list_checkpoints();
      std::uint64_t chain_deltas = 0, newest_full = 0;
      for (const auto& cp : cps) {
        if (cp.is_full()) {
          chain_deltas = 0;
          newest_full = cp.size_bytes;
        } else {
          chain_deltas += cp.size_bytes;
        }
      }
      REQUIRE(chain_deltas <= r * newest_full);
    }
    const auto& st = ratio_only.stats();
    const std::uint64_t fulls_written = st.checkpoints_written - st.delta_checkpoints_written;
    CHECK(fulls_written > 20);  // rebased every few links
    CHECK(fulls_written > previous_fulls);
    if (r == 0) CHECK(st.delta_checkpoints_written == 0);
    previous_fulls = fulls_written;
  }
}
