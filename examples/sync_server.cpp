// sync_server: the hub of the network sync example (docs/sync_protocol.md). Holds one durable
// document (a SQLite file) and serves any number of clients over TCP on 127.0.0.1, one thread per
// connection; the document is shared under a mutex.
//
//   sync_server DB --port-file FILE [--port N] [--drop-after-ops N] [--timeout-ms N]
//
// It listens on 127.0.0.1:N (0, the default, lets the system choose a free port) and writes the
// port to FILE once it accepts connections. --drop-after-ops N breaks the first pull connection
// that reaches N op lines, in the middle of a batch (the fault the clients must survive).
// A client's {"shutdown":true} stops the server: it finishes the open connections and exits 0.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sync_net/channel.hpp"
#include "sync_net/protocol.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/storage/sqlite.hpp"

namespace {

using namespace sync_net;
using server_document = treecrdt::document<key, treecrdt::sqlite_storage<key>>;

struct server_state {
  explicit server_state(server_document d) : doc(std::move(d)) {}
  server_document doc;
  std::mutex mutex;  // guards doc
  std::optional<std::size_t> drop_after_ops;
  std::atomic<bool> drop_used{false};
  std::atomic<bool> stopping{false};
  std::chrono::milliseconds timeout{10000};
  unsigned short port = 0;
  std::mutex log_mutex;

  void log(const std::string& line) {
    std::lock_guard lock(log_mutex);
    std::cerr << "server: " << line << std::endl;
  }
};

// The push half: the client sends the ops the server lacks, batch by batch; each complete batch
// is applied in one transaction and acknowledged.
void receive_batch(server_state& st, line_channel& ch, std::size_t n, std::size_t& received) {
  const std::vector<op_t> ops = read_batch_ops(ch, n);
  {
    std::lock_guard lock(st.mutex);
    st.doc.apply(ops);  // late ops among them are caught up before this returns
  }
  received += ops.size();
  ch.write(stored_line(ops.size()));
}

// The pull half: the ops the client lacks, shuffled, in batches, then {"end":total}.
std::size_t send_missing(server_state& st, line_channel& ch, const version_t& client_known, std::size_t batch,
                         std::uint64_t seed) {
  std::vector<op_t> ops;
  {
    std::lock_guard lock(st.mutex);
    ops = st.doc.ops_since(client_known);
  }
  shuffle_for_delivery(ops, seed);
  drop_plan drop;
  if (st.drop_after_ops && ops.size() > *st.drop_after_ops && !st.drop_used.exchange(true))
    drop.after_ops = st.drop_after_ops;
  write_batches(ch, ops, batch, drop, [](std::size_t) {});
  ch.write(end_line(ops.size()));
  return ops.size();
}

void serve(server_state& st, std::shared_ptr<asio::io_context> io, tcp::socket socket, std::uint64_t serial) {
  line_channel ch(*io, std::move(socket), st.timeout);
  std::string who = "connection " + std::to_string(serial);
  std::size_t received = 0;
  std::size_t sent = 0;
  try {
    const auto first = ch.read_line();
    if (!first) return;
    const message hello = parse_message(*first);
    if (hello.is("shutdown")) {
      st.log("shutdown requested");
      st.stopping = true;
      ch.write("{\"bye\":true}\n");
      ch.close();
      // Wake the accept loop with a connection of our own.
      asio::io_context wake_io;
      try {
        line_channel wake(wake_io, st.port, std::chrono::milliseconds(2000));
      } catch (const connection_lost&) {  // NOLINT(bugprone-empty-catch): the loop wakes either way
      }
      return;
    }
    if (!hello.is("treecrdt_sync") || hello.body.at("treecrdt_sync") != protocol_version || !hello.is("replica"))
      throw protocol_error("expected a hello of protocol version " + std::to_string(protocol_version));
    who = "client " + hello.body.at("replica").get<std::string>();
    {
      std::lock_guard lock(st.mutex);
      ch.write(known_line(st.doc.version()));
    }
    for (;;) {
      const auto line = ch.read_line();
      if (!line) break;  // the client is done
      const message m = parse_message(*line);
      if (m.is("batch")) {
        receive_batch(st, ch, m.count("batch"), received);
      } else if (m.is("pull")) {
        sent += send_missing(st, ch, m.version("pull"), 16, serial * 7919 + 17);
      } else {
        throw protocol_error("unexpected message " + line->substr(0, 100));
      }
    }
    st.log(who + ": received " + std::to_string(received) + " ops, sent " + std::to_string(sent) + " ops");
  } catch (const connection_lost& e) {
    st.log(who + ": connection lost (" + e.what() + "); received " + std::to_string(received) +
           " ops in complete batches, which are kept");
  } catch (const std::exception& e) {
    st.log(who + ": " + e.what());
    try {
      ch.write(error_line(e.what()));
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): the connection is closing anyway
    }
  }
  ch.close();
}

int usage() {
  std::cerr << "usage: sync_server DB --port-file FILE [--port N] [--drop-after-ops N] [--timeout-ms N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  std::optional<std::string> db, port_file;
  unsigned short port = 0;
  std::optional<std::size_t> drop_after;
  long timeout_ms = 10000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(std::string(a) + " needs a value");
      return argv[++i];
    };
    if (a == "--port-file")
      port_file = value();
    else if (a == "--port")
      port = static_cast<unsigned short>(std::stoul(value()));
    else if (a == "--drop-after-ops")
      drop_after = std::stoul(value());
    else if (a == "--timeout-ms")
      timeout_ms = std::stol(value());
    else if (!a.starts_with("--") && !db)
      db = std::string(a);
    else
      return usage();
  }
  if (!db || !port_file) return usage();

  server_state st(server_document(treecrdt::sqlite_storage<key>::open(*db), "sync-server"));
  st.drop_after_ops = drop_after;
  st.timeout = std::chrono::milliseconds(timeout_ms);

  asio::io_context accept_io;
  tcp::acceptor acceptor(accept_io, tcp::endpoint(asio::ip::address_v4::loopback(), port));
  st.port = acceptor.local_endpoint().port();
  {
    // Written whole, then renamed: a reader never sees half a port number.
    const std::string tmp = *port_file + ".tmp";
    std::ofstream(tmp) << st.port << '\n';
    std::filesystem::rename(tmp, *port_file);
  }
  st.log("listening on 127.0.0.1:" + std::to_string(st.port) + ", document " + *db);

  std::vector<std::thread> connections;
  for (std::uint64_t serial = 1; !st.stopping; ++serial) {
    auto io = std::make_shared<asio::io_context>();
    tcp::socket socket = acceptor.accept(*io);
    if (st.stopping) break;
    connections.emplace_back(
        [&st, io, s = std::move(socket), serial]() mutable { serve(st, std::move(io), std::move(s), serial); });
  }
  for (auto& t : connections) t.join();
  std::lock_guard lock(st.mutex);
  st.log("stopped: " + std::to_string(st.doc.storage().op_count()) + " ops in the document");
  return 0;
} catch (const std::exception& e) {
  std::cerr << "sync_server: " << e.what() << '\n';
  return 1;
}
