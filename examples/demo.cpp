// The main demo: two replicas, each with its own SQLite file, edit one outline concurrently while
// offline, exchange their ops out of order, and converge. Then one replica restarts without
// replaying its whole log, and a late op arrives and is caught up from a checkpoint. Last, the
// tree moves into tables of the SQLite file (sqlite_store): a reopen folds nothing, and plain SQL
// lists a folder.
//
//   treecrdt_demo [DIR]     DIR holds alice.db and bob.db (default: a new temporary directory)
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "print_tree.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/storage/sqlite.hpp"
#include "treecrdt/store/sqlite_store.hpp"

using namespace treecrdt;
using doc = document<default_op_key, sqlite_storage<default_op_key>>;
// The same document with the tree in tables of its SQLite file instead of in memory.
using table_doc = document<default_op_key, sqlite_storage<default_op_key>, sqlite_store<default_op_key>>;

namespace {
node_id find_child(const doc& d, node_id parent, const std::string& text) {
  for (node_id c : d.children(parent))
    if (d.payload(c) == text) return c;
  throw std::runtime_error("no child named " + text);
}

// Sends `from`'s ops that `to` lacks, shuffled and split into two batches: out of order on purpose.
void sync(doc& from, doc& to, std::mt19937& rng) {
  auto ops = from.ops_since(to.version());
  std::shuffle(ops.begin(), ops.end(), rng);
  const auto half = ops.size() / 2;
  to.apply(std::span<const doc::op_type>(ops.data() + half, ops.size() - half));
  to.apply(std::span<const doc::op_type>(ops.data(), half));
}

void show(const char* title, const doc& d) {
  std::cout << title << '\n';
  treecrdt_examples::print_tree(d);
}

// The payloads of `folder`'s visible children, in order, read by plain SQL on a read-only
// connection of its own through the view treecrdt_tree_view(id, parent, order_key, payload).
// Node ids are stored as 16-byte big-endian BLOBs.
std::vector<std::string> list_with_sql(const std::string& file, node_id folder) {
  sqlite3* raw = nullptr;
  const int opened = sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  const std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, sqlite3_close);
  sqlite3_stmt* raw_stmt = nullptr;
  if (opened != SQLITE_OK || sqlite3_prepare_v2(db.get(),
                                                "SELECT payload FROM treecrdt_tree_view WHERE parent = ?1"
                                                " ORDER BY order_key, id",
                                                -1, &raw_stmt, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("SQL reader: ") + sqlite3_errmsg(db.get()));
  const std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw_stmt, sqlite3_finalize);
  std::string id(16, '\0');
  for (std::size_t i = 0; i < 8; ++i) {
    id[i] = static_cast<char>(folder.hi >> (56 - 8 * i));
    id[8 + i] = static_cast<char>(folder.lo >> (56 - 8 * i));
  }
  sqlite3_bind_blob(stmt.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
  std::vector<std::string> out;
  while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
    const auto* text = static_cast<const char*>(sqlite3_column_blob(stmt.get(), 0));  // NULL: no payload
    out.emplace_back(text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt.get(), 0))) : "");
  }
  return out;
}
}  // namespace

