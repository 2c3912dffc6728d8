#!/bin/sh
# test_disk_full.sh - a full disk on either side of a photo, with the real
# programs: `field attach` into a full attachment folder, `field sync
# --attachments` downloading into one, and field-server taking uploads into
# one. Each says so in one line with the documented status, writes no
# signed version it could not complete, leaves no partial file visible as
# a photo, does not hold back the versions, and finishes once there is
# room again.
#
# The disk is made full by tests/tools/libenospc.so, an LD_PRELOAD library
# that fails writes under one directory with ENOSPC (optionally after N
# bytes, optionally only while a flag file exists): no mount needed, so
# the test runs as root or not, in CI or on a laptop.
. "$(dirname "$0")/server_lib.sh"

LIB="$FIELD_BUILD/tests/tools/libenospc.so"
if [ ! -f "$LIB" ]; then
    fail "the test seam $LIB exists (build first: make all)"
    finish
fi
# A program linked statically (make static; scripts/check-cross.sh wraps
# one in a script) ignores LD_PRELOAD: there is no full disk to show it.
if ! grep -q "ld-linux" "$F" 2>/dev/null; then
    skip "$F is not a dynamically linked program: LD_PRELOAD cannot reach it"
    finish
fi
# The shim compares real paths (from /proc/self/fd).
T=$(cd "$T" && pwd -P)
# Under AddressSanitizer the runtime wants to come first in the preload
# list; the shim reaches ASan's interceptors through RTLD_NEXT instead.
ASAN_FULL="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# full DIR [AFTER] CMD... - run CMD with DIR full (after AFTER bytes).
full() {
    _d=$1
    _a=$2
    shift 2
    run env LD_PRELOAD="$LIB" FIELD_ENOSPC_DIR="$_d" FIELD_ENOSPC_AFTER="$_a" \
        ASAN_OPTIONS="$ASAN_FULL" "$@"
}

# files DIR - how many files are in DIR, at any depth (0 when it is absent).
files() {
    find "$1" -type f 2>/dev/null | wc -l | tr -d ' '
}

jv() {
    json_get "$OUT" "$1"
}

# full_server [FIELD_ENOSPC_X=V...] -- COMMAND... - run COMMAND (one that
# starts the server) with the seam on the server's attachments folder,
# full while $T/server-full exists (made here); the settings given are
# passed on to the seam, and nothing of it is left set afterwards.
full_server() {
    _asan_was=${ASAN_OPTIONS-}
    _asan_set=${ASAN_OPTIONS+x}
    touch "$T/server-full"
    export LD_PRELOAD="$LIB" FIELD_ENOSPC_DIR="$T/attachments" \
        FIELD_ENOSPC_WHILE="$T/server-full" ASAN_OPTIONS="$ASAN_FULL"
    while [ "$1" != "--" ]; do
        export "$1"
        shift
    done
    shift
    "$@"
    unset LD_PRELOAD FIELD_ENOSPC_DIR FIELD_ENOSPC_WHILE FIELD_ENOSPC_AFTER \
        FIELD_ENOSPC_AT
    if [ -n "$_asan_set" ]; then
        ASAN_OPTIONS=$_asan_was
    else
        unset ASAN_OPTIONS
    fi
}

full_server -- start_server main --quiet

# room_again FILE HASH - the server's disk has room again: the next sync
# uploads the photo FILE, and the server holds it byte for byte.
room_again() {
    rm -f "$T/server-full"
    run "$F" sync --json
    expect_rc "with room again the upload completes" 0
    expect_eq "... the photo is uploaded" "$(jv attachments.uploaded)" 1
    check "... the server holds it byte for byte" \
        cmp -s "$1" "$(server_file "$2")"
}
province 18133

enroll_device a "Inspector A" 18133
enroll_device b "Inspector B" 18133

# --- (a) field attach into a full device --------------------------------------

home a
REC=$("$F" new ntm-xa-2021 --subject 18133 </dev/null)
jpeg "$T/plan.jpg" 300000
PLAN=$(b2 "$T/plan.jpg")
n0=$(nversions)

