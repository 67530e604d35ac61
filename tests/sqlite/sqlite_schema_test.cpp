// The file format's identity: new files are initialized with treecrdt's application_id and schema
// version; anything else (another program's database, a newer version, a damaged treecrdt file, a
// file that is not SQLite) is refused with a schema_error that says what was found, byte-for-byte
// untouched.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "sqlite/sqlite_test_support.hpp"
#include "treecrdt/storage/sqlite.hpp"

using namespace treecrdt;
using treecrdt_test::exec_sql_on_file;
using treecrdt_test::query_int;
using treecrdt_test::query_text;
using treecrdt_test::read_file_bytes;
using treecrdt_test::temp_dir;
using treecrdt_test::write_file_bytes;

namespace {

/// Opening `path` must throw schema_error whose message contains every one of `needles`, and the
/// file must keep exactly its bytes; no WAL or journal file may appear next to it.
void require_refused(const std::string& path, std::initializer_list<std::string> needles) {
  const auto before = read_file_bytes(path);
  try {
    (void)sqlite_storage<>::open(path);
    FAIL("opened " << path);
  } catch (const schema_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find(path) != std::string::npos);
    for (const auto& n : needles) CHECK(what.find(n) != std::string::npos);
  }
  CHECK(read_file_bytes(path) == before);
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  CHECK_FALSE(std::filesystem::exists(path + "-journal"));
}

/// A copy of treecrdt's schema made by hand, so tests can vary one property of it.
void create_treecrdt_like_file(const std::string& path, int application_id, int user_version) {
  exec_sql_on_file(path, std::string(sqlite::schema_ddl) + "PRAGMA application_id = " + std::to_string(application_id) +
                             "; PRAGMA user_version = " + std::to_string(user_version) + ";");
}

}  // namespace

TEST_CASE("sqlite initializes a new file with treecrdt's application_id, version and WAL mode", "[sqlite][schema]") {
  temp_dir dir;
  const auto path = dir.file("new.db");
  REQUIRE_FALSE(std::filesystem::exists(path));
  auto s = sqlite_storage<>::open(path);
  CHECK(query_int(s.raw_handle(), "PRAGMA application_id") == 0x54435244);
  CHECK(query_int(s.raw_handle(), "PRAGMA user_version") == 3);
  CHECK(query_text(s.raw_handle(), "PRAGMA journal_mode") == "wal");
  CHECK(query_int(s.raw_handle(), "PRAGMA synchronous") == 2);  // FULL
  CHECK(query_int(s.raw_handle(), "SELECT count(*) FROM sqlite_master WHERE name LIKE 'treecrdt_%'") == 5);
  CHECK(query_int(s.raw_handle(), "SELECT op_count FROM treecrdt_meta") == 0);

  sqlite_options fast;
  fast.synchronous = sqlite_options::sync_mode::normal;
  auto again = sqlite_storage<>::open(path, fast);  // a second handle on an initialized file
  CHECK(query_int(again.raw_handle(), "PRAGMA synchronous") == 1);
  CHECK(again.op_count() == 0);
}

TEST_CASE("sqlite initializes an existing zero-byte file", "[sqlite][schema]") {
  temp_dir dir;
  const auto path = dir.file("empty.db");
  write_file_bytes(path, "");
  auto s = sqlite_storage<>::open(path);
  CHECK(query_int(s.raw_handle(), "PRAGMA application_id") == 0x54435244);
  CHECK(s.op_count() == 0);
}

TEST_CASE("sqlite refuses another program's database and leaves it untouched", "[sqlite][schema]") {
  temp_dir dir;
  const auto path = dir.file("notes.db");
  exec_sql_on_file(path,
                   "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('x');");
  require_refused(path, {"not a treecrdt database", "application_id 0x00000000", "notes"});
}

TEST_CASE("sqlite refuses an empty database that carries another program's application_id", "[sqlite][schema]") {
  temp_dir dir;
  const auto path = dir.file("other.db");
  exec_sql_on_file(path, "PRAGMA application_id = 1234;");
  require_refused(path, {"not a treecrdt database", "application_id 0x000004d2", "objects: none"});
}

TEST_CASE("sqlite refuses treecrdt's tables without treecrdt's application_id", "[sqlite][schema]") {
  temp_dir dir;
  const auto path = dir.file("lookalike.db");
  create_treecrdt_like_file(path, 0, 1);
  require_refused(path, {"not a treecrdt database", "treecrdt_ops"});
}

TEST_CASE("sqlite refuses a newer schema version", "[sqlite][schema]") {
  temp_dir dir;
  const auto path = dir.file("future.db");
  {
    auto s = sqlite_storage<>::open(path);  // a real treecrdt file, then "upgraded" by a future version
    auto tx = s.begin();
    (void)s.save_checkpoint(default_op_key{1, "a", 1}, 1, "cp");
    tx.commit();
    treecrdt_test::exec_sql(s.raw_handle(), "PRAGMA user_version = 99; PRAGMA wal_checkpoint(TRUNCATE);");
  }
  require_refused(path, {"schema version 99", "newer", "supports (3)"});
}

TEST_CASE("sqlite refuses a treecrdt file with a missing table or version 0", "[sqlite][schema]") {
  temp_dir dir;
  SECTION("missing table") {
    const auto path = dir.file("damaged.db");
    create_treecrdt_like_file(path, 0x54435244, sqlite::schema_version);
    exec_sql_on_file(path, "DROP TABLE treecrdt_checkpoints;");
    require_refused(path, {"version 3 database without table treecrdt_checkpoints"});
  }
  SECTION("missing version table in a version 3 file") {
    const auto path = dir.file("no-version.db");
    create_treecrdt_like_file(path, 0x54435244, sqlite::schema_version);
    exec_sql_on_file(path, "DROP TABLE treecrdt_version;");
    require_refused(path, {"version 3 database without table treecrdt_version"});
  }
  SECTION("missing table in a version 1 file: refused, not migrated") {
    const auto path = dir.file("damaged-v1.db");
    create_treecrdt_like_file(path, 0x54435244, 1);
    exec_sql_on_file(path, "DROP TABLE treecrdt_checkpoints;");
    require_refused(path, {"version 1 database without table treecrdt_checkpoints"});
  }
  SECTION("version 0") {
    const auto path = dir.file("unversioned.db");
    create_treecrdt_like_file(path, 0x54435244, 0);
    require_refused(path, {"schema version 0", "damaged"});
  }
}

TEST_CASE("sqlite refuses a file that is not an SQLite database", "[sqlite][schema]") {
  temp_dir dir;
  const auto path = dir.file("text.db");
  std::string text;
  for (int i = 0; i < 200; ++i) text += "this is a plain text file, line " + std::to_string(i) + "\n";
  write_file_bytes(path, text);
  require_refused(path, {"not a SQLite database", "SQLITE_NOTADB"});
}

TEST_CASE("sqlite reports a path it cannot open with SQLite's code", "[sqlite][schema]") {
  temp_dir dir;
  try {
    (void)sqlite_storage<>::open(dir.file("no/such/dir/x.db"));
    FAIL("opened a file in a missing directory");
  } catch (const storage_error& e) {
    CHECK(e.code() == "SQLITE_CANTOPEN");
    CHECK_FALSE(e.retryable());
    CHECK(std::string(e.what()).find("no/such/dir/x.db") != std::string::npos);
  }
  sqlite_options ro;
  ro.read_only = true;
  CHECK_THROWS_AS(sqlite_storage<>::open(dir.file("missing.db"), ro), storage_error);
  CHECK_FALSE(std::filesystem::exists(dir.file("missing.db")));
}
