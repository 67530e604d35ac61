// Schema version 1 -> 2 (SPEC §8 incremental checkpoints: a checkpoint records the base it is a
// delta over). A file as version 1 of the library wrote it, built here with that version's exact
// DDL and plain SQLite calls, is migrated in place by a writable open: its checkpoints become full
// ones with their ids, blobs and the AUTOINCREMENT high-water mark kept, its layout equals a new
// file's, and the log and metadata read as before. A failed migration leaves the file at version 1;
// a read-only open refuses to migrate.
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sqlite/sqlite_document_support.hpp"
#include "sqlite/sqlite_test_support.hpp"
#include "sqlite/sqlite_version_1_file.hpp"
#include "treecrdt/storage/sqlite.hpp"

using namespace treecrdt;
using treecrdt_test::query_int;
using treecrdt_test::query_rows;
using treecrdt_test::query_text;
using treecrdt_test::read_file_bytes;
using treecrdt_test::temp_dir;
using treecrdt_test::version_1_file;

namespace {

using K = default_op_key;
using cp = checkpoint_info<K>;

op<K> insert_of(const K& k, std::uint64_t node, const std::string& payload) {
  return make_insert(k, root_node, node_id{0, node}, bytes("\x80", 1), bytes(payload));
}

/// What a layout consists of, for comparing a migrated file with a new one (names of SQLite's own
/// automatic indexes left out).
std::string checkpoints_layout(sqlite3* db) {
  return query_rows(db,
                    "SELECT cid, name, type, \"notnull\", quote(dflt_value), pk "
                    "FROM pragma_table_info('treecrdt_checkpoints') ORDER BY cid") +
         query_rows(db,
                    "SELECT il.\"unique\", il.origin, il.partial, ii.seqno, ii.name "
                    "FROM pragma_index_list('treecrdt_checkpoints') AS il, pragma_index_info(il.name) AS ii "
                    "ORDER BY il.origin, ii.seqno");
}

/// The whole logical content of a version 1 file (its checkpoints have no base columns).
std::string dump_version_1(sqlite3* db) {
  return query_rows(db, "SELECT lamport, quote(replica), counter, quote(body) FROM treecrdt_ops ORDER BY 1, 2, 3") +
         query_rows(db, "SELECT quote(head_lamport), quote(head_replica), head_seq, op_count FROM treecrdt_meta") +
         query_rows(db,
                    "SELECT id, lamport, quote(replica), counter, seq, size, quote(blob) FROM treecrdt_checkpoints "
                    "ORDER BY id") +
         query_rows(db, "SELECT name, seq FROM sqlite_sequence ORDER BY name") +
         query_rows(db, "SELECT type, name FROM sqlite_master ORDER BY name") + query_rows(db, "PRAGMA user_version");
}

std::string big_blob() {
  std::string blob(100000, '\0');  // far beyond one page: the blob lives in overflow pages
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 131 % 251);
  return blob;
}

}  // namespace

