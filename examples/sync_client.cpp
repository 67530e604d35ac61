// sync_client: a replica of the network sync example (docs/sync_protocol.md). Its document is a
// SQLite file, edited offline and synced with sync_server over TCP on 127.0.0.1.
//
//   sync_client edit DB REPLICA N SEED        N random local edits, offline
//   sync_client sync DB REPLICA PORT [--batch N] [--drop-after-ops N] [--timeout-ms N]
//   sync_client export DB                     the canonical export, one JSON line
//   sync_client shutdown PORT                 asks the server to stop
//
// `sync` exits 0 when both halves finished, 3 when the connection was lost (by --drop-after-ops,
// which breaks it in the middle of a batch, or by the server): every batch applied before that is
// kept, and the next `sync` sends and fetches only what is still missing.
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sync_net/channel.hpp"
#include "sync_net/protocol.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/json.hpp"
#include "treecrdt/storage/sqlite.hpp"

namespace {

using namespace sync_net;
using client_document = treecrdt::document<key, treecrdt::sqlite_storage<key>>;

constexpr int exit_connection_lost = 3;

struct sync_options {
  std::size_t batch = 16;
  drop_plan drop;
  std::chrono::milliseconds timeout{10000};
};

struct sync_report {
  std::size_t pushed = 0;
  std::size_t pulled = 0;
  std::size_t pulled_batches = 0;
};

// One sync session: exchange version vectors, push what the server lacks, pull what we lack.
void sync_with_server(client_document& doc, line_channel& ch, sync_options& options, sync_report& report) {
  ch.write(hello_line(doc.local_replica()));
  const version_t server_known = read_message(ch).version("known");

  // Push: the ops the server lacks, shuffled, in batches; the server applies each whole batch in
  // one transaction and acknowledges it.
  std::vector<op_t> to_server = doc.ops_since(server_known);
  shuffle_for_delivery(to_server, doc.lamport());
  write_batches(ch, to_server, options.batch, options.drop, [&](std::size_t n) {
    if (read_message(ch).count("stored") != n) throw protocol_error("the server acknowledged another count");
    report.pushed += n;
  });

  // Pull: send our version vector, apply each complete batch the server sends (out of order:
  // late ops are caught up on arrival), until {"end":total}.
  ch.write(pull_line(doc.version()));
  for (message m = read_message(ch); !m.is("end"); m = read_message(ch)) {
    if (!m.is("batch")) throw protocol_error("expected a batch or the end");
    const std::vector<op_t> ops = read_batch_ops(ch, m.count("batch"));
    doc.apply(ops);
    report.pulled += ops.size();
    ++report.pulled_batches;
  }
}

int run_sync(const std::string& db, const std::string& replica, unsigned short port, sync_options options) {
  client_document doc(treecrdt::sqlite_storage<key>::open(db), replica);
  sync_report report;
  const auto summary = [&] {
    return replica + ": pushed " + std::to_string(report.pushed) + " ops, pulled " + std::to_string(report.pulled) +
           " ops in " + std::to_string(report.pulled_batches) + " batches (" + std::to_string(doc.stats().late_ops) +
           " late); " + std::to_string(doc.storage().op_count()) + " ops in the log";
  };
  asio::io_context io;
  try {
    line_channel ch(io, port, options.timeout);
    sync_with_server(doc, ch, options, report);
    ch.close();
  } catch (const connection_lost& e) {
    std::cout << summary() << "; connection lost: " << e.what() << '\n';
    return exit_connection_lost;
  }
  std::cout << summary() << "; in sync\n";
  return 0;
}

// Random local edits: inserts, moves (cycles included: the fold ignores those), payload writes and
// deletes, over whatever this replica sees.
int run_edit(const std::string& db, const std::string& replica, int count, std::uint64_t seed) {
  client_document doc(treecrdt::sqlite_storage<key>::open(db), replica);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < count; ++i) {
    std::vector<treecrdt::node_id> nodes{treecrdt::root_node};
    for (std::size_t at = 0; at < nodes.size(); ++at)
      for (const auto& c : doc.children(nodes[at])) nodes.push_back(c);
    const auto pick = [&] { return nodes[rng() % nodes.size()]; };
    const auto pick_child = [&] { return nodes[1 + rng() % (nodes.size() - 1)]; };
    const std::uint64_t roll = nodes.size() < 4 ? 0 : rng() % 10;
    const std::string text = replica + " " + std::to_string(i);
    if (roll < 5)
      (void)doc.insert(pick(), rng() % 2 ? treecrdt::position::first() : treecrdt::position::last(),
                       treecrdt::bytes(text));
    else if (roll < 7)
      (void)doc.move(pick_child(), pick(), treecrdt::position::last());
    else if (roll < 9)
      (void)doc.set_payload(pick_child(), treecrdt::bytes(text));
    else
      (void)doc.remove(pick_child());
  }
  std::cout << replica << ": " << count << " offline edits; " << doc.storage().op_count() << " ops in the log\n";
  return 0;
}

int run_export(const std::string& db) {
  const client_document doc(treecrdt::sqlite_storage<key>::open(db), "export");
  std::cout << treecrdt::json::encode_export(doc.export_canonical()) << '\n';
  return 0;
}

int run_shutdown(unsigned short port) {
  asio::io_context io;
  line_channel ch(io, port, std::chrono::milliseconds(5000));
  ch.write(shutdown_line);
  const auto reply = ch.read_line();
  std::cout << "server: " << reply.value_or("(no reply)") << '\n';
  return 0;
}

int usage() {
  std::cerr << "usage: sync_client edit DB REPLICA N SEED\n"
               "       sync_client sync DB REPLICA PORT [--batch N] [--drop-after-ops N] [--timeout-ms N]\n"
               "       sync_client export DB\n"
               "       sync_client shutdown PORT\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::vector<std::string> a(argv + 1, argv + argc);
  const auto port_of = [](const std::string& s) { return static_cast<unsigned short>(std::stoul(s)); };
  if (a.size() == 5 && a[0] == "edit") return run_edit(a[1], a[2], std::stoi(a[3]), std::stoull(a[4]));
  if (a.size() == 2 && a[0] == "export") return run_export(a[1]);
  if (a.size() == 2 && a[0] == "shutdown") return run_shutdown(port_of(a[1]));
  if (a.size() >= 4 && a.size() % 2 == 0 && a[0] == "sync") {
    sync_options options;
    for (std::size_t i = 4; i < a.size(); i += 2) {
      if (a[i] == "--batch")
        options.batch = std::stoul(a[i + 1]);
      else if (a[i] == "--drop-after-ops")
        options.drop.after_ops = std::stoul(a[i + 1]);
      else if (a[i] == "--timeout-ms")
        options.timeout = std::chrono::milliseconds(std::stol(a[i + 1]));
      else
        return usage();
    }
    if (options.batch == 0) return usage();
    return run_sync(a[1], a[2], port_of(a[3]), options);
  }
  return usage();
} catch (const std::exception& e) {
  std::cerr << "sync_client: " << e.what() << '\n';
  return 1;
}
