#!/bin/sh
# test_same_bytes.sh - the same inspection work done by two `field`
# programs, $F and $FIELD_OTHER, exchanged through the server. make check
# runs it with one program for both; scripts/check-cross.sh (make
# check-arm64) with $F the arm64 build under qemu and $FIELD_OTHER the
# x86-64 one. Both replicas must end with the same versions byte for byte
# (canonical body, hash, signature), each verifying the other's, every
# hash recomputed here with Python's BLAKE2b, and the merged record shown
# identically. Vietnamese typed decomposed and decimals with a comma go
# through each program's normalisation (utf8proc, number formatting).
. "$(dirname "$0")/server_lib.sh"

A=$F
X=${FIELD_OTHER:-$F}

start_server main --quiet
province 4201

enroll_device arm "Nguyễn Văn An"
F=$X
enroll_device x86 "Trần Thị Bình"
F=$A

# "Đã kiểm tra" typed decomposed (a and e with combining marks) must be
# stored composed (NFC) by both.
NFD=$(printf '\304\220a\314\203 kie\314\202\314\211m tra')
home arm
R=$(new_record 4201 inspection_date=28/11/2026 households_total=100 \
    households_latrine=80 road_total_km=24,60)
run "$A" set "$R" "remarks=$NFD"
expect_rc "arm64: set" 0
run "$A" sync --retries 0
expect_rc "arm64: sync" 0

home x86
run "$X" sync --retries 0
expect_rc "x86-64: sync" 0
run "$X" set "$R" households_latrine=90 road_total_km=3,5
expect_rc "x86-64: set" 0
R2=$("$X" new field-demo --subject 4201 "remarks=$NFD" </dev/null)
run "$X" sync --retries 0
expect_rc "x86-64: sync again" 0
home arm
run "$A" set "$R" households_latrine=85
run "$A" sync --retries 0
expect_rc "arm64: sync again" 0
home x86
run "$X" sync --retries 0
home arm
run "$A" sync --retries 0

dump() { # the versions of data directory $1, every byte, in hash order
    sqlite3 -batch "$T/$1/field.db" \
        "SELECT hash, hex(body), hex(sig) FROM versions ORDER BY hash;"
}
dump x86 >"$T/.x"
expect_eq "the replica holds the five versions" "$(dump arm | wc -l)" 5
if [ "$(dump arm)" = "$(cat "$T/.x")" ]; then
    pass "the same versions on both, body, hash and signature, byte for byte"
else
    fail "the same versions on both" "$(dump arm | diff - "$T/.x" 2>&1 | head -n 5)"
fi
expect_eq "every hash is BLAKE2b-256 of its body" "$("$PY" -c '
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
bad = [h for h, b in db.execute("SELECT hash, body FROM versions")
       if hashlib.blake2b(b, digest_size=32).hexdigest() != h]
print(len(bad))' "$T/arm/field.db")" 0
home arm
run "$A" verify
expect_rc "arm64 verifies every version, the x86-64 ones too" 0
home x86
run "$X" verify
expect_rc "x86-64 verifies every version, the arm64 ones too" 0
in_bodies() { # how many bodies of data directory $1 hold the bytes $2
    sqlite3 -batch "$T/$1/field.db" \
        "SELECT count(*) FROM versions WHERE instr(body, '$2') > 0;"
}
NFC=$(printf '\304\220\303\243 ki\341\273\203m tra')
expect_eq "the text typed decomposed is stored composed (NFC), by both" \
    "$(in_bodies x86 "$NFD") $(in_bodies arm "$NFD") $([ "$(in_bodies arm "$NFC")" -ge 2 ] && echo yes)" \
    "0 0 yes"
home arm
"$A" show --json "$R" >"$T/arm.json" 2>&1
home x86
"$X" show --json "$R" >"$T/x86.json" 2>&1
if cmp -s "$T/arm.json" "$T/x86.json"; then
    pass "show --json of the merged record: the same bytes on both"
else
    fail "show --json of the merged record" "$(diff "$T/arm.json" "$T/x86.json" | head -n 6)"
fi
[ -n "$R2" ] || fail "x86-64: new record" ""

finish
