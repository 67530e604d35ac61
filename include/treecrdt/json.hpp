#pragma once
// JSON Lines text formats (SPEC §9): ops one per line, version vectors in the `known_state` shape,
// and the canonical export as one compact object. Needs nlohmann_json (CMake target treecrdt::json).
//
// Reading is strict, because a log is the only source of truth and a silently misread field would
// fork replicas: every field must be present with the right JSON type, hex is lowercase with an even
// number of digits, node ids are exactly 32 digits, counters and lamports are JSON unsigned integers
// that fit 64 bits, and a field name that the op kind does not use (or a key given twice) is
// rejected rather than ignored — an unknown field is most likely a typo of a known one, and dropping
// it would change what the op means. Every failure is a treecrdt::parse_error whose message names
// the line and the field, e.g. `line 7: field "node": expected 32 hex digits, got 31 characters`.
//
// Writing is canonical: equal values give byte-identical text (no whitespace, fixed field order).
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <istream>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "canonical_export.hpp"
#include "detail/binary.hpp"
#include "detail/hex.hpp"
#include "errors.hpp"
#include "node_id.hpp"
#include "op.hpp"
#include "version_vector.hpp"

namespace treecrdt::detail::jsonl {

/// Parsed JSON; ordered so that decoding keeps the order the text gave (the export's children).
using value = nlohmann::ordered_json;

/// Why a value could not be read, without the line number; turned into a parse_error by the caller
/// that knows the line.
class problem : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail_field(std::string_view path, std::string_view why) {
  throw problem("field \"" + std::string(path) + "\": " + std::string(why));
}

/// Line and column (both 1-based) of a byte offset, for errors in multi-line text.
struct text_position {
  std::size_t line = 1;
  std::size_t column = 1;
};

[[nodiscard]] inline text_position position_of(std::string_view text, std::size_t byte_index) noexcept {
  text_position p;
  const std::size_t end = byte_index < text.size() ? byte_index : text.size();
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  return p;
}

/// Parses one JSON text. Duplicate keys are an error: nlohmann would keep the last one silently.
/// Throws parse_error naming the line (counted from `first_line`) for syntax errors and `problem`
/// for duplicate keys.
[[nodiscard]] inline value parse_text(std::string_view text, std::size_t first_line) {
  std::vector<std::set<std::string>> open_objects;  // keys seen so far in each enclosing object
  const auto check_keys = [&open_objects](int /*depth*/, value::parse_event_t event, value& parsed) {
    switch (event) {
      case value::parse_event_t::object_start: open_objects.emplace_back(); break;
      case value::parse_event_t::object_end: open_objects.pop_back(); break;
      case value::parse_event_t::key: {
        const auto& name = parsed.get_ref<const std::string&>();
        if (!open_objects.back().insert(name).second) fail_field(name, "given twice");
        break;
      }
      default: break;
    }
    return true;
  };
  try {
    return value::parse(text.begin(), text.end(), check_keys);
  } catch (const value::parse_error& e) {
    // nlohmann's message is "[json.exception.parse_error.N] parse error at line L, column C: why";
    // keep only "why" and give our own position (the line of the input, not of this text).
    std::string why = e.what();
    if (const auto colon = why.find(": "); colon != std::string::npos) why.erase(0, colon + 2);
    const text_position at = position_of(text, e.byte == 0 ? 0 : e.byte - 1);
    throw parse_error(first_line + at.line - 1, "invalid JSON at column " + std::to_string(at.column) + ": " + why);
  } catch (const value::exception& e) {
    // Anything else the parser throws, e.g. out_of_range 406 for a number beyond a double
    // ("number overflow parsing '2E2999...'"), which carries no position: the same error, bounded.
    std::string why = e.what();
    if (const auto bracket = why.find("] "); why.starts_with("[json.exception.") && bracket != std::string::npos)
      why.erase(0, bracket + 2);
    if (why.size() > 80) why = why.substr(0, 77) + "...";
    throw parse_error(first_line, "invalid JSON: " + why);
  }
}

/// A JSON-quoted copy of text the parser already accepted (so it is valid UTF-8).
[[nodiscard]] inline std::string json_string(std::string_view s) { return value(std::string(s)).dump(); }

/// Names one byte of a string for an error: 'G' when printable ASCII, else its value (byte 0xc3),
/// so that a message never holds a broken UTF-8 sequence.
[[nodiscard]] inline std::string describe_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  return "byte 0x" + to_hex(std::string_view(&c, 1));
}

