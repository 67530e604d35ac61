// A document over SQLite files: restart from the file (checkpoint + suffix replay, clocks resume),
// corrupted checkpoints (detected, skipped, state still exact), failing writes (the document and
// the file stay exactly as before, and a retry works), and a file of schema version 1 (migrated).
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sqlite/sqlite_document_support.hpp"
#include "sqlite/sqlite_test_support.hpp"
#include "sqlite/sqlite_version_1_file.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/storage/sqlite.hpp"

using namespace treecrdt;
using treecrdt_test::dump_treecrdt_database;
using treecrdt_test::exec_sql;
using treecrdt_test::flip_checkpoint_byte;
using treecrdt_test::seeded_batches;
using treecrdt_test::seeded_history;
using treecrdt_test::temp_dir;
using treecrdt_test::version_1_file;

namespace {

template <OpKey K>
using sqlite_document = document<K, sqlite_storage<K>, memory_store<K>, every_n_ops, exponential_retention>;

/// The documents' own replica: distinct from the generated histories' replicas (0x10..0x17).
template <OpKey K>
replica_of<K> local_replica() {
  return replica_codec<replica_of<K>>::from_bytes(bytes(1, '\x01'));
}

template <OpKey K>
void apply_all(auto& doc, const std::vector<std::vector<op<K>>>& batches) {
  for (const auto& b : batches) doc.apply(b);
}

/// The export a fresh in-memory document gives for the same batches: what any path must produce.
template <OpKey K>
canonical_export expected_export(const std::vector<std::vector<op<K>>>& batches) {
  document<K> ref(memory_storage<K>{}, local_replica<K>());
  apply_all<K>(ref, batches);
  return ref.export_canonical();
}

}  // namespace

TEMPLATE_TEST_CASE("sqlite document reopens to the same export, replaying only ops after the latest checkpoint",
                   "[sqlite][document]", default_op_key, compact_op_key) {
  using K = TestType;
  temp_dir dir;
  const auto path = dir.file("doc.db");
  const auto batches = seeded_batches(seeded_history<K>(1, 700, 4, 40), 2, 12, 9);
  canonical_export before;
  std::uint64_t ops = 0, max_lamport = 0, local_counter = 0;
  {
    sqlite_document<K> doc(sqlite_storage<K>::open(path), local_replica<K>());
    apply_all<K>(doc, batches);
    // Local edits interleaved, so the local clock has something to resume from.
    node_id last = root_node;
    for (int i = 0; i < 40; ++i) {
      const auto o = doc.insert(last == root_node ? root_node : last, position::last(), bytes("p"));
      if (i % 3 == 0) last = o.node;
      if (i % 7 == 0) (void)doc.set_payload(o.node, bytes("q"));
    }
    CHECK(doc.stats().late_ops > 0);  // the delivery really had late ops
    before = doc.export_canonical();
    ops = doc.storage().op_count();
    max_lamport = doc.storage().max_lamport();
    local_counter = doc.storage().max_counter(local_replica<K>());
    CHECK(local_counter == 40 + 40 / 7 + 1);
  }
  sqlite_document<K> doc(sqlite_storage<K>::open(path), local_replica<K>());
  CHECK(doc.export_canonical() == before);
  const auto checkpoints = doc.storage().list_checkpoints();
  REQUIRE_FALSE(checkpoints.empty());
  const auto& stats = doc.stats();
  REQUIRE(stats.restored_checkpoint);
  CHECK(*stats.restored_checkpoint == checkpoints.back());  // the latest one
  CHECK(stats.full_replays == 0);
  CHECK(stats.ops_replayed_last_catch_up == ops - stats.restored_checkpoint->seq);
  CHECK(stats.ops_replayed_last_catch_up < 64);
  CHECK(doc.head().seq == ops);

  const auto next = doc.insert(root_node, position::first());
  CHECK(next.key.lamport == max_lamport + 1);
  CHECK(next.key.counter == local_counter + 1);
  CHECK(doc.storage().max_lamport() == max_lamport + 1);
}

