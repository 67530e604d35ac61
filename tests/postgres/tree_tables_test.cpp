// postgres_tree_tables against a real server: every TreeTables member (NULL columns, bytewise
// order, neighbours, paging, meta, journal), document isolation, atomicity with the storage's
// transaction, the SQL view, the schema version row, unreadable rows and replaced connections.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <treecrdt/detail/hex.hpp>
#include <treecrdt/store/postgres_store.hpp>

#include "pg_test_support.hpp"

using namespace treecrdt_pg_test;
using treecrdt::journal_chunk;
using treecrdt::node_id;
using treecrdt::postgres_tree_tables;
using treecrdt::tomb_state;
using treecrdt::tree_child;
using treecrdt::tree_row;

static_assert(treecrdt::TreeTables<postgres_tree_tables>);

namespace {

using bytes = std::string;
using from_t = std::optional<std::pair<bytes, node_id>>;

tree_row row(node_id id, std::optional<node_id> parent, std::optional<bytes> key,
             tomb_state tomb = tomb_state::not_deleted, std::optional<bytes> payload = std::nullopt,
             bytes state = "s") {
  return tree_row{id, parent, std::move(key), tomb, std::move(payload), std::move(state)};
}

std::vector<tree_row> sorted_by_id(std::vector<tree_row> rows) {
  std::sort(rows.begin(), rows.end(), [](const tree_row& a, const tree_row& b) { return a.id < b.id; });
  return rows;
}

/// A document with its storage handle and tree tables.
struct fixture {
  explicit fixture(const std::string& label, const std::string& url = pg_url())
      : doc(unique_doc(label)), storage(url, doc), tables(postgres_tree_tables::open(storage)) {}
  /// Runs `f` in a committed transaction of the storage.
  template <class F>
  void write(F&& f) {
    auto tx = storage.begin();
    f();
    tx.commit();
  }
  std::string doc;
  storage_t storage;
  postgres_tree_tables tables;
};

/// Hex of a node id as the tables store it (for SQL through the side connection).
std::string id_hex(node_id n) { return treecrdt::detail::to_hex(treecrdt::detail::node_id_bytes(n)); }

const std::string trash_hex = id_hex(treecrdt::trash_node);

}  // namespace

TEST_CASE("postgres tree tables: put, load and erase round-trip every column, NULLs included", "[tree_tables]") {
  fixture f("tt-roundtrip");
  const node_id a{0, 1}, b{0x8000000000000000ULL, 2}, c{7, 0xffffffffffffffffULL};
  const tree_row full =
      row(a, treecrdt::root_node, bytes("\x80\0k", 3), tomb_state::alive, bytes("p\0\xff", 3), bytes("state\0", 6));
  const tree_row nulls = row(b, std::nullopt, std::nullopt, tomb_state::not_deleted, std::nullopt, "");
  const tree_row empties = row(c, treecrdt::trash_node, bytes(), tomb_state::undecided, bytes(), "x");

  CHECK_FALSE(f.tables.load(a).has_value());
  CHECK_FALSE(f.tables.in_transaction());
  CHECK_THROWS_AS(f.tables.put(full), std::logic_error);  // writes need the storage's transaction
  f.write([&] {
    CHECK(f.tables.in_transaction());
    f.tables.put(full);
    f.tables.put(nulls);
    f.tables.put(empties);
    CHECK(f.tables.load(a) == full);  // read inside the transaction sees its own writes
  });
  CHECK(f.tables.load(a) == full);
  CHECK(f.tables.load(b) == nulls);
  const auto e = f.tables.load(c);
  REQUIRE(e.has_value());
  CHECK(*e == empties);
  CHECK(e->order_key.has_value());  // an empty key or payload is not NULL
  CHECK(e->payload.has_value());

  // put replaces every column; erase removes (an absent id is no error).
  const tree_row moved = row(a, b, bytes("\x01"), tomb_state::tombstoned, std::nullopt, "t");
  f.write([&] {
    f.tables.put(moved);
    f.tables.erase(c);
    f.tables.erase(node_id{42, 42});
  });
  CHECK(f.tables.load(a) == moved);
  CHECK_FALSE(f.tables.load(c).has_value());

  // Another handle on the same document sees the committed rows.
  storage_t other(pg_url(), f.doc);
  auto other_tables = postgres_tree_tables::open(other);
  CHECK(other_tables.load(a) == moved);
  CHECK(other_tables.load(b) == nulls);
  CHECK_THROWS_AS(f.tables.erase(a), std::logic_error);
}