// ---- readers of single values; `path` names the field in errors --------------------------------

[[nodiscard]] inline std::uint64_t read_u64(const value& v, std::string_view path) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer()) fail_field(path, "expected an unsigned integer, got a negative number");
  if (v.is_number_float()) fail_field(path, "expected an unsigned integer up to 18446744073709551615, got " + v.dump());
  fail_field(path, "expected an unsigned integer, got " + std::string(v.type_name()));
}

[[nodiscard]] inline const std::string& read_string(const value& v, std::string_view path) {
  if (!v.is_string()) fail_field(path, "expected a string, got " + std::string(v.type_name()));
  return v.get_ref<const std::string&>();
}

/// Lowercase hex with an even number of digits (SPEC §9) → raw bytes.
[[nodiscard]] inline bytes read_hex(const value& v, std::string_view path) {
  const std::string& text = read_string(v, path);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      fail_field(path, "expected lowercase hex, got " + describe_byte(c) + " at position " + std::to_string(i + 1));
  }
  if (text.size() % 2 != 0) fail_field(path, "odd number of hex digits (" + std::to_string(text.size()) + ")");
  auto raw = from_hex(text);
  if (!raw) fail_field(path, "expected lowercase hex");  // unreachable after the checks above
  return std::move(*raw);
}

[[nodiscard]] inline node_id read_node_id(const value& v, std::string_view path) {
  const std::string& text = read_string(v, path);
  if (text.size() != 32) fail_field(path, "expected 32 hex digits, got " + std::to_string(text.size()) + " characters");
  (void)read_hex(v, path);  // lowercase-only check with a precise message
  const auto n = node_id_from_hex(text);
  if (!n) fail_field(path, "expected 32 hex digits");  // unreachable after read_hex
  return *n;
}

template <class Replica>
[[nodiscard]] Replica read_replica(const value& v, std::string_view path) {
  const bytes raw = read_hex(v, path);
  try {
    return replica_codec<Replica>::from_bytes(raw);
  } catch (const decode_failure& e) {
    fail_field(path, e.what());
  }
}

[[nodiscard]] inline bool read_bool(const value& v, std::string_view path) {
  if (!v.is_boolean()) fail_field(path, "expected true or false, got " + std::string(v.type_name()));
  return v.get<bool>();
}

// ---- objects -------------------------------------------------------------------------------------

/// Looks up fields of one JSON object and rejects names it was not told about.
class object_view {
 public:
  object_view(const value& v, std::string prefix) : v_(v), prefix_(std::move(prefix)) {
    if (!v.is_object()) {
      const std::string why = "expected a JSON object, got " + std::string(v.type_name());
      if (prefix_.empty()) throw problem(why);
      fail_field(prefix_, why);
    }
  }

  /// The path of field `name` for error messages ("known_state[0].frontier").
  [[nodiscard]] std::string path(std::string_view name) const {
    return prefix_.empty() ? std::string(name) : prefix_ + "." + std::string(name);
  }

  [[nodiscard]] const value* find(std::string_view name) const {
    const auto it = v_.find(std::string(name));
    return it == v_.end() ? nullptr : &*it;
  }

  [[nodiscard]] const value& required(std::string_view name) const {
    const value* f = find(name);
    if (f == nullptr) fail_field(path(name), "missing");
    return *f;
  }

  /// Absent and null both mean "none".
  [[nodiscard]] const value* optional(std::string_view name) const {
    const value* f = find(name);
    return f == nullptr || f->is_null() ? nullptr : f;
  }

  /// Throws for the first field whose name is not in `allowed`; `what` says whose fields they are.
  void only(std::initializer_list<std::string_view> allowed, std::string_view what) const {
    for (const auto& item : v_.items()) {
      bool known = false;
      for (std::string_view a : allowed) known = known || item.key() == a;
      if (!known) fail_field(path(item.key()), "not a field of " + std::string(what));
    }
  }

