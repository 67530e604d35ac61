#!/usr/bin/env bash
# Builds and runs every benchmark, then regenerates the report.
#
#   bench/run.sh           the real run: Release build (-O2 -DNDEBUG) in build/bench-release, a
#                          throwaway PostgreSQL, every benchmark with 3 repetitions (medians), then
#                          docs/BENCHMARKS.md and docs/bench_*.png. About 7 minutes on a quiet 2-core
#                          machine including the build, roughly twice that under heavy load.
#   bench/run.sh --quick   a smoke test (tests/run.sh calls it): small sizes, one repetition, output
#                          only under build/bench-release/quick/. Timings are never judged; exits
#                          non-zero if anything fails to build or any benchmark reports an error.
#
# Needs Debian 12 packages (installed when missing, as root): see tests/support/debian_deps.sh.
# If TREECRDT_PG_URL is already set (tests/run.sh starts a server), that server is used instead.
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
  -DTREECRDT_BUILD_BENCHMARKS=ON -DTREECRDT_BUILD_TESTS=OFF -DTREECRDT_BUILD_EXAMPLES=OFF \
  -DTREECRDT_SANITIZE=OFF >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
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
    "repetitions": "$([ "$quick" -eq 1 ] && echo 1 || echo 3)",
}
json.dump(info, open(sys.argv[1], "w"), indent=1)
EOF

python3 bench/report.py --main "$out/bench.json" --memory "$out/bench_memory.json" --machine "$out/machine.json" \
  --template bench/BENCHMARKS.template.md --out "$docs/BENCHMARKS.md" --plots "$docs" --data "$out"
echo "== done: $docs/BENCHMARKS.md"
