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
set -u
O=${1:-build}
O=$(cd "$O" && pwd)
[ $# -gt 0 ] && shift
ONLY=" $* "
ROOT=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
failures=""

count() { # $1 = name, $2 = log file, $3 = exit status
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
        echo "ok   $1 ($p)"
    fi
}

wanted() { # NAME: no test named on the command line, or NAME among them
    case $ONLY in
    "  " | *" $1 "*) return 0 ;;
    *) return 1 ;;
    esac
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT INT TERM

for t in "$O"/tests/test_*; do
    [ -x "$t" ] || continue
    wanted "$(basename "$t")" || continue
    (cd "$ROOT" && "$t") >"$log" 2>&1
    count "$(basename "$t")" "$log" $?
done

for t in "$ROOT"/tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    wanted "$(basename "$t" .sh)" || continue
    (cd "$ROOT" && FIELD_BUILD="$O" sh "$t") >"$log" 2>&1
    count "$(basename "$t")" "$log" $?
done

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