 private:
  const value& v_;
  std::string prefix_;
};

/// `[{"replica":"a1","frontier":3,"ranges":[[5,7]]},…]` → version vector. Ranges may come in any
/// order and may overlap (the value is a set of dots); a replica listed twice is rejected.
template <class Replica>
[[nodiscard]] version_vector<Replica> read_version_vector(const value& v, const std::string& path) {
  if (!v.is_array())
    fail_field(path, "expected an array of {replica, frontier, ranges}, got " + std::string(v.type_name()));
  version_vector<Replica> vv;
  std::set<Replica> seen;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const object_view entry(v[i], path + "[" + std::to_string(i) + "]");
    entry.only({"replica", "frontier", "ranges"}, "a version vector entry");
    const auto replica = read_replica<Replica>(entry.required("replica"), entry.path("replica"));
    if (!seen.insert(replica).second) fail_field(entry.path("replica"), "replica listed twice");
    const std::uint64_t frontier = read_u64(entry.required("frontier"), entry.path("frontier"));
    vv.add_range(replica, 1, frontier);
    const value& ranges = entry.required("ranges");
    if (!ranges.is_array())
      fail_field(entry.path("ranges"), "expected an array of [first, last], got " + std::string(ranges.type_name()));
    for (std::size_t j = 0; j < ranges.size(); ++j) {
      const std::string range_path = entry.path("ranges") + "[" + std::to_string(j) + "]";
      const value& range = ranges[j];
      if (!range.is_array() || range.size() != 2) fail_field(range_path, "expected [first, last]");
      const std::uint64_t first = read_u64(range[0], range_path + "[0]");
      const std::uint64_t last = read_u64(range[1], range_path + "[1]");
      if (first == 0) fail_field(range_path, "first counter must be at least 1");
      if (first > last) fail_field(range_path, "first counter is greater than last");
      vv.add_range(replica, first, last);
    }
  }
  return vv;
}

[[nodiscard]] inline std::optional<op_kind> kind_from_string(std::string_view s) noexcept {
  for (op_kind k : {op_kind::insert, op_kind::move, op_kind::delete_, op_kind::tombstone, op_kind::payload})
    if (to_string(k) == s) return k;
  return std::nullopt;
}

/// Decodes one op line (the shape only; SPEC §3 validation is applied by the caller).
template <OpKey Key>
[[nodiscard]] op<Key> read_op(const value& v) {
  using replica = replica_of<Key>;
  const object_view o(v, "");
  Key key;
  key.lamport = read_u64(o.required("lamport"), "lamport");
  key.replica = read_replica<replica>(o.required("replica"), "replica");
  key.counter = read_u64(o.required("counter"), "counter");
  const std::string& kind_text = read_string(o.required("kind"), "kind");
  const auto kind = kind_from_string(kind_text);
  if (!kind)
    fail_field("kind",
               "unknown kind " + json_string(kind_text) + " (expected insert, move, delete, tombstone or payload)");
  const std::string whose = "kind " + kind_text;
  const auto optional_bytes = [&o](std::string_view name) -> std::optional<bytes> {
    if (const value* f = o.optional(name)) return read_hex(*f, name);
    return std::nullopt;
  };
  switch (*kind) {
    case op_kind::insert:
      o.only({"lamport", "replica", "counter", "kind", "parent", "node", "order_key", "payload"}, whose);
      return make_insert(std::move(key), read_node_id(o.required("parent"), "parent"),
                         read_node_id(o.required("node"), "node"), read_hex(o.required("order_key"), "order_key"),
                         optional_bytes("payload"));
    case op_kind::move:
      o.only({"lamport", "replica", "counter", "kind", "node", "new_parent", "order_key"}, whose);
      return make_move(std::move(key), read_node_id(o.required("node"), "node"),
                       read_node_id(o.required("new_parent"), "new_parent"),
                       read_hex(o.required("order_key"), "order_key"));
    case op_kind::delete_: {
      o.only({"lamport", "replica", "counter", "kind", "node", "known_state"}, whose);
      const node_id node = read_node_id(o.required("node"), "node");
      const value& ks = o.required("known_state");
      if (ks.is_null()) fail_field("known_state", "required for a delete op, got null");
      return make_delete(std::move(key), node, read_version_vector<replica>(ks, "known_state"));
    }
    case op_kind::tombstone: {
      o.only({"lamport", "replica", "counter", "kind", "node", "known_state"}, whose);
      const node_id node = read_node_id(o.required("node"), "node");
      std::optional<version_vector<replica>> ks;
      if (const value* f = o.optional("known_state")) ks = read_version_vector<replica>(*f, "known_state");
      return make_tombstone(std::move(key), node, std::move(ks));
    }
    case op_kind::payload:
      o.only({"lamport", "replica", "counter", "kind", "node", "payload"}, whose);
      return make_payload(std::move(key), read_node_id(o.required("node"), "node"), optional_bytes("payload"));
  }
  fail_field("kind", "unknown kind");  // unreachable: kind_from_string returns only the five kinds
}