int main(int argc, char** argv) try {
  const std::filesystem::path dir =
      argc > 1 ? std::filesystem::path(argv[1])
               : std::filesystem::temp_directory_path() / ("treecrdt-demo-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  std::filesystem::remove(dir / "alice.db");
  std::filesystem::remove(dir / "bob.db");
  std::mt19937 rng(7);

  doc alice(sqlite_storage<>::open((dir / "alice.db").string()), "alice");
  doc bob(sqlite_storage<>::open((dir / "bob.db").string()), "bob");

  // Alice starts an outline and shares it.
  const node_id groceries = alice.insert(root_node, position::last(), bytes("Groceries")).node;
  const node_id work = alice.insert(root_node, position::last(), bytes("Work")).node;
  alice.insert(groceries, position::last(), bytes("milk"));
  const node_id eggs = alice.insert(groceries, position::last(), bytes("eggs")).node;
  alice.insert(work, position::last(), bytes("report"));
  sync(alice, bob, rng);
  show("Shared outline:", bob);

  // Offline, concurrently:
  alice.move(work, groceries, position::first());                   // Alice: Work goes under Groceries
  bob.move(groceries, work, position::last());                      // Bob: Groceries goes under Work (a cycle together)
  alice.remove(find_child(alice, groceries, "milk"));               // Alice deletes milk...
  bob.set_payload(find_child(bob, groceries, "milk"), "oat milk");  // ...which Bob just edited
  alice.insert(groceries, position::after(eggs), bytes("bread"));
  bob.insert(find_child(bob, work, "report"), position::last(), bytes("slides"));

  show("\nAlice, offline:", alice);
  show("\nBob, offline:", bob);

  sync(alice, bob, rng);
  sync(bob, alice, rng);
  show("\nAfter exchanging ops out of order (Alice):", alice);
  show("\nAfter exchanging ops out of order (Bob):", bob);
  const bool converged = alice.export_canonical() == bob.export_canonical();
  std::cout << "\nconverged: " << (converged ? "yes" : "NO") << '\n';

  // Alice keeps typing; every 64 ops a checkpoint is written to her SQLite file. Bob catches up
  // half-way and edits, but his edit reaches Alice only after she typed on and restarted.
  for (int i = 0; i < 200; ++i) alice.insert(work, position::last(), bytes("note " + std::to_string(i)));
  sync(alice, bob, rng);
  const auto late = bob.set_payload(eggs, "free-range eggs");
  for (int i = 200; i < 300; ++i) alice.insert(work, position::last(), bytes("note " + std::to_string(i)));
  const auto before = alice.export_canonical();
  const auto ops_total = alice.storage().op_count();
  alice = doc(sqlite_storage<>::open((dir / "alice.db").string()), "alice");  // restart
  const auto& s = alice.stats();
  std::cout << "\nAlice restarted: " << ops_total << " ops in the log, restored the checkpoint at seq "
            << (s.restored_checkpoint ? s.restored_checkpoint->seq : 0) << ", replayed " << s.ops_replayed_last_catch_up
            << " ops; same tree: " << (alice.export_canonical() == before ? "yes" : "NO") << '\n';

  // Bob's edit arrives late: its Lamport time is far behind Alice's head.
  alice.apply(std::span<const doc::op_type>(&late, 1));
  std::cout << "Late op from Bob (lamport " << late.key.lamport << ", Alice's head at lamport "
            << alice.head().key->lamport << "): catch-up restored seq "
            << (s.restored_checkpoint ? s.restored_checkpoint->seq : 0) << " and replayed "
            << s.ops_replayed_last_catch_up << " of " << alice.storage().op_count() << " ops\n";
  std::cout << "eggs now reads: " << *alice.payload(eggs) << '\n';

  // The tree in Alice's file: the first open with sqlite_store creates the tree tables and folds
  // the log into them once; from then on they are written with the log, so a reopen folds nothing.
  const std::string alice_file = (dir / "alice.db").string();
  std::uint64_t folded_once = 0;
  {
    table_doc first(sqlite_storage<>::open(alice_file), "alice");
    folded_once = first.stats().ops_applied_forward + first.stats().ops_replayed_total;
  }
  table_doc tabled(sqlite_storage<>::open(alice_file), "alice");
  const auto& ts = tabled.stats();
  const bool same_tree = tabled.export_canonical() == alice.export_canonical();
  std::cout << "\nAlice's tree in tables of her file (sqlite_store): the first open folded " << folded_once
            << " ops into them; reopened: ops replayed " << ts.ops_replayed_total << ", applied "
            << ts.ops_applied_forward << "; same tree: " << (same_tree ? "yes" : "NO") << '\n';
  const std::vector<std::string> by_sql = list_with_sql(alice_file, groceries);
  std::vector<std::string> by_doc;
  for (node_id c : tabled.children(groceries)) by_doc.push_back(tabled.payload(c).value_or(""));
  std::cout << "Groceries, listed by SQL on treecrdt_tree_view:";
  for (const std::string& item : by_sql) std::cout << " [" << item << ']';
  std::cout << "; same as children(): " << (by_sql == by_doc ? "yes" : "NO") << '\n';
  std::cout << "databases in " << dir.string() << '\n';
  return converged && same_tree && by_sql == by_doc ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "demo failed: " << e.what() << '\n';
  return 2;
}
