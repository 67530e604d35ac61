// SPEC §3: op validation and the binary body codec.
#include <catch2/catch.hpp>

#include "treecrdt/op_codec.hpp"

using namespace treecrdt;

TEMPLATE_TEST_CASE("validation rejects each invalid shape with a reason", "[op]", default_op_key, compact_op_key) {
  using K = TestType;
  const auto key = [](std::uint64_t counter) {
    K k;
    k.lamport = 1;
    k.counter = counter;
    return k;
  };
  const node_id n{0, 7};
  CHECK_FALSE(validation_error(make_insert(key(1), root_node, n, "80")));
  CHECK(*validation_error(make_insert(key(0), root_node, n, "80")) == "counter is 0");
  CHECK(*validation_error(make_insert(key(1), root_node, root_node, "80")) == "node is ROOT");
  CHECK(*validation_error(make_insert(key(1), root_node, trash_node, "80")) == "insert names TRASH as its node");
  CHECK(*validation_error(make_move(key(1), root_node, n, "80")) == "node is ROOT");
  CHECK(*validation_error(make_move(key(1), trash_node, n, "80")) == "node is TRASH");
  CHECK(*validation_error(make_delete(key(1), root_node, {})) == "node is ROOT");
  CHECK(*validation_error(make_tombstone(key(1), trash_node)) == "node is TRASH");
  CHECK(*validation_error(make_payload(key(1), trash_node, bytes("x"))) == "node is TRASH");
  CHECK_FALSE(validation_error(make_payload(key(1), root_node, bytes("x"))));  // ROOT may carry a payload
  CHECK_FALSE(validation_error(make_move(key(1), n, trash_node, "")));         // move to TRASH is fine
  auto del = make_delete(key(1), n, {});
  del.known_state.reset();
  CHECK(*validation_error(del) == "delete without known_state");
  auto mv = make_move(key(1), n, root_node, "80");
  mv.payload = "x";
  CHECK(validation_error(mv).has_value());
}

TEMPLATE_TEST_CASE("op bodies round-trip and reject corrupt bytes", "[op]", default_op_key, compact_op_key) {
  using K = TestType;
  K k;
  k.lamport = 9;
  k.counter = 3;
  version_vector<typename K::replica_type> vv;
  vv.observe(k.replica, 1);
  vv.observe(k.replica, 4);
  const std::vector<op<K>> ops{make_insert(k, root_node, node_id{1, 2}, "\x80\x01", bytes("hi")),
                               make_move(k, node_id{1, 2}, trash_node, ""), make_delete(k, node_id{1, 2}, vv),
                               make_tombstone(k, node_id{1, 2}), make_payload(k, root_node, std::optional<bytes>{})};
  for (const auto& o : ops) {
    const auto body = encode_op_body(o);
    CHECK(decode_op_body(k, body) == o);
    CHECK_THROWS_AS(decode_op_body(k, body.substr(0, body.size() - 1)), detail::decode_failure);
    CHECK_THROWS_AS(decode_op_body(k, body + "x"), detail::decode_failure);
  }
}
