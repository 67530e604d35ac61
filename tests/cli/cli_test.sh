#!/bin/sh
# Scenario tests for the `treecrdt` command-line tool (registered by examples/cli_tests.cmake).
# usage: cli_test.sh SCENARIO TREECRDT TREECRDT_REPLAY DATA_DIR [SQLITE3]
# Each scenario checks exit statuses and outputs; the first failed check prints what was expected
# and exits 1. Exit 77 means "skipped" (a needed program is missing).
set -u

scenario=$1
tool=$2
replay_tool=$3
data=$4
sqlite3_program=${5:-}

work=$(mktemp -d "${TMPDIR:-/tmp}/treecrdt-cli-test.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

fail() {
  echo "FAILED [$scenario]: $*" >&2
  for f in out err; do
    if [ -s "$work/$f" ]; then
      echo "--- $f:" >&2
      head -c 2000 "$work/$f" >&2
    fi
  done
  exit 1
}

# run EXPECTED_STATUS CMD...: runs CMD with stdout/stderr in $work/out and $work/err.
run() {
  expected=$1
  shift
  "$@" >"$work/out" 2>"$work/err"
  status=$?
  [ "$status" -eq "$expected" ] || fail "'$*' exited with $status, expected $expected"
}

# Fixed-string checks on the last run's output.
out_has() { grep -qF -- "$1" "$work/out" || fail "stdout lacks: $1"; }
err_has() { grep -qF -- "$1" "$work/err" || fail "stderr lacks: $1"; }
out_empty() { [ ! -s "$work/out" ] || fail "stdout should be empty"; }
err_empty() { [ ! -s "$work/err" ] || fail "stderr should be empty"; }
out_is() { cmp -s "$work/out" "$1" || fail "stdout differs from $1"; }

db="$work/doc.db"

# need_pg: scenarios on PostgreSQL documents need the test server (TREECRDT_PG_URL). Without it
# the scenario is skipped (exit 77), unless TREECRDT_REQUIRE_PG=1 (CI), where that is a failure.
need_pg() {
  if [ -z "${TREECRDT_PG_URL:-}" ]; then
    [ "${TREECRDT_REQUIRE_PG:-}" = 1 ] && fail "TREECRDT_REQUIRE_PG=1 but TREECRDT_PG_URL is not set"
    echo "SKIPPED: TREECRDT_PG_URL is not set" >&2
    exit 77
  fi
}
# pg_doc NAME: a PostgreSQL document of the test server that no other run uses.
pg_doc() { echo "$TREECRDT_PG_URL#doc=cli-$scenario-$1-$$-$(date +%s%N)"; }

# tables_basics DOC LATE: import --store tables into DOC and check show/export/stats/verify answer
# from the tables; then late ops into LATE (every op of sample.jsonl sorts before those of
# late.jsonl) go through the tables' journal. Shared by the SQLite and PostgreSQL scenarios.
tables_basics() {
  run 0 "$tool" import "$1" "$data/sample.jsonl" --store tables --batch 2
  out_has "11 new, 0 already stored; 11 ops in total, 0 checkpoints, table store"
  run 0 "$tool" show "$1"
  out_is "$data/sample.show.txt"
  run 0 "$tool" export "$1"
  out_is "$data/sample.export.json"
  run 0 "$tool" stats "$1"
  out_has "ops: 11"
  out_has "store: tables, 10 nodes (ROOT and TRASH included), at seq 11 (the log's head)"
  out_has "checkpoints: 0"
  run 0 "$tool" verify "$1"
  out_has "ok: the tables of $1 (tree tables at seq 11) equal a fresh fold of its 11 ops (8 nodes)"
  run 0 "$tool" import "$2" "$data/late.jsonl" --store tables
  run 0 "$tool" import "$2" "$data/sample.jsonl" --store tables --batch 4
  out_has "11 new, 0 already stored; 15 ops in total, 0 checkpoints, table store"
  cat "$data/late.jsonl" "$data/sample.jsonl" | "$tool" replay - >"$work/expected.json" || fail "reference replay failed"
  run 0 "$tool" export "$2"
  out_is "$work/expected.json"
  run 0 "$tool" verify "$2"
  out_has "ok: the tables of $2 (tree tables at seq 15) equal a fresh fold of its 15 ops"
}

# same_export A B: the two documents give byte-identical canonical exports.
same_export() {
  "$tool" export "$1" >"$work/export_a" 2>"$work/err" || fail "export of $1 failed"
  "$tool" export "$2" >"$work/export_b" 2>"$work/err" || fail "export of $2 failed"
  cmp -s "$work/export_a" "$work/export_b" || fail "$1 and $2 differ"
}

case "$scenario" in
  replay_sample)
    run 0 "$tool" replay "$data/sample.jsonl"
    out_is "$data/sample.export.json"
    err_empty
    ;;

  replay_stdin_and_alias)
    run 0 "$tool" replay - <"$data/sample.jsonl"
    out_is "$data/sample.export.json"
    run 0 "$replay_tool" - <"$data/sample.jsonl"
    out_is "$data/sample.export.json"
    run 0 "$replay_tool" "$data/sample.jsonl"
    out_is "$data/sample.export.json"
    ;;

  replay_order_independent)
    # Any order of the same lines gives the same export (the fold sorts by op key).
    sort -r "$data/sample.jsonl" >"$work/reversed.jsonl"
    run 0 "$tool" replay "$work/reversed.jsonl"
    out_is "$data/sample.export.json"
    ;;

  replay_bad_line)
    # Line 4 has a 31-digit node id; line 2 is blank and still counted.
    run 1 "$tool" replay "$data/bad_line.jsonl"
    out_empty
    err_has 'line 4: field "node": expected 32 hex digits, got 31 characters'
    run 1 "$replay_tool" - <"$data/bad_line.jsonl"
    out_empty
    err_has '<stdin>: line 4:'
    ;;

  replay_conflict)
    run 1 "$tool" replay "$data/conflict.jsonl"
    out_empty
    err_has 'line 3: op insert (lamport 1, replica a1, counter 1)'
    err_has 'conflicts with line 1'
    ;;

  replay_missing_file)
    run 1 "$tool" replay "$work/nope.jsonl"
    out_empty
    err_has "nope.jsonl: cannot open"
    run 1 "$tool" replay "$work"
    err_has "is a directory"
    ;;

  import_and_read)
    run 0 "$tool" import "$db" "$data/sample.jsonl" --batch 2 --cadence 1
    out_has "11 new, 0 already stored; 11 ops in total"
    err_empty # stderr is not a terminal here: no progress bar
    run 0 "$tool" export "$db"
    out_is "$data/sample.export.json"
    run 0 "$tool" show "$db"
    out_is "$data/sample.show.txt"
    run 0 "$tool" stats "$db"
    out_has "ops: 11"
    out_has "head: seq 11 at (lamport 10, replica e5, counter 2)"
    out_has "frontier: none (up to date)"
    out_has "cadence: 1"
    out_has "  seq 11 at (lamport 10, replica e5, counter 2), "
    out_has "storage: "
    run 0 "$tool" verify "$db"
    out_has "ok: the materialized state of $db"
    out_has "equals a fresh fold of its 11 ops (8 nodes)"
    ;;

  import_stored_cadence)
    # The cadence given at creation is kept: a later import without --cadence uses it too.
    run 0 "$tool" import "$db" "$data/late.jsonl" --cadence 3
    run 0 "$tool" import "$db" "$data/sample.jsonl"
    run 0 "$tool" stats "$db"
    out_has "cadence: 3"
    out_has "  seq 15 at "  # the newest due position the catch-up passed (15 ops, every 3)
    run 0 "$tool" import "$work/default.db" "$data/sample.jsonl"
    run 0 "$tool" stats "$work/default.db"
    out_has "cadence: 1024 (default)"
    out_has "checkpoints: 0"
    ;;

  import_late_ops)
    # Every op of sample.jsonl sorts before those already stored: the import must catch up.
    run 0 "$tool" import "$db" "$data/late.jsonl" --cadence 1
    run 0 "$tool" import "$db" "$data/sample.jsonl" --batch 4
    out_has "11 new, 0 already stored; 15 ops in total"
    cat "$data/late.jsonl" "$data/sample.jsonl" | "$tool" replay - >"$work/expected.json" || fail "reference replay failed"
    run 0 "$tool" export "$db"
    out_is "$work/expected.json"
    run 0 "$tool" verify "$db"
    out_has "equals a fresh fold of its 15 ops"
    ;;

  import_idempotent)
    run 0 "$tool" import "$db" "$data/sample.jsonl"
    run 0 "$tool" import "$db" - <"$data/sample.jsonl"
    out_has "imported 11 ops from <stdin> into $db: 0 new, 11 already stored; 11 ops in total"
    run 0 "$tool" export "$db"
    out_is "$data/sample.export.json"
    ;;

  import_bad_input_stores_nothing)
    run 1 "$tool" import "$db" "$data/bad_line.jsonl"
    err_has 'bad_line.jsonl: line 4: field "node"'
    [ ! -e "$db" ] || fail "a bad input must not create the database"
    run 0 "$tool" import "$db" "$data/sample.jsonl"
    run 1 "$tool" import "$db" "$data/conflict.jsonl"
    err_has "line 3:"
    run 1 "$tool" import "$db" "$data/conflict_with_sample.jsonl"
    err_has 'conflict_with_sample.jsonl: line 2: op insert (lamport 1, replica a1, counter 1)'
    err_has "conflicts with an op stored in $db"
    err_has "nothing was imported"
    run 0 "$tool" stats "$db"
    out_has "ops: 11" # line 1 of conflict_with_sample.jsonl was valid but must not be stored either
    run 0 "$tool" export "$db"
    out_is "$data/sample.export.json"
    ;;

  import_progress_on_terminal)
    # With stderr on a terminal (a pseudo-terminal from script(1)) import draws a progress bar.
    command -v script >/dev/null 2>&1 || exit 77
    script -qec "'$tool' import '$db' '$data/sample.jsonl' --batch 4" /dev/null >"$work/out" 2>"$work/err" ||
      fail "import under script(1) failed"
    out_has "importing ["
    out_has "] 8/11 ops"
    out_has "] 11/11 ops"
    out_has "11 new, 0 already stored"
    ;;

  verify_detects_mismatch)
    [ -n "$sqlite3_program" ] || exit 77
    # Two documents whose logs have the same op keys but one different payload. Swapping their
    # checkpoint blobs gives checkpoints that verify (header and checksum match) but do not
    # describe this log: exactly the corruption `verify` exists to catch.
    run 0 "$tool" import "$db" "$data/sample.jsonl" --cadence 1
    run 0 "$tool" import "$work/variant.db" "$data/sample_variant.jsonl" --cadence 1
    run 0 "$tool" verify "$db"
    "$sqlite3_program" "$db" "ATTACH '$work/variant.db' AS v;
      UPDATE treecrdt_checkpoints SET blob = (SELECT o.blob FROM v.treecrdt_checkpoints AS o
        WHERE o.lamport = treecrdt_checkpoints.lamport AND o.replica = treecrdt_checkpoints.replica
          AND o.counter = treecrdt_checkpoints.counter);" || fail "sqlite3 could not swap the checkpoints"
    run 3 "$tool" verify "$db"
    out_has "MISMATCH: the materialized state of $db (checkpoint at seq 11 + 0 ops replayed) differs from a fresh fold"
    out_has "node 00000000000000000000000000000001: payload hex:627965 in the materialized state, hex:6869207468657265 in the fold"
    ;;

  store_tables_commands)
    # import --store tables keeps the tree in tables of the file; the reading commands answer from
    # them (verify names no ops folded at open: nothing was replayed).
    tables_basics "$db" "$work/late.db"
    ;;

  store_auto_detection)
    # Without --store, a file with tree tables opens on them and one without stays on memory.
    run 0 "$tool" import "$db" "$data/sample.jsonl" --store tables
    run 0 "$tool" import "$db" "$data/late.jsonl"
    out_has "15 ops in total, 0 checkpoints, table store"
    run 0 "$tool" stats "$db"
    out_has "store: tables, 11 nodes (ROOT and TRASH included), at seq 15 (the log's head)"
    run 0 "$tool" verify "$db"
    out_has "ok: the tables of $db (tree tables at seq 15) equal"
    run 0 "$tool" import "$work/plain.db" "$data/sample.jsonl" --cadence 1
    out_has "memory store"
    run 0 "$tool" stats "$work/plain.db"
    out_has "store: memory"
    run 0 "$tool" verify "$work/plain.db"
    out_has "ok: the materialized state of $work/plain.db (checkpoint at seq 11 + 0 ops replayed)"
    run 0 "$tool" stats "$work/plain.db"
    out_has "store: memory" # reading it did not add tables
    # --store memory on a file with tables: the log grows past them; the next open on them catches up.
    run 0 "$tool" stats "$db" --store memory
    out_has "store: memory"
    run 0 "$tool" import "$work/grown.db" "$data/sample.jsonl" --store tables
    run 0 "$tool" import "$work/grown.db" "$data/late.jsonl" --store memory
    out_has "memory store"
    run 0 "$tool" stats "$work/grown.db"
    out_has "store: tables, 10 nodes (ROOT and TRASH included), at seq 11 (behind the log: the next open folds the rest)"
    run 0 "$tool" verify "$work/grown.db"
    out_has "ops folded into them at open) equal a fresh fold of its 15 ops"
    run 0 "$tool" stats "$work/grown.db"
    out_has "at seq 15 (the log's head)"
    # --store tables on a file without them creates them (folding the log once); auto then uses them.
    run 0 "$tool" stats "$work/plain.db" --store tables
    out_has "store: tables (not created yet"
    run 0 "$tool" show "$work/plain.db" --store tables
    out_is "$data/sample.show.txt"
    run 0 "$tool" stats "$work/plain.db"
    out_has "store: tables, 10 nodes"
    ;;

  store_export_equality)
    # The same ops give byte-identical exports on both stores, whichever order they arrived in.
    run 0 "$tool" import "$db" "$data/late.jsonl" --store tables
    run 0 "$tool" import "$db" "$data/sample.jsonl" --batch 3
    run 0 "$tool" import "$work/memory.db" "$data/sample.jsonl" --store memory --cadence 2
    run 0 "$tool" import "$work/memory.db" "$data/late.jsonl" --store memory
    same_export "$db" "$work/memory.db"
    run 0 "$tool" export "$db" --store memory
    out_is "$work/export_a"
    run 0 "$tool" show "$db"
    cp "$work/out" "$work/show_tables"
    run 0 "$tool" show "$work/memory.db"
    out_is "$work/show_tables"
    # sync keeps each side on its store: late ops reach a table-store file through its journal.
    run 0 "$tool" import "$work/half.db" "$data/late.jsonl" --store tables
    run 0 "$tool" sync "$work/memory.db" "$work/half.db" --batch 4
    out_has "11 ops sent to $work/half.db, 0 ops sent to $work/memory.db"
    run 0 "$tool" stats "$work/half.db"
    out_has "store: tables, 11 nodes (ROOT and TRASH included), at seq 15 (the log's head)"
    same_export "$work/half.db" "$work/memory.db"
    run 0 "$tool" verify "$work/half.db"
    out_has "ok: the tables of $work/half.db (tree tables at seq 15) equal"
    # --store tables gives a file the sync creates tables of its own.
    run 0 "$tool" sync "$db" "$work/copy.db" --store tables
    out_has "15 ops sent to $work/copy.db, 0 ops sent to $db"
    run 0 "$tool" stats "$work/copy.db"
    out_has "store: tables, 11 nodes"
    same_export "$work/copy.db" "$work/memory.db"
    ;;

  store_verify_detects_corrupt_row)
    [ -n "$sqlite3_program" ] || exit 77
    # One payload changed behind the document's back: show and export print it (they read the
    # tables, they do not fold the log); verify compares with a fold and names the node.
    run 0 "$tool" import "$db" "$data/sample.jsonl" --store tables
    run 0 "$tool" verify "$db"
    "$sqlite3_program" "$db" "UPDATE treecrdt_tree SET payload = x'00'
      WHERE id = x'00000000000000000000000000000001';" || fail "sqlite3 could not change the row"
    run 0 "$tool" show "$db"
    out_has "  00000000000000000000000000000001 hex:00"
    run 3 "$tool" verify "$db"
    out_has "MISMATCH: the tables of $db (tree tables at seq 11) differ from a fresh fold of its 11 ops"
    out_has "node 00000000000000000000000000000001: payload hex:00 in the tables, hex:6869207468657265 in the fold"
    run 0 "$tool" verify "$db" --store memory # the log itself is intact
    out_has "ok: the materialized state of $db"
    ;;

  sync_sqlite_sqlite)
    # Two files with different ops: sync sends each what it lacks, both ways, once.
    run 0 "$tool" import "$db" "$data/sample.jsonl"
    run 0 "$tool" import "$work/other.db" "$data/late.jsonl"
    run 0 "$tool" sync "$db" "$work/other.db" --batch 3
    out_has "11 ops sent to $work/other.db, 4 ops sent to $db; both hold 15 ops"
    err_empty
    same_export "$db" "$work/other.db"
    cat "$data/late.jsonl" "$data/sample.jsonl" | "$replay_tool" - >"$work/expected.json" || fail "reference replay failed"
    run 0 "$tool" export "$db"
    out_is "$work/expected.json"
    run 0 "$tool" verify "$work/other.db"
    run 0 "$tool" sync "$work/other.db" "$db"
    out_has "0 ops sent to $db, 0 ops sent to $work/other.db; both hold 15 ops"
    # A file that does not exist yet becomes a copy.
    run 0 "$tool" sync "$db" "$work/copy.db"
    out_has "15 ops sent to $work/copy.db, 0 ops sent to $db"
    same_export "$db" "$work/copy.db"
    ;;

  sync_interrupted)
    # --max-batches stops after N transactions, as an interrupted run would have: every committed
    # batch stays, and the next sync sends only the rest.
    run 0 "$tool" import "$db" "$data/sample.jsonl"
    run 0 "$tool" import "$work/other.db" "$data/late.jsonl"
    run 0 "$tool" sync "$db" "$work/other.db" --batch 2 --max-batches 3
    out_has "6 ops sent to $work/other.db, 0 ops sent to $db; 9 ops left for the next sync"
    run 0 "$tool" stats "$work/other.db"
    out_has "ops: 10"
    run 0 "$tool" verify "$work/other.db"
    run 0 "$tool" sync "$db" "$work/other.db" --batch 2 --max-batches 3
    out_has "5 ops sent to $work/other.db, 0 ops sent to $db; 4 ops left for the next sync"
    run 0 "$tool" sync "$db" "$work/other.db" --batch 2
    out_has "0 ops sent to $work/other.db, 4 ops sent to $db; both hold 15 ops"
    same_export "$db" "$work/other.db"
    ;;

  sync_killed)
    # A sync killed at an arbitrary moment (SIGKILL): a rerun finishes the job, and both documents
    # verify. The logs are big enough that the kill lands in the middle of the sync.
    i=1
    : >"$work/big_a.jsonl"
    : >"$work/big_b.jsonl"
    while [ $i -le 600 ]; do
      n=$(printf '%032x' $i)
      echo "{\"lamport\":$i,\"replica\":\"aa\",\"counter\":$i,\"kind\":\"insert\",\"parent\":\"00000000000000000000000000000000\",\"node\":\"$n\",\"order_key\":\"80\"}" >>"$work/big_a.jsonl"
      echo "{\"lamport\":$i,\"replica\":\"bb\",\"counter\":$i,\"kind\":\"payload\",\"node\":\"$n\",\"payload\":\"6869\"}" >>"$work/big_b.jsonl"
      i=$((i + 1))
    done
    run 0 "$tool" import "$db" "$work/big_a.jsonl"
    run 0 "$tool" import "$work/other.db" "$work/big_b.jsonl"
    timeout -s KILL 0.3 "$tool" sync "$db" "$work/other.db" --batch 5 >"$work/out" 2>"$work/err"
    run 0 "$tool" sync "$db" "$work/other.db" --batch 5
    out_has "both hold 1200 ops"
    run 0 "$tool" verify "$db"
    run 0 "$tool" verify "$work/other.db"
    same_export "$db" "$work/other.db"
    ;;

  sync_progress_on_terminal)
    command -v script >/dev/null 2>&1 || exit 77
    run 0 "$tool" import "$db" "$data/sample.jsonl"
    script -qec "'$tool' sync '$db' '$work/other.db' --batch 4" /dev/null >"$work/out" 2>"$work/err" ||
      fail "sync under script(1) failed"
    out_has "syncing ["
    out_has "] 8/11 ops"
    out_has "] 11/11 ops"
    out_has "11 ops sent to $work/other.db"
    ;;

  postgres_commands)
    # Every command that takes a document takes a PostgreSQL one.
    need_pg
    pg=$(pg_doc main)
    run 1 "$tool" export "$pg"
    err_has "no such document (create one with import or sync)"
    run 0 "$tool" import "$pg" "$data/sample.jsonl" --batch 2 --cadence 1
    out_has "11 new, 0 already stored; 11 ops in total"
    run 0 "$tool" export "$pg"
    out_is "$data/sample.export.json"
    run 0 "$tool" show "$pg"
    out_is "$data/sample.show.txt"
    run 0 "$tool" stats "$pg"
    out_has "document: $pg"
    out_has "ops: 11"
    out_has "head: seq 11 at (lamport 10, replica e5, counter 2)"
    out_has "cadence: 1"
    out_has "storage: "
    run 0 "$tool" verify "$pg"
    out_has "equals a fresh fold of its 11 ops (8 nodes)"
    run 0 "$tool" import "$pg" "$data/sample.jsonl"
    out_has "0 new, 11 already stored"
    run 1 "$tool" import "$pg" "$data/conflict_with_sample.jsonl"
    err_has "conflicts with an op stored in $pg"
    run 0 "$tool" stats "$pg"
    out_has "ops: 11"
    # Bad forms are usage errors; a password never shows in messages.
    run 2 "$tool" export "${TREECRDT_PG_URL}"
    err_has "has no #doc="
    run 2 "$tool" export "${TREECRDT_PG_URL}#doc="
    err_has "document id after #doc= is empty"
    run 2 "$tool" export "postgresql://someone:s3cret@127.0.0.1:1/db#doc=%zz"
    err_has "bad percent escape"
    grep -q s3cret "$work/err" && fail "the password was printed"
    run 1 "$tool" export "postgresql://someone:s3cret@127.0.0.1:1/db#doc=x"
    grep -q s3cret "$work/err" && fail "the password was printed"
    ;;

  sync_sqlite_postgres)
    need_pg
    pg=$(pg_doc b)
    run 0 "$tool" import "$db" "$data/sample.jsonl"
    run 0 "$tool" import "$pg" "$data/late.jsonl" --cadence 2
    run 0 "$tool" sync "$db" "$pg" --batch 3
    out_has "11 ops sent to $pg, 4 ops sent to $db; both hold 15 ops"
    same_export "$db" "$pg"
    run 0 "$tool" verify "$pg"
    run 0 "$tool" sync "$pg" "$db"
    out_has "0 ops sent to $db, 0 ops sent to $pg"
    ;;

  sync_postgres_postgres)
    need_pg
    pa=$(pg_doc a)
    pb=$(pg_doc b)
    run 0 "$tool" import "$pa" "$data/late.jsonl"
    run 0 "$tool" sync "$pa" "$pb"  # a document never written is created by the sync
    out_has "4 ops sent to $pb, 0 ops sent to $pa"
    run 0 "$tool" import "$pb" "$data/sample.jsonl"
    run 0 "$tool" sync "$pa" "$pb" --batch 2 --max-batches 2
    out_has "4 ops sent to $pa; 7 ops left for the next sync"
    run 0 "$tool" sync "$pa" "$pb"
    out_has "both hold 15 ops"
    same_export "$pa" "$pb"
    run 0 "$tool" verify "$pa"
    ;;

  postgres_store_tables)
    # The checks of store_tables_commands and store_auto_detection on PostgreSQL documents: the
    # tree in postgres_store's tables, shared by every document of the database, keyed by doc id.
    need_pg
    pg=$(pg_doc tables)
    late=$(pg_doc late)
    tables_basics "$pg" "$late"
    run 0 "$tool" stats "$pg"
    out_has "document: $pg"
    # auto: a document with tables opens on them ...
    run 0 "$tool" import "$pg" "$data/late.jsonl"
    out_has "15 ops in total, 0 checkpoints, table store"
    run 0 "$tool" stats "$pg"
    out_has "store: tables, 11 nodes (ROOT and TRASH included), at seq 15 (the log's head)"
    same_export "$pg" "$late"
    # ... and one without stays on memory, although the database has the tables for other documents.
    plain=$(pg_doc plain)
    run 0 "$tool" import "$plain" "$data/sample.jsonl" --cadence 1
    out_has "memory store"
    run 0 "$tool" stats "$plain"
    out_has "store: memory"
    run 0 "$tool" verify "$plain"
    out_has "ok: the materialized state of $plain (checkpoint at seq 11 + 0 ops replayed)"
    run 0 "$tool" show "$plain"
    out_is "$data/sample.show.txt"
    run 0 "$tool" stats "$plain"
    out_has "store: memory" # reading it did not give it tables
    # --store memory on a document with tables: the log grows past them; the next open on them catches up.
    run 0 "$tool" stats "$pg" --store memory
    out_has "store: memory"
    grown=$(pg_doc grown)
    run 0 "$tool" import "$grown" "$data/sample.jsonl" --store tables
    run 0 "$tool" import "$grown" "$data/late.jsonl" --store memory
    out_has "memory store"
    run 0 "$tool" stats "$grown"
    out_has "store: tables, 10 nodes (ROOT and TRASH included), at seq 11 (behind the log: the next open folds the rest)"
    run 0 "$tool" verify "$grown"
    out_has "ops folded into them at open) equal a fresh fold of its 15 ops"
    run 0 "$tool" stats "$grown"
    out_has "at seq 15 (the log's head)"
    same_export "$grown" "$late"
    # --store tables on a document without them creates its rows (folding the log once); auto then uses them.
    run 0 "$tool" stats "$plain" --store tables
    out_has "store: tables (not created yet"
    run 0 "$tool" show "$plain" --store tables
    out_is "$data/sample.show.txt"
    run 0 "$tool" stats "$plain"
    out_has "store: tables, 10 nodes"
    # sync --store tables gives a SQLite file and a PostgreSQL document tables of their own.
    copy=$(pg_doc copy)
    run 0 "$tool" import "$db" "$data/sample.jsonl"
    run 0 "$tool" sync "$late" "$db" --store tables
    out_has "4 ops sent to $db, 0 ops sent to $late; both hold 15 ops"
    run 0 "$tool" sync "$db" "$copy" --store tables --batch 4
    out_has "15 ops sent to $copy, 0 ops sent to $db"
    run 0 "$tool" stats "$copy"
    out_has "store: tables, 11 nodes (ROOT and TRASH included), at seq 15 (the log's head)"
    run 0 "$tool" stats "$db"
    out_has "store: tables, 11 nodes (ROOT and TRASH included), at seq 15 (the log's head)"
    same_export "$copy" "$late"
    # Other programs read a document's tree through the view, filtering on its id.
    if command -v psql >/dev/null 2>&1; then
      id=${copy#*#doc=}
      psql "$TREECRDT_PG_URL" -XAtqc "SELECT count(*) FROM treecrdt_tree_view WHERE doc = convert_to('$id', 'UTF8')" \
        >"$work/out" 2>"$work/err" || fail "psql could not read the view"
      [ "$(cat "$work/out")" = 9 ] || fail "the view should list the 9 nodes of $copy besides ROOT and TRASH"
      # A row changed behind the document's back: show prints it, verify names the node.
      psql "$TREECRDT_PG_URL" -XAtqc "UPDATE treecrdt_tree SET payload = '\\x00'::bytea
        WHERE doc = convert_to('$id', 'UTF8') AND id = '\\x00000000000000000000000000000001'::bytea" \
        >"$work/out" 2>"$work/err" || fail "psql could not change the row"
      run 0 "$tool" show "$copy"
      out_has "  00000000000000000000000000000001 hex:00"
      run 3 "$tool" verify "$copy"
      out_has "MISMATCH: the tables of $copy (tree tables at seq 15) differ from a fresh fold of its 15 ops"
      out_has "node 00000000000000000000000000000001: payload hex:00 in the tables, hex:6869207468657265 in the fold"
      run 0 "$tool" verify "$copy" --store memory # the log itself is intact
      out_has "ok: the materialized state of $copy"
      run 0 "$tool" verify "$late" # other documents' rows are untouched
    fi
    ;;

  help)
    run 0 "$tool" --help
    out_has "usage: treecrdt COMMAND [ARGS...]"
    for c in replay import export show stats verify sync; do
      out_has "  $c "
    done
    out_has "postgresql://user@host:5432/dbname#doc=outline"
    run 0 "$tool" help import
    out_has "usage: treecrdt import DOC FILE|- [--batch N] [--cadence N]"
    for c in replay import export show stats verify sync; do
      run 0 "$tool" "$c" --help
      out_has "usage: treecrdt $c"
      err_empty
    done
    for c in import export show stats verify sync; do
      run 0 "$tool" "$c" --help
      out_has "[--store S]"
      out_has "  --store S     where the tree is kept while DOC is open:"
    done
    run 0 "$tool" verify --help
    out_has "O(log size)"
    run 0 "$replay_tool" --help
    out_has "usage: treecrdt replay FILE|-"
    ;;

  usage_errors)
    run 2 "$tool"
    err_has "treecrdt: missing command"
    run 2 "$tool" frobnicate
    err_has 'treecrdt: unknown command "frobnicate"'
    run 2 "$tool" replay
    err_has "treecrdt replay: missing arguments"
    err_has "usage: treecrdt replay FILE|-"
    run 2 "$tool" replay a b
    err_has 'unexpected argument "b"'
    run 2 "$tool" export
    run 2 "$tool" import "$db"
    run 2 "$tool" import "$db" "$data/sample.jsonl" --batch 0
    err_has "--batch must be between 1 and 10000000, got 0"
    run 2 "$tool" import "$db" "$data/sample.jsonl" --batch=ten
    err_has '--batch expects a whole number, got "ten"'
    run 2 "$tool" import "$db" "$data/sample.jsonl" --cadence -1
    run 2 "$tool" import "$db" "$data/sample.jsonl" --batch
    err_has "option --batch needs a value"
    run 2 "$tool" import "$db" "$data/sample.jsonl" --batch 5 --batch 6
    err_has "option --batch given twice"
    run 2 "$tool" show "$db" --verbose
    err_has "unknown option --verbose"
    run 2 "$tool" import "$db" "$data/sample.jsonl" --store disk
    err_has '--store expects auto, memory or tables, got "disk"'
    run 2 "$tool" replay "$data/sample.jsonl" --store tables
    err_has "unknown option --store"
    [ ! -e "$db" ] || fail "a usage error must not create the database"
    # --store tables is no usage error on a PostgreSQL document (here the server is unreachable).
    run 1 "$tool" export "postgresql://someone@127.0.0.1:1/db#doc=x" --store tables
    ;;

  bad_database)
    for c in export show stats verify; do
      run 1 "$tool" $c "$db"
      err_has "no such database"
      out_empty
    done
    [ ! -e "$db" ] || fail "reading commands must not create the database"
    : >"$db"
    run 1 "$tool" export "$db"
    err_has "empty file, not a treecrdt database"
    echo "not a database at all, just some text that is long enough to fill a header page" >"$db"
    run 1 "$tool" stats "$db"
    err_has "is not a SQLite database"
    run 1 "$tool" import "$db" "$data/sample.jsonl"
    err_has "is not a SQLite database"
    ;;

  *)
    echo "unknown scenario $scenario" >&2
    exit 2
    ;;
esac
exit 0
