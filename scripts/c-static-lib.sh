#!/usr/bin/env bash
# Makes the static library users link: only the daji_* functions are global in it. Cargo's
# staticlib is an archive of the crate's objects and of every dependency's, whose globals (the
# bundled SQLite's sqlite3_*, aws-lc's, Rust's own) would clash with, or silently replace, the
# program's own copies of those libraries. So: link what the daji_* functions need into one
# relocatable object (ld -r, pulling from the archive only the members they reach), drop the
# embedded LLVM bitcode (merged into one section by ld -r, it is no longer valid bitcode and is
# not needed to link), make every global but daji_* local (objcopy), and archive that one object.
# Usage: scripts/c-static-lib.sh IN.a OUT.a     (binutils: ld, objcopy, ar, nm)
set -euo pipefail
in=${1:?usage: scripts/c-static-lib.sh IN.a OUT.a}
out=${2:?usage: scripts/c-static-lib.sh IN.a OUT.a}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The exported functions, as the archive defines them.
nm -g --defined-only "$in" 2>/dev/null | awk '$2 == "T" && $3 ~ /^daji_/ {print $3}' | sort -u > "$work/exports"
[ -s "$work/exports" ] || { echo "$in defines no daji_* function" >&2; exit 1; }
undefined=()
while read -r name; do undefined+=(-u "$name"); done < "$work/exports"
ld -r "${undefined[@]}" -o "$work/dajisaas.o" "$in"
objcopy --remove-section=.llvmbc --remove-section=.llvmcmd --wildcard --keep-global-symbol='daji_*' \
  "$work/dajisaas.o" "$work/dajisaas-local.o"
rm -f "$out"
ar crs "$out" "$work/dajisaas-local.o"
exported=$(nm -g --defined-only "$out" | awk 'NF == 3 {print $3}' | sort -u)
if [ "$exported" != "$(cat "$work/exports")" ]; then
  echo "$out exports other symbols than the daji_* functions:" >&2
  diff <(echo "$exported") "$work/exports" >&2 || true
  exit 1
fi
echo "$(basename "$out"): $(wc -l < "$work/exports") daji_* functions exported, nothing else"
