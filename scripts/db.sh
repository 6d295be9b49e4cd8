#!/usr/bin/env bash
# Makes sure a Postgres server is there and prints `export DATABASE_URL=... WRAPAROUND_OWNER_URL=...
# WRAPAROUND_ADMIN_URL=...` (the runtime role, the owner role, a superuser for tests).
# `scripts/db.sh create NAME` makes another database the same way (tests, benchmarks).
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

# DATABASE_URL set by the caller means their server; set by an earlier run of this script (the
# marker below) means ours.
if [[ -n "${DATABASE_URL:-}" && -z "${WRAPAROUND_PRIVATE_CLUSTER:-}" ]]; then
  # Someone else's server: the runtime role is DATABASE_URL's user; the owner (migrations,
  # imports) is WRAPAROUND_OWNER_URL's, and tests create databases as WRAPAROUND_ADMIN_URL's.
  ADMIN=${WRAPAROUND_ADMIN_URL:-${WRAPAROUND_OWNER_URL:-$DATABASE_URL}}
  if [[ "${1:-}" == create ]]; then
    "$PGBIN/psql" "$ADMIN" -qAt -c "SELECT 1 FROM pg_database WHERE datname='$2'" | grep -q 1 ||
      "$PGBIN/psql" "$ADMIN" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE $2" >/dev/null
    exit 0
  fi
  echo "export DATABASE_URL='$DATABASE_URL' WRAPAROUND_OWNER_URL='${WRAPAROUND_OWNER_URL:-$DATABASE_URL}' WRAPAROUND_ADMIN_URL='$ADMIN' PGBIN='$PGBIN'"
  exit 0
fi

ROOT="$PWD/target/pg"
DATA="$ROOT/data"
RUN="$ROOT/run"
PORT=54329
DB=wraparound
# The owner role owns the tables (migrations, imports, the demo loader); the runtime role is
# what `server serve` connects as: it owns nothing and may only append to the audit trail.
OWNER=wraparound_owner
APP=wraparound_app
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
    -o "-k $RUN -p $PORT -c listen_addresses='' -c max_connections=200 -c shared_buffers=512MB -c work_mem=16MB -c max_wal_size=4GB -c fsync=on" \
    start >/dev/null
fi

url() { echo "postgres://$1@localhost/$2?host=$RUN&port=$PORT"; }
admin() { "$PGBIN/psql" "$(url postgres postgres)" -v ON_ERROR_STOP=1 -qAt "$@"; }

admin -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$OWNER') THEN CREATE ROLE $OWNER LOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$APP') THEN CREATE ROLE $APP LOGIN; END IF;
END \$\$" >/dev/null

# create_database NAME: a database owned by the owner role, with the extensions the schema uses
# created by the superuser (earthdistance is not a trusted extension). An existing database
# from before the two roles is handed to the owner role.
create_database() {
  local name=$1
  if ! admin -c "SELECT 1 FROM pg_database WHERE datname='$name'" | grep -q 1; then
    admin -c "CREATE DATABASE $name OWNER $OWNER" >/dev/null
  fi
  "$PGBIN/psql" "$(url postgres "$name")" -v ON_ERROR_STOP=1 -qAt -c "
    SET client_min_messages TO warning;
    CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE EXTENSION IF NOT EXISTS cube;
    CREATE EXTENSION IF NOT EXISTS earthdistance; CREATE EXTENSION IF NOT EXISTS unaccent;
    ALTER DATABASE $name OWNER TO $OWNER;
    ALTER SCHEMA public OWNER TO $OWNER;
    DO \$\$ DECLARE r record; BEGIN
      FOR r IN SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname IN ('public', 'tower_sessions') AND c.relkind IN ('r', 'S', 'v', 'm')
                  AND pg_get_userbyid(c.relowner) <> '$OWNER'
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') LOOP
        EXECUTE format('ALTER %s %I.%I OWNER TO $OWNER',
          CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
          r.nspname, r.relname);
      END LOOP;
      IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'tower_sessions') THEN
        ALTER SCHEMA tower_sessions OWNER TO $OWNER;
      END IF;
      FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> '$OWNER'
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO $OWNER', r.f);
      END LOOP;
    END \$\$" >/dev/null
}

if [[ "${1:-}" == create ]]; then
  create_database "$2"
  exit 0
fi
create_database "$DB"

echo "export DATABASE_URL='$(url $APP $DB)' WRAPAROUND_OWNER_URL='$(url $OWNER $DB)' WRAPAROUND_ADMIN_URL='$(url postgres postgres)' PGBIN='$PGBIN' WRAPAROUND_PRIVATE_CLUSTER=1"
