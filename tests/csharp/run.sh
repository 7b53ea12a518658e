#!/usr/bin/env bash
# The C# consumer: installs mono from Debian's packages if missing, compiles Dajisaas.cs and
# Example.cs with mcs, and runs the example with mono against a fresh sandbox.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
if ! command -v mcs >/dev/null || ! command -v mono >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mono-mcs mono-runtime >/dev/null
fi
[ -f "$target/c-install/lib/libdajisaas.so" ] || scripts/install-c.sh "$target/c-install" dev
mkdir -p "$target/csharp"
mcs -nologo -warnaserror -out:"$target/csharp/example.exe" tests/csharp/Dajisaas.cs tests/csharp/Example.cs
LD_LIBRARY_PATH="$target/c-install/lib" scripts/with-sandbox.sh mono "$target/csharp/example.exe"
