#pragma once
// The TreeTables concept: the database side of a table_store (table_store.hpp) — one document's
// materialized tree as rows in the same database (and the same transaction) as its op log.
// Implemented by sqlite_tree_tables (sqlite_store.hpp) and postgres_tree_tables (postgres_store.hpp).
//
// A row per node (ROOT and TRASH included):
//   id         16 bytes, big-endian hi then lo: byte order = node_id order
//   parent     the physical parent's id; NULL for ROOT, TRASH and placeholders
//   order_key  the key among its siblings; NULL when it has no parent
//   tomb       0 never deleted, 1 deleted but alive (rule 6), 2 tombstoned; 3 = "not decided yet",
//              only ever inside a transaction (table_store decides every verdict before commit)
//   payload    the visible payload; NULL for none
//   state      what rule 6 needs (change summary, arrival dot, exact dots, deleted_at, payload
//              writer), encoded by table_store; opaque to the tables
// plus one metadata blob (the store's head, replica table, folded version) and an undo journal of
// chunks (first_seq, last_seq, ops): the before-images of the rows each recent op changed.
//
// Every write happens inside the storage's transaction; reads may happen outside one.
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../bytes.hpp"
#include "../detail/binary.hpp"
#include "../node_id.hpp"

namespace treecrdt {

/// The persisted verdict of rule 6 for one node.
enum class tomb_state : std::uint8_t { not_deleted = 0, alive = 1, tombstoned = 2, undecided = 3 };

/// One node as the tables hold it.
struct tree_row {
  node_id id;
  std::optional<node_id> parent;
  std::optional<bytes> order_key;
  tomb_state tomb = tomb_state::not_deleted;
  std::optional<bytes> payload;
  bytes state;
  friend bool operator==(const tree_row&, const tree_row&) = default;
};

/// A child as a folder listing returns it.
struct tree_child {
  node_id id;
  tomb_state tomb;
};

/// One chunk of the undo journal: the ops at positions first_seq ... last_seq.
struct journal_chunk {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  bytes ops;
};

namespace detail {
/// Node ids as the tables store them: 16 bytes, big-endian, so byte order is id order
/// (node_id_raw, node_id.hpp).
[[nodiscard]] inline std::string node_id_bytes(node_id n) { return std::string(node_id_raw(n).view()); }
/// Inverse of node_id_bytes; throws decode_failure for anything but 16 bytes.
[[nodiscard]] inline node_id node_id_from_bytes(std::string_view raw) {
  if (raw.size() != 16) throw decode_failure("a stored node id is not 16 bytes");
  node_id n;
  for (std::size_t i = 0; i < 8; ++i) {
    n.hi = (n.hi << 8) | static_cast<unsigned char>(raw[i]);
    n.lo = (n.lo << 8) | static_cast<unsigned char>(raw[8 + i]);
  }
  return n;
}
}  // namespace detail

// (kept as written: clang-format 14 cannot indent requires-expression bodies)
// clang-format off
/// Requires/Effects/Complexity of each member (n = rows, k = children of one parent):
///   load(id) -> optional<tree_row>           the row, or none. O(log n).
///   put(row)                                 insert or replace the row with row.id. O(log n).
///   put_all(rows)                            put() of each, in as few round trips as the database
///                                            allows (one statement for PostgreSQL). O(m log n).
///   update_states(rows)                      rows that exist with the parent and order key given:
///                                            rewrite only tomb, payload and state (no index entry
///                                            changes; one statement for PostgreSQL). O(m log n).
///   load_many(ids) -> vector<tree_row>       the rows of those ids that exist, any order; one round
///                                            trip for PostgreSQL. O(m log n).
///   erase(id)                                remove the row if present. O(log n).
///   children(p) -> vector<tree_child>        every row whose parent is p, ordered by
///                                            (order_key, id) bytewise. O(k + log n).
///   neighbour_key(p, from, forward, skip) -> optional<bytes>
///                                            the order key of the first child of p strictly after
///                                            (forward) or before `from` = (order_key, id) in that
///                                            order — from the start or end when `from` is none —
///                                            that is not `skip`. O(log n).
///   rows_after(after, limit) -> vector<tree_row>   up to `limit` rows with id > after (all when none),
///                                            ascending by id: pages of a full scan. O(limit + log n).
///   clear_rows()                             remove every row and journal chunk of the document.
///   load_meta() -> optional<bytes>, store_meta(blob)   the store's metadata blob. O(1).
///   journal_append(chunk)                    add a chunk (last_seq unique). O(size).
///   journal_newest(before) -> optional<journal_chunk>  the chunk with the greatest last_seq <
///                                            `before` (any when none). O(log chunks + size).
///   journal_erase(last_seq)                  remove that chunk.
///   journal_trim_through(seq)                remove every chunk with last_seq <= seq.
///   in_transaction() -> bool                 a write transaction of the storage is open.
template <class T>
concept TreeTables =
    std::movable<T> &&
    requires(T& t, node_id id, const tree_row& row, const std::optional<std::pair<bytes, node_id>>& from,
             std::optional<node_id> after, std::size_t limit, std::string_view blob, const journal_chunk& chunk,
             std::optional<std::uint64_t> before, std::uint64_t seq, const std::vector<tree_row>& rows,
             const std::vector<node_id>& ids) {
      { t.load(id) } -> std::same_as<std::optional<tree_row>>;
      t.put(row);
      t.put_all(rows);
      t.update_states(rows);
      { t.load_many(ids) } -> std::same_as<std::vector<tree_row>>;
      t.erase(id);
      { t.children(id) } -> std::same_as<std::vector<tree_child>>;
      { t.neighbour_key(id, from, true, id) } -> std::same_as<std::optional<bytes>>;
      { t.rows_after(after, limit) } -> std::same_as<std::vector<tree_row>>;
      t.clear_rows();
      { t.load_meta() } -> std::same_as<std::optional<bytes>>;
      t.store_meta(blob);
      t.journal_append(chunk);
      { t.journal_newest(before) } -> std::same_as<std::optional<journal_chunk>>;
      t.journal_erase(seq);
      t.journal_trim_through(seq);
      { t.in_transaction() } -> std::same_as<bool>;
    };
// clang-format on

}  // namespace treecrdt
