#!/usr/bin/env bash
# The whole test suite: Rust tests (unit, database, HTTP) against the Postgres from db.sh, then
# the Playwright journeys in Debian's Chromium against the server those tests built (with the
# release browser bundle) on a fresh database loaded with the demo directory. `scripts/test.sh rust` or `scripts/test.sh e2e` runs one half.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
what=${1:-all}
eval "$(scripts/db.sh)"

if [[ $what == all || $what == rust ]]; then
  # Built first, then run under a time limit: a test that hangs fails the suite with a clear
  # message instead of eating CI's whole budget. `sqlx::test` makes a database per test, so
  # the Rust tests connect as the cluster's superuser; the role tests make their own roles.
  cargo test -p app --features ssr --no-run
  cargo test -p server --no-run
  DATABASE_URL="$WRAPAROUND_ADMIN_URL" timeout --kill-after=30 900 cargo test -p app --features ssr ||
    { rc=$?; [[ $rc -ge 124 ]] && echo "app tests did not finish within 15 minutes" >&2; exit $rc; }
  DATABASE_URL="$WRAPAROUND_ADMIN_URL" timeout --kill-after=30 1500 cargo test -p server ||
    { rc=$?; [[ $rc -ge 124 ]] && echo "server tests did not finish within 25 minutes" >&2; exit $rc; }
fi

if [[ $what == all || $what == e2e ]]; then
  scripts/browser.sh
  # The server binary `cargo test -p server` builds (above, or now when run alone), and the
  # release browser bundle and site for it.
  E2E_SERVER=target/debug/server
  [[ $what == e2e ]] && cargo test -p server --no-run
  scripts/build.sh "$E2E_SERVER"
  in_e2e() { echo "$1" | sed -E 's#^(postgres(ql)?://[^/]*/)[^?]*#\1wraparound_e2e#'; }
  E2E_DATABASE_URL=$(in_e2e "$DATABASE_URL")
  "$PGBIN/psql" "$WRAPAROUND_ADMIN_URL" -qc "DROP DATABASE IF EXISTS wraparound_e2e WITH (FORCE)" >/dev/null
  scripts/db.sh create wraparound_e2e
  # Loaded as the owner; served (by Playwright's webServer) as the runtime role.
  DATABASE_URL="$E2E_DATABASE_URL" WRAPAROUND_OWNER_URL=$(in_e2e "$WRAPAROUND_OWNER_URL") \
    "$E2E_SERVER" seed-demo --dir target/demo/ky --without-residents >/dev/null
  rm -rf target/e2e-mail target/e2e-sms target/e2e-code-steps.json
  export E2E_SERVER E2E_DATABASE_URL E2E_MAIL_DIR="$PWD/target/e2e-mail"
  rm -f target/e2e-server.log
  (cd end2end && npx playwright test)
  # A panic in a request task costs no journey (the page had gone out), but it is a bug.
  if grep -q "panicked" target/e2e-server.log 2>/dev/null; then
    echo "The server panicked during the end-to-end journeys:" >&2
    grep -A12 "panicked" target/e2e-server.log >&2
    exit 1
  fi
fi
