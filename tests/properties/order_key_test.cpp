// SPEC §7 order keys: strictly between the neighbours, deterministic, short under repeated appends.
#include <rapidcheck/catch.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "treecrdt/detail/hex.hpp"
#include "treecrdt/order_key.hpp"

using treecrdt::bytes;
using treecrdt::order_key_between;

namespace {

// Byte strings with the interesting bytes (0x00, 0xff, the 0x7f/0x80 sign boundary) made common.
rc::Gen<bytes> gen_raw_key() {
  const auto byte =
      rc::gen::oneOf(rc::gen::elementOf(std::vector<char>{'\x00', '\x01', '\x7f', '\x80', '\x81', '\xfe', '\xff'}),
                     rc::gen::arbitrary<char>());
  return rc::gen::resize(6, rc::gen::container<bytes>(byte));
}

// A bound: usually a key, sometimes open.
rc::Gen<std::optional<bytes>> gen_bound() {
  return rc::gen::weightedOneOf<std::optional<bytes>>(
      {{1, rc::gen::just(std::optional<bytes>())},
       {5, rc::gen::map(gen_raw_key(), [](const bytes& b) { return std::optional<bytes>(b); })}});
}

[[nodiscard]] bool all_zero(std::string_view s) {
  for (char ch : s)
    if (ch != '\0') return false;
  return true;
}

/// Whether some non-empty key not ending in 0x00 lies strictly between the bounds (absent = open).
/// Such keys exist unless hi is lo followed only by zero bytes (or, with lo open, hi is all zeros):
/// every key between lo and lo+"\0…\0" is itself lo+"\0…" and so ends in 0x00.
[[nodiscard]] bool room_between(const std::optional<bytes>& lo, const std::optional<bytes>& hi) {
  if (!hi) return true;
  if (!lo) return !all_zero(*hi);
  return !(hi->size() > lo->size() && hi->compare(0, lo->size(), *lo) == 0 &&
           all_zero(std::string_view(*hi).substr(lo->size())));
}

std::optional<std::string_view> view(const std::optional<bytes>& b) {
  if (!b) return std::nullopt;
  return std::string_view(*b);
}

std::string show(const std::optional<bytes>& b) { return b ? treecrdt::detail::to_hex(*b) : std::string("open"); }

/// The key between the bounds, checked: strictly inside when there is room, else a neighbour's key.
bytes checked_between(const std::optional<bytes>& lo, const std::optional<bytes>& hi, std::uint64_t seed) {
  const bytes k = order_key_between(view(lo), view(hi), seed);
  RC_ASSERT(k == order_key_between(view(lo), view(hi), seed));  // deterministic
  const bool inside = (!lo || *lo < k) && (!hi || k < *hi);
  if (!inside) {
    const bool fallback_allowed = !room_between(lo, hi) && k == (lo ? *lo : *hi);
    if (!fallback_allowed)
      RC_FAIL("key " + treecrdt::detail::to_hex(k) + " not strictly between " + show(lo) + " and " + show(hi));
  }
  return k;
}

}  // namespace

TEST_CASE("order keys: the room_between oracle matches hand-picked bounds", "[order_key]") {
  CHECK(room_between(bytes("x"), bytes("y")));
  CHECK(room_between(bytes("x"), bytes("x\x01")));
  CHECK(room_between(bytes("x"), bytes("x\x00\x01", 3)));
  CHECK_FALSE(room_between(bytes("x"), bytes("x\x00", 2)));
  CHECK_FALSE(room_between(bytes("x"), bytes("x\x00\x00", 3)));
  CHECK_FALSE(room_between(std::nullopt, bytes("\x00", 1)));
  CHECK_FALSE(room_between(std::nullopt, bytes("")));
  CHECK(room_between(std::nullopt, bytes("\x00\x01", 2)));
  CHECK(room_between(bytes("\xff\xff"), std::nullopt));
}

