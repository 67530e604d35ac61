// SPEC §9: one op per JSON object — exact text, round trips and every way a line can be malformed.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "json/json_test_support.hpp"
#include "treecrdt/limits.hpp"

using namespace treecrdt;
using namespace json_test;

TEMPLATE_TEST_CASE("encode_op writes the SPEC §9 text with fields in fixed order", "[json]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  const std::string r = replica_hex<K>(0xa1);
  version_vector<typename K::replica_type> vv;
  vv.add_range(key<K>(0, 0xa1, 0).replica, 1, 3);
  vv.add_range(key<K>(0, 0xa1, 0).replica, 6, 7);

  CHECK(json::encode_op(make_insert(key<K>(3, 0xa1, 2), root_node, node_a, "\x80", bytes("hi"))) ==
        R"({"lamport":3,"replica":")" + r + R"(","counter":2,"kind":"insert","parent":")" + root_hex + R"(","node":")" +
            a_hex + R"(","order_key":"80","payload":"6869"})");
  CHECK(json::encode_op(make_insert(key<K>(3, 0xa1, 2), root_node, node_a, "\x80")) ==
        R"({"lamport":3,"replica":")" + r + R"(","counter":2,"kind":"insert","parent":")" + root_hex + R"(","node":")" +
            a_hex + R"(","order_key":"80"})");
  CHECK(json::encode_op(make_move(key<K>(4, 0xa1, 1), node_a, node_b, "\x40")) ==
        R"({"lamport":4,"replica":")" + r + R"(","counter":1,"kind":"move","node":")" + a_hex + R"(","new_parent":")" +
            b_hex + R"(","order_key":"40"})");
  CHECK(json::encode_op(make_delete(key<K>(5, 0xa1, 3), node_a, vv)) ==
        R"({"lamport":5,"replica":")" + r + R"(","counter":3,"kind":"delete","node":")" + a_hex +
            R"(","known_state":[{"replica":")" + r + R"(","frontier":3,"ranges":[[6,7]]}]})");
  CHECK(json::encode_op(make_tombstone(key<K>(5, 0xa1, 3), node_a)) ==
        R"({"lamport":5,"replica":")" + r + R"(","counter":3,"kind":"tombstone","node":")" + a_hex + R"("})");
  CHECK(json::encode_op(make_payload(key<K>(6, 0xa1, 4), node_a, std::nullopt)) ==
        R"({"lamport":6,"replica":")" + r + R"(","counter":4,"kind":"payload","node":")" + a_hex +
            R"(","payload":null})");
}

TEMPLATE_TEST_CASE("every op kind round-trips through encode_op and decode_op", "[json]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  using R = typename K::replica_type;
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();  // node ids use all 128 bits
  constexpr auto top = limits::max_clock;  // the greatest clock an op may carry (op.hpp validates)
  version_vector<R> vv;
  vv.add_range(key<K>(0, 0xa1, 0).replica, 1, 5);
  vv.add_range(key<K>(0, 0xb2, 0).replica, 9, top);
  vv.observe(key<K>(0, 0x00, 0).replica, 2);

  const std::vector<op<K>> ops{
      make_insert(key<K>(top, 0xa1, top), root_node, node_a, "\x80\x00\xff", bytes("hi\0there", 8)),
      make_insert(key<K>(0, 0xa1, 1), node_b, node_a, ""),
      make_insert(key<K>(1, 0xa1, 1), trash_node, node_id{max, max - 1}, "k", bytes()),  // empty, not none
      make_move(key<K>(7, 0xb2, 3), node_a, node_b, "\x40"),
      make_move(key<K>(7, 0xb2, 3), node_a, trash_node, ""),
      make_delete(key<K>(8, 0xa1, 9), node_a, vv),
      make_delete(key<K>(8, 0xa1, 9), node_a, version_vector<R>{}),
      make_tombstone(key<K>(9, 0xa1, 10), node_a),
      make_tombstone(key<K>(9, 0xa1, 10), node_a, vv),
      make_tombstone(key<K>(9, 0xa1, 10), node_a, version_vector<R>{}),  // present but empty
      make_payload(key<K>(10, 0xa1, 11), node_a, bytes("v")),
      make_payload(key<K>(10, 0xa1, 11), root_node, bytes()),
      make_payload(key<K>(10, 0xa1, 11), node_a, std::nullopt),
  };
  for (const auto& o : ops) {
    INFO(json::encode_op(o));
    CHECK(json::decode_op<K>(json::encode_op(o)) == o);
  }
  // One above the limit is written (encode_op does not judge) but refused when read, by name.
  CHECK_THROWS_WITH(json::decode_op<K>(json::encode_op(make_insert(key<K>(1, 0xa1, top + 1), root_node, node_a, "k"))),
                    Catch::Contains("counter") && Catch::Contains("above the limit"));
}

