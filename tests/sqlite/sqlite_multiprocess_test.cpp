// Writers in separate processes on one SQLite file, killed at random (SPEC §8 atomicity, README
// "several handles (processes) may share a file"). Three forked worker processes each hold a
// document over the same file as their own replica and, in a random mix, make local edits (insert,
// move, remove, set_payload), append batches of a foreign history (each batch is given to two
// workers, so the same ops arrive through two processes), and re-append what the others wrote (read
// with ops_since, applied: duplicates). After every call that returns, the worker appends the ops it
// acknowledged to its own side file and fsyncs it. The parent SIGKILLs a random worker at random
// moments and starts it again on the same file, a bounded number of times within a bounded time.
// Then every surviving worker stops, catches up with the others' last writes and writes its export.
// Afterwards: every acknowledged op is in the log exactly once with its content, no op is stored
// twice, unacknowledged ops are only the foreign history's or at most one local op per kill of its
// writer, every checkpoint is valid, and every surviving handle and a reopened document export the
// fold of the log.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sqlite/acknowledged_ops.hpp"
#include "sqlite/scratch_dir.hpp"
#include "sqlite/sqlite_document_support.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/op_codec.hpp"
#include "treecrdt/storage/sqlite.hpp"

using namespace treecrdt;

namespace {

using K = default_op_key;
using op_t = op<K>;
using sqlite_document = document<K, sqlite_storage<K>, memory_store<K>, every_n_ops, exponential_retention>;
using batch_list = std::vector<std::vector<op_t>>;

constexpr unsigned workers = 3;
constexpr int kill_budget = 50;
constexpr auto kill_phase_limit = std::chrono::seconds(20);
constexpr int pipe_timeout_ms = 60000;

bytes worker_replica(unsigned w) { return bytes(1, static_cast<char>(0x40 + w)); }

// ---- the worker process -------------------------------------------------------------------------

/// Appends acknowledged ops to the worker's side file, one line each, fsync'd before returning.
class ack_file {
 public:
  explicit ack_file(const std::string& path) : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644)) {
    if (fd_ < 0) throw std::runtime_error("cannot open " + path);
  }
  ack_file(const ack_file&) = delete;
  ack_file& operator=(const ack_file&) = delete;
  ~ack_file() { ::close(fd_); }

  void record(const std::vector<op_t>& ops) {
    if (ops.empty()) return;
    std::string text;
    for (const auto& o : ops)
      text += std::to_string(o.key.lamport) + " " + detail::to_hex(o.key.replica) + " " +
              std::to_string(o.key.counter) + " " + detail::to_hex(encode_op_body(o)) + "\n";
    for (std::size_t done = 0; done < text.size();) {
      const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
      if (n <= 0) throw std::runtime_error("writing the acknowledgement file failed");
      done += static_cast<std::size_t>(n);
    }
    if (::fdatasync(fd_) != 0) throw std::runtime_error("fdatasync of the acknowledgement file failed");
  }

 private:
  int fd_;
};

void send_byte(int fd, char c) {
  if (::write(fd, &c, 1) != 1) throw std::runtime_error("writing a control pipe failed");
}

/// Waits up to `timeout_ms` for a byte: 0 when none came, EOF when the other end is closed.
constexpr char closed = -1;
char receive_byte(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return 0;
  char c = 0;
  return ::read(fd, &c, 1) == 1 ? c : closed;
}

/// Calls `f` until it does not fail with a retryable storage error (SQLITE_BUSY past the timeout).
template <class F>
auto retrying(F&& f) {
  for (;;) {
    try {
      return f();
    } catch (const storage_error& e) {
      if (!e.retryable()) throw;
    }
  }
}

struct worker_setup {
  unsigned index = 0;
  unsigned incarnation = 0;
  std::string db_path;
  std::string dir;
  batch_list batches;   // this worker's share of the foreign history, in delivery order
  int control_fd = -1;  // parent -> worker: 's' stop, 'f' finish
  int report_fd = -1;   // worker -> parent: 'S' stopped, 'D' done
};

