// sqlite_storage used directly (no document): the Storage contract of storage_concepts.hpp on real
// database files, plus what is specific to SQLite (unsigned encoding, transactions, locking, plans).
#include <rapidcheck/catch.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "properties/op_generators.hpp"
#include "sqlite/sqlite_test_support.hpp"
#include "treecrdt/storage/sqlite.hpp"

using namespace treecrdt;
using treecrdt_test::exec_sql;
using treecrdt_test::temp_dir;

namespace {

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t top_bit = std::uint64_t{1} << 63;

/// Replica number `n` of key type K: one byte for the default key, the integer for the compact key.
template <OpKey K>
replica_of<K> replica(unsigned n) {
  return replica_codec<replica_of<K>>::from_bytes(bytes(1, static_cast<char>(n)));
}

template <OpKey K>
K key(std::uint64_t lamport, unsigned replica_number, std::uint64_t counter) {
  return K{lamport, replica<K>(replica_number), counter};
}

/// A valid op for `k`; `variant` picks the kind so every body shape goes through the database.
template <OpKey K>
op<K> sample_op(const K& k, unsigned variant = 0) {
  const node_id n{k.counter % 3, k.counter + 100};
  switch (variant % 5) {
    case 0: return make_insert(k, root_node, n, bytes("\x80", 1), bytes("payload"));
    case 1: return make_move(k, n, node_id{0, 7}, bytes("\x40\x00", 2));
    case 2: {
      version_vector<replica_of<K>> vv;
      vv.observe(k.replica, k.counter);
      return make_delete(k, n, vv);
    }
    case 3: return make_tombstone(k, n);
    default: return make_payload(k, n, std::optional<bytes>{});
  }
}

template <OpKey K>
std::vector<op<K>> scan(sqlite_storage<K>& s, const std::optional<K>& after = std::nullopt) {
  std::vector<op<K>> out;
  s.scan_after(after, [&](const op<K>& o) { out.push_back(o); });
  return out;
}

template <OpKey K>
std::vector<std::size_t> append_committed(sqlite_storage<K>& s, const std::vector<op<K>>& batch) {
  auto tx = s.begin();
  auto fresh = s.append(batch);
  tx.commit();
  return fresh;
}

}  // namespace

TEMPLATE_TEST_CASE("sqlite append stores new ops, skips duplicates and returns the new indices", "[sqlite]",
                   default_op_key, compact_op_key) {
  using K = TestType;
  temp_dir dir;
  auto s = sqlite_storage<K>::open(dir.file("log.db"));
  const auto a = sample_op(key<K>(1, 1, 1), 0);
  const auto b = sample_op(key<K>(2, 1, 2), 1);
  const auto c = sample_op(key<K>(2, 2, 1), 2);

  CHECK(append_committed(s, std::vector{a, b, a}) == std::vector<std::size_t>{0, 1});  // in-batch duplicate
  CHECK(append_committed(s, std::vector{b, c, a}) == std::vector<std::size_t>{1});     // stored duplicates
  CHECK(append_committed(s, std::vector<op<K>>{}).empty());
  CHECK(s.op_count() == 3);
  CHECK(s.max_lamport() == 2);
  CHECK(s.max_counter(replica<K>(1)) == 2);
  CHECK(s.max_counter(replica<K>(2)) == 1);
  CHECK(s.max_counter(replica<K>(3)) == 0);
  CHECK(scan(s) == std::vector{a, b, c});
}

