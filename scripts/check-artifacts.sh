#!/usr/bin/env bash
# Checks what scripts/release.sh built, as a user would get it:
#   - SHA256SUMS lists every artifact and matches; every binary needs glibc 2.17 at most
#   - wheel: auditwheel names a manylinux tag and no outside library, abi3audit,
#     check-wheel-contents and twine check pass (twine also on the sdist)
#   - the wheel installs into a fresh venv with no cargo or rustc on PATH, and bindings-python's
#     tests pass against that copy (with the archive's daji as the sandbox)
#   - the sdist builds a wheel in a clean venv (this one with cargo), which passes the same tests
#   - the two npm tarballs install into an empty project with no cargo on PATH, and bindings-node's
#     tests pass against that copy; publint and attw find no error in the main package
#   - the C archive unpacked into an empty prefix builds tests/c/example.c through pkg-config, shared
#     and static, and it runs against a sandbox; the shared library's SONAME is libdajisaas.so.0
#     with its links, and the static library exports only daji_*
#   - the NuGet package installed from its .nupkg passes tests/csharp under mono
#   - cargo publish --dry-run -p dajisaas
# and prints the sizes. Usage: scripts/check-artifacts.sh [--profile release|dev] [DIST]
#   --profile: the profile release.sh built with (the sdist's wheel is built with it); default release
#   DIST: default dist/
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
profile=release
if [ "${1:-}" = --profile ]; then profile=${2:?--profile needs a value}; shift 2; fi
dist=$(realpath "${1:-dist}")
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
. scripts/release-env.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# set -e stops at a failing command; this says which, whatever the command printed or hid.
trap 'echo "check-artifacts.sh: line $LINENO failed (exit $?): $BASH_COMMAND" >&2' ERR
step() { echo "--- $* ($SECONDS s)"; }

wheel=$(ls "$dist"/dajisaas-"$version"-cp310-abi3-*.whl)
sdist=$dist/dajisaas-$version.tar.gz
npm_main=$dist/dajisaas-$version.tgz
npm_platform_tgz=$dist/dajisaas-$npm_platform-$version.tgz
c_archive=$dist/dajisaas-$version-$arch-linux-gnu.tar.gz
daji_archive=$dist/daji-$version-$arch-linux-gnu.tar.gz
nupkg=$dist/Dajisaas.$version.nupkg

# A PATH without Rust (nor these tools): what a user installing the packages has.
user_path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v -e '/\.cargo/bin$' -e '/\.rustup/' -e "^$tools/bin\$" | paste -sd: -)
without_rust() { env -u CARGO_HOME -u RUSTUP_HOME -u RUSTUP_TOOLCHAIN PATH="$user_path" "$@"; }
if without_rust sh -c 'command -v cargo || command -v rustc'; then
  echo "cargo or rustc is still on the PATH meant to have neither" >&2
  exit 1
fi

step "license texts: each package's copy is the repository's"
for dir in core bindings-python bindings-node; do
  cmp LICENSE-MIT "$dir/LICENSE-MIT" && cmp LICENSE-APACHE "$dir/LICENSE-APACHE"
done

step "checksums"
(cd "$dist" && sha256sum --quiet -c SHA256SUMS)
for file in "$wheel" "$sdist" "$npm_main" "$npm_platform_tgz" "$c_archive" "$daji_archive" "$nupkg"; do
  grep -q " $(basename "$file")\$" "$dist/SHA256SUMS" || { echo "SHA256SUMS misses $file" >&2; exit 1; }
done

step "unpack"
mkdir -p "$work/wheel" "$work/npm-main" "$work/npm-platform" "$work/c" "$work/daji"
python3 -m zipfile -e "$wheel" "$work/wheel"
tar -xzf "$npm_main" -C "$work/npm-main"
tar -xzf "$npm_platform_tgz" -C "$work/npm-platform"
tar -xzf "$c_archive" -C "$work/c" --strip-components=1
tar -xzf "$daji_archive" -C "$work/daji" --strip-components=1
daji=$work/daji/daji

