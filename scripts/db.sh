#!/usr/bin/env bash
# Makes sure a Postgres server is there and prints `export DATABASE_URL=...`.
# With DATABASE_URL already set, uses that server as it is. Otherwise runs a private cluster
# under target/pg with this machine's Postgres binaries (socket only, no TCP port), installing
# Debian's postgresql package first when the binaries are missing and we are root.
set -euo pipefail
cd "$(dirname "$0")/.."

find_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x "$dir/initdb" ]] && { echo "$dir"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

if ! PGBIN=$(find_bin); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "Postgres binaries not found: installing Debian's postgresql package..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >&2
    PGBIN=$(find_bin)
  else
    echo "Postgres binaries (initdb, pg_ctl) not found. Install Debian's 'postgresql' package, or set DATABASE_URL." >&2
    exit 1
  fi
fi

if [[ -n "${DATABASE_URL:-}" ]]; then
  echo "export DATABASE_URL='$DATABASE_URL' PGBIN='$PGBIN'"
  exit 0
fi

ROOT="$PWD/target/pg"
DATA="$ROOT/data"
RUN="$ROOT/run"
PORT=54329
DB=wraparound
mkdir -p "$ROOT" "$RUN"

# Postgres refuses to run as root: as root, the cluster belongs to the postgres user.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    chown -R postgres:postgres "$ROOT"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [[ ! -f "$DATA/PG_VERSION" ]]; then
  echo "Creating a private Postgres cluster in $DATA" >&2
  as_owner "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
fi

if ! as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$ROOT/server.log" -w -t 60 \
    -o "-k $RUN -p $PORT -c listen_addresses='' -c max_connections=200 -c shared_buffers=512MB -c work_mem=16MB -c fsync=on" \
    start >/dev/null
fi

if ! "$PGBIN/psql" -h "$RUN" -p "$PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1; then
  "$PGBIN/psql" -h "$RUN" -p "$PORT" -U postgres -d postgres -qc "CREATE DATABASE $DB" >/dev/null
fi

echo "export DATABASE_URL='postgres://postgres@localhost/$DB?host=$RUN&port=$PORT' PGBIN='$PGBIN'"