TEST_CASE("postgres tree tables: put_all of 10,000 rows and load_many in one round trip each", "[tree_tables]") {
  fixture f("tt-bulk");
  constexpr std::uint64_t n = 10'000;
  std::vector<tree_row> rows;
  std::vector<node_id> ids;
  for (std::uint64_t i = 0; i < n; ++i) {
    const node_id id{i % 3 == 0 ? 0x8000000000000000ULL : 0, 1000 + i};
    std::optional<node_id> parent;
    if (i % 5 != 0) parent = node_id{0, 1000 + i / 10};
    std::optional<bytes> key;
    if (parent) key = bytes(1 + i % 4, static_cast<char>(0x70 + i % 32));
    std::optional<bytes> payload;
    if (i % 2 == 0) payload = "payload " + std::to_string(i) + std::string(1, '\0');
    rows.push_back(row(id, parent, key, static_cast<tomb_state>(i % 4), payload, "state" + std::to_string(i * 7)));
    ids.push_back(id);
  }

  const auto t0 = std::chrono::steady_clock::now();
  f.write([&] { f.tables.put_all(rows); });
  const auto t1 = std::chrono::steady_clock::now();
  const auto loaded = f.tables.load_many(ids);
  const auto t2 = std::chrono::steady_clock::now();
  CHECK(loaded.size() == n);
  CHECK(sorted_by_id(loaded) == sorted_by_id(rows));

  // An update of every row (same ids, new columns) replaces them.
  for (auto& r : rows) {
    r.state += "'";
    r.tomb = tomb_state::not_deleted;
    r.payload.reset();
  }
  const auto t3 = std::chrono::steady_clock::now();
  f.write([&] { f.tables.put_all(rows); });
  const auto t4 = std::chrono::steady_clock::now();
  CHECK(sorted_by_id(f.tables.load_many(ids)) == sorted_by_id(rows));
  const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("tree tables, 10,000 rows: put_all insert %.1f ms, put_all update %.1f ms, load_many %.1f ms\n",
              ms(t1 - t0), ms(t4 - t3), ms(t2 - t1));

  // Absent and repeated ids: only the stored rows, each once.
  const std::vector<node_id> some = {ids[5], node_id{1, 1}, ids[5], ids[9999], node_id{0, 1}};
  CHECK(sorted_by_id(f.tables.load_many(some)) == sorted_by_id({rows[5], rows[9999]}));
  CHECK(f.tables.load_many({node_id{1, 1}}).empty());
  CHECK(f.tables.load_many({}).empty());

  // Repeated ids inside one put_all: the last one wins, as with a sequence of put().
  const node_id d{9, 9};
  f.write([&] {
    f.tables.put_all({row(d, std::nullopt, std::nullopt, tomb_state::alive, bytes("first")), rows[0],
                      row(d, treecrdt::root_node, bytes("k"), tomb_state::not_deleted, std::nullopt, "second"),
                      row(d, rows[1].id, bytes("k2"), tomb_state::tombstoned, bytes("third"), "third")});
    f.tables.put_all({});
  });
  CHECK(f.tables.load(d) == row(d, rows[1].id, bytes("k2"), tomb_state::tombstoned, bytes("third"), "third"));
  CHECK_THROWS_AS(f.tables.put_all(rows), std::logic_error);
}