TEMPLATE_TEST_CASE("decode_op reads absent and null optional fields as none", "[json]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  const std::string head = R"({"lamport":6,"replica":"a1","counter":4,)";
  const auto payload_absent = json::decode_op<K>(head + R"("kind":"payload","node":")" + a_hex + R"("})");
  const auto payload_null = json::decode_op<K>(head + R"("kind":"payload","node":")" + a_hex + R"(","payload":null})");
  CHECK(payload_absent == make_payload(key<K>(6, 0xa1, 4), node_a, std::nullopt));
  CHECK(payload_null == payload_absent);

  const auto insert_null = json::decode_op<K>(head + R"("kind":"insert","parent":")" + root_hex + R"(","node":")" +
                                              a_hex + R"(","order_key":"80","payload":null})");
  CHECK(insert_null == make_insert(key<K>(6, 0xa1, 4), root_node, node_a, "\x80"));

  const auto tomb_null =
      json::decode_op<K>(head + R"("kind":"tombstone","node":")" + a_hex + R"(","known_state":null})");
  CHECK_FALSE(tomb_null.known_state.has_value());
  const auto tomb_empty =
      json::decode_op<K>(head + R"("kind":"tombstone","node":")" + a_hex + R"(","known_state":[]})");
  REQUIRE(tomb_empty.known_state.has_value());
  CHECK(tomb_empty.known_state->empty());

  // Whitespace between tokens and fields in any order are fine; encode_op is not the only writer.
  const auto spaced = json::decode_op<K>(R"( { "node" : ")" + a_hex +
                                         R"(", "kind":"payload", "counter":4, "replica":"a1", "lamport":6 } )");
  CHECK(spaced == payload_absent);
}

TEMPLATE_TEST_CASE("decode_op accepts the SPEC §9 example lines", "[json]", default_op_key, compact_op_key) {
  using K = TestType;
  const auto ins = json::decode_op<K>(R"({"lamport":3,"replica":"a1","counter":2,"kind":"insert","parent":")" +
                                      root_hex + R"(","node":")" + a_hex + R"(","order_key":"80","payload":"6869"})");
  CHECK(ins == make_insert(key<K>(3, 0xa1, 2), root_node, node_a, "\x80", bytes("hi")));
  const auto del = json::decode_op<K>(R"({"lamport":5,"replica":"a1","counter":3,"kind":"delete","node":")" + a_hex +
                                      R"(","known_state":[{"replica":"a1","frontier":3,"ranges":[]}]})");
  version_vector<typename K::replica_type> vv;
  vv.add_range(key<K>(0, 0xa1, 0).replica, 1, 3);
  CHECK(del == make_delete(key<K>(5, 0xa1, 3), node_a, vv));
}

