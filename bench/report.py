#!/usr/bin/env python3
"""Turns the benchmark JSON of bench/run.sh into docs/BENCHMARKS.md and gnuplot plots.

usage: report.py --main main.json --memory memory.json --machine machine.json [--peers peers.json]
                 --template BENCHMARKS.template.md --out BENCHMARKS.md --plots DIR --data DIR

--plots receives the PNGs, --data the gnuplot inputs (data files and scripts).

The template is markdown with three kinds of tokens, all filled from the measurements:
  {{table:NAME}}   a generated table (see TABLES below)
  {{value:NAME}}   one formatted figure (see values()); "n/a" when the run lacks it (quick mode)
  {{plot:NAME}}    a rendered plot (catch_up, checkpoint_cost)
  {{machine}}, {{targets}} (issue 10's targets), {{tables_targets}} (issue 11's), {{earlier_targets}},
  {{peers_status}}
Figures are medians over repetitions when the run had several (run.sh's full mode), else the
single run. Exits non-zero if any benchmark reported an error, or a token is unknown.
"""
import argparse
import json
import os
import re
import subprocess
import sys


# ---- loading -------------------------------------------------------------------------------------

def base_name(run_name):
    name = re.sub(r"/iterations:\d+", "", run_name)
    name = re.sub(r"/repeats:\d+", "", name)
    return re.sub(r"/manual_time$", "", name)


def load(path):
    """{base name: row} with the median aggregate when present, plus the list of errors."""
    with open(path) as f:
        data = json.load(f)
    rows, errors = {}, []
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            errors.append("%s: %s" % (b.get("name"), b.get("error_message")))
            continue
        key = base_name(b.get("run_name", b["name"]))
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                rows[key] = b
        elif key not in rows:
            rows[key] = b
    return data.get("context", {}), rows, errors


# ---- formatting ----------------------------------------------------------------------------------

def fmt_ns(ns):
    if ns is None:
        return "n/a"
    if ns < 0:
        return "−" + fmt_ns(-ns)
    if ns < 1e3:
        return "%.0f ns" % ns
    if ns < 1e6:
        return "%.3g µs" % (ns / 1e3)
    if ns < 1e9:
        return "%.3g ms" % (ns / 1e6)
    return "%.3g s" % (ns / 1e9)


def fmt_ms(ms):
    return "n/a" if ms is None else fmt_ns(ms * 1e6)


def fmt_us(us):
    return "n/a" if us is None else fmt_ns(us * 1e3)


def fmt_bytes(b):
    if b is None:
        return "n/a"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= scale:
            return "%.3g %s" % (b / scale, unit)
    return "%.0f B" % b


def fmt_ratio(r):
    if r is None:
        return "n/a"
    if r < 100 and ("%.3g" % r) in ("1", "1.5", "2", "3", "4", "10", "30"):  # a bound: say which side
        return "%.4g×" % r
    return ("%.3g×" % r) if r < 100 else ("%.0f×" % r)


def fmt_pct(x):
    return "n/a" if x is None else "%.0f %%" % (100 * x) if abs(x) >= 0.1 else "%.1f %%" % (100 * x)


def fmt_s(x):
    return "n/a" if x is None else fmt_ns(x * 1e9)


def fmt_rate(c):
    """A small rate (per 1,000 ops): two significant digits, so that 0.001 is not shown as 0."""
    return "n/a" if c is None else ("0" if c == 0 else "%.2g" % c)


def fmt_thousands(c):
    return "n/a" if c is None else "{:,.0f}".format(c)


def fmt_count(c):
    if c is None:
        return "n/a"
    return "%.0f" % c if abs(c - round(c)) < 0.05 or c >= 100 else "%.1f" % c


def size_value(text):
    m = re.fullmatch(r"(\d+)([kM]?)", text)
    return int(m.group(1)) * {"": 1, "k": 1000, "M": 1000000}[m.group(2)]


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


class Results:
    def __init__(self, rows):
        self.rows = rows

    def get(self, name, field):
        row = self.rows.get(name)
        if row is None or field not in row:
            return None
        return float(row[field])

    def ms(self, name, field):
        """A field in ms, as ns (for wall_cpu)."""
        v = self.get(name, field)
        return None if v is None else v * 1e6

    def time_ns(self, name):
        """The benchmark's own (manual) time per iteration, in ns, whatever unit it reported in."""
        row = self.rows.get(name)
        if row is None or "real_time" not in row:
            return None
        return float(row["real_time"]) * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[row.get("time_unit", "ns")]

    def us(self, name, field):
        v = self.get(name, field)
        return None if v is None else v * 1e3

    def matching(self, pattern):
        """[(match, row name)] for names matching the regex, in run order."""
        out = []
        for name in self.rows:
            m = re.fullmatch(pattern, name)
            if m:
                out.append((m, name))
        return out

    def sizes(self, pattern, group=1):
        return sorted({size_value(m.group(group)) for m, _ in self.matching(pattern)})


def size_label(n):
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


def wall_cpu(wall_ns, cpu_ns):
    if wall_ns is None:
        return "n/a"
    return "%s (%s)" % (fmt_ns(wall_ns), fmt_ns(cpu_ns))


# ---- tables --------------------------------------------------------------------------------------

IN_ORDER_PATHS = [
    ("fold<default_key>", "fold only, `memory_store<default_op_key>`"),
    ("fold<compact_key>", "fold only, `memory_store<compact_op_key>`"),
    ("document/batch:1", "`document` over `memory_storage`, one `apply` per op"),
    ("document/batch:1000", "`document` over `memory_storage`, one `apply` per 1,000 ops"),
]


def t_in_order(r, mix):
    sizes = r.sizes(r"in_order/.*/%s/nodes:(\w+)" % mix)
    rows = []
    for path, label in IN_ORDER_PATHS:
        cells = []
        for n in sizes:
            name = "in_order/%s/%s/nodes:%s" % (path, mix, size_label(n))
            cells.append(wall_cpu(r.get(name, "ns_per_op"), r.get(name, "ns_per_op_cpu")))
        rows.append([label] + cells)
    depth = []
    for n in sizes:
        d = r.get("in_order/fold<default_key>/%s/nodes:%s" % (mix, size_label(n)), "avg_depth")
        depth.append("%.0f" % d if d is not None else "n/a")
    rows.append(["average node depth"] + depth)
    return table(["per op, wall (CPU)"] + ["%s nodes" % size_label(n) for n in sizes], rows)


def t_random_moves(r):
    rows = []
    for path in ("fold<default_key>", "fold<compact_key>", "document/batch:1"):
        name = "random_moves/" + path
        rows.append(["`%s`" % path, fmt_ms(r.get(name, "total_ms")),
                     wall_cpu(r.get(name, "us_per_move") and r.get(name, "us_per_move") * 1e3,
                              r.get(name, "us_per_move_cpu") and r.get(name, "us_per_move_cpu") * 1e3),
                     "%.0f" % (r.get(name, "avg_depth") or 0)])
    return table(["path", "10,000 moves, total (wall)", "per move, wall (CPU)", "average depth after"], rows)


