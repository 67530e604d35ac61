#!/usr/bin/env bash
# The main job: installs what it needs (Debian 12, as root), builds the demo and runs it on the
# embedded SQLite default. Two replicas edit one outline concurrently, exchange ops out of order
# and converge; one restarts without replaying its whole log and catches up a late op.
#   examples/demo.sh [DIR]    keep the SQLite files in DIR (default: a temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/support/debian_deps.sh
source tests/support/debian_deps.sh
treecrdt_install_deps core
mkdir -p build
cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DTREECRDT_BUILD_TESTS=OFF \
  -DTREECRDT_BUILD_BENCHMARKS=OFF -DTREECRDT_WITH_POSTGRES=OFF >build/demo.configure.log 2>&1 ||
  { cat build/demo.configure.log; exit 1; }
cmake --build build/demo -j "$(nproc)" --target treecrdt_demo
exec build/demo/examples/treecrdt_demo "$@"
