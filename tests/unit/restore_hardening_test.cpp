// A checkpoint whose checksum verifies but whose content is inconsistent is rejected as corrupt
// (issue: restore hardening): a parent cycle, a node listed twice, a parent never listed, ROOT or
// TRASH missing or with a parent, counts larger than the input, a summary naming an unknown
// replica. The snapshots are written by hand in memory_store's format and sealed with a valid
// header and checksum, so only the content checks can catch them; catch-up then falls back.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "support/keys.hpp"
#include "treecrdt/checkpoint_codec.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/reads.hpp"

using namespace treecrdt;
using treecrdt::testing::key;
using treecrdt::testing::nid;

namespace {
using K = default_op_key;

struct node_row {
  node_id id;
  std::optional<node_id> parent;
  std::optional<std::uint64_t> deleted_by = std::nullopt;  // deleted_at {replica index: 1}
  std::uint8_t parts = 15;                                 // a full snapshot lists every part of a node
};

/// memory_store's snapshot format: replica table, applied and tracked version vectors, then nodes.
std::string snapshot_bytes(const std::vector<node_row>& rows, std::uint64_t claimed_count, std::uint64_t replica = 0) {
  std::string out;
  detail::binary_writer w(out);
  w.varint(1);
  w.byte_string("");
  encode_version_vector(w, version_vector<bytes>{});
  encode_version_vector(w, version_vector<bytes>{});
  w.varint(claimed_count);
  for (const auto& row : rows) {
    detail::encode_node(w, row.id);
    w.u8(row.parts);
    w.u8(static_cast<std::uint8_t>((row.parent ? 1 : 0) | (row.deleted_by ? 8 : 0)));
    if (row.parent) {
      detail::encode_node(w, *row.parent);
      w.byte_string("k");
    }
    w.varint(row.parent ? 1 : 0);  // one summary entry for attached nodes
    if (row.parent) {
      w.varint(replica);
      w.varint(1);
    }
    if (row.deleted_by) {  // version vectors inside nodes name replicas by table index
      w.varint(1);
      w.varint(*row.deleted_by);
      w.varint(1);
      w.varint(0);
    }
  }
  return out;
}

std::string sealed(const std::string& snapshot, const K& head, std::uint64_t seq) {
  std::string out(checkpoint_magic);
  detail::binary_writer w(out);
  detail::write_checkpoint_header<K>(w, detail::checkpoint_kind::full, head, seq, nullptr);
  out += snapshot;
  detail::seal_checkpoint(out);
  return out;
}

const node_row root_row{root_node, std::nullopt};
const node_row trash_row{trash_node, std::nullopt};
}  // namespace

TEST_CASE("restore hardening: a well-formed hand-written snapshot restores", "[checkpoint][hardening]") {
  memory_store<K> s;
  s.restore(snapshot_bytes({root_row, trash_row, {nid(1), root_node}, {nid(2), nid(1)}, {nid(3), trash_node}}, 5));
  CHECK(children_of(s, root_node) == std::vector<node_id>{nid(1)});
  CHECK(children_of(s, nid(1)) == std::vector<node_id>{nid(2)});
  CHECK(parent_of(s, nid(3)) == trash_node);  // a node moved to TRASH keeps TRASH as its parent (rule 3)
}