TEMPLATE_TEST_CASE("sqlite append rejects a conflicting op and the dropped transaction stores nothing", "[sqlite]",
                   default_op_key, compact_op_key) {
  using K = TestType;
  temp_dir dir;
  auto s = sqlite_storage<K>::open(dir.file("log.db"));
  const auto stored = sample_op(key<K>(5, 1, 1), 0);
  REQUIRE(append_committed(s, std::vector{stored}).size() == 1);

  const auto fresh = sample_op(key<K>(6, 2, 1), 1);
  SECTION("same id, other body, as a stored op") {
    auto other_body = stored;
    other_body.order_key = "\x81";
    auto tx = s.begin();
    try {
      (void)s.append(std::vector{fresh, other_body});
      FAIL("no conflict reported");
    } catch (const conflicting_op_error& e) {
      CHECK(e.index() == 1);
      CHECK(e.op() == describe(other_body));
    }
  }
  SECTION("same id, other lamport, as a stored op") {
    auto other_lamport = stored;
    other_lamport.key.lamport = 9;
    auto tx = s.begin();
    CHECK_THROWS_AS(s.append(std::vector{fresh, other_lamport}), conflicting_op_error);
  }
  SECTION("two ops of the same batch share an id") {
    auto twin = fresh;
    twin.order_key = "\x01";
    auto tx = s.begin();
    try {
      (void)s.append(std::vector{fresh, twin});
      FAIL("no conflict reported");
    } catch (const conflicting_op_error& e) {
      CHECK(e.index() == 1);
    }
  }
  // The transaction died with the exception's scope: nothing of the batch is stored.
  CHECK(s.op_count() == 1);
  CHECK(scan(s) == std::vector{stored});
  CHECK(s.max_lamport() == 5);
  CHECK(s.max_counter(replica<K>(2)) == 0);
}

TEST_CASE("sqlite scan_after orders replicas as unsigned bytes with a proper prefix first", "[sqlite]") {
  using K = default_op_key;
  temp_dir dir;
  auto s = sqlite_storage<K>::open(dir.file("log.db"));
  const std::vector<bytes> replicas{bytes(),           bytes("\x00", 1),    bytes("a"),    bytes("a\x00", 2),
                                    bytes("a\x01", 2), bytes("ab"),         bytes("\x7f"), bytes("\x80"),
                                    bytes("\xff"),     bytes("\xff\xff", 2)};
  std::vector<op<K>> ops;
  for (std::uint64_t lamport : {std::uint64_t{3}, std::uint64_t{1}})
    for (const auto& r : replicas) ops.push_back(sample_op(K{lamport, r, lamport}, lamport == 1 ? 0 : 4));
  std::shuffle(ops.begin(), ops.end(), std::mt19937(7));
  REQUIRE(append_committed(s, ops).size() == ops.size());

  auto expected = ops;
  std::sort(expected.begin(), expected.end(), [](const auto& x, const auto& y) { return x.key < y.key; });
  CHECK(scan(s) == expected);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto after = scan<K>(s, expected[i].key);
    CHECK(after == std::vector<op<K>>(expected.begin() + static_cast<std::ptrdiff_t>(i) + 1, expected.end()));
  }
  // A bound that is not a stored key: between "a" and "a\0" at lamport 1.
  const auto between = scan<K>(s, K{1, bytes("a"), 2});
  REQUIRE_FALSE(between.empty());
  CHECK(between.front().key == K{1, bytes("a\x00", 2), 1});
}

TEMPLATE_TEST_CASE("sqlite stores lamports and counters near 2^63 and 2^64-1 in unsigned order", "[sqlite]",
                   default_op_key, compact_op_key) {
  using K = TestType;
  temp_dir dir;
  auto s = sqlite_storage<K>::open(dir.file("log.db"));
  const std::vector<std::uint64_t> values{1, 2, top_bit - 1, top_bit, top_bit + 1, u64_max - 1, u64_max};
  std::vector<op<K>> ops;
  for (std::size_t i = 0; i < values.size(); ++i) {
    ops.push_back(sample_op(key<K>(values[i], 1, values[values.size() - 1 - i]), static_cast<unsigned>(i)));
    ops.push_back(sample_op(key<K>(values[i], 2, values[i]), static_cast<unsigned>(i) + 1));
  }
  if constexpr (std::is_same_v<K, compact_op_key>) {
    // Compact replicas at the extremes too: their 8 big-endian bytes must sort as integers.
    ops.push_back(sample_op(K{7, top_bit, 3}, 0));
    ops.push_back(sample_op(K{7, top_bit - 1, 4}, 0));
    ops.push_back(sample_op(K{7, u64_max, 5}, 0));
    ops.push_back(sample_op(K{7, 0, 6}, 0));
  }
  std::shuffle(ops.begin(), ops.end(), std::mt19937(11));
  REQUIRE(append_committed(s, ops).size() == ops.size());

  auto expected = ops;
  std::sort(expected.begin(), expected.end(), [](const auto& x, const auto& y) { return x.key < y.key; });
  CHECK(scan(s) == expected);
  CHECK(scan<K>(s, key<K>(top_bit - 1, 2, top_bit - 1)).size() == 8);  // lamports T..2^64-1
  CHECK(scan<K>(s, key<K>(u64_max, 1, 1)).size() == 1);                // only (2^64-1, r2, 2^64-1)
  CHECK(scan<K>(s, key<K>(u64_max, 2, u64_max)).empty());
  CHECK(s.max_lamport() == u64_max);
  CHECK(s.max_counter(replica<K>(1)) == u64_max);
  CHECK(s.max_counter(replica<K>(2)) == u64_max);

  auto tx = s.begin();
  (void)s.save_checkpoint(key<K>(top_bit, 1, top_bit), 5, "mid");
  (void)s.save_checkpoint(key<K>(top_bit - 1, 1, u64_max), 4, "low");
  (void)s.save_checkpoint(key<K>(u64_max, 1, 1), 6, "high");
  CHECK(s.latest_checkpoint_before(key<K>(top_bit, 1, top_bit))->key == key<K>(top_bit - 1, 1, u64_max));
  CHECK(s.latest_checkpoint_before(key<K>(u64_max, 1, 2))->key == key<K>(u64_max, 1, 1));
  CHECK(s.latest_checkpoint_before(std::nullopt)->key == key<K>(u64_max, 1, 1));
  CHECK(s.drop_checkpoints_from(key<K>(top_bit, 0, 0)) == 2);
  tx.commit();
}

