#!/bin/bash
# Starts or stops a throw-away PostgreSQL cluster for the test suite.
#   postgres-fixture.sh start <state-dir>   -> writes <state-dir>/connection
#   postgres-fixture.sh stop  <state-dir>
# The cluster lives in a fresh directory under ${BOXOFFICE_PG_TMPDIR:-/tmp}, listens only on
# 127.0.0.1 on a free port, keeps its unix socket in that directory and trusts
# loopback connections: it holds nothing but test data and dies with the run.
# PostgreSQL refuses to run as root, so under root it runs as the `postgres` user.
set -euo pipefail

action=${1:?usage: $0 start|stop <state-dir>}
state=${2:?usage: $0 start|stop <state-dir>}
mkdir -p "$state"
state=$(cd "$state" && pwd)

bindir=${BOXOFFICE_PG_BINDIR:-}
if [[ -z $bindir ]]; then
  for candidate in /usr/lib/postgresql/*/bin; do
    [[ -x $candidate/initdb ]] && bindir=$candidate
  done
fi
if [[ $action == start && ( -z $bindir || ! -x $bindir/initdb ) ]]; then
  echo "postgres-fixture: no PostgreSQL server binaries (initdb) found; install the 'postgresql' package" >&2
  exit 1
fi

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

stop_cluster() {
  [[ -f $state/datadir ]] || return 0
  local datadir
  datadir=$(cat "$state/datadir")
  cd /
  if [[ -f $datadir/postmaster.pid && -x $bindir/pg_ctl ]]; then
    as_owner "$bindir/pg_ctl" -D "$datadir" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$(dirname "$datadir")"
  rm -f "$state/datadir" "$state/connection"
}

case $action in
start)
  stop_cluster   # a previous run that was interrupted
  if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    echo "postgres-fixture: running as root but there is no 'postgres' user to run the server as" >&2
    exit 1
  fi
  # Not $TMPDIR: the server user must be able to reach it, and the socket path must stay
  # short (unix socket paths are limited to ~107 bytes).
  root=$(mktemp -d "${BOXOFFICE_PG_TMPDIR:-/tmp}/boxoffice-pg.XXXXXX")
  chmod 755 "$root"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$root"
  datadir=$root/data
  echo "$datadir" > "$state/datadir"
  cd "$root" # the server user may not be allowed into the caller's directory (e.g. /root)
  as_owner "$bindir/initdb" -D "$datadir" -U boxoffice --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$root/initdb.log" 2>&1 || { cat "$root/initdb.log" >&2; exit 1; }
  # A free port: try random ones until the server binds (pg_ctl -w fails if it cannot).
  # fsync=off: the cluster is thrown away, durability would only slow the suite down.
  started=
  for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    if as_owner "$bindir/pg_ctl" -D "$datadir" -l "$root/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $root -c fsync=off -c max_connections=200" \
        >/dev/null 2>&1; then
      started=1
      break
    fi
  done
  if [[ -z $started ]]; then
    echo "postgres-fixture: the server did not start; its log:" >&2
    cat "$root/server.log" >&2 || true
    exit 1
  fi
  as_owner "$bindir/psql" -h 127.0.0.1 -p "$port" -U boxoffice -d postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE boxoffice_test" >/dev/null
  echo "postgresql://boxoffice@127.0.0.1:$port/boxoffice_test" > "$state/connection.tmp"
  mv "$state/connection.tmp" "$state/connection"
  echo "postgres-fixture: $(cat "$state/connection") (data in $datadir)"
  ;;
stop)
  stop_cluster
  ;;
*)
  echo "usage: $0 start|stop <state-dir>" >&2
  exit 2
  ;;
esac
