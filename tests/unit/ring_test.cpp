// detail::ring, the undo journal's queue: the same contents as std::deque under any mix of
// pushes, drops at the front and takes at the back, across growth and wrap-around.
#include <rapidcheck/catch.h>
#include <catch2/catch.hpp>

#include <deque>
#include <memory>
#include <string>

#include "treecrdt/detail/ring.hpp"

using treecrdt::detail::ring;

TEST_CASE("ring: holds what a deque holds under pushes, front drops and back takes", "[ring]") {
  rc::prop("ring equals the deque model", [] {
    ring<std::string> r;
    std::deque<std::string> model;
    const auto steps = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 4));
    int next = 0;
    for (const int step : steps) {
      if (step <= 1 || model.empty()) {  // pushes outnumber the rest, so the ring grows and wraps
        // Long enough to live on the heap: a stale slot's string must be released when reused.
        const std::string v = "value number " + std::to_string(next++) + " of the ring test";
        r.push_back(v);
        model.push_back(v);
      } else if (step == 2) {
        r.pop_front();
        model.pop_front();
      } else {
        RC_ASSERT(r.take_back() == model.back());
        model.pop_back();
      }
      RC_ASSERT(r.size() == model.size());
      RC_ASSERT(r.empty() == model.empty());
      for (std::size_t i = 0; i < model.size(); ++i) RC_ASSERT(r[i] == model[i]);
      if (!model.empty()) {
        RC_ASSERT(r.front() == model.front());
        RC_ASSERT(r.back() == model.back());
      }
    }
  });
}

TEST_CASE("ring: a dropped entry lives until its slot is reused, and clear releases every entry", "[ring]") {
  const auto tracked = std::make_shared<int>(7);
  ring<std::shared_ptr<int>> r;
  r.push_back(tracked);
  CHECK(tracked.use_count() == 2);
  r.pop_front();  // stale: still held by its slot, not destroyed at the drop
  CHECK(r.empty());
  CHECK(tracked.use_count() == 2);
  for (int i = 0; i < 16; ++i) r.push_back(std::make_shared<int>(i));  // comes round to the slot
  CHECK(tracked.use_count() == 1);
  r.push_back(tracked);
  r.pop_front();
  r.clear();
  CHECK(tracked.use_count() == 1);
  CHECK(r.empty());
}

TEST_CASE("ring: a moved-from ring is empty and usable", "[ring]") {
  ring<std::string> a;
  for (int i = 0; i < 20; ++i) a.push_back("entry " + std::to_string(i) + " of the moved ring, on the heap");
  a.pop_front();
  ring<std::string> b(std::move(a));
  CHECK(b.size() == 19);
  CHECK(b.front() == "entry 1 of the moved ring, on the heap");
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): the state a move leaves is what is tested
  a.push_back("again");
  CHECK(a.size() == 1);
  CHECK(a.back() == "again");
  ring<std::string> c;
  c = std::move(b);
  CHECK(c.size() == 19);
  CHECK(c.back() == "entry 19 of the moved ring, on the heap");
  CHECK(b.empty());  // NOLINT(bugprone-use-after-move)
  b.push_back("b again");
  CHECK(b.take_back() == "b again");
}
