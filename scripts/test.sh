#!/usr/bin/env bash
# Sets up and runs every test suite, then prints one line per suite and a total.
# Usage: scripts/test.sh            (from anywhere; installs what it needs)
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# Property tests: 2,000 cases each here; RELIABILITY.md says how to run 100,000.
export PROPTEST_CASES="${PROPTEST_CASES:-2000}"

results=()
failed=0
# Everything the suites print, for the secret scan at the end.
output_log=$CARGO_TARGET_DIR/test-output.log
mkdir -p "$CARGO_TARGET_DIR"
: > "$output_log"

# Each failed suite's last lines are printed again after the summary, just before the total: a CI
# log shown only in part (its start and its last thirty lines or so) still says why a suite failed.
failed_tails=$CARGO_TARGET_DIR/test-failed-tails.log
: > "$failed_tails"

suite() {
  local name=$1; shift
  echo
  echo "===== suite: $name ====="
  local start=$SECONDS suite_log=$CARGO_TARGET_DIR/test-suite.log
  if "$@" 2>&1 | tee "$suite_log" | tee -a "$output_log"; then
    results+=("PASS  $name ($((SECONDS - start)) s)")
  else
    results+=("FAIL  $name ($((SECONDS - start)) s)")
    failed=$((failed + 1))
    { echo "===== failed: $name: its last 20 lines ====="; tail -n 20 "$suite_log"; } >> "$failed_tails"
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

outcomes_table_current() {
  # The README's sandbox behaviour table must be exactly what outcomes_table.py makes of
  # tests/vectors/outcomes.json (the table the tests run).
  python3 tests/vectors/outcomes_table.py --check README.md
}

python_setup() {
  # A fresh virtual environment with the pinned tools, then the package through pip (maturin as
  # the PEP 517 backend). The dev profile reuses what `cargo test` already compiled.
  [ -x .venv/bin/python ] || python3 -m venv .venv || return 1
  .venv/bin/pip install -q --disable-pip-version-check -r bindings-python/requirements-dev.txt &&
    cargo build -q -p daji --locked &&
    MATURIN_PEP517_ARGS="--profile dev --features test-hooks" .venv/bin/pip install -q --disable-pip-version-check \
      --force-reinstall --no-deps ./bindings-python &&
    rm -rf target/wheels &&
    MATURIN_PEP517_ARGS="--profile dev" .venv/bin/pip wheel -q --disable-pip-version-check \
      --no-deps -w target/wheels ./bindings-python &&
    ls target/wheels/dajisaas-*-cp310-abi3-*.whl
}

python_tests() {
  (cd bindings-python && ../.venv/bin/python -m pytest -q -p no:cacheprovider tests)
}

python_exit_stress() {
  # Scripts that exit while calls, loops, daemon threads, logging or a SIGINT are in flight, 50
  # fresh interpreters each (in parallel): every one must exit 0, none with a fatal error.
  .venv/bin/python bindings-python/tests/exit_stress.py --runs 50
}

python_types() {
  # Both checkers users run: mypy --strict, and pyright (its PyPI wrapper runs the npm package).
  .venv/bin/mypy --strict --no-incremental bindings-python/tests/typed_example.py &&
    .venv/bin/pyright --pythonpath .venv/bin/python bindings-python/tests/typed_example.py
}

node_setup() {
  # npm ci from the lock file, then the addon (debug profile, shared target directory, with the
  # test hooks; release builds have none). The
  # generated index.js and index.d.ts are committed: a build that changes them means they are stale.
  (cd bindings-node && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build -- --features test-hooks) &&
    git diff --exit-code -- bindings-node/index.js bindings-node/index.d.ts
}

node_tests() {
  (cd bindings-node && node --test test/)
}

node_types() {
  (cd bindings-node && npx tsc --noEmit --strict --target es2020 --module commonjs --types node test/typed-example.ts)
}

fleet_chaos() {
  # Issue 13's headline: 8 worker processes (Python, the daji command, Node) share one journal,
  # PostgreSQL then SQLite, and pay 360 overlapping orders through a chaos sandbox while 36 of
  # them per run are SIGKILLed at random and restarted; then no order paid twice, none lost.
  # PostgreSQL: DAJISAAS_TEST_POSTGRES_URL when set, else scripts/postgres.sh start --until-exit.
  .venv/bin/python tests/fleet/chaos.py
}

fleet_pace() {
  # Issue 24: 4 processes (2 Python, 2 Node) pay 40 orders each with pay_many through daji sandbox
  # --qps 10: sharing a SQLite, then a PostgreSQL journal, they share the pace (all paid, wall
  # <= 1.15 x 16 s, <= 5 refusals; adaptive only <= 1.5 x); on memory journals, reported; and the
  # PostgreSQL server crashed and restarted mid-run. Same setup as fleet_chaos.
  .venv/bin/python tests/fleet/pace.py
}

journal_faults() {
  # Issue 20: daji pay processes against SQLite and a PostgreSQL with its durable defaults behind a
  # TCP proxy of the test's own: a worker paused past its lease, the database frozen 40 s,
  # connections cut and the server restarted, a claim's commit reply lost, a clock 10 min ahead.
  command -v faketime >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q faketime >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q faketime >/dev/null; }
  }
  cargo build -q -p daji --locked && python3 tests/faults/journal_faults.py
}

