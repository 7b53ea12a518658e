#!/usr/bin/env bash
# Builds into dist/ everything a release publishes for this platform, x86_64 (or aarch64) Linux, glibc:
#   dajisaas-V-cp310-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl   Python wheel (abi3)
#   dajisaas-V.tar.gz                           Python sdist
#   dajisaas-V.tgz                              npm main package (optionalDependencies: the platforms)
#   dajisaas-linux-x64-gnu-V.tgz                npm platform package (the .node addon)
#   dajisaas-V-x86_64-linux-gnu.tar.gz          C: libdajisaas.so.V (SONAME libdajisaas.so.0) and its
#                                               links, .a (only daji_* global), dajisaas.h, dajisaas.pc
#   Dajisaas.V.nupkg                            C#: NuGet package (netstandard2.0, runtimes/linux-x64)
#   daji-V-x86_64-linux-gnu.tar.gz              the daji command (client and sandbox gateway)
#   SHA256SUMS
# Every binary is compiled and linked by zig (PyPI's ziglang, through maturin's zig wrapper)
# against glibc 2.17, so each runs on any x86_64 Linux with glibc 2.17 or newer (manylinux2014).
# The tools come from PyPI (scripts/release-requirements.txt) into a venv of their own and from
# bindings-node's lock file. scripts/check-artifacts.sh checks what this builds.
#
# Usage: scripts/release.sh [--profile release|dev] [--out DIR]
#   --profile  cargo profile (default release; the tests use dev, which builds faster)
#   --out      where the artifacts go (default dist/; emptied first)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
out=dist
while [ $# -gt 0 ]; do
  case $1 in
    --profile) profile=${2:?--profile needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    *) echo "usage: scripts/release.sh [--profile release|dev] [--out DIR]" >&2; exit 2 ;;
  esac
done
case $profile in release | dev) ;; *) echo "--profile: release or dev" >&2; exit 2 ;; esac
[ "$(uname -s)" = Linux ] || { echo "builds Linux artifacts only (the release workflow builds the others)" >&2; exit 1; }

mkdir -p "$out"
out=$(realpath "$out")
case $out in / | "$PWD" | "$HOME") echo "--out $out would be emptied: choose a directory of its own" >&2; exit 2 ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# set -e stops at a failing command; this says which, whatever the command printed or hid.
trap 'echo "release.sh: line $LINENO failed (exit $?): $BASH_COMMAND" >&2' ERR
step() { echo "--- $* ($SECONDS s)"; }

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
# One version everywhere a package states it.
for stated in \
  "bindings-python/pyproject.toml:$(sed -n 's/^version = "\(.*\)"$/\1/p' bindings-python/pyproject.toml)" \
  "bindings-node/package.json:$(node -p 'require("./bindings-node/package.json").version')" \
  "include/dajisaas.h:$(sed -n 's/^#define DAJI_VERSION "\(.*\)"$/\1/p' include/dajisaas.h)"; do
  [ "${stated#*:}" = "$version" ] || { echo "${stated%%:*} says ${stated#*:}, Cargo.toml says $version" >&2; exit 1; }