TEST_CASE("postgres tree tables: children are ordered by (order_key, id) bytewise", "[tree_tables]") {
  fixture f("tt-children");
  const node_id p{0, 100};
  const node_id other_parent{0, 101};
  // Keys with bytes >= 0x80 (a signed char compare would put them first), prefixes, an empty key,
  // equal keys broken by ids whose top bit differs.
  std::vector<tree_row> rows = {
      row({0, 1}, p, bytes("\x80")),
      row({0, 2}, p, bytes("\x7f")),
      row({0, 3}, p, bytes("\xff\x00", 2), tomb_state::tombstoned),
      row({0, 4}, p, bytes("\xff")),
      row({0, 5}, p, bytes()),
      row({0x8000000000000000ULL, 0}, p, bytes("\x80"), tomb_state::alive),
      row({0, 0x8000000000000000ULL}, p, bytes("\x80")),
      row({0, 8}, p, bytes("\x80\x00", 2)),
      row({0, 9}, p, bytes("\x01\xfe")),
      row({0, 10}, other_parent, bytes("\x00", 1)),
      row({0, 11}, std::nullopt, std::nullopt),
  };
  f.write([&] { f.tables.put_all(rows); });

  std::vector<tree_row> expected(rows.begin(), rows.begin() + 9);
  std::sort(expected.begin(), expected.end(), [](const tree_row& a, const tree_row& b) {
    return std::pair(*a.order_key, a.id) < std::pair(*b.order_key, b.id);
  });
  const auto got = f.tables.children(p);
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("position " << i);
    CHECK(got[i].id == expected[i].id);
    CHECK(got[i].tomb == expected[i].tomb);
  }
  // Spelled out: the empty key, then 0x01fe, 0x7f, the three 0x80 by id, 0x8000, 0xff, 0xff00.
  CHECK(got.front().id == node_id{0, 5});
  CHECK(got[3].id == node_id{0, 1});
  CHECK(got[4].id == node_id{0, 0x8000000000000000ULL});
  CHECK(got[5].id == node_id{0x8000000000000000ULL, 0});
  CHECK(got.back().id == node_id{0, 3});
  CHECK(got.back().tomb == tomb_state::tombstoned);

  REQUIRE(f.tables.children(other_parent).size() == 1);
  CHECK(f.tables.children(node_id{0, 1}).empty());
}

TEST_CASE("postgres tree tables: neighbour_key in both directions, from anywhere, with skip", "[tree_tables]") {
  fixture f("tt-neighbours");
  const node_id p{0, 100};
  std::vector<std::pair<bytes, node_id>> kids = {
      {"\x20", {0, 1}}, {"\x80", {0, 7}},     {"\x80", {0, 3}}, {"\x80", {0x8000000000000000ULL, 0}},
      {"\x90", {0, 2}}, {"\xff\x01", {0, 4}},
  };
  f.write([&] {
    std::vector<tree_row> rows;
    for (const auto& [key, id] : kids) rows.push_back(row(id, p, key));
    rows.push_back(row({0, 50}, node_id{0, 101}, bytes("\x85")));  // another folder's child
    f.tables.put_all(rows);
  });
  std::sort(kids.begin(), kids.end());

  // Brute force over the sorted children.
  const auto expected = [&](const from_t& from, bool forward, node_id skip) -> std::optional<bytes> {
    std::optional<bytes> best;
    if (forward) {
      for (const auto& k : kids)
        if (k.second != skip && (!from || k > *from)) return k.first;
    } else {
      for (auto it = kids.rbegin(); it != kids.rend(); ++it)
        if (it->second != skip && (!from || *it < *from)) return it->first;
    }
    return best;
  };

  std::vector<from_t> froms = {std::nullopt};
  for (const auto& k : kids) froms.emplace_back(k);
  froms.emplace_back(std::pair(bytes("\x80"), node_id{0, 5}));  // between equal keys, not a child
  froms.emplace_back(std::pair(bytes(), node_id{0, 0}));        // before everything
  froms.emplace_back(std::pair(bytes("\xff\xff"), node_id{0, 0}));
  std::vector<node_id> skips = {node_id{9, 9}};
  for (const auto& k : kids) skips.push_back(k.second);

  int checked = 0;
  for (const auto& from : froms)
    for (const bool forward : {true, false})
      for (const node_id skip : skips) {
        INFO("from " << (from ? treecrdt::detail::to_hex(from->first) + "/" + id_hex(from->second) : "none")
                     << (forward ? " forward" : " backward") << " skip " << id_hex(skip));
        CHECK(f.tables.neighbour_key(p, from, forward, skip) == expected(from, forward, skip));
        ++checked;
      }
  CHECK(checked == 10 * 2 * 7);

  // A few spelled out.
  CHECK(f.tables.neighbour_key(p, std::nullopt, true, node_id{9, 9}) == bytes("\x20"));
  CHECK(f.tables.neighbour_key(p, std::nullopt, true, node_id{0, 1}) == bytes("\x80"));
  CHECK(f.tables.neighbour_key(p, std::nullopt, false, node_id{0, 4}) == bytes("\x90"));
  CHECK(f.tables.neighbour_key(p, std::pair(bytes("\x80"), node_id{0, 7}), true, node_id{9, 9}) ==
        bytes("\x80"));  // (0x80, {0x8000..., 0}) follows
  CHECK(f.tables.neighbour_key(p, std::pair(bytes("\x80"), node_id{0x8000000000000000ULL, 0}), true, node_id{0, 2}) ==
        bytes("\xff\x01"));
  CHECK(f.tables.neighbour_key(p, std::pair(bytes("\x20"), node_id{0, 1}), false, node_id{9, 9}) == std::nullopt);
  CHECK(f.tables.neighbour_key(node_id{0, 101}, std::nullopt, true, node_id{0, 50}) == std::nullopt);
  CHECK(f.tables.neighbour_key(node_id{0, 102}, std::nullopt, false, node_id{9, 9}) == std::nullopt);
}