void worker_main(const worker_setup& s) {
  const bytes me = worker_replica(s.index);
  std::optional<sqlite_document> opened;
  retrying([&] {
    opened.emplace(sqlite_storage<K>::open(s.db_path), me, every_n_ops{4}, exponential_retention{1, 4});
  });
  sqlite_document& doc = *opened;
  ack_file acks(s.dir + "/acks-" + std::to_string(s.index) + "-" + std::to_string(s.incarnation) + ".txt");
  std::mt19937 rng(1000 * s.index + s.incarnation);
  auto seen = doc.version();
  const auto acknowledge = [&](const std::vector<op_t>& ops) {
    acks.record(ops);
    for (const auto& o : ops) seen.observe(o.key.replica, o.key.counter);
  };
  // Resume the share after the batches already stored (re-appending them would only be duplicates).
  std::size_t next = 0;
  while (next < s.batches.size() && std::all_of(s.batches[next].begin(), s.batches[next].end(), [&](const op_t& o) {
           return seen.contains(o.key.replica, o.key.counter);
         }))
    ++next;

  for (;;) {
    const char signal = receive_byte(s.control_fd, 0);
    if (signal == closed) _exit(4);  // the parent is gone (a failed test): stop at once
    if (signal == 's') break;
    const unsigned choice = rng() % 10;
    if (choice >= 4 && choice < 7 && next < s.batches.size()) {
      const auto& batch = s.batches[next++];
      retrying([&] { doc.apply(batch); });
      acknowledge(batch);
    } else if (choice >= 7) {
      const auto theirs = retrying([&] { return doc.ops_since(seen); });
      if (theirs.empty()) continue;
      retrying([&] { doc.apply(theirs); });
      acknowledge(theirs);
    } else {
      std::vector<node_id> live;
      for (const auto& r : doc.export_canonical().nodes)
        if (r.parent && !r.tombstoned) live.push_back(r.node);
      const auto pick = [&] { return live.empty() ? root_node : live[rng() % live.size()]; };
      const unsigned kind = live.size() < 4 ? 0 : rng() % 10;
      op_t made;
      if (kind < 4) {
        made = retrying([&] { return doc.insert(pick(), position::last(), bytes("w" + std::to_string(s.index))); });
      } else if (kind < 6) {
        made = retrying([&] { return doc.move(pick(), pick(), position::first()); });
      } else if (kind < 8) {
        made = retrying([&] { return doc.set_payload(pick(), bytes("v" + std::to_string(rng() % 100))); });
      } else {
        made = retrying([&] { return doc.remove(pick()); });
      }
      acknowledge(std::vector<op_t>{made});
    }
  }
  send_byte(s.report_fd, 'S');
  if (receive_byte(s.control_fd, pipe_timeout_ms) != 'f') throw std::runtime_error("no finish signal");
  // Everyone has stopped: any append catches this handle up with the others' last commits. A
  // duplicate of a stored op adds nothing else.
  const auto all = retrying([&] { return doc.ops_since(version_vector<bytes>{}); });
  if (!all.empty()) retrying([&] { doc.apply(std::vector<op_t>{all.front()}); });
  std::ofstream out(s.dir + "/export-" + std::to_string(s.index) + ".txt", std::ios::binary | std::ios::trunc);
  out << "head_seq " << doc.head().seq << " op_count " << doc.storage().op_count() << "\n"
      << treecrdt_test::export_text(doc.export_canonical());
  out.close();
  if (!out) throw std::runtime_error("cannot write the export file");
  send_byte(s.report_fd, 'D');
}

[[noreturn]] void run_worker(const worker_setup& s) {
  int code = 0;
  try {
    worker_main(s);
  } catch (const std::exception& e) {
    std::ofstream(s.dir + "/failure-" + std::to_string(s.index) + "-" + std::to_string(s.incarnation) + ".txt")
        << e.what() << "\n";
    code = 3;
  }
  _exit(code);  // no destructors, no atexit handlers of the parent's copy
}

// ---- the parent ---------------------------------------------------------------------------------

