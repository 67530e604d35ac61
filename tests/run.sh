#!/usr/bin/env bash
# The one test command. On a fresh Debian 12 machine, as root:
#   1. installs the missing Debian packages,
#   2. checks formatting (clang-format),
#   3. starts a throwaway PostgreSQL 15 (stopped and removed on exit),
#   4. builds everything with g++ and runs all tests (ctest --no-tests=error),
#   5. builds the tests again with clang++ under AddressSanitizer + UndefinedBehaviorSanitizer and runs them
#      (200 property cases instead of 1,000; no examples),
#   5b. builds the libFuzzer harnesses (tests/fuzz/) and runs each for a bounded time (30 s each, 2 at once),
#   6. builds the benchmarks in Release and runs their quick mode once as a smoke test (no timing is judged).
# Exits non-zero on the first failure. Build trees go to build/ci-* inside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)
started=$SECONDS
stage() { printf '\n==== %s (t=%ds) ====\n' "$*" $((SECONDS - started)); }

# shellcheck source=tests/support/debian_deps.sh
source tests/support/debian_deps.sh
stage "dependencies"
treecrdt_install_deps tests bench

if [ -f .clang-format ]; then
  stage "clang-format check"
  bash tests/support/check_format.sh
fi

stage "throwaway PostgreSQL"
# shellcheck source=tests/support/throwaway_postgres.sh
source tests/support/throwaway_postgres.sh
trap treecrdt_pg_stop EXIT
treecrdt_pg_start
export TREECRDT_REQUIRE_PG=1  # PostgreSQL tests must run here, never skip

run_suite() {  # run_suite <build dir> <cmake args...>
  local dir=$1
  shift
  cmake -S "$root" -B "$dir" -G Ninja -DTREECRDT_BUILD_BENCHMARKS=OFF -DTREECRDT_WERROR=ON "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest --no-tests=error -j "$jobs" --output-on-failure --timeout 600)
}

# Debug builds with line tables only (-g1, -gline-tables-only): backtraces and sanitizer reports
# still name file and line, and compiling takes about a third less than with full debug info.
stage "g++ build and tests"
mkdir -p build
run_suite build/ci-gcc -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=g++ -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
  "-DCMAKE_CXX_FLAGS=-O1 -D_GLIBCXX_ASSERTIONS"

stage "clang++ AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# This pass looks for memory and undefined-behaviour errors; the g++ pass is the one that runs every
# property at its full count (1,000 cases; PostgreSQL 100). Here properties run 200 cases
# (PostgreSQL 25), enough to drive every code path under the sanitizers, and what only tests the
# build is left out: header self-containment, packaging consumers and the examples with their CLI
# tests (the library code they run is covered here by the library's own tests, and their hostile
# input paths by the fuzzers below). That keeps the whole run within the 30-minute CI budget.
run_suite build/ci-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ -DTREECRDT_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only \
  "-DCMAKE_CXX_FLAGS=-O1" "-DTREECRDT_TEST_AREAS=unit;conformance;properties;json;sqlite;postgres" \
  -DTREECRDT_BUILD_EXAMPLES=OFF -DTREECRDT_RC_PARAMS=max_success=200 -DTREECRDT_PG_RC_PARAMS=max_success=25
unset ASAN_OPTIONS UBSAN_OPTIONS

export TREECRDT_FUZZ_SECONDS=${TREECRDT_FUZZ_SECONDS:-30}
stage "libFuzzer harnesses, $TREECRDT_FUZZ_SECONDS s each (tests/fuzz/run_fuzzers.sh)"
TREECRDT_FUZZ_BUILD=build/ci-fuzz bash tests/fuzz/run_fuzzers.sh

if [ -x bench/run.sh ]; then
  stage "benchmarks, quick smoke run (timings not judged)"
  bench/run.sh --quick
fi

stage "all tests passed in $((SECONDS - started)) s"
