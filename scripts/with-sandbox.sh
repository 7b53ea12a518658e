#!/usr/bin/env bash
# Runs a command against a fresh `daji sandbox` on 127.0.0.1, with DAJISAAS_BASE_URL,
# DAJISAAS_APP_KEY and DAJISAAS_APP_SECRET pointing at it; stops the sandbox afterwards.
# Usage: scripts/with-sandbox.sh COMMAND [ARGS...]   (needs target/debug/daji)
set -euo pipefail
daji=${DAJI_BIN:-${CARGO_TARGET_DIR:-target}/debug/daji}
key=cli-test-key
secret=cli-SECRET-9e0a71
log=$(mktemp)
# Deduct-then-hang answers are held far longer than any client timeout in the tests.
"$daji" sandbox --port 0 --app-key "$key" --app-secret "$secret" --hang-ms 20000 >"$log" 2>/dev/null &
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
python3 - "$url" "${DAJI_EXPECT_REQUESTS:-}" <<'PY'
import json, sys, urllib.request
stats = json.load(urllib.request.urlopen(sys.argv[1] + "/_sandbox/stats"))
if stats["requestsWithSecret"]:
    sys.exit(f"{stats['requestsWithSecret']} of {stats['requests']} requests carried the secret")
if sys.argv[2] and stats["requests"] != int(sys.argv[2]):
    sys.exit(f"the sandbox received {stats['requests']} requests, expected {sys.argv[2]}")
print(f"sandbox: {stats['requests']} requests, none carried the secret")
PY
