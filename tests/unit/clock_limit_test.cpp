// The clock rule and the size limits (limits.hpp): validation refuses ops past them, a local edit
// whose lamport or counter would pass the clock limit fails with clock_exhausted_error, and a
// refused batch stores nothing. Each limit is tested at its boundary: the limit itself is accepted,
// one more is refused.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "support/keys.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/op_codec.hpp"
#include "treecrdt/order_key.hpp"

using namespace treecrdt;
using treecrdt::testing::key;
using treecrdt::testing::nid;
using treecrdt::testing::replica;

namespace {

constexpr std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t clock_limit = limits::max_clock;

template <class Key>
using doc_of = document<Key, memory_storage<Key>>;

template <class Key>
[[nodiscard]] op<Key> insert_at(std::uint64_t lamport, int r, std::uint64_t counter, std::uint64_t node) {
  return make_insert(key<Key>(lamport, r, counter), root_node, nid(node), bytes("\x80"));
}

template <class Key>
void apply_one(doc_of<Key>& d, const op<Key>& o) {
  d.apply(std::span<const op<Key>>(&o, 1));
}

[[nodiscard]] std::string reason_of(const std::optional<std::string>& why) { return why.value_or("(valid)"); }

}  // namespace

TEST_CASE("the clock limit is 2^64 - 2^32 - 1", "[limits][clock]") {
  STATIC_REQUIRE(clock_limit == 18'446'744'069'414'584'319ULL);
  STATIC_REQUIRE(top - clock_limit == (std::uint64_t{1} << 32));
}

TEMPLATE_TEST_CASE("validation refuses lamports and counters past the clock limit", "[limits][clock]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  CHECK_FALSE(validation_error(insert_at<K>(clock_limit, 1, 1, 5)));
  CHECK_FALSE(validation_error(insert_at<K>(1, 1, clock_limit, 5)));
  CHECK(reason_of(validation_error(insert_at<K>(clock_limit + 1, 1, 1, 5))) ==
        "lamport 18446744069414584320 is above the limit 18446744069414584319");
  CHECK(reason_of(validation_error(insert_at<K>(top, 1, 1, 5))) ==
        "lamport 18446744073709551615 is above the limit 18446744069414584319");
  CHECK(reason_of(validation_error(insert_at<K>(1, 1, clock_limit + 1, 5))) ==
        "counter 18446744069414584320 is above the limit 18446744069414584319");
  CHECK(validation_error(insert_at<K>(1, 1, top, 5)).has_value());

  // A known_state naming a counter no op can carry is refused too.
  version_vector<typename K::replica_type> ks;
  ks.observe(replica<K>(2), clock_limit);
  CHECK_FALSE(validation_error(make_delete(key<K>(3, 1, 1), nid(5), ks)));
  ks.observe(replica<K>(2), clock_limit + 1);
  CHECK(reason_of(validation_error(make_delete(key<K>(3, 1, 1), nid(5), ks))).starts_with("known_state counter "));
  version_vector<typename K::replica_type> frontier_only;
  frontier_only.add_range(replica<K>(2), 1, top);
  CHECK(validation_error(make_tombstone(key<K>(3, 1, 1), nid(5), frontier_only)).has_value());
}

TEMPLATE_TEST_CASE("a remote op past the clock limit is refused and the clock keeps counting", "[limits][clock]",
                   default_op_key, compact_op_key) {
  using K = TestType;
  doc_of<K> d(memory_storage<K>{}, replica<K>(1));
  const op<K> hostile = insert_at<K>(top, 2, 1, 5);
  try {
    apply_one(d, hostile);
    FAIL("accepted lamport 2^64 - 1");
  } catch (const invalid_op_error& e) {
    CHECK(e.index() == 0);
    CHECK(e.reason() == "lamport 18446744073709551615 is above the limit 18446744069414584319");
  }
  CHECK(d.storage().op_count() == 0);
  CHECK(d.lamport() == 0);
  const op<K> mine = d.insert(root_node, position::last());
  CHECK(mine.key.lamport == 1);  // not 0: the hostile op left no trace
}