def path_label(r, name, prefix):
    """The path the catch-ups of one document took: rewind / checkpoint / full replay, or a mix."""
    shares = [(p, r.get(name, "%s_path_%s" % (prefix, p))) for p in ("rewind", "checkpoint", "full_replay")]
    taken = [(p, v) for p, v in shares if v]
    if not taken:
        return "n/a"
    if len(taken) == 1 and abs(taken[0][1] - 1) < 1e-9:
        return taken[0][0].replace("_", " ")
    return ", ".join("%s %.0f%%" % (p.replace("_", " "), 100 * v) for p, v in taken)


def t_catch_up(r, policy):
    rows = []
    for m, name in r.matching(r"catch_up/%s/tree:(\w+)/log:(\w+)/k:(\w+)" % policy):
        rows.append([m.group(1), m.group(2), m.group(3),
                     wall_cpu(r.ms(name, "default_ms"), r.ms(name, "default_ms_cpu")),
                     path_label(r, name, "default"),
                     "%s / %s / %s" % (fmt_count(r.get(name, "default_undone")),
                                       fmt_count(r.get(name, "default_replayed")),
                                       fmt_count(r.get(name, "default_written"))),
                     wall_cpu(r.ms(name, "checkpoint_ms"), r.ms(name, "checkpoint_ms_cpu")),
                     "%s: %s / %s" % (path_label(r, name, "checkpoint"), fmt_count(r.get(name, "checkpoint_links")),
                                      fmt_count(r.get(name, "checkpoint_replayed"))),
                     wall_cpu(r.ms(name, "from_start_ms"), r.ms(name, "from_start_ms_cpu")),
                     "%s (%s)" % (fmt_ratio(r.get(name, "speedup")), fmt_ratio(r.get(name, "speedup_cpu"))),
                     "%s (%s)" % (fmt_ratio(r.get(name, "checkpoint_speedup")),
                                  fmt_ratio(r.get(name, "checkpoint_speedup_cpu")))])
    return table(["tree nodes", "log ops", "k behind", "`document<>`, wall (CPU)", "path it took",
                  "ops undone / replayed / checkpoints written", "checkpoint path forced, wall (CPU)",
                  "path it took: links restored / ops replayed",
                  "replay from start, wall (CPU)", "speedup of `document<>`, wall (CPU)",
                  "speedup of the checkpoint path"], rows)


def t_roundtrip(r):
    rows = []
    for m, name in r.matching(r"checkpoint/roundtrip/nodes:(\w+)"):
        rows.append([m.group(1), wall_cpu(r.get(name, "encode_ms") * 1e6, r.get(name, "encode_ms_cpu") * 1e6),
                     wall_cpu(r.get(name, "restore_ms") * 1e6, r.get(name, "restore_ms_cpu") * 1e6),
                     fmt_bytes(r.get(name, "bytes")), "%.0f B" % r.get(name, "bytes_per_node"),
                     fmt_ns(r.get(name, "encode_ns_per_node")), fmt_ns(r.get(name, "restore_ns_per_node"))])
    return table(["tree nodes", "encode, wall (CPU)", "restore, wall (CPU)", "checkpoint size", "per node",
                  "encode per node", "restore per node"], rows)


def paired_rows(r, pattern, label):
    rows = []
    for m, name in r.matching(pattern):
        rows.append([label(m),
                     wall_cpu(r.get(name, "ns_per_op"), r.get(name, "ns_per_op_cpu")),
                     wall_cpu(r.get(name, "ns_per_op_no_checkpoints"), r.get(name, "ns_per_op_no_checkpoints_cpu")),
                     wall_cpu(r.get(name, "ns_per_op_plain"), r.get(name, "ns_per_op_plain_cpu")),
                     wall_cpu(r.get(name, "checkpoint_ns_per_op"), r.get(name, "checkpoint_ns_per_op_cpu")),
                     "%s (%s)" % (fmt_pct(r.get(name, "checkpoint_share")), fmt_pct(r.get(name, "checkpoint_share_cpu"))),
                     wall_cpu(r.get(name, "journal_ns_per_op"), r.get(name, "journal_ns_per_op_cpu")),
                     "%s (%s full)" % (fmt_rate(r.get(name, "checkpoints_per_1k_ops")),
                                       fmt_rate(r.get(name, "full_checkpoints_per_1k_ops"))),
                     fmt_bytes(r.get(name, "checkpoint_bytes_per_op")),
                     "%s ops%s" % ("{:,.0f}".format(r.get(name, "window_ops") or 0),
                                   "" if r.get(name, "windows_ending_on_full") else ", no full checkpoint in it")])
    return rows


PAIRED_HEADER = ["per op, wall (CPU)", "never_checkpoint (same journal)", "plain (no journal)",
                 "checkpoint cost per op", "÷ never_checkpoint, wall (CPU)", "journal cost per op",
                 "checkpoints per 1k ops", "checkpoint bytes written per op", "window"]


def t_amortized(r):
    rows = paired_rows(r, r"checkpoint/amortized/nodes:(\w+)", lambda m: m.group(1))
    return table(["tree nodes", "`document<>` " + PAIRED_HEADER[0]] + PAIRED_HEADER[1:], rows)


def t_cadence(r):
    rows = paired_rows(r, r"checkpoint/cadence:(\d+)/nodes:(\w+)",
                       lambda m: "every %s ops, %s nodes" % (m.group(1), m.group(2)))
    return table(["cadence", "with checkpoints " + PAIRED_HEADER[0]] + PAIRED_HEADER[1:], rows)


def t_storage(r):
    rows = []
    for m, name in r.matching(r"checkpoint/storage/(\w+)/log:(\w+)"):
        rows.append([m.group(1).replace("_", " "), m.group(2), fmt_count(r.get(name, "checkpoints")),
                     fmt_bytes(r.get(name, "total_bytes")), fmt_bytes(r.get(name, "largest_bytes")),
                     fmt_count(r.get(name, "checkpoints_written"))])
    return table(["retention", "log ops", "checkpoints kept", "total size", "largest", "written in all"], rows)


def t_restart(r):
    rows = []
    for m, name in r.matching(r"restart/sqlite/log:(\w+)"):
        rows.append([m.group(1), fmt_ms(r.get(name, "restart_ms")), fmt_ms(r.get(name, "replay_from_start_ms")),
                     fmt_ratio(r.get(name, "speedup")), fmt_count(r.get(name, "replayed_restart")),
                     fmt_count(r.get(name, "replayed_from_start"))])
    return table(["log ops", "open + restore checkpoint", "open + replay from start", "speedup",
                  "ops replayed (restore)", "ops replayed (from start)"], rows)


def t_append(r, policy, raw_label):
    rows = []
    for m, name in r.matching(r"append/%s/batch:(\w+)" % policy):
        rows.append([m.group(1), fmt_us(r.get(name, "document_us_per_op")),
                     fmt_us(r.get(name, "no_checkpoints_us_per_op")), fmt_us(r.get(name, "append_us_per_op")),
                     fmt_us(r.get(name, "raw_us_per_op")), fmt_ratio(r.get(name, "document_vs_raw")),
                     fmt_ratio(r.get(name, "no_checkpoints_vs_raw")), fmt_ratio(r.get(name, "append_vs_raw"))])
    return table(["batch", "`document::apply` per op", "same, `never_checkpoint`", "`append` alone per op",
                  raw_label + " per op", "document ÷ raw", "never_checkpoint ÷ raw", "append ÷ raw"], rows)


