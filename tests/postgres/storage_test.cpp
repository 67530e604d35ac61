// Direct tests of postgres_storage against a real server: log, ordering, meta, checkpoints,
// document isolation, schema versioning, streaming scans.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <treecrdt/storage/postgres.hpp>

#include "pg_test_support.hpp"

using namespace treecrdt_pg_test;
using treecrdt::node_id;

static_assert(treecrdt::Storage<treecrdt::postgres_storage<treecrdt::default_op_key>>);
static_assert(treecrdt::Storage<treecrdt::postgres_storage<treecrdt::compact_op_key>>);

namespace {

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t two63 = std::uint64_t{1} << 63;

/// One op of every kind, with payloads, byte strings containing NUL and a gap-aware known_state.
std::vector<op_t> one_of_each_kind(const std::string& replica) {
  treecrdt::version_vector<std::string> vv;
  vv.add_range(replica, 1, 3);
  vv.observe("other", 7);
  std::vector<op_t> ops;
  ops.push_back(treecrdt::make_insert(k(1, replica, 1), treecrdt::root_node, node_id{0, 10}, std::string("\x80\0", 2),
                                      std::string("p\0q", 3)));
  ops.push_back(treecrdt::make_move(k(2, replica, 2), node_id{0, 10}, node_id{0, 11}, "40"));
  ops.push_back(treecrdt::make_payload(k(3, replica, 3), node_id{0, 10}, std::optional<std::string>{}));
  ops.push_back(treecrdt::make_payload(k(4, replica, 4), node_id{0, 10}, std::string("v")));
  ops.push_back(treecrdt::make_tombstone(k(5, replica, 5), node_id{0, 11}));
  ops.push_back(treecrdt::make_delete(k(6, replica, 6), node_id{0, 10}, vv));
  return ops;
}

}  // namespace

TEST_CASE("postgres storage: append stores new ops once and skips duplicates", "[postgres][log]") {
  storage_t s(pg_url(), unique_doc("append"));
  const auto ops = one_of_each_kind("r1");
  {
    auto tx = s.begin();
    CHECK(s.append(ops) == std::vector<std::size_t>{0, 1, 2, 3, 4, 5});
    tx.commit();
  }
  CHECK(s.op_count() == 6);
  CHECK(scan_all(s) == ops);

  // Stored duplicates, a new op, and a duplicate inside the batch itself.
  const op_t fresh = insert_op(k(9, "r2", 1), 20);
  const std::vector<op_t> batch = {ops[2], fresh, ops[0], fresh};
  {
    auto tx = s.begin();
    CHECK(tx.op_count_at_begin() == 6);
    CHECK(s.append(batch) == std::vector<std::size_t>{1});
    CHECK(s.op_count() == 7);
    CHECK(s.append(batch).empty());  // idempotent within the transaction too
    tx.commit();
  }
  CHECK(s.op_count() == 7);
  CHECK(s.max_lamport() == 9);
  CHECK(s.max_counter("r1") == 6);
  CHECK(s.max_counter("r2") == 1);
  CHECK(s.max_counter("nobody") == 0);
  {
    auto tx = s.begin();
    CHECK(s.append(std::vector<op_t>{}).empty());
    tx.commit();
  }

  // A fresh handle (a restart) sees exactly the same log.
  storage_t reopened(pg_url(), s.document_id());
  CHECK(reopened.op_count() == 7);
  auto all = ops;
  all.push_back(fresh);
  CHECK(scan_all(reopened) == all);
}