TEMPLATE_TEST_CASE("sqlite metadata round-trips, also across reopen", "[sqlite]", default_op_key, compact_op_key) {
  using K = TestType;
  temp_dir dir;
  const auto path = dir.file("meta.db");
  materialization_meta<K> meta;
  meta.head.key = key<K>(u64_max, 200, top_bit);
  meta.head.seq = 42;
  meta.frontier = key<K>(0, 1, 1);
  {
    auto s = sqlite_storage<K>::open(path);
    CHECK(s.load_meta() == materialization_meta<K>{});
    auto tx = s.begin();
    s.store_meta(meta);
    CHECK(s.load_meta() == meta);
    tx.commit();
  }
  auto s = sqlite_storage<K>::open(path);
  CHECK(s.load_meta() == meta);
  meta.frontier.reset();
  auto tx = s.begin();
  s.store_meta(meta);
  tx.commit();
  CHECK(s.load_meta() == meta);
}

TEMPLATE_TEST_CASE("sqlite checkpoints: save, replace, latest before, drop, list, load", "[sqlite]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  temp_dir dir;
  auto s = sqlite_storage<K>::open(dir.file("cp.db"));
  auto tx = s.begin();
  CHECK_FALSE(s.latest_checkpoint_before(std::nullopt));
  // 2 is full, 5 a delta over 2, 9 a delta over 5 (bases with extreme values: same encoding as keys).
  const K k2 = key<K>(2, 1, 2), k5 = key<K>(5, 1, 5), k9 = key<K>(9, 1, 9);
  const auto id2 = s.save_checkpoint(k2, 2, "two");
  const auto id5 = s.save_checkpoint(k5, 5, bytes("five\0\xff", 6), k2);
  const auto id9 = s.save_checkpoint(k9, 9, "nine", k5);
  CHECK(s.load_checkpoint(id5) == bytes("five\0\xff", 6));
  CHECK(s.list_checkpoints() ==
        std::vector<checkpoint_info<K>>{{id2, k2, 2, 3, std::nullopt}, {id5, k5, 5, 6, k2}, {id9, k9, 9, 4, k5}});

  // Saving the same key again replaces the checkpoint under a new id, its base too; the old id is gone.
  const auto id5b = s.save_checkpoint(k5, 6, "FIVE!");
  CHECK(id5b != id5);
  CHECK(s.list_checkpoints().size() == 3);
  CHECK(s.load_checkpoint(id5b) == "FIVE!");
  CHECK_THROWS_AS(s.load_checkpoint(id5), storage_error);
  CHECK(s.list_checkpoints()[1] == checkpoint_info<K>{id5b, k5, 6, 5, std::nullopt});

  CHECK(s.latest_checkpoint_before(k5)->id == id2);  // strictly before
  CHECK(s.latest_checkpoint_before(key<K>(5, 1, 6))->id == id5b);
  CHECK(s.latest_checkpoint_before(k2) == std::nullopt);
  CHECK(*s.latest_checkpoint_before(std::nullopt) == checkpoint_info<K>{id9, k9, 9, 4, k5});
  const K extreme = key<K>(u64_max, 255, top_bit);
  const auto id9b = s.save_checkpoint(k9, 9, "nine'", extreme);
  CHECK(*s.latest_checkpoint_before(std::nullopt) == checkpoint_info<K>{id9b, k9, 9, 5, extreme});

  CHECK(s.drop_checkpoints_from(k5) == 2);  // >= : drops 5 and 9
  CHECK(s.drop_checkpoints_from(k5) == 0);
  CHECK(s.list_checkpoints() == std::vector<checkpoint_info<K>>{{id2, k2, 2, 3, std::nullopt}});
  s.drop_checkpoint(id2);
  CHECK(s.list_checkpoints().empty());
  // Ids are never reused, even after the newest was dropped.
  CHECK(s.save_checkpoint(key<K>(1, 1, 1), 1, "") > id9b);
  tx.commit();

  try {
    (void)s.load_checkpoint(id2);
    FAIL("unknown checkpoint loaded");
  } catch (const storage_error& e) {
    CHECK(e.backend() == "sqlite");
    CHECK(e.code() == "not_found");
    CHECK_FALSE(e.retryable());
    CHECK(std::string(e.what()).find(std::to_string(id2)) != std::string::npos);
  }
  CHECK_THROWS_AS(s.load_checkpoint(u64_max), storage_error);
  auto tx2 = s.begin();
  CHECK_THROWS_AS(s.drop_checkpoint(id2), storage_error);
}

