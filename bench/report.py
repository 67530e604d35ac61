#!/usr/bin/env python3
"""Turns the benchmark JSON of bench/run.sh into docs/BENCHMARKS.md and gnuplot plots.

usage: report.py --main main.json --memory memory.json --machine machine.json
                 --template BENCHMARKS.template.md --out BENCHMARKS.md --plots DIR --data DIR

--plots receives the PNGs, --data the gnuplot inputs (data files and scripts).

The template is markdown with three kinds of tokens, all filled from the measurements:
  {{table:NAME}}   a generated table (see TABLES below)
  {{value:NAME}}   one formatted figure (see values()); "n/a" when the run lacks it (quick mode)
  {{plot:NAME}}    a rendered plot (catch_up, checkpoint_cost)
  {{machine}}, {{targets}}
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
    return ("%.3g×" % r) if r < 100 else ("%.0f×" % r)


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


def t_catch_up(r, policy):
    rows = []
    for m, name in r.matching(r"catch_up/%s/log:(\w+)/k:(\w+)" % policy):
        rows.append([m.group(1), m.group(2),
                     fmt_ms(r.get(name, "checkpointed_ms")), fmt_ms(r.get(name, "from_start_ms")),
                     fmt_ratio(r.get(name, "speedup")), fmt_ratio(r.get(name, "speedup_cpu")),
                     fmt_count(r.get(name, "replayed_checkpointed")), fmt_count(r.get(name, "replayed_from_start")),
                     fmt_count(r.get(name, "checkpoints_rewritten")), fmt_bytes(r.get(name, "snapshot_bytes")),
                     "%s / %s" % (fmt_ms(r.get(name, "snapshot_restore_ms_cpu")),
                                  fmt_ms(r.get(name, "snapshot_encode_ms_cpu")))])
    return table(["log ops", "k behind", "checkpointed", "from start", "speedup (wall)", "speedup (CPU)",
                  "ops replayed, checkpointed", "ops replayed, from start", "checkpoints rewritten",
                  "snapshot restored", "one restore / one encode of it (CPU)"], rows)


def t_roundtrip(r):
    rows = []
    for m, name in r.matching(r"checkpoint/roundtrip/nodes:(\w+)"):
        rows.append([m.group(1), wall_cpu(r.get(name, "encode_ms") * 1e6, r.get(name, "encode_ms_cpu") * 1e6),
                     wall_cpu(r.get(name, "restore_ms") * 1e6, r.get(name, "restore_ms_cpu") * 1e6),
                     fmt_bytes(r.get(name, "bytes")), "%.0f B" % r.get(name, "bytes_per_node"),
                     fmt_ns(r.get(name, "encode_ns_per_node")), fmt_ns(r.get(name, "restore_ns_per_node"))])
    return table(["tree nodes", "encode, wall (CPU)", "restore, wall (CPU)", "checkpoint size", "per node",
                  "encode per node", "restore per node"], rows)


def t_cadence(r):
    rows = []
    for m, name in r.matching(r"checkpoint/cadence:(\d+)/nodes:(\w+)"):
        rows.append(["every %s ops" % m.group(1), m.group(2),
                     wall_cpu(r.get(name, "ns_per_op"), r.get(name, "ns_per_op_cpu")),
                     wall_cpu(r.get(name, "ns_per_op_no_checkpoints"), r.get(name, "ns_per_op_no_checkpoints_cpu")),
                     wall_cpu(r.get(name, "checkpoint_ns_per_op"), r.get(name, "checkpoint_ns_per_op_cpu")),
                     fmt_bytes(r.get(name, "checkpoint_bytes"))])
    return table(["cadence", "tree nodes", "per op with checkpoints, wall (CPU)", "per op, never_checkpoint",
                  "amortized checkpoint cost per op", "checkpoint size"], rows)


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


TABLES = {
    "in_order_edit": lambda r: t_in_order(r, "edit_mix"),
    "in_order_moves": lambda r: t_in_order(r, "moves"),
    "random_moves": t_random_moves,
    "catch_up_memory": lambda r: t_catch_up(r, "memory"),
    "catch_up_sqlite": lambda r: t_catch_up(r, "sqlite"),
    "checkpoint_roundtrip": t_roundtrip,
    "checkpoint_cadence": t_cadence,
    "checkpoint_storage": t_storage,
    "restart": t_restart,
    "append_sqlite": lambda r: t_append(r, "sqlite", "raw `INSERT`"),
    "append_postgres": lambda r: t_append(r, "postgres", "raw `COPY`"),
    "memory": t_memory,
}


# ---- single values and targets -------------------------------------------------------------------

def values(r):
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
    for n in ("10k", "100k", "1M"):
        for k in ("1", "100", "10k"):
            name = "catch_up/memory/log:%s/k:%s" % (n, k)
            put("cu_%s_%s_speedup" % (n, k), fmt_ratio(r.get(name, "speedup")))
            put("cu_%s_%s_cp" % (n, k), fmt_ms(r.get(name, "checkpointed_ms")))
            put("cu_%s_%s_full" % (n, k), fmt_ms(r.get(name, "from_start_ms")))
            put("cu_%s_%s_snapshot" % (n, k), fmt_bytes(r.get(name, "snapshot_bytes")))
            put("cu_%s_%s_cp_cpu" % (n, k), fmt_ms(r.get(name, "checkpointed_ms_cpu")))
            put("cu_%s_%s_full_cpu" % (n, k), fmt_ms(r.get(name, "from_start_ms_cpu")))
            put("cu_%s_%s_rewrites" % (n, k), fmt_count(r.get(name, "checkpoints_rewritten")))
            put("cu_%s_%s_restore_cpu" % (n, k), fmt_ms(r.get(name, "snapshot_restore_ms_cpu")))
            put("cu_%s_%s_encode_cpu" % (n, k), fmt_ms(r.get(name, "snapshot_encode_ms_cpu")))
            put("cu_%s_%s_replayed" % (n, k), fmt_count(r.get(name, "replayed_checkpointed")))
    for n in ("10k", "100k", "1M"):
        name = "checkpoint/roundtrip/nodes:%s" % n
        put("rt_%s_restore" % n, fmt_ms(r.get(name, "restore_ms_cpu")))
        put("rt_%s_encode" % n, fmt_ms(r.get(name, "encode_ms_cpu")))
        put("rt_%s_bytes" % n, fmt_bytes(r.get(name, "bytes")))
        put("rt_%s_restore_per_node" % n, fmt_ns(r.get(name, "restore_ns_per_node")))
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
    put("heap_per_node", "%.0f B" % (r.get("memory/store<default_key>/payload16/nodes:1M", "heap_bytes_per_node") or 0)
        if r.get("memory/store<default_key>/payload16/nodes:1M", "heap_bytes_per_node") else "n/a")
    for key in ("default", "compact"):
        rec = r.get("memory/store<%s_key>/payload16/nodes:1M" % key, "node_record_bytes")
        if rec is None:  # quick mode's smaller store has the same record
            rec = r.get("memory/store<%s_key>/payload16/nodes:20k" % key, "node_record_bytes")
        put("node_record_%s" % key, "n/a" if rec is None else "%.0f" % rec)
    for ret in ("default_retention", "keep_all"):
        put("storage_%s_100k" % ret, fmt_bytes(r.get("checkpoint/storage/%s/log:100k" % ret, "total_bytes")))
        put("storage_%s_10k" % ret, fmt_bytes(r.get("checkpoint/storage/%s/log:10k" % ret, "total_bytes")))
    return v


def verdict(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def targets(r):
    rows = []
    # 1. In-order move in memory.
    for n in ("1k", "100k", "1M"):
        name = "in_order/fold<default_key>/moves/nodes:%s" % n
        cpu, wall = r.get(name, "ns_per_op_cpu"), r.get(name, "ns_per_op")
        if cpu is None:
            continue
        rows.append(["in-order move ≤ 0.5 µs in memory (fold, %s nodes)" % n,
                     "%s CPU, %s wall" % (fmt_ns(cpu), fmt_ns(wall)), verdict(cpu <= 500),
                     "" if cpu <= 500 else "%.1f× over (CPU)" % (cpu / 500)])
    # 2. Catch-up ratio and independence of log length.
    sp = r.get("catch_up/memory/log:1M/k:100", "speedup")
    rows.append(["catch-up speedup ≥ 100 at 1M ops, k = 100", fmt_ratio(sp), verdict(None if sp is None else sp >= 100),
                 "" if sp is None or sp >= 100 else "%.0f× short" % (100 / sp)])
    cps = [(n, r.get("catch_up/memory/log:%s/k:100" % n, "checkpointed_ms_cpu")) for n in ("10k", "100k", "1M")]
    cps = [(n, c) for n, c in cps if c is not None]
    if len(cps) >= 2:
        growth = cps[-1][1] / cps[0][1]
        rows.append(["checkpointed catch-up independent of log length (k = 100)",
                     ", ".join("%s: %s" % (n, fmt_ms(c)) for n, c in cps) + " CPU",
                     verdict(growth < 2), "grows %.3g× from %s to %s ops" % (growth, cps[0][0], cps[-1][0])])
    # 3. Checkpoint storage sub-quadratic.
    d10, d100 = (r.get("checkpoint/storage/default_retention/log:%s" % n, "total_bytes") for n in ("10k", "100k"))
    k10, k100 = (r.get("checkpoint/storage/keep_all/log:%s" % n, "total_bytes") for n in ("10k", "100k"))
    if None not in (d10, d100, k10, k100):
        rows.append(["checkpoint storage sub-quadratic (default retention)",
                     "10k → 100k ops: %s → %s (%.3g×); keep-all %s → %s (%.3g×)" % (
                         fmt_bytes(d10), fmt_bytes(d100), d100 / d10, fmt_bytes(k10), fmt_bytes(k100), k100 / k10),
                     verdict(d100 / d10 < 100), "10× the log gives %.3g× the bytes (quadratic would be 100×)" % (d100 / d10)])
    # 4/5. Database appends within 3× of raw.
    for policy, label in (("sqlite", "SQLite appends within 3× of raw INSERTs"),
                          ("postgres", "PostgreSQL appends within 3× of raw COPY")):
        for m, name in r.matching(r"append/%s/batch:(\w+)" % policy):
            doc, app = r.get(name, "document_vs_raw"), r.get(name, "append_vs_raw")
            rows.append(["%s, batch %s" % (label, m.group(1)),
                         "document %s (%s without checkpoints), append alone %s" % (
                             fmt_ratio(doc), fmt_ratio(r.get(name, "no_checkpoints_vs_raw")), fmt_ratio(app)),
                         verdict(doc <= 3) + " (document), " + verdict(app <= 3) + " (append)",
                         "" if doc <= 3 else "document %.2g× over the bound" % (doc / 3)])
    return table(["target", "measured (median)", "verdict", "gap"], rows)


# ---- plots ---------------------------------------------------------------------------------------

def write_plots(r, out_dir, data_dir):
    """Writes gnuplot data + scripts into data_dir, renders the PNGs into out_dir; returns
    {plot name: (png file name, caption)}."""
    os.makedirs(out_dir, exist_ok=True)
    os.makedirs(data_dir, exist_ok=True)
    made = []
    # Catch-up time vs log length.
    logs = r.sizes(r"catch_up/memory/log:(\w+)/k:\w+")
    if logs:
        data = os.path.join(data_dir, "bench_catch_up.dat")
        with open(data, "w") as f:
            f.write("# log_ops from_start_ms(k=100) checkpointed_ms(k=1) checkpointed_ms(k=100) checkpointed_ms(k=10k)\n")
            for n in logs:
                def g(k, field):
                    v = r.get("catch_up/memory/log:%s/k:%s" % (size_label(n), k), field)
                    return "NaN" if v is None else "%.6g" % v
                f.write("%d %s %s %s %s\n" % (n, g("100", "from_start_ms"), g("1", "checkpointed_ms"),
                                              g("100", "checkpointed_ms"), g("10k", "checkpointed_ms")))
        png = "bench_catch_up.png"
        script = """set terminal pngcairo size 900,560 font 'DejaVu Sans,10' noenhanced
