#!/usr/bin/env bash
# The release build on the platforms scripts/release.sh does not cover (it builds glibc Linux with
# zig): macOS, Windows and musl Linux, with their own toolchain, on a machine of that platform. Used
# by .github/workflows/release.yml; scripts/test-platform.sh then tests what it built.
# Into OUT: the wheel (maturin), the Node addon dajisaas.<platform>.node (napi build), the C archive
# dajisaas-V-<target>.(tar.gz|zip) and the daji archive daji-V-<target>.(tar.gz|zip).
# Usage: scripts/build-platform.sh TARGET NPM_PLATFORM OUT
#   e.g. scripts/build-platform.sh aarch64-apple-darwin darwin-arm64 dist
set -euo pipefail
target=${1:?usage: scripts/build-platform.sh TARGET NPM_PLATFORM OUT}
platform=${2:?usage: scripts/build-platform.sh TARGET NPM_PLATFORM OUT}
cd "$(dirname "$0")/.."
mkdir -p "${3:?usage: scripts/build-platform.sh TARGET NPM_PLATFORM OUT}"
out=$(cd "$3" && pwd)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
built=$target_dir/$target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case $target in
  *-windows-*) exe=.exe; archive=zip ;;
  *) exe=; archive=tar.gz ;;
esac
pack() { # DIR NAME: DIR/NAME as OUT/NAME.$archive
  if [ "$archive" = zip ]; then
    (cd "$1" && 7z a -tzip -bso0 "$out/$2.zip" "$2")
  else
    tar -C "$1" -czf "$out/$2.tar.gz" "$2"
  fi
}

echo "--- python wheel"
python -m pip install -q --disable-pip-version-check "$(grep '^maturin==' scripts/release-requirements.txt)"
compatibility=()
case $target in *-linux-musl) compatibility=(--compatibility musllinux_1_2) ;; esac
python -m maturin build -m bindings-python/Cargo.toml --release --locked --target "$target" \
  ${compatibility[@]+"${compatibility[@]}"} --out "$out"

echo "--- node addon"
(cd bindings-node && npm ci --no-audit --no-fund --loglevel=error &&
  npx napi build --platform --release --target "$target" --no-const-enum --output-dir "$out" --no-js)
[ -f "$out/dajisaas.$platform.node" ] || { echo "napi build made no dajisaas.$platform.node" >&2; exit 1; }

echo "--- C library archive"
cargo rustc -q -p dajisaas --lib --features ffi --release --locked --target "$target" \
  --crate-type cdylib,staticlib
c_name=dajisaas-$version-$target
mkdir -p "$work/$c_name/lib" "$work/$c_name/include"
case $target in
  *-windows-*) cp "$built/dajisaas.dll" "$built/dajisaas.dll.lib" "$built/dajisaas.lib" "$work/$c_name/lib/" ;;
  *-apple-*) cp "$built/libdajisaas.dylib" "$built/libdajisaas.a" "$work/$c_name/lib/" ;;
  *) cp "$built/libdajisaas.so" "$built/libdajisaas.a" "$work/$c_name/lib/" ;;
esac
cp include/dajisaas.h "$work/$c_name/include/"
cp LICENSE-MIT LICENSE-APACHE "$work/$c_name/"
if [ -z "$exe" ]; then
  native=$(cargo rustc -q -p dajisaas --lib --features ffi --release --locked --target "$target" \
    --crate-type cdylib,staticlib -- --print native-static-libs 2>&1 |
    sed -n 's/.*native-static-libs: //p' | tail -n 1)
  mkdir -p "$work/$c_name/lib/pkgconfig"
  cat > "$work/$c_name/lib/pkgconfig/dajisaas.pc" <<PC
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: dajisaas
Description: Pay 1688 purchase orders through the Dajisaas gateway
Version: $version
Libs: -L\${libdir} -ldajisaas
Libs.private: $native
Cflags: -I\${includedir}
PC
fi
cat > "$work/$c_name/README.md" <<README
# dajisaas $version for C ($target)

The C library of dajisaas: \`lib/\` holds the shared and the static library, \`include/dajisaas.h\`
the API (every function documents ownership, threads and errors)$([ -z "$exe" ] && echo ', and
`lib/pkgconfig/dajisaas.pc` a pkg-config file that finds them relative to itself').
$([ -n "$exe" ] && echo 'Link `lib/dajisaas.dll.lib` (import library of `dajisaas.dll`) or the static `lib/dajisaas.lib`.')
Licensed under MIT or Apache-2.0, at your option (LICENSE-MIT, LICENSE-APACHE).
README
pack "$work" "$c_name"

echo "--- daji archive"
cargo build -q -p daji --release --locked --target "$target"
d_name=daji-$version-$target
mkdir -p "$work/$d_name"
cp "$built/daji$exe" LICENSE-MIT LICENSE-APACHE "$work/$d_name/"
printf '# daji %s (%s)\n\nThe dajisaas command line and sandbox gateway: `daji --help`.\nLicensed under MIT or Apache-2.0, at your option.\n' \
  "$version" "$target" > "$work/$d_name/README.md"
pack "$work" "$d_name"
ls -l "$out"