TEMPLATE_TEST_CASE("sqlite transaction rolls back everything in its destructor unless committed", "[sqlite]",
                   default_op_key, compact_op_key) {
  using K = TestType;
  temp_dir dir;
  const auto path = dir.file("tx.db");
  auto s = sqlite_storage<K>::open(path);
  const auto first = sample_op(key<K>(1, 1, 1));
  materialization_meta<K> meta;
  meta.head = {key<K>(1, 1, 1), 1};
  std::uint64_t kept_id = 0;
  {
    auto tx = s.begin();
    (void)s.append(std::vector{first});
    s.store_meta(meta);
    kept_id = s.save_checkpoint(key<K>(1, 1, 1), 1, "kept");
    tx.commit();
  }
  {
    auto tx = s.begin();
    CHECK(s.append(std::vector{sample_op(key<K>(2, 1, 2)), sample_op(key<K>(3, 2, 1))}).size() == 2);
    s.store_meta({{key<K>(3, 2, 1), 3}, key<K>(2, 1, 2)});
    (void)s.save_checkpoint(key<K>(3, 2, 1), 3, "dropped");
    s.drop_checkpoint(s.save_checkpoint(key<K>(1, 1, 1), 1, "replaced"));
    CHECK(s.op_count() == 3);  // visible inside the transaction
  }
  CHECK(s.op_count() == 1);
  CHECK(scan(s) == std::vector{first});
  CHECK(s.max_lamport() == 1);
  CHECK(s.load_meta() == meta);
  CHECK(s.list_checkpoints() == std::vector<checkpoint_info<K>>{{kept_id, key<K>(1, 1, 1), 1, 4, std::nullopt}});
  CHECK(s.load_checkpoint(kept_id) == "kept");
  {
    auto tx = s.begin();  // an explicit rollback is the same as dropping the transaction
    (void)s.append(std::vector{sample_op(key<K>(2, 1, 2))});
    tx.rollback();
    CHECK_FALSE(tx.active());
    CHECK_THROWS_AS(tx.commit(), std::logic_error);
  }
  CHECK(s.op_count() == 1);
  // What a reopened handle sees is the same.
  auto again = sqlite_storage<K>::open(path);
  CHECK(scan(again) == std::vector{first});
  CHECK(again.load_meta() == meta);
}

TEST_CASE("sqlite writes outside a transaction and nested transactions are refused", "[sqlite]") {
  auto s = sqlite_storage<>::open(":memory:");
  const auto o = sample_op(key<default_op_key>(1, 1, 1));
  CHECK_THROWS_AS(s.append(std::vector{o}), std::logic_error);
  CHECK_THROWS_AS(s.store_meta({}), std::logic_error);
  CHECK_THROWS_AS(s.save_checkpoint(o.key, 1, "x"), std::logic_error);
  CHECK_THROWS_AS(s.drop_checkpoints_from(o.key), std::logic_error);
  CHECK_THROWS_AS(s.drop_checkpoint(1), std::logic_error);
  auto tx = s.begin();
  CHECK_THROWS_AS(s.begin(), std::logic_error);
  CHECK(s.op_count() == 0);
}