TEST_CASE("postgres storage: a conflicting op rejects the whole batch", "[postgres][log]") {
  storage_t s(pg_url(), unique_doc("conflict"));
  const op_t stored = insert_op(k(5, "a", 1), 1);
  {
    auto tx = s.begin();
    (void)s.append(std::vector<op_t>{stored});
    tx.commit();
  }

  SECTION("same id as a stored op, other content") {
    const std::vector<op_t> batch = {insert_op(k(6, "b", 1), 2), insert_op(k(5, "a", 1), 99),
                                     insert_op(k(7, "b", 2), 3)};
    {
      auto tx = s.begin();
      try {
        (void)s.append(batch);
        FAIL("append accepted a conflicting op");
      } catch (const treecrdt::conflicting_op_error& e) {
        CHECK(e.index() == 1);
        CHECK(e.op() == treecrdt::describe(batch[1]));
      }
    }  // rolled back
    CHECK(s.op_count() == 1);
    CHECK(scan_all(s) == std::vector<op_t>{stored});
  }
  SECTION("same id and body, other lamport") {
    op_t moved = stored;
    moved.key.lamport = 6;
    auto tx = s.begin();
    CHECK_THROWS_AS(s.append(std::vector<op_t>{moved}), treecrdt::conflicting_op_error);
  }
  SECTION("two different ops with one id inside the batch") {
    const std::vector<op_t> batch = {insert_op(k(6, "b", 1), 2), insert_op(k(7, "b", 2), 3),
                                     insert_op(k(8, "b", 1), 4)};
    auto tx = s.begin();
    try {
      (void)s.append(batch);
      FAIL("append accepted a batch with two ops of one id");
    } catch (const treecrdt::conflicting_op_error& e) {
      CHECK(e.index() == 2);
    }
  }
  SECTION("the first conflict in batch order is reported") {
    // Index 3 conflicts inside the batch, index 1 with the log: 1 comes first.
    const std::vector<op_t> batch = {insert_op(k(6, "b", 1), 2), insert_op(k(5, "a", 1), 99),
                                     insert_op(k(7, "b", 2), 3), insert_op(k(9, "b", 1), 4)};
    auto tx = s.begin();
    try {
      (void)s.append(batch);
      FAIL("append accepted a conflicting op");
    } catch (const treecrdt::conflicting_op_error& e) {
      CHECK(e.index() == 1);
    }
  }
  SECTION("nothing of the batch is stored even if the caller commits anyway") {
    auto tx = s.begin();
    CHECK_THROWS_AS(s.append(std::vector<op_t>{insert_op(k(6, "b", 1), 2), insert_op(k(5, "a", 1), 99)}),
                    treecrdt::conflicting_op_error);
    tx.commit();
  }
  CHECK(s.op_count() == 1);
  CHECK(scan_all(s) == std::vector<op_t>{stored});
}

TEST_CASE("postgres storage: scan_after follows the unsigned key order", "[postgres][order]") {
  // Replica bytes compare as unsigned bytes with a proper prefix first; lamport and counter as
  // uint64, including values on both sides of 2^63 and the maximum.
  const std::vector<key> ascending = {
      k(0, "a", 100),  // every (replica, counter) below is distinct: equal ids would be a conflict
      k(1, "", 1),
      k(1, "a", 1),
      k(1, "a", 2),
      k(1, "a", two63 - 1),
      k(1, "a", two63),
      k(1, "a", u64_max),
      k(1, std::string("a\0", 2), 1),
      k(1, "a\x01", 1),
      k(1, "ab", 1),
      k(1, "a\x7f", 1),
      k(1, "a\x80", 1),  // unsigned: 0x80 sorts after 0x7f
      k(1, "b", 1),
      k(1, "\xff", 1),
      k(1, "\xff\xff", 1),
      k(two63 - 1, "a", 3),
      k(two63, "a", 4),
      k(two63 + 1, "a", 5),
      k(u64_max - 1, "a", 6),
      k(u64_max, "a", 7),
      k(u64_max, "b", 2),
  };
  REQUIRE(std::is_sorted(ascending.begin(), ascending.end()));
  std::vector<op_t> ops;
  for (std::size_t i = 0; i < ascending.size(); ++i) ops.push_back(insert_op(ascending[i], i + 1));
  std::vector<op_t> shuffled = ops;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(42));

  storage_t s(pg_url(), unique_doc("order"));
  {
    auto tx = s.begin();
    CHECK(s.append(shuffled).size() == ops.size());
    tx.commit();
  }
  CHECK(scan_all(s) == ops);
  for (std::size_t i = 0; i < ascending.size(); ++i) {
    CAPTURE(i);
    CHECK(scan_all(s, ascending[i]) == std::vector<op_t>(ops.begin() + static_cast<std::ptrdiff_t>(i) + 1, ops.end()));
  }
  // Bounds that are not stored keys fall between the right neighbours.
  const auto after_a3 = scan_all(s, k(1, "a", 3));
  REQUIRE_FALSE(after_a3.empty());
  CHECK(after_a3.front() == ops[4]);
  const auto after_prefix = scan_all(s, k(1, std::string("a\x01\0", 3), 0));
  REQUIRE_FALSE(after_prefix.empty());
  CHECK(after_prefix.front() == ops[9]);
  CHECK(scan_all(s, k(u64_max, "\xff", u64_max)).empty());

  CHECK(s.max_lamport() == u64_max);
  CHECK(s.max_counter("a") == u64_max);
  CHECK(s.max_counter("b") == 2);
  CHECK(s.max_counter("") == 1);
}

