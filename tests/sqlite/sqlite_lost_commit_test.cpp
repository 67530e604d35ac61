// Reproducer of a document bug found while writing the killed-writer tests (document.hpp, not fixed
// here). A networked storage (PostgreSQL) can report a lost connection for a COMMIT that the server
// did carry out; when the rebuild after it fails too (the connection is still down), the document
// keeps the clock it had before the committed edit. The next local edit takes its key before the
// rebuild (next_key() runs before ensure_usable()), reuses the committed op's (replica, counter) with
// other content, and fails with conflicting_op_error — a non-retryable error for the application's
// own edit. A repeat of the very same edit happens to produce an identical op (a harmless duplicate),
// so only a different edit shows it. Tagged [!shouldfail] until the local edits rebuild before they
// take a key; then remove the tag.
//
// The storage here is sqlite_storage behind a wrapper whose commit can go through and then throw a
// retryable "connection lost", and whose begin() can fail: what a PostgreSQL client sees when its
// link drops during COMMIT, made deterministic.
#include <catch2/catch.hpp>

#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "treecrdt/document.hpp"
#include "treecrdt/storage/sqlite.hpp"

using namespace treecrdt;

namespace {

using K = default_op_key;

class lossy_storage {
 public:
  using key_type = K;
  using op_type = op<K>;
  using checkpoint_type = checkpoint_info<K>;

  struct switches {
    bool lose_next_commit_reply = false;  // commit, then report the connection lost ...
    int begins_failing_after_it = 0;      // ... and fail this many begins after that
    int failing_begins = 0;
  };

  class transaction {
   public:
    transaction(sqlite_storage<K>::transaction inner, switches& s) : inner_(std::move(inner)), s_(&s) {}
    void commit() {
      inner_.commit();
      if (!std::exchange(s_->lose_next_commit_reply, false)) return;
      s_->failing_begins = s_->begins_failing_after_it;
      throw storage_error("test", "connection", "commit: connection lost before the reply", true);
    }

   private:
    sqlite_storage<K>::transaction inner_;
    switches* s_;
  };

  lossy_storage(sqlite_storage<K> inner, switches& s) : inner_(std::move(inner)), s_(&s) {}

  transaction begin() {
    if (s_->failing_begins > 0) {
      --s_->failing_begins;
      throw storage_error("test", "connection", "begin: connection lost", true);
    }
    return transaction(inner_.begin(), *s_);
  }
  std::vector<std::size_t> append(std::span<const op_type> batch) { return inner_.append(batch); }
  template <class Visitor>
  void scan_after(const std::optional<K>& after, Visitor&& visit) {
    inner_.scan_after(after, std::forward<Visitor>(visit));
  }
  std::uint64_t op_count() { return inner_.op_count(); }
  std::uint64_t max_lamport() { return inner_.max_lamport(); }
  std::uint64_t max_counter(const replica_of<K>& r) { return inner_.max_counter(r); }
  materialization_meta<K> load_meta() { return inner_.load_meta(); }
  void store_meta(const materialization_meta<K>& m) { inner_.store_meta(m); }
  std::uint64_t save_checkpoint(const K& key, std::uint64_t seq, std::string_view blob,
                                const std::optional<K>& base = std::nullopt) {
    return inner_.save_checkpoint(key, seq, blob, base);
  }
  std::optional<checkpoint_type> latest_checkpoint_before(const std::optional<K>& bound) {
    return inner_.latest_checkpoint_before(bound);
  }
  bytes load_checkpoint(std::uint64_t id) { return inner_.load_checkpoint(id); }
  std::uint64_t drop_checkpoints_from(const K& key) { return inner_.drop_checkpoints_from(key); }
  void drop_checkpoint(std::uint64_t id) { inner_.drop_checkpoint(id); }
  std::vector<checkpoint_type> list_checkpoints() { return inner_.list_checkpoints(); }

 private:
  sqlite_storage<K> inner_;
  switches* s_;
};
static_assert(Storage<lossy_storage>);

}  // namespace

TEST_CASE("sqlite lost commit reply: a local edit after a failed rebuild takes a fresh counter", "[sqlite][faults]") {
  lossy_storage::switches sw;
  document<K, lossy_storage> doc(lossy_storage(sqlite_storage<K>::open(":memory:"), sw), bytes("\x01", 1));
  const node_id a = doc.insert(root_node, position::last(), bytes("a")).node;

  sw.lose_next_commit_reply = true;  // the edit is committed, the reply is lost ...
  sw.begins_failing_after_it = 1;    // ... and the rebuild after it cannot reach the storage either
  CHECK_THROWS_AS(doc.set_payload(a, bytes("first")), storage_error);
  CHECK(doc.storage().op_count() == 2);  // it was committed

  // The application goes on with another edit once the storage is back.
  std::optional<op<K>> second;
  CHECK_NOTHROW(second = doc.set_payload(a, bytes("second")));
  CHECK(doc.payload(a) == std::optional<bytes>(bytes("second")));
  CHECK(doc.storage().op_count() == 3);
}