namespace {

/// A valid insert line with one field's raw JSON replaced (or removed when `raw` is empty).
std::string insert_with(const std::string& field, const std::string& raw) {
  const std::vector<std::pair<std::string, std::string>> fields{{"lamport", "3"},
                                                                {"replica", "\"a1\""},
                                                                {"counter", "2"},
                                                                {"kind", "\"insert\""},
                                                                {"parent", "\"" + root_hex + "\""},
                                                                {"node", "\"" + a_hex + "\""},
                                                                {"order_key", "\"80\""}};
  std::string out = "{";
  for (const auto& [name, value] : fields) {
    const std::string& v = name == field ? raw : value;
    if (v.empty()) continue;
    if (out.size() > 1) out += ',';
    out += "\"" + name + "\":" + v;
  }
  return out + "}";
}

}  // namespace

TEMPLATE_TEST_CASE("decode_op rejects malformed lines and names the field", "[json]", default_op_key, compact_op_key) {
  using K = TestType;
  REQUIRE_NOTHROW(json::decode_op<K>(insert_with("", "")));  // the base line is valid

  struct bad_case {
    std::string line;
    std::string message;  // the whole parse_error message
  };
  const std::vector<bad_case> cases{
      // Not JSON, or not one object.
      {"not json",
       "line 1: invalid JSON at column 2: syntax error while parsing value - invalid literal; last read: 'no'"},
      {"",
       "line 1: invalid JSON at column 1: syntax error while parsing value - unexpected end of input; "
       "expected '[', '{', or a literal"},
      {insert_with("", "") + " {}", "line 1: invalid JSON at column " + std::to_string(insert_with("", "").size() + 2) +
                                        ": syntax error while parsing value - unexpected '{'; expected end of input"},
      {"[1,2]", "line 1: expected a JSON object, got array"},
      // A number beyond a double: nlohmann throws out_of_range, reported like any invalid JSON
      // (fuzz_json_export found it uncaught).
      {"2E29999", "line 1: invalid JSON: number overflow parsing '2E29999'"},
      {"2E2" + std::string(100, '9'),
       "line 1: invalid JSON: number overflow parsing '2E2" + std::string(49, '9') + "..."},
      {"null", "line 1: expected a JSON object, got null"},
      // Missing fields.
      {insert_with("lamport", ""), R"(line 1: field "lamport": missing)"},
      {insert_with("replica", ""), R"(line 1: field "replica": missing)"},
      {insert_with("counter", ""), R"(line 1: field "counter": missing)"},
      {insert_with("kind", ""), R"(line 1: field "kind": missing)"},
      {insert_with("parent", ""), R"(line 1: field "parent": missing)"},
      {insert_with("node", ""), R"(line 1: field "node": missing)"},
      {insert_with("order_key", ""), R"(line 1: field "order_key": missing)"},
      // Numbers: unsigned 64-bit integers only.
      {insert_with("lamport", "\"3\""), R"(line 1: field "lamport": expected an unsigned integer, got string)"},
      {insert_with("lamport", "-1"), R"(line 1: field "lamport": expected an unsigned integer, got a negative number)"},
      {insert_with("counter", "-0"), R"(line 1: field "counter": expected an unsigned integer, got a negative number)"},
      {insert_with("counter", "1.5"),
       R"(line 1: field "counter": expected an unsigned integer up to 18446744073709551615, got 1.5)"},
      {insert_with("counter", "2e0"),
       R"(line 1: field "counter": expected an unsigned integer up to 18446744073709551615, got 2.0)"},
      {insert_with("lamport", "18446744073709551616"),
       R"(line 1: field "lamport": expected an unsigned integer up to 18446744073709551615, got 1.8446744073709552e+19)"},
      {insert_with("lamport", "true"), R"(line 1: field "lamport": expected an unsigned integer, got boolean)"},
      {insert_with("lamport", "null"), R"(line 1: field "lamport": expected an unsigned integer, got null)"},
      // Hex and ids.
      {insert_with("replica", "\"a\""), R"(line 1: field "replica": odd number of hex digits (1))"},
      {insert_with("replica", "\"A1\""), R"(line 1: field "replica": expected lowercase hex, got 'A' at position 1)"},
      {insert_with("replica", "\"a\\u00e91\""),
       R"(line 1: field "replica": expected lowercase hex, got byte 0xc3 at position 2)"},
      {insert_with("replica", "5"), R"(line 1: field "replica": expected a string, got number)"},
      {insert_with("order_key", "\"8g\""),
       R"(line 1: field "order_key": expected lowercase hex, got 'g' at position 2)"},
      {insert_with("order_key", "\"808\""), R"(line 1: field "order_key": odd number of hex digits (3))"},
      {insert_with("node", "\"" + a_hex.substr(1) + "\""),
       R"(line 1: field "node": expected 32 hex digits, got 31 characters)"},
      {insert_with("node", "\"0" + a_hex + "\""), R"(line 1: field "node": expected 32 hex digits, got 33 characters)"},
      {insert_with("node", "\"0000000000000000000000000000000A\""),
       R"(line 1: field "node": expected lowercase hex, got 'A' at position 32)"},
      {insert_with("parent", "\"\""), R"(line 1: field "parent": expected 32 hex digits, got 0 characters)"},
      {insert_with("parent", "7"), R"(line 1: field "parent": expected a string, got number)"},
      // Kinds and fields that a kind does not have.
      {insert_with("kind", "\"frobnicate\""),
       R"(line 1: field "kind": unknown kind "frobnicate" (expected insert, move, delete, tombstone or payload))"},
      {insert_with("kind", "\"Insert\""),
       R"(line 1: field "kind": unknown kind "Insert" (expected insert, move, delete, tombstone or payload))"},
      {insert_with("kind", "1"), R"(line 1: field "kind": expected a string, got number)"},
      {insert_with("kind", "\"move\""), R"(line 1: field "parent": not a field of kind move)"},
      {insert_with("", "").insert(1, R"("new_parent":")" + b_hex + "\","),
       R"(line 1: field "new_parent": not a field of kind insert)"},
      {insert_with("", "").insert(1, R"("extra":1,)"), R"(line 1: field "extra": not a field of kind insert)"},
      {insert_with("", "").insert(1, R"("lamport":9,)"), R"(line 1: field "lamport": given twice)"},
      {insert_with("", "").insert(1, R"("payload":12,)"), R"(line 1: field "payload": expected a string, got number)"},
      // SPEC §3 validation, reported as a parse error of the line.
      {insert_with("counter", "0"), "line 1: invalid op insert (lamport 3, replica " + replica_hex<K>(0xa1) +
                                        ", counter 0) node " + a_hex + ": counter is 0"},
      {insert_with("node", "\"" + root_hex + "\""), "line 1: invalid op insert (lamport 3, replica " +
                                                        replica_hex<K>(0xa1) + ", counter 2) node " + root_hex +
                                                        ": node is ROOT"},
      {insert_with("node", "\"" + trash_hex + "\""), "line 1: invalid op insert (lamport 3, replica " +
                                                         replica_hex<K>(0xa1) + ", counter 2) node " + trash_hex +
                                                         ": insert names TRASH as its node"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    CHECK(decode_failure_message<K>(c.line) == c.message);
  }
}

