// Pure encoding checks of the PostgreSQL layer (no server needed, but part of the same executable).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include <treecrdt/storage/postgres/connection.hpp>
#include <treecrdt/storage/postgres/wire.hpp>

namespace pg = treecrdt::pg;

TEST_CASE("pg wire: uint64 -> bigint mapping preserves unsigned order and round-trips", "[postgres][wire]") {
  constexpr std::uint64_t top = std::uint64_t{1} << 63;
  const std::vector<std::uint64_t> ascending = {0,
                                                1,
                                                2,
                                                top - 2,
                                                top - 1,
                                                top,
                                                top + 1,
                                                top + 2,
                                                std::numeric_limits<std::uint64_t>::max() - 1,
                                                std::numeric_limits<std::uint64_t>::max()};
  for (std::size_t i = 0; i < ascending.size(); ++i) {
    CAPTURE(ascending[i]);
    CHECK(pg::from_sortable_int8(pg::to_sortable_int8(ascending[i])) == ascending[i]);
    if (i > 0) CHECK(pg::to_sortable_int8(ascending[i - 1]) < pg::to_sortable_int8(ascending[i]));
  }
  CHECK(pg::to_sortable_int8(0) == std::numeric_limits<std::int64_t>::min());
  CHECK(pg::to_sortable_int8(std::numeric_limits<std::uint64_t>::max()) == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("pg wire: binary array layout", "[postgres][wire]") {
  pg::array_builder b(pg::bytea_oid);
  b.add_bytes("ab");
  b.add_bytes("");
  const std::string got = std::move(b).finish();
  const std::string expected(
      "\0\0\0\1"    // one dimension
      "\0\0\0\0"    // no NULLs
      "\0\0\0\x11"  // bytea
      "\0\0\0\2"    // two elements
      "\0\0\0\1"    // lower bound 1
      "\0\0\0\2ab"  // "ab"
      "\0\0\0\0",   // ""
      4 * 5 + 6 + 4);
  CHECK(got == expected);

  pg::array_builder ints(pg::int8_oid);
  ints.add_int8(-2);
  const std::string i = std::move(ints).finish();
  REQUIRE(i.size() == 20 + 4 + 8);
  CHECK(i.substr(20) == std::string("\0\0\0\x08\xff\xff\xff\xff\xff\xff\xff\xfe", 12));
}

TEST_CASE("pg errors: which SQLSTATEs are retryable", "[postgres][errors]") {
  for (const char* s : {"08000", "08003", "08006", "40001", "40P01", "57P01", "57P02", "57P03"}) {
    CAPTURE(s);
    CHECK(pg::is_retryable_sqlstate(s));
  }
  for (const char* s : {"23505", "42P01", "25P02", "55P03", "22012", "XX000"}) {
    CAPTURE(s);
    CHECK_FALSE(pg::is_retryable_sqlstate(s));
  }
  // No connection and no result: the failure is a connection failure and retryable.
  const auto e = pg::make_storage_error(nullptr, nullptr, "append");
  CHECK(e.backend() == "postgres");
  CHECK(e.code() == "connection");
  CHECK(e.retryable());
}

TEST_CASE("pg errors: an unreachable server is a retryable connection error", "[postgres][errors]") {
  try {
    (void)pg::connection::open("host=127.0.0.1 port=1 connect_timeout=5");
    FAIL("connecting to port 1 succeeded");
  } catch (const treecrdt::storage_error& e) {
    CHECK(e.code() == "connection");
    CHECK(e.retryable());
    CHECK(std::string(e.what()).find("connect") != std::string::npos);
  }
}
