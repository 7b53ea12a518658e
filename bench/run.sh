#!/usr/bin/env bash
# Benchmarks against the sandbox on loopback: Rust core vs raw reqwest, C vs the core, Python vs
# requests/httpx, Node vs fetch, threads, in-flight calls, memory, load time, and the sandbox's
# own throughput (wrk). Prints a markdown table; a full run writes BENCHMARKS.md and the chart.
#
#   bench/run.sh           full run: release builds, writes BENCHMARKS.md (several minutes)
#   bench/run.sh --smoke   tiny counts on the debug builds the tests made; writes nothing
# The pay_many figures run 600 orders (60 in --smoke) against a sandbox limited to 50 calls a
# second: the bound is orders / 50 seconds. The journal's cost per payment is measured with the
# memory, SQLite (a file in target/bench) and PostgreSQL (a throwaway cluster from
# scripts/postgres.sh) journals against no journal: 5 rounds of 400 payments each (3 of 10 in
# --smoke). The fleet's pace in the same stores against the per-process pace: 5 rounds of 400
# pay_url calls each (3 of 10), then 8 threads or tasks for 2 s (0.2 s); a full run then runs
# tests/fleet/pace.py's parts but the restart (4 processes sharing a gateway limit, ~2 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
out=$target/bench
mkdir -p "$out"
results=$out/results.jsonl
: > "$results"

if [ "${1:-}" = "--smoke" ]; then
  profile=debug scale=0.01 calls=20 rounds=3 orders=60 payments=10 pace_seconds=0.2
  cargo build -q -p daji -p dajisaas-bench --locked
  [ -f "$target/c-install/lib/libdajisaas.so" ] || scripts/install-c.sh "$target/c-install" dev
  prefix=$target/c-install
else
  profile=release scale=1 calls=2000 rounds=5 orders=600 payments=400 pace_seconds=2
  cargo build -q --release -p daji -p dajisaas-bench --locked
  prefix=$target/bench-c
  scripts/install-c.sh "$prefix" release
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r bindings-python/requirements-dev.txt
  .venv/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings-python
  (cd bindings-node && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build:release)
  command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
fi
.venv/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
cc -O2 -std=c11 -Wall -Wextra -Werror bench/c/bench.c -I"$prefix/include" -L"$prefix/lib" -ldajisaas \
  -Wl,-rpath,"$prefix/lib" -o "$out/bench_c"

daji=$target/$profile/daji
export DAJI_BIN=$daji
# A second sandbox with 20 ms latency for the concurrency figures; its address is passed along.
slow_log=$(mktemp)
"$daji" sandbox --port 0 --app-key cli-test-key --app-secret cli-SECRET-9e0a71 --latency-ms 20 >"$slow_log" 2>/dev/null &
slow_pid=$!
trap 'kill "$slow_pid" 2>/dev/null; rm -f "$slow_log"' EXIT
for _ in $(seq 200); do slow_url=$(sed -n '1s/^dajisaas sandbox listening on //p' "$slow_log"); [ -n "$slow_url" ] && break; sleep 0.05; done

run() {
  # shellcheck disable=SC2016
  scripts/with-sandbox.sh sh -c "$1" | grep '^{' | tee -a "$results"
}
run "\"$target/$profile/daji-bench\" \"\$DAJISAAS_BASE_URL\" \"\$DAJISAAS_APP_KEY\" \"\$DAJISAAS_APP_SECRET\" $calls $rounds"
# pay_many against the gateway's call-frequency limit: with max_calls_per_second, then adaptive.
DAJI_SANDBOX_ARGS="--qps 50 --hang-ms 20000" scripts/with-sandbox.sh sh -c \
  "\"$target/$profile/daji-bench\" --pay-many \"\$DAJISAAS_BASE_URL\" \"\$DAJISAAS_APP_KEY\" \"\$DAJISAAS_APP_SECRET\" $orders 50" \
  | grep '^{' | tee -a "$results"
# The payment journal's cost per payment; PostgreSQL in a throwaway cluster, removed afterwards
# (and by itself should this script die first).
pg=$(scripts/postgres.sh start --until-exit $$)
pg_url=$(sed -n 's/^export DAJISAAS_TEST_POSTGRES_URL=//p' <<<"$pg")
pg_dir=$(sed -n 's/^export DAJISAAS_TEST_POSTGRES_DIR=//p' <<<"$pg")
run "\"$target/$profile/daji-bench\" --journal-cost \"\$DAJISAAS_BASE_URL\" \"\$DAJISAAS_APP_KEY\" \"\$DAJISAAS_APP_SECRET\" \
  $payments $rounds \"$out/journal-cost.db\" \"$pg_url\""
run "\"$target/$profile/daji-bench\" --pace-cost \"\$DAJISAAS_BASE_URL\" \"\$DAJISAAS_APP_KEY\" \"\$DAJISAAS_APP_SECRET\" \
  $payments $rounds $pace_seconds 8 \"$out/pace-cost.db\" \"$pg_url\""
if [ "$profile" = release ]; then
  # Its checks' verdicts are in its figures (and the report); a failed one stops no benchmark.
  { DAJISAAS_TEST_POSTGRES_URL=$pg_url .venv/bin/python tests/fleet/pace.py \
      --parts memory,sqlite,postgres,sqlite-adaptive,postgres-adaptive || true; } | grep '^{' | tee -a "$results"
fi
scripts/postgres.sh stop "$pg_dir"
rm -f "$out"/journal-cost.db{,-wal,-shm} "$out"/pace-cost.db{,-wal,-shm}
run "\"$out/bench_c\" $calls $rounds"
run ".venv/bin/python bench/python/bench.py \"\$DAJISAAS_BASE_URL\" \"$slow_url\" \"\$DAJISAAS_APP_KEY\" \"\$DAJISAAS_APP_SECRET\" $scale"
run "node bench/node/bench.js \"\$DAJISAAS_BASE_URL\" \"$slow_url\" \"\$DAJISAAS_APP_KEY\" \"\$DAJISAAS_APP_SECRET\" $scale"
# Client creation per language: time, and the files it opens (counted with inotify).
.venv/bin/python bench/clients.py 20 "$target/$profile/daji-bench" "$out/bench_c" .venv/bin/python \
  "$PWD/bindings-node" | tee -a "$results"
if [ "$profile" = release ]; then
  # The sandbox's own throughput with wrk on the same signed URL, to show it is not the limit.
  run "url=\$(\"$target/$profile/daji-bench\" --signed-url \"\$DAJISAAS_BASE_URL\" \"\$DAJISAAS_APP_KEY\" \"\$DAJISAAS_APP_SECRET\");
       wrk -t2 -c64 -d5s \"\$url\" | awk '/Requests\\/sec/ {printf \"{\\\"figure\\\":\\\"sandbox_requests_per_s\\\",\\\"value\\\":%s,\\\"unit\\\":\\\"wrk 2 threads, 64 connections\\\"}\\n\", \$2}'"
  .venv/bin/python bench/report.py "$results" --write
else
  .venv/bin/python bench/report.py "$results"
fi