TEMPLATE_TEST_CASE("local edits stop with clock_exhausted_error at the clock limit", "[limits][clock]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  memory_storage<K> storage;
  doc_of<K> d(storage, replica<K>(1));
  apply_one(d, insert_at<K>(clock_limit - 1, 2, 1, 5));
  const op<K> last = d.set_payload(nid(5), bytes("x"));
  CHECK(last.key.lamport == clock_limit);  // the last lamport a replica may use
  CHECK_FALSE(validation_error(last));
  const std::uint64_t stored = d.storage().op_count();
  CHECK_THROWS_AS(d.set_payload(nid(5), bytes("y")), clock_exhausted_error);
  CHECK_THROWS_AS(d.insert(root_node, position::first()), clock_exhausted_error);
  CHECK_THROWS_AS(d.move(nid(5), root_node, position::first()), clock_exhausted_error);
  CHECK_THROWS_AS(d.remove(nid(5)), clock_exhausted_error);
  CHECK_THROWS_AS(d.clear_payload(nid(5)), clock_exhausted_error);
  CHECK(d.storage().op_count() == stored);
  CHECK(d.payload(nid(5)) == bytes("x"));
  CHECK(d.lamport() == clock_limit);

  // Remote ops are still accepted, and a reopened replica resumes at the same clock.
  apply_one(d, insert_at<K>(7, 3, 1, 6));
  CHECK(d.exists(nid(6)));
  doc_of<K> reopened(storage, replica<K>(1));
  CHECK(reopened.lamport() == clock_limit);
  CHECK_THROWS_AS(reopened.set_payload(nid(5), bytes("z")), clock_exhausted_error);
  CHECK(reopened.export_canonical() == d.export_canonical());
}

TEMPLATE_TEST_CASE("local edits stop when the replica's counter reaches the clock limit", "[limits][clock]",
                   default_op_key, compact_op_key) {
  using K = TestType;
  doc_of<K> d(memory_storage<K>{}, replica<K>(1));
  // Someone wrote under our replica id with a counter one below the limit.
  apply_one(d, insert_at<K>(1, 1, clock_limit - 1, 5));
  const op<K> last = d.set_payload(nid(5), bytes("x"));
  CHECK(last.key.counter == clock_limit);
  CHECK_FALSE(validation_error(last));
  try {
    (void)d.set_payload(nid(5), bytes("y"));
    FAIL("a local edit past the counter limit was accepted");
  } catch (const clock_exhausted_error& e) {
    CHECK(std::string(e.what()).find("counter") != std::string::npos);
  }
  CHECK(d.payload(nid(5)) == bytes("x"));
  // An op at the limit from another replica does not exhaust this replica's counter.
  doc_of<K> other(memory_storage<K>{}, replica<K>(9));
  apply_one(other, insert_at<K>(1, 1, clock_limit, 5));
  CHECK(other.set_payload(nid(5), bytes("x")).key.counter == 1);
}

