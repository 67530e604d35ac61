#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz (clang++, -fsanitize=fuzzer,address,undefined) in a
# build folder of their own and runs each one for a bounded time, starting from its committed seed
# corpus (tests/fuzz/corpus/<harness>/), the reproducers of fixed findings
# (tests/fuzz/findings/<harness>/) and, for the checkpoint harnesses, seeds written from the current
# checkpoint format. Fails on any crash, sanitizer report, hang (-timeout), leak, out-of-memory or
# failed property check, and prints the executions per harness. New corpus entries stay in the build
# folder, never in the checkout. A failing input is saved as <build>/artifacts/<harness>-<kind>-<sha1>;
# reproduce it with `<build>/tests/fuzz/<harness> <file>`.
#   TREECRDT_FUZZ_SECONDS  fuzzing time per harness (default 40: 7 harnesses, 2 at a time, ~2.5 min)
#   TREECRDT_FUZZ_JOBS     harnesses run at once (default: the number of cores, at most 2)
#   TREECRDT_FUZZ_BUILD    build folder (default build/fuzz)
#   TREECRDT_FUZZ_ONLY     the harnesses to run, space-separated (default: all)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build=${TREECRDT_FUZZ_BUILD:-build/fuzz}
seconds=${TREECRDT_FUZZ_SECONDS:-40}
parallel=${TREECRDT_FUZZ_JOBS:-$(nproc)}
((parallel > 2)) && parallel=2
((parallel < 1)) && parallel=1
harnesses=(fuzz_json_op fuzz_json_export fuzz_op_body fuzz_version_vector fuzz_checkpoint fuzz_checkpoint_body
  fuzz_delta_body fuzz_op_sequence)
if [ -n "${TREECRDT_FUZZ_ONLY:-}" ]; then read -r -a harnesses <<<"$TREECRDT_FUZZ_ONLY"; fi

mkdir -p "$build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS=-O1 \
  -DTREECRDT_TEST_AREAS=fuzz -DTREECRDT_WERROR=ON -DTREECRDT_BUILD_EXAMPLES=OFF -DTREECRDT_BUILD_BENCHMARKS=OFF \
  -DTREECRDT_INSTALL=OFF -DTREECRDT_WITH_SQLITE=OFF -DTREECRDT_WITH_POSTGRES=OFF >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" --target treecrdt_fuzzers
for h in "${harnesses[@]}"; do
  [ -x "$build/tests/fuzz/$h" ] || { echo "run_fuzzers: no harness $h (see tests/fuzz/CMakeLists.txt)" >&2; exit 2; }
done

seeds=$build/seeds
rm -rf "$seeds" "$build/artifacts" "$build/logs"
mkdir -p "$build/artifacts" "$build/logs"
"$build/tests/fuzz/fuzz_seeds" "$seeds" checkpoint

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_one() {  # run_one <harness>: fuzzes it; its exit status goes to logs/<harness>.rc
  local h=$1 work=$build/corpus/$1 dirs=() d
  rm -rf "$work"
  mkdir -p "$work"
  dirs=("$work")
  for d in "tests/fuzz/corpus/$h" "tests/fuzz/findings/$h" "$seeds/$h"; do
    if [ -d "$d" ]; then dirs+=("$d"); fi
  done
  local rc=0
  "$build/tests/fuzz/$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$h-" "${dirs[@]}" >"$build/logs/$h.log" 2>&1 || rc=$?
  echo "$rc" >"$build/logs/$h.rc"
}

echo "fuzzing ${#harnesses[@]} harnesses for ${seconds}s each, $parallel at a time"
running=0
for h in "${harnesses[@]}"; do
  if ((running >= parallel)); then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$h" &
  running=$((running + 1))
done
wait || true

failed=()
printf '%-22s %12s %10s %8s\n' harness executions exec/s corpus
for h in "${harnesses[@]}"; do
  log=$build/logs/$h.log
  rc=$(cat "$build/logs/$h.rc" 2>/dev/null || echo missing)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  corpus=$(find "$build/corpus/$h" -type f | wc -l)
  printf '%-22s %12s %10s %8s\n' "$h" "${execs:-?}" "${rate:-?}" "$corpus"
  if [ "$rc" != 0 ]; then failed+=("$h"); fi
done
if ((${#failed[@]})); then
  for h in "${failed[@]}"; do
    echo
    echo "==== $h FAILED (exit status $(cat "$build/logs/$h.rc" 2>/dev/null)); the end of its log:"
    tail -n 60 "$build/logs/$h.log"
  done
  echo
  echo "run_fuzzers: ${#failed[@]} harness(es) failed: ${failed[*]}; inputs in $build/artifacts/" >&2
  exit 1
fi
echo "run_fuzzers: every harness ran ${seconds}s without a finding"
