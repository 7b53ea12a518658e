#!/usr/bin/env bash
# Runs a command against a fresh `daji sandbox` on 127.0.0.1, with DAJISAAS_BASE_URL,
# DAJISAAS_APP_KEY and DAJISAAS_APP_SECRET pointing at it; stops the sandbox afterwards.
# Usage: scripts/with-sandbox.sh COMMAND [ARGS...]   (needs target/debug/daji)
# DAJI_SANDBOX_ARGS: the sandbox's timing flags (default: --hang-ms 20000).
# DAJI_EXPECT_REQUESTS=N: the sandbox must have received exactly N requests.
# DAJI_EXPECT_OUTCOMES=FILE (tests/vectors/outcomes.json): its counters must match every row.
set -euo pipefail
daji=${DAJI_BIN:-${CARGO_TARGET_DIR:-target}/debug/daji}
key=cli-test-key
secret=cli-SECRET-9e0a71
log=$(mktemp)
# By default deduct-then-hang answers are held far longer than any client timeout in the tests.
# shellcheck disable=SC2086
"$daji" sandbox --port 0 --app-key "$key" --app-secret "$secret" ${DAJI_SANDBOX_ARGS:---hang-ms 20000} \
  >"$log" 2>/dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null; rm -f "$log"' EXIT
url=
for _ in $(seq 200); do
  url=$(sed -n '1s/^dajisaas sandbox listening on //p' "$log")
  [ -n "$url" ] && break
  sleep 0.05
done
[ -n "$url" ] || { echo "the sandbox did not start" >&2; exit 1; }
export DAJISAAS_BASE_URL=$url DAJISAAS_APP_KEY=$key DAJISAAS_APP_SECRET=$secret
"$@"
# In signed mode no request may carry the secret; DAJI_EXPECT_REQUESTS checks the count.
python3 - "$url" "${DAJI_EXPECT_REQUESTS:-}" "${DAJI_EXPECT_OUTCOMES:-}" <<'PY'
import json, sys, urllib.request
stats = json.load(urllib.request.urlopen(sys.argv[1] + "/_sandbox/stats"))
if stats["requestsWithSecret"]:
    sys.exit(f"{stats['requestsWithSecret']} of {stats['requests']} requests carried the secret")
if sys.argv[2] and stats["requests"] != int(sys.argv[2]):
    sys.exit(f"the sandbox received {stats['requests']} requests, expected {sys.argv[2]}")
twice = {order: n for order, n in stats["deductions"].items() if n > 1}
if twice:
    sys.exit(f"orders deducted more than once: {twice}")
if sys.argv[3]:
    wrong = []
    rows = json.load(open(sys.argv[3]))["rows"]
    for row in rows:
        calls = stats["payCalls" if row["endpoint"] == "prepare_pay" else "linkCalls"]
        got = (calls.get(row["order_id"], 0), stats["deductions"].get(row["order_id"], 0))
        if got != (row["calls"], row["deductions"]):
            wrong.append(f"{row['order_id']} {row['endpoint']}: calls, deductions {got}, "
                         f"want {(row['calls'], row['deductions'])}")
    if wrong:
        sys.exit("sandbox counters differ from " + sys.argv[3] + ":\n" + "\n".join(wrong))
    print(f"sandbox: calls and deductions of all {len(rows)} rows of {sys.argv[3]} as expected")
print(f"sandbox: {stats['requests']} requests, none carried the secret")
PY
