// Hostile bytes for the binary decoders (found while fuzzing them, tests/fuzz/): each decoder
// accepts exactly the canonical form its encoder writes, so equal values have equal bytes, and
// version vectors stay exact at counters next to 2^64.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include "treecrdt/op_codec.hpp"
#include "treecrdt/version_vector.hpp"

using namespace treecrdt;

namespace {

constexpr std::uint64_t top = std::numeric_limits<std::uint64_t>::max();

[[nodiscard]] std::uint64_t read_varint(const std::string& in) {
  detail::binary_reader r(in);
  const std::uint64_t v = r.varint();
  if (!r.at_end()) throw detail::decode_failure("trailing bytes");
  return v;
}

[[nodiscard]] std::string encode_vv(const version_vector<bytes>& vv) {
  std::string out;
  detail::binary_writer w(out);
  encode_version_vector(w, vv);
  return out;
}

[[nodiscard]] version_vector<bytes> decode_vv(const std::string& in) {
  detail::binary_reader r(in);
  auto vv = decode_version_vector<bytes>(r);
  if (!r.at_end()) throw detail::decode_failure("trailing bytes");
  return vv;
}

// The raw binary form of one entry with the given frontier and ranges.
[[nodiscard]] std::string one_entry(const std::string& replica, std::uint64_t frontier,
                                    std::initializer_list<counter_range> ranges) {
  std::string out;
  detail::binary_writer w(out);
  w.varint(1);
  w.byte_string(replica);
  w.varint(frontier);
  w.varint(ranges.size());
  for (const auto& cr : ranges) {
    w.varint(cr.first);
    w.varint(cr.last);
  }
  return out;
}

}  // namespace