TEMPLATE_TEST_CASE("decode_op checks the fields of move, delete, tombstone and payload", "[json]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  const std::string head = R"({"lamport":5,"replica":"a1","counter":3,)";
  const std::string node = R"("node":")" + a_hex + "\"";
  const auto entry = [](const std::string& body) { return R"(,"known_state":[)" + body + "]}"; };
  struct bad_case {
    std::string line;
    std::string message;
  };
  const std::vector<bad_case> cases{
      {head + R"("kind":"move",)" + node + R"(,"order_key":"40"})", R"(line 1: field "new_parent": missing)"},
      {head + R"("kind":"move",)" + node + R"(,"new_parent":")" + b_hex + R"("})",
       R"(line 1: field "order_key": missing)"},
      {head + R"("kind":"move","node":")" + root_hex + R"(","new_parent":")" + b_hex + R"(","order_key":"40"})",
       "line 1: invalid op move (lamport 5, replica " + replica_hex<K>(0xa1) + ", counter 3) node " + root_hex +
           ": node is ROOT"},
      {head + R"("kind":"delete",)" + node + "}", R"(line 1: field "known_state": missing)"},
      {head + R"("kind":"delete",)" + node + R"(,"known_state":null})",
       R"(line 1: field "known_state": required for a delete op, got null)"},
      {head + R"("kind":"delete",)" + node + R"(,"known_state":{}})",
       R"(line 1: field "known_state": expected an array of {replica, frontier, ranges}, got object)"},
      {head + R"("kind":"delete",)" + node + entry(R"({"replica":"a1","frontier":3})"),
       R"(line 1: field "known_state[0].ranges": missing)"},
      {head + R"("kind":"delete",)" + node + entry(R"({"replica":"a1","ranges":[]})"),
       R"(line 1: field "known_state[0].frontier": missing)"},
      {head + R"("kind":"delete",)" + node + entry(R"({"frontier":1,"ranges":[]})"),
       R"(line 1: field "known_state[0].replica": missing)"},
      {head + R"("kind":"delete",)" + node + entry(R"({"replica":"a1","frontier":-2,"ranges":[]})"),
       R"(line 1: field "known_state[0].frontier": expected an unsigned integer, got a negative number)"},
      {head + R"("kind":"delete",)" + node + entry(R"({"replica":"a1","frontier":1,"ranges":[[0,3]]})"),
       R"(line 1: field "known_state[0].ranges[0]": first counter must be at least 1)"},
      {head + R"("kind":"delete",)" + node + entry(R"({"replica":"a1","frontier":1,"ranges":[[4,6],[9,8]]})"),
       R"(line 1: field "known_state[0].ranges[1]": first counter is greater than last)"},
      {head + R"("kind":"delete",)" + node + entry(R"({"replica":"a1","frontier":1,"ranges":[[4]]})"),
       R"(line 1: field "known_state[0].ranges[0]": expected [first, last])"},
      {head + R"("kind":"delete",)" + node + entry(R"({"replica":"a1","frontier":1,"ranges":[[4,"5"]]})"),
       R"(line 1: field "known_state[0].ranges[0][1]": expected an unsigned integer, got string)"},
      {head + R"("kind":"delete",)" + node + entry(R"({"replica":"a1","frontier":1,"ranges":{}})"),
       R"(line 1: field "known_state[0].ranges": expected an array of [first, last], got object)"},
      {head + R"("kind":"delete",)" + node +
           entry(R"({"replica":"a1","frontier":1,"ranges":[]},{"replica":"a1","frontier":2,"ranges":[]})"),
       R"(line 1: field "known_state[1].replica": replica listed twice)"},
      {head + R"("kind":"delete",)" + node + entry(R"({"replica":"a1","frontier":1,"ranges":[],"x":0})"),
       R"(line 1: field "known_state[0].x": not a field of a version vector entry)"},
      {head + R"("kind":"delete",)" + node + entry(R"(["a1",1,[]])"),
       R"(line 1: field "known_state[0]": expected a JSON object, got array)"},
      {head + R"("kind":"delete",)" + node + R"(,"known_state":[],"payload":null})",
       R"(line 1: field "payload": not a field of kind delete)"},
      {head + R"("kind":"tombstone","node":")" + trash_hex + "\"}",
       "line 1: invalid op tombstone (lamport 5, replica " + replica_hex<K>(0xa1) + ", counter 3) node " + trash_hex +
           ": node is TRASH"},
      {head + R"("kind":"tombstone",)" + node + R"(,"order_key":"80"})",
       R"(line 1: field "order_key": not a field of kind tombstone)"},
      {head + R"("kind":"payload","node":")" + trash_hex + "\"}", "line 1: invalid op payload (lamport 5, replica " +
                                                                      replica_hex<K>(0xa1) + ", counter 3) node " +
                                                                      trash_hex + ": node is TRASH"},
      {head + R"("kind":"payload",)" + node + R"(,"payload":["68"]})",
       R"(line 1: field "payload": expected a string, got array)"},
      {head + R"("kind":"payload"})", R"(line 1: field "node": missing)"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    CHECK(decode_failure_message<K>(c.line) == c.message);
  }
}