/// Decodes and validates one line; every failure is a parse_error naming `line`.
template <OpKey Key>
[[nodiscard]] op<Key> decode_op_line(std::string_view text, std::size_t line) {
  op<Key> o;
  try {
    o = read_op<Key>(parse_text(text, line));
  } catch (const problem& e) {
    throw parse_error(line, e.what());
  }
  if (auto why = validation_error(o)) throw parse_error(line, "invalid op " + describe(o) + ": " + *why);
  return o;
}

// ---- writing: by hand, because every value is an integer, a bool, null or a hex string --------

inline void put_hex(std::string& out, std::string_view raw) {
  out += '"';
  out += to_hex(raw);
  out += '"';
}

inline void put_node(std::string& out, node_id n) {
  out += '"';
  out += treecrdt::to_hex(n);
  out += '"';
}

template <class Replica>
void put_version_vector(std::string& out, const version_vector<Replica>& vv) {
  out += '[';
  bool first_entry = true;
  for (const auto& [replica, e] : vv.entries()) {
    if (!first_entry) out += ',';
    first_entry = false;
    out += "{\"replica\":";
    put_hex(out, replica_codec<Replica>::to_bytes(replica));
    out += ",\"frontier\":";
    out += std::to_string(e.frontier);
    out += ",\"ranges\":[";
    for (std::size_t i = 0; i < e.ranges.size(); ++i) {
      if (i > 0) out += ',';
      out += '[';
      out += std::to_string(e.ranges[i].first);
      out += ',';
      out += std::to_string(e.ranges[i].last);
      out += ']';
    }
    out += "]}";
  }
  out += ']';
}

inline void put_optional_hex(std::string& out, const std::optional<bytes>& b) {
  if (b)
    put_hex(out, *b);
  else
    out += "null";
}

}  // namespace treecrdt::detail::jsonl

