#include <iostream>
#include <treecrdt/document.hpp>

int main() {
  using namespace treecrdt;
  document<> alice(memory_storage<default_op_key>{}, "alice");
  document<> bob(memory_storage<default_op_key>{}, "bob");

  const node_id todo = alice.insert(root_node, position::last(), bytes("todo")).node;
  const node_id done = alice.insert(root_node, position::last(), bytes("done")).node;
  bob.apply(alice.ops_since(bob.version()));  // sync alice -> bob

  alice.move(todo, done, position::first());  // concurrent moves that would
  bob.move(done, todo, position::first());    // form a cycle together
  bob.apply(alice.ops_since(bob.version()));
  alice.apply(bob.ops_since(alice.version()));

  std::cout << (alice.export_canonical() == bob.export_canonical() ? "converged\n" : "diverged\n");
  std::cout << "root has " << alice.children(root_node).size() << " child\n";  // no cycle
}
