# shellcheck shell=bash
# A throwaway PostgreSQL server for tests and benchmarks. Source this file from a bash script, then:
#
#   treecrdt_pg_start || exit 1
#   trap treecrdt_pg_stop EXIT
#
# treecrdt_pg_start creates a fresh cluster in a temporary directory, starts it on 127.0.0.1 with a
# free port (its unix socket goes into that directory, never the system one), creates the database
# `treecrdt_test` and exports TREECRDT_PG_URL="postgresql://postgres@127.0.0.1:PORT/treecrdt_test".
# As root the cluster belongs to the `postgres` user (initdb refuses to run as root); as any other user
# it belongs to that user. The superuser is named `postgres` either way and trusts local connections,
# which is fine for a server that only listens on loopback and is deleted afterwards.
#
# Environment: TREECRDT_PG_BINDIR overrides where initdb/pg_ctl are looked up.
# Both functions print what they do on stderr; on failure treecrdt_pg_start prints the server log,
# removes what it created and returns non-zero.

_treecrdt_pg_log() { printf 'throwaway-postgres: %s\n' "$*" >&2; }

_treecrdt_pg_bindir() {
  if [[ -n "${TREECRDT_PG_BINDIR:-}" ]]; then
    printf '%s\n' "$TREECRDT_PG_BINDIR"
    return 0
  fi
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null)"
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
      printf '%s\n' "$dir"
      return 0
    fi
  fi
  # Debian keeps the server binaries out of PATH; take the newest installed major version.
  dir="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)"
  if [[ -n "$dir" && -x "$dir/initdb" ]]; then
    printf '%s\n' "$dir"
    return 0
  fi
  return 1
}

# Runs a command as the cluster owner.
_treecrdt_pg_as_owner() {
  if [[ -n "${_TREECRDT_PG_OWNER:-}" ]]; then
    runuser -u "$_TREECRDT_PG_OWNER" -- "$@"
  else
    "$@"
  fi
}

# True when something already listens on 127.0.0.1:$1.
_treecrdt_pg_port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_treecrdt_pg_pick_port() {
  local port _
  for _ in $(seq 1 50); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    if ! _treecrdt_pg_port_busy "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  return 1
}

_treecrdt_pg_fail() {
  _treecrdt_pg_log "FAILED: $*"
  if [[ -n "${_TREECRDT_PG_DIR:-}" && -f "$_TREECRDT_PG_DIR/server.log" ]]; then
    _treecrdt_pg_log "---- server log ($_TREECRDT_PG_DIR/server.log) ----"
    cat "$_TREECRDT_PG_DIR/server.log" >&2
    _treecrdt_pg_log "---- end of server log ----"
  fi
  treecrdt_pg_stop
  return 1
}

treecrdt_pg_start() {
  if [[ -n "${_TREECRDT_PG_DIR:-}" ]]; then
    _treecrdt_pg_log "already running in $_TREECRDT_PG_DIR ($TREECRDT_PG_URL)"
    return 0
  fi
  local bindir
  if ! bindir="$(_treecrdt_pg_bindir)"; then
    _treecrdt_pg_log "FAILED: no initdb/pg_ctl found (install postgresql or set TREECRDT_PG_BINDIR)"
    return 1
  fi
  _TREECRDT_PG_BINDIR_USED="$bindir"

  _TREECRDT_PG_OWNER=""
  if [[ "$(id -u)" -eq 0 ]]; then
    if ! id postgres >/dev/null 2>&1; then
      _treecrdt_pg_log "FAILED: running as root but there is no 'postgres' user to own the cluster"
      return 1
    fi
    _TREECRDT_PG_OWNER=postgres
  fi

  if ! _TREECRDT_PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/treecrdt-pg.XXXXXX")"; then
    _TREECRDT_PG_DIR=""
    _treecrdt_pg_log "FAILED: cannot create a temporary directory"
    return 1
  fi
  chmod 700 "$_TREECRDT_PG_DIR"
  if [[ -n "$_TREECRDT_PG_OWNER" ]]; then
    chown "$_TREECRDT_PG_OWNER:" "$_TREECRDT_PG_DIR" || { _treecrdt_pg_fail "chown of $_TREECRDT_PG_DIR"; return 1; }
  fi
  _treecrdt_pg_log "cluster directory $_TREECRDT_PG_DIR (owner ${_TREECRDT_PG_OWNER:-$(id -un)}, binaries $bindir)"

  if ! _treecrdt_pg_as_owner "$bindir/initdb" -D "$_TREECRDT_PG_DIR/data" -U postgres --auth=trust \
      -E UTF8 --no-locale --no-sync >"$_TREECRDT_PG_DIR/initdb.log" 2>&1; then
    cat "$_TREECRDT_PG_DIR/initdb.log" >&2
    _treecrdt_pg_fail "initdb"
    return 1
  fi

  # A port can be taken between the check and the start: try a few.
  local port="" attempt started=0
  for attempt in 1 2 3 4 5; do
    if ! port="$(_treecrdt_pg_pick_port)"; then
      _treecrdt_pg_fail "no free port found"
      return 1
    fi
    # fsync off: the cluster is deleted afterwards, durability buys nothing here.
    if _treecrdt_pg_as_owner "$bindir/pg_ctl" -D "$_TREECRDT_PG_DIR/data" -l "$_TREECRDT_PG_DIR/server.log" \
        -w -t 60 -o "-c listen_addresses=127.0.0.1 -p $port -k $_TREECRDT_PG_DIR -c fsync=off -c full_page_writes=off" \
        start >/dev/null; then
      started=1
      break
    fi
    _treecrdt_pg_log "start on port $port failed (attempt $attempt)"
    # Only a lost race for the port is worth another try; any other failure is reported at once.
    if ! grep -q "Address already in use" "$_TREECRDT_PG_DIR/server.log" 2>/dev/null; then
      break
    fi
  done
  if [[ "$started" -ne 1 ]]; then
    _treecrdt_pg_fail "pg_ctl start"
    return 1
  fi
  _TREECRDT_PG_PORT="$port"
  _treecrdt_pg_log "server started on 127.0.0.1:$port"

  if ! "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres treecrdt_test; then
    _treecrdt_pg_fail "createdb treecrdt_test"
    return 1
  fi
  export TREECRDT_PG_URL="postgresql://postgres@127.0.0.1:$port/treecrdt_test"
  _treecrdt_pg_log "created database treecrdt_test; TREECRDT_PG_URL=$TREECRDT_PG_URL"
  return 0
}

treecrdt_pg_stop() {
  if [[ -z "${_TREECRDT_PG_DIR:-}" ]]; then
    return 0
  fi
  local dir="$_TREECRDT_PG_DIR"
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    if _treecrdt_pg_as_owner "${_TREECRDT_PG_BINDIR_USED}/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null 2>&1; then
      _treecrdt_pg_log "server on port ${_TREECRDT_PG_PORT:-?} stopped"
    else
      _treecrdt_pg_log "pg_ctl stop failed for $dir (removing the directory anyway)"
    fi
  fi
  rm -rf "$dir"
  _treecrdt_pg_log "removed $dir"
  _TREECRDT_PG_DIR=""
  _TREECRDT_PG_PORT=""
  unset TREECRDT_PG_URL
  return 0
}