TEST_CASE("postgres tree tables: rows_after pages through the document by id", "[tree_tables]") {
  fixture f("tt-paging");
  fixture neighbour("tt-paging-other");  // same database, rows that must not show up
  std::vector<tree_row> rows;
  std::mt19937_64 rng(17);
  for (int i = 0; i < 250; ++i) rows.push_back(row(node_id{rng(), rng()}, node_id{0, 1}, bytes(1, 'a')));
  f.write([&] { f.tables.put_all(rows); });
  neighbour.write([&] {
    neighbour.tables.put_all({row({0, 0}, std::nullopt, std::nullopt), row({~0ULL, 5}, {}, {})});
  });
  rows = sorted_by_id(rows);

  std::vector<tree_row> paged;
  std::optional<node_id> after;
  int pages = 0;
  for (int guard = 0; guard < 100; ++guard) {  // bounded: a pager that repeats itself must fail, not hang
    const auto page = f.tables.rows_after(after, 64);
    CHECK(page.size() <= 64);
    if (page.empty()) break;
    paged.insert(paged.end(), page.begin(), page.end());
    after = page.back().id;
    ++pages;
  }
  CHECK(pages == 4);
  CHECK(paged == rows);
  CHECK(f.tables.rows_after(std::nullopt, 0).empty());
  CHECK(f.tables.rows_after(rows.back().id, 10).empty());
  CHECK(f.tables.rows_after(std::nullopt, std::numeric_limits<std::size_t>::max()) == rows);
  const auto tail = f.tables.rows_after(rows[200].id, 1000);
  CHECK(tail == std::vector<tree_row>(rows.begin() + 201, rows.end()));
  CHECK(neighbour.tables.rows_after(std::nullopt, 10).size() == 2);
}

TEST_CASE("postgres tree tables: the metadata blob", "[tree_tables]") {
  fixture f("tt-meta");
  CHECK_FALSE(f.tables.load_meta().has_value());
  CHECK_THROWS_AS(f.tables.store_meta("x"), std::logic_error);
  f.write([&] { f.tables.store_meta(""); });
  CHECK(f.tables.load_meta() == bytes());
  const bytes blob("\0\x01\xff meta", 8);
  f.write([&] { f.tables.store_meta(blob); });
  CHECK(f.tables.load_meta() == blob);
  f.write([&] { f.tables.store_meta("second"); });
  CHECK(f.tables.load_meta() == bytes("second"));
}

TEST_CASE("postgres tree tables: journal append, newest, erase and trim", "[tree_tables]") {
  fixture f("tt-journal");
  const journal_chunk c1{1, 3, bytes("one\0", 4)}, c2{4, 4, "two"}, c3{5, 9, "three"};
  CHECK_FALSE(f.tables.journal_newest(std::nullopt).has_value());
  CHECK_THROWS_AS(f.tables.journal_append(c1), std::logic_error);
  f.write([&] {
    f.tables.journal_append(c2);  // any order: chunks are found by last_seq
    f.tables.journal_append(c1);
    f.tables.journal_append(c3);
  });
  const auto newest = [&](std::optional<std::uint64_t> before) -> std::optional<std::uint64_t> {
    const auto c = f.tables.journal_newest(before);
    return c ? std::optional(c->last_seq) : std::nullopt;
  };
  const auto c = f.tables.journal_newest(std::nullopt);
  REQUIRE(c.has_value());
  CHECK(c->first_seq == 5);
  CHECK(c->last_seq == 9);
  CHECK(c->ops == "three");
  CHECK(f.tables.journal_newest(9)->ops == "two");
  CHECK(f.tables.journal_newest(4)->ops == bytes("one\0", 4));
  CHECK(f.tables.journal_newest(4)->first_seq == 1);
  CHECK(newest(10) == 9);
  CHECK(newest(5) == 4);
  CHECK(newest(3) == std::nullopt);
  CHECK(newest(0) == std::nullopt);
  CHECK(newest(std::numeric_limits<std::uint64_t>::max()) == 9);

  // A second chunk with the same last_seq is refused, naming the operation.
  {
    auto tx = f.storage.begin();
    try {
      f.tables.journal_append(journal_chunk{9, 9, "again"});
      FAIL("a duplicate last_seq was stored");
    } catch (const treecrdt::storage_error& e) {
      CHECK(e.code() == "23505");
      CHECK_FALSE(e.retryable());
      CHECK(std::string(e.what()).find("journal_append") != std::string::npos);
    }
  }
  {
    auto tx = f.storage.begin();
    CHECK_THROWS_AS(f.tables.journal_append(journal_chunk{1, std::uint64_t{1} << 63, "big"}), treecrdt::storage_error);
  }

  f.write([&] {
    f.tables.journal_erase(4);
    f.tables.journal_erase(100);  // absent: nothing happens
    f.tables.journal_erase(std::numeric_limits<std::uint64_t>::max());
  });
  CHECK(newest(5) == 3);
  CHECK(newest(std::nullopt) == 9);
  f.write([&] { f.tables.journal_trim_through(3); });
  CHECK(newest(9) == std::nullopt);
  CHECK(newest(std::nullopt) == 9);
  f.write([&] { f.tables.journal_trim_through(8); });
  CHECK(newest(std::nullopt) == 9);
  f.write([&] { f.tables.journal_trim_through(std::numeric_limits<std::uint64_t>::max()); });
  CHECK(newest(std::nullopt) == std::nullopt);
}

