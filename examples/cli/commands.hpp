#pragma once
// The commands of the `treecrdt` tool. Each takes its arguments (after the command name) and
// returns an exit status; failures are thrown and turned into messages by run_tool().
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "cli/cli_support.hpp"
#include "cli/database.hpp"
#include "cli/outline.hpp"
#include "treecrdt/document.hpp"
#include "treecrdt/json.hpp"

namespace treecrdt_cli {

// ---- help ----------------------------------------------------------------------------------------

struct command_help {
  std::string_view name;
  std::string_view usage;       // after "treecrdt "
  std::string_view summary;     // one line for the tool's help
  std::string_view details;     // the command's --help
  bool opens_document = false;  // takes --store (its help is appended to `details`)
};

inline constexpr command_help replay_help{
    "replay", "replay FILE|-", "fold a JSON Lines op log and print its canonical export",
    "Reads ops (SPEC §9 JSON Lines, one op per line; '-' reads standard input), folds them in an\n"
    "in-memory document and prints the canonical export as one JSON line on standard output.\n"
    "A bad line (malformed JSON or field, invalid op, or a line that reuses another line's\n"
    "(replica, counter) with different content) is reported on standard error with its line\n"
    "number; nothing is printed on standard output and the exit status is 1.\n"};

inline constexpr command_help import_help{
    "import", "import DOC FILE|- [--batch N] [--cadence N] [--store S]",
    "append ops to a document (created if missing)",
    "Appends the ops of FILE ('-' reads standard input) to the document DOC, creating it if\n"
    "needed. The whole input is read and checked first: a bad line, or an op whose (replica,\n"
    "counter) is already stored in DOC with different content, stores nothing (exit status 1).\n"
    "Ops already stored are skipped. The ops are then appended N per transaction, and the tree is\n"
    "brought up to date once at the end; should the import be interrupted, every committed batch\n"
    "stays and the next open of DOC finishes the catch-up.\n"
    "\n"
    "  --batch N     ops per transaction (1 to 10000000, default 1000)\n"
    "  --cadence N   write a checkpoint every N materialized ops (0 = none). Stored with DOC, so later\n"
    "                commands keep that spacing; without it the stored value (or 1024) is used.\n"
    "\n"
    "A progress bar is drawn on standard error when it is a terminal.\n",
    true};

inline constexpr command_help export_help{
    "export", "export DOC [--store S]", "print the canonical export of a document",
    "Opens DOC (memory store: restoring its latest checkpoint and replaying the log after it;\n"
    "table store: reading its tables) and prints the canonical export (SPEC §9) as one JSON line.\n"
    "Two documents holding the same ops print byte-identical exports, whatever their stores.\n",
    true};

inline constexpr command_help show_help{
    "show", "show DOC [--store S]", "print the tree as an indented outline",
    "Prints the visible tree of DOC, one node id per line, indented two spaces per level, children in\n"
    "sibling order. A payload follows the id: \"text\" when it is printable UTF-8, else hex:... .\n"
    "Subtrees under a parent that was never inserted are listed after ROOT as 'detached'.\n"
    "Tombstoned nodes, their subtrees and nodes in TRASH are not shown; the last line counts them.\n",
    true};

inline constexpr command_help stats_help{
    "stats", "stats DOC [--store S]", "print log size, head, frontier, store, checkpoints and storage size",
    "Prints what DOC stores, without opening the document (nothing is replayed or written):\n"
    "the number of ops, the head (last materialized op and its position), the replay frontier\n"
    "(set when a catch-up is pending), the store the other commands would use (for the table\n"
    "store: its node count and how far its tables are), the checkpoint cadence, every checkpoint\n"
    "with its position and size, and the storage size in bytes (a SQLite file's pages; a\n"
    "PostgreSQL document's rows, those of its tree tables included).\n",
    true};

inline constexpr command_help verify_help{
    "verify", "verify DOC [--store S]", "check the materialized state against a fresh fold of the log",
    "Opens DOC as every command does (memory store: latest checkpoint + replay of the log after it;\n"
    "table store: its tables as stored) and compares the result with a fold of the whole log from\n"
    "the start in a separate in-memory document. Exit status 0 when they are equal, 3 when they\n"
    "differ (the first difference is printed). That fold reads every op: verify costs O(log size)\n"
    "with either store, unlike the other reading commands on the table store.\n",
    true};

inline constexpr command_help sync_help{
    "sync", "sync DOC_A DOC_B [--batch N] [--max-batches N] [--store S]",
    "exchange the ops each of two documents lacks",
    "Makes DOC_A and DOC_B hold the same ops: reads both version vectors, sends DOC_B the ops of\n"
    "DOC_A whose (replica, counter) it lacks and DOC_A those of DOC_B, N ops per transaction,\n"
    "then brings each tree up to date once. Any two documents: SQLite and PostgreSQL, either\n"
    "way; a SQLite file that does not exist yet is created (a copy). Running it again sends\n"
    "nothing. Interrupting it is safe: every committed batch stays, the next open of a document\n"
    "finishes its catch-up, and the next sync sends only what is still missing.\n"
    "\n"
    "  --batch N        ops per transaction (1 to 10000000, default 1000)\n"
    "  --max-batches N  stop after N transactions (bounded work per run); a later sync goes on\n"
    "\n"
    "A progress bar is drawn on standard error when it is a terminal. --store applies to both\n"
    "documents (auto: each as its database holds it).\n",
    true};

// Appended to the help of every command that opens a document.
inline constexpr std::string_view store_help =
    "\n"
    "  --store S     where the tree is kept while DOC is open:\n"
    "                tables  in tables of DOC's database, written with the log (sqlite_store in\n"
    "                        a SQLite file; postgres_store in PostgreSQL, rows keyed by the\n"
    "                        document id): a current document opens in O(1) and reads are\n"
    "                        indexed queries; the first open of a document without them creates\n"
    "                        them from the log\n"
    "                memory  rebuilt in memory at each open (latest checkpoint + the log after it)\n"
    "                auto    tables when the document already has them, else memory (the default)\n"
    "                SQL readers see the tables through the view treecrdt_tree_view (in\n"
    "                PostgreSQL with a doc column: filter on it).\n";

inline constexpr command_help all_commands[] = {replay_help, import_help, export_help, show_help,
                                                stats_help,  verify_help, sync_help};

inline void print_tool_help(std::ostream& out) {
  out << "treecrdt - inspect and build replicated tree (treecrdt) documents\n"
         "\n"
         "usage: treecrdt COMMAND [ARGS...]\n"
         "       treecrdt COMMAND --help\n"
         "\n"
         "commands:\n";
  for (const auto& c : all_commands) {
    std::string line = "  " + std::string(c.name);
    line.resize(11, ' ');
    out << line << c.summary << '\n';
  }
  out << "\n"
         "Ops files are JSON Lines, one op per line (SPEC §9). DOC names a document: a SQLite file\n"
         "(outline.db), or a document of a PostgreSQL database written as a connection URI with the\n"
         "document id after #doc= (postgresql://user@host:5432/dbname#doc=outline; percent-encode\n"
         "bytes of the id that are not plain text).\n"
         "exit status: 0 success, 1 failure (bad input, database or I/O error), 2 bad command line,\n"
         "             3 verify found a difference.\n";
}

inline void print_command_help(std::ostream& out, const command_help& c) {
  out << "usage: treecrdt " << c.usage << "\n\n" << c.summary << ".\n\n" << c.details;
  if (c.opens_document) out << store_help;
}

/// Checks the number of positionals and that no help was asked for; returns false when help was
/// printed (exit 0).
[[nodiscard]] inline bool check_arity(const arguments& args, const command_help& c, std::size_t count) {
  if (args.help) {
    print_command_help(std::cout, c);
    return false;
  }
  if (args.positional.size() < count) throw usage_error("missing arguments");
  if (args.positional.size() > count) throw usage_error("unexpected argument \"" + args.positional[count] + "\"");
  return true;
}

// ---- replay --------------------------------------------------------------------------------------

using memory_document = treecrdt::document<key, treecrdt::memory_storage<key>, treecrdt::memory_store<key>,
                                           treecrdt::never_checkpoint, treecrdt::keep_all_checkpoints>;

/// Reads the whole input; a parse_error message is prefixed with the input's name.
[[nodiscard]] inline std::vector<treecrdt::json::numbered_op<key>> read_input(input_source& in) {
  try {
    return treecrdt::json::read_numbered_ops<key>(in.stream());
  } catch (const treecrdt::parse_error& e) {
    throw command_error(in.name() + ": " + e.what());
  }
}

[[nodiscard]] inline int run_replay(const arguments& args) {
  if (!check_arity(args, replay_help, 1)) return exit_ok;
  input_source in(args.positional[0]);
  const auto numbered = read_input(in);
  std::vector<treecrdt::op<key>> ops;
  ops.reserve(numbered.size());
  for (const auto& n : numbered) ops.push_back(n.value);
  memory_document doc(treecrdt::memory_storage<key>{}, cli_replica);
  doc.apply(ops);
  std::cout << treecrdt::json::encode_export(doc.export_canonical()) << '\n';
  finish_output();
  return exit_ok;
}

// ---- import --------------------------------------------------------------------------------------

/// A one-line progress bar on standard error, drawn only when it is a terminal.
class progress_bar {
 public:
  explicit progress_bar(std::uint64_t total, std::string_view label = "importing")
      : total_(total), label_(label), enabled_(isatty(STDERR_FILENO) == 1 && total > 0) {}
  void update(std::uint64_t done) {
    if (!enabled_) return;
    constexpr std::uint64_t width = 40;
    const std::uint64_t filled = done * width / total_;
    std::cerr << '\r' << label_ << " [" << std::string(filled, '#') << std::string(width - filled, ' ') << "] " << done
              << '/' << total_ << " ops" << std::flush;
  }
  void message(std::string_view text) {
    if (enabled_) std::cerr << "\r\033[K" << text << std::flush;
  }
  void finish() {
    if (enabled_) std::cerr << "\r\033[K" << std::flush;
  }