TEST_CASE("postgres storage: compact keys keep integer replica order", "[postgres][order]") {
  using ckey = treecrdt::compact_op_key;
  using cop = treecrdt::op<ckey>;
  const std::vector<ckey> ascending = {{5, 0, 1},           {5, 1, 1},       {5, two63 - 1, 1}, {5, two63, 1},
                                       {5, two63, u64_max}, {5, u64_max, 1}, {u64_max, 2, 9}};
  std::vector<cop> ops;
  for (std::size_t i = 0; i < ascending.size(); ++i)
    ops.push_back(treecrdt::make_insert(ascending[i], treecrdt::root_node, node_id{1, i + 1}, "80"));
  std::vector<cop> reversed(ops.rbegin(), ops.rend());

  treecrdt::postgres_storage<ckey> s(pg_url(), unique_doc("compact"));
  {
    auto tx = s.begin();
    CHECK(s.append(reversed).size() == ops.size());
    CHECK(s.append(ops).empty());
    tx.commit();
  }
  CHECK(scan_all(s) == ops);
  CHECK(scan_all(s, ascending[3]) == std::vector<cop>(ops.begin() + 4, ops.end()));
  CHECK(s.max_counter(two63) == u64_max);
  CHECK(s.max_counter(u64_max) == 1);
  CHECK(s.max_lamport() == u64_max);
}

TEST_CASE("postgres storage: materialization meta round-trips and rolls back", "[postgres][meta]") {
  const std::string doc = unique_doc("meta");
  storage_t s(pg_url(), doc);
  CHECK(s.load_meta() == treecrdt::materialization_meta<key>{});

  treecrdt::materialization_meta<key> meta;
  meta.head = {k(u64_max, std::string("\0r", 2), two63), 12};
  meta.frontier = k(3, "q", 1);
  {
    auto tx = s.begin();
    s.store_meta(meta);
    CHECK(s.load_meta() == meta);
    tx.commit();
  }
  CHECK(storage_t(pg_url(), doc).load_meta() == meta);

  {
    auto tx = s.begin();
    s.store_meta({{k(1, "x", 1), 1}, std::nullopt});
  }  // rolled back
  CHECK(s.load_meta() == meta);

  treecrdt::materialization_meta<key> caught_up;
  caught_up.head = {k(9, "z", 2), 13};
  {
    auto tx = s.begin();
    s.store_meta(caught_up);
    tx.commit();
  }
  CHECK(s.load_meta() == caught_up);
  CHECK_FALSE(s.load_meta().frontier.has_value());
  CHECK_THROWS_AS(s.store_meta(meta), std::logic_error);  // outside a transaction
}

