#!/bin/sh
# run-tests.sh BUILD_DIR [TEST...] - run every test of the project (or
# only those named, as test_sync or test_version) against the binaries in
# BUILD_DIR and end with one line "N passed, N failed".
#
# Unit tests are the cmocka programs in BUILD_DIR/tests; integration tests
# are the scripts tests/integration/test_*.sh, which drive the real
# programs and print their own "N passed, N failed" line (tests/integration/
# lib.sh). The counts of every program are summed; a program that crashes or
# prints no count counts as one failure.
#
# FIELD_TEST_UNIT_ONLY=1 runs the unit tests alone (make asan-unit).
#
# Tests run FIELD_TEST_JOBS at a time (default: one per core). Every test
# is safe to run beside another (its own temporary folder, free ports), and
# most of an integration test's time is spent waiting on a server or a
# link, so two at a time on two cores nearly halves the wall clock.
# The longest tests start first: each run records how long every test took
# in BUILD_DIR/test-times, and the next run orders by it (integration
# tests first when there is no record yet). Results are printed in a fixed
# order once all have ended; "done NAME" lines show progress meanwhile.
#
# The PostgreSQL half: an integration test named pg:test_x (or listed in
# FIELD_PG_TESTS, as `make check` does with server.mk's PG_TESTS) runs a
# second time with FIELD_TEST_DB=pg, its servers on a throwaway PostgreSQL
# (tests/integration/pg_lib.sh), scheduled with the rest, timed in
# test-times as pg:test_x.sh and reported as "test_x.sh [pg]". Where
# PostgreSQL is not installed, or field-server was built without it (make
# PG=), that half is skipped in one line.
set -u

# name PATH - the test's name in logs and test-times: test_x and test_x.sh
# may both exist; pg:test_x.sh is the PostgreSQL run of test_x.sh.
name() {
    case $1 in
    pg:*) echo "pg:$(basename "${1#pg:}")" ;;
    *) basename "$1" ;;
    esac
}

if [ "${1:-}" = "--one" ]; then # --one ROOT BUILD_DIR RESULTS PATH: one test
    ROOT=$2 O=$3 dir=$4 t=$5
    name=$(name "$t")
    start=$(date +%s)
    case $t in
    pg:*) (cd "$ROOT" && FIELD_BUILD="$O" FIELD_TEST_DB=pg sh "${t#pg:}") >"$dir/$name.log" 2>&1 ;;
    *.sh) (cd "$ROOT" && FIELD_BUILD="$O" sh "$t") >"$dir/$name.log" 2>&1 ;;
    *) (cd "$ROOT" && "$t") >"$dir/$name.log" 2>&1 ;;
    esac
    echo $? >"$dir/$name.rc"
    echo "$(($(date +%s) - start))" >"$dir/$name.time"
    echo "done $name ($(cat "$dir/$name.time") s)" >&2
    exit 0
fi

O=${1:-build}
O=$(cd "$O" && pwd)
[ $# -gt 0 ] && shift
ONLY=" $* "
ONLY_PG=" ${FIELD_PG_TESTS:-} "
for a in "$@"; do
    case $a in pg:*) ONLY_PG="$ONLY_PG${a#pg:} " ;; esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${FIELD_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
passed=0
failed=0
failures=""

count() { # $1 = name, $2 = log file, $3 = exit status, $4 = seconds
    p=$(sed -n 's/.*\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p; s/^\([0-9][0-9]*\) passed, [0-9][0-9]* failed$/\1/p' "$2" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/.*\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p; s/^[0-9][0-9]* passed, \([0-9][0-9]*\) failed$/\1/p' "$2" | awk '{s+=$1} END {print s+0}')
    if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed, or failed without saying how many
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        failures="$failures $1"
        echo "FAIL $1 (exit $3)"
        sed 's/^/    /' "$2" | tail -n 40
    else
        echo "ok   $1 ($p, $4 s)"
    fi
}

wanted() { # NAME: no test named on the command line, or NAME among them
    case $ONLY in
    "  " | *" $1 "*) return 0 ;;
    *) return 1 ;;
    esac
}

wanted_pg() { # NAME: named as pg:NAME, or in FIELD_PG_TESTS
    case $ONLY_PG in
    *" $1 "*) return 0 ;;
    *) return 1 ;;
    esac
}

# no_pg - why the PostgreSQL half cannot run here, or nothing.
no_pg() {
    pg_bin=${FIELD_PG_BIN:-/usr/lib/postgresql/15/bin}
    if [ ! -x "$pg_bin/initdb" ]; then
        echo "$pg_bin/initdb is not installed (apt-get install postgresql)"
    elif [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        echo "running as root without a postgres user to run it"
    elif "$O/bin/field-server" devices --db "postgresql:///none?host=/nonexistent" 2>&1 |
        grep -q "built without PostgreSQL"; then
        echo "field-server was built without it (make PG=)"
    fi
}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM

# Every wanted test, one path per line, in the order results are printed.
for t in "$O"/tests/test_* "$ROOT"/tests/integration/test_*.sh; do
    case $t in
    *.sh) [ -z "${FIELD_TEST_UNIT_ONLY:-}" ] && [ -f "$t" ] || continue ;;
    *) [ -x "$t" ] || continue ;;
    esac
    wanted "$(basename "$t" .sh)" && echo "$t"
done >"$dir/list"
if [ "$ONLY_PG" != "  " ]; then
    why=$(no_pg)
    for t in "$ROOT"/tests/integration/test_*.sh; do
        wanted_pg "$(basename "$t" .sh)" && echo "pg:$t"
    done >"$dir/list.pg"
    if [ -n "$why" ]; then
        echo "skip: the PostgreSQL half ($(wc -l <"$dir/list.pg") tests): $why"
    else
        cat "$dir/list.pg" >>"$dir/list"
    fi
fi

# The order they start in: longest first by the last run's times; a test
# with no time yet counts as an integration test's long or a unit test's
# short.
times=$O/test-times
while read -r t; do
    name=$(name "$t")
    s=$(awk -v n="$name" '$1 == n { print $2 }' "$times" 2>/dev/null)
    case $t in *.sh) : "${s:=60}" ;; *) : "${s:=1}" ;; esac
    echo "$s $t"
done <"$dir/list" | sort -rn | cut -d' ' -f2- >"$dir/order"

xargs -P "$JOBS" -I{} sh "$0" --one "$ROOT" "$O" "$dir" {} <"$dir/order"

: >"$dir/times"
while read -r t; do
    name=$(name "$t")
    rc=$(cat "$dir/$name.rc" 2>/dev/null || echo 1)
    s=$(cat "$dir/$name.time" 2>/dev/null || echo 0)
    echo "$name $s" >>"$dir/times"
    case $name in
    pg:*) count "${name#pg:} [pg]" "$dir/$name.log" "$rc" "$s" ;;
    *) count "$name" "$dir/$name.log" "$rc" "$s" ;;
    esac
done <"$dir/list"
# Keep the times of tests not run this time, so a partial run does not
# forget them.
awk 'NR == FNR { seen[$1] = 1; print; next } !($1 in seen)' \
    "$dir/times" "$times" 2>/dev/null >"$dir/times.all" || cp "$dir/times" "$dir/times.all"
cp "$dir/times.all" "$times"

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