step "daji archive: README, completions and man pages"
for file in README.md completions/daji.bash completions/_daji completions/daji.fish completions/_daji.ps1 \
  man/daji.1 man/daji-pay.1 man/daji-journal.1; do
  [ -s "$work/daji/$file" ] || { echo "the daji archive misses $file" >&2; exit 1; }
done
bash -n "$work/daji/completions/daji.bash"
grep -q '^\.TH daji 1' "$work/daji/man/daji.1"
for word in "daji journal" "Exit status" payments.db "NOT STARTED"; do
  grep -q "$word" "$work/daji/README.md" || { echo "the daji archive's README does not mention $word" >&2; exit 1; }
done
module=$work/wheel/dajisaas/_dajisaas.abi3.so
addon=$work/npm-platform/package/dajisaas.$npm_platform.node

step "glibc floor: no binary needs a glibc newer than $glibc"
for binary in "$module" "$addon" "$work/c/lib/libdajisaas.so" "$daji"; do
  newest=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
  echo "$(basename "$binary"): GLIBC_$newest"
  [ "$(printf '%s\n%s\n' "$newest" "$glibc" | sort -V | tail -n 1)" = "$glibc" ] ||
    { echo "$binary needs glibc $newest, more than $glibc" >&2; exit 1; }
done

step "wheel: auditwheel, abi3audit, check-wheel-contents, twine"
auditwheel show "$wheel" | tee "$work/auditwheel.txt"
tr -s ' \n' ' ' < "$work/auditwheel.txt" | grep -q "is consistent with the following platform tag: \"manylinux_2_17_$arch\"" ||
  { echo "auditwheel does not place the wheel at manylinux_2_17 (manylinux2014)" >&2; exit 1; }
if grep -q 'external shared libraries are required' "$work/auditwheel.txt"; then
  echo "the wheel needs libraries outside the manylinux policy" >&2
  exit 1
fi
abi3audit --strict --report "$wheel"
check-wheel-contents "$wheel"
twine check --strict "$wheel" "$sdist"