TEST_CASE("postgres storage: checkpoints", "[postgres][checkpoints]") {
  const std::string doc = unique_doc("checkpoints");
  storage_t s(pg_url(), doc);
  const std::string blob_a("A\0a", 3), blob_b(70000, '\xfe'), blob_c = "c";
  std::uint64_t id_a = 0, id_b = 0, id_c = 0;
  {
    auto tx = s.begin();
    id_b = s.save_checkpoint(k(20, "r", 2), 2, blob_b, k(10, "r", 1));  // a delta over a
    id_a = s.save_checkpoint(k(10, "r", 1), 1, blob_a);                 // full
    id_c = s.save_checkpoint(k(u64_max, "r", 3), 3, blob_c, k(u64_max - 1, std::string("\0\xff", 2), two63));
    tx.commit();
  }
  CHECK(id_a != id_b);
  CHECK(id_b != id_c);
  using cp = treecrdt::checkpoint_info<key>;
  const std::vector<cp> listed = s.list_checkpoints();
  CHECK(listed == std::vector<cp>{{id_a, k(10, "r", 1), 1, 3, std::nullopt},
                                  {id_b, k(20, "r", 2), 2, 70000, k(10, "r", 1)},
                                  {id_c, k(u64_max, "r", 3), 3, 1, k(u64_max - 1, std::string("\0\xff", 2), two63)}});

  CHECK(s.load_checkpoint(id_a) == blob_a);
  CHECK(s.load_checkpoint(id_b) == blob_b);
  CHECK(s.latest_checkpoint_before(std::nullopt)->id == id_c);
  CHECK(s.latest_checkpoint_before(k(20, "r", 2))->id == id_a);  // strictly before
  CHECK(s.latest_checkpoint_before(k(20, "r", 3))->id == id_b);
  CHECK(s.latest_checkpoint_before(k(u64_max, "r", 3))->id == id_b);
  CHECK_FALSE(s.latest_checkpoint_before(k(10, "r", 1)).has_value());

  // Saving at an existing key replaces that checkpoint under a new id, its base too.
  std::uint64_t id_b2 = 0;
  {
    auto tx = s.begin();
    id_b2 = s.save_checkpoint(k(20, "r", 2), 5, "bb");
    tx.commit();
  }
  CHECK(id_b2 != id_b);
  CHECK(s.list_checkpoints().size() == 3);
  CHECK(s.load_checkpoint(id_b2) == "bb");
  CHECK(s.latest_checkpoint_before(k(20, "r", 3)) == cp{id_b2, k(20, "r", 2), 5, 2, std::nullopt});
  try {
    (void)s.load_checkpoint(id_b);
    FAIL("the replaced checkpoint is still loadable");
  } catch (const treecrdt::storage_error& e) {
    CHECK(e.code() == "not_found");
    CHECK_FALSE(e.retryable());
  }

  // Changes roll back with their transaction.
  {
    auto tx = s.begin();
    CHECK(s.drop_checkpoints_from(k(0, "", 0)) == 3);
    CHECK(s.list_checkpoints().empty());
    (void)s.save_checkpoint(k(1, "r", 9), 9, "x");
  }
  CHECK(s.list_checkpoints().size() == 3);

  {
    auto tx = s.begin();
    CHECK(s.drop_checkpoints_from(k(20, "r", 2)) == 2);  // drops the key itself and later ones
    CHECK(s.drop_checkpoints_from(k(20, "r", 2)) == 0);
    tx.commit();
  }
  CHECK(s.list_checkpoints() == std::vector<cp>{{id_a, k(10, "r", 1), 1, 3, std::nullopt}});
  {
    auto tx = s.begin();
    s.drop_checkpoint(id_a);
    CHECK_THROWS_AS(s.drop_checkpoint(id_a), treecrdt::storage_error);
    tx.commit();
  }
  CHECK(s.list_checkpoints().empty());
  CHECK_FALSE(s.latest_checkpoint_before(std::nullopt).has_value());
  CHECK_THROWS_AS(s.save_checkpoint(k(1, "r", 1), 1, "x"), std::logic_error);  // outside a transaction
}