 private:
  std::uint64_t total_;
  std::string_view label_;
  bool enabled_;
};

/// Appends `numbered` to `doc`, `batch` ops per transaction with a deferred catch-up, then catches
/// up once; draws the progress bar.
template <class Doc>
void import_ops(Doc& doc, const std::vector<treecrdt::json::numbered_op<key>>& numbered, std::uint64_t batch) {
  std::vector<treecrdt::op<key>> chunk;
  chunk.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(batch, numbered.size())));
  progress_bar progress(numbered.size());
  std::size_t done = 0;
  for (const auto& n : numbered) {
    chunk.push_back(n.value);
    if (chunk.size() == batch || done + chunk.size() == numbered.size()) {
      // Late ops only mark the tree stale here; one catch-up at the end covers every batch.
      doc.apply(chunk, treecrdt::defer_catch_up);
      done += chunk.size();
      chunk.clear();
      progress.update(done);
    }
  }
  progress.message("catching up...");
  doc.catch_up();
  progress.finish();
}

[[nodiscard]] inline int run_import(const arguments& args) {
  if (!check_arity(args, import_help, 2)) return exit_ok;
  const location where = parse_location(args.positional[0]);
  const std::string& name = describe(where);
  std::uint64_t batch = 1000;
  if (const auto b = args.option("--batch")) batch = parse_count(*b, "--batch", 1, 10'000'000);
  std::optional<std::uint64_t> cadence;
  if (const auto c = args.option("--cadence")) cadence = parse_count(*c, "--cadence", 0, 1'000'000'000);
  const store_kind store = store_option(args);

  // Read and check everything before the database is created or touched.
  input_source in(args.positional[1]);
  const auto numbered = read_input(in);
  return with_storage(where, open_mode::create, [&](auto& storage) {
    if (const auto bad = first_stored_conflict(storage, numbered))
      throw command_error(in.name() + ": line " + std::to_string(numbered[*bad].line) + ": op " +
                          treecrdt::describe(numbered[*bad].value) + " conflicts with an op stored in " + name +
                          " (same replica and counter, different content); nothing was imported");
    const std::uint64_t stored_before = storage.op_count();
    return with_document(storage, store, cadence, [&](auto& doc) {
      import_ops(doc, numbered, batch);
      const std::uint64_t stored_after = doc.storage().op_count();
      std::cout << "imported " << numbered.size() << " ops from " << in.name() << " into " << name << ": "
                << stored_after - stored_before << " new, " << numbered.size() - (stored_after - stored_before)
                << " already stored; " << stored_after << " ops in total, " << doc.storage().list_checkpoints().size()
                << " checkpoints, " << store_name(doc) << " store\n";
      finish_output();
      return exit_ok;
    });
  });
}

// ---- export, show ----------------------------------------------------------------------------------

[[nodiscard]] inline int run_export(const arguments& args) {
  if (!check_arity(args, export_help, 1)) return exit_ok;
  const location where = parse_location(args.positional[0]);
  return with_existing_document(where, store_option(args), [](const auto& doc) {
    std::cout << treecrdt::json::encode_export(doc.export_canonical()) << '\n';
    finish_output();
    return exit_ok;
  });
}

[[nodiscard]] inline int run_show(const arguments& args) {
  if (!check_arity(args, show_help, 1)) return exit_ok;
  const location where = parse_location(args.positional[0]);
  // The outline is drawn from the export: on the table store that reads the tables, folding nothing.
  return with_existing_document(where, store_option(args), [](const auto& doc) {
    const auto e = doc.export_canonical();
    const std::size_t shown = write_outline(std::cout, e, doc.payload(treecrdt::root_node));
    std::cout << e.nodes.size() << " nodes: " << shown << " shown, " << e.nodes.size() - shown
              << " hidden (tombstoned, in TRASH, or under a hidden node)\n";
    finish_output();
    return exit_ok;
  });
}

// ---- stats ---------------------------------------------------------------------------------------

[[nodiscard]] inline std::string describe_position(const std::optional<key>& k, std::uint64_t seq) {
  if (!k) return "none (nothing materialized)";
  return "seq " + std::to_string(seq) + " at " + treecrdt::describe_key(*k);
}

[[nodiscard]] inline int run_stats(const arguments& args) {
  if (!check_arity(args, stats_help, 1)) return exit_ok;
  const location where = parse_location(args.positional[0]);
  const store_kind store = store_option(args);
  return with_storage(where, open_mode::existing, [&](auto& storage) {
    const auto meta = storage.load_meta();
    const auto checkpoints = storage.list_checkpoints();
    const auto cadence = stored_cadence(storage);
    std::cout << (where.index() == 0 ? "database: " : "document: ") << describe(where) << '\n'
              << "ops: " << storage.op_count() << '\n'
              << "head: " << describe_position(meta.head.key, meta.head.seq) << '\n'
              << "frontier: "
              << (meta.frontier ? treecrdt::describe_key(*meta.frontier) + " (catch-up pending)" : "none (up to date)")
              << '\n'
              << "store: " << describe_store(storage, store) << '\n'
              << "cadence: " << (cadence ? *cadence : default_cadence) << (cadence ? "" : " (default)") << '\n'
              << "checkpoints: " << checkpoints.size() << '\n';
    for (const auto& cp : checkpoints)
      std::cout << "  seq " << cp.seq << " at " << treecrdt::describe_key(cp.key) << ", " << cp.size_bytes << " bytes, "
                << (cp.base ? "delta over " + treecrdt::describe_key(*cp.base) : std::string("full")) << "\n";
    std::cout << "storage: " << storage_bytes(storage) << " bytes\n";
    finish_output();
    return exit_ok;
  });
}

// ---- verify --------------------------------------------------------------------------------------

/// The first difference between two exports, in words; nullopt when they are equal. `ours` names
/// the side being checked ("materialized state", or "tables" for the table store).
[[nodiscard]] inline std::optional<std::string> first_difference(const treecrdt::canonical_export& materialized,
                                                                 const treecrdt::canonical_export& folded,
                                                                 const std::string& ours = "materialized state") {
  using treecrdt::to_hex;
  const auto opt_node = [](const std::optional<treecrdt::node_id>& n) { return n ? to_hex(*n) : std::string("none"); };
  const auto opt_bytes = [](const std::optional<treecrdt::bytes>& b) {
    return b ? "hex:" + treecrdt::detail::to_hex(*b) : std::string("none");
  };
  const std::size_t rows = std::min(materialized.nodes.size(), folded.nodes.size());
  for (std::size_t i = 0; i < rows; ++i) {
    const auto& m = materialized.nodes[i];
    const auto& f = folded.nodes[i];
    if (m.node != f.node) {
      const auto& first = std::min(m.node, f.node);
      return "node " + to_hex(first) + " exists only in the " + (m.node < f.node ? ours : "fresh fold");
    }
    const std::string at = "node " + to_hex(m.node) + ": ";
    if (m.parent != f.parent)
      return at + "parent " + opt_node(m.parent) + " in the " + ours + ", " + opt_node(f.parent) + " in the fold";
    if (m.order_key != f.order_key)
      return at + "order_key " + opt_bytes(m.order_key) + " in the " + ours + ", " + opt_bytes(f.order_key) +
             " in the fold";
    if (m.tombstoned != f.tombstoned)
      return at + (m.tombstoned ? "tombstoned" : "alive") + " in the " + ours + ", " +
             (f.tombstoned ? "tombstoned" : "alive") + " in the fold";
    if (m.payload != f.payload)
      return at + "payload " + opt_bytes(m.payload) + " in the " + ours + ", " + opt_bytes(f.payload) + " in the fold";
  }
  if (materialized.nodes.size() != folded.nodes.size())
    return std::to_string(materialized.nodes.size()) + " nodes in the " + ours + ", " +
           std::to_string(folded.nodes.size()) + " in the fold";
  const std::size_t lists = std::min(materialized.children.size(), folded.children.size());
  for (std::size_t i = 0; i < lists; ++i) {
    const auto& [mp, mk] = materialized.children[i];
    const auto& [fp, fk] = folded.children[i];
    if (mp != fp)
      return "node " + to_hex(std::min(mp, fp)) + " has visible children only in the " +
             (mp < fp ? ours : "fresh fold");
    if (mk != fk) return "the visible children of node " + to_hex(mp) + " differ";
  }
  if (materialized.children.size() != folded.children.size())
    return std::to_string(materialized.children.size()) + " children lists in the " + ours + ", " +
           std::to_string(folded.children.size()) + " in the fold";
  return std::nullopt;
}

[[nodiscard]] inline int run_verify(const arguments& args) {
  if (!check_arity(args, verify_help, 1)) return exit_ok;
  const location where = parse_location(args.positional[0]);
  const std::string& path = describe(where);
  return with_existing_document(where, store_option(args), [&](auto& doc) {
    constexpr bool tables = on_tables<std::remove_cvref_t<decltype(doc)>>;
    // On the table store this export reads the rows as stored: a corrupted row shows up below.
    const auto materialized = doc.export_canonical();
    const auto& st = doc.stats();
    const std::uint64_t folded_at_open = st.ops_applied_forward + st.ops_replayed_total;
    const std::string how =
        tables ? "tree tables at seq " + std::to_string(doc.head().seq) +
                     (folded_at_open ? ", " + std::to_string(folded_at_open) + " ops folded into them at open" : "")
        : st.restored_checkpoint ? "checkpoint at seq " + std::to_string(st.restored_checkpoint->seq) + " + " +
                                       std::to_string(st.ops_replayed_last_catch_up) + " ops replayed"
                                 : "full replay of " + std::to_string(st.ops_replayed_last_catch_up) + " ops";

    // The reference: every stored op, in key order, into a document that shares nothing with DB.
    memory_document fresh(treecrdt::memory_storage<key>{}, cli_replica);
    std::vector<treecrdt::op<key>> chunk;
    std::uint64_t total = 0;
    doc.storage().scan_after(std::nullopt, [&](const treecrdt::op<key>& o) {
      chunk.push_back(o);
      if (chunk.size() == 4096) {
        fresh.apply(chunk);
        total += chunk.size();
        chunk.clear();
      }
    });
    fresh.apply(chunk);
    total += chunk.size();

    const std::string ours = tables ? "tables" : "materialized state";
    if (const auto diff = first_difference(materialized, fresh.export_canonical(), ours)) {
      std::cout << "MISMATCH: the " << ours << " of " << path << " (" << how << ") differ" << (tables ? "" : "s")
                << " from a fresh fold of its " << total << " ops: " << *diff << '\n';
      finish_output();
      return exit_mismatch;
    }
    std::cout << "ok: the " << ours << " of " << path << " (" << how << ") equal" << (tables ? "" : "s")
              << " a fresh fold of its " << total << " ops (" << materialized.nodes.size() << " nodes)\n";
    finish_output();
    return exit_ok;
  });
}

// ---- sync ----------------------------------------------------------------------------------------

/// Sends `ops` to `to`, `batch` per transaction with a deferred catch-up, stopping when `budget`
/// (transactions left, nullopt = unlimited) runs out; returns how many ops were sent.
template <class Doc>
std::uint64_t send_ops(Doc& to, const std::vector<treecrdt::op<key>>& ops, std::uint64_t batch,
                       std::optional<std::uint64_t>& budget, progress_bar& progress, std::uint64_t& done) {
  std::uint64_t sent = 0;
  while (sent < ops.size() && (!budget || *budget > 0)) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(batch, ops.size() - sent));
    to.apply(std::span<const treecrdt::op<key>>(ops).subspan(static_cast<std::size_t>(sent), n),
             treecrdt::defer_catch_up);
    sent += n;
    done += n;
    if (budget) --*budget;
    progress.update(done);
  }
  return sent;
}