TEMPLATE_TEST_CASE("each size limit accepts its value and refuses one more", "[limits]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  using R = typename K::replica_type;
  const K k = key<K>(2, 1, 1);

  const bytes long_key(limits::max_order_key_bytes, '\x80');
  CHECK_FALSE(validation_error(make_insert(k, root_node, nid(5), long_key)));
  CHECK_FALSE(validation_error(make_move(k, nid(5), root_node, long_key)));
  CHECK(reason_of(validation_error(make_move(k, nid(5), root_node, long_key + "\x01"))) ==
        "order_key size (bytes) 1025 is above the limit 1024");

  const bytes big_payload(limits::max_payload_bytes, 'p');
  CHECK_FALSE(validation_error(make_payload(k, nid(5), big_payload)));
  CHECK_FALSE(validation_error(make_insert(k, root_node, nid(5), long_key, big_payload)));
  CHECK(reason_of(validation_error(make_payload(k, nid(5), big_payload + "p"))) ==
        "payload size (bytes) 16777217 is above the limit 16777216");

  version_vector<R> wide;
  for (std::size_t i = 1; i <= limits::max_known_state_replicas; ++i) {
    if constexpr (std::is_integral_v<R>) {
      wide.observe(static_cast<R>(i), 1);
    } else {
      wide.observe(R{static_cast<char>(i >> 16), static_cast<char>(i >> 8), static_cast<char>(i)}, 1);
    }
  }
  CHECK_FALSE(validation_error(make_delete(k, nid(5), wide)));
  if constexpr (std::is_integral_v<R>) {
    wide.observe(R{1'000'000}, 1);
  } else {
    wide.observe(R("\x7f"), 1);
  }
  CHECK(reason_of(validation_error(make_delete(k, nid(5), wide))) ==
        "known_state replica count 65537 is above the limit 65536");

  version_vector<R> gappy;  // every other counter: one range each
  for (std::uint64_t c = 3; c < 3 + 2 * limits::max_known_state_ranges; c += 2) gappy.observe(replica<K>(2), c);
  REQUIRE(gappy.entries().begin()->second.ranges.size() == limits::max_known_state_ranges);
  CHECK_FALSE(validation_error(make_tombstone(k, nid(5), gappy)));
  gappy.observe(replica<K>(3), 5);
  CHECK(reason_of(validation_error(make_tombstone(k, nid(5), gappy))) ==
        "known_state range count 1048577 is above the limit 1048576");

  if constexpr (!std::is_integral_v<R>) {
    const R long_replica(limits::max_replica_bytes, 'r');
    K at_limit = k;
    at_limit.replica = long_replica;
    CHECK_FALSE(validation_error(make_payload(at_limit, nid(5), std::nullopt)));
    at_limit.replica += "r";
    CHECK(reason_of(validation_error(make_payload(at_limit, nid(5), std::nullopt))) ==
          "replica id size (bytes) 257 is above the limit 256");
    version_vector<R> ks;
    ks.observe(long_replica + "r", 1);
    CHECK(reason_of(validation_error(make_delete(k, nid(5), ks))) ==
          "known_state replica id size (bytes) 257 is above the limit 256");
  }
}

TEST_CASE("an op whose binary form passes 20 MiB is refused", "[limits]") {
  using K = default_op_key;
  // 65,536 replicas of 256 bytes with four far ranges each (9-byte varints): every count limit holds,
  // the size (about 21 MiB) does not.
  version_vector<bytes> ks;
  bytes r(limits::max_replica_bytes, 'a');
  constexpr std::uint64_t far = std::uint64_t{1} << 60;
  for (std::size_t i = 0; i < limits::max_known_state_replicas; ++i) {
    r[0] = static_cast<char>(i >> 8);
    r[1] = static_cast<char>(i);
    for (std::uint64_t j = 0; j < 4; ++j) ks.add_range(r, far + 10 * j, far + 10 * j + 1);
  }
  const op<K> o = make_delete(key<K>(2, 1, 1), nid(5), ks);
  const std::uint64_t size = encoded_size(o);
  CHECK(size > limits::max_op_bytes);
  CHECK(reason_of(validation_error(o)) ==
        "op size (bytes) " + std::to_string(size) + " is above the limit " + std::to_string(limits::max_op_bytes));
}