done
. scripts/release-env.sh
out_dir=$CARGO_TARGET_DIR/$triple/$([ "$profile" = dev ] && echo debug || echo release)
step "dajisaas $version, $profile profile, glibc $glibc, into $out"
rm -rf "${out:?}"/*

# --- Python: the abi3 wheel, checked against the manylinux2014 (glibc 2.17) policy, and the sdist
step "python wheel and sdist"
maturin build -m bindings-python/Cargo.toml --profile "$profile" --target "$triple" --locked \
  --compatibility manylinux2014 --auditwheel check --out "$out"
maturin sdist -m bindings-python/Cargo.toml --out "$out"

# --- Node: the addon (napi build), then the platform package and the main package
step "node addon and packages"
# Only the addon: the packages ship the committed index.js and index.d.ts (the node suites check
# that a build leaves them unchanged). napi build looks for a --profile dev build under dev/, where
# cargo writes debug/: so no flag for dev.
(cd bindings-node && "$napi" build --platform --target "$triple" $([ "$profile" = release ] && echo --release) \
  --no-const-enum --output-dir "$work/addons" --no-js)
scripts/pack-npm.sh "$work/addons" "$out"

# --- C: the library with the ffi feature, header and a pkg-config file that works wherever the
# archive is unpacked (paths relative to the .pc file)
step "C library archive"
# rustc prints the static library's native dependencies (for Libs.private) on stderr, with the
# build's own messages: kept in a file, shown whole if the build fails.
if ! cargo rustc -q -p dajisaas --lib --features ffi --locked --profile "$profile" --target "$triple" \
  --crate-type cdylib,staticlib -- -C link-arg=-Wl,-soname,libdajisaas.so.0 --print native-static-libs \
  > "$work/c-build.log" 2>&1; then
  cat "$work/c-build.log" >&2
  exit 1
fi
native=$(sed -n 's/.*native-static-libs: //p' "$work/c-build.log" | tail -n 1)
c_name=dajisaas-$version-$arch-linux-gnu
c_root=$work/$c_name
mkdir -p "$c_root/lib/pkgconfig" "$c_root/include"
cp "$out_dir/libdajisaas.so" "$c_root/lib/libdajisaas.so.$version"
ln -s "libdajisaas.so.$version" "$c_root/lib/libdajisaas.so.0"
ln -s libdajisaas.so.0 "$c_root/lib/libdajisaas.so"
scripts/c-static-lib.sh "$out_dir/libdajisaas.a" "$c_root/lib/libdajisaas.a"
cp include/dajisaas.h "$c_root/include/"
cp LICENSE-MIT LICENSE-APACHE "$c_root/"
cat > "$c_root/lib/pkgconfig/dajisaas.pc" <<PC
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
cat > "$c_root/README.md" <<README
# dajisaas $version for C ($arch Linux, glibc $glibc or newer)

The C library of dajisaas: signing, payment links and password-free payments through the
Dajisaas gateway in front of 1688.com, with retries that never pay an order twice.

- \`lib/libdajisaas.so.$version\` (SONAME \`libdajisaas.so.0\`, with the links \`libdajisaas.so.0\` and
  \`libdajisaas.so\`), \`lib/libdajisaas.a\`: the shared and the static library; the static one
  exports only the \`daji_*\` functions (its SQLite and other dependencies are local to it), so it
  links beside the program's own SQLite
- \`include/dajisaas.h\`: the API; every function documents ownership, threads and errors
- \`lib/pkgconfig/dajisaas.pc\`: pkg-config file; it finds the library relative to itself

Unpack anywhere (for example into /opt/dajisaas) and build with pkg-config:

\`\`\`sh
tar -xzf $c_name.tar.gz -C /opt --strip-components=1   # or keep the $c_name/ directory
export PKG_CONFIG_PATH=/opt/lib/pkgconfig
cc pay.c \$(pkg-config --cflags --libs dajisaas) -Wl,-rpath,/opt/lib
# static: cc pay.c \$(pkg-config --cflags dajisaas) /opt/lib/libdajisaas.a \$(pkg-config --static --libs-only-l dajisaas | sed 's/-ldajisaas//')
\`\`\`

The library needs glibc $glibc or newer and nothing else (TLS is rustls, SQLite is compiled in).
Licensed under MIT or Apache-2.0, at your option (LICENSE-MIT, LICENSE-APACHE).
README
tar -C "$work" --owner=0 --group=0 --numeric-owner -czf "$out/$c_name.tar.gz" "$c_name"

# --- C#: the NuGet package, over the C library just built (its file the SONAME names)
step "C# NuGet package"
case $arch in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; esac
bindings-csharp/build.sh "$out" "$rid=$c_root/lib/libdajisaas.so.$version"

# --- the daji command
step "daji archive"
cargo build -q -p daji --locked --profile "$profile" --target "$triple"
d_name=daji-$version-$arch-linux-gnu
d_root=$work/$d_name
mkdir -p "$d_root"
cp "$out_dir/daji" LICENSE-MIT LICENSE-APACHE "$d_root/"
# Completions and man pages, generated by the binary itself from its own definitions.
mkdir -p "$d_root/completions" "$d_root/man"
"$out_dir/daji" completions bash > "$d_root/completions/daji.bash"
"$out_dir/daji" completions zsh > "$d_root/completions/_daji"
"$out_dir/daji" completions fish > "$d_root/completions/daji.fish"
"$out_dir/daji" completions powershell > "$d_root/completions/_daji.ps1"
"$out_dir/daji" man --out-dir "$d_root/man"
{
  echo "# daji $version ($arch Linux, glibc $glibc or newer)"
  echo
  cat cli/ARCHIVE-README.md
  echo
  echo "Licensed under MIT or Apache-2.0, at your option (LICENSE-MIT, LICENSE-APACHE)."
} > "$d_root/README.md"
tar -C "$work" --owner=0 --group=0 --numeric-owner -czf "$out/$d_name.tar.gz" "$d_name"

step "checksums"
(cd "$out" && sha256sum -- * > "$work/SHA256SUMS" && mv "$work/SHA256SUMS" . && cat SHA256SUMS)
ls -l "$out"
step "done"