TEMPLATE_TEST_CASE("sqlite data persists across close and reopen", "[sqlite]", default_op_key, compact_op_key) {
  using K = TestType;
  temp_dir dir;
  const auto path = dir.file("persist.db");
  std::vector<op<K>> ops;
  for (std::uint64_t i = 1; i <= 300; ++i) ops.push_back(sample_op(key<K>(i * 7 % 101, 1 + i % 3, i), unsigned(i)));
  materialization_meta<K> meta{{key<K>(100, 1, 1), 250}, key<K>(3, 2, 2)};
  std::uint64_t cp = 0;
  {
    auto s = sqlite_storage<K>::open(path);
    CHECK(s.path() == path);
    for (std::size_t i = 0; i < ops.size(); i += 50)
      (void)append_committed(s, std::vector<op<K>>(ops.begin() + static_cast<std::ptrdiff_t>(i),
                                                   ops.begin() + static_cast<std::ptrdiff_t>(i + 50)));
    auto tx = s.begin();
    s.store_meta(meta);
    cp = s.save_checkpoint(key<K>(50, 1, 1), 120, "snapshot");
    tx.commit();
  }
  auto s = sqlite_storage<K>::open(path);
  auto expected = ops;
  std::sort(expected.begin(), expected.end(), [](const auto& x, const auto& y) { return x.key < y.key; });
  CHECK(scan(s) == expected);
  CHECK(s.op_count() == 300);
  CHECK(s.max_lamport() == 100);
  CHECK(s.max_counter(replica<K>(1)) == 300);
  CHECK(s.load_meta() == meta);
  CHECK(s.load_checkpoint(cp) == "snapshot");
  CHECK(append_committed(s, ops).empty());  // everything is a duplicate now
}

TEST_CASE("sqlite scan visitor may write checkpoints and metadata, and may scan again", "[sqlite]") {
  using K = default_op_key;
  temp_dir dir;
  auto s = sqlite_storage<K>::open(dir.file("scan.db"));
  std::vector<op<K>> ops;
  for (std::uint64_t i = 1; i <= 40; ++i) ops.push_back(sample_op(key<K>(i, 1, i), unsigned(i)));
  REQUIRE(append_committed(s, ops).size() == 40);

  auto tx = s.begin();
  std::vector<K> seen;
  std::size_t nested_rows = 0;
  s.scan_after(std::nullopt, [&](const op<K>& o) {
    seen.push_back(o.key);
    (void)s.save_checkpoint(o.key, o.key.counter, "cp " + std::to_string(o.key.counter));
    if (o.key.counter % 10 == 0) {
      (void)s.drop_checkpoints_from(o.key);
      s.store_meta({{o.key, o.key.counter}, std::nullopt});
      s.scan_after(o.key, [&](const op<K>&) { ++nested_rows; });  // a scan inside a scan
    }
  });
  tx.commit();
  CHECK(seen.size() == 40);
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  CHECK(nested_rows == 30 + 20 + 10 + 0);
  CHECK(s.list_checkpoints().size() == 36);  // every 10th was dropped right after being saved
  CHECK(s.load_meta().head.seq == 40);
}

TEST_CASE("sqlite reports a stored op that does not decode with its id", "[sqlite]") {
  using K = default_op_key;
  temp_dir dir;
  auto s = sqlite_storage<K>::open(dir.file("corrupt.db"));
  REQUIRE(append_committed(s, std::vector{sample_op(K{1, "ab", 1}), sample_op(K{2, "ab", 2})}).size() == 2);
  exec_sql(s.raw_handle(), "UPDATE treecrdt_ops SET body = x'01ff' WHERE length(body) > 0 AND counter = " +
                               std::to_string(sqlite::to_ordered_int64(2)));
  std::size_t visited = 0;
  try {
    s.scan_after(std::nullopt, [&](const op<K>&) { ++visited; });
    FAIL("corrupt row not reported");
  } catch (const storage_error& e) {
    CHECK(e.code() == "corrupt_row");
    const std::string what = e.what();
    CHECK(what.find("replica 6162") != std::string::npos);
    CHECK(what.find("counter 2") != std::string::npos);
  }
  CHECK(visited == 1);
  // The failed scan reset its statement: scans still run, stopping at the same row each time.
  CHECK(scan<K>(s, K{2, "ab", 2}).empty());
  visited = 0;
  CHECK_THROWS_AS(s.scan_after(std::nullopt, [&](const op<K>&) { ++visited; }), storage_error);
  CHECK(visited == 1);
}

