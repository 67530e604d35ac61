// A small sync service on PostgreSQL: one database holds several documents, clients send batches
// of ops, some batches arrive late (their ops are older than what the service already folded), and
// the service catches up from checkpoints instead of replaying whole logs. At the end it restarts
// and every client pulls what it lacks and checks that it sees the service's tree.
//
//   TREECRDT_PG_URL=postgresql://user@host/db treecrdt_pg_service
// Without TREECRDT_PG_URL it prints SKIPPED and exits 77 (exit 1 if TREECRDT_REQUIRE_PG=1).
// Each run uses new document ids, so runs never see each other's data.
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "treecrdt/document.hpp"
#include "treecrdt/storage/postgres.hpp"

using namespace treecrdt;
using service_doc = document<default_op_key, postgres_storage<>>;
using client_doc = document<>;
using op_type = service_doc::op_type;

namespace {
struct message {
  std::string document;
  std::vector<op_type> ops;
};

// The service: one open document (one connection) per document id, opened on first use.
class sync_service {
 public:
  explicit sync_service(std::string url) : url_(std::move(url)) {}

  void receive(const message& m) { open(m.document).apply(m.ops); }
  [[nodiscard]] std::vector<op_type> pull(const std::string& id, const client_doc::version_vector_type& known) {
    return open(id).ops_since(known);
  }
  service_doc& open(const std::string& id) {
    auto it = docs_.find(id);
    if (it == docs_.end()) {
      auto doc = std::make_unique<service_doc>(postgres_storage<>(url_, bytes(id)), "service", every_n_ops{16},
                                               exponential_retention{2, 16});
      it = docs_.emplace(id, std::move(doc)).first;
    }
    return *it->second;
  }
  void restart() { docs_.clear(); }  // closes every connection; the data stays in PostgreSQL

 private:
  std::string url_;
  std::map<std::string, std::unique_ptr<service_doc>> docs_;
};

void print_stats(const std::string& name, service_doc& doc) {
  const auto& s = doc.stats();
  std::cout << "  " << name << ": " << doc.storage().op_count() << " ops, late " << s.late_ops << ", catch-ups "
            << s.catch_ups << " (full replays " << s.full_replays << "), last one restored seq "
            << (s.restored_checkpoint ? std::to_string(s.restored_checkpoint->seq) : "none") << " and replayed "
            << s.ops_replayed_last_catch_up << ", checkpoints written " << s.checkpoints_written << ", invalidated "
            << s.checkpoints_invalidated << '\n';
}
}  // namespace

int main() try {
  const char* url = std::getenv("TREECRDT_PG_URL");
  if (url == nullptr || *url == '\0') {
    const char* required = std::getenv("TREECRDT_REQUIRE_PG");
    if (required != nullptr && std::string(required) == "1") {
      std::cerr << "pg_service FAILED: TREECRDT_REQUIRE_PG=1 but TREECRDT_PG_URL is not set\n";
      return 1;
    }
    std::cout << "*** SKIPPED: pg_service needs a PostgreSQL server; set TREECRDT_PG_URL "
                 "(e.g. postgresql://postgres@127.0.0.1:5432/treecrdt_test) ***\n";
    return 77;
  }

  const std::string run = "pg_service-" + std::to_string(std::random_device{}()) + "-";
  const std::vector<std::string> names = {"recipes", "chores", "trip"};
  sync_service service(url);

  // Two clients per document, each on its own device, editing offline and sending batches.
  std::map<std::string, std::vector<std::unique_ptr<client_doc>>> clients;
  for (const auto& name : names) {
    clients[name].push_back(std::make_unique<client_doc>(memory_storage<default_op_key>{}, "ann"));
    clients[name].push_back(std::make_unique<client_doc>(memory_storage<default_op_key>{}, "ben"));
  }

  std::deque<message> delayed;  // batches a flaky network holds back
  for (int round = 0; round < 6; ++round) {
    for (std::size_t d = 0; d < names.size(); ++d) {
      const std::string& name = names[d];
      const std::string id = run + name;
      const std::size_t lines = 3 + 2 * d;  // documents grow at different speeds
      for (std::size_t c = 0; c < 2; ++c) {
        client_doc& client = *clients[name][c];
        client.apply(service.pull(id, client.version()));
        const auto before = client.version();
        const node_id section =
            client.insert(root_node, position::last(), bytes("section " + std::to_string(round))).node;
        for (std::size_t i = 0; i < lines; ++i)
          client.insert(section, position::last(), bytes("line " + std::to_string(i)));
        message m{id, client.ops_since(before)};
        if (c == 1 && round % 2 == 0)
          delayed.push_back(std::move(m));  // ben's even rounds arrive after the next round
        else
          service.receive(m);
      }
    }
    while (round % 2 == 1 && !delayed.empty()) {
      service.receive(delayed.front());
      delayed.pop_front();
    }
  }

  std::cout << "service, after " << names.size() << " documents x 6 rounds:\n";
  for (const auto& name : names) print_stats(name, service.open(run + name));

  service.restart();
  std::cout << "service, restarted:\n";
  bool all_converged = true;
  for (const auto& name : names) {
    service_doc& doc = service.open(run + name);
    print_stats(name, doc);
    for (auto& client : clients[name]) {
      client->apply(service.pull(run + name, client->version()));
      all_converged = all_converged && client->export_canonical() == doc.export_canonical();
    }
  }
  std::cout << "clients converged with the service: " << (all_converged ? "yes" : "NO") << '\n';
  return all_converged ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "pg_service failed: " << e.what() << '\n';
  return 2;
}
