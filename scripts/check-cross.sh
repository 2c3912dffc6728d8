#!/bin/sh
# check-cross.sh [arm64|amd64] - `make check-arm64`: the static arm64
# programs (build/static/arm64/bin, scripts/static.sh) run under qemu-user
# against the x86-64 ones, in both directions, and end with one line
# "N passed, N failed". With amd64 (`make check-static`), the integration
# tests below run with the static x86-64 field and field-server instead.
#
#   1. the golden vectors (tests/data/golden) checked by the arm64 build of
#      their unit tests: fixed key, canonical bytes, hash and signature
#      (the name test_thresholds also runs the integration script of
#      signed thresholds with the arm64 field);
#   2. the integration tests of capture, verify, sync, merge and conflicts
#      with the arm64 `field` against the x86-64 `field-server` (the
#      packaged, dynamic one of build/, which has TLS: the arm64 client's
#      mbedTLS, CA store and pinning are exercised);
#   3. the sync and conflict tests with the static x86-64 `field` against
#      the arm64 `field-server`;
#   4. tests/integration/test_same_bytes.sh: the same work done by both
#      architectures, the versions compared byte for byte.
#
# The tests find their programs as $FIELD_BUILD/bin/field and field-server
# and the unit tests in $FIELD_BUILD/tests: each pairing is a directory of
# small wrappers, given to scripts/run-tests.sh. qemu-aarch64 is called
# explicitly, so no binfmt_misc registration is needed.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-arm64}
QEMU=${QEMU:-qemu-aarch64}
N=$ROOT/build
SX=$ROOT/build/static/amd64/bin
SA=$ROOT/build/static/arm64/bin
W=$ROOT/build/static/check-$MODE
# capture, verify, sync, merge and conflicts, bundles
TESTS="test_cli test_tamper test_sync test_conflicts test_bundle"

need="$N/bin/field $N/bin/field-server $N/tests/tools/fieldctl $SX/field
      $SX/field-server"
if [ "$MODE" = arm64 ]; then
    need="$need $SA/field $SA/field-server
          $ROOT/build/static/arm64/obj/tests/test_version"
fi
for f in $need; do
    if [ ! -x "$f" ]; then
        echo "check-cross: $f is missing (make all static static-arm64)" >&2
        exit 1
    fi
done
if [ "$MODE" = arm64 ] && ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "check-arm64: $QEMU not found: install the Debian package qemu-user" >&2
    exit 1
fi

# pairing NAME FIELD FIELD-SERVER [UNIT-TEST...]: a FIELD_BUILD directory
# whose programs are the command lines FIELD and FIELD-SERVER, with
# build/'s tools, and wrappers for the arm64 unit tests named.
pairing() {
    d=$W/$1
    mkdir -p "$d/bin" "$d/tests"
    printf '#!/bin/sh\nexec %s "$@"\n' "$2" >"$d/bin/field"
    printf '#!/bin/sh\nexec %s "$@"\n' "$3" >"$d/bin/field-server"
    shift 3
    for u in "$@"; do
        printf '#!/bin/sh\nexec %s "$@"\n' \
            "$QEMU $ROOT/build/static/arm64/obj/tests/$u" >"$d/tests/$u"
        chmod +x "$d/tests/$u"
    done
    chmod +x "$d/bin/field" "$d/bin/field-server"
    ln -sfn "$N/tests/tools" "$d/tests/tools"
}

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT INT TERM

group() { # TITLE FIELD_BUILD TEST...: scripts/run-tests.sh, counted
    echo "== $1"
    shift
    "$ROOT/scripts/run-tests.sh" "$@" | tee "$log"
    set -- $(tail -n 1 "$log")
    if [ "${2:-}" = passed, ] && [ "${4:-}" = failed ]; then
        passed=$((passed + $1))
        failed=$((failed + $3))
    else
        failed=$((failed + 1))
    fi
}

rm -rf "$W"
if [ "$MODE" = amd64 ]; then
    # The other device of test_same_bytes: the dynamic build.
    export FIELD_OTHER="$N/bin/field"
    pairing static "$SX/field" "$SX/field-server"
    group "static x86-64 field and field-server" "$W/static" $TESTS \
        test_same_bytes
else
    export FIELD_OTHER="$SX/field"
    pairing arm64-field "$QEMU $SA/field" "$N/bin/field-server" \
        test_version test_thresholds
    pairing arm64-server "$SX/field" "$QEMU $SA/field-server"
    group "arm64 field (golden vectors; x86-64 field-server)" \
        "$W/arm64-field" test_version test_thresholds $TESTS test_same_bytes
    group "x86-64 field, arm64 field-server" "$W/arm64-server" \
        test_sync test_conflicts
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
