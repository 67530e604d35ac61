// Schema version 1 -> 2 (SPEC §8 incremental checkpoints: a checkpoint records the base it is a
// delta over). A database as version 1 of the library laid it out, built here with that version's
// exact DDL in a scratch schema and filled with rows of several documents through plain SQL, is
// migrated in place by the first open: every document's rows are kept, existing checkpoints read
// as full ones, ids continue, and the layout equals a new database's. A migration that fails
// changes nothing; concurrent first opens migrate once.
#include <catch2/catch.hpp>

#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <treecrdt/detail/hex.hpp>
#include <treecrdt/op_codec.hpp>
#include <treecrdt/storage/postgres.hpp>

#include "pg_test_support.hpp"

using namespace treecrdt_pg_test;

namespace {

// The DDL of schema version 1, exactly as include/treecrdt/storage/postgres/schema.hpp had it
// before version 2 (commit 4e35d3a and earlier), in the order it ran.
const std::vector<std::string> version_1_ddl = {
    "CREATE TABLE IF NOT EXISTS treecrdt_schema ("
    " component text PRIMARY KEY,"
    " version integer NOT NULL)",
    "CREATE TABLE IF NOT EXISTS treecrdt_ops ("
    " doc bytea NOT NULL,"
    " replica bytea NOT NULL,"
    " counter bigint NOT NULL,"
    " lamport bigint NOT NULL,"
    " body bytea NOT NULL,"
    " PRIMARY KEY (doc, replica, counter))",
    "CREATE INDEX IF NOT EXISTS treecrdt_ops_by_key ON treecrdt_ops (doc, lamport, replica, counter)",
    "CREATE TABLE IF NOT EXISTS treecrdt_meta ("
    " doc bytea PRIMARY KEY,"
    " op_count bigint NOT NULL DEFAULT 0,"
    " head_lamport bigint, head_replica bytea, head_counter bigint,"
    " head_seq bigint NOT NULL DEFAULT 0,"
    " frontier_lamport bigint, frontier_replica bytea, frontier_counter bigint,"
    " next_checkpoint_id bigint NOT NULL DEFAULT 1,"
    " CHECK ((head_lamport IS NULL) = (head_replica IS NULL) AND (head_replica IS NULL) = (head_counter IS NULL)),"
    " CHECK ((frontier_lamport IS NULL) = (frontier_replica IS NULL)"
    "        AND (frontier_replica IS NULL) = (frontier_counter IS NULL)))",
    "CREATE TABLE IF NOT EXISTS treecrdt_checkpoints ("
    " doc bytea NOT NULL,"
    " id bigint NOT NULL,"
    " lamport bigint NOT NULL, replica bytea NOT NULL, counter bigint NOT NULL,"
    " seq bigint NOT NULL,"
    " size_bytes bigint NOT NULL,"
    " blob bytea NOT NULL,"
    " PRIMARY KEY (doc, id),"
    " UNIQUE (doc, lamport, replica, counter))",
    "INSERT INTO treecrdt_schema (component, version) VALUES ('treecrdt', 1)",
};

/// A schema of its own (first on search_path), dropped at the end: a separate "database".
class scratch_schema {
 public:
  scratch_schema()
      : name_("treecrdt_scratch_" + std::to_string(std::random_device{}())),
        url_(with_uri_parameter(pg_url(), "options", "-csearch_path%3D" + name_)), admin_(pg_url()) {
    (void)admin_.query("CREATE SCHEMA " + name_);  // name built from digits above, not from input
  }
  scratch_schema(const scratch_schema&) = delete;
  scratch_schema& operator=(const scratch_schema&) = delete;
  ~scratch_schema() {
    try {
      (void)admin_.query("DROP SCHEMA " + name_ + " CASCADE");
    } catch (...) {  // NOLINT(bugprone-empty-catch): a leftover scratch schema is harmless
    }
  }
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  std::string url_;
  side_connection admin_;
};

/// Writes rows the way version 1 of the library stored them, through plain SQL with parameters.
class version_1_writer {
 public:
  explicit version_1_writer(const std::string& url) : conn_(url) {
    for (const auto& sql : version_1_ddl) (void)conn_.query(sql);
  }
  void add_op(const std::string& doc, const op_t& o) {
    (void)conn_.query(
        "INSERT INTO treecrdt_ops (doc, replica, counter, lamport, body)"
        " VALUES (convert_to($1, 'UTF8'), decode($2, 'hex'), $3::bigint, $4::bigint, decode($5, 'hex'))",
        {doc, treecrdt::detail::to_hex(o.key.replica), sortable(o.key.counter), sortable(o.key.lamport),
         treecrdt::detail::to_hex(treecrdt::encode_op_body(o))});
  }
  void add_meta(const std::string& doc, std::uint64_t op_count, const key& head, std::uint64_t seq,
                std::uint64_t next_checkpoint_id) {
    (void)conn_.query(
        "INSERT INTO treecrdt_meta (doc, op_count, head_lamport, head_replica, head_counter, head_seq,"
        " next_checkpoint_id) VALUES (convert_to($1, 'UTF8'), $2::bigint, $3::bigint, decode($4, 'hex'),"
        " $5::bigint, $6::bigint, $7::bigint)",
        {doc, std::to_string(op_count), sortable(head.lamport), treecrdt::detail::to_hex(head.replica),
         sortable(head.counter), std::to_string(seq), std::to_string(next_checkpoint_id)});
  }
  void add_checkpoint(const std::string& doc, std::uint64_t id, const key& at, std::uint64_t seq,
                      const std::string& blob) {
    (void)conn_.query(
        "INSERT INTO treecrdt_checkpoints (doc, id, lamport, replica, counter, seq, size_bytes, blob)"
        " VALUES (convert_to($1, 'UTF8'), $2::bigint, $3::bigint, decode($4, 'hex'), $5::bigint, $6::bigint,"
        " $7::bigint, decode($8, 'hex'))",
        {doc, std::to_string(id), sortable(at.lamport), treecrdt::detail::to_hex(at.replica), sortable(at.counter),
         std::to_string(seq), std::to_string(blob.size()), treecrdt::detail::to_hex(blob)});
  }
  side_connection& connection() noexcept { return conn_; }