struct worker_slot {
  pid_t pid = -1;
  int control_w = -1;  // parent's end of the control pipe
  int report_r = -1;   // parent's end of the report pipe
  unsigned incarnation = 0;
  int kills = 0;
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

/// Kills and reaps every worker still running when the test leaves early (a failed REQUIRE).
struct reaper {
  explicit reaper(std::vector<worker_slot>& s) : slots(s) {}
  reaper(const reaper&) = delete;
  reaper& operator=(const reaper&) = delete;
  ~reaper() {
    for (auto& slot : slots) {
      if (slot.pid > 0) {
        ::kill(slot.pid, SIGKILL);
        ::waitpid(slot.pid, nullptr, 0);
      }
      close_fd(slot.control_w);
      close_fd(slot.report_r);
    }
  }
  std::vector<worker_slot>& slots;
};

void spawn(std::vector<worker_slot>& slots, unsigned w, worker_setup setup) {
  int control[2];
  int report[2];
  if (::pipe(control) != 0 || ::pipe(report) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    for (auto& other : slots) {  // the other workers' pipes are not this one's business
      close_fd(other.control_w);
      close_fd(other.report_r);
    }
    ::close(control[1]);
    ::close(report[0]);
    setup.control_fd = control[0];
    setup.report_fd = report[1];
    run_worker(setup);
  }
  ::close(control[0]);
  ::close(report[1]);
  auto& slot = slots[w];
  slot.pid = pid;
  slot.control_w = control[1];
  slot.report_r = report[0];
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Every complete line of every acknowledgement file (a line cut by a kill was not acknowledged).
std::vector<op_t> read_acks(const std::filesystem::path& dir) {
  std::vector<op_t> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("acks-", 0) != 0) continue;
    const std::string text = read_text(entry.path().string());
    std::size_t at = 0;
    for (std::size_t end; (end = text.find('\n', at)) != std::string::npos; at = end + 1) {
      std::istringstream line(text.substr(at, end - at));
      std::uint64_t lamport = 0, counter = 0;
      std::string replica_hex, body_hex;
      line >> lamport >> replica_hex >> counter >> body_hex;
      const auto replica = detail::from_hex(replica_hex);
      const auto body = detail::from_hex(body_hex);
      if (!line || !replica || !body)
        throw std::runtime_error("malformed acknowledgement line in " + entry.path().string());
      out.push_back(decode_op_body(K{lamport, *replica, counter}, *body));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("sqlite processes: writers in separate processes, killed at random, lose and duplicate nothing",
          "[sqlite][processes][crash]") {
  const treecrdt_test::scratch_dir dir;
  const std::string db = dir.file("shared.db");
  (void)sqlite_storage<K>::open(db);  // create the file before the workers race to

  // The foreign history, cut into late-op batches; batch b goes to worker b % 3 and, for even b, to
  // the next worker too.
  const auto foreign = treecrdt_test::seeded_batches(treecrdt_test::seeded_history<K>(61, 400, 3, 16), 62, 8, 5);
  std::vector<batch_list> shares(workers);
  for (std::size_t b = 0; b < foreign.size(); ++b) {
    shares[b % workers].push_back(foreign[b]);
    if (b % 2 == 0) shares[(b + 1) % workers].push_back(foreign[b]);
  }
  std::map<dot<bytes>, op_t> foreign_ops;
  for (const auto& batch : foreign)
    for (const auto& o : batch) foreign_ops.emplace(o.id(), o);

  const auto setup_for = [&](unsigned w, unsigned incarnation) {
    worker_setup s;
    s.index = w;
    s.incarnation = incarnation;
    s.db_path = db;
    s.dir = dir.path().string();
    s.batches = shares[w];
    return s;
  };
  std::vector<worker_slot> slots(workers);
  const reaper cleanup(slots);
  const auto started = std::chrono::steady_clock::now();
  for (unsigned w = 0; w < workers; ++w) spawn(slots, w, setup_for(w, 0));

  // The kill phase: a random worker dies every 20-200 ms and is started again at once.
  std::mt19937 rng(63);
  int kills = 0;
  std::vector<std::string> early_exits;
  while (kills < kill_budget && std::chrono::steady_clock::now() - started < kill_phase_limit) {
    ::usleep(static_cast<useconds_t>(20000 + rng() % 180000));
    for (unsigned w = 0; w < workers; ++w) {  // a worker must never end by itself
      int status = 0;
      if (::waitpid(slots[w].pid, &status, WNOHANG) == slots[w].pid) {
        early_exits.push_back(
            "worker " + std::to_string(w) + " incarnation " + std::to_string(slots[w].incarnation) +
            " exited with status " + std::to_string(status) + ": " +
            read_text(dir.file("failure-" + std::to_string(w) + "-" + std::to_string(slots[w].incarnation) + ".txt")));
        slots[w].pid = -1;
      }
    }
    if (!early_exits.empty()) break;
    const unsigned victim = static_cast<unsigned>(rng() % workers);
    auto& slot = slots[victim];
    ::kill(slot.pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(slot.pid, &status, 0) == slot.pid);
    slot.pid = -1;
    REQUIRE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    ++kills;
    ++slot.kills;
    close_fd(slot.control_w);
    close_fd(slot.report_r);
    spawn(slots, victim, setup_for(victim, ++slot.incarnation));
  }
  for (const auto& e : early_exits) FAIL_CHECK(e);
  if (!early_exits.empty()) FAIL("a worker failed");

  // The end: every worker stops; once all have, each catches up and writes its export.
  for (auto& slot : slots) send_byte(slot.control_w, 's');
  for (auto& slot : slots) REQUIRE(receive_byte(slot.report_r, pipe_timeout_ms) == 'S');
  for (auto& slot : slots) send_byte(slot.control_w, 'f');
  for (unsigned w = 0; w < workers; ++w) {
    auto& slot = slots[w];
    const char done = receive_byte(slot.report_r, pipe_timeout_ms);
    int status = 0;
    REQUIRE(::waitpid(slot.pid, &status, 0) == slot.pid);
    slot.pid = -1;
    INFO("worker " << w << ": "
                   << read_text(
                          dir.file("failure-" + std::to_string(w) + "-" + std::to_string(slot.incarnation) + ".txt")));
    REQUIRE(done == 'D');
    REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    close_fd(slot.control_w);
    close_fd(slot.report_r);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  // The log against the acknowledgements.
  treecrdt_test::acknowledged_ops<K> acked;
  const auto ack_lines = read_acks(dir.path());
  acked.add_all(ack_lines);
  for (const auto& c : acked.conflicts()) FAIL_CHECK("one op id acknowledged with two contents: " << c);
  sqlite_document reopened(sqlite_storage<K>::open(db), bytes("\x7f", 1), every_n_ops{4}, exponential_retention{1, 4});
  const auto log = treecrdt_test::log_of(reopened.storage());
  const auto check = acked.check(log);
  INFO(check.describe());
  CHECK(check.lost == 0);
  CHECK(check.duplicated == 0);
  CHECK(check.changed == 0);
  CHECK(check.found == check.acknowledged);
  CHECK(reopened.storage().op_count() == log.size());

  // Unacknowledged ops: the foreign history's (content checked), or a worker's own, at most one per
  // kill of that worker (the edit committed just before the kill, its acknowledgement not written).
  std::map<bytes, int> unacked_local;
  for (const auto& o : log) {
    if (const auto f = foreign_ops.find(o.id()); f != foreign_ops.end()) {
      CHECK(f->second == o);
      continue;
    }
    REQUIRE(o.key.replica.size() == 1);
    const unsigned w = static_cast<unsigned char>(o.key.replica[0]) - 0x40u;
    REQUIRE(w < workers);
    if (!acked.contains(o.id())) ++unacked_local[o.key.replica];
  }
  int unacked_total = 0;
  for (unsigned w = 0; w < workers; ++w) {
    CAPTURE(w);
    CHECK(unacked_local[worker_replica(w)] <= slots[w].kills);
    unacked_total += unacked_local[worker_replica(w)];
  }

  // Every checkpoint is valid; the reopened document and every surviving handle export the fold.
  std::vector<K> keys;
  for (const auto& o : log) keys.push_back(o.key);
  for (const auto& cp : reopened.storage().list_checkpoints())
    CHECK(cp.seq == static_cast<std::uint64_t>(std::upper_bound(keys.begin(), keys.end(), cp.key) - keys.begin()));
  const auto fold = treecrdt_test::fold_export<K>(log);
  CHECK(reopened.export_canonical() == fold);
  CHECK(reopened.head().seq == log.size());
  const std::string expected = "head_seq " + std::to_string(log.size()) + " op_count " + std::to_string(log.size()) +
                               "\n" + treecrdt_test::export_text(fold);
  for (unsigned w = 0; w < workers; ++w) {
    CAPTURE(w);
    CHECK(read_text(dir.file("export-" + std::to_string(w) + ".txt")) == expected);
  }

  std::cout << "sqlite processes: " << workers << " writer processes, " << kills << " SIGKILLs survived (";
  for (unsigned w = 0; w < workers; ++w) std::cout << (w ? ", " : "") << slots[w].kills;
  std::cout << " per worker) in " << seconds << " s; ops acknowledged " << check.acknowledged << " ("
            << ack_lines.size() << " acknowledgements), found " << check.found << ", lost " << check.lost
            << ", duplicated " << check.duplicated << ", changed " << check.changed << "; log " << log.size()
            << " ops, of which " << unacked_total
            << " local edits committed but cut off from their acknowledgement by a kill; " << workers
            << " surviving handles converged to the fold\n";
  CHECK(kills >= 10);
  CHECK(check.acknowledged >= 200);
}
