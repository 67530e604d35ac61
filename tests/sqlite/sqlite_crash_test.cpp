// Crash safety (SPEC §8 atomicity): a child process applies batches with late ops through a
// document on a SQLite file and acknowledges each batch over a pipe once apply() has returned; the
// parent kills it with SIGKILL at random moments, many times. After every kill the file must hold
// every acknowledged batch, plus at most the one batch that was in flight — whole or not at all —
// and nothing else; every checkpoint left must be valid; and a reopened document must export the
// fold of exactly those batches. The next child continues on the same file after the recovery.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "sqlite/sqlite_document_support.hpp"
#include "sqlite/sqlite_test_support.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/storage/sqlite.hpp"
#include "treecrdt/store/sqlite_store.hpp"

using namespace treecrdt;

namespace {

using K = default_op_key;
using batch_list = std::vector<std::vector<op<K>>>;
using sqlite_document = document<K, sqlite_storage<K>, memory_store<K>, every_n_ops, exponential_retention>;
// The tree in the file's tables: the kill also lands while rows, journal chunks and verdicts are written.
using table_document = document<K, sqlite_storage<K>, sqlite_store<K>, every_n_ops, exponential_retention>;

const bytes local_replica("\x01", 1);

/// The child: applies batches[start..] and writes each batch index to `fd` after apply returns.
/// Never returns; exit code 0 = all batches done, 3 = an exception, 4 = the pipe broke.
template <class Doc>
[[noreturn]] void run_writer(const std::string& path, const batch_list& batches, std::size_t start, int fd) {
  int code = 0;
  try {
    // Small cadence and retention unit, so kills also land while checkpoints are written and pruned.
    Doc doc(sqlite_storage<K>::open(path), local_replica, every_n_ops{8}, exponential_retention{2, 8});
    for (std::size_t i = start; i < batches.size() && code == 0; ++i) {
      doc.apply(batches[i]);
      const auto ack = static_cast<std::uint32_t>(i);
      if (write(fd, &ack, sizeof ack) != static_cast<ssize_t>(sizeof ack)) code = 4;
    }
  } catch (...) {
    code = 3;
  }
  _exit(code);  // no destructors, no atexit handlers of the parent's copy
}

/// Reads one acknowledgement; false at end of file (the child is gone and everything was read).
bool read_ack(int fd, std::uint32_t& ack) {
  std::size_t got = 0;
  auto* out = reinterpret_cast<char*>(&ack);
  while (got < sizeof ack) {
    const ssize_t n = read(fd, out + got, sizeof ack - got);
    if (n == 0) return false;
    if (n < 0) throw std::runtime_error("reading the acknowledgement pipe failed");
    got += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

TEMPLATE_TEST_CASE("sqlite crash: a killed writer leaves the acknowledged batches plus at most one whole batch",
                   "[sqlite][crash]", sqlite_document, table_document) {
  using Doc = TestType;
  treecrdt_test::temp_dir dir;
  const auto path = dir.file("crash.db");
  const batch_list batches =
      treecrdt_test::seeded_batches(treecrdt_test::seeded_history<K>(21, 2000, 4, 60), 22, 24, 8);
  std::map<dot<bytes>, std::pair<std::size_t, std::size_t>> where;  // op id -> (batch, position)
  for (std::size_t b = 0; b < batches.size(); ++b)
    for (std::size_t i = 0; i < batches[b].size(); ++i) where.emplace(batches[b][i].id(), std::pair{b, i});

  document<K> expected(memory_storage<K>{}, local_replica);  // fed the batches known to be in the file
  std::size_t expected_batches = 0;
  std::size_t present = 0;  // batches in the file: the next child starts there
  std::mt19937 rng(23);
  int rounds = 0, kills = 0, in_flight_kept = 0, in_flight_lost = 0;

  for (; rounds < 30 && present < batches.size(); ++rounds) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      run_writer<Doc>(path, batches, present, fds[1]);
    }
    close(fds[1]);
    // Kill after a random number of acknowledgements plus a random delay: the kill point varies
    // over opening, appending, checkpointing and committing whatever the machine's speed.
    const unsigned acks_before_kill = static_cast<unsigned>(rng() % 10);
    const auto delay_us = static_cast<useconds_t>(rng() % 4000);
    std::optional<std::uint32_t> last_ack;
    std::uint32_t ack = 0;
    for (unsigned n = 0; n < acks_before_kill && read_ack(fds[0], ack); ++n) last_ack = ack;
    usleep(delay_us);
    kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    while (read_ack(fds[0], ack)) last_ack = ack;  // acks written before the kill
    close(fds[0]);
    INFO("round " << rounds << ", started at batch " << present);
    const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    REQUIRE((killed || (WIFEXITED(status) && WEXITSTATUS(status) == 0)));
    kills += killed ? 1 : 0;
    const std::size_t acked = last_ack ? *last_ack + 1 : present;  // batches [0, acked) were acknowledged
    REQUIRE(acked >= present);

    {
      // The log: whole acknowledged batches, the in-flight batch whole or absent, nothing else.
      auto s = sqlite_storage<K>::open(path);
      std::vector<std::size_t> stored_per_batch(batches.size(), 0);
      std::vector<K> keys;
      s.scan_after(std::nullopt, [&](const op<K>& o) {
        const auto it = where.find(o.id());
        REQUIRE(it != where.end());
        REQUIRE(batches[it->second.first][it->second.second] == o);
        ++stored_per_batch[it->second.first];
        keys.push_back(o.key);
      });
      for (std::size_t b = 0; b < acked; ++b) REQUIRE(stored_per_batch[b] == batches[b].size());
      bool in_flight_present = false;
      if (acked < batches.size()) {
        REQUIRE((stored_per_batch[acked] == 0 || stored_per_batch[acked] == batches[acked].size()));
        in_flight_present = stored_per_batch[acked] != 0;
      }
      for (std::size_t b = acked + 1; b < batches.size(); ++b) REQUIRE(stored_per_batch[b] == 0);
      CHECK(s.op_count() == keys.size());
      // Every checkpoint left describes a prefix of this log: seq = number of ops with key <= its head.
      for (const auto& cp : s.list_checkpoints())
        REQUIRE(cp.seq ==
                static_cast<std::uint64_t>(std::upper_bound(keys.begin(), keys.end(), cp.key) - keys.begin()));
      if (killed && acked < batches.size()) (in_flight_present ? in_flight_kept : in_flight_lost) += 1;
      present = acked + (in_flight_present ? 1 : 0);
    }
    while (expected_batches < present) expected.apply(batches[expected_batches++]);
    Doc doc(sqlite_storage<K>::open(path), local_replica, every_n_ops{8}, exponential_retention{2, 8});
    REQUIRE(doc.export_canonical() == expected.export_canonical());
    REQUIRE(doc.head().seq == doc.storage().op_count());
  }
  INFO(rounds << " rounds, " << kills << " kills, in-flight batch kept " << in_flight_kept << " times, lost "
              << in_flight_lost << " times, " << present << " of " << batches.size() << " batches stored");
  CHECK(rounds == 30);
  CHECK(kills == rounds);  // no child ran out of batches: every round really ended in SIGKILL
  CHECK(present > 30);
}
