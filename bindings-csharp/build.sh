#!/usr/bin/env bash
# Builds the Dajisaas NuGet package: compiles src/*.cs with mono's mcs into Dajisaas.dll (and its
# XML documentation), then packs it with the given native libraries (pack.py), so that no dotnet
# SDK is needed. Installs mono-mcs from Debian's packages when mcs is missing.
# Usage: bindings-csharp/build.sh OUT_DIR RID=LIBDAJISAAS.SO [RID=...]
#   e.g.  bindings-csharp/build.sh dist linux-x64=target/c-install/lib/libdajisaas.so
# Writes OUT_DIR/Dajisaas.VERSION.nupkg (VERSION: the workspace's, from Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bindings-csharp/build.sh OUT_DIR RID=LIB [RID=LIB...]}
shift
[ $# -gt 0 ] || { echo "give at least one RID=LIB" >&2; exit 2; }
if ! command -v mcs >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mono-mcs >/dev/null
fi
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# -deterministic: the same sources give the same assembly. References: mscorlib, System and
# System.Core only, which .NET Framework 4.6.1+, mono and .NET 6+ all carry.
mcs -nologo -warnaserror -deterministic -optimize+ -target:library -langversion:6 \
  -doc:"$work/Dajisaas.xml" -out:"$work/Dajisaas.dll" bindings-csharp/src/*.cs
natives=()
for native in "$@"; do natives+=(--native "$native"); done
python3 bindings-csharp/pack.py --version "$version" --dll "$work/Dajisaas.dll" --xml "$work/Dajisaas.xml" \
  "${natives[@]}" --readme bindings-csharp/README.md --license-dir . --out "$out/Dajisaas.$version.nupkg"