TEST_CASE("order keys: strictly between random neighbours", "[order_key][property]") {
  rc::prop("arbitrary byte-string neighbours", [] {
    auto lo = *gen_bound();
    auto hi = *gen_bound();
    if (lo && hi && *hi < *lo) std::swap(lo, hi);
    RC_PRE(!(lo && hi && *lo == *hi));
    checked_between(lo, hi, *rc::gen::arbitrary<std::uint64_t>());
  });
  rc::prop("equal neighbours give that same key back", [] {
    const auto k = *gen_raw_key();
    RC_ASSERT(order_key_between(k, k, *rc::gen::arbitrary<std::uint64_t>()) == k);
  });
  rc::prop("a sibling list built by random inserts stays strictly sorted", [] {
    // The keys the library makes for itself: each insert goes at a random position between two
    // of its earlier keys (or at an end), as local inserts do.
    const auto positions = *rc::gen::container<std::vector<std::size_t>>(rc::gen::arbitrary<std::size_t>());
    std::vector<bytes> list;
    std::uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (const std::size_t p : positions) {
      const std::size_t at = p % (list.size() + 1);
      const std::optional<bytes> lo = at == 0 ? std::nullopt : std::optional<bytes>(list[at - 1]);
      const std::optional<bytes> hi = at == list.size() ? std::nullopt : std::optional<bytes>(list[at]);
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      const bytes k = checked_between(lo, hi, seed);
      RC_ASSERT((!lo || *lo < k) && (!hi || k < *hi));  // our own keys always leave room
      list.insert(list.begin() + static_cast<std::ptrdiff_t>(at), k);
    }
  });
}

// Runs 100,000 local inserts. Each new key goes between the current bounds (absent = open end)
// and then replaces the bound `which` says, as a user repeatedly inserting at one spot would.
// Counts keys that were not strictly between their bounds, and returns the longest key.
enum class replaced_bound { lower, upper };
struct insert_run {
  std::size_t longest = 0;
  std::size_t out_of_order = 0;
};
insert_run insert_repeatedly(std::optional<bytes> lo, std::optional<bytes> hi, replaced_bound which) {
  const auto view = [](const std::optional<bytes>& b) {
    return b ? std::optional<std::string_view>(*b) : std::nullopt;
  };
  insert_run run;
  for (std::uint64_t i = 0; i < 100000; ++i) {
    const bytes k = order_key_between(view(lo), view(hi), i * 0x9e3779b97f4a7c15ULL);
    if ((lo && !(*lo < k)) || (hi && !(k < *hi))) ++run.out_of_order;
    run.longest = std::max(run.longest, k.size());
    (which == replaced_bound::lower ? lo : hi) = k;
  }
  return run;
}

TEST_CASE("order keys: 100,000 appends at the end stay at most 16 bytes", "[order_key]") {
  const auto run = insert_repeatedly(std::nullopt, std::nullopt, replaced_bound::lower);
  CHECK(run.out_of_order == 0);
  CHECK(run.longest <= 16);
}

TEST_CASE("order keys: 100,000 inserts at the front stay at most 16 bytes", "[order_key]") {
  const auto run = insert_repeatedly(std::nullopt, std::nullopt, replaced_bound::upper);
  CHECK(run.out_of_order == 0);
  CHECK(run.longest <= 16);
}

// Typing: each insert goes right after the previous one, before a fixed next sibling. Squeeze:
// each insert goes right after a fixed first sibling, before the previous insert. Both shrink the
// gap every time, and both must still keep keys short (README, "Order keys").
TEST_CASE("order keys: 100,000 inserts typing after the last insert stay at most 16 bytes", "[order_key]") {
  const bytes first = order_key_between(std::nullopt, std::nullopt, 1);
  const bytes next = order_key_between(std::string_view(first), std::nullopt, 2);
  const auto run = insert_repeatedly(first, next, replaced_bound::lower);
  CHECK(run.out_of_order == 0);
  CHECK(run.longest <= 16);
}

TEST_CASE("order keys: 100,000 inserts squeezed after a fixed sibling stay at most 16 bytes", "[order_key]") {
  const bytes first = order_key_between(std::nullopt, std::nullopt, 1);
  const bytes next = order_key_between(std::string_view(first), std::nullopt, 2);
  const auto run = insert_repeatedly(first, next, replaced_bound::upper);
  CHECK(run.out_of_order == 0);
  CHECK(run.longest <= 16);
}
