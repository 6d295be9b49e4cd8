#!/usr/bin/env bash
# The HSDS API's lists at national scale, as a 211 pulling the directory reads them (called by
# scripts/bench.sh; runs alone too): serves database $1 on port $2 and asks each page 7 times,
# one request at a time. Prints a markdown table: the median and the slowest, in ms.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/db.sh)"
source scripts/serve-env.sh
db=$1 port=$2
url=$(echo "$DATABASE_URL" | sed -E "s#^(postgres(ql)?://[^/]*/)[^?]*#\\1$db#")
DATABASE_URL="$url" LEPTOS_SITE_ADDR="127.0.0.1:$port" RUST_LOG=warn target/release/server serve >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.2; done
total=$(curl -sf "http://127.0.0.1:$port/api/hsds/services?minimal=true&per_page=1" | sed -E 's/.*"total_items":([0-9]+).*/\1/')
echo "### HSDS API lists: $total active services, one client, each page asked 7 times"
echo
echo "| page | median ms | slowest ms | KB |"
echo "|---|---|---|---|"
half=$((total / 200))
# An incremental pull the day after the last: nothing has changed since. Then filters that
# match few rows (a ZIP code's area, a word no program has), which a walk in name order
# would test every row for.
since=$(date -u -d tomorrow +%F)
for path in \
  "services?per_page=50" \
  "services?full=true&per_page=100&page=$half" \
  "services?minimal=true&per_page=10000&page=$((total / 20000))" \
  "services?modified_after=2000-01-01&per_page=50" \
  "services?modified_after=$since&per_page=50" \
  "service_at_locations?modified_after=$since&per_page=50" \
  "organizations?per_page=50" \
  "service_at_locations?per_page=50" \
  "service_at_locations?per_page=50&page=$((total / 100))" \
  "service_at_locations?postcode=40202&proximity=10000&per_page=20" \
  "service_at_locations?search=food&per_page=20" \
  "service_at_locations?postcode=40601&per_page=50" \
  "services?search=zzzxqj&per_page=50" \
  "service_at_locations?search=zzzxqj&per_page=50"; do
  runs=$(for _ in 1 2 3 4 5 6 7; do
    curl -s -o /dev/null -w '%{time_total} %{size_download} %{http_code}\n' "http://127.0.0.1:$port/api/hsds/$path"
  done | sort -n)
  if grep -qv ' 200$' <<<"$runs"; then echo "| \`$path\` | failed: $(awk '{print $3}' <<<"$runs" | sort -u | tr '\n' ' ')| | |"; continue; fi
  awk -v p="$path" 'NR == 4 { m = $1; kb = $2 / 1024 } { s = $1 } END { printf "| `%s` | %.0f | %.0f | %.0f |\n", p, m * 1000, s * 1000, kb }' <<<"$runs"
done
echo