TEST_CASE("sqlite document detects a corrupted checkpoint during a late-op catch-up and falls back",
          "[sqlite][document]") {
  using K = default_op_key;
  temp_dir dir;
  const auto path = dir.file("doc.db");
  // In key order, 10 ops per append: one checkpoint (full or delta) per append at its last multiple of 8.
  auto history = seeded_history<K>(3, 240, 3, 30);
  std::sort(history.begin(), history.end(), [](const op<K>& a, const op<K>& b) { return a.key < b.key; });
  std::vector<std::vector<op<K>>> batches;
  for (std::size_t i = 0; i < history.size(); i += 10)
    batches.emplace_back(history.begin() + static_cast<std::ptrdiff_t>(i),
                         history.begin() + static_cast<std::ptrdiff_t>(std::min(i + 10, history.size())));
  // Forced to the checkpoint path: the rewind journal would otherwise absorb the late op in place.
  document<K, sqlite_storage<K>, memory_store<K>, every_n_ops, keep_all_checkpoints> doc(
      sqlite_storage<K>::open(path), local_replica<K>(), every_n_ops{8}, {},
      catch_up_options{16384, catch_up_path::checkpoint});
  apply_all<K>(doc, batches);
  const auto cps = doc.storage().list_checkpoints();
  REQUIRE(cps.size() > 10);
  CHECK(std::count_if(cps.begin(), cps.end(), [](const auto& c) { return !c.is_full(); }) > 0);

  // A late op right after checkpoint #6's head: catch-up must start from #6 — which we corrupt.
  const auto& target = cps[6];
  const K late_key{target.key.lamport, target.key.replica + bytes(1, '\0'), 1};
  batches.push_back({make_payload(late_key, history.front().node, std::optional<bytes>(bytes("late")))});
  flip_checkpoint_byte(doc.storage().raw_handle(), target.id);

  doc.apply(batches.back());
  const auto& stats = doc.stats();
  CHECK(stats.corrupt_checkpoints_skipped == 1);
  REQUIRE(stats.restored_checkpoint);
  CHECK(*stats.restored_checkpoint == cps[5]);
  CHECK(stats.ops_replayed_last_catch_up == doc.storage().op_count() - cps[5].seq);
  CHECK(doc.export_canonical() == expected_export<K>(batches));
  // The corrupt checkpoint was dropped; so were those the late op invalidated.
  const auto remaining = doc.storage().list_checkpoints();
  CHECK(std::none_of(remaining.begin(), remaining.end(), [&](const auto& c) { return c.id == target.id; }));
}

TEST_CASE("sqlite document detects corrupted checkpoints on reopen and still restores the exact state",
          "[sqlite][document]") {
  using K = default_op_key;
  temp_dir dir;
  const auto path = dir.file("doc.db");
  // In key order (each append writes at most one checkpoint, and a late op's catch-up at most one).
  auto history = seeded_history<K>(5, 300, 3, 30);
  std::sort(history.begin(), history.end(), [](const op<K>& a, const op<K>& b) { return a.key < b.key; });
  const auto batches = seeded_batches(history, 6, 0, 7);
  using doc_type = document<K, sqlite_storage<K>, memory_store<K>, every_n_ops, keep_all_checkpoints>;
  const catch_up_options restore_on_open{16384, catch_up_path::checkpoint};  // never "replay is cheaper"
  std::vector<checkpoint_info<K>> cps;
  {
    doc_type doc(sqlite_storage<K>::open(path), local_replica<K>(), every_n_ops{16});
    apply_all<K>(doc, batches);
    cps = doc.storage().list_checkpoints();
  }
  REQUIRE(cps.size() >= 3);
  const auto expected = expected_export<K>(batches);

  SECTION("the latest checkpoint has a flipped byte: the one before it is used") {
    {
      auto s = sqlite_storage<K>::open(path);
      flip_checkpoint_byte(s.raw_handle(), cps.back().id);
    }
    doc_type doc(sqlite_storage<K>::open(path), local_replica<K>(), every_n_ops{16}, {}, restore_on_open);
    CHECK(doc.stats().corrupt_checkpoints_skipped == 1);
    REQUIRE(doc.stats().restored_checkpoint);
    CHECK(*doc.stats().restored_checkpoint == cps[cps.size() - 2]);
    CHECK(doc.export_canonical() == expected);
  }
  SECTION("every checkpoint is truncated by SQL: a full replay is used") {
    {
      auto s = sqlite_storage<K>::open(path);
      exec_sql(s.raw_handle(), "UPDATE treecrdt_checkpoints SET blob = substr(blob, 1, length(blob) - 3)");
    }
    doc_type doc(sqlite_storage<K>::open(path), local_replica<K>(), every_n_ops{16}, {}, restore_on_open);
    CHECK(doc.stats().corrupt_checkpoints_skipped == cps.size());
    // One replay from the start, and one more if a delete in the history declared gaps (a rebuild).
    CHECK(doc.stats().full_replays == 1 + doc.stats().rebuilds);
    CHECK_FALSE(doc.stats().restored_checkpoint);
    CHECK(doc.export_canonical() == expected);
  }
  // Either way the next reopen uses a good checkpoint again without skipping anything.
  doc_type doc(sqlite_storage<K>::open(path), local_replica<K>(), every_n_ops{16});
  CHECK(doc.stats().corrupt_checkpoints_skipped == 0);
  CHECK(doc.export_canonical() == expected);
}