def t_memory(r):
    rows = []
    for m, name in r.matching(r"memory/(store<\w+>|memory_storage)/(.+)"):
        per = "node" if m.group(1).startswith("store") else "op"
        rows.append(["`%s` %s" % (m.group(1), m.group(2)),
                     "%.0f B per %s" % (r.get(name, "heap_bytes_per_" + per), per),
                     "%.0f B per %s" % (r.get(name, "rss_bytes_per_" + per), per),
                     "%.0f MB" % r.get(name, "heap_MB")])
    return table(["structure", "live heap (counting operator new)", "resident-set growth", "heap in all"], rows)


LOCAL_EDITS = [
    (r"local/random_moves/.*", "random moves among 1,000 nodes"),
    (r"local/appends/.*", "appends under one parent"),
]


def local_name(r, pattern):
    found = r.matching(pattern)
    return found[0][1] if found else None


def t_local_edits(r):
    rows = []
    for pattern, label in LOCAL_EDITS:
        name = local_name(r, pattern)
        if name is None:
            continue
        rows.append([label + (" (`%s`)" % name),
                     wall_cpu(r.us(name, "default_us_per_op"), r.us(name, "default_us_per_op_cpu")),
                     wall_cpu(r.us(name, "never_checkpoint_us_per_op"), r.us(name, "never_checkpoint_us_per_op_cpu")),
                     wall_cpu(r.us(name, "plain_us_per_op"), r.us(name, "plain_us_per_op_cpu")),
                     "%s (%s)" % (fmt_ratio(r.get(name, "default_vs_plain")),
                                  fmt_ratio(r.get(name, "default_vs_plain_cpu"))),
                     "%s (%s)" % (fmt_ratio(r.get(name, "default_vs_never_checkpoint")),
                                  fmt_ratio(r.get(name, "default_vs_never_checkpoint_cpu"))),
                     fmt_count(r.get(name, "checkpoints_written"))])
    return table(["workload", "`document<>` per op, wall (CPU)", "never_checkpoint", "plain (no journal)",
                  "`document<>` ÷ plain, wall (CPU)", "`document<>` ÷ never_checkpoint", "checkpoints written"],
                 rows)


def t_appends_growth(r):
    name = local_name(r, r"local/appends/.*")
    if name is None:
        return "(not run)"
    return table(["`document<>` per append, first slice", "last slice"],
                 [[fmt_us(r.get(name, "default_first_slice_us_per_op")),
                   fmt_us(r.get(name, "default_last_slice_us_per_op"))]])


def peer_workload(peers, name):
    for w in (peers or {}).get("workloads", []):
        if w.get("name") == name:
            return w
    return None


def t_peers(r, peers):
    if not peers or "skipped" in peers:
        return "*Not run: %s.*" % ((peers or {}).get("skipped") or "no peer results")
    rows = []
    for pattern, label, loro_name in ((r"local/random_moves/.*", "random moves", "random_moves"),
                                      (r"local/appends/.*", "appends under one parent", "appends")):
        name = local_name(r, pattern)
        end, each = peer_workload(peers, loro_name + "/commit_end"), peer_workload(peers, loro_name + "/commit_each")
        ours_wall, ours_cpu = r.get(name, "default_us_per_op"), r.get(name, "default_us_per_op_cpu")

        def cell(w):
            return "n/a" if w is None else wall_cpu(w["median_us_per_op"] * 1e3, w["median_us_per_op_cpu"] * 1e3)

        def ratio(w):
            if w is None or not ours_wall:
                return "n/a"
            return "%s (%s)" % (fmt_ratio(w["median_us_per_op"] / ours_wall),
                                fmt_ratio(w["median_us_per_op_cpu"] / ours_cpu) if ours_cpu else "n/a")

        size = (end or each or {}).get("moves") or (end or each or {}).get("appends")
        rows.append(["%s (%s ops)" % (label, "{:,}".format(size) if size else "?"),
                     wall_cpu(r.us(name, "default_us_per_op"), r.us(name, "default_us_per_op_cpu")),
                     cell(end), ratio(end), cell(each), ratio(each)])
    return table(["workload", "treecrdt `document<>` per op, wall (CPU)",
                  "loro-crdt, one commit at the end", "loro ÷ treecrdt, wall (CPU)",
                  "loro-crdt, a commit per edit", "loro ÷ treecrdt"], rows)


def t_import(r):
    rows = []
    for m, name in r.matching(r"import/cli/log:(\w+)"):
        rows.append([m.group(1),
                     "%s (%s CPU)" % (fmt_s(r.get(name, "default_s")), fmt_s(r.get(name, "default_s_cpu"))),
                     "%s (%s CPU)" % (fmt_s(r.get(name, "cadence0_s")), fmt_s(r.get(name, "cadence0_s_cpu"))),
                     "%s (%s)" % (fmt_ratio(r.get(name, "time_ratio")), fmt_ratio(r.get(name, "time_ratio_cpu"))),
                     "{:,.0f}".format(r.get(name, "default_ops_per_s") or 0),
                     fmt_bytes(r.get(name, "default_db_bytes")), fmt_bytes(r.get(name, "cadence0_db_bytes")),
                     fmt_ratio(r.get(name, "size_ratio")), fmt_bytes(r.get(name, "log_bytes"))])
    return table(["log ops", "`treecrdt import`, defaults: wall (CPU)", "`--cadence 0`", "time ratio, wall (CPU)",
                  "ops/s with defaults", "database, defaults", "database, `--cadence 0`", "size ratio",
                  "JSON Lines input"], rows)


def t_sync(r):
    rows = []
    for m, name in r.matching(r"sync/version/(\w+)/log:(\w+)"):
        one = "sync/ops_since_one/%s/log:%s" % (m.group(1), m.group(2))
        rows.append([m.group(1), m.group(2), fmt_ns(r.time_ns(name)),
                     fmt_ms(r.get(name, "ops_since_ms")), fmt_ratio(r.get(name, "ratio")), fmt_ms(r.get(name, "scan_ms")),
                     fmt_ns(r.time_ns(one)), fmt_count(r.get(name, "gaps"))])
    return table(["policy", "log ops", "`version()` (the kept vector)", "one full `ops_since({})`", "ratio",
                  "vector by a scan of the log", "`ops_since` for a peer lacking one op", "ranges in the vector"],
                 rows)


def policy_label(policy):
    return {"sqlite": "SQLite", "postgres": "PostgreSQL"}.get(policy, policy)