TEST_CASE("postgres tree tables: clear_rows touches only its own document", "[tree_tables]") {
  fixture a("tt-clear-a");
  fixture b("tt-clear-b");
  for (fixture* f : {&a, &b}) {
    f->write([&] {
      f->tables.put_all({row(treecrdt::root_node, {}, {}), row({0, 1}, treecrdt::root_node, bytes("k"))});
      f->tables.store_meta("meta");
      f->tables.journal_append(journal_chunk{1, 1, "j"});
    });
  }
  CHECK_THROWS_AS(a.tables.clear_rows(), std::logic_error);
  a.write([&] { a.tables.clear_rows(); });
  CHECK(a.tables.rows_after(std::nullopt, 10).empty());
  CHECK(a.tables.children(treecrdt::root_node).empty());
  CHECK_FALSE(a.tables.journal_newest(std::nullopt).has_value());
  CHECK(a.tables.load_meta() == bytes("meta"));  // the blob is the store's to replace

  CHECK(b.tables.rows_after(std::nullopt, 10).size() == 2);
  CHECK(b.tables.children(treecrdt::root_node).size() == 1);
  CHECK(b.tables.journal_newest(std::nullopt).has_value());
  CHECK(b.tables.load_meta() == bytes("meta"));
}

TEST_CASE("postgres tree tables: writes belong to the storage's transaction", "[tree_tables]") {
  fixture f("tt-atomic");
  side_connection admin(pg_url());
  const tree_row kept = row({0, 1}, treecrdt::root_node, bytes("k"), tomb_state::not_deleted, bytes("v"));
  f.write([&] {
    f.tables.put(kept);
    f.tables.store_meta("committed");
    f.tables.journal_append(journal_chunk{1, 1, "j"});
  });

  {
    auto tx = f.storage.begin();
    (void)f.storage.append(std::vector<op_t>{insert_op(k(1, "r", 1), 7)});
    f.tables.put(row({0, 2}, treecrdt::root_node, bytes("l")));
    f.tables.put(row({0, 1}, std::nullopt, std::nullopt, tomb_state::undecided));
    f.tables.erase(node_id{0, 1});
    f.tables.store_meta("rolled back");
    f.tables.journal_append(journal_chunk{2, 2, "j2"});
    f.tables.journal_trim_through(1);
    CHECK(f.tables.children(treecrdt::root_node).size() == 1);
    // Not autocommitted: another connection does not see the uncommitted row.
    CHECK(admin.query("SELECT count(*) FROM treecrdt_tree WHERE doc = convert_to($1, 'UTF8')", {f.doc}) ==
          std::vector<std::string>{"1"});
  }  // rolled back with the ops

  CHECK(f.storage.op_count() == 0);
  CHECK(f.tables.load(node_id{0, 1}) == kept);
  CHECK_FALSE(f.tables.load(node_id{0, 2}).has_value());
  CHECK(f.tables.load_meta() == bytes("committed"));
  CHECK(f.tables.journal_newest(std::nullopt)->last_seq == 1);

  // And commit with them.
  f.write([&] {
    (void)f.storage.append(std::vector<op_t>{insert_op(k(1, "r", 1), 7)});
    f.tables.put(row({0, 7}, treecrdt::root_node, bytes("80")));
  });
  storage_t other(pg_url(), f.doc);
  CHECK(other.op_count() == 1);
  CHECK(postgres_tree_tables::open(other).load(node_id{0, 7}).has_value());
}

