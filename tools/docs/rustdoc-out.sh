#!/usr/bin/env bash
# rustdoc, with its output directory (-o/--out-dir, which cargo sets to target/doc) replaced by
# $DAJI_RUSTDOC_OUT. scripts/docs.sh runs `cargo doc` with RUSTDOC pointing here so that the
# core's reference is written into a directory of its own: target/doc's crate list and search
# index are shared by every crate documented there, and stable cargo has no option to put one
# crate's pages elsewhere. The real rustdoc is $DAJI_REAL_RUSTDOC (default: rustdoc on PATH).
set -euo pipefail
: "${DAJI_RUSTDOC_OUT:?set by scripts/docs.sh}"
args=()
while [ $# -gt 0 ]; do
  case $1 in
    -o | --out-dir) args+=("$1" "$DAJI_RUSTDOC_OUT"); shift 2 ;;
    --out-dir=*) args+=("--out-dir=$DAJI_RUSTDOC_OUT"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done
exec "${DAJI_REAL_RUSTDOC:-rustdoc}" "${args[@]}"