full "$T/a/attachments" 0 "$F" attach "$REC" plan_photo "$T/plan.jpg"
expect_rc "attach into a full disk exits 1" 1
expect_stderr_line "... in one line naming the full disk" \
    "field: attach: "
expect_stderr_contains "... which says the disk is full" "disk is full"
expect_eq "... no version is signed" "$(nversions)" "$n0"
expect_eq "... no file is left" "$(files "$T/a/attachments")" 0
expect_eq "... the store holds no attachment" \
    "$(sql "SELECT count(*) FROM attachments;")" 0

# Room for a third of the photo: the copy is cut in the middle.
full "$T/a/attachments" 100000 "$F" attach "$REC" plan_photo "$T/plan.jpg"
expect_rc "attach that fills the disk half-way exits 1" 1
expect_stderr_contains "... saying the disk is full" "disk is full"
expect_eq "... no version is signed" "$(nversions)" "$n0"
expect_eq "... no partial file is left" "$(files "$T/a/attachments")" 0

# A file system that reports the full disk only when the data is flushed.
run env LD_PRELOAD="$LIB" FIELD_ENOSPC_DIR="$T/a/attachments" \
    FIELD_ENOSPC_AT=sync ASAN_OPTIONS="$ASAN_FULL" \
    "$F" attach "$REC" plan_photo "$T/plan.jpg"
expect_rc "attach whose fsync finds the disk full exits 1" 1
expect_stderr_line "... in one line" "field: attach: "
expect_stderr_contains "... saying the disk is full" "disk is full"
expect_eq "... no version is signed" "$(nversions)" "$n0"
expect_eq "... no file is left" "$(files "$T/a/attachments")" 0

run "$F" attach "$REC" plan_photo "$T/plan.jpg"
expect_rc "with room again the photo is attached" 0
expect_eq "... one version" "$(nversions)" $((n0 + 1))
check "... the file under its hash" \
    cmp -s "$T/plan.jpg" "$T/a/attachments/$(echo "$PLAN" | cut -c1-2)/$PLAN"
run "$F" verify
expect_rc "... and the device verifies" 0

# --- (c) the server's disk is full -----------------------------------------------

# The documented status when only the photos could not go: 1, after the
# versions' summary (docs/SYNC.md).
run "$F" sync --json
expect_rc "a sync whose photo the server cannot store exits 1" 1
expect_eq "... the versions are stored all the same" "$(jv stored)" 2
expect_eq "... the photo is not uploaded" "$(jv attachments.uploaded)" 0
expect_eq "... it waits for a later sync" "$(jv attachments.waiting)" 1
check "... the chunk is not sent again and again" \
    test "$(jv attachments.bytes_up)" -le 300000
expect_stderr_line "... one line" "field: sync: "
expect_stderr_contains "... saying the server's disk is full" \
    "the server's disk is full"
check "... nothing is visible on the server" test ! -e "$(server_file "$PLAN")"
expect_eq "... and no byte is acknowledged" \
    "$(sqls "SELECT coalesce(max(acked), 0) FROM attachments;")" 0
run "$F" sync
expect_rc "without --json: the same status" 1
expect_stdout_contains "... the versions' summary first" "synced with $URL"
expect_stderr_line "... then one line" "field: sync: "
expect_stderr_contains "... saying the server's disk is full" \
    "the server's disk is full"

req "$T/a/device.key" PUT "/v1/attachments/$PLAN?offset=0" \
    --body "$T/plan.jpg" --content-type application/octet-stream
expect_status "a chunk the server cannot write" 507 disk_full

room_again "$T/plan.jpg" "$PLAN"

# The server's disk fills in the middle of a chunk: the bytes of that
# chunk that did reach the disk are not acknowledged, and the upload goes
# on from the last whole chunk once there is room.
jpeg "$T/road.jpg" 600000
ROAD=$(b2 "$T/road.jpg")
run "$F" attach "$REC" road_photo "$T/road.jpg"
expect_rc "attach a second photo" 0
stop_server
full_server FIELD_ENOSPC_AFTER=400000 -- restart_server
run "$F" sync --json
expect_rc "a sync whose photo fills the server's disk half-way exits 1" 1
expect_stderr_contains "... saying the server's disk is full" \
    "the server's disk is full"