TEST_CASE("postgres tree tables: the view lists folders by visible parent", "[tree_tables]") {
  fixture f("tt-view");
  side_connection admin(pg_url());
  const node_id folder{0, 10}, moved_away{0, 30}, placeholder{0, 40};
  f.write([&] {
    f.tables.put_all({
        row(treecrdt::root_node, {}, {}),
        row(treecrdt::trash_node, {}, {}),
        row(folder, treecrdt::root_node, bytes("\x80")),
        row({0, 11}, folder, bytes("\x90"), tomb_state::not_deleted, bytes("a")),
        row({0, 12}, folder, bytes("\x80"), tomb_state::alive),
        row({0, 13}, folder, bytes("\x85"), tomb_state::tombstoned, bytes("gone")),
        row({0x8000000000000000ULL, 14}, folder, bytes("\x80")),
        row({0, 15}, folder, bytes("\xff\x00", 2)),
        row({0, 16}, node_id{0, 13}, bytes("\x80")),  // under a tombstoned node: still listed under it
        row(moved_away, treecrdt::trash_node, bytes("\x80")),
        row(placeholder, {}, {}),
    });
  });
  const auto listing = [&](node_id parent) {
    return admin.query(
        "SELECT encode(id, 'hex') FROM treecrdt_tree_view WHERE doc = convert_to($1, 'UTF8')"
        " AND parent = decode($2, 'hex') ORDER BY order_key, id",
        {f.doc, id_hex(parent)});
  };
  // The folder: children() minus the tombstoned rows, in the same order.
  std::vector<std::string> expected;
  for (const tree_child& c : f.tables.children(folder))
    if (c.tomb != tomb_state::tombstoned) expected.push_back(id_hex(c.id));
  CHECK(expected.size() == 4);
  CHECK(listing(folder) == expected);
  CHECK(listing(folder) == std::vector<std::string>{id_hex({0, 12}), id_hex({0x8000000000000000ULL, 14}),
                                                    id_hex({0, 11}), id_hex({0, 15})});
  CHECK(listing(treecrdt::root_node) == std::vector<std::string>{id_hex(folder)});
  CHECK(listing(node_id{0, 13}) == std::vector<std::string>{id_hex({0, 16})});
  // TRASH: its physical children and every tombstoned node.
  CHECK(listing(treecrdt::trash_node) == std::vector<std::string>{id_hex(moved_away), id_hex({0, 13})});
  // ROOT and TRASH themselves are not listed; a placeholder has no parent.
  CHECK(admin.query("SELECT count(*) FROM treecrdt_tree_view WHERE doc = convert_to($1, 'UTF8')", {f.doc}) ==
        std::vector<std::string>{"9"});
  CHECK(admin.query("SELECT count(*) FROM treecrdt_tree_view WHERE doc = convert_to($1, 'UTF8') AND id IN"
                    " (decode($2, 'hex'), decode($3, 'hex'))",
                    {f.doc, id_hex(treecrdt::root_node), trash_hex}) == std::vector<std::string>{"0"});
  CHECK(admin.query("SELECT count(*) FROM treecrdt_tree_view WHERE doc = convert_to($1, 'UTF8')"
                    " AND id = decode($2, 'hex') AND parent IS NULL",
                    {f.doc, id_hex(placeholder)}) == std::vector<std::string>{"1"});
  CHECK(admin.query("SELECT payload FROM treecrdt_tree_view WHERE doc = convert_to($1, 'UTF8')"
                    " AND id = decode($2, 'hex')",
                    {f.doc, id_hex({0, 11})}) == std::vector<std::string>{"\\x61"});
}

namespace {
/// A schema of its own (first on search_path): a separate set of tables in the same database.
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
  [[nodiscard]] std::vector<std::string> query(const std::string& sql) { return admin_.query(sql); }
  [[nodiscard]] std::string table(const std::string& t) const { return name_ + "." + t; }

 private:
  std::string name_;
  std::string url_;
  side_connection admin_;
};
}  // namespace