def t_tables_open(r):
    rows = []
    for m, name in r.matching(r"tables/open/(\w+)/nodes:(\w+)"):
        for store, label in (("tables", "`%s_store`" % m.group(1)),
                             ("memory", "memory store (`document<K, %s_storage<K>>`)" % m.group(1))):
            rows.append([policy_label(m.group(1)), m.group(2), label,
                         fmt_ms(r.get(name, store + "_ms")), fmt_ms(r.get(name, store + "_list_ms")),
                         fmt_ms(r.get(name, store + "_probe_ms")),
                         fmt_bytes(r.get(name, store + "_probe_peak_rss_bytes")),
                         fmt_bytes(r.get(name, store + "_probe_start_rss_bytes")),
                         "0" if store == "tables" else fmt_count(r.get(name, "memory_replayed"))])
    return table(["database", "nodes", "store", "open + list ROOT", "list alone", "same in a fresh process",
                  "peak RSS of that process", "its RSS before opening", "ops folded at open"], rows)


def t_tables_apply(r):
    rows = []
    for m, name in r.matching(r"tables/apply/(\w+)/(\w+)/batch:(\w+)"):
        rows.append([policy_label(m.group(1)), m.group(2).replace("_", " "), m.group(3),
                     fmt_thousands(r.get(name, "nodes")),
                     "%s (%s)" % (fmt_thousands(r.get(name, "tables_ops_per_s")),
                                  fmt_thousands(r.get(name, "tables_ops_per_s_cpu"))),
                     fmt_thousands(r.get(name, "memory_ops_per_s")),
                     fmt_thousands(r.get(name, "never_checkpoint_ops_per_s")),
                     "%s (%s)" % (fmt_ratio(r.get(name, "tables_vs_memory")),
                                  fmt_ratio(r.get(name, "tables_vs_memory_cpu"))),
                     "%s (%s)" % (fmt_ratio(r.get(name, "tables_vs_never_checkpoint")),
                                  fmt_ratio(r.get(name, "tables_vs_never_checkpoint_cpu")))])
    return table(["database", "ops", "batch", "tree nodes at the end", "table store ops/s, wall (CPU)",
                  "memory store `document<>` ops/s", "memory store, never_checkpoint", "table ÷ memory, wall (CPU)",
                  "table ÷ never_checkpoint, wall (CPU)"], rows)


def t_tables_catch_up(r):
    rows = []
    for m, name in r.matching(r"tables/catch_up/(\w+)/tree:(\w+)/log:(\w+)/k:(\w+)"):
        rows.append([policy_label(m.group(1)), m.group(2), m.group(3), m.group(4),
                     wall_cpu(r.ms(name, "tables_ms"), r.ms(name, "tables_ms_cpu")),
                     "%s: %s / %s" % (path_label(r, name, "tables"), fmt_count(r.get(name, "tables_undone")),
                                      fmt_count(r.get(name, "tables_replayed"))),
                     wall_cpu(r.ms(name, "rebuild_ms"), r.ms(name, "rebuild_ms_cpu")),
                     "%s (%s)" % (fmt_ratio(r.get(name, "speedup")), fmt_ratio(r.get(name, "speedup_cpu"))),
                     "%s, %s" % (wall_cpu(r.ms(name, "memory_ms"), r.ms(name, "memory_ms_cpu")),
                                 path_label(r, name, "memory"))])
    return table(["database", "tree nodes", "log ops", "k behind", "table store, wall (CPU)",
                  "path it took: ops undone / replayed", "tables rebuilt from the log, wall (CPU)",
                  "speedup, wall (CPU)", "memory store `document<>` (reference)"], rows)


TABLES = {
    "in_order_edit": lambda r: t_in_order(r, "edit_mix"),
    "in_order_moves": lambda r: t_in_order(r, "moves"),
    "random_moves": t_random_moves,
    "local_edits": t_local_edits,
    "appends_growth": t_appends_growth,
    "import": t_import,
    "checkpoint_amortized": t_amortized,
    "catch_up_memory": lambda r: t_catch_up(r, "memory"),
    "catch_up_sqlite": lambda r: t_catch_up(r, "sqlite"),
    "checkpoint_roundtrip": t_roundtrip,
    "checkpoint_cadence": t_cadence,
    "checkpoint_storage": t_storage,
    "restart": t_restart,
    "append_sqlite": lambda r: t_append(r, "sqlite", "raw `INSERT`"),
    "append_postgres": lambda r: t_append(r, "postgres", "raw `COPY`"),
    "memory": t_memory,
    "sync": t_sync,
    "tables_open": t_tables_open,
    "tables_apply": t_tables_apply,
    "tables_catch_up": t_tables_catch_up,
}


# ---- single values and targets -------------------------------------------------------------------

