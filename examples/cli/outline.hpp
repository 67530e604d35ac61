#pragma once
// `treecrdt show`: the visible tree as an indented outline, one node per line, with payloads
// shown as text when they are printable UTF-8 and as hex otherwise.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "treecrdt/canonical_export.hpp"
#include "treecrdt/detail/hex.hpp"
#include "treecrdt/node_id.hpp"

namespace treecrdt_cli {

/// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points above
/// U+10FFFF) without control characters (C0, DEL, C1), i.e. safe to print on one line.
[[nodiscard]] inline bool is_printable_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      if (b0 < 0x20 || b0 == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      len = 2;
      cp = b0 & 0x1fu;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      len = 3;
      cp = b0 & 0x0fu;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      len = 4;
      cp = b0 & 0x07u;
    } else {
      return false;  // continuation byte first, overlong lead (c0, c1) or beyond U+10FFFF (f5..ff)
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xc0u) != 0x80u) return false;
      cp = (cp << 6) | (b & 0x3fu);
    }
    const std::uint32_t min_for_len = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min_for_len || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    if (cp >= 0x80 && cp <= 0x9f) return false;  // C1 controls
    i += len;
  }
  return true;
}

/// `"text"` (with `"` and `\` escaped) when printable, else `hex:` followed by the bytes in hex.
[[nodiscard]] inline std::string render_payload(std::string_view payload) {
  if (!is_printable_utf8(payload)) return "hex:" + treecrdt::detail::to_hex(payload);
  std::string out = "\"";
  for (char c : payload) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

/// Writes the outline of `e`: ROOT and its visible subtree, then every detached subtree (the
/// visible children of a node that was never inserted, e.g. a parent whose insert is missing).
/// `root_payload` is ROOT's payload (the export has no row for ROOT). Returns the number of
/// nodes written, ROOT excluded. Iterative, so deep trees do not exhaust the stack.
inline std::size_t write_outline(std::ostream& out, const treecrdt::canonical_export& e,
                                 const std::optional<treecrdt::bytes>& root_payload) {
  std::map<treecrdt::node_id, const std::vector<treecrdt::node_id>*> children;
  for (const auto& [parent, kids] : e.children) children.emplace(parent, &kids);
  std::map<treecrdt::node_id, const treecrdt::export_row*> rows;
  for (const auto& row : e.nodes) rows.emplace(row.node, &row);

  std::size_t written = 0;
  const auto write_subtree = [&](treecrdt::node_id top, std::size_t top_depth) {
    std::vector<std::pair<treecrdt::node_id, std::size_t>> todo{{top, top_depth}};  // (node, depth), a stack
    while (!todo.empty()) {
      const auto [n, depth] = todo.back();
      todo.pop_back();
      if (n != top) {
        out << std::string(2 * depth, ' ') << treecrdt::to_hex(n);
        if (const auto r = rows.find(n); r != rows.end() && r->second->payload)
          out << ' ' << render_payload(*r->second->payload);
        out << '\n';
        ++written;
      }
      if (const auto c = children.find(n); c != children.end())
        for (auto it = c->second->rbegin(); it != c->second->rend(); ++it) todo.emplace_back(*it, depth + 1);
    }
  };

  out << "ROOT";
  if (root_payload) out << ' ' << render_payload(*root_payload);
  out << '\n';
  write_subtree(treecrdt::root_node, 0);
  for (const auto& row : e.nodes) {
    if (row.parent || row.tombstoned || children.find(row.node) == children.end()) continue;
    out << "detached " << treecrdt::to_hex(row.node) << " (never inserted)";
    if (row.payload) out << ' ' << render_payload(*row.payload);
    out << '\n';
    ++written;
    write_subtree(row.node, 0);
  }
  return written;
}

}  // namespace treecrdt_cli
