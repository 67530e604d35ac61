#!/usr/bin/env bash
# Builds and runs every benchmark, then regenerates the report.
#
#   bench/run.sh           the real run: Release build (-O2 -DNDEBUG) in build/bench-release, a
#                          throwaway PostgreSQL, every benchmark with 3 repetitions (medians), the
#                          loro-crdt peer comparison, then docs/BENCHMARKS.md and docs/bench_*.png.
#   bench/run.sh --quick   a smoke test (tests/run.sh calls it): small sizes, one repetition, a tiny
#                          loro-crdt run if it is already installed or installs quickly, output only
#                          under build/bench-release/quick/. Timings are never judged; exits non-zero
#                          if anything fails to build or any benchmark reports an error (never because
#                          node or the npm registry is unavailable).
#
# Needs Debian 12 packages (installed when missing, as root): see tests/support/debian_deps.sh.
# If TREECRDT_PG_URL is already set (tests/run.sh starts a server), that server is used instead.
# The peer comparison needs node and npm (not installed by this script): loro-crdt, at the version
# pinned in bench/peers/package.json, is installed into build/bench-release/peers/, never into the
# repository; without node, or when the install fails, the report says the comparison was skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
esac

# shellcheck source=tests/support/debian_deps.sh
source tests/support/debian_deps.sh
treecrdt_install_deps bench

build="$root/build/bench-release"
flags="-O2 -DNDEBUG"
echo "== building the benchmarks in $build"
mkdir -p "$build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=$flags" \
  -DTREECRDT_BUILD_BENCHMARKS=ON -DTREECRDT_BUILD_TESTS=OFF -DTREECRDT_BUILD_EXAMPLES=ON \
  -DTREECRDT_SANITIZE=OFF >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
# treecrdt_bench depends on treecrdt_cli (the `treecrdt` tool its import benchmark runs).
cmake --build "$build" -j "${TREECRDT_BENCH_JOBS:-$(nproc)}" --target treecrdt_bench treecrdt_bench_memory
for exe in treecrdt_bench treecrdt_bench_memory; do
  [ -x "$build/bench/$exe" ] || { echo "bench/run.sh: $exe was not built (is libbenchmark-dev installed?)" >&2; exit 1; }
done

if [ -z "${TREECRDT_PG_URL:-}" ]; then
  echo "== starting a throwaway PostgreSQL"
  # shellcheck source=tests/support/throwaway_postgres.sh
  source tests/support/throwaway_postgres.sh
  trap treecrdt_pg_stop EXIT
  treecrdt_pg_start
fi

if [ "$quick" -eq 1 ]; then
  out="$build/quick"
  docs="$out"
  run_args=(--quick --benchmark_min_time=0.01)
else
  out="$build/results"
  docs="$root/docs"
  run_args=(--benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true)
fi
mkdir -p "$out" "$docs"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$SECONDS
for exe in treecrdt_bench treecrdt_bench_memory; do
  name=${exe#treecrdt_}
  echo "== running $exe (${run_args[*]})"
  # Our own temporary files (SQLite databases) go under the build folder.
  TMPDIR="$out" "$build/bench/$exe" "${run_args[@]}" \
    --benchmark_out="$out/$name.json" --benchmark_out_format=json
done
echo "== benchmarks took $((SECONDS - started)) s"

# The peer comparison: bench/peers/loro_bench.js on loro-crdt. Never fails the run: whatever goes
# wrong (no node, npm offline, the script failing) is written into peers.json as the reason it was
# skipped, and the report says so.
peers_json="$out/peers.json"
skip_peers() {
  echo "loro comparison skipped: $1"
  python3 -c 'import json, sys; json.dump({"skipped": sys.argv[1]}, open(sys.argv[2], "w"))' "$1" "$peers_json"
}
run_peers() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    skip_peers "node not found"
    return
  fi
  local peers="$build/peers" want
  want=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["dependencies"]["loro-crdt"])' \
    bench/peers/package.json)
  mkdir -p "$peers"
  cp bench/peers/package.json "$peers/package.json"
  local have=""
  [ -f "$peers/node_modules/loro-crdt/package.json" ] &&
    have=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' \
      "$peers/node_modules/loro-crdt/package.json")
  if [ "$have" != "$want" ]; then
    echo "== installing loro-crdt $want into $peers"
    # A bounded wait: offline, npm would otherwise retry for minutes.
    if ! (cd "$peers" && timeout "$([ "$quick" -eq 1 ] && echo 60 || echo 300)" \
      npm install --no-audit --no-fund --no-package-lock --no-save --loglevel=error >"$peers/npm.log" 2>&1); then
      skip_peers "npm install loro-crdt@$want failed (offline?), see $peers/npm.log"
      return
    fi
  fi
  local args=(--modules "$peers/node_modules")
  if [ "$quick" -eq 1 ]; then args+=(--quick --repetitions 1); else args+=(--repetitions 3); fi
  echo "== running bench/peers/loro_bench.js ${args[*]}"
  if ! timeout 1200 node bench/peers/loro_bench.js "${args[@]}" >"$peers_json.tmp" 2>"$out/peers.log"; then
    cat "$out/peers.log" >&2
    skip_peers "bench/peers/loro_bench.js failed, see $out/peers.log"
    return
  fi
  mv "$peers_json.tmp" "$peers_json"
}
peers_started=$SECONDS
run_peers
echo "== peer comparison took $((SECONDS - peers_started)) s"

# What the run ran on, for the report.
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
pg_version=$(psql "$TREECRDT_PG_URL" -Atc 'SHOW server_version' 2>/dev/null || echo unknown)
sqlite_version=$(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || true)
[ -n "$sqlite_version" ] || sqlite_version=$(dpkg-query -W -f='${Version}' libsqlite3-0 2>/dev/null || echo unknown)
python3 - "$out/machine.json" <<EOF
import json, sys
info = {
    "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
    "cpu": """$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')""",
    "nproc": "$(nproc)",
    "memory": "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)",
    "os": """$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)""",
    "compiler": """$("$compiler" --version | head -n 1)""",
    "flags": "$flags",
    "sqlite": "$sqlite_version",
    "postgres": "$pg_version",
    "load_before": "$load_before",
    "load_after": "$(cut -d' ' -f1-3 /proc/loadavg)",
    "mode": "$([ "$quick" -eq 1 ] && echo "quick (smoke test, small sizes)" || echo "full")",
    "node": "$(node --version 2>/dev/null || echo none)",
    "bench_seconds": "$((SECONDS - started))",
    "repetitions": "$([ "$quick" -eq 1 ] && echo 1 || echo 3)",
}
json.dump(info, open(sys.argv[1], "w"), indent=1)
EOF

python3 bench/report.py --main "$out/bench.json" --memory "$out/bench_memory.json" --machine "$out/machine.json" \
  --peers "$peers_json" \
  --template bench/BENCHMARKS.template.md --out "$docs/BENCHMARKS.md" --plots "$docs" --data "$out"
echo "== done: $docs/BENCHMARKS.md"