set output '{out}'
set title 'One late op: catch-up time vs log length (memory_storage, tree of up to 10k nodes, median wall time)'
set logscale xy
set xrange [{xmin}:{xmax}]
set xlabel 'ops in the log'
set ylabel 'ms per catch-up'
set key top left
set grid
set xtics ({xtics})
plot '{data}' using 1:2 with linespoints lw 2 title 'replay from start (never_checkpoint)', \\
     '' using 1:3 with linespoints lw 2 title 'checkpointed, k = 1', \\
     '' using 1:4 with linespoints lw 2 title 'checkpointed, k = 100', \\
     '' using 1:5 with linespoints lw 2 title 'checkpointed, k = 10,000'
""".format(out=os.path.join(out_dir, png), data=data, xmin=logs[0] / 1.5, xmax=logs[-1] * 1.5,
           xtics=", ".join("'%s' %d" % (size_label(n), n) for n in logs))
        made.append(("catch_up", png, script, "catch-up time vs log length, with and without checkpoints"))
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
        "- Mode: %s" % m.get("mode", "?"),
    ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--main", required=True)
    ap.add_argument("--memory", required=True)
    ap.add_argument("--machine", required=True)
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

    plots = write_plots(r, args.plots, args.data)
    vals = values(r)
    vals["repetitions"] = str(machine.get("repetitions", "?"))
    rel = os.path.relpath(args.plots, os.path.dirname(os.path.abspath(args.out)))

    def fill(m):
        kind, _, name = m.group(1).partition(":")
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
            return targets(r)
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