TEST_CASE("sqlite compact keys refuse a stored replica that is not 1 to 8 bytes", "[sqlite]") {
  using K = compact_op_key;
  temp_dir dir;
  auto s = sqlite_storage<K>::open(dir.file("compact.db"));
  REQUIRE(append_committed(s, std::vector{sample_op(K{1, 5, 1})}).size() == 1);
  exec_sql(s.raw_handle(), "UPDATE treecrdt_ops SET replica = x'000102030405060708'");
  CHECK_THROWS_WITH(scan(s), Catch::Contains("corrupt_row") && Catch::Contains("replica 000102030405060708"));
}

TEST_CASE("sqlite refuses half a checkpoint base key, and reports one found in a file", "[sqlite]") {
  using K = default_op_key;
  temp_dir dir;
  auto s = sqlite_storage<K>::open(dir.file("base.db"));
  std::uint64_t delta = 0;
  {
    auto tx = s.begin();
    (void)s.save_checkpoint(K{1, "a", 1}, 1, "full");
    delta = s.save_checkpoint(K{2, "a", 2}, 2, "delta", K{1, "a", 1});
    tx.commit();
  }
  // The table's CHECK keeps the three base columns all NULL or all set...
  CHECK_THROWS_WITH(exec_sql(s.raw_handle(), "UPDATE treecrdt_checkpoints SET base_replica = NULL"),
                    Catch::Contains("CHECK constraint failed"));
  // ...so only a file written around it holds such a row; reading it is an error, never a full checkpoint.
  exec_sql(s.raw_handle(),
           "PRAGMA ignore_check_constraints = ON; UPDATE treecrdt_checkpoints SET base_replica = NULL; "
           "PRAGMA ignore_check_constraints = OFF;");
  for (int reader = 0; reader < 2; ++reader) {
    try {
      (void)(reader == 0 ? s.list_checkpoints().size() : s.latest_checkpoint_before(std::nullopt)->size_bytes);
      FAIL("half a base key was read");
    } catch (const storage_error& e) {
      CHECK(e.code() == "corrupt_row");
      CHECK_THAT(e.what(),
                 Catch::Contains("checkpoint " + std::to_string(delta)) && Catch::Contains("base key is partly NULL"));
    }
  }
  CHECK(s.latest_checkpoint_before(K{2, "a", 2})->is_full());  // the full one still reads
}

TEST_CASE("sqlite :memory: databases work and are private to their handle", "[sqlite]") {
  auto a = sqlite_storage<>::open(":memory:");
  auto b = sqlite_storage<>::open(":memory:");
  CHECK(a.path() == ":memory:");
  REQUIRE(append_committed(a, std::vector{sample_op(key<default_op_key>(1, 1, 1))}).size() == 1);
  CHECK(a.op_count() == 1);
  CHECK(b.op_count() == 0);
  CHECK(a.storage_bytes() > 0);
}

TEST_CASE("sqlite storage handles move with their open transaction", "[sqlite]") {
  temp_dir dir;
  auto s = sqlite_storage<>::open(dir.file("move.db"));
  auto tx = s.begin();
  (void)s.append(std::vector{sample_op(key<default_op_key>(1, 1, 1))});
  sqlite_storage<> moved = std::move(s);
  auto tx2 = std::move(tx);
  tx2.commit();
  CHECK(moved.op_count() == 1);
  auto other = sqlite_storage<>::open(":memory:");
  other = std::move(moved);
  CHECK(other.op_count() == 1);
  CHECK(other.path() == dir.file("move.db"));
}

TEST_CASE("sqlite storage_bytes follows the database size", "[sqlite]") {
  temp_dir dir;
  auto s = sqlite_storage<>::open(dir.file("size.db"));
  const auto before = s.storage_bytes();
  CHECK(before > 0);
  std::vector<op<default_op_key>> ops;
  for (std::uint64_t i = 1; i <= 2000; ++i) ops.push_back(sample_op(key<default_op_key>(i, 1, i), unsigned(i)));
  (void)append_committed(s, ops);
  CHECK(s.storage_bytes() > before + 2000 * 20);
  CHECK(s.storage_bytes() % 512 == 0);
}

