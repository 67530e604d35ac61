#pragma once
// The largest values treecrdt accepts (README "Reliability"). Validation (op.hpp) refuses an op
// that exceeds any of them with a reason naming the limit, so the refusal is a pure function of
// the op and every replica refuses the same ops. A batch that exceeds a batch limit is refused
// whole, like a batch holding an invalid op.
#include <cstddef>
#include <cstdint>

namespace treecrdt::limits {

/// The clock limit: the largest lamport and the largest counter an op may carry, 2^64 − 2^32 − 1.
/// The 2^32 values above it are refused: no honest replica gets there (at a billion edits a second
/// it would take over 500 years), so such a value can only come from a bug or a hostile peer, and
/// refusing them keeps every "+ 1" on a clock or a counter range far from overflow. A replica whose
/// next local lamport or counter would pass the limit refuses the local edit
/// (clock_exhausted_error) instead of wrapping around to 0.
inline constexpr std::uint64_t max_clock = ~std::uint64_t{0} - (std::uint64_t{1} << 32);

/// A replica id (the key's replica as bytes, and every replica named in a known_state).
inline constexpr std::size_t max_replica_bytes = 256;
/// An order key. Locally generated keys stay far below it (README: ≤ 16 bytes in the common
/// patterns); a key that would not fit is replaced by a neighbour's key, as when nothing fits.
inline constexpr std::size_t max_order_key_bytes = 1024;
/// A payload: 16 MiB.
inline constexpr std::size_t max_payload_bytes = std::size_t{16} << 20;
/// A known_state: replicas named, and counter ranges in all (the gap-free prefix of a replica is
/// not a range).
inline constexpr std::size_t max_known_state_replicas = 65'536;
inline constexpr std::size_t max_known_state_ranges = 1'048'576;
/// An op's binary form (its key plus its body, as op_codec.hpp writes them): 20 MiB. An insert at
/// the largest payload and order key fits; a known_state near both of its own limits does not.
inline constexpr std::size_t max_op_bytes = std::size_t{20} << 20;

/// A batch given to document::apply: ops, and the sum of their binary forms (4 GiB).
inline constexpr std::size_t max_batch_ops = std::size_t{1} << 24;
inline constexpr std::uint64_t max_batch_bytes = std::uint64_t{1} << 32;

}  // namespace treecrdt::limits