TEST_CASE("sqlite migrates a version 1 file in place: checkpoints become full ones, all else is kept",
          "[sqlite][schema][migration]") {
  temp_dir dir;
  const auto path = dir.file("v1.db");
  const op<K> o1 = insert_of(K{1, "alice", 1}, 1, "hello");
  const op<K> o2 = insert_of(K{2, "bob", 1}, 2, "world");
  const std::string big = big_blob();
  std::uint64_t id1 = 0, id2 = 0, id3 = 0;
  {
    version_1_file f(path);
    f.add_op(o1);
    f.add_op(o2);
    f.set_head(o2.key, 2);
    id1 = f.add_checkpoint(o1.key, 1, "one");
    id2 = f.add_checkpoint(o2.key, 2, big);
    id3 = f.add_checkpoint(K{3, "bob", 2}, 3, "three");
    f.drop_checkpoint(id3);  // the AUTOINCREMENT high-water mark stays at id3
    REQUIRE(query_int(f.db(), "PRAGMA user_version") == 1);
  }

  auto s = sqlite_storage<K>::open(path);
  CHECK(query_int(s.raw_handle(), "PRAGMA user_version") == sqlite::schema_version);
  CHECK(query_int(s.raw_handle(), "PRAGMA application_id") == sqlite::application_id);
  CHECK(query_text(s.raw_handle(), "PRAGMA journal_mode") == "wal");

  // The checkpoints: same ids, keys, seqs, sizes and bytes; every one a full checkpoint.
  const std::vector<cp> listed = s.list_checkpoints();
  CHECK(listed == std::vector<cp>{{id1, o1.key, 1, 3, std::nullopt}, {id2, o2.key, 2, big.size(), std::nullopt}});
  for (const cp& c : listed) CHECK(c.is_full());
  CHECK(s.latest_checkpoint_before(std::nullopt) == cp{id2, o2.key, 2, big.size(), std::nullopt});
  CHECK(s.latest_checkpoint_before(o2.key) == cp{id1, o1.key, 1, 3, std::nullopt});
  CHECK(s.load_checkpoint(id1) == "one");
  CHECK(s.load_checkpoint(id2) == big);

  // The log and the metadata.
  CHECK(s.op_count() == 2);
  std::vector<op<K>> scanned;
  s.scan_after(std::nullopt, [&](const op<K>& o) { scanned.push_back(o); });
  CHECK(scanned == std::vector<op<K>>{o1, o2});
  CHECK(s.load_meta() == materialization_meta<K>{{o2.key, 2}, std::nullopt});
  CHECK(s.max_lamport() == 2);
  CHECK(s.max_counter("alice") == 1);

  // Writes work, delta checkpoints included, and ids continue above version 1's high-water mark.
  const op<K> o3 = insert_of(K{3, "alice", 2}, 3, "again");
  std::uint64_t id4 = 0;
  {
    auto tx = s.begin();
    CHECK(s.append(std::vector<op<K>>{o3}) == std::vector<std::size_t>{0});
    id4 = s.save_checkpoint(o3.key, 3, "delta", o2.key);
    s.store_meta({{o3.key, 3}, std::nullopt});
    tx.commit();
  }
  CHECK(id4 > id3);
  CHECK(s.list_checkpoints().back() == cp{id4, o3.key, 3, 5, o2.key});
  CHECK(s.op_count() == 3);

  // The migrated table is laid out exactly like a new file's (base columns before the blob, the
  // CHECK on the base key, the unique key index), and sqlite_sequence names it.
  auto fresh = sqlite_storage<K>::open(dir.file("fresh.db"));
  CHECK(checkpoints_layout(s.raw_handle()) == checkpoints_layout(fresh.raw_handle()));
  CHECK(
      query_rows(s.raw_handle(), "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY 2") ==
      query_rows(fresh.raw_handle(), "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY 2"));
  CHECK(query_rows(s.raw_handle(), "SELECT name FROM sqlite_sequence ORDER BY name") == "treecrdt_checkpoints\n");
  CHECK_THROWS(treecrdt_test::exec_sql(s.raw_handle(),
                                       "INSERT INTO treecrdt_checkpoints (lamport, replica, counter, seq, size, "
                                       "base_lamport, blob) VALUES (9, x'01', 9, 9, 0, 1, x'')"));  // half a base

  // A second open finds version 2: nothing left to migrate.
  auto again = sqlite_storage<K>::open(path);
  CHECK(again.list_checkpoints() == s.list_checkpoints());
  CHECK(query_int(again.raw_handle(), "PRAGMA user_version") == sqlite::schema_version);
}

TEST_CASE("sqlite migrates a version 1 file that never had a checkpoint", "[sqlite][schema][migration]") {
  temp_dir dir;
  const auto path = dir.file("v1-empty.db");
  { version_1_file f(path); }
  auto s = sqlite_storage<K>::open(path);
  CHECK(query_int(s.raw_handle(), "PRAGMA user_version") == sqlite::schema_version);
  CHECK(s.list_checkpoints().empty());
  CHECK(s.op_count() == 0);
  auto tx = s.begin();
  CHECK(s.save_checkpoint(K{1, "a", 1}, 1, "full") == 1);
  CHECK(s.save_checkpoint(K{2, "a", 2}, 2, "delta", K{1, "a", 1}) == 2);
  tx.commit();
  CHECK(s.list_checkpoints() ==
        std::vector<cp>{{1, K{1, "a", 1}, 1, 4, std::nullopt}, {2, K{2, "a", 2}, 2, 5, K{1, "a", 1}}});
}

