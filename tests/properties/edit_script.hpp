#pragma once
// Scripted local edits for property tests: inserts, moves (to TRASH and into a node's own subtree
// too), deletes, payload changes and syncs over a set of documents of any store and storage.
#include <optional>
#include <ostream>
#include <tuple>
#include <vector>

#include <rapidcheck.h>

#include "test_helpers.hpp"
#include "treecrdt/document.hpp"

namespace treecrdt_test {

using namespace treecrdt;

/// One scripted local edit or sync; fields are selectors.
struct edit_step {
  unsigned doc = 0;
  unsigned what = 0;  // [0, 100)
  unsigned a = 0;
  unsigned b = 0;
  unsigned c = 0;
};

void showValue(const edit_step& s, std::ostream& os) {
  os << "{doc " << s.doc << " what " << s.what << " a " << s.a << " b " << s.b << " c " << s.c << "}";
}

rc::Gen<edit_step> gen_edit_step() {
  const auto sel = [](unsigned bound) { return rc::gen::resize(rc::kNominalSize, rc::gen::inRange(0u, bound)); };
  return rc::gen::map(
      rc::gen::tuple(sel(3), sel(100), sel(64), sel(64), sel(64)),
      [](const std::tuple<unsigned, unsigned, unsigned, unsigned, unsigned>& t) {
        return edit_step{std::get<0>(t), std::get<1>(t), std::get<2>(t), std::get<3>(t), std::get<4>(t)};
      });
}

/// Where among `kids` to go: first, last, after or before one of them.
position pick_position(const std::vector<node_id>& kids, unsigned how, unsigned which) {
  if (kids.empty() || how % 4 < 2) return how % 2 == 0 ? position::first() : position::last();
  const node_id sibling = kids[which % kids.size()];
  return how % 4 == 2 ? position::after(sibling) : position::before(sibling);
}

/// Runs a script of local edits and syncs over `docs`, returning every op the edits made.
template <class Key, class Doc>
std::vector<op<Key>> run_edits(std::vector<Doc>& docs, const std::vector<edit_step>& steps) {
  std::vector<op<Key>> made;
  for (const edit_step& s : steps) {
    Doc& doc = docs[s.doc % docs.size()];
    std::vector<node_id> known;  // every node this replica knows, placeholders and tombstoned included
    for (const auto& row : doc.export_canonical().nodes) known.push_back(row.node);
    const auto pick_known = [&](unsigned sel) { return known[sel % known.size()]; };
    const auto pick_parent = [&](unsigned sel) { return sel % 4 == 0 || known.empty() ? root_node : pick_known(sel); };
    if (s.what < 30 || known.empty()) {  // insert a fresh node
      const node_id parent = pick_parent(s.a);
      std::optional<bytes> payload;
      if (s.c % 3 == 0) payload = bytes(1, static_cast<char>('a' + s.c % 7));
      made.push_back(doc.insert(parent, pick_position(doc.children(parent), s.b, s.c), payload));
    } else if (s.what < 55) {  // move, to TRASH too, into its own subtree sometimes (refused by the fold)
      const node_id node = pick_known(s.a);
      const node_id parent = s.b % 8 == 7 ? trash_node : pick_parent(s.b);
      std::vector<node_id> kids = doc.children(parent);
      std::erase(kids, node);
      made.push_back(doc.move(node, parent, pick_position(kids, s.c, s.c / 4)));
    } else if (s.what < 65) {
      made.push_back(doc.remove(pick_known(s.a)));
    } else if (s.what < 72) {
      made.push_back(doc.clear_payload(pick_known(s.a)));
    } else if (s.what < 85) {
      made.push_back(doc.set_payload(pick_known(s.a), bytes(1 + s.c % 2, static_cast<char>('p' + s.c % 5))));
    } else {  // sync: this document pulls what another one has and it lacks
      Doc& from = docs[s.b % docs.size()];
      doc.apply(from.ops_since(doc.version()));
    }
    rc_assert_invariants(doc.export_canonical(), "after a local step");
  }
  return made;
}

}  // namespace treecrdt_test