TEST_CASE("restore hardening: inconsistent snapshots are rejected and leave the store cleared",
          "[checkpoint][hardening]") {
  const auto rejected = [](const std::string& snapshot) {
    memory_store<K> s;
    CHECK_THROWS_AS(s.restore(snapshot), detail::decode_failure);
    CHECK(s.node_count() == 2);  // cleared: ROOT and TRASH only
    // Sealed in a checkpoint with a valid checksum, it is a corrupt checkpoint.
    memory_store<K> t;
    CHECK_THROWS_AS(restore_checkpoint(t, sealed(snapshot, key<K>(9, 1, 9), 9), key<K>(9, 1, 9), 9),
                    corrupt_checkpoint_error);
    CHECK(t.node_count() == 2);
  };
  SECTION("a parent cycle") { rejected(snapshot_bytes({root_row, trash_row, {nid(1), nid(2)}, {nid(2), nid(1)}}, 4)); }
  SECTION("a longer cycle beside a sound tree") {
    rejected(snapshot_bytes(
        {root_row, trash_row, {nid(9), root_node}, {nid(1), nid(3)}, {nid(2), nid(1)}, {nid(3), nid(2)}}, 6));
  }
  SECTION("a node listed twice") {
    rejected(snapshot_bytes({root_row, trash_row, {nid(1), root_node}, {nid(1), root_node}}, 4));
  }
  SECTION("ROOT listed twice") { rejected(snapshot_bytes({root_row, trash_row, root_row}, 3)); }
  SECTION("a parent that is never listed") { rejected(snapshot_bytes({root_row, trash_row, {nid(1), nid(7)}}, 3)); }
  SECTION("a node under itself") { rejected(snapshot_bytes({root_row, trash_row, {nid(1), nid(1)}}, 3)); }
  SECTION("ROOT with a parent") { rejected(snapshot_bytes({{root_node, nid(1)}, trash_row, {nid(1), trash_node}}, 3)); }
  SECTION("TRASH with a parent") { rejected(snapshot_bytes({root_row, {trash_node, root_node}}, 2)); }
  SECTION("TRASH missing") { rejected(snapshot_bytes({root_row, {nid(1), root_node}}, 2)); }
  SECTION("a count larger than the nodes listed") {
    rejected(snapshot_bytes({root_row, trash_row, {nid(1), root_node}}, 4));
  }
  SECTION("a count smaller than the nodes listed") {
    rejected(snapshot_bytes({root_row, trash_row, {nid(1), root_node}}, 2));
  }
  SECTION("a summary naming an unknown replica") {
    rejected(snapshot_bytes({root_row, trash_row, {nid(1), root_node}}, 3, 5));
  }
  SECTION("part of a node in a full snapshot") {
    rejected(snapshot_bytes({root_row, trash_row, {nid(1), root_node, std::nullopt, 3}}, 3));
  }
  SECTION("a record with no parts") {
    rejected(snapshot_bytes({root_row, trash_row, {nid(1), root_node, std::nullopt, 0}}, 3));
  }
  SECTION("a record with an unknown part") {
    rejected(snapshot_bytes({root_row, trash_row, {nid(1), root_node, std::nullopt, 31}}, 3));
  }
  SECTION("a deleted_at naming an unknown replica") {
    rejected(snapshot_bytes({root_row, trash_row, {nid(1), root_node, 5}}, 3));
  }
}

TEST_CASE("restore hardening: a deleted_at names its replica by the table's index", "[checkpoint][hardening]") {
  memory_store<K> s;
  s.restore(snapshot_bytes({root_row, trash_row, {nid(1), root_node, 0}}, 3));
  std::string again;
  s.snapshot(again);
  CHECK(again == snapshot_bytes({root_row, trash_row, {nid(1), root_node, 0}}, 3));
}

TEST_CASE("restore hardening: a checkpoint of another format is unknown, not misread", "[checkpoint][hardening]") {
  std::string blob = sealed(snapshot_bytes({root_row, trash_row}, 2), key<K>(9, 1, 9), 9);
  blob[checkpoint_magic.size()] = static_cast<char>(checkpoint_format - 1);  // e.g. format 2 of an older build
  memory_store<K> s;
  try {
    restore_checkpoint(s, blob, key<K>(9, 1, 9), 9);
    FAIL("an older format restored");
  } catch (const corrupt_checkpoint_error& e) {
    CHECK(std::string(e.what()).find("unknown checkpoint format") != std::string::npos);
  }
  CHECK(s.node_count() == 2);
}

TEST_CASE("restore hardening: catch-up falls back past a sealed but inconsistent checkpoint",
          "[checkpoint][hardening]") {
  memory_storage<K> db;
  std::vector<op<K>> ops;
  for (std::uint64_t n = 1; n <= 8; ++n) ops.push_back(make_insert(key<K>(n, 1, n), root_node, nid(n), "k"));
  canonical_export expected;
  {
    document<K, memory_storage<K>, memory_store<K>, every_n_ops> d(db, "me", every_n_ops{4});
    for (const auto& o : ops) d.apply(std::span<const op<K>>(&o, 1));
    expected = d.export_canonical();
  }
  {
    // Replace the newest checkpoint with a cycle that checksums correctly.
    auto s = db;
    const auto newest = *s.latest_checkpoint_before(std::nullopt);
    auto tx = s.begin();
    (void)s.save_checkpoint(
        newest.key, newest.seq,
        sealed(snapshot_bytes({root_row, trash_row, {nid(1), nid(2)}, {nid(2), nid(1)}}, 4), newest.key, newest.seq));
    tx.commit();
  }
  document<K, memory_storage<K>, memory_store<K>, every_n_ops> d(db, "me", every_n_ops{4}, {},
                                                                 catch_up_options{16384, catch_up_path::checkpoint});
  CHECK(d.stats().corrupt_checkpoints_skipped >= 1);
  CHECK(d.export_canonical() == expected);
}
