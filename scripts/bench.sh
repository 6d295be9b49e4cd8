#!/usr/bin/env bash
# `make bench`: the Kentucky directory (~12k services) and a national-scale one (~1.1M), each
# in its own database, each searched 1,000 times through the running release server and
# straight through Postgres; then 1 million referrals (inbox, dashboard, creation). Writes bench/results.md. The national set is generated and loaded
# once (it takes a while) and reused while its database is intact.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
eval "$(scripts/db.sh)"
source scripts/serve-env.sh
PORT=3200
out=bench/results.md
body=$(mktemp)

# The same server and role as $1 (a URL), in database $2.
in_db() { echo "$1" | sed -E "s#^(postgres(ql)?://[^/]*/)[^?]*#\\1$2#"; }

# load <database> <dir> <source> <min services> <demo-data args...>: loaded as the owner role.
load() {
  local db=$1 dir=$2 source=$3 min=$4; shift 4
  local owner; owner=$(in_db "$WRAPAROUND_OWNER_URL" "$db")
  local have
  have=$("$PGBIN/psql" "$owner" -Atc "SELECT count(*) FROM services WHERE active" 2>/dev/null || echo 0)
  if [[ "$have" -lt "$min" ]]; then
    echo "Loading $source into $db (once)..." >&2
    "$PGBIN/psql" "$WRAPAROUND_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    scripts/db.sh create "$db"
    # Generating counts: the budget is for the set generated and imported.
    local started=$SECONDS generated=""
    if [[ ! -f "$dir/services.csv" ]]; then
      target/release/server demo-data "$dir" "$@" >&2
      generated=" (generated in $((SECONDS - started)) s)"
    fi
    DATABASE_URL=$(in_db "$DATABASE_URL" "$db") WRAPAROUND_OWNER_URL="$owner" \
      target/release/server import-hsds "$dir" --source "$source" --full | sed -n 1,9p >&2
    if [[ -n $generated ]]; then
      echo "- $source: generated and imported in $((SECONDS - started)) s$generated" >> "$body.load"
    else
      echo "- $source: imported in $((SECONDS - started)) s (its files were generated earlier)" >> "$body.load"
    fi
    "$PGBIN/psql" "$owner" -qc "VACUUM ANALYZE" >/dev/null
  fi
  # Grants for the runtime role (a database loaded before the two roles existed gets them too).
  DATABASE_URL=$(in_db "$DATABASE_URL" "$db") WRAPAROUND_OWNER_URL="$owner" target/release/server migrate >/dev/null
}

# measure <database> <bench subcommand and arguments...>: serve that database (as the runtime
# role), run the bench (writes, such as loading referrals, as the owner).
measure() {
  local db=$1; shift
  local url owner; url=$(in_db "$DATABASE_URL" "$db"); owner=$(in_db "$WRAPAROUND_OWNER_URL" "$db")
  DATABASE_URL="$url" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" RUST_LOG=warn target/release/server serve >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.2; done
  DATABASE_URL="$url" WRAPAROUND_OWNER_URL="$owner" WRAPAROUND_BENCH_SERVER_PID=$pid \
    target/release/server "$@" --url "http://127.0.0.1:$PORT" | tee -a "$body"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

: > "$body.load"
load wraparound_bench_ky target/demo/ky ky-demo 12000
load wraparound_bench_national target/demo/national national 1000000 --national
# Relevance: the graded set (bench/relevance/) on the Kentucky demo and the real ILAO export.
load wraparound_bench_ilao "${WRAPAROUND_SHARED_DATA:-../shared/data}/hsds/ilao-1.1" ilao 300
relevance() {
  DATABASE_URL=$(in_db "$DATABASE_URL" "$1") target/release/server bench-relevance --dataset "$2" --state "$3"
}
{
  echo "### Search relevance: recall@10 and nDCG@10 on bench/relevance/queries.toml"
  echo
  echo "Queries in residents' words with graded answers written before tuning (bench/relevance/README.md). recall@10: relevant answers (grade 2-3) in the first ten, of at most ten; nDCG@10: gain 2^grade-1. A program shown twice counts once. Baseline, same run: every word must match, nearest first."
  echo
  echo "| dataset | search | queries | recall@10 | nDCG@10 | median ms |"
  echo "|---|---|---|---|---|---|"
  relevance wraparound_bench_ky ky KY
  relevance wraparound_bench_ilao ilao IL
  echo
} | tee -a "$body"
# The search peer: tantivy over the same programs and the same mix (bench-only, bench/peer).
echo "Building the search peer (tantivy; first time only, a few minutes)..." >&2
cargo build --release --quiet --manifest-path bench/peer/Cargo.toml --target-dir target/peer
export WRAPAROUND_BENCH_PEER_DIR=target/bench-peer
peer() { target/peer/release/search-peer "$WRAPAROUND_BENCH_PEER_DIR/search-docs.jsonl" "$WRAPAROUND_BENCH_PEER_DIR/search-mix.jsonl" "$1" | tee -a "$body"; }
measure wraparound_bench_ky bench --label "Kentucky demo directory"
peer "Kentucky"
measure wraparound_bench_national bench --label "National-scale directory"
peer "National"
# The HSDS API's lists at that scale, as a 211 pulling the directory reads them.
scripts/bench-api.sh wraparound_bench_national "$PORT" | tee -a "$body"
# The partner side: 1 million referrals in the Kentucky directory (loaded once, then reused).
measure wraparound_bench_ky bench-referrals
# Residents: topped up to 1 million beside those referrals (once), detail screen and search.
measure wraparound_bench_ky bench-residents
# Statewide metrics and the incentive report beside them (1 million assessments, once).
measure wraparound_bench_ky bench-metrics

{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' with uncommitted changes'),"
  echo "$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(${PGBIN}/postgres --version)."
  echo
  echo "Budgets: search p95 ≤ 30 ms at Kentucky scale and ≤ 80 ms at national scale; first HTML ≤ 50 KB;"
  echo "JS + WASM + CSS ≤ 350 KB compressed; an organization's inbox page and dashboard p95 ≤ 50 ms with 1 million referrals;"
  echo "Resident Detail Screen (with SDoH indicators) p95 ≤ 20 ms, resident search p95 ≤ 30 ms and storing a completed assessment (scored, indicators recomputed) p95 ≤ 50 ms with 1 million residents and 1 million referrals;"
  echo "the statewide metrics page p95 ≤ 100 ms with 1 million referrals and 1 million assessments."
  echo
  if [[ -s "$body.load" ]]; then echo "Data loaded in this run:"; cat "$body.load"; echo; fi
  cat "$body"
} > "$out"
rm -f "$body" "$body.load"
echo "Wrote $out" >&2