c_header_current() {
  cargo run -q -p dajisaas-header --locked -- --check
}

c_header_c89_cxx98() {
  # The header as C89 and C++98 compilers take it, pedantic, every warning an error.
  gcc -std=c89 -pedantic -Wall -Wextra -Werror -Iinclude -c tests/c/header_check.c -o /dev/null &&
    g++ -x c++ -std=c++98 -pedantic -Wall -Wextra -Werror -Iinclude -c tests/c/header_check.c -o /dev/null &&
    echo "include/dajisaas.h: gcc -std=c89 -pedantic and g++ -std=c++98 -pedantic, no warning"
}

c_tests() {
  cargo test -q -p dajisaas --features ffi --locked --lib ffi:: && tests/c/run.sh
}

c_symbols_only_in_the_c_library() {
  # The Python and Node modules are built without the ffi feature: no daji_* exports.
  local python_module node_module
  python_module=$(find .venv/lib -name '_dajisaas*.so' | head -n 1)
  node_module=$(ls bindings-node/dajisaas.*.node)
  nm -D --defined-only target/c-install/lib/libdajisaas.so | grep -q ' T daji_client_pay_url$' &&
    ! nm -D --defined-only "$python_module" | grep ' daji_' &&
    ! nm -D --defined-only "$node_module" | grep ' daji_'
}

release_artifacts() {
  # What a release publishes for this platform (scripts/release.sh, dev profile for speed: same
  # zig toolchain, glibc 2.17 floor and packaging as the release profile), checked as users get it:
  # wheel and npm packages installed without cargo and their tests run, sdist, C archive,
  # cargo publish --dry-run. Then actionlint (with shellcheck) on the release workflow.
  local dist=$CARGO_TARGET_DIR/dist-dev tools=$CARGO_TARGET_DIR/release-tools/bin
  scripts/release.sh --profile dev --out "$dist" &&
    scripts/check-artifacts.sh --profile dev "$dist" &&
    "$tools/actionlint" -no-color -shellcheck "$tools/shellcheck" .github/workflows/*.yml &&
    echo "actionlint: .github/workflows/*.yml clean"
}

suite "rust lint (fmt, clippy, rustdoc)" rust_lint
suite "signing vectors up to date" vectors_current
suite "sandbox behaviour table: README matches outcomes.json" outcomes_table_current
suite "rust tests (core, sandbox, daji cli)" cargo test --workspace --locked
suite "python: venv, pip install, wheel" python_setup
suite "python: pytest against the sandbox" python_tests
suite "python: mypy --strict and pyright on the typed example" python_types
suite "python: exit stress (fresh interpreters exiting mid-call, 50 runs per scenario)" python_exit_stress
suite "node: npm ci, build, generated files current" node_setup
suite "node: node --test against the sandbox" node_tests
suite "node: tsc --strict on the typed example" node_types
suite "node: npm pack installs into an empty project" ./scripts/node-pack-check.sh
suite "journal: fleet chaos (8 workers in Python, daji and Node SIGKILLed and restarted; PostgreSQL, then SQLite)" fleet_chaos
suite "journal: fleet pace (4 processes in Python and Node share the gateway's limit through SQLite, PostgreSQL; store restarted)" fleet_pace
suite "journal: faults (pause past the lease, frozen and restarted PostgreSQL, lost commit reply, clock ahead)" journal_faults
suite "c: include/dajisaas.h is what cbindgen generates" c_header_current
suite "c: the header compiles as C89 and C++98 (-pedantic -Wall -Wextra -Werror)" c_header_c89_cxx98
suite "c: shared and static library, C test, valgrind, signals, C++ callbacks, system SQLite, pkg-config example" c_tests
suite "c: only libdajisaas exports C symbols" c_symbols_only_in_the_c_library
suite "c#: the Dajisaas NuGet package built, installed from its .nupkg and tested under mono" tests/csharp/run.sh
suite "release: release.sh --profile dev, then every artifact installed and tested; actionlint" release_artifacts
suite "benchmarks: smoke run (tiny counts, debug builds, no figures kept)" bench/run.sh --smoke
suite "docs: the API reference of each language builds without a warning" ./scripts/docs.sh

secrets_never_printed() {
  # The secrets the suites sign with (debug-mode tests use other, throwaway ones). None may
  # appear in anything the run printed: logs, errors, reprs, valgrind and CLI output.
  local secret found=0
  for secret in sandbox-app-secret py-SECRET-d41c9a77 node-SECRET-5be1f0c3 cli-SECRET-9e0a71 fleet-SECRET-7c3e91d2 faults-SECRET-4b8d20e6; do
    local n
    n=$(grep -c -F -- "$secret" "$output_log" || true)
    # The label is masked so that this report does not print the secrets it looks for.
    echo "${secret:0:3}***: $n occurrence(s) in $(wc -l < "$output_log") lines of output"
    [ "$n" -eq 0 ] || found=1
  done
  return "$found"
}

suite "no test secret in anything the run printed" secrets_never_printed

echo
echo "===== summary ====="
printf '%s\n' "${results[@]}"
cat "$failed_tails"
passed=$(( ${#results[@]} - failed ))
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