 private:
  static std::string sortable(std::uint64_t v) { return std::to_string(treecrdt::pg::to_sortable_int8(v)); }
  side_connection conn_;
};

/// The columns and constraints of treecrdt_checkpoints in `schema`, as text.
std::vector<std::string> checkpoints_layout(side_connection& c, const std::string& schema) {
  std::vector<std::string> out = c.query(
      "SELECT column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns"
      " WHERE table_schema = $1 AND table_name = 'treecrdt_checkpoints' ORDER BY ordinal_position",
      {schema});
  for (auto& row : c.query("SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint"
                           " WHERE conrelid = ($1 || '.treecrdt_checkpoints')::regclass ORDER BY conname",
                           {schema}))
    out.push_back(std::move(row));
  return out;
}

std::string version_of(side_connection& c, const std::string& schema) {
  // Schema names here are built from digits (scratch_schema), never from input.
  const auto rows = c.query("SELECT version FROM " + schema + ".treecrdt_schema WHERE component = 'treecrdt'");
  return rows.size() == 1 ? rows[0] : "<" + std::to_string(rows.size()) + " rows>";
}

using cp = treecrdt::checkpoint_info<key>;

}  // namespace

TEST_CASE("postgres migrates a version 1 database in place, keeping every document's rows",
          "[postgres][schema][migration]") {
  scratch_schema old_db;
  side_connection admin(pg_url());
  const std::vector<std::string> docs = {"doc-a", "doc-b", "doc-c"};
  const std::string big(70000, '\x5c');  // TOASTed
  {
    version_1_writer w(old_db.url());
    for (std::size_t d = 0; d < docs.size(); ++d) {
      const std::string r = "r" + std::to_string(d);
      w.add_op(docs[d], insert_op(k(1, r, 1), 1));
      w.add_op(docs[d], insert_op(k(2, r, 2), 2));
      w.add_meta(docs[d], 2, k(2, r, 2), 2, 4);  // checkpoint 3 was dropped: ids continue at 4
      w.add_checkpoint(docs[d], 1, k(1, r, 1), 1, docs[d] + "-one");
      w.add_checkpoint(docs[d], 2, k(2, r, 2), 2, d == 0 ? big : docs[d] + "-two");
    }
    REQUIRE(version_of(w.connection(), old_db.name()) == "1");
  }

  storage_t a(old_db.url(), "doc-a");              // the first open migrates
  CHECK(version_of(admin, old_db.name()) == "3");  // 1 -> 2 -> 3

  for (std::size_t d = 0; d < docs.size(); ++d) {
    INFO(docs[d]);
    const std::string r = "r" + std::to_string(d);
    storage_t s(old_db.url(), docs[d]);
    const std::string two = d == 0 ? big : docs[d] + "-two";
    const auto listed = s.list_checkpoints();
    CHECK(listed == std::vector<cp>{{1, k(1, r, 1), 1, docs[d].size() + 4, std::nullopt},
                                    {2, k(2, r, 2), 2, two.size(), std::nullopt}});
    for (const cp& c : listed) CHECK(c.is_full());
    CHECK(s.latest_checkpoint_before(std::nullopt) == cp{2, k(2, r, 2), 2, two.size(), std::nullopt});
    CHECK(s.load_checkpoint(1) == docs[d] + "-one");
    CHECK(s.load_checkpoint(2) == two);
    CHECK(s.op_count() == 2);
    CHECK(scan_all(s) == std::vector<op_t>{insert_op(k(1, r, 1), 1), insert_op(k(2, r, 2), 2)});
    CHECK(s.load_meta() == treecrdt::materialization_meta<key>{{k(2, r, 2), 2}, std::nullopt});
    CHECK(s.max_counter(r) == 2);
  }

  // Writes work on the migrated layout: a delta checkpoint, replacing a full one with a delta, and
  // ids continuing from the stored counter. Other documents are untouched.
  {
    auto tx = a.begin();
    (void)a.append(std::vector<op_t>{insert_op(k(3, "r0", 3), 3)});
    CHECK(a.save_checkpoint(k(3, "r0", 3), 3, "delta", k(2, "r0", 2)) == 4);
    CHECK(a.save_checkpoint(k(2, "r0", 2), 2, "now a delta", k(1, "r0", 1)) == 5);
    tx.commit();
  }
  CHECK(a.list_checkpoints() == std::vector<cp>{{1, k(1, "r0", 1), 1, 9, std::nullopt},
                                                {5, k(2, "r0", 2), 2, 11, k(1, "r0", 1)},
                                                {4, k(3, "r0", 3), 3, 5, k(2, "r0", 2)}});
  for (const auto& doc : {std::string("doc-b"), std::string("doc-c")}) {
    storage_t s(old_db.url(), doc);
    CHECK(s.list_checkpoints().size() == 2);
    CHECK(s.op_count() == 2);
  }
  CHECK(admin.query("SELECT count(*) FROM " + old_db.name() + ".treecrdt_checkpoints") ==
        std::vector<std::string>{"7"});

  // The migrated table has exactly the layout of a new database's.
  scratch_schema new_db;
  { storage_t fresh(new_db.url(), "doc"); }
  CHECK(checkpoints_layout(admin, old_db.name()) == checkpoints_layout(admin, new_db.name()));
  CHECK_THROWS(admin.query("UPDATE " + old_db.name() +
                           ".treecrdt_checkpoints SET base_replica = NULL"
                           " WHERE base_lamport IS NOT NULL"));  // the CHECK keeps a base key whole
}

