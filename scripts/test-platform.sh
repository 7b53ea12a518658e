#!/usr/bin/env bash
# Tests what scripts/build-platform.sh built, on that platform, as users install it (the release
# workflow runs it before anything is published):
#   - the wheel in a fresh venv, and bindings-python's tests against it
#   - the npm main package and this platform's package (scripts/pack-npm.sh) in an empty project,
#     and bindings-node's tests against that copy
#   - except on Windows: the C archive unpacked, tests/c/example.c built through pkg-config and
#     run against a sandbox
# All of them use the archive's daji as the sandbox gateway.
# Usage: scripts/test-platform.sh TARGET NPM_PLATFORM DIST
set -euo pipefail
target=${1:?usage: scripts/test-platform.sh TARGET NPM_PLATFORM DIST}
platform=${2:?usage: scripts/test-platform.sh TARGET NPM_PLATFORM DIST}
cd "$(dirname "$0")/.."
repo=$PWD
dist=$(cd "${3:?usage: scripts/test-platform.sh TARGET NPM_PLATFORM DIST}" && pwd)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case $target in
  *-windows-*) exe=.exe; bin=Scripts ;;
  *) exe=; bin=bin ;;
esac

echo "--- unpack daji"
if [ -n "$exe" ]; then
  (cd "$work" && 7z x -bso0 "$dist/daji-$version-$target.zip")
else
  tar -xzf "$dist/daji-$version-$target.tar.gz" -C "$work"
fi
daji=$work/daji-$version-$target/daji$exe
"$daji" --version
# Paths handed to Windows programs through the environment are written the Windows way.
native() { if [ -n "$exe" ]; then cygpath -w "$1"; else printf '%s\n' "$1"; fi; }

echo "--- python: the wheel in a fresh venv, the tests against it"
python -m venv "$work/venv"
"$work/venv/$bin/python" -m pip install -q --disable-pip-version-check "$dist"/dajisaas-"$version"-*.whl \
  "$(grep '^pytest==' bindings-python/requirements-dev.txt)"
# From outside the repository, so that only the installed package can be imported.
(cd "$work" && DAJI_BIN=$(native "$daji") "$work/venv/$bin/python" -m pytest -q -p no:cacheprovider \
  "$repo/bindings-python/tests")

echo "--- node: the packages in an empty project, the tests against it"
mkdir "$work/addons" "$work/npm" "$work/project"
cp "$dist/dajisaas.$platform.node" "$work/addons/"
scripts/pack-npm.sh "$work/addons" "$work/npm"
(cd "$work/project" && npm init -y >/dev/null &&
  npm install --no-audit --no-fund --loglevel=error "$work/npm/dajisaas-$version.tgz" \
    "$work/npm/dajisaas-$platform-$version.tgz" &&
  node --input-type=module -e "import { Client } from 'dajisaas'; if (typeof Client !== 'function') process.exit(1)")
(cd bindings-node && DAJISAAS_NODE_PACKAGE=$(native "$work/project/node_modules/dajisaas") DAJI_BIN=$(native "$daji") \
  node --test test/*.test.js)

if [ -z "$exe" ]; then
  echo "--- c: the archive, tests/c/example.c through pkg-config, against a sandbox"
  tar -xzf "$dist/dajisaas-$version-$target.tar.gz" -C "$work"
  prefix=$work/dajisaas-$version-$target
  export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
  # shellcheck disable=SC2046
  cc -std=c11 -Wall -Wextra -Werror -pthread tests/c/example.c $(pkg-config --cflags --libs dajisaas) \
    -Wl,-rpath,"$prefix/lib" -o "$work/example"
  DAJI_BIN=$daji scripts/with-sandbox.sh "$work/example"
fi
echo "--- $target: all tests passed"
