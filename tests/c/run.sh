#!/usr/bin/env bash
# The C library end to end: install it (shared and static library, header, pkg-config file)
# into a scratch prefix, build the C test against the installed copy with -Wall -Wextra -Werror,
# and run it against fresh sandboxes: linked to the shared library, to the static library, under
# valgrind, and built by clang with AddressSanitizer (and its leak checker) and
# UndefinedBehaviorSanitizer. The fork test (tests/c/test_fork.c) runs linked to the shared library
# and with the sanitizers (its third scenario forks 20 times while 4 threads are inside journal
# calls, memory and SQLite). Then build and run the README's example through pkg-config.
# Also: the shared library's SONAME; the sigwait daemon (tests/c/test_signals.c: 20 SIGTERMs, each
# must reach sigwait); C++ callers of pay_many (tests/c/test_callbacks.cpp: a noexcept callback,
# and one that stops the run after 3 orders); the static library linked into a program that also
# links the system's SQLite (tests/c/test_sqlite_link.c), with nm showing only daji_* exported.
# The C test runs every row of the behaviour table tests/vectors/outcomes.json, converted here to
# a TSV (the client's options, then one line per row); each sandbox is started with the table's
# settings, and its counters are checked against the table's afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v clang >/dev/null || ! command -v g++ >/dev/null || [ ! -f /usr/include/sqlite3.h ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev g++ libsqlite3-dev >/dev/null
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
# The fork test: shared library and sanitizers (not valgrind: it follows the children, which
# leave the parent's runtime untouched, and would count that as lost).
# shellcheck disable=SC2046,SC2086
cc $CFLAGS tests/c/test_fork.c $(pkg-config --cflags --libs dajisaas) \
  -Wl,-rpath,"$prefix/lib" -o "$out/test_fork"
# shellcheck disable=SC2046,SC2086
clang $CFLAGS -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
  tests/c/test_fork.c $(pkg-config --cflags --libs dajisaas) -Wl,-rpath,"$prefix/lib" \
  -o "$out/test_fork_asan"
# shellcheck disable=SC2046,SC2086
cc $CFLAGS tests/c/example.c $(pkg-config --cflags --libs dajisaas) \
  -Wl,-rpath,"$prefix/lib" -o "$out/example"

# The daemon pattern, C++ callbacks, and the static library beside the system's SQLite.
# shellcheck disable=SC2046,SC2086
cc $CFLAGS tests/c/test_signals.c $(pkg-config --cflags --libs dajisaas) \
  -Wl,-rpath,"$prefix/lib" -o "$out/test_signals"
# shellcheck disable=SC2046
c++ -std=c++11 -Wall -Wextra -Werror -pthread tests/c/test_callbacks.cpp $(pkg-config --cflags --libs dajisaas) \
  -Wl,-rpath,"$prefix/lib" -o "$out/test_callbacks"
# shellcheck disable=SC2046,SC2086
cc $CFLAGS tests/c/test_sqlite_link.c $(pkg-config --cflags dajisaas) "$prefix/lib/libdajisaas.a" -lsqlite3 \
  $(pkg-config --static --libs-only-l dajisaas | sed 's/-ldajisaas//') -o "$out/test_sqlite_link"

# The behaviour table as TSV: "option NAME VALUE" lines, then
# "row ORDER_ID ENDPOINT CODE ATTEMPTS HTTP_STATUS API_CODE TRACE_ID [MESSAGE_PART...]"
# (CODE "ok" for a success, 0 for a null number, TRACE_ID 1 or 0).
table=tests/vectors/outcomes.json
outcomes=$out/outcomes.tsv
sandbox_args=$(python3 - "$table" "$outcomes" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
def field(value):
    text = str(value)
    if "\t" in text or "\n" in text:
        sys.exit(f"{text!r}: tabs and newlines cannot go into the TSV")
    return text
with open(sys.argv[2], "w") as out:
    for name, value in doc["client"].items():
        out.write(f"option\t{field(name)}\t{field(value)}\n")
    for row in doc["rows"]:
        fields = ["row", row["order_id"], row["endpoint"], row["code"] or "ok", row["attempts"],
                  row["http_status"] or 0, row["api_code"] or 0, int(row["trace_id"])]
        fields += row["message_contains"]
        out.write("\t".join(field(f) for f in fields) + "\n")
sandbox = doc["sandbox"]
print(f"--slow-ms {sandbox['slow_ms']} --hang-ms {sandbox['hang_ms']} --latency-ms {sandbox['latency_ms']}")
PY
)

vectors=tests/vectors/sign.tsv
table_run() {
  DAJI_SANDBOX_ARGS=$sandbox_args DAJI_EXPECT_OUTCOMES=$table scripts/with-sandbox.sh "$@"
}
echo "--- shared library"
table_run "$out/test_shared" "$vectors" "$outcomes"
echo "--- bad arguments only: the sandbox must receive nothing"
DAJI_EXPECT_REQUESTS=0 scripts/with-sandbox.sh "$out/test_shared" --bad-arguments-only
echo "--- static library"
table_run "$out/test_static" "$vectors" "$outcomes"
echo "--- shared library under valgrind (the table's rows one at a time, for its timeouts)"
DAJI_TABLE_THREADS=1 table_run valgrind -q --leak-check=full --errors-for-leak-kinds=definite,possible \
  --error-exitcode=1 "$out/test_shared" "$vectors" "$outcomes"
echo "--- built by clang with AddressSanitizer and UndefinedBehaviorSanitizer"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 table_run "$out/test_asan" "$vectors" "$outcomes"
echo "--- fork(): a client made before fork() in 4 children, clients made and freed in them, and 20 forks while 4 threads are inside journal calls"
DAJI_EXPECT_REQUESTS=31 scripts/with-sandbox.sh "$out/test_fork"
echo "--- fork(), built by clang with AddressSanitizer and UndefinedBehaviorSanitizer (not the forks while threads are inside journal calls: ASan's allocator is not fork-safe)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 DAJI_EXPECT_REQUESTS=31 scripts/with-sandbox.sh "$out/test_fork_asan"
echo "--- the README example, built with pkg-config"
scripts/with-sandbox.sh "$out/example"
echo "--- the shared library's SONAME, and what a program linked to it needs"
readelf -d "$prefix/lib/libdajisaas.so" | grep -q 'SONAME.*\[libdajisaas\.so\.0\]'
readelf -d "$out/test_shared" | grep -q 'NEEDED.*\[libdajisaas\.so\.0\]'
for file in "$prefix"/lib/libdajisaas.so*; do
  if [ -L "$file" ]; then echo "$(basename "$file") -> $(readlink "$file")"; else echo "$(basename "$file")"; fi
done
echo "--- the static library exports only daji_* (nm)"
exported=$(nm -g --defined-only "$prefix/lib/libdajisaas.a" | awk 'NF == 3 {print $3}')
others=$(printf '%s\n' "$exported" | grep -v '^daji_' || true)
[ -z "$others" ] || { echo "libdajisaas.a exports: $others" >&2; exit 1; }
echo "libdajisaas.a: $(printf '%s\n' "$exported" | wc -l) symbols exported, all daji_*"
echo "--- the static library in a program that also links the system's SQLite"
scripts/with-sandbox.sh "$out/test_sqlite_link"
echo "--- the sigwait daemon: 20 SIGTERMs to the process while it pays"
scripts/with-sandbox.sh "$out/test_signals"
echo "--- C++: a noexcept progress callback, and one that stops pay_many after 3 orders"
scripts/with-sandbox.sh "$out/test_callbacks"