ACKED=$(sqls "SELECT coalesce(max(acked), 0) FROM attachments WHERE stored_ms IS NULL;")
check "... whole chunks only are acknowledged ($ACKED bytes)" \
    test "$ACKED" -gt 0 -a "$ACKED" -lt 400000
_partial=$(find "$T/attachments" -name "$ROAD*" -type f 2>/dev/null | head -n 1)
expect_eq "... the server's partial file holds exactly those bytes" \
    "$(wc -c <"${_partial:-/dev/null}" | tr -d ' ')" "$ACKED"
check "... nothing visible as the photo" test ! -e "$(server_file "$ROAD")"
room_again "$T/road.jpg" "$ROAD"
check "... from where the server stood: fewer bytes than the photo" \
    test "$(jv attachments.bytes_up)" -lt 600000

# The server's file system reports the full disk only when a chunk is
# flushed (fdatasync): the chunk is not acknowledged.
jpeg "$T/env.jpg" 200000
ENV=$(b2 "$T/env.jpg")
run "$F" attach "$REC" env_photo "$T/env.jpg"
expect_rc "attach a third photo" 0
stop_server
full_server FIELD_ENOSPC_AT=sync -- restart_server
run "$F" sync --json
expect_rc "a sync whose chunk cannot be flushed on the server exits 1" 1
expect_stderr_contains "... saying the server's disk is full" \
    "the server's disk is full"
expect_eq "... no byte of it is acknowledged" \
    "$(sqls "SELECT coalesce(max(acked), 0) FROM attachments WHERE hash = '$ENV';")" 0
check "... nothing visible as the photo" test ! -e "$(server_file "$ENV")"
room_again "$T/env.jpg" "$ENV"

# --- (b) field sync --attachments into a full device ------------------------------

home b
n_server=$(sqls "SELECT count(*) FROM versions;")
full "$T/b/attachments" 0 "$F" sync --json --attachments
expect_rc "a download into a full disk exits 1" 1
expect_stderr_line "... in one line" "field: sync: "
expect_stderr_contains "... saying the disk is full" "disk is full"
expect_eq "... the versions are synced all the same" "$(nversions)" "$n_server"
expect_eq "... no photo is visible" \
    "$(find "$T/b/attachments" -name "$PLAN" -path "*/$(echo "$PLAN" | cut -c1-2)/*" -type f | wc -l | tr -d ' ')" 0
expect_eq "... none held" "$(sql "SELECT count(*) FROM attachments WHERE held = 1;")" 0

full "$T/b/attachments" 120000 "$F" sync --json --attachments
expect_rc "a download that fills the disk half-way exits 1" 1
expect_eq "... no photo is visible" \
    "$(find "$T/b/attachments" -name "$PLAN" -path "*/$(echo "$PLAN" | cut -c1-2)/*" -type f | wc -l | tr -d ' ')" 0

run env LD_PRELOAD="$LIB" FIELD_ENOSPC_DIR="$T/b/attachments" \
    FIELD_ENOSPC_AT=sync ASAN_OPTIONS="$ASAN_FULL" \
    "$F" sync --json --attachments
expect_rc "a download whose fsync finds the disk full exits 1" 1
expect_stderr_line "... in one line" "field: sync: "
expect_stderr_contains "... saying the disk is full" "disk is full"
expect_eq "... no photo is visible" \
    "$(find "$T/b/attachments" -path "*/$(echo "$PLAN" | cut -c1-2)/*" -type f | wc -l | tr -d ' ')" 0
expect_eq "... none held" "$(sql "SELECT count(*) FROM attachments WHERE held = 1;")" 0

run "$F" sync --json --attachments
expect_rc "with room again the download completes" 0
expect_eq "... the three photos received" "$(jv attachments.downloaded)" 3
check "... resumed: fewer bytes than the photos came down" \
    test "$(jv attachments.bytes_down)" -lt 1100000
check "... byte for byte" \
    cmp -s "$T/plan.jpg" "$T/b/attachments/$(echo "$PLAN" | cut -c1-2)/$PLAN"
run "$F" verify
expect_rc "... and device b verifies" 0
finish