def values(r, peers):
    """Named figures the template may quote."""
    v = {}

    def put(name, text):
        v[name] = text

    for n in ("1k", "100k", "1M"):
        for mix in ("edit_mix", "moves"):
            base = "in_order/fold<default_key>/%s/nodes:%s" % (mix, n)
            put("fold_%s_%s_cpu" % (mix, n), fmt_ns(r.get(base, "ns_per_op_cpu")))
            put("fold_%s_%s_wall" % (mix, n), fmt_ns(r.get(base, "ns_per_op")))
            doc = "in_order/document/batch:1/%s/nodes:%s" % (mix, n)
            put("doc1_%s_%s_cpu" % (mix, n), fmt_ns(r.get(doc, "ns_per_op_cpu")))
            put("doc1000_%s_%s_cpu" % (mix, n), fmt_ns(r.get("in_order/document/batch:1000/%s/nodes:%s" % (mix, n),
                                                             "ns_per_op_cpu")))
    put("random_moves_total", fmt_ms(r.get("random_moves/fold<default_key>", "total_ms")))
    put("random_moves_per_move_cpu", fmt_us(r.get("random_moves/fold<default_key>", "us_per_move_cpu")))
    # Catch-up: c_<policy>_<tree>_<log>_<k>_<field>.
    # Every case a full run has, so that the template's names exist in quick mode too (as n/a).
    cases = {("memory", "100k", "1M", k) for k in ("100", "10k")}
    cases |= {("memory", "2k", n, k) for n in ("10k", "100k", "1M") for k in ("100", "10k")}
    cases |= {("sqlite", "30k", "300k", k) for k in ("100", "10k")}
    for policy in ("memory", "sqlite"):
        for m, _ in r.matching(r"catch_up/%s/tree:(\w+)/log:(\w+)/k:(\w+)" % policy):
            cases.add((policy, m.group(1), m.group(2), m.group(3)))
    for policy, tree, log, k in sorted(cases):
        name = "catch_up/%s/tree:%s/log:%s/k:%s" % (policy, tree, log, k)
        base = "c_%s_%s_%s_%s" % (policy, tree, log, k)
        for doc in ("default", "checkpoint", "from_start"):
            put("%s_%s" % (base, doc), fmt_ms(r.get(name, doc + "_ms")))
            put("%s_%s_cpu" % (base, doc), fmt_ms(r.get(name, doc + "_ms_cpu")))
            put("%s_%s_replayed" % (base, doc), fmt_count(r.get(name, doc + "_replayed")))
            put("%s_%s_undone" % (base, doc), fmt_count(r.get(name, doc + "_undone")))
            put("%s_%s_links" % (base, doc), fmt_count(r.get(name, doc + "_links")))
            put("%s_%s_path" % (base, doc), path_label(r, name, doc))
            put("%s_%s_written" % (base, doc), fmt_count(r.get(name, doc + "_written")))
        put(base + "_speedup", fmt_ratio(r.get(name, "speedup")))
        put(base + "_speedup_cpu", fmt_ratio(r.get(name, "speedup_cpu")))
        put(base + "_cp_speedup", fmt_ratio(r.get(name, "checkpoint_speedup")))
        put(base + "_cp_speedup_cpu", fmt_ratio(r.get(name, "checkpoint_speedup_cpu")))
    for n in ("10k", "100k", "1M"):
        name = "checkpoint/roundtrip/nodes:%s" % n
        put("rt_%s_restore" % n, fmt_ms(r.get(name, "restore_ms_cpu")))
        put("rt_%s_encode" % n, fmt_ms(r.get(name, "encode_ms_cpu")))
        put("rt_%s_bytes" % n, fmt_bytes(r.get(name, "bytes")))
        put("rt_%s_restore_per_node" % n, fmt_ns(r.get(name, "restore_ns_per_node")))
    for n in ("1k", "10k", "100k", "1M"):
        name = "checkpoint/amortized/nodes:%s" % n
        put("amortized_%s_share" % n, fmt_pct(r.get(name, "checkpoint_share_cpu")))
        put("amortized_%s_cost_cpu" % n, fmt_ns(r.get(name, "checkpoint_ns_per_op_cpu")))
        put("amortized_%s_plain_cpu" % n, fmt_ns(r.get(name, "ns_per_op_no_checkpoints_cpu")))
        put("amortized_%s_journal_cpu" % n, fmt_ns(r.get(name, "journal_ns_per_op_cpu")))
        put("amortized_%s_full_per_1k" % n, fmt_rate(r.get(name, "full_checkpoints_per_1k_ops")))
        put("amortized_%s_per_1k" % n, fmt_rate(r.get(name, "checkpoints_per_1k_ops")))
        put("amortized_%s_bytes_per_op" % n, fmt_bytes(r.get(name, "checkpoint_bytes_per_op")))
    for c in ("16", "64", "256", "1024"):
        for n in ("10k", "1k"):
            name = "checkpoint/cadence:%s/nodes:%s" % (c, n)
            if name in r.rows:
                put("cadence_%s_cost_cpu" % c, fmt_ns(r.get(name, "checkpoint_ns_per_op_cpu")))
                put("cadence_%s_plain_cpu" % c, fmt_ns(r.get(name, "ns_per_op_no_checkpoints_cpu")))
    for n in ("10k", "100k", "1M"):
        put("restart_%s_speedup" % n, fmt_ratio(r.get("restart/sqlite/log:%s" % n, "speedup")))
        put("restart_%s_ms" % n, fmt_ms(r.get("restart/sqlite/log:%s" % n, "restart_ms")))
    for b in ("1", "100", "10k"):
        put("sqlite_%s_doc" % b, fmt_ratio(r.get("append/sqlite/batch:%s" % b, "document_vs_raw")))
        put("sqlite_%s_append" % b, fmt_ratio(r.get("append/sqlite/batch:%s" % b, "append_vs_raw")))
        put("pg_%s_doc" % b, fmt_ratio(r.get("append/postgres/batch:%s" % b, "document_vs_raw")))
        put("pg_%s_append" % b, fmt_ratio(r.get("append/postgres/batch:%s" % b, "append_vs_raw")))
        put("sqlite_%s_nocp" % b, fmt_ratio(r.get("append/sqlite/batch:%s" % b, "no_checkpoints_vs_raw")))
        put("pg_%s_nocp" % b, fmt_ratio(r.get("append/postgres/batch:%s" % b, "no_checkpoints_vs_raw")))
    mem = "memory/store<default_key>/payload16/nodes:1M"
    put("heap_per_node", "n/a" if r.get(mem, "heap_bytes_per_node") is None else
        "%.0f B" % r.get(mem, "heap_bytes_per_node"))
    for key in ("default", "compact"):
        rec = r.get("memory/store<%s_key>/payload16/nodes:1M" % key, "node_record_bytes")
        if rec is None:  # quick mode's smaller store has the same record
            rec = r.get("memory/store<%s_key>/payload16/nodes:20k" % key, "node_record_bytes")
        put("node_record_%s" % key, "n/a" if rec is None else "%.0f" % rec)
    for ret in ("default_retention", "keep_all"):
        put("storage_%s_100k" % ret, fmt_bytes(r.get("checkpoint/storage/%s/log:100k" % ret, "total_bytes")))
        put("storage_%s_10k" % ret, fmt_bytes(r.get("checkpoint/storage/%s/log:10k" % ret, "total_bytes")))
    # Local edits and the peer.
    for short, pattern in (("moves", r"local/random_moves/.*"), ("appends", r"local/appends/.*")):
        name = local_name(r, pattern)
        put("local_%s_default" % short, fmt_us(r.get(name, "default_us_per_op_cpu")) if name else "n/a")
        put("local_%s_plain" % short, fmt_us(r.get(name, "plain_us_per_op_cpu")) if name else "n/a")
        put("local_%s_ratio" % short, fmt_ratio(r.get(name, "default_vs_plain_cpu")) if name else "n/a")
        for style in ("commit_end", "commit_each"):
            w = peer_workload(peers, "%s/%s" % ("random_moves" if short == "moves" else "appends", style))
            put("loro_%s_%s" % (short, style), "n/a" if w is None else fmt_us(w["median_us_per_op"]))
            ours = r.get(name, "default_us_per_op") if name else None
            put("loro_%s_%s_ratio" % (short, style),
                "n/a" if w is None or not ours else fmt_ratio(w["median_us_per_op"] / ours))
    put("loro_version", (peers or {}).get("version", "n/a"))
    put("node_version", (peers or {}).get("node", "n/a"))
    for m, name in r.matching(r"import/cli/log:(\w+)"):
        put("import_time_ratio", fmt_ratio(r.get(name, "time_ratio")))
        put("import_size_ratio", fmt_ratio(r.get(name, "size_ratio")))
        put("import_default_s", fmt_s(r.get(name, "default_s")))
        put("import_cadence0_s", fmt_s(r.get(name, "cadence0_s")))
        put("import_ops_per_s", "{:,.0f}".format(r.get(name, "default_ops_per_s") or 0))
    for k in ("import_time_ratio", "import_size_ratio", "import_default_s", "import_cadence0_s", "import_ops_per_s"):
        v.setdefault(k, "n/a")
    return v