pytest_pin=$(grep '^pytest==' bindings-python/requirements-dev.txt)
python_tests() { # VENV: bindings-python's tests against the dajisaas installed in VENV
  local venv=$1
  without_rust "$venv/bin/python" -c "
import sys, dajisaas, dajisaas._dajisaas as m
assert m.__file__.startswith(sys.prefix), m.__file__
print('testing', m.__file__)"
  # From outside the repository, so that only the installed package can be imported; a release
  # build has no test hooks (the tests that need them are skipped, one checks they are absent).
  (cd "$work" && DAJI_BIN=$daji DAJISAAS_TEST_HOOKS=absent without_rust "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    "$repo/bindings-python/tests")
}

step "python: the wheel in a fresh venv without cargo, then the tests against it"
without_rust python3 -m venv "$work/venv-wheel"
without_rust "$work/venv-wheel/bin/pip" install -q --disable-pip-version-check "$wheel" "$pytest_pin"
python_tests "$work/venv-wheel"

step "python: the sdist builds a wheel in a clean venv (with cargo), which passes the tests"
python3 -m venv "$work/venv-sdist"
# The profile release.sh built with, for the same target and zig (the environment above), so the
# build reuses the compiled dependencies.
MATURIN_PEP517_ARGS="--profile $profile --target $triple" \
  "$work/venv-sdist/bin/pip" wheel -q --disable-pip-version-check --no-deps -w "$work/sdist-wheel" "$sdist"
"$work/venv-sdist/bin/pip" install -q --disable-pip-version-check "$work"/sdist-wheel/dajisaas-*.whl "$pytest_pin"
python_tests "$work/venv-sdist"

step "node: the two tarballs in an empty project without cargo, then the tests against it"
mkdir "$work/project"
(cd "$work/project" && without_rust npm init -y >/dev/null &&
  without_rust npm install --no-audit --no-fund --loglevel=error "$npm_main" "$npm_platform_tgz")
installed=$work/project/node_modules/dajisaas
(cd "$work/project" && without_rust node -e "
const d = require('dajisaas')
const addon = Object.keys(require.cache).find((f) => f.endsWith('.node'))
if (!addon || !addon.includes('/node_modules/dajisaas-$npm_platform/')) throw new Error('addon from ' + addon)
console.log('require: the addon from', addon)
" && without_rust node --input-type=module -e "
import { Client, DajisaasError, sign } from 'dajisaas'
if (typeof Client !== 'function' || typeof DajisaasError !== 'function' || sign({ a: '1' }, 's').length !== 32) process.exit(1)
console.log('import: Client, DajisaasError, sign')
")
# Every test file but esm.test.mjs, which imports this directory's index.mjs (the import above
# covers the installed one).
(cd bindings-node && DAJISAAS_NODE_PACKAGE=$installed DAJI_BIN=$daji DAJISAAS_TEST_HOOKS=absent \
  without_rust node --test test/*.test.js)

step "node: publint and attw on the main package"
bindings-node/node_modules/.bin/publint run "$work/npm-main/package" --pack false
bindings-node/node_modules/.bin/attw "$npm_main"

step "c: the archive in an empty prefix, tests/c/example.c through pkg-config"
# Not exported: the C dependencies' build scripts rerun when PKG_CONFIG_PATH changes.
pc() { PKG_CONFIG_PATH=$work/c/lib/pkgconfig pkg-config "$@"; }
[ "$(pc --modversion dajisaas)" = "$version" ]
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -pthread tests/c/example.c $(pc --cflags --libs dajisaas) \
  -Wl,-rpath,"$work/c/lib" -o "$work/example-shared"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -pthread tests/c/example.c $(pc --cflags dajisaas) \
  "$work/c/lib/libdajisaas.a" $(pc --static --libs-only-l dajisaas | sed 's/-ldajisaas//') \
  -o "$work/example-static"
ldd "$work/example-shared" | grep -q "$work/c/lib/libdajisaas.so"
DAJI_BIN=$daji scripts/with-sandbox.sh "$work/example-shared"
DAJI_BIN=$daji scripts/with-sandbox.sh "$work/example-static"
readelf -d "$work/c/lib/libdajisaas.so.$version" | grep -q 'SONAME.*\[libdajisaas\.so\.0\]'
[ "$(readlink "$work/c/lib/libdajisaas.so.0")" = "libdajisaas.so.$version" ] &&
  [ "$(readlink "$work/c/lib/libdajisaas.so")" = libdajisaas.so.0 ]
readelf -d "$work/example-shared" | grep -q 'NEEDED.*\[libdajisaas\.so\.0\]'
others=$(nm -g --defined-only "$work/c/lib/libdajisaas.a" | awk 'NF == 3 && $3 !~ /^daji_/ {print $3}')
[ -z "$others" ] || { echo "libdajisaas.a exports more than daji_*: $others" >&2; exit 1; }
echo "SONAME libdajisaas.so.0 with its links; libdajisaas.a exports only daji_*"

step "c#: the NuGet package installed from its .nupkg, its tests under mono"
DAJI_BIN=$daji tests/csharp/run.sh "$nupkg"

step "cargo publish --dry-run -p dajisaas"
# For the same target and zig as above, so the check reuses the C library's dependencies.
cargo publish --dry-run -p dajisaas --locked --allow-dirty --target "$triple" 2>&1 | grep -v '^warning: ignoring test'

step "sizes"
for file in "$wheel" "$sdist" "$npm_main" "$npm_platform_tgz" "$c_archive" "$daji_archive" "$nupkg" "$module" "$addon" \
  "$work/c/lib/libdajisaas.so" "$work/c/lib/libdajisaas.a" "$daji"; do
  printf '%8s  %s\n' "$(du -h --apparent-size "$file" | cut -f1)" "${file#"$work"/}"
done
step "all checks passed"