namespace treecrdt::json {

/// One op as one JSON object, no newline. Field order: lamport, replica, counter, kind, then the
/// kind's fields in SPEC §9 order. An insert without payload and a tombstone without known_state
/// omit the field; a payload op always writes "payload" (null when it clears).
/// Complexity: linear in the op's size. Throws: std::bad_alloc only.
template <OpKey Key>
[[nodiscard]] std::string encode_op(const op<Key>& o) {
  using namespace treecrdt::detail::jsonl;
  std::string out = "{\"lamport\":";
  out += std::to_string(o.key.lamport);
  out += ",\"replica\":";
  put_hex(out, replica_codec<replica_of<Key>>::to_bytes(o.key.replica));
  out += ",\"counter\":";
  out += std::to_string(o.key.counter);
  out += ",\"kind\":\"";
  out += to_string(o.kind);
  out += '"';
  switch (o.kind) {
    case op_kind::insert:
      out += ",\"parent\":";
      put_node(out, o.parent);
      out += ",\"node\":";
      put_node(out, o.node);
      out += ",\"order_key\":";
      put_hex(out, o.order_key);
      if (o.payload) {
        out += ",\"payload\":";
        put_hex(out, *o.payload);
      }
      break;
    case op_kind::move:
      out += ",\"node\":";
      put_node(out, o.node);
      out += ",\"new_parent\":";
      put_node(out, o.parent);
      out += ",\"order_key\":";
      put_hex(out, o.order_key);
      break;
    case op_kind::delete_:
    case op_kind::tombstone:
      out += ",\"node\":";
      put_node(out, o.node);
      if (o.known_state) {
        out += ",\"known_state\":";
        put_version_vector(out, *o.known_state);
      }
      break;
    case op_kind::payload:
      out += ",\"node\":";
      put_node(out, o.node);
      out += ",\"payload\":";
      put_optional_hex(out, o.payload);
      break;
  }
  out += '}';
  return out;
}

/// Decodes one op from one JSON object and applies SPEC §3 validation.
/// Throws: parse_error(1, why) naming the field; std::bad_alloc.
template <OpKey Key>
[[nodiscard]] op<Key> decode_op(std::string_view line) {
  return detail::jsonl::decode_op_line<Key>(line, 1);
}

/// One op of a JSON Lines stream and the 1-based line it was read from.
template <OpKey Key>
struct numbered_op {
  op<Key> value;
  std::size_t line = 0;
  friend bool operator==(const numbered_op&, const numbered_op&) = default;
};

/// Reads a whole JSON Lines stream. Blank (whitespace-only) lines are skipped but counted, a
/// trailing '\r' is ignored. Two lines with the same (replica, counter) and different content are
/// a conflict; an exact duplicate adds nothing (the log is a set), so only its first occurrence is
/// returned. Ops come back in the order of their first line, each with that line's number (so a
/// later failure, e.g. a conflict with ops stored elsewhere, can name the line).
/// All-or-nothing: returns every op, or throws for the first bad line and returns nothing.
/// Throws: parse_error(line, why) — bad JSON, bad field, invalid op, conflict, or a read failure.
/// Complexity: O(n log n) in the number of ops.
template <OpKey Key>
[[nodiscard]] std::vector<numbered_op<Key>> read_numbered_ops(std::istream& in) {
  std::vector<numbered_op<Key>> ops;
  std::map<dot<replica_of<Key>>, std::size_t> first_seen;  // op id -> index in ops
  std::string text;
  std::size_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    op<Key> o = detail::jsonl::decode_op_line<Key>(text, line);
    const auto [it, fresh] = first_seen.try_emplace(o.id(), ops.size());
    if (fresh) {
      ops.push_back({std::move(o), line});
    } else if (const auto& earlier = ops[it->second]; earlier.value != o) {
      throw parse_error(line, "op " + describe(o) + " conflicts with line " + std::to_string(earlier.line) +
                                  ": same (replica, counter), different content");
    }
  }
  if (in.bad()) throw parse_error(line + 1, "read error");
  return ops;
}

/// read_numbered_ops without the line numbers.
template <OpKey Key>
[[nodiscard]] std::vector<op<Key>> read_ops(std::istream& in) {
  auto numbered = read_numbered_ops<Key>(in);
  std::vector<op<Key>> ops;
  ops.reserve(numbered.size());
  for (auto& n : numbered) ops.push_back(std::move(n.value));
  return ops;
}

/// Writes each op as one line ending in '\n'. The caller checks the stream's state afterwards.
template <OpKey Key>
void write_ops(std::ostream& out, std::span<const op<Key>> ops) {
  for (const auto& o : ops) out << encode_op(o) << '\n';
}

/// The known_state format: `[{"replica":"a1","frontier":3,"ranges":[[5,7]]},…]`, entries in replica
/// order, ranges ascending. Byte-stable: equal version vectors give equal text.
template <class Replica>
[[nodiscard]] std::string encode_version_vector(const version_vector<Replica>& vv) {
  std::string out;
  detail::jsonl::put_version_vector(out, vv);
  return out;
}

