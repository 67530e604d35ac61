// fwd.hpp on its own is enough for generic code that only names the templates; once document.hpp
// is included, `document<>` is the documented default configuration.
#include <treecrdt/fwd.hpp>

#include <cstddef>
#include <type_traits>

namespace {
template <class Key, class StoragePolicy, class Store, class Cadence, class Retention>
std::size_t top_level_count(const treecrdt::document<Key, StoragePolicy, Store, Cadence, Retention>& doc);
}  // namespace

#include <treecrdt/document.hpp>

namespace {
template <class Key, class StoragePolicy, class Store, class Cadence, class Retention>
std::size_t top_level_count(const treecrdt::document<Key, StoragePolicy, Store, Cadence, Retention>& doc) {
  return doc.children(treecrdt::root_node).size();
}

using spelled_out = treecrdt::document<treecrdt::default_op_key, treecrdt::memory_storage<treecrdt::default_op_key>,
                                       treecrdt::memory_store<treecrdt::default_op_key>, treecrdt::log_size_cadence,
                                       treecrdt::exponential_retention>;
static_assert(std::is_same_v<treecrdt::document<>, spelled_out>);
static_assert(
    std::is_same_v<treecrdt::document<treecrdt::compact_op_key>,
                   treecrdt::document<treecrdt::compact_op_key, treecrdt::memory_storage<treecrdt::compact_op_key>,
                                      treecrdt::memory_store<treecrdt::compact_op_key>>>);
}  // namespace

bool fwd_defaults_match_document() noexcept;
bool fwd_defaults_match_document() noexcept try {
  treecrdt::document<> doc(treecrdt::memory_storage<treecrdt::default_op_key>{}, "fwd");
  (void)doc.insert(treecrdt::root_node, treecrdt::position::last());
  return top_level_count(doc) == 1 && doc.cadence().short_interval == 64 && doc.cadence().long_interval == 1024;
} catch (...) {
  return false;
}
