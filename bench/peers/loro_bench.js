#!/usr/bin/env node
// Peer comparison: the local-edit workloads of bench/local_edits_bench.cpp on loro-crdt's LoroTree,
// run by bench/run.sh when node is available. Prints one JSON object on stdout.
//
//   node bench/peers/loro_bench.js --modules DIR [--repetitions N] [--quick]
//
// DIR is the node_modules folder holding loro-crdt (bench/run.sh installs it under build/, never
// into the repository). Workloads, each timed as a whole on a fresh LoroDoc:
//   random_moves  1,000 nodes created at the top level (untimed), then 10,000 moves of a random node
//                 under a random node or the top level. This is the shape of Loro's own tree
//                 benchmark (random node i under random node j, a move that would make a cycle
//                 rejected and ignored); the top level is one more choice among the parents, as on
//                 the treecrdt side, where ROOT is. The random choices come from the same xorshift32
//                 generator and seeds as the C++ side, so both make exactly the same moves.
//   appends       100,000 nodes created under one parent, each appended after its last child.
// Two commit styles for each: "commit_end" (every edit in Loro's pending transaction, one commit
// at the end, as Loro's own benchmarks do; the comparison target) and "commit_each" (a commit
// after every edit, as each treecrdt local edit is its own transaction).
//
// Every repetition runs in a fresh node process (this script with --worker), after an untimed
// warm-up of the same workload in that process (WebAssembly compilation, JIT tiers): WebAssembly
// memory never shrinks, and repetitions sharing a process got slower one after another.
// Reported per workload: median over the repetitions of the wall time per op (process.hrtime) and
// of the process's CPU time per op (process.cpuUsage, all threads), plus every repetition.
// "appends/commit_each" runs once in the full run (it takes the longest; it is not a target).
"use strict";

const path = require("path");

const { spawnSync } = require("child_process");

function parseArgs(argv) {
  const args = { modules: null, repetitions: 3, quick: false, worker: null, repetition: 0 };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === "--modules") args.modules = argv[++i];
    else if (a === "--repetitions") args.repetitions = Number(argv[++i]);
    else if (a === "--quick") args.quick = true;
    else if (a === "--worker") {
      args.worker = argv[++i];
      args.repetition = Number(argv[++i]);
    } else throw new Error("unknown argument " + a);
  }
  if (!args.modules) throw new Error("usage: loro_bench.js --modules DIR [--repetitions N] [--quick]");
  if (!(args.repetitions >= 1)) throw new Error("--repetitions must be at least 1");
  return args;
}

// xorshift32, the same generator as bench/support/workload.hpp's xorshift32 (seed must be non-zero).
function xorshift32(seed) {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

// Seed shared with the C++ side (local_edits_bench.cpp): repetition r uses move_seed + r.
const move_seed = 20240601;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timed(work) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const result = work();
  const wall_ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  return { wall_ms, cpu_ms: (cpu.user + cpu.system) / 1e3, result };
}

function randomMoves(loro, nodes, moves, seed, commitEach) {
  const doc = new loro.LoroDoc();
  doc.setPeerId(1);
  const tree = doc.getTree("tree");
  const ids = [];
  for (let i = 0; i < nodes; ++i) ids.push(tree.createNode().id);
  doc.commit();
  const next = xorshift32(seed);
  const t = timed(() => {
    let rejected = 0;
    for (let m = 0; m < moves; ++m) {
      const i = next() % nodes;
      const j = next() % (nodes + 1);
      try {
        tree.move(ids[i], j === nodes ? undefined : ids[j]);
      } catch (e) {
        ++rejected;  // would make a cycle (or a node under itself): Loro refuses it
      }
      if (commitEach) doc.commit();
    }
    doc.commit();
    return rejected;
  });
  doc.free();
  return { wall_ms: t.wall_ms, cpu_ms: t.cpu_ms, ops: moves, rejected: t.result };
}

function appends(loro, count, commitEach) {
  const doc = new loro.LoroDoc();
  doc.setPeerId(1);
  const tree = doc.getTree("tree");
  const parent = tree.createNode();
  doc.commit();
  const t = timed(() => {
    for (let i = 0; i < count; ++i) {
      parent.createNode();
      if (commitEach) doc.commit();
    }
    doc.commit();
  });
  const children = parent.children().length;
  if (children !== count) throw new Error("appends: expected " + count + " children, found " + children);
  doc.free();
  return { wall_ms: t.wall_ms, cpu_ms: t.cpu_ms, ops: count, rejected: 0 };
}

// The workloads: name -> sizes and one timed run (in a worker process) with its warm-up.
function workloads(quick) {
  const nodes = 1000;
  const moves = quick ? 2000 : 10000;  // the sizes of local_edits_bench.cpp in each mode
  const count = quick ? 2000 : 100000;
  const warm = quick ? 500 : 10000;
  const w = {};
  for (const [style, each] of [["commit_end", false], ["commit_each", true]]) {
    w["random_moves/" + style] = {
      params: { nodes, moves },
      warm: (loro) => randomMoves(loro, nodes, moves, 1, each),
      once: (loro, r) => randomMoves(loro, nodes, moves, move_seed + r, each),
    };
    w["appends/" + style] = {
      params: { appends: count },
      warm: (loro) => appends(loro, warm, each),
      once: (loro) => appends(loro, count, each),
    };
  }
  return w;
}

function worker(args) {
  const loro = require(path.join(path.resolve(args.modules), "loro-crdt"));
  const w = workloads(args.quick)[args.worker];
  if (!w) throw new Error("unknown workload " + args.worker);
  w.warm(loro);
  const result = w.once(loro, args.repetition);
  process.stdout.write(JSON.stringify(result) + "\n");
}

// One repetition of a workload in a fresh node process.
function runWorker(args, name, r) {
  const argv = [__filename, "--modules", args.modules, "--worker", name, String(r)];
  if (args.quick) argv.push("--quick");
  const p = spawnSync(process.execPath, argv, { encoding: "utf8", timeout: 900000, maxBuffer: 1 << 20 });
  if (p.status !== 0) throw new Error(name + " repetition " + r + " failed: " + (p.error || p.stderr));
  return JSON.parse(p.stdout);
}

function run(args, name, params, repetitions) {
  const runs = [];
  for (let r = 0; r < repetitions; ++r) runs.push(runWorker(args, name, r));
  const per = (field) => runs.map((x) => x[field] / x.ops);
  return Object.assign({ name }, params, {
    repetitions,
    median_ms_per_op: median(per("wall_ms")),
    median_us_per_op: median(per("wall_ms")) * 1e3,
    median_us_per_op_cpu: median(per("cpu_ms")) * 1e3,
    median_total_ms: median(runs.map((x) => x.wall_ms)),
    rejected_moves: runs[0].rejected,
    runs,
  });
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.worker) return worker(args);
  const version = require(path.join(path.resolve(args.modules), "loro-crdt", "package.json")).version;
  const w = workloads(args.quick);
  const reps = (name) => (name === "appends/commit_each" && !args.quick ? 1 : args.repetitions);
  const out = {
    peer: "loro-crdt",
    version,
    node: process.version,
    quick: args.quick,
    workloads: Object.keys(w).map((name) => run(args, name, w[name].params, reps(name))),
  };
  process.stdout.write(JSON.stringify(out, null, 1) + "\n");
}

main();
