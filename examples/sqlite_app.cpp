// A durable document in one SQLite file: a laptop edits, closes the file, reopens it without
// replaying the whole log, then receives an op a phone made long ago while offline. The
// materialization counters (`stats()`) show what each step cost.
//
//   treecrdt_sqlite_app [DIR]     DIR holds notes.db (default: a new temporary directory)
#include <filesystem>
#include <iostream>
#include <random>
#include <span>
#include <string>

#include "treecrdt/document.hpp"
#include "treecrdt/storage/sqlite.hpp"

using namespace treecrdt;
using durable_doc = document<default_op_key, sqlite_storage<>>;
using memory_doc = document<>;

namespace {
void print_stats(const char* what, const durable_doc& doc) {
  const auto& s = doc.stats();
  std::cout << what << ": ops applied forward " << s.ops_applied_forward << ", catch-ups " << s.catch_ups
            << ", full replays " << s.full_replays << ", restored checkpoint at seq "
            << (s.restored_checkpoint ? std::to_string(s.restored_checkpoint->seq) : "none") << ", replayed "
            << s.ops_replayed_last_catch_up << ", late ops " << s.late_ops << ", checkpoints written "
            << s.checkpoints_written << " / invalidated " << s.checkpoints_invalidated << " / pruned "
            << s.checkpoints_pruned << '\n';
}
}  // namespace

int main(int argc, char** argv) try {
  const std::filesystem::path dir = argc > 1 ? std::filesystem::path(argv[1])
                                             : std::filesystem::temp_directory_path() /
                                                   ("treecrdt-sqlite-app-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "notes.db").string();
  std::filesystem::remove(file);

  // A checkpoint every 32 ops; retention thinned at the same granularity.
  const every_n_ops cadence{32};
  const exponential_retention retention{2, 32};
  memory_doc phone(memory_storage<default_op_key>{}, "phone");
  durable_doc::op_type late_op;
  node_id inbox{};
  {
    durable_doc laptop(sqlite_storage<>::open(file), "laptop", cadence, retention);
    inbox = laptop.insert(root_node, position::last(), bytes("Inbox")).node;
    for (int i = 1; i < 70; ++i) laptop.insert(inbox, position::last(), bytes("note " + std::to_string(i)));
    phone.apply(laptop.ops_since(phone.version()));  // the phone syncs once, then goes offline
    late_op = phone.insert(inbox, position::first(), bytes("from the phone"));
    for (int i = 70; i < 200; ++i) laptop.insert(inbox, position::last(), bytes("note " + std::to_string(i)));
    print_stats("laptop, 200 edits", laptop);
  }  // closes notes.db

  durable_doc laptop(sqlite_storage<>::open(file), "laptop", cadence, retention);
  std::cout << "reopened " << file << ": " << laptop.storage().op_count() << " ops in the log, "
            << laptop.children(inbox).size() << " notes\n";
  print_stats("laptop, reopened", laptop);

  // The phone's op reaches the laptop: its Lamport time (and so its key) is far below the head.
  std::cout << "late op: lamport " << late_op.key.lamport << ", laptop head at lamport " << laptop.head().key->lamport
            << '\n';
  laptop.apply(std::span<const durable_doc::op_type>(&late_op, 1));
  print_stats("laptop, after the late op", laptop);
  std::cout << "first note now: " << *laptop.payload(laptop.children(inbox).front()) << '\n';

  // The same ops folded from scratch give the same tree.
  memory_doc fresh(memory_storage<default_op_key>{}, "check");
  fresh.apply(laptop.ops_since({}));
  const bool same = fresh.export_canonical() == laptop.export_canonical();
  std::cout << "same tree as a full replay: " << (same ? "yes" : "NO") << '\n';
  return same ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "sqlite_app failed: " << e.what() << '\n';
  return 2;
}
