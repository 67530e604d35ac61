// Plugging your own types into treecrdt::document:
//   - `counting_storage<Inner>`: a storage policy that wraps any other one and counts the calls the
//     document makes — every member the Storage concept requires, in a few lines each;
//   - `device_key`: an op key whose replica is a 32-bit device number instead of a byte string.
// The counts show what opening, editing, reopening and a late op cost at the storage level.
#include <compare>
#include <cstdint>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "treecrdt/document.hpp"

// ---- a custom op key -------------------------------------------------------------------------

struct device_key {
  using replica_type = std::uint32_t;
  std::uint64_t lamport = 0;
  replica_type replica = 0;
  std::uint64_t counter = 0;
  friend constexpr auto operator<=>(const device_key&, const device_key&) = default;  // (lamport, replica, counter)
};

// How the replica is written into checkpoints, databases and JSON: 4 bytes big-endian, so byte
// order is numeric order.
template <>
struct treecrdt::replica_codec<std::uint32_t> {
  [[nodiscard]] static bytes to_bytes(std::uint32_t r) {
    return {static_cast<char>(r >> 24), static_cast<char>(r >> 16), static_cast<char>(r >> 8), static_cast<char>(r)};
  }
  [[nodiscard]] static std::uint32_t from_bytes(std::string_view b) {
    if (b.size() != 4) throw detail::decode_failure("device replica id must be 4 bytes");
    std::uint32_t r = 0;
    for (const unsigned char c : b) r = (r << 8) | c;
    return r;
  }
};
static_assert(treecrdt::OpKey<device_key>);

// ---- a custom storage policy -------------------------------------------------------------------

struct storage_calls {
  std::uint64_t transactions = 0, batches_appended = 0, scans = 0, ops_scanned = 0;
  std::uint64_t checkpoints_saved = 0, checkpoints_loaded = 0, checkpoints_dropped = 0;
};

template <treecrdt::Storage Inner>
class counting_storage {
 public:
  using key_type = typename Inner::key_type;
  using op_type = treecrdt::op<key_type>;
  using transaction = typename Inner::transaction;  // RAII: rolls back unless committed

  explicit counting_storage(Inner inner) : inner_(std::move(inner)) {}

  [[nodiscard]] transaction begin() {
    ++calls_.transactions;
    return inner_.begin();
  }
  [[nodiscard]] std::vector<std::size_t> append(std::span<const op_type> batch) {
    ++calls_.batches_appended;
    return inner_.append(batch);
  }
  template <class Visit>
  void scan_after(const std::optional<key_type>& after, Visit&& visit) {
    ++calls_.scans;
    inner_.scan_after(after, [&](const op_type& o) {
      ++calls_.ops_scanned;
      visit(o);
    });
  }
  [[nodiscard]] std::uint64_t op_count() { return inner_.op_count(); }
  [[nodiscard]] std::uint64_t max_lamport() { return inner_.max_lamport(); }
  [[nodiscard]] std::uint64_t max_counter(const treecrdt::replica_of<key_type>& r) { return inner_.max_counter(r); }
  [[nodiscard]] treecrdt::materialization_meta<key_type> load_meta() { return inner_.load_meta(); }
  void store_meta(const treecrdt::materialization_meta<key_type>& meta) { inner_.store_meta(meta); }
  std::uint64_t save_checkpoint(const key_type& key, std::uint64_t seq, std::string_view blob,
                                const std::optional<key_type>& base = std::nullopt) {
    ++calls_.checkpoints_saved;
    return inner_.save_checkpoint(key, seq, blob, base);
  }
  [[nodiscard]] auto latest_checkpoint_before(const std::optional<key_type>& bound) {
    return inner_.latest_checkpoint_before(bound);
  }
  [[nodiscard]] treecrdt::bytes load_checkpoint(std::uint64_t id) {
    ++calls_.checkpoints_loaded;
    return inner_.load_checkpoint(id);
  }
  std::uint64_t drop_checkpoints_from(const key_type& key) {
    const std::uint64_t n = inner_.drop_checkpoints_from(key);
    calls_.checkpoints_dropped += n;
    return n;
  }
  void drop_checkpoint(std::uint64_t id) {
    ++calls_.checkpoints_dropped;
    inner_.drop_checkpoint(id);
  }
  [[nodiscard]] auto list_checkpoints() { return inner_.list_checkpoints(); }

  [[nodiscard]] const storage_calls& calls() const noexcept { return calls_; }
  [[nodiscard]] Inner& inner() noexcept { return inner_; }

 private:
  Inner inner_;
  storage_calls calls_;
};

using counted_memory = counting_storage<treecrdt::memory_storage<device_key>>;
static_assert(treecrdt::Storage<counted_memory>);

// ---- using them --------------------------------------------------------------------------------

using doc = treecrdt::document<device_key, counted_memory>;

namespace {
void report(const char* step, doc& d) {
  const storage_calls& c = d.storage().calls();
  std::cout << step << ": " << c.transactions << " transactions, " << c.batches_appended << " batches, " << c.scans
            << " scans reading " << c.ops_scanned << " ops, checkpoints " << c.checkpoints_saved << " saved / "
            << c.checkpoints_loaded << " loaded / " << c.checkpoints_dropped << " dropped\n";
}
}  // namespace

int main() try {
  using namespace treecrdt;
  const memory_storage<device_key> database;  // copies of the handle share the data
  const every_n_ops cadence{16};

  doc tablet(counted_memory(database), 7, cadence);  // replica: device 7
  report("opened an empty document", tablet);

  const node_id list = tablet.insert(root_node, position::last(), bytes("list")).node;
  for (int i = 1; i < 100; ++i) tablet.insert(list, position::last(), bytes("item " + std::to_string(i)));
  report("100 local edits", tablet);

  // A watch (device 9) synced once, after 40 edits, and made an edit offline: it reaches the
  // tablet only now, far behind the tablet's head.
  doc watch(counted_memory(memory_storage<device_key>{}), 9, cadence);
  std::vector<doc::op_type> first_40;
  for (auto& o : tablet.ops_since({}))
    if (o.key.counter <= 40) first_40.push_back(std::move(o));
  watch.apply(first_40);
  const auto late = watch.insert(list, position::first(), bytes("from the watch"));

  doc reopened(counted_memory(database), 7, cadence);
  report("reopened (restore + replay the suffix)", reopened);

  reopened.apply(std::span<const doc::op_type>(&late, 1));
  report("reopened + one late op", reopened);
  const auto& stats = reopened.stats();
  std::cout << "late op caught up from the checkpoint at seq "
            << (stats.restored_checkpoint ? std::to_string(stats.restored_checkpoint->seq) : "none (start)")
            << ", replaying " << stats.ops_replayed_last_catch_up << " of " << reopened.storage().op_count()
            << " ops\n";
  std::cout << "first item: " << *reopened.payload(reopened.children(list).front()) << " (replica " << late.key.replica
            << ")\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "custom_storage failed: " << e.what() << '\n';
  return 2;
}