TEST_CASE("varints: one encoding per value, nothing past 64 bits", "[codec]") {
  for (const std::uint64_t v : {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{128}, top - 1, top}) {
    std::string out;
    detail::binary_writer(out).varint(v);
    CHECK(out.size() == detail::varint_size(v));
    CHECK(read_varint(out) == v);
  }
  CHECK(read_varint(std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10)) == top);
  CHECK_THROWS_AS(read_varint(std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10)), detail::decode_failure);
  CHECK_THROWS_AS(read_varint(std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81\x00", 11)), detail::decode_failure);
  CHECK_THROWS_AS(read_varint(std::string("\x80\x00", 2)), detail::decode_failure);  // 0 written in two bytes
  CHECK_THROWS_AS(read_varint(std::string("\x85\x00", 2)), detail::decode_failure);  // 5 written in two bytes
  CHECK_THROWS_AS(read_varint(std::string("\x80", 1)), detail::decode_failure);      // truncated
}

TEST_CASE("version vectors stay exact next to counter 2^64 - 1", "[codec][version_vector]") {
  const bytes a("a");
  version_vector<bytes> vv;
  vv.observe(a, top);
  vv.observe(a, top - 1);  // used to be appended after [top, top]: unsorted ranges
  vv.observe(a, 5);
  REQUIRE(vv.entries().begin()->second.ranges.size() == 2);
  CHECK(vv.entries().begin()->second.ranges[0] == counter_range{5, 5});
  CHECK(vv.entries().begin()->second.ranges[1] == counter_range{top - 1, top});
  CHECK(vv.contains(a, top - 1));
  CHECK_FALSE(vv.contains(a, top - 2));

  vv.add_range(a, 1, top);  // a frontier of 2^64 - 1 absorbs every range
  CHECK(vv.entries().begin()->second.frontier == top);
  CHECK(vv.entries().begin()->second.ranges.empty());
  version_vector<bytes> full;
  full.add_range(a, 1, top);
  CHECK(vv == full);

  version_vector<bytes> touching;
  touching.add_range(a, 10, top);
  touching.add_range(a, 3, 9);
  CHECK(touching.entries().begin()->second.ranges == std::vector<counter_range>{{3, top}});
  CHECK(decode_vv(encode_vv(touching)) == touching);
}

TEST_CASE("the binary version vector decoder accepts only the canonical form", "[codec][version_vector]") {
  CHECK(decode_vv(one_entry("a", 3, {{5, 7}, {9, 9}})).contains(bytes("a"), 9));
  CHECK_THROWS_AS(decode_vv(one_entry("a", 0, {})), detail::decode_failure);                // empty entry
  CHECK_THROWS_AS(decode_vv(one_entry("a", 3, {{4, 7}})), detail::decode_failure);          // touches frontier
  CHECK_THROWS_AS(decode_vv(one_entry("a", 0, {{1, 7}})), detail::decode_failure);          // is the frontier
  CHECK_THROWS_AS(decode_vv(one_entry("a", 3, {{9, 9}, {5, 7}})), detail::decode_failure);  // out of order
  CHECK_THROWS_AS(decode_vv(one_entry("a", 3, {{5, 7}, {8, 9}})), detail::decode_failure);  // touching
  CHECK_THROWS_AS(decode_vv(one_entry("a", 3, {{5, 7}, {6, 9}})), detail::decode_failure);  // overlapping
  CHECK_THROWS_AS(decode_vv(one_entry("a", 3, {{7, 5}})), detail::decode_failure);          // first > last
  CHECK_THROWS_AS(decode_vv(one_entry("a", 3, {{0, 5}})), detail::decode_failure);          // counter 0

  version_vector<bytes> two;
  two.observe(bytes("a"), 1);
  two.observe(bytes("b"), 1);
  const std::string canonical = encode_vv(two);
  CHECK(decode_vv(canonical) == two);
  std::string swapped = canonical;  // bytes: 02 | 01 'a' 01 00 | 01 'b' 01 00 -> entries b, a
  std::swap(swapped[2], swapped[6]);
  CHECK_THROWS_AS(decode_vv(swapped), detail::decode_failure);
  std::string twice = canonical;  // entries a, a
  twice[6] = 'a';
  CHECK_THROWS_AS(decode_vv(twice), detail::decode_failure);
}

TEST_CASE("op bodies: a flag byte other than 0 or 1 is malformed", "[codec]") {
  default_op_key k;
  k.lamport = 1;
  k.counter = 1;
  const auto o = make_payload(k, node_id{0, 5}, bytes("x"));
  std::string body = encode_op_body(o);
  CHECK(decode_op_body(k, body) == o);
  const std::size_t payload_flag = 2 + 16 + 16 + 1;  // format, kind, node, parent, empty order key
  REQUIRE(body[payload_flag] == '\x01');
  body[payload_flag] = '\x02';
  CHECK_THROWS_AS(decode_op_body(k, body), detail::decode_failure);
}

// memory_store writes snapshot records through detail::raw_writer into room sized beforehand; the
// bytes must be exactly binary_writer's, or snapshots would not decode.
TEST_CASE("raw_writer writes binary_writer's bytes, within the bounds it states", "[codec]") {
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  const auto next = [&] {  // xorshift: values of every magnitude
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state >> (state % 64);
  };
  version_vector<bytes> vv;
  vv.add_range("alpha", 1, 40);
  vv.observe("alpha", 45);
  vv.observe("beta", 3);
  vv.add_range("gamma", 1, 1000000);
  for (int round = 0; round < 200; ++round) {
    std::string expected;
    detail::binary_writer w(expected);
    std::string actual(4096, '\0');
    detail::raw_writer r(actual.data());
    std::size_t bound = 0;
    for (int i = 0; i < 20; ++i) {
      const std::uint64_t v = next();
      switch (v % 5) {
        case 0:
          w.varint(v);
          r.varint(v);
          bound += detail::raw_writer::varint_bound;
          break;
        case 1:
          w.fixed64(v);
          r.fixed64(v);
          bound += 8;
          break;
        case 2:
          w.u8(static_cast<std::uint8_t>(v));
          r.u8(static_cast<std::uint8_t>(v));
          bound += 1;
          break;
        case 3: {
          const std::string s(v % 40, static_cast<char>(v));
          w.byte_string(s);
          r.byte_string(s);
          bound += detail::raw_writer::varint_bound + s.size();
          break;
        }
        default: {
          const auto index = [](auto& out, const bytes& name) { out.varint(name.size()); };
          encode_version_vector(w, vv, index);
          encode_version_vector(r, vv, index);
          bound += encoded_size_bound(vv, detail::raw_writer::varint_bound);
        }
      }
    }
    actual.resize(static_cast<std::size_t>(r.end() - actual.data()));
    REQUIRE(actual == expected);
    CHECK(actual.size() <= bound);
  }
}
