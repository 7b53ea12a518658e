#!/usr/bin/env bash
# Installs the C library: PREFIX/lib/libdajisaas.so.VERSION (SONAME libdajisaas.so.0) with the
# links libdajisaas.so.0 and libdajisaas.so, PREFIX/lib/libdajisaas.a (only daji_* global:
# scripts/c-static-lib.sh), PREFIX/include/dajisaas.h and PREFIX/lib/pkgconfig/dajisaas.pc, so
# that `cc x.c $(pkg-config --cflags --libs dajisaas)` works.
# Usage: scripts/install-c.sh PREFIX [PROFILE]   (PROFILE: release (default) or dev)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:?usage: scripts/install-c.sh PREFIX [release|dev]}
profile=${2:-release}
target=${CARGO_TARGET_DIR:-target}
out=$target/$([ "$profile" = dev ] && echo debug || echo "$profile")

# The static library needs these system libraries when linked into a program.
native=$(cargo rustc -q -p dajisaas --lib --features ffi --locked --profile "$profile" \
  --crate-type cdylib,staticlib -- -C link-arg=-Wl,-soname,libdajisaas.so.0 --print native-static-libs 2>&1 |
  sed -n 's/.*native-static-libs: //p' | tail -n 1)
version=$(sed -n 's/^#define DAJI_VERSION "\(.*\)"$/\1/p' include/dajisaas.h)

mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
cp "$out/libdajisaas.so" "$prefix/lib/libdajisaas.so.$version"
ln -sf "libdajisaas.so.$version" "$prefix/lib/libdajisaas.so.0"
ln -sf libdajisaas.so.0 "$prefix/lib/libdajisaas.so"
scripts/c-static-lib.sh "$out/libdajisaas.a" "$prefix/lib/libdajisaas.a"
cp include/dajisaas.h "$prefix/include/"
cat > "$prefix/lib/pkgconfig/dajisaas.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: dajisaas
Description: Pay 1688 purchase orders through the Dajisaas gateway
Version: $version
Libs: -L\${libdir} -ldajisaas
Libs.private: $native
Cflags: -I\${includedir}
PC
echo "installed dajisaas $version into $prefix"
