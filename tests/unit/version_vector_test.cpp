// SPEC §4: gap-aware version vectors.
#include <rapidcheck/catch.h>
#include <catch2/catch.hpp>

#include <set>

#include "treecrdt/version_vector.hpp"

using treecrdt::version_vector;
using vv = version_vector<std::string>;

TEST_CASE("observe keeps gaps: a missing counter is not assumed seen", "[vv]") {
  vv v;
  v.observe("a", 1);
  v.observe("a", 3);
  CHECK(v.contains("a", 1));
  CHECK_FALSE(v.contains("a", 2));
  CHECK(v.contains("a", 3));
  CHECK(v.entries().at("a").frontier == 1);
  REQUIRE(v.entries().at("a").ranges.size() == 1);
  v.observe("a", 2);
  CHECK(v.entries().at("a").frontier == 3);
  CHECK(v.entries().at("a").ranges.empty());
}

TEST_CASE("observe of counter 0 is ignored", "[vv]") {
  vv v;
  v.observe("a", 0);
  CHECK(v.empty());
  CHECK_FALSE(v.contains("a", 0));
}

TEST_CASE("merge is set union and is_aware_of is set inclusion", "[vv]") {
  vv a, b;
  a.observe("a", 1);
  a.observe("a", 5);
  b.observe("a", 2);
  b.observe("b", 7);
  CHECK_FALSE(a.is_aware_of(b));
  vv u = a;
  u.merge(b);
  CHECK(u.is_aware_of(a));
  CHECK(u.is_aware_of(b));
  CHECK(u.contains("b", 7));
  CHECK_FALSE(u.contains("a", 3));
  CHECK(vv{}.is_aware_of(vv{}));
  CHECK(a.is_aware_of(vv{}));
}

namespace {
using dots = std::set<std::pair<int, std::uint64_t>>;
vv from_dots(const dots& ds) {
  vv v;
  for (auto [r, c] : ds) v.observe(std::string(1, static_cast<char>('a' + r)), c);
  return v;
}
dots small_dots(const std::vector<std::pair<int, int>>& raw) {
  dots ds;
  for (auto [r, c] : raw) ds.emplace(((r % 3) + 3) % 3, static_cast<std::uint64_t>(((c % 40) + 40) % 40));
  return ds;
}
}  // namespace

TEST_CASE("version vectors behave exactly like sets of dots", "[vv][property]") {
  rc::prop("contains / merge / is_aware_of / == agree with std::set",
           [](std::vector<std::pair<int, int>> ra, std::vector<std::pair<int, int>> rb) {
             dots a = small_dots(ra), b = small_dots(rb);
             // counter 0 is never a dot
             std::erase_if(a, [](auto d) { return d.second == 0; });
             std::erase_if(b, [](auto d) { return d.second == 0; });
             const vv va = from_dots(a), vb = from_dots(b);
             for (int r = 0; r < 3; ++r)
               for (std::uint64_t c = 0; c < 41; ++c) {
                 const std::string rep(1, static_cast<char>('a' + r));
                 RC_ASSERT(va.contains(rep, c) == (a.count({r, c}) == 1));
               }
             const bool a_has_b = std::includes(a.begin(), a.end(), b.begin(), b.end());
             RC_ASSERT(va.is_aware_of(vb) == a_has_b);
             dots u = a;
             u.insert(b.begin(), b.end());
             vv vu = va;
             vu.merge(vb);
             RC_ASSERT(vu == from_dots(u));  // canonical representation: equal sets, equal vectors
             RC_ASSERT((va == vb) == (a == b));
           });
}
