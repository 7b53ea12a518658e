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
    cargo clippy -p dajisaas --features ffi --all-targets --locked -- -D warnings &&
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
}

vectors_current() {
  # The committed vectors must be exactly what the independent generator writes.
  python3 tests/vectors/generate.py >/dev/null && git diff --exit-code -- tests/vectors/sign.json tests/vectors/sign.tsv
}

python_setup() {
  # A fresh virtual environment with the pinned tools, then the package through pip (maturin as
  # the PEP 517 backend). The dev profile reuses what `cargo test` already compiled.
  [ -x .venv/bin/python ] || python3 -m venv .venv || return 1
  .venv/bin/pip install -q --disable-pip-version-check -r bindings-python/requirements-dev.txt &&
    cargo build -q -p daji --locked &&
    MATURIN_PEP517_ARGS="--profile dev" .venv/bin/pip install -q --disable-pip-version-check \
      --force-reinstall --no-deps ./bindings-python &&
    rm -rf target/wheels &&
    MATURIN_PEP517_ARGS="--profile dev" .venv/bin/pip wheel -q --disable-pip-version-check \
      --no-deps -w target/wheels ./bindings-python &&
    ls target/wheels/dajisaas-*-cp39-abi3-*.whl
}

python_tests() {
  (cd bindings-python && ../.venv/bin/python -m pytest -q -p no:cacheprovider tests)
}

python_types() {
  .venv/bin/mypy --strict --no-incremental bindings-python/tests/typed_example.py
}

node_setup() {
  # npm ci from the lock file, then the addon (debug profile, shared target directory). The
  # generated index.js and index.d.ts are committed: a build that changes them means they are stale.
  (cd bindings-node && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build) &&
    git diff --exit-code -- bindings-node/index.js bindings-node/index.d.ts
}

node_tests() {
  (cd bindings-node && node --test test/)
}

node_types() {
  (cd bindings-node && npx tsc --noEmit --strict --target es2020 --module commonjs --types node test/typed-example.ts)
}

c_header_current() {
  cargo run -q -p dajisaas-header --locked -- --check
}

c_tests() {
  cargo test -q -p dajisaas --features ffi --locked --lib ffi:: && tests/c/run.sh
}

c_symbols_only_in_the_c_library() {
  # The Python and Node modules are built without the ffi feature: no daji_* exports.
  local python_module node_module
  python_module=$(find .venv/lib -name '_dajisaas*.so' | head -n 1)
  node_module=$(ls bindings-node/dajisaas.*.node)
  nm -D --defined-only target/c-install/lib/libdajisaas.so | grep -q ' T daji_pay_url$' &&
    ! nm -D --defined-only "$python_module" | grep ' daji_' &&
    ! nm -D --defined-only "$node_module" | grep ' daji_'
}

suite "rust lint (fmt, clippy, rustdoc)" rust_lint
suite "signing vectors up to date" vectors_current
suite "rust tests (core, sandbox, daji cli)" cargo test --workspace --locked
suite "python: venv, pip install, wheel" python_setup
suite "python: pytest against the sandbox" python_tests
suite "python: mypy --strict on the typed example" python_types
suite "node: npm ci, build, generated files current" node_setup
suite "node: node --test against the sandbox" node_tests
suite "node: tsc --strict on the typed example" node_types
suite "node: npm pack installs into an empty project" ./scripts/node-pack-check.sh
suite "c: include/dajisaas.h is what cbindgen generates" c_header_current
suite "c: shared and static library, C test, valgrind, pkg-config example" c_tests
suite "c: only libdajisaas exports C symbols" c_symbols_only_in_the_c_library
suite "c#: P/Invoke consumer under mono" tests/csharp/run.sh

echo
echo "===== summary ====="
printf '%s\n' "${results[@]}"
passed=$(( ${#results[@]} - failed ))
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