TEST_CASE("postgres tree tables: the schema is versioned and created once", "[tree_tables]") {
  scratch_schema scratch;
  const std::string version_sql =
      "SELECT version FROM " + scratch.table("treecrdt_schema") + " WHERE component = 'treecrdt_tree'";
  storage_t s(scratch.url(), "doc");
  CHECK(scratch.query(version_sql).empty());

  // Opened inside a transaction, the tables are created in it and roll back with it.
  {
    auto tx = s.begin();
    auto t = postgres_tree_tables::open(s);
    t.put(row({0, 1}, std::nullopt, std::nullopt));
  }
  CHECK(scratch.query(version_sql).empty());
  CHECK(scratch.query("SELECT to_regclass('" + scratch.table("treecrdt_tree") + "') IS NULL") ==
        std::vector<std::string>{"t"});

  // Outside one, in a transaction of their own; opening again is a no-op.
  {
    auto t = postgres_tree_tables::open(s);
    auto again = postgres_tree_tables::open(s);
    CHECK(scratch.query(version_sql) == std::vector<std::string>{"1"});
    auto tx = s.begin();
    again.put(row({0, 1}, std::nullopt, std::nullopt));
    tx.commit();
    CHECK(t.load(node_id{0, 1}).has_value());
  }
  CHECK(scratch.query("SELECT count(*) FROM " + scratch.table("treecrdt_schema")) == std::vector<std::string>{"2"});

  // A newer layout is refused, and so is an unknown older one.
  (void)scratch.query("UPDATE " + scratch.table("treecrdt_schema") +
                      " SET version = 2 WHERE component = 'treecrdt_tree'");
  try {
    (void)postgres_tree_tables::open(s);
    FAIL("a database with tree schema version 2 was opened");
  } catch (const treecrdt::schema_error& e) {
    const std::string what = e.what();
    CHECK(what.find("version 2") != std::string::npos);
    CHECK(what.find("upgrade the library") != std::string::npos);
  }
  (void)scratch.query("UPDATE " + scratch.table("treecrdt_schema") +
                      " SET version = 0 WHERE component = 'treecrdt_tree'");
  CHECK_THROWS_AS(postgres_tree_tables::open(s), treecrdt::schema_error);
  {
    auto tx = s.begin();  // the same check inside a transaction
    CHECK_THROWS_AS(postgres_tree_tables::open(s), treecrdt::schema_error);
  }
  // The log's own schema row is untouched, and the public schema has the current version.
  CHECK(scratch.query("SELECT version FROM " + scratch.table("treecrdt_schema") + " WHERE component = 'treecrdt'") ==
        std::vector<std::string>{std::to_string(treecrdt::pg::schema_version)});
  fixture f("tt-schema-public");
  side_connection admin(pg_url());
  CHECK(admin.query("SELECT version FROM public.treecrdt_schema WHERE component = 'treecrdt_tree'") ==
        std::vector<std::string>{"1"});
}

