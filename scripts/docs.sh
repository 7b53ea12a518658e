#!/usr/bin/env bash
# Builds the API reference of each language, and fails on any warning:
#   target/docs/rust/index.html    the core crate (rustdoc)
#   target/docs/python/index.html  the Python package (pdoc: docstrings, .pyi stubs)
#   target/docs/node/index.html    the Node package (TypeDoc from bindings-node/index.d.ts)
#   target/docs/c/index.html       the C API (Doxygen from include/dajisaas.h)
#   target/docs/index.html         links to the four
# Usage: scripts/docs.sh   (from anywhere; installs what it needs: pdoc into .venv from
# bindings-python/requirements-docs.txt, TypeDoc with npm ci in tools/docs, Doxygen with apt-get)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
out=$CARGO_TARGET_DIR/docs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# Runs a command, printing what it prints; fails if it fails or if anything it printed is a
# warning: a line that starts with "warn" or "[warn" (any case), or that has ": warning".
no_warnings() {
  local log=$work/log
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -qiE '^\[?warn|: warning'; then
    echo "docs.sh: warnings above" >&2
    return 1
  fi
  return "$rc"
}

rust_docs() {
  # rustdoc as the test command runs it, plus rustdoc::all, with two differences:
  # - tools/docs/rustdoc-out.sh writes the core's pages into $out/rust rather than target/doc
  #   (see that file for why);
  # - the flags differ from the test command's, so that cargo never takes target/doc's pages
  #   for this build's output and skips running rustdoc.
  local real_rustdoc=${RUSTDOC:-rustdoc}
  rm -rf "$out/rust"
  DAJI_RUSTDOC_OUT="$out/rust" DAJI_REAL_RUSTDOC="$real_rustdoc" \
    RUSTDOC="$PWD/tools/docs/rustdoc-out.sh" RUSTDOCFLAGS="-D warnings -D rustdoc::all" \
    no_warnings cargo doc -p dajisaas --no-deps --locked || return 1
  if [ ! -f "$out/rust/dajisaas/index.html" ]; then
    echo "docs.sh: cargo did not run rustdoc (no $out/rust/dajisaas/index.html)" >&2
    return 1
  fi
  redirect dajisaas/index.html > "$out/rust/index.html"
}

python_installed_is_current() {
  # The installed package's Python files and stub are those of bindings-python.
  local dir f
  dir=$(.venv/bin/python -c 'import dajisaas, os; print(os.path.dirname(dajisaas.__file__))' 2>/dev/null) ||
    return 1
  for f in bindings-python/python/dajisaas/*.py bindings-python/python/dajisaas/*.pyi; do
    cmp -s "$f" "$dir/${f##*/}" || return 1
  done
}

python_docs() {
  [ -x .venv/bin/python ] || python3 -m venv .venv || return 1
  .venv/bin/pip install -q --disable-pip-version-check -r bindings-python/requirements-docs.txt ||
    return 1
  # pdoc documents the installed package. The test command reinstalls it from time to time: an
  # installed package that cannot be imported, or whose files differ from bindings-python's,
  # may be a reinstall under way, so wait for it (up to 2 minutes) before installing it here
  # the way scripts/test.sh does. A package not installed at all is installed at once.
  local try
  for try in $(seq 12); do
    python_installed_is_current && break
    .venv/bin/pip show -q dajisaas >/dev/null 2>&1 || break
    [ "$try" -lt 12 ] && sleep 10
  done
  if ! python_installed_is_current; then
    echo "docs.sh: installing bindings-python into .venv (missing or not current)"
    MATURIN_PEP517_ARGS="--profile dev" .venv/bin/pip install -q --disable-pip-version-check \
      --force-reinstall --no-deps ./bindings-python || return 1
  fi
  rm -rf "$out/python"
  # Exit 3: dajisaas could not be imported (a reinstall under way): try again.
  local rc
  for try in 1 2 3; do
    no_warnings .venv/bin/python tools/docs/pdoc_build.py "$out/python"
    rc=$?
    [ "$rc" -ne 3 ] && return "$rc"
    sleep 10
  done
  return "$rc"
}

