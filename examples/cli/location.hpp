#pragma once
// Where a document lives, as named on the command line: a SQLite file, or one document of a
// PostgreSQL database written as a connection URI with the document id in its fragment:
//
//   outline.db                                             a SQLite file
//   postgresql://user@host:5432/dbname#doc=outline         document "outline" in that database
//   postgres://host/db?sslmode=disable#doc=team%2Fplan     document "team/plan" (percent-encoded)
//
// The part before '#' goes to libpq unchanged (any URI libpq accepts); the fragment is not part of
// libpq's syntax, so it is taken off first. The document id is the bytes of ID after percent-decoding.
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "cli/cli_support.hpp"
#include "treecrdt/bytes.hpp"

namespace treecrdt_cli {

struct sqlite_location {
  std::string path;
};

struct postgres_location {
  std::string conninfo;  // the URI without its fragment, for libpq
  treecrdt::bytes doc;   // the document id
  std::string shown;     // how messages name it: the URI with any password replaced by "***"
};

using location = std::variant<sqlite_location, postgres_location>;

/// True for text that names a PostgreSQL document rather than a file.
[[nodiscard]] inline bool is_postgres_uri(std::string_view text) noexcept {
  return text.starts_with("postgresql://") || text.starts_with("postgres://");
}

namespace detail {
[[nodiscard]] inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// %XX escapes decoded; a '%' not followed by two hex digits is a usage error.
[[nodiscard]] inline std::string percent_decode(std::string_view text, std::string_view whole) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int hi = i + 1 < text.size() ? hex_digit(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) throw usage_error("bad percent escape in the document id of " + std::string(whole));
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

/// The URI with the password of its user info (user:password@) replaced, for messages.
[[nodiscard]] inline std::string without_password(std::string_view uri) {
  const std::size_t scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return std::string(uri);
  const std::size_t authority = scheme_end + 3;
  const std::size_t authority_end = uri.find_first_of("/?#", authority);
  const std::size_t at = uri.rfind('@', authority_end == std::string_view::npos ? uri.size() : authority_end);
  if (at == std::string_view::npos || at < authority) return std::string(uri);
  const std::size_t colon = uri.find(':', authority);
  if (colon == std::string_view::npos || colon > at) return std::string(uri);
  return std::string(uri.substr(0, colon + 1)) + "***" + std::string(uri.substr(at));
}
}  // namespace detail

/// Reads a DOC argument. Throws usage_error for a PostgreSQL URI without a usable #doc=ID.
[[nodiscard]] inline location parse_location(std::string_view text) {
  if (!is_postgres_uri(text)) return sqlite_location{std::string(text)};
  const std::size_t hash = text.find('#');
  constexpr std::string_view doc_prefix = "doc=";
  if (hash == std::string_view::npos || !text.substr(hash + 1).starts_with(doc_prefix))
    throw usage_error("a PostgreSQL document is written URI#doc=ID (e.g. postgresql://host/db#doc=outline); " +
                      detail::without_password(text) + " has no #doc=");
  postgres_location pg;
  pg.conninfo = std::string(text.substr(0, hash));
  pg.doc = detail::percent_decode(text.substr(hash + 1 + doc_prefix.size()), detail::without_password(text));
  if (pg.doc.empty()) throw usage_error("the document id after #doc= is empty in " + detail::without_password(text));
  pg.shown = detail::without_password(text);
  return pg;
}

/// How messages name a location.
[[nodiscard]] inline const std::string& describe(const location& l) {
  return l.index() == 0 ? std::get<sqlite_location>(l).path : std::get<postgres_location>(l).shown;
}

}  // namespace treecrdt_cli
