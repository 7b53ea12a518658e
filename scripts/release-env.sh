# Sourced by scripts/release.sh and scripts/check-artifacts.sh (from the repository root): the
# release tools and the build environment for Linux binaries (x86_64 or aarch64, this machine's)
# that need glibc 2.17 at most.
#   - the PyPI tools of scripts/release-requirements.txt in a venv of their own (on PATH after this)
#   - bindings-node's npm packages (napi-rs's CLI, publint, attw) from its lock file
#   - zig (PyPI's ziglang) as C compiler, archiver and linker for $triple, through maturin's zig
#     wrapper (what `maturin build --zig` uses; it also drops linker arguments zig does not take).
#     Set here for every build rather than with --zig, so that maturin, napi and cargo share one
#     build of the dependencies.
#   - CARGO_TARGET_DIR: a directory of its own under the usual one. The other suites build the same
#     crates with the system's compiler; sharing a directory would rebuild the C code every time.
# Defines: arch, triple, npm_platform, glibc, tools, napi.

arch=$(uname -m)
case $arch in
  x86_64) npm_platform=linux-x64-gnu ;;
  aarch64) npm_platform=linux-arm64-gnu ;;
  *) echo "release builds are for x86_64 and aarch64 Linux, not $arch" >&2; exit 1 ;;
esac
triple=$arch-unknown-linux-gnu
glibc=2.17
base_target=$(realpath -m "${CARGO_TARGET_DIR:-target}")
export CARGO_TARGET_DIR=$base_target/release-glibc$glibc
# The dev profile (the tests' quick builds) without debug information: artifacts a quarter the
# size, faster to link, pack and check. The release profile has none anyway.
export CARGO_PROFILE_DEV_DEBUG=0

tools=$base_target/release-tools
if ! cmp -s scripts/release-requirements.txt "$tools/requirements.txt" 2>/dev/null; then
  echo "--- release tools from PyPI into $tools"
  rm -rf "$tools"
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q --disable-pip-version-check -r scripts/release-requirements.txt
  cp scripts/release-requirements.txt "$tools/requirements.txt"
fi
napi=$PWD/bindings-node/node_modules/.bin/napi
if [ ! -x "$napi" ] || [ ! -x bindings-node/node_modules/.bin/attw ] ||
  [ ! -x bindings-node/node_modules/.bin/publint ]; then
  (cd bindings-node && npm ci --no-audit --no-fund --loglevel=error)
fi

mkdir -p "$tools/zig"
for tool in cc c++ ar ranlib; do
  case $tool in
    # zig cc turns on UBSan traps in unoptimised C builds; the C dependencies are not built for that.
    cc | c++) args="-fno-sanitize=all -target $arch-linux-gnu.$glibc" ;;
    *) args= ;;
  esac
  cat > "$tools/zig/$tool.new" <<SH
#!/bin/sh
export CARGO_ZIGBUILD_ZIG_COMMAND="$tools/bin/python3" CARGO_ZIGBUILD_ZIG_COMMAND_ARGS="-m ziglang"
exec "$tools/bin/maturin" zig $tool -- $args "\$@"
SH
  chmod +x "$tools/zig/$tool.new"
  # An unchanged wrapper keeps its timestamp, so cargo does not rerun the C builds.
  if cmp -s "$tools/zig/$tool.new" "$tools/zig/$tool"; then
    rm "$tools/zig/$tool.new"
  else
    mv "$tools/zig/$tool.new" "$tools/zig/$tool"
  fi
done
t=${triple//-/_}
export "CARGO_TARGET_${t^^}_LINKER=$tools/zig/cc"
export "CC_$t=$tools/zig/cc" "CXX_$t=$tools/zig/c++" "AR_$t=$tools/zig/ar" "RANLIB_$t=$tools/zig/ranlib"
unset t
export PATH=$tools/bin:$PATH
