#!/usr/bin/env bash
# Sets up and runs every test suite, then prints one line per suite and a total.
# Usage: scripts/test.sh            (from anywhere; installs what it needs)
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

results=()
failed=0

suite() {
  local name=$1; shift
  echo
  echo "===== suite: $name ====="
  local start=$SECONDS
  if "$@"; then
    results+=("PASS  $name ($((SECONDS - start)) s)")
  else
    results+=("FAIL  $name ($((SECONDS - start)) s)")
    failed=$((failed + 1))
  fi
}

rust_lint() {
  cargo fmt --all --check &&
    cargo clippy --workspace --all-targets --locked -- -D warnings &&
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
}

vectors_current() {
  # The committed vectors must be exactly what the independent generator writes.
  python3 tests/vectors/generate.py >/dev/null && git diff --exit-code -- tests/vectors/sign.json
}

suite "rust lint (fmt, clippy, rustdoc)" rust_lint
suite "signing vectors up to date" vectors_current
suite "rust tests (core, sandbox, daji cli)" cargo test --workspace --locked

echo
echo "===== summary ====="
printf '%s\n' "${results[@]}"
passed=$(( ${#results[@]} - failed ))
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