TEST_CASE("postgres storage: documents in one database never see each other", "[postgres][isolation]") {
  storage_t a(pg_url(), unique_doc("iso-a"));
  storage_t b(pg_url(), unique_doc("iso-b"));
  const op_t same_id_a = insert_op(k(1, "r", 1), 1);
  const op_t same_id_b =
      insert_op(k(2, "r", 1), 2);  // same (replica, counter), other content: no conflict across documents
  {
    auto tx = a.begin();
    (void)a.append(std::vector<op_t>{same_id_a, insert_op(k(3, "r", 2), 3)});
    (void)a.save_checkpoint(k(3, "r", 2), 2, "A");
    a.store_meta({{k(3, "r", 2), 2}, std::nullopt});
    tx.commit();
  }
  {
    auto tx = b.begin();
    CHECK(b.append(std::vector<op_t>{same_id_b}) == std::vector<std::size_t>{0});
    tx.commit();
  }
  CHECK(a.op_count() == 2);
  CHECK(b.op_count() == 1);
  CHECK(scan_all(b) == std::vector<op_t>{same_id_b});
  const auto a_ops = scan_all(a);
  REQUIRE(a_ops.size() == 2);
  CHECK(a_ops.front() == same_id_a);
  CHECK(b.max_lamport() == 2);
  CHECK(b.max_counter("r") == 1);
  CHECK(b.list_checkpoints().empty());
  CHECK(b.load_meta() == treecrdt::materialization_meta<key>{});
  const auto a_checkpoint = a.list_checkpoints().at(0).id;
  CHECK_THROWS_AS(b.load_checkpoint(a_checkpoint), treecrdt::storage_error);
  {
    auto tx = b.begin();
    CHECK_THROWS_AS(b.drop_checkpoint(a_checkpoint), treecrdt::storage_error);
    CHECK(b.drop_checkpoints_from(k(0, "", 0)) == 0);
  }
  CHECK(a.list_checkpoints().size() == 1);
}

TEST_CASE("postgres storage: a database with a newer schema version is refused", "[postgres][schema]") {
  // A scratch schema (first on search_path) holds a separate set of tables in the same database.
  const std::string schema = "treecrdt_scratch_" + std::to_string(std::random_device{}());
  side_connection admin(pg_url());
  (void)admin.query("CREATE SCHEMA " + schema);  // name built from digits above, not from input
  const std::string url = with_uri_parameter(pg_url(), "options", "-csearch_path%3D" + schema);
  try {
    {
      storage_t first(url, "doc");  // creates the tables in the scratch schema
      auto tx = first.begin();
      (void)first.append(std::vector<op_t>{insert_op(k(1, "r", 1), 1)});
      tx.commit();
    }
    CHECK(admin.query("SELECT version FROM " + schema + ".treecrdt_schema") == std::vector<std::string>{"3"});
    CHECK(storage_t(url, "doc").op_count() == 1);  // same version: opens

    (void)admin.query("UPDATE " + schema + ".treecrdt_schema SET version = 4");
    try {
      storage_t refused(url, "doc");
      FAIL("a database with schema version 4 was opened");
    } catch (const treecrdt::schema_error& e) {
      const std::string what = e.what();
      CHECK(what.find("version 4") != std::string::npos);
      CHECK(what.find("upgrade the library") != std::string::npos);
      CHECK(what.find("treecrdt_schema") != std::string::npos);
    }
    (void)admin.query("UPDATE " + schema + ".treecrdt_schema SET version = 0");
    try {
      storage_t refused(url, "doc");
      FAIL("a database with schema version 0 was opened");
    } catch (const treecrdt::schema_error& e) {
      CHECK(std::string(e.what()).find("version 0") != std::string::npos);
      CHECK(std::string(e.what()).find("no migration") != std::string::npos);
    }
    // The public schema's tables are untouched by all this.
    CHECK(storage_t(pg_url(), unique_doc("schema-public")).op_count() == 0);
  } catch (...) {
    (void)admin.query("DROP SCHEMA " + schema + " CASCADE");
    throw;
  }
  (void)admin.query("DROP SCHEMA " + schema + " CASCADE");
}

