#!/usr/bin/env bash
# The whole test suite: Rust tests (unit, database, HTTP) against the Postgres from db.sh, then
# the Playwright journeys in Debian's Chromium against the release build on a fresh database
# loaded with the demo directory. `scripts/test.sh rust` or `scripts/test.sh e2e` runs one half.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
what=${1:-all}
eval "$(scripts/db.sh)"

if [[ $what == all || $what == rust ]]; then
  # Built first, then run under a time limit: a test that hangs fails the suite with a clear
  # message instead of eating CI's whole budget.
  cargo test -p app --features ssr --no-run
  cargo test -p server --no-run
  timeout --kill-after=30 900 cargo test -p app --features ssr ||
    { rc=$?; [[ $rc -ge 124 ]] && echo "app tests did not finish within 15 minutes" >&2; exit $rc; }
  timeout --kill-after=30 1500 cargo test -p server ||
    { rc=$?; [[ $rc -ge 124 ]] && echo "server tests did not finish within 25 minutes" >&2; exit $rc; }
fi

if [[ $what == all || $what == e2e ]]; then
  scripts/browser.sh
  [[ $what == all ]] && scripts/build.sh
  E2E_DATABASE_URL=$(echo "$DATABASE_URL" | sed -E 's#^(postgres(ql)?://[^/]*/)[^?]*#\1wraparound_e2e#')
  "$PGBIN/psql" "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS wraparound_e2e WITH (FORCE)" -c "CREATE DATABASE wraparound_e2e" >/dev/null
  DATABASE_URL="$E2E_DATABASE_URL" target/release/server seed-demo --dir target/demo/ky >/dev/null
  rm -rf target/e2e-mail target/e2e-code-steps.json
  export E2E_DATABASE_URL E2E_MAIL_DIR="$PWD/target/e2e-mail"
  (cd end2end && npx playwright test)
fi