TEST_CASE("sqlite a second writer gets a retryable SQLITE_BUSY while the first holds the lock", "[sqlite]") {
  temp_dir dir;
  const auto path = dir.file("busy.db");
  auto first = sqlite_storage<>::open(path);
  sqlite_options impatient;
  impatient.busy_timeout = std::chrono::milliseconds(0);
  auto second = sqlite_storage<>::open(path, impatient);
  {
    auto tx = first.begin();
    (void)first.append(std::vector{sample_op(key<default_op_key>(1, 1, 1))});
    try {
      auto tx2 = second.begin();
      FAIL("second writer got the lock");
    } catch (const storage_error& e) {
      CHECK(e.backend() == "sqlite");
      CHECK(e.code() == "SQLITE_BUSY");
      CHECK(e.retryable());
      CHECK(std::string(e.what()).find("BEGIN IMMEDIATE") != std::string::npos);
    }
    CHECK(second.op_count() == 0);  // WAL: the reader is not blocked and sees the last commit
    tx.commit();
  }
  CHECK(second.op_count() == 1);
  auto tx2 = second.begin();  // the retry succeeds once the lock is free
  (void)second.append(std::vector{sample_op(key<default_op_key>(2, 1, 2))});
  tx2.commit();
  CHECK(first.op_count() == 2);
}

TEST_CASE("sqlite read-only handles read, and every write fails with SQLITE_READONLY", "[sqlite]") {
  temp_dir dir;
  const auto path = dir.file("ro.db");
  const auto o = sample_op(key<default_op_key>(1, 1, 1));
  {
    auto s = sqlite_storage<>::open(path);
    (void)append_committed(s, std::vector{o});
  }
  sqlite_options ro;
  ro.read_only = true;
  auto s = sqlite_storage<>::open(path, ro);
  CHECK(scan(s) == std::vector{o});
  CHECK(s.op_count() == 1);
  const auto expect_readonly = [](const storage_error& e) {
    CHECK(e.backend() == "sqlite");
    CHECK(e.code() == "SQLITE_READONLY");
    CHECK_FALSE(e.retryable());
  };
  try {
    auto tx = s.begin();
    (void)s.append(std::vector{sample_op(key<default_op_key>(2, 1, 2))});
    tx.commit();
    FAIL("write succeeded on a read-only handle");
  } catch (const storage_error& e) {
    expect_readonly(e);
    CHECK(std::string(e.what()).find("append") != std::string::npos);
  }
  try {
    auto tx = s.begin();
    (void)s.save_checkpoint(o.key, 1, "x");
    FAIL("write succeeded on a read-only handle");
  } catch (const storage_error& e) {
    expect_readonly(e);
  }
  CHECK(s.op_count() == 1);
  CHECK(s.list_checkpoints().empty());
}

