#pragma once
// Readable counterexamples: ops as JSON Lines in the SPEC §9 shape, and canonical exports one node per
// line. Uses the library's JSON codec when the build has it (TREECRDT_PROPERTIES_WITH_JSON), and a
// small local printer of the same shape otherwise, so the property tests never need nlohmann_json.
#include <cstddef>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "treecrdt/canonical_export.hpp"
#include "treecrdt/detail/hex.hpp"
#include "treecrdt/op.hpp"
#if TREECRDT_PROPERTIES_WITH_JSON
#include "treecrdt/json.hpp"
#endif

namespace treecrdt_test {

inline void write_hex_or_null(std::ostream& os, const std::optional<treecrdt::bytes>& b) {
  if (b) {
    os << '"' << treecrdt::detail::to_hex(*b) << '"';
  } else {
    os << "null";
  }
}

template <class Replica>
void write_version_vector_json(std::ostream& os, const treecrdt::version_vector<Replica>& vv) {
  os << '[';
  bool first = true;
  for (const auto& [replica, e] : vv.entries()) {
    if (!first) os << ',';
    first = false;
    os << R"({"replica":")" << treecrdt::detail::to_hex(treecrdt::replica_codec<Replica>::to_bytes(replica))
       << R"(","frontier":)" << e.frontier << R"(,"ranges":[)";
    for (std::size_t i = 0; i < e.ranges.size(); ++i)
      os << (i ? "," : "") << '[' << e.ranges[i].first << ',' << e.ranges[i].last << ']';
    os << "]}";
  }
  os << ']';
}

/// One op as one JSON line (SPEC §9 field names).
template <treecrdt::OpKey Key>
void write_op_json(std::ostream& os, const treecrdt::op<Key>& o) {
#if TREECRDT_PROPERTIES_WITH_JSON
  os << treecrdt::json::encode_op(o);
#else
  using treecrdt::op_kind;
  os << R"({"lamport":)" << o.key.lamport << R"(,"replica":")"
     << treecrdt::detail::to_hex(treecrdt::replica_codec<treecrdt::replica_of<Key>>::to_bytes(o.key.replica))
     << R"(","counter":)" << o.key.counter << R"(,"kind":")" << treecrdt::to_string(o.kind) << '"';
  switch (o.kind) {
    case op_kind::insert:
      os << R"(,"parent":")" << treecrdt::to_hex(o.parent) << R"(","node":")" << treecrdt::to_hex(o.node)
         << R"(","order_key":")" << treecrdt::detail::to_hex(o.order_key) << R"(","payload":)";
      write_hex_or_null(os, o.payload);
      break;
    case op_kind::move:
      os << R"(,"node":")" << treecrdt::to_hex(o.node) << R"(","new_parent":")" << treecrdt::to_hex(o.parent)
         << R"(","order_key":")" << treecrdt::detail::to_hex(o.order_key) << '"';
      break;
    case op_kind::delete_:
    case op_kind::tombstone:
      os << R"(,"node":")" << treecrdt::to_hex(o.node) << '"';
      if (o.known_state) {
        os << R"(,"known_state":)";
        write_version_vector_json(os, *o.known_state);
      }
      break;
    case op_kind::payload:
      os << R"(,"node":")" << treecrdt::to_hex(o.node) << R"(","payload":)";
      write_hex_or_null(os, o.payload);
      break;
  }
  os << '}';
#endif
}

template <treecrdt::OpKey Key>
void write_ops_json_lines(std::ostream& os, const std::vector<treecrdt::op<Key>>& ops) {
  for (const auto& o : ops) {
    write_op_json(os, o);
    os << '\n';
  }
}

template <treecrdt::OpKey Key>
[[nodiscard]] std::string ops_as_json_lines(const std::vector<treecrdt::op<Key>>& ops) {
  std::ostringstream os;
  write_ops_json_lines(os, ops);
  return os.str();
}

/// A canonical export, one node per line, for failure messages.
[[nodiscard]] inline std::string describe_export(const treecrdt::canonical_export& ex) {
  std::ostringstream os;
  os << "nodes:\n";
  for (const auto& row : ex.nodes) {
    os << "  " << treecrdt::to_hex(row.node) << " parent=" << (row.parent ? treecrdt::to_hex(*row.parent) : "none")
       << " key=";
    write_hex_or_null(os, row.order_key);
    os << (row.tombstoned ? " tombstoned" : "") << " payload=";
    write_hex_or_null(os, row.payload);
    os << '\n';
  }
  os << "children:\n";
  for (const auto& [parent, kids] : ex.children) {
    os << "  " << treecrdt::to_hex(parent) << ":";
    for (const auto& k : kids) os << ' ' << treecrdt::to_hex(k);
    os << '\n';
  }
  return os.str();
}

}  // namespace treecrdt_test