TEMPLATE_TEST_CASE("encoded_size is the size of the key plus the op body", "[limits]", default_op_key, compact_op_key) {
  using K = TestType;
  version_vector<typename K::replica_type> ks;
  ks.add_range(replica<K>(2), 1, 300);
  ks.add_range(replica<K>(2), 1'000, std::uint64_t{1} << 40);
  ks.observe(replica<K>(7), 9);
  const std::vector<op<K>> ops{
      make_insert(key<K>(1, 1, 1), root_node, nid(5), bytes("\x80")),
      make_insert(key<K>(clock_limit, 1, clock_limit), root_node, nid(5), bytes(200, 'k'), bytes(70'000, 'p')),
      make_move(key<K>(300, 1, 2), nid(5), trash_node, {}),
      make_delete(key<K>(1u << 20, 1, 3), nid(5), ks),
      make_tombstone(key<K>(5, 1, 4), nid(5)),
      make_payload(key<K>(6, 1, 5), nid(5), std::nullopt)};
  for (const auto& o : ops) {
    std::string key_bytes;
    detail::binary_writer w(key_bytes);
    encode_key(w, o.key);
    CHECK(encoded_size(o) == key_bytes.size() + encode_op_body(o).size());
  }
}

TEMPLATE_TEST_CASE("batch limits name the first op past them", "[limits]", default_op_key, compact_op_key) {
  using K = TestType;
  std::vector<op<K>> batch;
  for (std::uint64_t c = 1; c <= 5; ++c) batch.push_back(insert_at<K>(c, 1, c, 10 + c));
  const std::span<const op<K>> all(batch);
  CHECK_NOTHROW(check_batch_limits(all, 5));
  try {
    check_batch_limits(all, 4);
    FAIL("a batch over the op limit passed");
  } catch (const invalid_op_error& e) {
    CHECK(e.index() == 4);
    CHECK(e.reason() == "the batch has 5 ops, more than the limit 4");
  }
  std::uint64_t total = 0;
  for (const auto& o : batch) total += encoded_size(o);
  CHECK_NOTHROW(check_batch_limits(all, 5, total));
  try {
    check_batch_limits(all, 5, total - 1);
    FAIL("a batch over the byte limit passed");
  } catch (const invalid_op_error& e) {
    CHECK(e.index() == 4);
  }
  CHECK_NOTHROW(check_batch_limits(all));  // the defaults
}

TEMPLATE_TEST_CASE("a batch with an op past a limit is refused whole", "[limits]", default_op_key, compact_op_key) {
  using K = TestType;
  doc_of<K> d(memory_storage<K>{}, replica<K>(1));
  std::vector<op<K>> batch{insert_at<K>(1, 2, 1, 5), insert_at<K>(2, 2, 2, 6),
                           make_payload(key<K>(3, 2, 3), nid(5), bytes(limits::max_payload_bytes + 1, 'p')),
                           insert_at<K>(4, 2, 4, 7)};
  try {
    d.apply(std::span<const op<K>>(batch));
    FAIL("an oversized payload was accepted");
  } catch (const invalid_op_error& e) {
    CHECK(e.index() == 2);
    CHECK(e.reason() == "payload size (bytes) 16777217 is above the limit 16777216");
    CHECK(std::string(e.what()).find("invalid op #2 payload (lamport 3,") == 0);
  }
  CHECK(d.storage().op_count() == 0);
  CHECK_FALSE(d.exists(nid(5)));
  CHECK(d.version().empty());
  batch[2].payload = bytes(limits::max_payload_bytes, 'p');
  d.apply(std::span<const op<K>>(batch));
  CHECK(d.storage().op_count() == 4);
  CHECK(d.payload(nid(5))->size() == limits::max_payload_bytes);
}

TEMPLATE_TEST_CASE("local inserts next to an order key at the size limit stay valid", "[limits]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  const bytes widest(limits::max_order_key_bytes, '\xff');
  CHECK(order_key_between(widest, std::nullopt, 1).size() <= limits::max_order_key_bytes);
  CHECK(order_key_between(std::nullopt, bytes(limits::max_order_key_bytes, '\0'), 1).size() <=
        limits::max_order_key_bytes);

  doc_of<K> d(memory_storage<K>{}, replica<K>(1));
  apply_one(d, make_insert(key<K>(1, 2, 1), root_node, nid(5), widest));
  const op<K> after = d.insert(root_node, position::after(nid(5)));
  CHECK_FALSE(validation_error(after));
  CHECK(after.order_key.size() <= limits::max_order_key_bytes);
  const op<K> before = d.insert(root_node, position::before(nid(5)));
  CHECK_FALSE(validation_error(before));
  CHECK(d.children(root_node).size() == 3);
}
