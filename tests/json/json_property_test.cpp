// Property: any valid op survives encode_op → decode_op, and any log survives write_ops → read_ops.
#include <sstream>
#include <vector>

#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include "json/json_test_support.hpp"

using namespace treecrdt;

namespace {

/// Half none, half a value from `g`.
template <class T>
rc::Gen<std::optional<T>> optional_gen(rc::Gen<T> g) {
  return rc::gen::oneOf(rc::gen::just(std::optional<T>{}),
                        rc::gen::map(std::move(g), [](T v) { return std::optional<T>(std::move(v)); }));
}

template <class R>
rc::Gen<R> replica_gen() {
  if constexpr (std::is_same_v<R, bytes>)
    return rc::gen::container<bytes>(rc::gen::arbitrary<char>());
  else
    return rc::gen::arbitrary<std::uint64_t>();
}

rc::Gen<node_id> any_node_gen() {
  return rc::gen::apply(
      [](std::uint64_t hi, std::uint64_t lo) {
        return node_id{hi, lo};
      },
      rc::gen::arbitrary<std::uint64_t>(), rc::gen::arbitrary<std::uint64_t>());
}

/// Node ids that may be the target of any kind (neither ROOT nor TRASH); small ones are common so
/// that leading zeros get exercised.
rc::Gen<node_id> target_node_gen() {
  return rc::gen::suchThat(
      rc::gen::oneOf(any_node_gen(), rc::gen::construct<node_id>(rc::gen::just(std::uint64_t{0}),
                                                                 rc::gen::inRange<std::uint64_t>(1, 100))),
      [](node_id n) { return !is_reserved(n); });
}

template <class R>
rc::Gen<version_vector<R>> version_vector_gen() {
  struct addition {
    R replica;
    std::uint64_t first;
    std::uint64_t length;
  };
  // A quarter of the size: a few replicas and ranges already reach every encoder branch.
  const auto additions = rc::gen::scale(
      0.25,
      rc::gen::container<std::vector<addition>>(rc::gen::construct<addition>(
          replica_gen<R>(), rc::gen::oneOf(rc::gen::inRange<std::uint64_t>(1, 20), rc::gen::positive<std::uint64_t>()),
          rc::gen::inRange<std::uint64_t>(0, 5))));
  return rc::gen::map(additions, [](const std::vector<addition>& adds) {
    version_vector<R> vv;
    for (const auto& a : adds)
      vv.add_range(a.replica, a.first, a.first + std::min(a.length, ~std::uint64_t{0} - a.first));
    return vv;
  });
}

template <class K>
rc::Gen<op<K>> op_gen() {
  using R = typename K::replica_type;
  const auto key =
      rc::gen::construct<K>(rc::gen::arbitrary<std::uint64_t>(), replica_gen<R>(), rc::gen::positive<std::uint64_t>());
  const auto raw = rc::gen::arbitrary<bytes>();
  const auto payload = optional_gen(raw);
  const auto known = optional_gen(version_vector_gen<R>());
  return rc::gen::oneOf(
      rc::gen::apply(
          [](K k, node_id p, node_id n, bytes ok, std::optional<bytes> pl) { return make_insert(k, p, n, ok, pl); },
          key, any_node_gen(), target_node_gen(), raw, payload),
      rc::gen::apply([](K k, node_id n, node_id p, bytes ok) { return make_move(k, n, p, ok); }, key, target_node_gen(),
                     any_node_gen(), raw),
      rc::gen::apply([](K k, node_id n, version_vector<R> vv) { return make_delete(k, n, vv); }, key, target_node_gen(),
                     version_vector_gen<R>()),
      rc::gen::apply([](K k, node_id n, std::optional<version_vector<R>> vv) { return make_tombstone(k, n, vv); }, key,
                     target_node_gen(), known),
      rc::gen::apply([](K k, node_id n, std::optional<bytes> pl) { return make_payload(k, n, pl); }, key,
                     rc::gen::suchThat(any_node_gen(), [](node_id n) { return n != trash_node; }), payload));
}

}  // namespace

TEMPLATE_TEST_CASE("property: valid ops round-trip through the JSON codec", "[json][property]", default_op_key,
                   compact_op_key) {
  using K = TestType;
  rc::prop("decode_op(encode_op(o)) == o", [] {
    const op<K> o = *op_gen<K>();
    RC_PRE(!validation_error(o));
    const std::string line = json::encode_op(o);
    RC_ASSERT(line.find('\n') == std::string::npos);
    RC_ASSERT(json::decode_op<K>(line) == o);
  });
  rc::prop("read_ops(write_ops(log)) == log for a log with distinct op ids", [] {
    // Logs of up to ~30 smaller ops keep 1000 cases quick; the single-op property covers big ops.
    std::vector<op<K>> log = *rc::gen::scale(0.3, rc::gen::container<std::vector<op<K>>>(op_gen<K>()));
    std::vector<op<K>> distinct;
    for (auto& o : log) {
      const bool seen = std::any_of(distinct.begin(), distinct.end(), [&](const op<K>& d) { return d.id() == o.id(); });
      if (!seen) distinct.push_back(std::move(o));
    }
    std::ostringstream out;
    json::write_ops<K>(out, distinct);
    std::istringstream in(out.str());
    RC_ASSERT(json::read_ops<K>(in) == distinct);
  });
}
