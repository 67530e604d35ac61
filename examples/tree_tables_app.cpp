// The store a service would use: sqlite_store keeps the materialized tree in tables of the
// document's own SQLite file, written in the same transaction as the op log. Reopening a current
// document folds nothing and loads no tree (reads are indexed queries), and any other program can
// read the tree with plain SQL through the view treecrdt_tree_view(id, parent, order_key, payload).
// Here a second, read-only connection (the sqlite3 C API, no treecrdt) lists a folder and the
// listing is printed next to document::children().
//
//   treecrdt_tree_tables_app [DIR]     DIR holds shop.db (default: a new temporary directory)
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "treecrdt/document.hpp"
#include "treecrdt/storage/sqlite.hpp"
#include "treecrdt/store/sqlite_store.hpp"

using namespace treecrdt;
using service_doc = document<default_op_key, sqlite_storage<>, sqlite_store<>>;

namespace {

// Node ids in the tables are 16-byte BLOBs, big-endian (hi then lo), so BLOB order is id order.
std::string id_blob(node_id n) {
  std::string out(16, '\0');
  for (std::size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<char>(n.hi >> (56 - 8 * i));
    out[8 + i] = static_cast<char>(n.lo >> (56 - 8 * i));
  }
  return out;
}
node_id id_from_blob(const unsigned char* b) {
  node_id n;
  for (std::size_t i = 0; i < 8; ++i) {
    n.hi = (n.hi << 8) | b[i];
    n.lo = (n.lo << 8) | b[8 + i];
  }
  return n;
}

struct listed {
  node_id id;
  std::string payload;
};

// What a report or an indexer in another process would do: plain SQL on the file, read-only.
std::vector<listed> list_folder_with_sql(const std::string& file, node_id folder) {
  sqlite3* raw = nullptr;
  const int opened = sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  const std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, sqlite3_close);  // closed even on failure
  const auto check = [&](int rc) {
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db.get()));
  };
  check(opened);
  sqlite3_stmt* raw_stmt = nullptr;
  check(sqlite3_prepare_v2(db.get(),
                           "SELECT id, payload FROM treecrdt_tree_view WHERE parent = ? ORDER BY order_key, id", -1,
                           &raw_stmt, nullptr));
  const std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw_stmt, sqlite3_finalize);
  const std::string key = id_blob(folder);
  check(sqlite3_bind_blob(stmt.get(), 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT));
  std::vector<listed> out;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const auto* id = static_cast<const unsigned char*>(sqlite3_column_blob(stmt.get(), 0));
    const auto* text = static_cast<const char*>(sqlite3_column_blob(stmt.get(), 1));  // NULL: no payload
    out.push_back({id_from_blob(id), text ? std::string(text, sqlite3_column_bytes(stmt.get(), 1)) : ""});
  }
  check(rc);
  return out;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::filesystem::path dir = argc > 1 ? std::filesystem::path(argv[1])
                                             : std::filesystem::temp_directory_path() /
                                                   ("treecrdt-tree-tables-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "shop.db").string();
  std::filesystem::remove(file);  // a fresh document each run

  node_id groceries{};
  {
    // The first open creates the log's tables and the tree tables.
    service_doc doc(sqlite_storage<>::open(file), "service");
    groceries = doc.insert(root_node, position::last(), bytes("Groceries")).node;
    for (const char* item : {"milk", "bread", "eggs"}) doc.insert(groceries, position::last(), bytes(item));
    std::cout << "created " << file << ": " << doc.storage().op_count() << " ops\n";
  }

  // The tables are at the log's head: the reopen reads their metadata and nothing else.
  service_doc doc(sqlite_storage<>::open(file), "service");
  std::cout << "reopened: " << doc.stats().ops_applied_forward << " ops folded at open, " << doc.store().cached_rows()
            << " tree rows cached\n";
  const std::vector<node_id> items = doc.children(groceries);  // milk, bread, eggs
  doc.move(items[2], groceries, position::first());            // eggs first
  doc.set_payload(items[1], bytes("rye bread"));
  doc.remove(items[0]);  // milk: tombstoned, so the view puts it under TRASH, not in the folder

  // The document stays open; the reader needs nothing from it but the file name.
  const std::vector<listed> by_sql = list_folder_with_sql(file, groceries);
  const std::vector<node_id> by_doc = doc.children(groceries);
  std::cout << "Groceries, listed by SQL (a second, read-only connection) | by document::children():\n";
  for (std::size_t i = 0; i < std::max(by_sql.size(), by_doc.size()); ++i) {
    const std::string left = i < by_sql.size() ? by_sql[i].payload : "-";
    const std::string right = i < by_doc.size() ? doc.payload(by_doc[i]).value_or("") : "-";
    std::cout << "  " << std::left << std::setw(20) << left << right << '\n';
  }
  const bool same = std::equal(by_sql.begin(), by_sql.end(), by_doc.begin(), by_doc.end(),
                               [](const listed& s, node_id d) { return s.id == d; });
  std::cout << "same ids in the same order: " << (same ? "yes" : "no") << '\n';
  return same ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "tree_tables_app: " << e.what() << '\n';
  return 1;
}