TEST_CASE("sqlite handles opening one version 1 file at once migrate it once", "[sqlite][schema][migration]") {
  temp_dir dir;
  const auto path = dir.file("v1-race.db");
  std::uint64_t id = 0;
  {
    version_1_file f(path);
    f.add_op(insert_of(K{1, "a", 1}, 1, "x"));
    id = f.add_checkpoint(K{1, "a", 1}, 1, "cp");
  }
  constexpr int openers = 4;
  std::vector<std::string> failures(openers);
  std::vector<std::thread> threads;
  for (int i = 0; i < openers; ++i) {
    threads.emplace_back([&, i] {
      try {
        auto s = sqlite_storage<K>::open(path);  // the others wait for the write lock (busy timeout)
        if (s.list_checkpoints() != std::vector<cp>{{id, K{1, "a", 1}, 1, 2, std::nullopt}})
          failures[static_cast<std::size_t>(i)] = "unexpected checkpoints";
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(i)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& f : failures) CHECK(f.empty());
  auto s = sqlite_storage<K>::open(path);
  CHECK(query_int(s.raw_handle(), "PRAGMA user_version") == sqlite::schema_version);
  CHECK(s.op_count() == 1);
}

TEST_CASE("sqlite leaves a version 1 file unchanged when its migration fails", "[sqlite][schema][migration]") {
  temp_dir dir;
  const auto path = dir.file("v1-blocked.db");
  std::string before;
  {
    version_1_file f(path);
    f.add_op(insert_of(K{1, "a", 1}, 1, "x"));
    f.set_head(K{1, "a", 1}, 1);
    (void)f.add_checkpoint(K{1, "a", 1}, 1, big_blob());
    // Something else already owns the name the migration builds the new table under.
    treecrdt_test::exec_sql(f.db(), "CREATE TABLE treecrdt_checkpoints_v2 (note TEXT)");
    before = dump_version_1(f.db());
  }
  try {
    (void)sqlite_storage<K>::open(path);
    FAIL("a migration that cannot run succeeded");
  } catch (const sqlite_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(e.code() == "SQLITE_ERROR");
    CHECK_FALSE(e.retryable());
    CHECK(what.find(path) != std::string::npos);
    CHECK(what.find("migrating") != std::string::npos);
    CHECK(what.find("version 1 to 2") != std::string::npos);
    CHECK(what.find("treecrdt_checkpoints_v2 already exists") != std::string::npos);
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  const std::string after = dump_version_1(db);
  sqlite3_close(db);
  CHECK(after == before);
}

TEST_CASE("sqlite refuses to migrate a version 1 file opened read-only and leaves it untouched",
          "[sqlite][schema][migration]") {
  temp_dir dir;
  const auto path = dir.file("v1-ro.db");
  {
    version_1_file f(path);
    (void)f.add_checkpoint(K{1, "a", 1}, 1, "cp");
  }
  const std::string bytes_before = read_file_bytes(path);
  sqlite_options ro;
  ro.read_only = true;
  try {
    (void)sqlite_storage<K>::open(path, ro);
    FAIL("a version 1 file opened read-only");
  } catch (const schema_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find(path) != std::string::npos);
    CHECK(what.find("schema version 1") != std::string::npos);
    CHECK(what.find("write access") != std::string::npos);
  }
  CHECK(read_file_bytes(path) == bytes_before);
  // With write access it migrates, and read-only handles open it afterwards.
  (void)sqlite_storage<K>::open(path);
  auto reader = sqlite_storage<K>::open(path, ro);
  CHECK(reader.list_checkpoints().size() == 1);
  CHECK(reader.list_checkpoints()[0].is_full());
}

// ---- schema version 2 -> 3: treecrdt_version, the log's version vector ----------------------------

namespace {

/// A version 2 file: version 1's DDL followed by the 1 -> 2 step, exactly as version 2 of the
/// library created or migrated files (it had no other table). Ops go in through plain SQL.
struct version_2_file : version_1_file {
  explicit version_2_file(const std::string& path) : version_1_file(path) {
    treecrdt_test::exec_sql(db(), std::string("BEGIN IMMEDIATE;") + sqlite::migrate_1_to_2_ddl + "COMMIT;");
  }
};

/// The log of a version 2 file for the 2 -> 3 tests: three replicas, one without gaps, one with
/// gaps (every counter divisible by 5 or 7 is missing), one starting far above 1.
std::vector<op<K>> version_2_log() {
  std::vector<op<K>> ops;
  std::uint64_t lamport = 0;
  for (std::uint64_t c = 1; c <= 300; ++c) {
    ops.push_back(insert_of(K{++lamport, "alice", c}, c, "a"));
    if (c % 5 != 0 && c % 7 != 0) ops.push_back(insert_of(K{++lamport, "bob", c}, 1000 + c, "b"));
    if (c <= 3) ops.push_back(insert_of(K{++lamport, "carol", 1000 + c}, 2000 + c, "c"));
  }
  return ops;
}

version_vector<bytes> scanned_version(sqlite_storage<K>& s) {
  version_vector<bytes> vv;
  s.scan_after(std::nullopt, [&](const op<K>& o) { vv.observe(o.key.replica, o.key.counter); });
  return vv;
}

}  // namespace

TEST_CASE("sqlite migrates a version 2 file to 3: the version vector is built from the log",
          "[sqlite][schema][migration]") {
  temp_dir dir;
  const auto path = dir.file("v2.db");
  const auto log = version_2_log();
  {
    version_2_file f(path);
    treecrdt_test::exec_sql(f.db(), "BEGIN");
    for (const auto& o : log) f.add_op(o);
    treecrdt_test::exec_sql(f.db(), "COMMIT");
    REQUIRE(query_int(f.db(), "PRAGMA user_version") == 2);
  }
  auto s = sqlite_storage<K>::open(path);
  CHECK(query_int(s.raw_handle(), "PRAGMA user_version") == 3);
  version_vector<bytes> expected;
  for (const auto& o : log) expected.observe(o.key.replica, o.key.counter);
  CHECK(s.log_version() == expected);
  CHECK(s.log_version() == scanned_version(s));
  // One row per run: alice 1, bob one per gap-free stretch, carol 1.
  const auto bob_runs = static_cast<long long>(expected.entries().find("bob")->second.ranges.size()) + 1;
  CHECK(query_int(s.raw_handle(), "SELECT count(*) FROM treecrdt_version") == 1 + bob_runs + 1);

  // Appends keep it exact: close one of bob's gaps (joining two runs), extend alice, open a gap.
  {
    auto tx = s.begin();
    (void)s.append(std::vector<op<K>>{insert_of(K{5000, "bob", 5}, 9001, "x"),
                                      insert_of(K{5001, "alice", 301}, 9002, "y"),
                                      insert_of(K{5002, "alice", 400}, 9003, "z")});
    tx.commit();
  }
  CHECK(s.log_version() == scanned_version(s));
  CHECK(s.log_version().contains("bob", 5));

  // A migrated file is laid out like a new one.
  auto fresh = sqlite_storage<K>::open(dir.file("fresh.db"));
  const std::string layout_sql =
      "SELECT type, name, CASE name WHEN 'treecrdt_version' THEN sql END FROM sqlite_master "
      "WHERE name NOT LIKE 'sqlite_%' ORDER BY 2";
  CHECK(query_rows(s.raw_handle(), layout_sql) == query_rows(fresh.raw_handle(), layout_sql));
}

TEST_CASE("sqlite migrates a version 1 file through versions 2 and 3 in one open", "[sqlite][schema][migration]") {
  temp_dir dir;
  const auto path = dir.file("v1-to-3.db");
  {
    version_1_file f(path);
    f.add_op(insert_of(K{1, "a", 1}, 1, "x"));
    f.add_op(insert_of(K{2, "a", 3}, 2, "y"));
    (void)f.add_checkpoint(K{1, "a", 1}, 1, "cp");
  }
  auto s = sqlite_storage<K>::open(path);
  CHECK(query_int(s.raw_handle(), "PRAGMA user_version") == 3);
  version_vector<bytes> expected;
  expected.observe("a", 1);
  expected.observe("a", 3);
  CHECK(s.log_version() == expected);
  CHECK(s.list_checkpoints().at(0).is_full());
}

TEST_CASE("sqlite leaves a version 2 file unchanged when its migration to 3 fails", "[sqlite][schema][migration]") {
  temp_dir dir;
  const auto path = dir.file("v2-blocked.db");
  std::string before;
  {
    version_2_file f(path);
    f.add_op(insert_of(K{1, "a", 1}, 1, "x"));
    // Something else already owns the name of the table the migration creates.
    treecrdt_test::exec_sql(f.db(), "CREATE TABLE treecrdt_version (note TEXT)");
    before = query_rows(f.db(), "SELECT type, name, sql FROM sqlite_master ORDER BY name") +
             query_rows(f.db(), "SELECT lamport, quote(replica), counter FROM treecrdt_ops") +
             query_rows(f.db(), "PRAGMA user_version");
  }
  try {
    (void)sqlite_storage<K>::open(path);
    FAIL("a migration that cannot run succeeded");
  } catch (const sqlite_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find("version 2 to 3") != std::string::npos);
    CHECK(what.find("treecrdt_version already exists") != std::string::npos);
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  const std::string after = query_rows(db, "SELECT type, name, sql FROM sqlite_master ORDER BY name") +
                            query_rows(db, "SELECT lamport, quote(replica), counter FROM treecrdt_ops") +
                            query_rows(db, "PRAGMA user_version");
  sqlite3_close(db);
  CHECK(after == before);
}