TEMPLATE_TEST_CASE("sqlite document: a failing write leaves the document and the file as before, a retry works",
                   "[sqlite][document]", default_op_key, compact_op_key) {
  using K = TestType;
  temp_dir dir;
  const auto path = dir.file("doc.db");
  auto batches = seeded_batches(seeded_history<K>(7, 260, 3, 30), 8, 10, 6);
  const auto tail_start = batches.size() - 6;  // held back, delivered while writes fail
  sqlite_document<K> doc(sqlite_storage<K>::open(path), local_replica<K>(), every_n_ops{8},
                         exponential_retention{2, 8});
  for (std::size_t i = 0; i < tail_start; ++i) doc.apply(batches[i]);
  sqlite3* db = doc.storage().raw_handle();

  const auto export_before = doc.export_canonical();
  const auto head_before = doc.head();
  const auto dump_before = dump_treecrdt_database(db);
  const auto unchanged = [&] {
    CHECK(doc.export_canonical() == export_before);
    CHECK(doc.head() == head_before);
    CHECK(dump_treecrdt_database(db) == dump_before);
  };
  // A late op (below the head) and a batch of forward ops long enough to cross a checkpoint.
  std::vector<op<K>> late{batches[tail_start - 3].front()};
  late.front().key.replica = replica_codec<replica_of<K>>::from_bytes(bytes(1, '\x30'));
  late.front().key.counter = 1;
  std::vector<op<K>> forward;
  for (std::size_t i = tail_start; i < batches.size(); ++i)
    forward.insert(forward.end(), batches[i].begin(), batches[i].end());
  std::sort(forward.begin(), forward.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  REQUIRE(forward.size() >= 8);

  const auto expect_storage_error = [&](auto&& call, const std::string& code) {
    try {
      call();
      FAIL("the write did not fail");
    } catch (const storage_error& e) {
      CHECK(e.code() == code);
    }
    unchanged();
  };

  SECTION("the connection is query_only: the first write fails") {
    exec_sql(db, "PRAGMA query_only = ON");
    expect_storage_error([&] { doc.apply(forward); }, "SQLITE_READONLY");
    expect_storage_error([&] { doc.apply(late); }, "SQLITE_READONLY");
    expect_storage_error([&] { (void)doc.insert(root_node, position::last()); }, "SQLITE_READONLY");
    exec_sql(db, "PRAGMA query_only = OFF");
  }
  SECTION("saving a checkpoint fails after the store changed") {
    exec_sql(db,
             "CREATE TEMP TRIGGER fail_checkpoint BEFORE INSERT ON treecrdt_checkpoints "
             "BEGIN SELECT RAISE(ABORT, 'injected checkpoint failure'); END");
    expect_storage_error([&] { doc.apply(forward); }, "SQLITE_CONSTRAINT");
    exec_sql(db, "DROP TRIGGER fail_checkpoint");
  }
  SECTION("the final metadata write fails after a catch-up rebuilt the store") {
    // Only a moving head fails, so the document's own recovery (which rewrites the same head) works.
    exec_sql(db,
             "CREATE TEMP TRIGGER fail_meta BEFORE UPDATE ON treecrdt_meta WHEN NEW.head_seq <> OLD.head_seq "
             "BEGIN SELECT RAISE(ABORT, 'injected meta failure'); END");
    expect_storage_error([&] { doc.apply(late); }, "SQLITE_CONSTRAINT");
    expect_storage_error([&] { doc.apply(forward); }, "SQLITE_CONSTRAINT");
    exec_sql(db, "DROP TRIGGER fail_meta");
  }
  SECTION("another connection holds the write lock: retryable SQLITE_BUSY") {
    exec_sql(db, "PRAGMA busy_timeout = 0");
    auto other = sqlite_storage<K>::open(path);
    {
      auto tx = other.begin();
      try {
        doc.apply(forward);
        FAIL("the write did not fail");
      } catch (const storage_error& e) {
        CHECK(e.code() == "SQLITE_BUSY");
        CHECK(e.retryable());
      }
      unchanged();
    }
  }
  // Retry once the cause is gone: everything arrives.
  doc.apply(forward);
  doc.apply(late);
  auto all = batches;
  all.push_back(late);
  CHECK(doc.export_canonical() == expected_export<K>(all));
  CHECK(doc.storage().op_count() == doc.head().seq);
  // And the file agrees after a reopen.
  const auto after = doc.export_canonical();
  sqlite_document<K> reopened(sqlite_storage<K>::open(path), local_replica<K>(), every_n_ops{8},
                              exponential_retention{2, 8});
  CHECK(reopened.export_canonical() == after);
}

TEMPLATE_TEST_CASE("sqlite document ops_since uses the index walk and agrees with the in-memory document",
                   "[sqlite][document]", default_op_key, compact_op_key) {
  using K = TestType;
  static_assert(requires(sqlite_storage<K> & s, const version_vector<replica_of<K>>& vv) {
    s.scan_unknown_to(vv, [](const op<K>&) {});
  });
  const auto batches = seeded_batches(seeded_history<K>(9, 400, 5, 30), 10, 8, 6);
  sqlite_document<K> doc(sqlite_storage<K>::open(":memory:"), local_replica<K>());
  document<K> ref(memory_storage<K>{}, local_replica<K>());
  apply_all<K>(doc, batches);
  apply_all<K>(ref, batches);
  CHECK(doc.version() == ref.version());
  // What a peer that has seen the first half of the batches (and nothing of replica 0x11) lacks.
  version_vector<replica_of<K>> peer;
  for (std::size_t b = 0; b < batches.size() / 2; ++b)
    for (const auto& o : batches[b])
      if (o.key.replica != replica_codec<replica_of<K>>::from_bytes(bytes(1, '\x11')))
        peer.observe(o.key.replica, o.key.counter);
  const auto missing = doc.ops_since(peer);
  CHECK(missing == ref.ops_since(peer));
  CHECK(missing.size() > 0);
  CHECK(doc.ops_since(doc.version()).empty());
  CHECK(doc.ops_since({}).size() == doc.storage().op_count());
}

TEST_CASE("sqlite document: a migrated version 1 file opens to the same tree and keeps working",
          "[sqlite][schema][migration][document]") {
  temp_dir dir;
  const auto path = dir.file("v1-doc.db");
  // The content of a version 1 file, taken from a document in memory: its log, head and full
  // checkpoints (version 1 had no other kind).
  document<default_op_key> source(memory_storage<default_op_key>{}, "alice", every_n_ops{4});
  for (int i = 0; i < 30; ++i) (void)source.insert(root_node, position::last(), bytes("n" + std::to_string(i)));
  auto& data = source.storage().raw();
  std::size_t full_checkpoints = 0;
  {
    version_1_file f(path);
    for (const auto& [k, o] : data.log) f.add_op(o);
    REQUIRE(data.meta.head.key);
    f.set_head(*data.meta.head.key, static_cast<std::int64_t>(data.meta.head.seq));
    for (const auto& [k, stored] : data.checkpoints) {
      if (!stored.info.is_full()) continue;
      (void)f.add_checkpoint(k, static_cast<std::int64_t>(stored.info.seq), stored.blob);
      ++full_checkpoints;
    }
  }
  REQUIRE(full_checkpoints > 0);
  {
    document<default_op_key, sqlite_storage<>> migrated(sqlite_storage<>::open(path), "bob", every_n_ops{4});
    CHECK(migrated.export_canonical() == source.export_canonical());
    CHECK(migrated.stats().corrupt_checkpoints_skipped == 0);
    CHECK(migrated.stats().stale_checkpoints_detected == 0);
    for (int i = 0; i < 10; ++i) (void)migrated.insert(root_node, position::first(), bytes("m" + std::to_string(i)));
    source.apply(migrated.ops_since(source.version()));
  }
  document<default_op_key, sqlite_storage<>> reopened(sqlite_storage<>::open(path), "bob", every_n_ops{4});
  CHECK(reopened.export_canonical() == source.export_canonical());
  CHECK(reopened.stats().corrupt_checkpoints_skipped == 0);
}