TEST_CASE("sqlite scans are index range reads without a sort", "[sqlite]") {
  // Streaming and O(log n) lookups rely on these plans. The statements are the handle's own,
  // found through SQLite's list of prepared statements, so the test follows the header's SQL.
  auto s = sqlite_storage<>::open(":memory:");
  std::map<std::string, std::string> plans;  // SQL -> its query plan
  for (sqlite3_stmt* st = sqlite3_next_stmt(s.raw_handle(), nullptr); st != nullptr;
       st = sqlite3_next_stmt(s.raw_handle(), st)) {
    const std::string sql = sqlite3_sql(st);
    if (sql.rfind("SELECT", 0) != 0) continue;
    sqlite3_stmt* explain = nullptr;
    REQUIRE(sqlite3_prepare_v2(s.raw_handle(), ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &explain, nullptr) ==
            SQLITE_OK);
    std::string plan;
    while (sqlite3_step(explain) == SQLITE_ROW)
      plan += reinterpret_cast<const char*>(sqlite3_column_text(explain, 3)) + std::string("; ");
    sqlite3_finalize(explain);
    plans[sql] = plan;
  }
  const auto plan_of = [&](const std::string& fragment) {
    std::string found;
    for (const auto& [sql, plan] : plans)
      if (sql.find(fragment) != std::string::npos) found += plan;
    REQUIRE_FALSE(found.empty());
    return found;
  };
  for (const auto& [sql, plan] : plans) {
    INFO(sql << " -> " << plan);
    CHECK_THAT(plan, !Catch::Contains("TEMP B-TREE"));
  }
  CHECK_THAT(plan_of("FROM treecrdt_ops WHERE (lamport, replica, counter) >"),
             Catch::Contains("SEARCH treecrdt_ops USING PRIMARY KEY"));
  CHECK_THAT(plan_of("FROM treecrdt_checkpoints WHERE (lamport, replica, counter) <"), Catch::Contains("USING INDEX"));
  CHECK_THAT(plan_of("max(counter)"), Catch::Contains("treecrdt_ops_by_id"));
  CHECK_THAT(plan_of("WHERE replica = ?1 AND counter = ?2"), Catch::Contains("treecrdt_ops_by_id"));
  CHECK_THAT(plan_of("WHERE replica = ?1 AND counter BETWEEN ?2 AND ?3"),
             Catch::Contains("treecrdt_ops_by_id (replica=? AND counter>? AND counter<?)"));
  CHECK_THAT(plan_of("min(replica) FROM treecrdt_ops WHERE replica > ?1"),
             Catch::Contains("treecrdt_ops_by_id (replica>?)"));
}

TEMPLATE_TEST_CASE("sqlite scan_unknown_to gives exactly the ops a version vector lacks, in key order",
                   "[sqlite][property]", default_op_key, compact_op_key) {
  using K = TestType;
  rc::prop("scan_unknown_to(known) == the full scan filtered by known", [] {
    const auto h = *treecrdt_test::gen_history<K>(40);
    auto s = sqlite_storage<K>::open(":memory:");
    {
      auto tx = s.begin();
      (void)s.append(h.ops);
      tx.commit();
    }
    // A vector that knows a random subset of the stored dots (gaps included), plus dots never stored.
    version_vector<replica_of<K>> known;
    for (const auto& o : h.ops)
      if (*rc::gen::inRange(0, 3) != 0) known.observe(o.key.replica, o.key.counter);
    for (const auto& [r, c] : *rc::gen::container<std::vector<std::pair<unsigned, std::uint64_t>>>(
             rc::gen::pair(rc::gen::inRange(0u, 8u), rc::gen::inRange<std::uint64_t>(1, 60))))
      known.observe(replica<K>(0x10 + r), c);
    std::vector<op<K>> expected;
    s.scan_after(std::nullopt, [&](const op<K>& o) {
      if (!known.contains(o.key.replica, o.key.counter)) expected.push_back(o);
    });
    std::vector<op<K>> got;
    s.scan_unknown_to(known, [&](const op<K>& o) { got.push_back(o); });
    RC_ASSERT(got == expected);
  });
}

TEST_CASE("sqlite error codes are named and BUSY/LOCKED are retryable", "[sqlite]") {
  CHECK(sqlite_result_code_name(SQLITE_BUSY) == "SQLITE_BUSY");
  CHECK(sqlite_result_code_name(SQLITE_READONLY_DBMOVED) == "SQLITE_READONLY");
  CHECK(sqlite_extended_code_name(SQLITE_BUSY_SNAPSHOT) == "SQLITE_BUSY_SNAPSHOT");
  CHECK(sqlite_extended_code_name(SQLITE_FULL) == "SQLITE_FULL");
  CHECK(sqlite_extended_code_name(SQLITE_IOERR | (99 << 8)) == "SQLITE_IOERR/99");
  const sqlite_error locked(SQLITE_LOCKED_SHAREDCACHE, "reading", "database table is locked");
  CHECK(locked.code() == "SQLITE_LOCKED");
  CHECK(locked.retryable());
  CHECK(locked.extended_code() == SQLITE_LOCKED_SHAREDCACHE);
  CHECK(std::string(locked.what()) ==
        "sqlite error [SQLITE_LOCKED] (retryable): reading: database table is locked (extended code "
        "SQLITE_LOCKED_SHAREDCACHE)");
  const sqlite_error full(SQLITE_FULL, "append: inserting an op", "database or disk is full");
  CHECK_FALSE(full.retryable());
  CHECK(std::string(full.what()) == "sqlite error [SQLITE_FULL]: append: inserting an op: database or disk is full");
}
