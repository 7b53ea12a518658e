#!/usr/bin/env bash
# The C library end to end: install it (shared and static library, header, pkg-config file)
# into a scratch prefix, build the C test against the installed copy with -Wall -Wextra -Werror,
# and run it against fresh sandboxes: linked to the shared library, to the static library, under
# valgrind, and built by clang with AddressSanitizer (and its leak checker). Then build and run
# the README's example through pkg-config.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v clang >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
fi
target=${CARGO_TARGET_DIR:-target}
prefix=$(realpath -m "$target/c-install")
out=$(realpath -m "$target/c-tests")
rm -rf "$prefix" "$out"
mkdir -p "$out"
scripts/install-c.sh "$prefix" dev
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
CFLAGS="-std=c11 -Wall -Wextra -Werror -pthread"

# shellcheck disable=SC2046,SC2086
cc $CFLAGS tests/c/test_dajisaas.c $(pkg-config --cflags --libs dajisaas) \
  -Wl,-rpath,"$prefix/lib" -o "$out/test_shared"
# shellcheck disable=SC2046,SC2086
cc $CFLAGS tests/c/test_dajisaas.c $(pkg-config --cflags dajisaas) "$prefix/lib/libdajisaas.a" \
  $(pkg-config --static --libs-only-l dajisaas | sed 's/-ldajisaas//') -o "$out/test_static"
# shellcheck disable=SC2046,SC2086
clang $CFLAGS -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
  tests/c/test_dajisaas.c $(pkg-config --cflags --libs dajisaas) -Wl,-rpath,"$prefix/lib" \
  -o "$out/test_asan"
# shellcheck disable=SC2046,SC2086
cc $CFLAGS tests/c/example.c $(pkg-config --cflags --libs dajisaas) \
  -Wl,-rpath,"$prefix/lib" -o "$out/example"

vectors=tests/vectors/sign.tsv
echo "--- shared library"
scripts/with-sandbox.sh "$out/test_shared" "$vectors"
echo "--- bad arguments only: the sandbox must receive nothing"
DAJI_EXPECT_REQUESTS=0 scripts/with-sandbox.sh "$out/test_shared" --bad-arguments-only
echo "--- static library"
scripts/with-sandbox.sh "$out/test_static" "$vectors"
echo "--- shared library under valgrind"
scripts/with-sandbox.sh valgrind -q --leak-check=full --errors-for-leak-kinds=definite,possible \
  --error-exitcode=1 "$out/test_shared" "$vectors"
echo "--- built by clang with AddressSanitizer and UndefinedBehaviorSanitizer"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 scripts/with-sandbox.sh "$out/test_asan" "$vectors"
echo "--- the README example, built with pkg-config"
scripts/with-sandbox.sh "$out/example"
