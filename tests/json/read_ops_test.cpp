// SPEC §9: JSON Lines streams — line numbers in errors, duplicates vs conflicts, all-or-nothing.
#include <sstream>
#include <string>
#include <vector>

#include "json/json_test_support.hpp"

using namespace treecrdt;
using namespace json_test;

namespace {

std::string payload_line(int lamport, const std::string& replica, int counter, const std::string& value) {
  return R"({"lamport":)" + std::to_string(lamport) + R"(,"replica":")" + replica + R"(","counter":)" +
         std::to_string(counter) + R"(,"kind":"payload","node":")" + a_hex + R"(","payload":")" + value + "\"}";
}

/// The parse_error of reading `text`, checking that nothing came back.
template <class K>
parse_error read_failure(const std::string& text) {
  std::istringstream in(text);
  std::vector<op<K>> result{make_payload(key<K>(1, 1, 1), node_a, std::nullopt)};  // must stay untouched
  try {
    result = json::read_ops<K>(in);
  } catch (const parse_error& e) {
    CHECK(result.size() == 1);
    return e;
  }
  FAIL("no parse_error for:\n" << text);
  throw;  // unreachable: FAIL throws
}

}  // namespace

TEMPLATE_TEST_CASE("write_ops and read_ops round-trip a log, one line per op", "[json]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  version_vector<typename K::replica_type> vv;
  vv.observe(key<K>(0, 0xa1, 0).replica, 1);
  const std::vector<op<K>> ops{make_insert(key<K>(1, 0xa1, 1), root_node, node_a, "\x80"),
                               make_insert(key<K>(2, 0xb2, 1), node_a, node_b, "\x80", bytes("x")),
                               make_move(key<K>(3, 0xa1, 2), node_b, root_node, "\x90"),
                               make_delete(key<K>(4, 0xb2, 2), node_a, vv),
                               make_payload(key<K>(5, 0xa1, 3), node_b, std::nullopt)};
  std::ostringstream out;
  json::write_ops<K>(out, ops);
  const std::string text = out.str();
  CHECK(std::count(text.begin(), text.end(), '\n') == 5);
  CHECK(text.substr(0, text.find('\n')) == json::encode_op(ops[0]));
  std::istringstream in(text);
  CHECK(json::read_ops<K>(in) == ops);
}

TEMPLATE_TEST_CASE("read_ops skips blank lines and carriage returns but counts the lines", "[json]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  std::istringstream in("\n" + payload_line(1, "a1", 1, "01") + "\r\n   \n\t\n" + payload_line(2, "a1", 2, "02") +
                        "\n");
  const auto ops = json::read_ops<K>(in);
  REQUIRE(ops.size() == 2);
  CHECK(ops[0] == make_payload(key<K>(1, 0xa1, 1), node_a, bytes("\x01")));
  CHECK(ops[1] == make_payload(key<K>(2, 0xa1, 2), node_a, bytes("\x02")));

  std::istringstream empty("\n\n");
  CHECK(json::read_ops<K>(empty).empty());
  std::istringstream no_final_newline(payload_line(1, "a1", 1, "01"));
  CHECK(json::read_ops<K>(no_final_newline).size() == 1);
}

TEMPLATE_TEST_CASE("read_ops names the first bad line, counting blank lines, and returns nothing", "[json]",
                   default_op_key, compact_op_key) {
  using K = TestType;
  const std::string good = payload_line(1, "a1", 1, "01") + "\n\n" + payload_line(2, "a1", 2, "02") + "\n";

  auto e = read_failure<K>(good + "\n" + R"({"lamport":3,"replica":"a1","counter":3,"kind":"payload","node":"0a"})" +
                           "\n" + "also bad\n");
  CHECK(e.line() == 5);
  CHECK(std::string(e.what()) == R"(line 5: field "node": expected 32 hex digits, got 2 characters)");

  e = read_failure<K>(good + payload_line(3, "a1", 0, "03") + "\n");
  CHECK(e.line() == 4);
  CHECK(std::string(e.what()).find("line 4: invalid op payload") == 0);
  CHECK(std::string(e.what()).find("counter is 0") != std::string::npos);

  e = read_failure<K>(good + "{\"lamport\":\n");
  CHECK(e.line() == 4);
  CHECK(std::string(e.what()).find("line 4: invalid JSON at column 12:") == 0);

  e = read_failure<K>("[]\n" + good);
  CHECK(e.line() == 1);
}

TEMPLATE_TEST_CASE("read_ops keeps one copy of an exact duplicate and rejects a conflicting one", "[json]",
                   default_op_key, compact_op_key) {
  using K = TestType;
  const std::string first = payload_line(1, "a1", 1, "01");
  std::istringstream dup(first + "\n" + payload_line(2, "b2", 1, "02") + "\n" + first + "\n");
  const auto ops = json::read_ops<K>(dup);
  REQUIRE(ops.size() == 2);
  CHECK(ops[0].key.lamport == 1);
  CHECK(ops[1].key.lamport == 2);

  // Same text with different field order is the same op, not a conflict.
  std::istringstream reordered(first + "\n" + R"({"payload":"01","node":")" + a_hex +
                               R"(","kind":"payload","counter":1,"replica":"a1","lamport":1})" + "\n");
  CHECK(json::read_ops<K>(reordered).size() == 1);

  const auto e =
      read_failure<K>(first + "\n\n" + payload_line(2, "b2", 1, "02") + "\n" + payload_line(1, "a1", 1, "ff") + "\n");
  CHECK(e.line() == 4);
  CHECK(std::string(e.what()) == "line 4: op payload (lamport 1, replica " + replica_hex<K>(0xa1) +
                                     ", counter 1) node " + a_hex +
                                     " conflicts with line 1: same (replica, counter), different content");
  // A different lamport with the same dot is a conflict too.
  CHECK(read_failure<K>(first + "\n" + payload_line(7, "a1", 1, "01") + "\n").line() == 2);
}

TEMPLATE_TEST_CASE("read_numbered_ops reports the line each op came from", "[json]", default_op_key, compact_op_key) {
  using K = TestType;
  std::istringstream in("\n" + payload_line(1, "a1", 1, "01") + "\n\n" + payload_line(2, "a1", 2, "02") + "\n" +
                        payload_line(1, "a1", 1, "01") + "\n" + payload_line(3, "b2", 1, "03") + "\n");
  const auto ops = json::read_numbered_ops<K>(in);
  REQUIRE(ops.size() == 3);
  CHECK(ops[0].line == 2);
  CHECK(ops[1].line == 4);
  CHECK(ops[2].line == 6);  // line 5 repeats line 2 and adds nothing
  CHECK(ops[2].value == make_payload(key<K>(3, 0xb2, 1), node_a, bytes("\x03")));
}