TEST_CASE("replica ids: any byte string for the default key, 1 to 8 bytes for the compact key", "[json]") {
  const std::string tail = R"(,"counter":1,"kind":"payload","node":")" + a_hex + "\"}";
  const auto line = [&](const std::string& replica) { return R"({"lamport":1,"replica":")" + replica + "\"" + tail; };

  CHECK(json::decode_op<default_op_key>(line("")).key.replica.empty());
  CHECK(json::decode_op<default_op_key>(line("000102030405060708")).key.replica == bytes("\0\1\2\3\4\5\6\7\x8", 9));
  CHECK(json::decode_op<compact_op_key>(line("01")).key.replica == 1);
  CHECK(json::decode_op<compact_op_key>(line("ffffffffffffffff")).key.replica == ~std::uint64_t{0});
  CHECK(decode_failure_message<compact_op_key>(line("")) ==
        R"(line 1: field "replica": compact replica id must be 1 to 8 bytes)");
  CHECK(decode_failure_message<compact_op_key>(line("000102030405060708")) ==
        R"(line 1: field "replica": compact replica id must be 1 to 8 bytes)");
  // The same check applies inside known_state.
  CHECK(
      decode_failure_message<compact_op_key>(R"({"lamport":1,"replica":"01","counter":1,"kind":"tombstone","node":")" +
                                             a_hex + R"(","known_state":[{"replica":"","frontier":1,"ranges":[]}]})") ==
      R"(line 1: field "known_state[0].replica": compact replica id must be 1 to 8 bytes)");
}