TEST_CASE("postgres leaves a version 1 database unchanged when its migration fails", "[postgres][schema][migration]") {
  scratch_schema old_db;
  side_connection admin(pg_url());
  {
    version_1_writer w(old_db.url());
    w.add_op("doc", insert_op(k(1, "r", 1), 1));
    w.add_meta("doc", 1, k(1, "r", 1), 1, 2);
    w.add_checkpoint("doc", 1, k(1, "r", 1), 1, "one");
    // Someone added one of the columns by hand: the migration's ALTER TABLE cannot run.
    (void)w.connection().query("ALTER TABLE treecrdt_checkpoints ADD COLUMN base_lamport bigint");
  }
  const auto layout_before = checkpoints_layout(admin, old_db.name());
  try {
    storage_t s(old_db.url(), "doc");
    FAIL("a migration that cannot run succeeded");
  } catch (const treecrdt::storage_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(e.code() == "42701");  // duplicate_column
    CHECK(what.find("schema migration from version 1 to 2") != std::string::npos);
    CHECK(what.find("base_lamport") != std::string::npos);
  }
  CHECK(version_of(admin, old_db.name()) == "1");
  CHECK(checkpoints_layout(admin, old_db.name()) == layout_before);
  CHECK(admin.query("SELECT count(*) FROM " + old_db.name() + ".treecrdt_checkpoints") ==
        std::vector<std::string>{"1"});

  // Once the obstacle is gone, the next open migrates.
  (void)admin.query("ALTER TABLE " + old_db.name() + ".treecrdt_checkpoints DROP COLUMN base_lamport");
  storage_t s(old_db.url(), "doc");
  CHECK(version_of(admin, old_db.name()) == "3");  // 1 -> 2 -> 3
  CHECK(s.list_checkpoints() == std::vector<cp>{{1, k(1, "r", 1), 1, 3, std::nullopt}});
}