/// The body of `sync` once both documents are open (any pair of storages and stores).
template <class DocA, class DocB>
[[nodiscard]] int sync_documents(DocA& a, const location& a_at, DocB& b, const location& b_at, std::uint64_t batch,
                                 std::optional<std::uint64_t> budget) {
  // Each side's version vector is read once: what one side lacks of the other's log as it was
  // when the sync started. Ops appended meanwhile wait for the next sync.
  const auto a_version = a.version();
  const auto b_version = b.version();
  const std::vector<treecrdt::op<key>> to_b = a.ops_since(b_version);
  const std::vector<treecrdt::op<key>> to_a = b.ops_since(a_version);
  progress_bar progress(to_b.size() + to_a.size(), "syncing");
  std::uint64_t done = 0;
  const std::uint64_t sent_b = send_ops(b, to_b, batch, budget, progress, done);
  const std::uint64_t sent_a = send_ops(a, to_a, batch, budget, progress, done);
  progress.message("catching up...");
  b.catch_up();
  a.catch_up();
  progress.finish();
  const bool complete = sent_b == to_b.size() && sent_a == to_a.size();
  std::cout << "synced " << describe(a_at) << " and " << describe(b_at) << ": " << sent_b << " ops sent to "
            << describe(b_at) << ", " << sent_a << " ops sent to " << describe(a_at) << "; "
            << (complete ? "both hold " + std::to_string(a.storage().op_count()) + " ops"
                         : std::to_string(to_b.size() + to_a.size() - sent_b - sent_a) +
                               " ops left for the next sync (--max-batches reached)")
            << '\n';
  finish_output();
  return exit_ok;
}

