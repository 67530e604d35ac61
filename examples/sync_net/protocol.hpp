#pragma once
// The sync protocol of the network example (docs/sync_protocol.md): JSON Lines over TCP. Control
// messages are one JSON object per line; ops travel as SPEC §9 op lines, N of them after a
// {"batch":N} header. A batch is applied only once all N lines have arrived, in one transaction,
// so a connection that drops in the middle of a batch leaves nothing half-applied.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sync_net/channel.hpp"
#include "treecrdt/detail/hex.hpp"
#include "treecrdt/json.hpp"
#include "treecrdt/op.hpp"
#include "treecrdt/version_vector.hpp"

namespace sync_net {

using key = treecrdt::default_op_key;
using op_t = treecrdt::op<key>;
using version_t = treecrdt::version_vector<treecrdt::bytes>;

inline constexpr int protocol_version = 1;

/// The peer sent something this protocol does not allow: the connection is closed.
class protocol_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- messages ------------------------------------------------------------------------------------

[[nodiscard]] inline std::string hello_line(const treecrdt::bytes& replica) {
  return R"({"treecrdt_sync":)" + std::to_string(protocol_version) + R"(,"replica":")" +
         treecrdt::detail::to_hex(replica) + "\"}\n";
}
[[nodiscard]] inline std::string known_line(const version_t& vv) {
  return R"({"known":)" + treecrdt::json::encode_version_vector(vv) + "}\n";
}
[[nodiscard]] inline std::string pull_line(const version_t& vv) {
  return R"({"pull":)" + treecrdt::json::encode_version_vector(vv) + "}\n";
}
[[nodiscard]] inline std::string batch_line(std::size_t n) { return R"({"batch":)" + std::to_string(n) + "}\n"; }
[[nodiscard]] inline std::string stored_line(std::size_t n) { return R"({"stored":)" + std::to_string(n) + "}\n"; }
[[nodiscard]] inline std::string end_line(std::size_t n) { return R"({"end":)" + std::to_string(n) + "}\n"; }
[[nodiscard]] inline std::string error_line(std::string_view why) {
  return nlohmann::json{{"error", std::string(why)}}.dump() + "\n";
}
inline const std::string shutdown_line = "{\"shutdown\":true}\n";

/// One control message: a JSON object with exactly one of the names above.
struct message {
  nlohmann::json body;
  [[nodiscard]] bool is(const char* name) const { return body.contains(name); }
  [[nodiscard]] std::size_t count(const char* name) const {
    const auto& v = body.at(name);
    if (!v.is_number_unsigned()) throw protocol_error(std::string("\"") + name + "\" must be a count");
    return v.get<std::size_t>();
  }
  [[nodiscard]] version_t version(const char* name) const {
    try {
      return treecrdt::json::decode_version_vector<treecrdt::bytes>(body.at(name).dump());
    } catch (const treecrdt::parse_error& e) {
      throw protocol_error(std::string("bad version vector in \"") + name + "\": " + e.what());
    }
  }
};

[[nodiscard]] inline message parse_message(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.size() != (j.contains("treecrdt_sync") ? 2U : 1U))
    throw protocol_error("not a control message: " + std::string(line.substr(0, 200)));
  if (j.contains("error")) throw protocol_error("the peer reports: " + j["error"].dump());
  return message{std::move(j)};
}

/// Reads the next control message; the peer closing the connection here is connection_lost too.
[[nodiscard]] inline message read_message(line_channel& ch) {
  const auto line = ch.read_line();
  if (!line) throw connection_lost("the peer closed the connection");
  return parse_message(*line);
}

// ---- batches -------------------------------------------------------------------------------------

/// Reads the `n` op lines of a batch whose header was just read. Throws connection_lost when the
/// connection ends first (the partial batch is dropped), protocol_error for a bad op line.
[[nodiscard]] inline std::vector<op_t> read_batch_ops(line_channel& ch, std::size_t n) {
  std::vector<op_t> ops;
  ops.reserve(n);
  while (ops.size() < n) {
    const auto line = ch.read_line();
    if (!line)
      throw connection_lost("the connection ended after " + std::to_string(ops.size()) + " of the " +
                            std::to_string(n) + " ops of a batch; the partial batch is dropped");
    try {
      ops.push_back(treecrdt::json::decode_op<key>(*line));
    } catch (const treecrdt::parse_error& e) {
      throw protocol_error("op " + std::to_string(ops.size() + 1) + " of a batch: " + e.what());
    }
  }
  return ops;
}

/// Deliberately breaks a connection once a number of op lines has been written: the fault the
/// example survives (a client or server option; nullopt = never). Fires once.
struct drop_plan {
  std::optional<std::size_t> after_ops;
  std::size_t written = 0;
  /// Called before each op line: true when the connection is to be dropped instead.
  [[nodiscard]] bool due() {
    if (after_ops && written == *after_ops) {
      after_ops.reset();
      return true;
    }
    ++written;
    return false;
  }
};

/// Writes `ops` as batches of at most `batch` ops, calling after_batch(n) after each one (e.g. to
/// wait for an acknowledgement). When `drop` fires, what was framed of the batch so far is sent,
/// the connection closed and connection_lost thrown.
template <class AfterBatch>
void write_batches(line_channel& ch, std::span<const op_t> ops, std::size_t batch, drop_plan& drop,
                   AfterBatch&& after_batch) {
  for (std::size_t from = 0; from < ops.size(); from += batch) {
    const std::size_t n = std::min(batch, ops.size() - from);
    std::string text = batch_line(n);
    for (std::size_t i = from; i < from + n; ++i) {
      if (drop.due()) {
        ch.write(text);  // the peer sees a header and fewer ops than it announces
        ch.close();
        throw connection_lost("connection dropped on purpose after " + std::to_string(drop.written) +
                              " op lines, in the middle of a batch of " + std::to_string(n));
      }
      text += treecrdt::json::encode_op(ops[i]);
      text += '\n';
    }
    ch.write(text);
    after_batch(n);
  }
}

/// The order ops travel in: shuffled, so that a receiver gets late ops (keys below what it has
/// already applied) in almost every batch, as over a real network of many peers.
inline void shuffle_for_delivery(std::vector<op_t>& ops, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::shuffle(ops.begin(), ops.end(), rng);
}

}  // namespace sync_net
