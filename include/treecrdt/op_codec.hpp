#pragma once
// Binary encoding of an op's body (everything but its key). Database adapters store the key in
// columns (for the index and scan_after) and the body as one blob. The encoding is canonical: equal
// ops have equal bodies, so comparing bodies tells a duplicate from a conflict.
#include <string>
#include <string_view>

#include "detail/binary.hpp"
#include "errors.hpp"
#include "op.hpp"

namespace treecrdt {

namespace detail {
template <class Writer>  // binary_writer or raw_writer
void encode_node(Writer& w, node_id n) {
  w.fixed64(n.hi);
  w.fixed64(n.lo);
}
[[nodiscard]] inline node_id decode_node(binary_reader& r) {
  node_id n;
  n.hi = r.fixed64();
  n.lo = r.fixed64();
  return n;
}
/// An optional field's flag byte: 1 present, 0 absent, anything else malformed.
[[nodiscard]] inline bool present(binary_reader& r) {
  const std::uint8_t flag = r.u8();
  if (flag > 1) throw decode_failure("optional field flag is neither 0 nor 1");
  return flag == 1;
}
}  // namespace detail

inline constexpr std::uint8_t op_body_format = 1;

/// Writes encode_op_body(o) into `out`, replacing its contents: a caller encoding many ops reuses
/// one buffer instead of allocating a string per op.
template <OpKey Key>
void encode_op_body_into(std::string& out, const op<Key>& o) {
  out.clear();
  detail::binary_writer w(out);
  w.u8(op_body_format);
  w.u8(static_cast<std::uint8_t>(o.kind));
  detail::encode_node(w, o.node);
  detail::encode_node(w, o.parent);
  w.byte_string(o.order_key);
  w.u8(o.payload ? 1 : 0);
  if (o.payload) w.byte_string(*o.payload);
  w.u8(o.known_state ? 1 : 0);
  if (o.known_state) encode_version_vector(w, *o.known_state);
}

template <OpKey Key>
[[nodiscard]] std::string encode_op_body(const op<Key>& o) {
  std::string out;
  encode_op_body_into(out, o);
  return out;
}

/// Rebuilds an op from its key and body. Accepts only the canonical form encode_op_body writes (so
/// equal ops have equal bodies); does not validate the op (validation_error does).
/// Throws detail::decode_failure on a malformed body.
template <OpKey Key>
[[nodiscard]] op<Key> decode_op_body(Key key, std::string_view body) {
  detail::binary_reader r(body);
  if (r.u8() != op_body_format) throw detail::decode_failure("unknown op body format");
  op<Key> o;
  o.key = std::move(key);
  const auto kind = r.u8();
  if (kind < 1 || kind > 5) throw detail::decode_failure("unknown op kind");
  o.kind = static_cast<op_kind>(kind);
  o.node = detail::decode_node(r);
  o.parent = detail::decode_node(r);
  o.order_key = bytes(r.byte_string());
  if (present(r)) o.payload = bytes(r.byte_string());
  if (present(r)) o.known_state = decode_version_vector<replica_of<Key>>(r);
  if (!r.at_end()) throw detail::decode_failure("trailing bytes after op body");
  return o;
}

}  // namespace treecrdt