def verdict(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


class Targets:
    """Rows of a targets table: each a bound, the measured figure, the verdict and the gap."""

    def __init__(self):
        self.rows = []

    @staticmethod
    def gap(factor, word):
        """How far from the bound: a percentage when close, else a factor."""
        if factor == float("inf"):
            return word
        pct = (factor - 1) * 100
        if factor < 1.5:
            return ("%.2f %% %s" if pct < 1 else "%.1f %% %s") % (pct, word)
        return "%.3g× %s" % (factor, word)

    def at_least(self, target, value, bound, measured, note=""):
        ok = None if value is None else value >= bound
        gap = "" if ok is None or ok else self.gap(bound / value if value > 0 else float("inf"), "short")
        self.rows.append([target, measured if value is not None else "not run" + note, verdict(ok), gap])

    def at_most(self, target, value, bound, measured, note=""):
        ok = None if value is None else value <= bound
        gap = "" if ok is None or ok else self.gap(value / bound, "over")
        self.rows.append([target, measured if value is not None else "not run" + note, verdict(ok), gap])

    def text(self):
        return table(["target", "measured (median)", "verdict", "gap"], self.rows)


def targets(r, peers):
    t = Targets()
    quick = " (quick mode)"
    # Late-op catch-up, memory.
    for k, bound in (("100", 100), ("10k", 10)):
        name = "catch_up/memory/tree:100k/log:1M/k:%s" % k
        sp, spw = r.get(name, "speedup_cpu"), r.get(name, "speedup")
        t.at_least("late op k = %s behind a 1M-op log (100k nodes, memory): `document<>` ≥ %d× replay from start"
                   % (k, bound), sp, bound,
                   "%s CPU (%s wall): %s vs %s CPU; %s, %s ops undone / %s replayed" % (
                       fmt_ratio(sp), fmt_ratio(spw), fmt_ms(r.get(name, "default_ms_cpu")),
                       fmt_ms(r.get(name, "from_start_ms_cpu")), path_label(r, name, "default"),
                       fmt_count(r.get(name, "default_undone")), fmt_count(r.get(name, "default_replayed"))), quick)
    cps = [(n, r.get("catch_up/memory/tree:2k/log:%s/k:100" % n, "default_ms_cpu")) for n in ("10k", "100k", "1M")]
    cps = [(n, c) for n, c in cps if c is not None]
    growth = cps[-1][1] / cps[0][1] if len(cps) >= 2 and cps[0][0] == "10k" and cps[-1][0] == "1M" else None
    t.at_most("catch-up time for k = 100 grows ≤ 2× from a 10k- to a 1M-op log (2k-node tree)", growth, 2,
              "%s× (%s CPU)" % ("%.3g" % growth if growth else "n/a",
                                ", ".join("%s: %s" % (n, fmt_ms(c)) for n, c in cps)), quick)
    name = "catch_up/sqlite/tree:30k/log:300k/k:100"
    sp = r.get(name, "speedup")
    t.at_least("late op k = 100 behind a 300k-op SQLite log (30k nodes) ≥ 30× replay from start", sp, 30,
               "%s wall: %s vs %s; %s" % (fmt_ratio(sp), fmt_ms(r.get(name, "default_ms")),
                                          fmt_ms(r.get(name, "from_start_ms")), path_label(r, name, "default")), quick)
    # Local edits.
    for pattern, label, size in ((r"local/random_moves/.*", "10,000 random local moves among 1,000 nodes",
                                  "moves:10k"),
                                 (r"local/appends/.*", "100,000 local appends under one parent", "appends/100k")):
        name = local_name(r, pattern)
        full = name is not None and name.endswith(size)
        # The target's baseline is a never_checkpoint document<> with every other default (its undo
        # journal included); the plain document (no journal either) is shown beside it.
        ratio = r.get(name, "default_vs_never_checkpoint_cpu") if full else None
        t.at_most("%s: `document<>` ≤ 1.3× a never_checkpoint document" % label, ratio, 1.3,
                  "%s CPU (%s wall) vs never_checkpoint; %s CPU vs plain (no journal either)" % (
                      fmt_ratio(ratio), fmt_ratio(r.get(name, "default_vs_never_checkpoint")),
                      fmt_ratio(r.get(name, "default_vs_plain_cpu"))), quick)
    name = local_name(r, r"local/random_moves/.*")
    w = peer_workload(peers, "random_moves/commit_end")
    ours, ours_wall = (r.get(name, "default_us_per_op_cpu"), r.get(name, "default_us_per_op")) if name else (None, None)
    full = name is not None and name.endswith("moves:10k") and w and not (peers or {}).get("quick")
    ratio = w["median_us_per_op_cpu"] / ours if full and ours else None
    note = " (%s)" % (peers or {}).get("skipped", "quick mode") if ratio is None else ""
    t.at_least("random moves: `document<>` ≥ 4× faster than loro-crdt (one commit at the end)", ratio, 4,
               "%s CPU (%s wall): %s vs loro-crdt %s CPU per move" % (
                   fmt_ratio(ratio), fmt_ratio(w["median_us_per_op"] / ours_wall) if full and ours_wall else "n/a",
                   fmt_us(ours), fmt_us(w["median_us_per_op_cpu"]) if w else "n/a"), note)
    # Import.
    found = r.matching(r"import/cli/log:(200k)")
    name = found[0][1] if found else None
    tr, sr = (r.get(name, "time_ratio"), r.get(name, "size_ratio")) if name else (None, None)
    t.at_most("`treecrdt import` of a 200k-op log: default time ≤ 1.5× `--cadence 0`", tr, 1.5,
              "%s (%s vs %s)" % (fmt_ratio(tr), fmt_s(r.get(name, "default_s")), fmt_s(r.get(name, "cadence0_s")))
              if name else "", quick)
    t.at_most("`treecrdt import` of a 200k-op log: database ≤ 1.5× the `--cadence 0` one", sr, 1.5,
              "%s (%s vs %s)" % (fmt_ratio(sr), fmt_bytes(r.get(name, "default_db_bytes")),
                                 fmt_bytes(r.get(name, "cadence0_db_bytes"))) if name else "", quick)
    # Database appends.
    for policy, batch, bound, raw in (("sqlite", "100", 1.5, "raw INSERTs"), ("sqlite", "10k", 1.5, "raw INSERTs"),
                                      ("postgres", "10k", 3, "raw COPY")):
        name = "append/%s/batch:%s" % (policy, batch)
        d = r.get(name, "document_vs_raw")
        t.at_most("%s `document::apply` (defaults) ≤ %s× %s, batches of %s" % (
            "SQLite" if policy == "sqlite" else "PostgreSQL", ("%g" % bound), raw, batch), d, bound,
            "%s (%s per op vs %s; never_checkpoint %s)" % (
                fmt_ratio(d), fmt_us(r.get(name, "document_us_per_op")), fmt_us(r.get(name, "raw_us_per_op")),
                fmt_ratio(r.get(name, "no_checkpoints_vs_raw"))), quick if policy == "sqlite" else
            " (no PostgreSQL server)")
    # Amortized checkpoint cost.
    for n in ("1k", "100k", "1M"):
        name = "checkpoint/amortized/nodes:%s" % n
        share = r.get(name, "checkpoint_share_cpu")
        t.at_most("amortized checkpoint cost ≤ 20 %% of the apply cost, default cadence, %s nodes" % n, share, 0.2,
                  "%s CPU (%s wall): %s per op over %s" % (
                      fmt_pct(share), fmt_pct(r.get(name, "checkpoint_share")),
                      fmt_ns(r.get(name, "checkpoint_ns_per_op_cpu")),
                      fmt_ns(r.get(name, "ns_per_op_no_checkpoints_cpu"))), quick)
    return t.text()


def tables_targets(r):
    """Issue 11's targets (the tree in the database), judged on wall time: they are database paths."""
    t = Targets()
    quick = " (quick mode)"
    for policy in ("sqlite",):  # PostgreSQL's open and late-op figures: not measured yet (see BENCHMARKS)
        db = policy_label(policy)
        name = "tables/open/%s/nodes:1M" % policy
        ms = r.get(name, "tables_ms")
        t.at_most("open a 1M-node %s document and list ROOT, table store: ≤ 50 ms" % db, ms, 50,
                  "%s (in a fresh process %s; memory store %s, %s slower)" % (
                      fmt_ms(ms), fmt_ms(r.get(name, "tables_probe_ms")), fmt_ms(r.get(name, "memory_ms")),
                      fmt_ratio(r.get(name, "speedup"))), quick)
        rss = r.get(name, "tables_probe_peak_rss_bytes")
        t.at_most("the same, peak resident set of the process: ≤ 64 MB", rss, 64e6,
                  "%s (%s before opening; memory store %s)" % (
                      fmt_bytes(rss), fmt_bytes(r.get(name, "tables_probe_start_rss_bytes")),
                      fmt_bytes(r.get(name, "memory_probe_peak_rss_bytes"))), quick)
        name = "tables/apply/%s/inserts/batch:10k" % policy
        full = r.get(name, "nodes") is not None and r.get(name, "nodes") >= 100000
        rate = r.get(name, "tables_ops_per_s") if full else None
        t.at_least("in-order apply into the %s table store, batches of 10,000 inserts: ≥ 100k ops/s" % db, rate,
                   100000, "{:,.0f} ops/s ({:,.0f} CPU), tree grown to {:,.0f} nodes".format(
                       rate, r.get(name, "tables_ops_per_s_cpu"), r.get(name, "nodes")) if full else "", quick)
        ratio = r.get(name, "tables_vs_memory") if full else None
        t.at_most("the same: ≤ 3× the memory store over %s (`document<>`, default cadence)" % db, ratio, 3,
                  "%s (%s CPU); %s against never_checkpoint" % (
                      fmt_ratio(ratio), fmt_ratio(r.get(name, "tables_vs_memory_cpu")),
                      fmt_ratio(r.get(name, "tables_vs_never_checkpoint"))) if full else "", quick)
        name = "tables/catch_up/%s/tree:30k/log:300k/k:100" % policy
        sp = r.get(name, "speedup")
        t.at_least("late op k = 100 behind a 300k-op %s document (30k nodes): table store ≥ 30× rebuilding "
                   "its tables from the log" % db, sp, 30,
                   "%s: %s vs %s; %s, %s ops undone" % (
                       fmt_ratio(sp), fmt_ms(r.get(name, "tables_ms")), fmt_ms(r.get(name, "rebuild_ms")),
                       path_label(r, name, "tables"), fmt_count(r.get(name, "tables_undone"))), quick)
    name = "tables/apply/postgres/inserts/batch:10k"
    rate = r.get(name, "tables_ops_per_s")
    t.at_least("in-order apply into the PostgreSQL table store, batches of 10,000: ≥ 30k ops/s", rate, 30000,
               "{:,.0f} ops/s ({:,.0f} CPU), {} the memory store, tree grown to {:,.0f} nodes".format(
                   rate, r.get(name, "tables_ops_per_s_cpu"), fmt_ratio(r.get(name, "tables_vs_memory")),
                   r.get(name, "nodes")) if rate is not None else "", quick)
    return t.text()


def earlier_targets(r):  # and other helpers' targets measured here
    t = Targets()
    for n in ("1k", "100k", "1M"):
        name = "in_order/fold<default_key>/moves/nodes:%s" % n
        cpu, wall = r.get(name, "ns_per_op_cpu"), r.get(name, "ns_per_op")
        t.at_most("in-order move ≤ 0.5 µs in memory (fold, %s nodes)" % n, cpu, 500,
                  "%s CPU, %s wall" % (fmt_ns(cpu), fmt_ns(wall)), " (quick mode)")
    d10, d100 = (r.get("checkpoint/storage/default_retention/log:%s" % n, "total_bytes") for n in ("10k", "100k"))
    k10, k100 = (r.get("checkpoint/storage/keep_all/log:%s" % n, "total_bytes") for n in ("10k", "100k"))
    growth = d100 / d10 if None not in (d10, d100) else None
    t.at_most("checkpoint storage sub-quadratic (default retention): 10× the log, < 100× the bytes", growth, 100,
              "10k → 100k ops: %s → %s (%.3g×); keep-all %s → %s (%.3g×)" % (
                  fmt_bytes(d10), fmt_bytes(d100), growth, fmt_bytes(k10), fmt_bytes(k100), k100 / k10)
              if None not in (d10, d100, k10, k100) else "", " (quick mode)")
    for m, name in r.matching(r"sync/version/(\w+)/log:(300k)"):
        ratio = r.get(name, "ratio")
        t.at_least("`version()` ≥ 100× faster than a full `ops_since` (%s, 300k-op log)" % m.group(1), ratio, 100,
                   "%s (%s vs %s)" % (fmt_ratio(ratio), fmt_ns(r.time_ns(name)),
                                      fmt_ms(r.get(name, "ops_since_ms"))))
    return t.text()


# ---- plots ---------------------------------------------------------------------------------------

def write_plots(r, out_dir, data_dir):
    """Writes gnuplot data + scripts into data_dir, renders the PNGs into out_dir; returns
    {plot name: (png file name, caption)}."""
    os.makedirs(out_dir, exist_ok=True)
    os.makedirs(data_dir, exist_ok=True)
    made = []
    # Catch-up time vs log length, at a fixed tree size.
    logs = r.sizes(r"catch_up/memory/tree:2k/log:(\w+)/k:\w+")
    if logs:
        data = os.path.join(data_dir, "bench_catch_up.dat")
        with open(data, "w") as f:
            f.write("# log_ops from_start_ms(k=100) default_ms(k=100) default_ms(k=10k) checkpoint_path_ms(k=100)"
                    " checkpoint_path_ms(k=10k)\n")
            for n in logs:
                def g(k, field):
                    v = r.get("catch_up/memory/tree:2k/log:%s/k:%s" % (size_label(n), k), field)
                    return "NaN" if v is None else "%.6g" % v
                f.write("%d %s %s %s %s %s\n" % (n, g("100", "from_start_ms_cpu"), g("100", "default_ms_cpu"),
                                                 g("10k", "default_ms_cpu"), g("100", "checkpoint_ms_cpu"),
                                                 g("10k", "checkpoint_ms_cpu")))
        png = "bench_catch_up.png"
        script = """set terminal pngcairo size 900,560 font 'DejaVu Sans,10' noenhanced
set output '{out}'
set title 'One late op: catch-up time vs log length (memory_storage, 2,000-node tree, median CPU time)'
set logscale xy
set xrange [{xmin}:{xmax}]
set xlabel 'ops in the log'
set ylabel 'ms per catch-up'
set key top left
set grid
set xtics ({xtics})
plot '{data}' using 1:2 with linespoints lw 2 title 'replay from start', \\
     '' using 1:3 with linespoints lw 2 title 'document<>, k = 100', \\
     '' using 1:4 with linespoints lw 2 title 'document<>, k = 10,000', \\
     '' using 1:5 with linespoints lw 2 dt 2 title 'checkpoint path forced, k = 100', \\
     '' using 1:6 with linespoints lw 2 dt 2 title 'checkpoint path forced, k = 10,000'
""".format(out=os.path.join(out_dir, png), data=data, xmin=logs[0] / 1.5, xmax=logs[-1] * 1.5,
           xtics=", ".join("'%s' %d" % (size_label(n), n) for n in logs))
        made.append(("catch_up", png, script, "catch-up time vs log length, by path"))
    # Checkpoint cost vs tree size.
    nodes = r.sizes(r"checkpoint/roundtrip/nodes:(\w+)")
    if nodes:
        data = os.path.join(data_dir, "bench_checkpoint_cost.dat")
        with open(data, "w") as f:
            f.write("# nodes encode_ms restore_ms bytes\n")
            for n in nodes:
                name = "checkpoint/roundtrip/nodes:%s" % size_label(n)
                f.write("%d %.6g %.6g %.6g\n" % (n, r.get(name, "encode_ms"), r.get(name, "restore_ms"),
                                                 r.get(name, "bytes")))
        png = "bench_checkpoint_cost.png"
        script = """set terminal pngcairo size 900,560 font 'DejaVu Sans,10' noenhanced
set output '{out}'
set title 'Checkpoint cost vs tree size (encode_checkpoint / restore_checkpoint, median wall time)'
set logscale xy
set xrange [{xmin}:{xmax}]
set logscale y2
set xlabel 'nodes in the tree'
set ylabel 'ms per checkpoint'
set y2label 'checkpoint size (bytes)'
set ytics nomirror
set y2tics
set key top left
set grid
set xtics ({xtics})
plot '{data}' using 1:2 with linespoints lw 2 title 'encode', \\
     '' using 1:3 with linespoints lw 2 title 'restore', \\
     '' using 1:4 axes x1y2 with linespoints lw 2 dt 2 title 'size (right axis)'
""".format(out=os.path.join(out_dir, png), data=data, xmin=nodes[0] / 1.5, xmax=nodes[-1] * 1.5,
           xtics=", ".join("'%s' %d" % (size_label(n), n) for n in nodes))
        made.append(("checkpoint_cost", png, script, "checkpoint encode/restore time and size vs tree size"))
    result = {}
    for name, png, script, caption in made:
        gp = os.path.join(data_dir, png.replace(".png", ".gp"))
        with open(gp, "w") as f:
            f.write(script)
        subprocess.run(["gnuplot", gp], check=True)
        result[name] = (png, caption)
    return result


# ---- machine -------------------------------------------------------------------------------------

def machine_text(m, context):
    lines = [
        "- Date: %s" % m.get("date", "?"),
        "- CPU: %s, `nproc` = %s" % (m.get("cpu", "?"), m.get("nproc", "?")),
        "- Memory: %s" % m.get("memory", "?"),
        "- OS: %s" % m.get("os", "?"),
        "- Compiler: %s, flags `%s`" % (m.get("compiler", "?"), m.get("flags", "?")),
        "- SQLite %s; PostgreSQL server %s (throwaway cluster, `fsync=off`)" % (m.get("sqlite", "?"),
                                                                                 m.get("postgres", "?")),
        "- Google Benchmark 1.7.1 (Debian's build, which reports itself as a debug build; all figures "
        "here are manual timings, so its own loop overhead does not enter them)",
        "- Load average before / after the run: %s / %s (the machine is shared: expect noise)" % (
            m.get("load_before", "?"), m.get("load_after", "?")),
        "- Node.js for the peer comparison: %s" % m.get("node", "?"),
        "- Mode: %s; the benchmarks and the peer comparison took %s s" % (m.get("mode", "?"),
                                                                          m.get("bench_seconds", "?")),
    ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--main", required=True)
    ap.add_argument("--memory", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--peers", help="JSON of bench/peers/loro_bench.js, or {\"skipped\": reason}")
    ap.add_argument("--template", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--plots", required=True)
    ap.add_argument("--data", required=True)
    args = ap.parse_args()

    context, rows, errors = load(args.main)
    _, mem_rows, mem_errors = load(args.memory)
    rows.update(mem_rows)
    errors += mem_errors
    if errors:
        print("benchmark errors:\n  " + "\n  ".join(errors), file=sys.stderr)
        return 1
    r = Results(rows)
    with open(args.machine) as f:
        machine = json.load(f)

    peers = None
    if args.peers:
        try:
            with open(args.peers) as f:
                peers = json.load(f)
        except (OSError, ValueError) as e:
            peers = {"skipped": "no peer results (%s)" % e}
    else:
        peers = {"skipped": "no peer results given to the report"}

    plots = write_plots(r, args.plots, args.data)
    vals = values(r, peers)
    vals["repetitions"] = str(machine.get("repetitions", "?"))
    rel = os.path.relpath(args.plots, os.path.dirname(os.path.abspath(args.out)))

    def fill(m):
        kind, _, name = m.group(1).partition(":")
        if kind == "table" and name == "peers":
            return t_peers(r, peers)
        if kind == "table":
            if name not in TABLES:
                raise KeyError("unknown table " + name)
            return TABLES[name](r)
        if kind == "value":
            if name not in vals:
                raise KeyError("unknown value " + name)
            return vals[name]
        if kind == "machine":
            return machine_text(machine, context)
        if kind == "targets":
            return targets(r, peers)
        if kind == "tables_targets":
            return tables_targets(r)
        if kind == "earlier_targets":
            return earlier_targets(r)
        if kind == "peers":
            return t_peers(r, peers)
        if kind == "peers_status":
            if "skipped" in peers:
                return "**loro comparison skipped: %s**" % peers["skipped"]
            return "loro-crdt %s on node %s%s" % (peers.get("version", "?"), peers.get("node", "?"),
                                                   " (quick mode: small sizes, not judged)" if peers.get("quick")
                                                   else "")
        if kind == "plot":
            if name not in plots:
                return "(plot %s not drawn: no data in this run)" % name
            png, cap = plots[name]
            return "![%s](%s)" % (cap, os.path.join(rel, png))
        raise KeyError("unknown token " + m.group(0))

    with open(args.template) as f:
        template = f.read()
    try:
        text = re.sub(r"\{\{([a-z_]+(?::[A-Za-z0-9_]+)?)\}\}", fill, template)
    except KeyError as e:
        print("report.py: %s" % e, file=sys.stderr)
        return 1
    with open(args.out, "w") as f:
        f.write(text)
    print("wrote %s and %d plot(s) in %s" % (args.out, len(plots), args.plots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
