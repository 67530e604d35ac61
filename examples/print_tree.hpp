#pragma once
// Shared by the examples: print a document's visible tree as an indented outline.
#include <iostream>
#include <string>

#include "treecrdt/document.hpp"

namespace treecrdt_examples {

template <class Doc>
void print_tree(const Doc& doc, std::ostream& out = std::cout, treecrdt::node_id parent = treecrdt::root_node,
                int depth = 0) {
  for (const treecrdt::node_id child : doc.children(parent)) {
    const auto text = doc.payload(child);
    out << std::string(static_cast<std::size_t>(2 * depth + 2), ' ') << "- "
        << (text ? *text : "(" + treecrdt::to_hex(child) + ")") << '\n';
    print_tree(doc, out, child, depth + 1);
  }
}

}  // namespace treecrdt_examples
