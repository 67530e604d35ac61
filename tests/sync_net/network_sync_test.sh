#!/bin/sh
# The network sync example as real processes (registered by examples/sync_net.cmake):
#   usage: network_sync_test.sh SYNC_SERVER SYNC_CLIENT
# A server on 127.0.0.1 (port chosen free by the system at start, then fixed for the run) and three
# clients with their own SQLite documents. Clients edit offline, reconnect and sync in shuffled
# batches (late ops on every side); one client drops its connection in the middle of a batch, the
# server drops another in the middle of a batch, two clients sync at the same time; after more
# offline edits and a last round all four documents must give byte-identical canonical exports.
set -u
server=$1
client=$2

work=$(mktemp -d "${TMPDIR:-/tmp}/treecrdt-netsync.XXXXXX") || exit 1
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

fail() {
  echo "FAILED: $*" >&2
  [ -f "$work/server.log" ] && { echo "--- server log:" >&2; cat "$work/server.log" >&2; }
  exit 1
}

# step EXPECTED_STATUS CMD...: runs CMD, shows its output, checks its exit status.
step() {
  expected=$1
  shift
  "$@" >"$work/out" 2>&1
  status=$?
  sed 's/^/  /' "$work/out"
  [ "$status" -eq "$expected" ] || fail "'$*' exited with $status, expected $expected"
}

# The server breaks the first pull that sends more than 20 ops, after 20 op lines (mid-batch).
"$server" "$work/server.db" --port-file "$work/port" --drop-after-ops 20 --timeout-ms 10000 2>"$work/server.log" &
server_pid=$!
tries=0
while [ ! -s "$work/port" ]; do
  tries=$((tries + 1))
  [ "$tries" -le 100 ] || fail "the server did not start within 10 s"
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited at start"
  sleep 0.1
done
port=$(cat "$work/port")
echo "server listening on 127.0.0.1:$port"

echo "1. offline edits"
step 0 "$client" edit "$work/a.db" alice 120 1
step 0 "$client" edit "$work/b.db" bob 120 2
step 0 "$client" edit "$work/c.db" carol 120 3

echo "2. alice syncs: pushes 120 ops in batches of 16"
step 0 "$client" sync "$work/a.db" alice "$port" --batch 16
grep -q "pushed 120 ops" "$work/out" || fail "alice should have pushed 120 ops"

echo "3. bob drops his connection after 40 op lines, in the middle of his third batch"
step 3 "$client" sync "$work/b.db" bob "$port" --batch 16 --drop-after-ops 40
grep -q "pushed 32 ops" "$work/out" || fail "bob's two complete batches should be acknowledged"

echo "4. bob reconnects: pushes the rest; the server drops his pull after 20 op lines"
step 3 "$client" sync "$work/b.db" bob "$port" --batch 16
grep -q "pushed 88 ops, pulled 16 ops in 1 batches" "$work/out" || fail "bob should keep exactly the one complete batch"

echo "5. bob reconnects again and finishes; carol and alice sync at the same time"
step 0 "$client" sync "$work/b.db" bob "$port" --batch 16
grep -q "pulled 104 ops" "$work/out" || fail "bob should pull the 104 ops he still lacked"
"$client" sync "$work/c.db" carol "$port" --batch 8 >"$work/c.out" 2>&1 &
carol_pid=$!
"$client" sync "$work/a.db" alice "$port" --batch 8 >"$work/a.out" 2>&1 &
alice_pid=$!
wait "$carol_pid" || fail "carol's concurrent sync failed: $(cat "$work/c.out")"
wait "$alice_pid" || fail "alice's concurrent sync failed: $(cat "$work/a.out")"
sed 's/^/  /' "$work/c.out" "$work/a.out"

echo "6. more offline edits on every client, then two rounds of syncs"
step 0 "$client" edit "$work/a.db" alice 30 11
step 0 "$client" edit "$work/b.db" bob 30 12
step 0 "$client" edit "$work/c.db" carol 30 13
for round in 1 2; do
  for who in a:alice b:bob c:carol; do
    step 0 "$client" sync "$work/${who%%:*}.db" "${who#*:}" "$port" --batch 32
  done
done
grep -q "pushed 0 ops, pulled 0 ops" "$work/out" || fail "the last sync should have nothing left to exchange"

echo "7. stop the server and compare the four documents"
step 0 "$client" shutdown "$port"
wait "$server_pid"
server_status=$?
server_pid=
[ "$server_status" -eq 0 ] || fail "the server exited with $server_status"
sed 's/^/  server log: /' "$work/server.log"
grep -q "connection lost" "$work/server.log" || fail "the server should have logged the dropped connections"
for who in a b c server; do
  "$client" export "$work/$who.db" >"$work/$who.json" || fail "export of $who.db failed"
done
for who in b c server; do
  cmp -s "$work/a.json" "$work/$who.json" || fail "$who.db differs from a.db"
done
nodes=$(grep -o '"node"' "$work/a.json" | wc -l)
[ "$nodes" -gt 200 ] || fail "expected over 200 nodes in the converged tree, got $nodes"
echo "all 4 replicas converged: $nodes nodes, $(wc -c <"$work/a.json") bytes of canonical export"