TEMPLATE_TEST_CASE("version vectors encode in the known_state format and decode back", "[json]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  using R = typename K::replica_type;
  const R a = key<K>(0, 0xa1, 0).replica;
  const R b = key<K>(0, 0xb2, 0).replica;
  version_vector<R> vv;
  vv.add_range(b, 4, 4);
  vv.add_range(a, 1, 2);
  vv.add_range(b, 8, 9);
  const std::string text = json::encode_version_vector(vv);
  CHECK(text == R"([{"replica":")" + replica_hex<K>(0xa1) + R"(","frontier":2,"ranges":[]},{"replica":")" +
                    replica_hex<K>(0xb2) + R"(","frontier":0,"ranges":[[4,4],[8,9]]}])");
  CHECK(json::decode_version_vector<R>(text) == vv);
  CHECK(json::encode_version_vector(version_vector<R>{}) == "[]");

  // Ranges out of order, overlapping or touching the frontier describe the same set of dots.
  const auto loose = json::decode_version_vector<R>(
      R"([{"replica":"b2","frontier":0,"ranges":[[8,9],[4,4],[9,9]]},{"replica":"a1","frontier":1,"ranges":[[2,2]]}])");
  CHECK(loose == vv);

  try {
    (void)json::decode_version_vector<R>(R"([{"replica":"a1","frontier":1,"ranges":[[3,2]]}])");
    FAIL("no parse_error");
  } catch (const parse_error& e) {
    CHECK(std::string(e.what()) ==
          R"(line 1: field "version vector[0].ranges[0]": first counter is greater than last)");
  }
  CHECK_THROWS_AS(json::decode_version_vector<R>("{}"), parse_error);
  CHECK_THROWS_AS(json::decode_version_vector<R>("[1"), parse_error);
}