[[nodiscard]] inline int run_sync(const arguments& args) {
  if (!check_arity(args, sync_help, 2)) return exit_ok;
  std::uint64_t batch = 1000;
  if (const auto b = args.option("--batch")) batch = parse_count(*b, "--batch", 1, 10'000'000);
  std::optional<std::uint64_t> budget;
  if (const auto m = args.option("--max-batches")) budget = parse_count(*m, "--max-batches", 1, UINT64_MAX);
  const location a_at = parse_location(args.positional[0]);
  const location b_at = parse_location(args.positional[1]);
  const store_kind store = store_option(args);
  return with_storage(a_at, open_mode::create, [&](auto& a_storage) {
    return with_storage(b_at, open_mode::create, [&](auto& b_storage) {
      return with_document(a_storage, store, std::nullopt, [&](auto& a) {
        return with_document(b_storage, store, std::nullopt,
                             [&](auto& b) { return sync_documents(a, a_at, b, b_at, batch, budget); });
      });
    });
  });
}

// ---- dispatch ------------------------------------------------------------------------------------

/// Runs `treecrdt ARGS...` (args[0] is the command). Returns the exit status; prints every failure.
[[nodiscard]] inline int run_tool(const std::vector<std::string_view>& args) {
  using runner = int (*)(const arguments&);
  struct command {
    const command_help& help;
    runner run;
    std::vector<std::string_view> value_options;
  };
  const command commands[] = {{replay_help, run_replay, {}},
                              {import_help, run_import, {"--batch", "--cadence", "--store"}},
                              {export_help, run_export, {"--store"}},
                              {show_help, run_show, {"--store"}},
                              {stats_help, run_stats, {"--store"}},
                              {verify_help, run_verify, {"--store"}},
                              {sync_help, run_sync, {"--batch", "--max-batches", "--store"}}};

  if (args.empty()) {
    std::cerr << "treecrdt: missing command\n";
    print_tool_help(std::cerr);
    return exit_usage;
  }
  const std::string_view name = args[0];
  if (name == "--help" || name == "-h" || name == "help") {
    if (args.size() == 2)
      for (const auto& c : commands)
        if (c.help.name == args[1]) {
          print_command_help(std::cout, c.help);
          return exit_ok;
        }
    print_tool_help(std::cout);
    return exit_ok;
  }
  for (const auto& c : commands) {
    if (c.help.name != name) continue;
    const std::string prefix = "treecrdt " + std::string(name) + ": ";
    try {
      const std::vector<std::string_view> rest(args.begin() + 1, args.end());
      return c.run(parse_arguments(rest, c.value_options));
    } catch (const usage_error& e) {
      std::cerr << prefix << e.what() << "\nusage: treecrdt " << c.help.usage << "\nTry 'treecrdt " << name
                << " --help'.\n";
      return exit_usage;
    } catch (const std::exception& e) {
      // command_error, parse errors, treecrdt::error (schema, storage, invalid ops), I/O.
      std::cerr << prefix << e.what() << '\n';
      return exit_failure;
    }
  }
  std::cerr << "treecrdt: unknown command \"" << name << "\"\n";
  print_tool_help(std::cerr);
  return exit_usage;
}

}  // namespace treecrdt_cli
