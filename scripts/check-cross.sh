#!/bin/sh
# check-cross.sh [arm64|amd64] - `make check-arm64`: the static arm64 programs
# (build/static/arm64/bin, scripts/static.sh) run under qemu-user against
# the x86-64 ones, in both directions, and end with one line
# "N passed, N failed". With amd64 (`make check-static`), the integration
# tests below run with the static x86-64 field and field-server instead.
#
#   1. the golden vectors (tests/data/golden) checked by the arm64 build of
#      their unit tests: fixed key, canonical bytes, hash and signature;
#   2. the integration tests of capture, verify, sync, merge and conflicts
#      with the arm64 `field` against the x86-64 `field-server` (the
#      packaged, dynamic one of build/, which has TLS: the arm64 client's
#      mbedTLS, CA store and pinning are exercised);
#   3. the sync and conflict tests with the static x86-64 `field` against
#      the arm64 `field-server`;
#   4. tests/integration/test_same_bytes.sh: the same work done by both
#      architectures, the versions compared byte for byte.
#
# The integration tests find their programs as $FIELD_BUILD/bin/field and
# field-server: each pairing is a directory of small wrappers. qemu-aarch64
# is called explicitly, so no binfmt_misc registration is needed.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QEMU=${QEMU:-qemu-aarch64}
N=$ROOT/build
SX=$ROOT/build/static/amd64/bin
SA=$ROOT/build/static/arm64/bin
W=$ROOT/build/static/check-${1:-arm64}

# capture, verify, sync, merge and conflicts, bundles
TESTS="test_cli test_tamper test_sync test_conflicts test_bundle"

need="$N/bin/field-server $N/tests/tools/fieldctl $SX/field $SX/field-server"
if [ "${1:-arm64}" = arm64 ]; then
    need="$need $SA/field $SA/field-server
          $ROOT/build/static/arm64/obj/tests/test_version"
fi
for f in $need; do
    if [ ! -x "$f" ]; then
        echo "check-cross: $f is missing (make all static static-arm64)" >&2
        exit 1
    fi
done
if [ "${1:-arm64}" = arm64 ] && ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "check-arm64: $QEMU not found: install the Debian package qemu-user" >&2
    exit 1
fi

# pairing NAME FIELD FIELD-SERVER: a FIELD_BUILD directory whose programs
# are FIELD and FIELD-SERVER (each a command line), with build/'s tools.
pairing() {
    mkdir -p "$W/$1/bin" "$W/$1/tests"
    printf '#!/bin/sh\nexec %s "$@"\n' "$2" >"$W/$1/bin/field"
    printf '#!/bin/sh\nexec %s "$@"\n' "$3" >"$W/$1/bin/field-server"
    chmod +x "$W/$1/bin/field" "$W/$1/bin/field-server"
    ln -sfn "$N/tests/tools" "$W/$1/tests/tools"
}
rm -rf "$W"
mkdir -p "$W"
pairing arm64-field "$QEMU $SA/field" "$N/bin/field-server"
pairing arm64-server "$SX/field" "$QEMU $SA/field-server"

passed=0
failed=0
failures=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT INT TERM

count() { # NAME EXIT-STATUS: add up the "N passed, N failed" line of $log
    line=$(grep -E '(^[0-9]+ passed, [0-9]+ failed$|\[  (PASSED|FAILED)  \])' "$log")
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p; s/.*PASSED  \] \([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}')
    f=$(echo "$line" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed$/\1/p; s/.*FAILED  \] \([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}')
    if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        failures="$failures $1"
        echo "FAIL $1 (exit $2)"
        sed 's/^/    /' "$log" | tail -n 30
    else
        echo "ok   $1 ($p)"
    fi
}

# `make check-static` (CI): the static x86-64 pair alone, natively.
if [ "${1:-arm64}" = amd64 ]; then
    pairing static "$SX/field" "$SX/field-server"
    for t in $TESTS test_same_bytes; do
        (cd "$ROOT" && FIELD_BUILD="$W/static" \
            sh "tests/integration/$t.sh") >"$log" 2>&1
        count "static field and server: $t" $?
    done
    [ -n "$failures" ] && echo "failed:$failures"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi

for t in test_version test_thresholds; do
    (cd "$ROOT" && "$QEMU" "build/static/arm64/obj/tests/$t") >"$log" 2>&1
    count "arm64 $t (golden vectors)" $?
done
for t in $TESTS; do
    (cd "$ROOT" && FIELD_BUILD="$W/arm64-field" \
        sh "tests/integration/$t.sh") >"$log" 2>&1
    count "arm64 field, x86-64 server: $t" $?
done
for t in test_sync test_conflicts; do
    (cd "$ROOT" && FIELD_BUILD="$W/arm64-server" \
        sh "tests/integration/$t.sh") >"$log" 2>&1
    count "x86-64 field, arm64 server: $t" $?
done
(cd "$ROOT" && FIELD_BUILD="$W/arm64-field" FIELD_OTHER="$SX/field" \
    sh tests/integration/test_same_bytes.sh) >"$log" 2>&1
count "the same bytes on arm64 and x86-64" $?

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