node_docs() {
  (cd tools/docs && npm ci --no-audit --no-fund --loglevel=error) || return 1
  rm -rf "$out/node"
  # treatWarningsAsErrors and the validation settings are in tools/docs/typedoc.json.
  no_warnings tools/docs/node_modules/.bin/typedoc --options tools/docs/typedoc.json \
    --out "$out/node" --logLevel Warn
}

install_doxygen() {
  [ "$(id -u)" -eq 0 ] || { echo "docs.sh: Doxygen is missing; installing it needs root (apt-get install doxygen)" >&2; return 1; }
  command -v apt-get >/dev/null 2>&1 || { echo "docs.sh: Doxygen is missing and there is no apt-get to install it" >&2; return 1; }
  echo "docs.sh: installing Doxygen with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q --no-install-recommends doxygen
}

c_docs() {
  command -v doxygen >/dev/null 2>&1 || install_doxygen || return 1
  # The main page is the header's opening comment (written once, in core/src/ffi/mod.rs), as
  # Markdown: its first line is the title, a line of its own before a list a section heading,
  # and the line about how the header is generated is left out.
  awk '
    NR == 1 { if ($0 != "/*") exit 1; next }
    /^ \*\/$/ { done = 1; exit }
    { sub(/^ \*( |$)/, ""); line[++n] = $0 }
    END {
      if (!done) exit 1
      print "# " line[1]
      for (i = 2; i <= n; i++) {
        if (line[i] ~ /^Generated by cbindgen/) continue
        if (line[i] ~ /^[A-Z][^ ]/ && line[i - 1] == "" && line[i + 1] ~ /^- /) print "## " line[i]
        else print line[i]
      }
    }' include/dajisaas.h > "$work/mainpage.md" ||
    { echo "docs.sh: include/dajisaas.h does not open with a /* ... */ comment" >&2; return 1; }
  rm -rf "$out/c"
  mkdir -p "$out/c"
  # Doxygen (QUIET) prints nothing but warnings; FAIL_ON_WARNINGS in tools/docs/Doxyfile.
  local log=$work/doxygen.log
  DAJI_DOCS_C_OUT="$out/c" DAJI_DOCS_C_MAINPAGE="$work/mainpage.md" \
    doxygen tools/docs/Doxyfile > "$log" 2>&1
  local rc=$?
  cat "$log"
  [ "$rc" -eq 0 ] && [ ! -s "$log" ]
}

redirect() {
  printf '<!DOCTYPE html>\n<meta charset="utf-8">\n<meta http-equiv="refresh" content="0; url=%s">\n<a href="%s">%s</a>\n' "$1" "$1" "$1"
}

index_page() {
  cat > "$out/index.html" <<'EOF'
<!DOCTYPE html>
<meta charset="utf-8">
<title>dajisaas API reference</title>
<h1>dajisaas API reference</h1>
<ul>
  <li><a href="rust/index.html">Rust</a>: the core crate <code>dajisaas</code></li>
  <li><a href="python/index.html">Python</a>: the <code>dajisaas</code> package</li>
  <li><a href="node/index.html">Node</a>: the <code>dajisaas</code> npm package</li>
  <li><a href="c/index.html">C</a>: <code>include/dajisaas.h</code></li>
</ul>
EOF
}

results=()
failed=0
step() {
  local name=$1 start=$SECONDS
  shift
  echo "===== docs: $name ====="
  if "$@"; then
    results+=("PASS  $name ($((SECONDS - start)) s)")
  else
    results+=("FAIL  $name ($((SECONDS - start)) s)")
    failed=$((failed + 1))
  fi
}

step "rust (rustdoc) -> $out/rust" rust_docs
step "python (pdoc) -> $out/python" python_docs
step "node (TypeDoc) -> $out/node" node_docs
step "c (Doxygen) -> $out/c" c_docs
index_page

echo
echo "===== docs: summary ====="
printf '%s\n' "${results[@]}"
echo "total: $SECONDS s"
[ "$failed" -eq 0 ]
