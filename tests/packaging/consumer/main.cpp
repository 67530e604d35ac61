// Uses the core and every component the build linked; prints one line per part.
#include <treecrdt/treecrdt.hpp>

#include <iostream>
#include <span>

#if CONSUMER_WITH_SQLITE
#include <treecrdt/storage/sqlite.hpp>
#endif
#if CONSUMER_WITH_POSTGRES
#include <treecrdt/storage/postgres.hpp>
#endif
#if CONSUMER_WITH_JSON
#include <treecrdt/json.hpp>
#endif

int main() try {
  using namespace treecrdt;
  std::cout << "consumer (" << CONSUMER_MODE << ")\n";

  document<> alice(memory_storage<default_op_key>{}, "alice");
  document<> bob(memory_storage<default_op_key>{}, "bob");
  const auto list = alice.insert(root_node, position::last(), bytes("list"));
  alice.insert(list.node, position::last(), bytes("item"));
  bob.apply(alice.ops_since(bob.version()));
  const bool same = alice.export_canonical() == bob.export_canonical();
  std::cout << "core: " << (same ? "replicas converged" : "replicas DIVERGED") << '\n';

#if CONSUMER_WITH_SQLITE
  document<default_op_key, sqlite_storage<>> durable(sqlite_storage<>::open(":memory:"), "carol");
  durable.apply(alice.ops_since({}));
  std::cout << "sqlite: " << (durable.export_canonical() == alice.export_canonical() ? "same tree" : "DIFFERENT tree")
            << '\n';
#endif
#if CONSUMER_WITH_POSTGRES
  static_assert(Storage<postgres_storage<>>);
  std::cout << "postgres: linked libpq " << PQlibVersion() << '\n';
#endif
#if CONSUMER_WITH_JSON
  const std::string line = json::encode_op(list);
  std::cout << "json: " << (json::decode_op<default_op_key>(line) == list ? "op round trip" : "op MISMATCH") << '\n';
#endif
  return same ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "consumer failed: " << e.what() << '\n';
  return 1;
}
