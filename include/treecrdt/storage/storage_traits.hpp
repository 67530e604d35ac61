#pragma once
// Optional storage operations with defaults: a policy implements only what it can do better.
#include <concepts>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "../version_vector.hpp"
#include "storage_concepts.hpp"

namespace treecrdt {

template <Storage S>
struct storage_traits {
  using key_type = typename S::key_type;
  using version_vector_type = version_vector<replica_of<key_type>>;

  /// Calls visit(op) for every stored op whose dot is not in `known`, in key order.
  /// Default: one scan of the whole log. A policy may provide `scan_unknown_to(known, visit)`.
  template <class Visit>
  static void scan_unknown_to(S& s, const version_vector_type& known, Visit&& visit) {
    if constexpr (requires { s.scan_unknown_to(known, visit); }) {
      s.scan_unknown_to(known, visit);
    } else {
      s.scan_after(std::nullopt, [&](const op<key_type>& o) {
        if (!known.contains(o.key.replica, o.key.counter)) visit(o);
      });
    }
  }

  /// True when the policy keeps the log's version vector itself (`log_version()`), so that
  /// log_version() below costs O(replicas + gaps) instead of a scan of the log.
  static constexpr bool has_log_version = requires(S & s) {
    { s.log_version() } -> std::convertible_to<version_vector_type>;
  };

  /// The set of dots of every stored op (SPEC §4). A policy may provide `log_version()`, kept up
  /// to date in the append transaction (every shipped policy does); default: one scan of the log.
  [[nodiscard]] static version_vector_type log_version(S& s) {
    if constexpr (has_log_version) {
      return s.log_version();
    } else {
      version_vector_type vv;
      s.scan_after(std::nullopt, [&](const op<key_type>& o) { vv.observe(o.key.replica, o.key.counter); });
      return vv;
    }
  }

  /// save_checkpoint of a blob the caller gives up: a policy that keeps blobs in memory may provide
  /// `adopt_checkpoint(key, seq, bytes&&, base)` and take the buffer instead of copying it (a full
  /// snapshot of a large tree is megabytes, and a fresh copy of it page-faults). Default: save it.
  static std::uint64_t save_checkpoint(S& s, const key_type& key, std::uint64_t seq, bytes&& blob,
                                       const std::optional<key_type>& base) {
    if constexpr (requires { s.adopt_checkpoint(key, seq, std::move(blob), base); })
      return s.adopt_checkpoint(key, seq, std::move(blob), base);
    else
      return s.save_checkpoint(key, seq, std::string_view(blob), base);
  }

  /// Bytes the document occupies in the storage, if the policy can tell (else nullopt).
  [[nodiscard]] static std::optional<std::uint64_t> storage_bytes(S& s) {
    if constexpr (requires {
                    { s.storage_bytes() } -> std::convertible_to<std::uint64_t>;
                  }) {
      return s.storage_bytes();
    } else {
      return std::nullopt;
    }
  }
};

}  // namespace treecrdt
