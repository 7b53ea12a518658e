#!/usr/bin/env bash
# The Dajisaas NuGet package under mono: builds it (bindings-csharp/build.sh, with the dev C
# library) unless a .nupkg is given, installs it from the .nupkg as NuGet does for a
# packages.config project (unzipped into packages/Dajisaas.VERSION/), compiles tests/csharp/Tests.cs
# and the README example against the installed lib/netstandard2.0/Dajisaas.dll, and runs both with
# mono against fresh sandboxes, the native library taken from the package's
# runtimes/linux-x64/native/. Installs mono-mcs and mono-runtime from Debian's packages if missing.
# Usage: tests/csharp/run.sh [Dajisaas.VERSION.nupkg]   (no network needed once mono is there)
set -euo pipefail
cd "$(dirname "$0")/../.."
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
if ! command -v mcs >/dev/null || ! command -v mono >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mono-mcs mono-runtime >/dev/null
fi
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
work=$target/csharp
rm -rf "$work"
mkdir -p "$work"
package=${1:-}
if [ -z "$package" ]; then
  [ -f "$target/c-install/lib/libdajisaas.so" ] || scripts/install-c.sh "$target/c-install" dev
  bindings-csharp/build.sh "$work" linux-x64="$(realpath "$target/c-install/lib/libdajisaas.so")"
  package=$work/Dajisaas.$version.nupkg
fi
installed=$work/packages/Dajisaas.$version
mkdir -p "$installed"
python3 -m zipfile -e "$package" "$installed"
for part in Dajisaas.nuspec lib/netstandard2.0/Dajisaas.dll lib/netstandard2.0/Dajisaas.xml \
  runtimes/linux-x64/native/libdajisaas.so README.md; do
  [ -f "$installed/$part" ] || { echo "$package has no $part" >&2; exit 1; }
done
grep -q "<version>$version</version>" "$installed/Dajisaas.nuspec"
echo "installed $(basename "$package") into ${installed#"$target"/}"
dll=$installed/lib/netstandard2.0/Dajisaas.dll
cp "$dll" "$work/"
mcs -nologo -warnaserror -r:"$dll" -r:System.Core.dll -out:"$work/tests.exe" tests/csharp/Tests.cs
mcs -nologo -warnaserror -r:"$dll" -out:"$work/example.exe" tests/csharp/Example.cs
native=$installed/runtimes/linux-x64/native
LD_LIBRARY_PATH=$native scripts/with-sandbox.sh mono "$work/tests.exe" "$PWD/tests/vectors/sign.tsv" "$version"
LD_LIBRARY_PATH=$native scripts/with-sandbox.sh mono "$work/example.exe"