TEST_CASE("postgres storage: concurrent first opens of an empty database all succeed", "[postgres][schema]") {
  // Without the advisory lock, simultaneous CREATE TABLE IF NOT EXISTS can fail with a unique
  // violation in the catalog, or a second opener can see the tables before the version row.
  const std::string schema = "treecrdt_scratch_" + std::to_string(std::random_device{}());
  side_connection admin(pg_url());
  (void)admin.query("CREATE SCHEMA " + schema);  // name built from digits above, not from input
  const std::string url = with_uri_parameter(pg_url(), "options", "-csearch_path%3D" + schema);
  constexpr int openers = 6;
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int i = 0; i < openers; ++i) {
    threads.emplace_back([&, i] {
      try {
        storage_t s(url, "doc-" + std::to_string(i));
        auto tx = s.begin();
        (void)s.append(std::vector<op_t>{insert_op(k(1, "r", 1), 1)});
        tx.commit();
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        failures.push_back(e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& f : failures) FAIL_CHECK(f);
  CHECK(admin.query("SELECT count(*) FROM " + schema + ".treecrdt_schema") == std::vector<std::string>{"1"});
  CHECK(admin.query("SELECT count(*) FROM " + schema + ".treecrdt_ops") ==
        std::vector<std::string>{std::to_string(openers)});
  (void)admin.query("DROP SCHEMA " + schema + " CASCADE");
}

TEST_CASE("postgres storage: scan_after streams in batches and lets visit write checkpoints", "[postgres][scan]") {
  storage_t s(pg_url(), unique_doc("stream"));
  constexpr std::uint64_t n = 2500;  // more than two FETCH batches
  {
    std::vector<op_t> ops;
    for (std::uint64_t i = 1; i <= n; ++i) ops.push_back(insert_op(k(i, "w", i), i));
    auto tx = s.begin();
    CHECK(s.append(ops).size() == n);
    tx.commit();
  }

  SECTION("inside a transaction, visit saves checkpoints between fetches") {
    auto tx = s.begin();
    std::uint64_t seen = 0, last = 0;
    s.scan_after(k(100, "w", 100), [&](const op_t& o) {
      CHECK(o.key.lamport == last + (last == 0 ? 101 : 1));
      last = o.key.lamport;
      ++seen;
      if (o.key.lamport % 500 == 0) (void)s.save_checkpoint(o.key, o.key.lamport, "cp" + std::to_string(o.key.lamport));
      if (o.key.lamport == 1999) CHECK(s.op_count() == n);  // reads work mid-scan too
    });
    CHECK(seen == n - 100);
    tx.commit();
    const auto cps = s.list_checkpoints();
    REQUIRE(cps.size() == 5);
    CHECK(cps.front().key == k(500, "w", 500));
    CHECK(s.load_checkpoint(cps.back().id) == "cp2500");
  }
  SECTION("outside a transaction it opens a short read transaction") {
    std::uint64_t seen = 0;
    s.scan_after(std::nullopt, [&](const op_t&) { ++seen; });
    CHECK(seen == n);
    // Writes from visit need the caller's transaction; the failed scan leaves the handle usable.
    CHECK_THROWS_AS(s.scan_after(std::nullopt, [&](const op_t& o) { (void)s.save_checkpoint(o.key, 1, "x"); }),
                    std::logic_error);
    CHECK_THROWS_AS(s.scan_after(std::nullopt, [&](const op_t&) { (void)s.begin(); }), std::logic_error);
    CHECK(scan_all(s, k(n - 1, "w", n - 1)).size() == 1);
  }
  SECTION("an exception from visit closes the cursor and keeps the transaction usable") {
    auto tx = s.begin();
    struct stop {};
    CHECK_THROWS_AS(s.scan_after(std::nullopt,
                                 [&](const op_t& o) {
                                   if (o.key.lamport == 1500) throw stop{};
                                 }),
                    stop);
    CHECK(scan_all(s, k(n - 2, "w", n - 2)).size() == 2);  // the cursor name is free again
    (void)s.save_checkpoint(k(1, "w", 1), 1, "after");
    tx.commit();
    CHECK(s.list_checkpoints().size() == 1);
  }
}

TEST_CASE("postgres storage: transaction misuse is reported", "[postgres][transactions]") {
  storage_t s(pg_url(), unique_doc("misuse"));
  CHECK_THROWS_AS(s.append(std::vector<op_t>{insert_op(k(1, "r", 1), 1)}), std::logic_error);
  {
    auto tx = s.begin();
    CHECK_THROWS_AS(s.begin(), std::logic_error);
    auto moved = std::move(tx);
    moved.commit();
    CHECK_THROWS_AS(moved.commit(), std::logic_error);
  }
  SECTION("committing after a failed statement reports the rollback") {
    auto tx = s.begin();
    (void)s.append(std::vector<op_t>{insert_op(k(1, "r", 1), 1)});
    PQclear(PQexec(s.raw_connection(), "SELECT 1/0"));  // aborts the server-side transaction
    try {
      tx.commit();
      FAIL("commit of an aborted transaction succeeded");
    } catch (const treecrdt::storage_error& e) {
      CHECK(e.code() == "25P02");
      CHECK_FALSE(e.retryable());
    }
    CHECK(s.op_count() == 0);
    auto again = s.begin();  // the handle is usable afterwards
    (void)s.append(std::vector<op_t>{insert_op(k(1, "r", 1), 1)});
    again.commit();
    CHECK(s.op_count() == 1);
  }
  SECTION("a server error carries its SQLSTATE") {
    auto tx = s.begin();
    PQclear(PQexec(s.raw_connection(), "SELECT 1/0"));
    try {
      (void)s.append(std::vector<op_t>{insert_op(k(1, "r", 1), 1)});
      FAIL("append in an aborted transaction succeeded");
    } catch (const treecrdt::storage_error& e) {
      CHECK(e.backend() == "postgres");
      CHECK(e.code() == "25P02");
      CHECK(std::string(e.what()).find("append") != std::string::npos);
    }
  }
  SECTION("an empty document id is rejected") { CHECK_THROWS_AS(storage_t(pg_url(), ""), std::invalid_argument); }
}

TEST_CASE("postgres storage: unreadable stored data is reported, naming the op", "[postgres][corruption]") {
  side_connection admin(pg_url());
  SECTION("a body that does not decode") {
    const std::string doc = unique_doc("corrupt-body");
    storage_t s(pg_url(), doc);
    {
      auto tx = s.begin();
      (void)s.append(std::vector<op_t>{insert_op(k(7, "r", 3), 1)});
      tx.commit();
    }
    (void)admin.query("UPDATE treecrdt_ops SET body = '\\x0102'::bytea WHERE doc = convert_to($1, 'UTF8')", {doc});
    try {
      (void)scan_all(s);
      FAIL("a corrupt body was decoded");
    } catch (const treecrdt::storage_error& e) {
      CHECK(e.code() == "corrupt_data");
      CHECK_FALSE(e.retryable());
      const std::string what = e.what();
      CHECK(what.find("scan_after") != std::string::npos);
      CHECK(what.find("counter 3") != std::string::npos);
    }
  }
  SECTION("a compact replica id longer than 8 bytes") {
    const std::string doc = unique_doc("corrupt-replica");
    treecrdt::postgres_storage<treecrdt::compact_op_key> s(pg_url(), doc);
    {
      auto tx = s.begin();
      (void)s.append(std::vector<treecrdt::op<treecrdt::compact_op_key>>{
          treecrdt::make_insert(treecrdt::compact_op_key{1, 5, 1}, treecrdt::root_node, node_id{0, 1}, "80")});
      tx.commit();
    }
    (void)admin.query(
        "UPDATE treecrdt_ops SET replica = '\\x010203040506070809'::bytea WHERE doc = convert_to($1, 'UTF8')", {doc});
    CHECK_THROWS_AS(scan_all(s), treecrdt::storage_error);
    CHECK(s.op_count() == 1);  // the handle stays usable
  }
}
