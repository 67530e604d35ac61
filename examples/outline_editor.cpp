// An outline edited by two replicas while they are offline: concurrent moves that would form a
// cycle, a delete of a subtree the other replica was editing, concurrent renames. After they
// exchange their ops both hold the same tree, and every conflict has resolved the same way.
#include <iostream>
#include <stdexcept>
#include <string>

#include "print_tree.hpp"
#include "treecrdt/document.hpp"

using namespace treecrdt;
using outline = document<>;  // default key, in memory

namespace {
// The child of `parent` whose text is `text` (the replicas know nodes by what they read).
node_id find(const outline& doc, node_id parent, const std::string& text) {
  for (const node_id child : doc.children(parent))
    if (doc.payload(child) == text) return child;
  throw std::runtime_error("no node \"" + text + "\"");
}

// Sends `to` every op of `from` that `to` has not seen.
void send(outline& from, outline& to) { to.apply(from.ops_since(to.version())); }

void show(const std::string& title, const outline& doc) {
  std::cout << title << '\n';
  treecrdt_examples::print_tree(doc);
}
}  // namespace

int main() try {
  outline alice(memory_storage<default_op_key>{}, "alice");
  outline bob(memory_storage<default_op_key>{}, "bob");

  // Alice writes the first version and shares it.
  const node_id trip = alice.insert(root_node, position::last(), bytes("Trip")).node;
  const node_id packing = alice.insert(trip, position::last(), bytes("Packing")).node;
  const node_id route = alice.insert(trip, position::last(), bytes("Route")).node;
  const node_id tent = alice.insert(packing, position::last(), bytes("tent")).node;
  alice.insert(route, position::last(), bytes("day 1: lake"));
  const node_id ideas = alice.insert(root_node, position::last(), bytes("Ideas")).node;
  alice.insert(ideas, position::last(), bytes("canoe?"));
  send(alice, bob);
  show("Shared outline:", bob);

  // Offline, at the same time:
  // 1. a move cycle — Alice puts Route under Packing, Bob puts Packing under Route.
  alice.move(route, packing, position::last());
  bob.move(packing, route, position::last());
  // 2. Alice deletes Ideas with everything she saw in it; Bob adds to it and edits inside it.
  alice.remove(ideas);
  const node_id canoe = find(bob, ideas, "canoe?");
  bob.set_payload(canoe, "canoe: rent one");
  bob.insert(canoe, position::last(), bytes("ask about paddles"));
  // 3. both rename the trip; the op with the greater key (lamport, then replica) wins.
  alice.set_payload(trip, "Trip to the lakes");
  bob.set_payload(trip, "Summer trip");
  // 4. Bob deletes a node Alice did not touch.
  bob.remove(tent);

  show("\nAlice, offline:", alice);
  show("\nBob, offline:", bob);

  send(alice, bob);
  send(bob, alice);
  show("\nAlice after sync:", alice);
  show("\nBob after sync:", bob);

  const bool converged = alice.export_canonical() == bob.export_canonical();
  std::cout << "\nconverged: " << (converged ? "yes" : "NO") << '\n';
  std::cout << "cycle resolved: Packing is under " << *alice.payload(*alice.parent(packing)) << ", Route under "
            << *alice.payload(*alice.parent(route)) << '\n';
  std::cout << "Ideas kept: " << (alice.exists(ideas) && !alice.is_tombstoned(ideas) ? "yes" : "no")
            << " (Alice's delete had not seen Bob's edits inside it)\n";
  std::cout << "tent deleted: " << (alice.is_tombstoned(tent) ? "yes" : "no") << '\n';
  std::cout << "title: " << *alice.payload(trip) << '\n';
  return converged ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "outline_editor failed: " << e.what() << '\n';
  return 2;
}