TEST_CASE("postgres concurrent first opens of a version 1 database migrate it once", "[postgres][schema][migration]") {
  scratch_schema old_db;
  side_connection admin(pg_url());
  constexpr int openers = 6;
  {
    version_1_writer w(old_db.url());
    for (int i = 0; i < openers; ++i) {
      const std::string doc = "doc-" + std::to_string(i);
      w.add_op(doc, insert_op(k(1, "r", 1), 1));
      w.add_meta(doc, 1, k(1, "r", 1), 1, 2);
      w.add_checkpoint(doc, 1, k(1, "r", 1), 1, "cp");
    }
  }
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int i = 0; i < openers; ++i) {
    threads.emplace_back([&, i] {
      try {
        storage_t s(old_db.url(), "doc-" + std::to_string(i));
        auto tx = s.begin();
        (void)s.save_checkpoint(k(2, "r", 2), 2, "delta", k(1, "r", 1));
        tx.commit();
        if (s.list_checkpoints() !=
            std::vector<cp>{{1, k(1, "r", 1), 1, 2, std::nullopt}, {2, k(2, "r", 2), 2, 5, k(1, "r", 1)}})
          throw std::runtime_error("unexpected checkpoints");
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        failures.push_back(e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& f : failures) FAIL_CHECK(f);
  CHECK(version_of(admin, old_db.name()) == "3");  // 1 -> 2 -> 3
  CHECK(admin.query("SELECT count(*) FROM " + old_db.name() + ".treecrdt_checkpoints WHERE base_lamport IS NULL") ==
        std::vector<std::string>{std::to_string(openers)});
}

// ---- schema version 2 -> 3: treecrdt_version, each document's version vector ----------------------

namespace {

/// A version 2 database: version 1's DDL followed by the library's 1 -> 2 step, which is all
/// version 2 of the library ever created.
class version_2_writer : public version_1_writer {
 public:
  explicit version_2_writer(const std::string& url) : version_1_writer(url) {
    for (const char* sql : treecrdt::pg::migrate_1_to_2.sql)
      if (sql != nullptr) (void)connection().query(sql);
  }
};

treecrdt::version_vector<std::string> scanned_version(storage_t& s) {
  treecrdt::version_vector<std::string> vv;
  for (const auto& o : scan_all(s)) vv.observe(o.key.replica, o.key.counter);
  return vv;
}

}  // namespace

TEST_CASE("postgres migrates a version 2 database to 3: every document's version vector is built from its log",
          "[postgres][schema][migration]") {
  scratch_schema old_db;
  side_connection admin(pg_url());
  std::vector<treecrdt::version_vector<std::string>> expected(3);
  {
    version_2_writer w(old_db.url());
    REQUIRE(version_of(w.connection(), old_db.name()) == "2");
    for (std::size_t d = 0; d < expected.size(); ++d) {
      const std::string doc = "doc-" + std::to_string(d);
      std::uint64_t n = 0;
      for (std::uint64_t c = 1; c <= 40; ++c) {
        if (d == 1 && c % 3 == 0) continue;  // gaps
        w.add_op(doc, insert_op(k(c, "r", c), c));
        expected[d].observe("r", c);
        ++n;
        if (d == 2 && c <= 2) {
          w.add_op(doc, insert_op(k(c, "s", c + 100), 500 + c));
          expected[d].observe("s", c + 100);
          ++n;
        }
      }
      w.add_meta(doc, n, k(40, "r", 40), n, 1);
    }
  }
  storage_t first(old_db.url(), "doc-0");  // the first open migrates
  CHECK(version_of(admin, old_db.name()) == "3");
  for (std::size_t d = 0; d < expected.size(); ++d) {
    INFO("doc-" << d);
    storage_t s(old_db.url(), "doc-" + std::to_string(d));
    CHECK(s.log_version() == expected[d]);
    CHECK(s.log_version() == scanned_version(s));
  }
  CHECK(admin.query("SELECT count(*) FROM " + old_db.name() + ".treecrdt_version") ==
        std::vector<std::string>{std::to_string(1 + 14 + 2)});  // doc-1: 13 runs of 2 plus [40, 40]

  // Appends keep it exact: closing a gap joins two runs.
  storage_t s(old_db.url(), "doc-1");
  {
    auto tx = s.begin();
    (void)s.append(std::vector<op_t>{insert_op(k(99, "r", 3), 903), insert_op(k(99, "r", 41), 941)});
    tx.commit();
  }
  CHECK(s.log_version() == scanned_version(s));
  CHECK(s.log_version().contains("r", 3));

  // The migrated table is laid out like a new database's.
  scratch_schema new_db;
  { storage_t fresh(new_db.url(), "doc"); }
  const std::string layout =
      "SELECT column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns"
      " WHERE table_schema = $1 AND table_name = 'treecrdt_version' ORDER BY ordinal_position";
  CHECK(admin.query(layout, {old_db.name()}) == admin.query(layout, {new_db.name()}));
  CHECK_FALSE(admin.query(layout, {new_db.name()}).empty());
}

TEST_CASE("postgres leaves a version 2 database unchanged when its migration to 3 fails",
          "[postgres][schema][migration]") {
  scratch_schema old_db;
  side_connection admin(pg_url());
  {
    version_2_writer w(old_db.url());
    w.add_op("doc", insert_op(k(1, "r", 1), 1));
    w.add_meta("doc", 1, k(1, "r", 1), 1, 1);
    // Someone else's table already has the name: the step cannot fill it.
    (void)w.connection().query("CREATE TABLE treecrdt_version (note text)");
  }
  try {
    storage_t s(old_db.url(), "doc");
    FAIL("a migration that cannot run succeeded");
  } catch (const treecrdt::storage_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find("schema migration from version 2 to 3") != std::string::npos);
  }
  CHECK(version_of(admin, old_db.name()) == "2");
  CHECK(admin.query("SELECT count(*) FROM " + old_db.name() + ".treecrdt_version") == std::vector<std::string>{"0"});

  (void)admin.query("DROP TABLE " + old_db.name() + ".treecrdt_version");
  storage_t s(old_db.url(), "doc");
  CHECK(version_of(admin, old_db.name()) == "3");
  treecrdt::version_vector<std::string> expected;
  expected.observe("r", 1);
  CHECK(s.log_version() == expected);
}