TEST_CASE("postgres tree tables: concurrent first opens create the tables once", "[tree_tables]") {
  scratch_schema scratch;
  constexpr int openers = 6;
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int i = 0; i < openers; ++i) {
    threads.emplace_back([&, i] {
      try {
        storage_t s(scratch.url(), "doc-" + std::to_string(i));
        auto t = postgres_tree_tables::open(s);
        auto tx = s.begin();
        t.put(row({0, 1}, std::nullopt, std::nullopt));
        tx.commit();
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        failures.push_back(e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& f : failures) FAIL_CHECK(f);
  CHECK(scratch.query("SELECT count(*) FROM " + scratch.table("treecrdt_schema") +
                      " WHERE component = 'treecrdt_tree'") == std::vector<std::string>{"1"});
  CHECK(scratch.query("SELECT count(*) FROM " + scratch.table("treecrdt_tree")) ==
        std::vector<std::string>{std::to_string(openers)});
}

TEST_CASE("postgres tree tables: unreadable rows are reported as corrupt_row", "[tree_tables]") {
  fixture f("tt-corrupt");
  side_connection admin(pg_url());
  f.write([&] {
    f.tables.put_all({row({0, 1}, treecrdt::root_node, bytes("k")), row({0, 2}, node_id{0, 1}, bytes("k"))});
  });
  const auto expect_corrupt = [&](auto&& call, const std::string& what) {
    try {
      call();
      FAIL("an unreadable row was decoded by " << what);
    } catch (const treecrdt::storage_error& e) {
      INFO(e.what());
      CHECK(e.code() == "corrupt_row");
      CHECK_FALSE(e.retryable());
      CHECK(std::string(e.what()).find(what) != std::string::npos);
    }
  };
  SECTION("an id that is not 16 bytes") {
    (void)admin.query(
        "UPDATE treecrdt_tree SET id = decode('0102', 'hex') WHERE doc = convert_to($1, 'UTF8') AND id = decode($2, "
        "'hex')",
        {f.doc, id_hex({0, 1})});
    expect_corrupt([&] { (void)f.tables.rows_after(std::nullopt, 10); }, "rows_after");
    expect_corrupt([&] { (void)f.tables.children(treecrdt::root_node); }, "children");
  }
  SECTION("a parent that is not 16 bytes") {
    (void)admin.query("UPDATE treecrdt_tree SET parent = decode('01', 'hex') WHERE doc = convert_to($1, 'UTF8')",
                      {f.doc});
    expect_corrupt([&] { (void)f.tables.load(node_id{0, 2}); }, "load");
    expect_corrupt([&] { (void)f.tables.load_many({node_id{0, 1}}); }, "load_many");
  }
  SECTION("a tomb outside 0..3") {
    (void)admin.query("UPDATE treecrdt_tree SET tomb = 7 WHERE doc = convert_to($1, 'UTF8')", {f.doc});
    expect_corrupt([&] { (void)f.tables.load(node_id{0, 1}); }, "load");
    expect_corrupt([&] { (void)f.tables.children(treecrdt::root_node); }, "children");
  }
  SECTION("a child without an order key") {
    (void)admin.query("UPDATE treecrdt_tree SET order_key = NULL WHERE doc = convert_to($1, 'UTF8')", {f.doc});
    expect_corrupt(
        [&] {
          (void)f.tables.neighbour_key(node_id{0, 1}, std::nullopt, true, node_id{9, 9});
        },
        "neighbour_key");
  }
  CHECK(f.tables.load_meta() == std::nullopt);  // the handle stays usable
}

TEST_CASE("postgres tree tables: a replaced connection re-prepares the statements", "[tree_tables]") {
  fixture f("tt-reconnect");
  side_connection admin(pg_url());
  const tree_row r1 = row({0, 1}, treecrdt::root_node, bytes("k"));
  f.write([&] { f.tables.put(r1); });
  CHECK(f.tables.load(node_id{0, 1}) == r1);  // prepared on the first connection

  // Killed while idle: the next read reconnects by itself.
  admin.terminate_backend(PQbackendPID(f.storage.raw_connection()));
  CHECK(f.tables.load(node_id{0, 1}) == r1);

  // Killed while idle, noticed by begin(): the writes after it prepare on the new connection.
  admin.terminate_backend(PQbackendPID(f.storage.raw_connection()));
  f.write([&] {
    f.tables.put(row({0, 2}, treecrdt::root_node, bytes("l")));
    CHECK(f.tables.children(treecrdt::root_node).size() == 2);
  });

  // Killed inside a transaction: the write fails retryably and nothing of it stays.
  {
    auto tx = f.storage.begin();
    f.tables.put(row({0, 3}, treecrdt::root_node, bytes("m")));
    admin.terminate_backend(PQbackendPID(f.storage.raw_connection()));
    try {
      f.tables.put(row({0, 4}, treecrdt::root_node, bytes("n")));
      FAIL("a write on a terminated connection succeeded");
    } catch (const treecrdt::storage_error& e) {
      INFO(e.what());
      CHECK(e.retryable());
      CHECK(std::string(e.what()).find("put") != std::string::npos);
    }
  }
  CHECK(f.tables.children(treecrdt::root_node).size() == 2);

  // Two tables objects on one handle share its prepared statements; a moved handle keeps them working.
  auto second = postgres_tree_tables::open(f.storage);
  storage_t moved = std::move(f.storage);
  {
    auto tx = moved.begin();
    CHECK(f.tables.in_transaction());
    second.put(row({0, 5}, treecrdt::root_node, bytes("o")));
    f.tables.erase(node_id{0, 1});
    tx.commit();
  }
  CHECK_FALSE(second.in_transaction());
  CHECK(second.children(treecrdt::root_node).size() == 2);
  CHECK_FALSE(f.tables.load(node_id{0, 1}).has_value());
  postgres_tree_tables taken = std::move(second);
  CHECK(taken.load(node_id{0, 5}).has_value());
}
