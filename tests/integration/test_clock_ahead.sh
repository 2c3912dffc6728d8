#!/bin/sh
# test_clock_ahead.sh - clocks from the future (issue 13, finding 3), with
# the real programs and a tablet whose clock runs ten years ahead
# (libfaketime). While offline it edits a record concurrently with a
# correct device. The server keeps its version, signed evidence, but marks
# it (versions.ahead_ms), audits it and shows it in `field-server record`;
# neither device nor the server shows its value first or its time as the
# record's. Its next sync teaches the tablet the server's time, and its
# next version is stamped at real time again, its chain (dseq, prev)
# unbroken. Stamps beyond 2^53-1 ms or a huge counter are flagged too.
. "$(dirname "$0")/server_lib.sh"

FAKE_LIB=$(faketime_lib)
if [ -z "$FAKE_LIB" ]; then
    skip "clocks from the future (libfaketime not installed: apt-get install faketime)"
    finish
fi

# ahead CMD... - run CMD with the clock ten years (3652 days) ahead.
ahead() {
    LD_PRELOAD=$FAKE_LIB FAKETIME=+3652d FAKETIME_DONT_FAKE_MONOTONIC=1 \
        ASAN_OPTIONS=verify_asan_link_order=0:${ASAN_OPTIONS:-} "$@"
}
YEAR=$(date -u +%Y)

start_server main --quiet
province 4201
enroll_device office "Lê Thị Dung"
enroll_device tablet "Phạm Văn Cường"

home office
R=$(new_record 4201 inspection_date=2026-11-28 households_total=50)
run "$F" sync --retries 0
expect_rc "the office syncs the record" 0
home tablet
run "$F" sync --retries 0
expect_rc "the tablet pulls it" 0

# Offline, ten years ahead, the tablet edits; the office edits too.
run ahead "$F" set "$R" remarks=tablet
expect_rc "the tablet edits with its clock ten years ahead" 0
TAB1=$(sql "SELECT hash FROM versions WHERE author = (SELECT value FROM meta WHERE key = 'device.public') ORDER BY dseq DESC LIMIT 1;")
DSEQ1=$(sql "SELECT max(dseq) FROM versions WHERE hash = '$TAB1';")
home office
run "$F" set "$R" remarks=office
expect_rc "the office edits at the right time" 0
run "$F" sync --retries 0
expect_rc "the office syncs" 0

home tablet
run ahead "$F" sync --retries 0 --json
expect_rc "the tablet syncs (its clock corrected by the server's)" 0
expect_eq "... its version is stored" \
    "$(sqls "SELECT count(*) FROM versions WHERE hash = '$TAB1';")" 1
# 3000 days in ms, as a literal: 86400000 * 3000 overflows PostgreSQL's integer.
expect_eq "... marked as stamped ahead of its receipt" \
    "$(sqls "SELECT CAST(ahead_ms > 259200000000 AS integer) FROM versions WHERE hash = '$TAB1';")" 1
expect_eq "... and audited" \
    "$(sqls "SELECT count(*) FROM audit WHERE kind = 'clock_ahead' AND subject = '$TAB1';")" 1
expect_eq "the office's version is not marked" \
    "$(sqls "SELECT count(*) FROM versions WHERE record = '$R' AND ahead_ms IS NOT NULL;")" 1

srv record "$R"
expect_rc "field-server record shows the record" 0
expect_stdout_contains "... with the office's value first" 'conflict  remarks: "office" by'
expect_stdout_contains "... and the version from the future marked" "clock ahead"

home office
run "$F" sync --retries 0
run "$F" show --json "$R"
expect_stdout_contains "the office shows its own value first" '"remarks":"office"'
expect_stdout_lacks "... never the future's" '"remarks":"tablet"'
home tablet
run ahead "$F" show --json "$R"
expect_stdout_contains "the tablet, corrected, shows the office's value too" '"remarks":"office"'

# Its next version: real time again, the chain unbroken. It settles the
# conflict: its parents are both heads, so it supersedes both, whatever
# their stamps.
run ahead "$F" resolve "$R" remarks=sau
expect_rc "the tablet settles the conflict" 0
TAB2=$(sql "SELECT hash FROM versions WHERE author = (SELECT value FROM meta WHERE key = 'device.public') ORDER BY dseq DESC LIMIT 1;")
expect_eq "... one more in its chain" "$(sql "SELECT dseq FROM versions WHERE hash = '$TAB2';")" $((DSEQ1 + 1))
expect_eq "... after the wrong one" "$(sql "SELECT prev FROM versions WHERE hash = '$TAB2';")" "$TAB1"
expect_eq "... stamped this year, not ten years on" \
    "$(sql "SELECT strftime('%Y', hlc_ms / 1000, 'unixepoch') FROM versions WHERE hash = '$TAB2';")" "$YEAR"
run ahead "$F" verify
expect_rc "the tablet's store verifies" 0
run ahead "$F" sync --retries 0 --json
expect_eq "... and the server stores it unmarked" \
    "$(sqls "SELECT CAST(ahead_ms IS NULL AS integer) FROM versions WHERE hash = '$TAB2';")" 1
run ahead "$F" show --json "$R"
expect_stdout_contains "the version made after the wrong one supersedes it" '"remarks":"sau"'

# Stamps no clock reaches: year 9999, 2^53-1 ms, a counter of 2^40.
enroll ann inspector 4201
srv templates --json
TPL=$("$PY" -c 'import json,sys; print([t["hash"] for t in json.load(open(sys.argv[1]))["templates"] if t["id"]=="field-demo"][0])' "$OUT")
version ann "$T/y9999" --record 01936a1b2c3d4e5f60718293a4b5c6e1 --dseq 1 --subject 4201 \
    --template-id field-demo --template-hash "$TPL" --hlc 253402300799000
H1=$("$C" hash "$T/y9999")
version ann "$T/max" --record 01936a1b2c3d4e5f60718293a4b5c6e2 --dseq 2 --prev "$H1" \
    --subject 4201 --template-id field-demo --template-hash "$TPL" --hlc 9007199254740991
H2=$("$C" hash "$T/max")
version ann "$T/count" --record 01936a1b2c3d4e5f60718293a4b5c6e3 --dseq 3 --prev "$H2" \
    --subject 4201 --template-id field-demo --template-hash "$TPL" \
    --hlc "$(($(date +%s) * 1000 + 600000))" --hlc-counter 1099511627776
sync_as ann "$T/y9999" "$T/max" "$T/count"
expect_status "the stamps are answered" 200
expect_eq "year 9999, 2^53-1 ms and ten minutes ahead: all kept, all marked" \
    "$(sqls "SELECT count(*) FROM versions WHERE author = '$(cat "$T/ann.pub")' AND ahead_ms > 0;")" 3
finish
