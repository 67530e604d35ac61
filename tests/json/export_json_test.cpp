// SPEC §9: the canonical export as one compact, byte-stable JSON object, and its inverse.
#include <string>

#include "json/json_test_support.hpp"

using namespace treecrdt;
using namespace json_test;

namespace {

canonical_export small_export() {
  canonical_export e;
  e.nodes.push_back({node_a, root_node, bytes("\x80"), false, bytes("hi")});
  e.nodes.push_back({node_b, node_a, bytes("\x40\x01"), true, std::nullopt});
  e.nodes.push_back({node_id{0, 0x0c}, std::nullopt, std::nullopt, false, bytes()});  // placeholder
  e.nodes.push_back({node_id{1, 0}, trash_node, bytes(), false, std::nullopt});
  e.children.emplace_back(root_node, std::vector<node_id>{node_a});
  e.children.emplace_back(node_a, std::vector<node_id>{});
  return e;
}

std::string export_failure(const std::string& text) {
  try {
    (void)json::decode_export(text);
  } catch (const parse_error& e) {
    return e.what();
  }
  FAIL_CHECK("no parse_error for: " << text);
  return {};
}

}  // namespace

TEST_CASE("encode_export writes the exact SPEC §9 object", "[json]") {
  const std::string expected =
      R"({"nodes":[)"
      R"({"node":"0000000000000000000000000000000a","parent":"00000000000000000000000000000000","order_key":"80","tombstoned":false,"payload":"6869"},)"
      R"({"node":"0000000000000000000000000000000b","parent":"0000000000000000000000000000000a","order_key":"4001","tombstoned":true,"payload":null},)"
      R"({"node":"0000000000000000000000000000000c","parent":null,"order_key":null,"tombstoned":false,"payload":""},)"
      R"({"node":"00000000000000010000000000000000","parent":"ffffffffffffffffffffffffffffffff","order_key":"","tombstoned":false,"payload":null}],)"
      R"("children":{"00000000000000000000000000000000":["0000000000000000000000000000000a"],)"
      R"("0000000000000000000000000000000a":[]}})";
  CHECK(json::encode_export(small_export()) == expected);
  CHECK(json::encode_export(canonical_export{}) == R"({"nodes":[],"children":{}})");
}

TEST_CASE("decode_export inverts encode_export and keeps the given order", "[json]") {
  const auto e = small_export();
  CHECK(json::decode_export(json::encode_export(e)) == e);

  canonical_export reversed = e;
  std::reverse(reversed.nodes.begin(), reversed.nodes.end());
  std::reverse(reversed.children.begin(), reversed.children.end());
  const std::string text = json::encode_export(reversed);
  CHECK(json::decode_export(text) == reversed);
  CHECK(json::encode_export(json::decode_export(text)) == text);

  // Whitespace is accepted on the way in.
  CHECK(json::decode_export(" {\n \"nodes\" : [ ] ,\n \"children\" : { } }\n") == canonical_export{});
}

TEST_CASE("decode_export rejects malformed exports and names the field", "[json]") {
  const std::string row_tail = R"(,"order_key":null,"tombstoned":false,"payload":null})";
  const std::string row = R"({"node":")" + a_hex + R"(","parent":null)" + row_tail;
  CHECK(export_failure("[]") == "line 1: expected a JSON object, got array");
  CHECK(export_failure(R"({"nodes":[]})") == R"(line 1: field "children": missing)");
  CHECK(export_failure(R"({"children":{}})") == R"(line 1: field "nodes": missing)");
  CHECK(export_failure(R"({"nodes":{},"children":{}})") == R"(line 1: field "nodes": expected an array, got object)");
  CHECK(export_failure(R"({"nodes":[],"children":[]})") ==
        R"(line 1: field "children": expected an object, got array)");
  CHECK(export_failure(R"({"nodes":[],"children":{},"version":1})") ==
        R"(line 1: field "version": not a field of the export)");
  CHECK(export_failure(R"({"nodes":[)" + row + "," + R"({"node":")" + a_hex +
                       R"(","parent":null,"tombstoned":false,"payload":null}],"children":{}})") ==
        R"(line 1: field "nodes[1].order_key": missing)");
  CHECK(export_failure(R"({"nodes":[{"node":")" + a_hex + R"(","parent":"00"}, 1],"children":{}})") ==
        R"(line 1: field "nodes[0].parent": expected 32 hex digits, got 2 characters)");
  CHECK(export_failure(R"({"nodes":[{"node":")" + a_hex +
                       R"(","parent":null,"order_key":null,"tombstoned":0,"payload":null}],"children":{}})") ==
        R"(line 1: field "nodes[0].tombstoned": expected true or false, got number)");
  CHECK(export_failure(R"({"nodes":[{"node":")" + a_hex +
                       R"(","parent":null,"order_key":"x","tombstoned":false,"payload":null}],"children":{}})") ==
        R"(line 1: field "nodes[0].order_key": expected lowercase hex, got 'x' at position 1)");
  CHECK(export_failure(R"({"nodes":[)" + row.substr(0, row.size() - 1) + R"(,"depth":2}],"children":{}})") ==
        R"(line 1: field "nodes[0].depth": not a field of an export row)");
  CHECK(export_failure(R"({"nodes":[7],"children":{}})") ==
        R"(line 1: field "nodes[0]": expected a JSON object, got number)");
  CHECK(export_failure(R"({"nodes":[],"children":{"root":[]}})") ==
        R"(line 1: field "children.root": expected 32 hex digits, got 4 characters)");
  CHECK(export_failure(R"({"nodes":[],"children":{")" + root_hex + R"(":[")" + a_hex + R"(",null]}})") ==
        R"(line 1: field "children.)" + root_hex + R"([1]": expected a string, got null)");
  CHECK(export_failure(R"({"nodes":[],"children":{")" + root_hex + R"(":{}}})") ==
        R"(line 1: field "children.)" + root_hex + R"(": expected an array of node ids, got object)");
  CHECK(export_failure(R"({"nodes":[],"children":{")" + root_hex + R"(":[],")" + root_hex + R"(":[]}})") ==
        R"(line 1: field ")" + root_hex + R"(": given twice)");
  // A syntax error reports the line of a multi-line text where it happened.
  CHECK(export_failure("{\n\"nodes\":[],\n\"children\":{,}}") ==
        "line 3: invalid JSON at column 13: syntax error while parsing object key - unexpected ','; expected string "
        "literal");
}