/// Inverse of encode_version_vector; accepts ranges in any order. Throws: parse_error(1, why).
template <class Replica>
[[nodiscard]] version_vector<Replica> decode_version_vector(std::string_view text) {
  try {
    return detail::jsonl::read_version_vector<Replica>(detail::jsonl::parse_text(text, 1), "version vector");
  } catch (const detail::jsonl::problem& e) {
    throw parse_error(1, e.what());
  }
}

/// SPEC §9 export object, compact and byte-stable:
/// `{"nodes":[{"node":…,"parent":…|null,"order_key":…|null,"tombstoned":…,"payload":…|null},…],
///   "children":{"<parent>":[…],…}}` with nodes and children in the order the struct holds them.
[[nodiscard]] inline std::string encode_export(const canonical_export& e) {
  using namespace treecrdt::detail::jsonl;
  std::string out = "{\"nodes\":[";
  for (std::size_t i = 0; i < e.nodes.size(); ++i) {
    const export_row& row = e.nodes[i];
    if (i > 0) out += ',';
    out += "{\"node\":";
    put_node(out, row.node);
    out += ",\"parent\":";
    if (row.parent)
      put_node(out, *row.parent);
    else
      out += "null";
    out += ",\"order_key\":";
    put_optional_hex(out, row.order_key);
    out += ",\"tombstoned\":";
    out += row.tombstoned ? "true" : "false";
    out += ",\"payload\":";
    put_optional_hex(out, row.payload);
    out += '}';
  }
  out += "],\"children\":{";
  for (std::size_t i = 0; i < e.children.size(); ++i) {
    if (i > 0) out += ',';
    put_node(out, e.children[i].first);
    out += ":[";
    const auto& kids = e.children[i].second;
    for (std::size_t j = 0; j < kids.size(); ++j) {
      if (j > 0) out += ',';
      put_node(out, kids[j]);
    }
    out += ']';
  }
  out += "}}";
  return out;
}

/// Inverse of encode_export (whitespace is accepted; every field is required, null where the row
/// has none). Keeps the order of the text; it does not re-sort.
/// Throws: parse_error — for bad JSON on the line holding the error, otherwise line 1, naming
/// the field (e.g. `field "nodes[2].parent"`).
[[nodiscard]] inline canonical_export decode_export(std::string_view text) {
  using namespace treecrdt::detail::jsonl;
  try {
    const value doc = parse_text(text, 1);
    const object_view top(doc, "");
    top.only({"nodes", "children"}, "the export");
    canonical_export out;
    const value& nodes = top.required("nodes");
    if (!nodes.is_array()) fail_field("nodes", "expected an array, got " + std::string(nodes.type_name()));
    out.nodes.reserve(nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const object_view row(nodes[i], "nodes[" + std::to_string(i) + "]");
      row.only({"node", "parent", "order_key", "tombstoned", "payload"}, "an export row");
      export_row r;
      r.node = read_node_id(row.required("node"), row.path("node"));
      if (const value& p = row.required("parent"); !p.is_null()) r.parent = read_node_id(p, row.path("parent"));
      if (const value& k = row.required("order_key"); !k.is_null()) r.order_key = read_hex(k, row.path("order_key"));
      r.tombstoned = read_bool(row.required("tombstoned"), row.path("tombstoned"));
      if (const value& p = row.required("payload"); !p.is_null()) r.payload = read_hex(p, row.path("payload"));
      out.nodes.push_back(std::move(r));
    }
    const value& children = top.required("children");
    if (!children.is_object()) fail_field("children", "expected an object, got " + std::string(children.type_name()));
    for (const auto& item : children.items()) {
      const std::string path = "children." + item.key();
      const node_id parent = read_node_id(value(item.key()), path);
      const value& list = item.value();
      if (!list.is_array()) fail_field(path, "expected an array of node ids, got " + std::string(list.type_name()));
      std::vector<node_id> kids;
      kids.reserve(list.size());
      for (std::size_t j = 0; j < list.size(); ++j)
        kids.push_back(read_node_id(list[j], path + "[" + std::to_string(j) + "]"));
      out.children.emplace_back(parent, std::move(kids));
    }
    return out;
  } catch (const problem& e) {
    throw parse_error(1, e.what());
  }
}

}  // namespace treecrdt::json
