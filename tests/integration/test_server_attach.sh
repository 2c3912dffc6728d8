#!/bin/sh
# test_server_attach.sh - photos through the real field-server (issue 10,
# docs/PROTOCOL.md "Attachments (photos)"): a version naming a photo is
# pushed, the photo is uploaded in chunks with fieldctl's signed requests,
# fetched back byte-identical (whole and from an offset), and every bad
# input gets its documented status: a duplicate or out-of-order chunk, a
# chunk beyond the signed size, a wrong content type, a missing offset, a
# device out of scope, bytes that do not match the hash. A server killed
# with -9 in the middle of an upload resumes from the acknowledged offset;
# `field-server record` lists the photos, backup copies them, /metrics
# counts them.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet
province 4201 4202
srv templates --json
TPL=$("$PY" -c 'import json,sys; print([t["hash"] for t in json.load(open(sys.argv[1]))["templates"] if t["id"]=="field-demo"][0])' "$OUT")
enroll ann inspector 4201
enroll bob inspector 4202
enroll adm admin

# b2 FILE - the BLAKE2b-256 of FILE, in hex.
b2() {
    "$PY" -c 'import hashlib,sys; print(hashlib.blake2b(open(sys.argv[1],"rb").read(), digest_size=32).hexdigest())' "$1"
}

# chunk FILE FROM LEN OUT - bytes [FROM, FROM+LEN) of FILE into OUT.
chunk() {
    tail -c +"$(($2 + 1))" "$1" | head -c "$3" >"$4"
}

# put KEY HASH OFFSET FILE [options] - one chunk.
put() {
    _k=$1
    _h=$2
    _o=$3
    _f=$4
    shift 4
    req "$T/$_k.key" PUT "/v1/attachments/$_h?offset=$_o" --body "$_f" \
        --content-type application/octet-stream "$@"
}

# state KEY HASH... - POST /v1/attachments/state; prints "state/offset" per hash.
state() {
    _k=$1
    shift
    "$PY" -c 'import json,sys; print(json.dumps({"hashes": sys.argv[1:]}))' "$@" >"$T/.state"
    req "$T/$_k.key" POST /v1/attachments/state --body "$T/.state"
    "$PY" -c '
import json, sys
for a in json.load(open(sys.argv[1]))["attachments"]:
    print("%s/%s" % (a["state"], a["offset"]))
' "$BODY" | tr '\n' ' ' | sed 's/ $//'
}

MB=1048576
head -c $((3 * MB + 12345)) /dev/urandom >"$T/photo.jpg"
SIZE=$(wc -c <"$T/photo.jpg" | tr -d ' ')
H=$(b2 "$T/photo.jpg")
head -c 200000 /dev/urandom >"$T/second.png"
H2=$(b2 "$T/second.png")
ATT="{\"$H\":{\"bytes\":$SIZE,\"type\":\"image/jpeg\",\"taken\":\"2026-12-01T09:30:00\"},\"$H2\":{\"bytes\":200000,\"type\":\"image/png\"}}"
R1=01936a1b2c3d4e5f60718293a4b5c6d7

expect_eq "before any version names them: unknown" "$(state ann "$H" "$H2")" "unknown/0 unknown/0"
version ann "$T/v1" --record "$R1" --dseq 1 --subject 4201 \
    --template-id field-demo --template-hash "$TPL" --attachments "$ATT"
sync_as ann "$T/v1"
expect_status "a version naming two photos is pushed" 200
expect_eq "... stored" "$(result 0)" "stored"
expect_eq "its photos are missing" "$(state ann "$H" "$H2")" "missing/0 missing/0"
expect_eq "another commune's inspector does not see them" "$(state bob "$H" "$H2")" "unknown/0 unknown/0"
expect_eq "the admin does" "$(state adm "$H")" "missing/0"

# --- chunks ------------------------------------------------------------------

chunk "$T/photo.jpg" 0 $MB "$T/c0"
chunk "$T/photo.jpg" $MB $MB "$T/c1"
chunk "$T/photo.jpg" $((2 * MB)) $((SIZE - 2 * MB)) "$T/c2"
cat "$T/c2" >"$T/c2plus"
printf x >>"$T/c2plus" # one byte more than the signed size

put ann "$H" 0 "$T/c0"
expect_status "the first chunk" 200
expect_eq "... acknowledged" "$(json_get "$BODY" offset)/$(json_get "$BODY" stored)" "$MB/false"
put ann "$H" 0 "$T/c0"
expect_status "the same chunk again" 409 wrong_offset
expect_eq "... says where to resume" "$(json_get "$BODY" error.offset)" "$MB"
put ann "$H" 0 "$T/c0" --expect
expect_status "the same chunk, waiting for 100 Continue" 409 wrong_offset
grep -q "body not sent" "$T/.reqerr" && pass "... refused before its bytes were sent" || fail "... refused before its bytes were sent" "$(cat "$T/.reqerr")"
put bob "$H" $MB "$T/c1" --expect
expect_status "... and out of scope" 404 unknown_attachment
grep -q "body not sent" "$T/.reqerr" && pass "... also before its bytes" || fail "... also before its bytes"
put ann "$H" $((2 * MB)) "$T/c2"
expect_status "a chunk out of order" 409 wrong_offset
put ann "$H" $MB "$T/c1" --content-type application/json
expect_status "a chunk that is not octets" 415 bad_content_type
put ann "$H" $MB "$T/c1" --gzip
expect_status "a gzipped chunk" 415 bad_content_type
req "$T/ann.key" PUT "/v1/attachments/$H" --body "$T/c1" --content-type application/octet-stream
expect_status "a chunk without an offset" 400 bad_request
put ann "ABCD" 0 "$T/c1"
expect_status "a name that is not a hash" 400 bad_request
put bob "$H" $MB "$T/c1"
expect_status "a device out of scope" 404 unknown_attachment
expect_eq "partial, as acknowledged" "$(state ann "$H")" "partial/$MB"
put ann "$H" $MB "$T/c1" --expect
expect_status "the second chunk, after 100 Continue" 200
grep -q "body not sent" "$T/.reqerr" && fail "... its bytes were sent" || pass "... its bytes were sent"
expect_eq "... acknowledged" "$(json_get "$BODY" offset)" "$((2 * MB))"
put ann "$H" $((2 * MB)) "$T/c2plus"
expect_status "a chunk beyond the signed size" 413 beyond_size
ls "$T"/attachments/??/"$H" >/dev/null 2>&1 && fail "nothing whole before the last chunk" || pass "nothing whole before the last chunk"
put ann "$H" $((2 * MB)) "$T/c2"
expect_status "the last chunk" 200
expect_eq "... stored" "$(json_get "$BODY" stored)" true
expect_eq "stored" "$(state ann "$H")" "stored/$SIZE"
put ann "$H" 0 "$T/c0"
expect_status "a chunk of a file stored: nothing written" 200
expect_eq "... says stored" "$(json_get "$BODY" stored)" true

# --- GET -----------------------------------------------------------------------

req "$T/ann.key" GET "/v1/attachments/$H" --output "$T/got.jpg" --dump-headers "$T/got.h"
expect_status "GET the photo" 200
cmp -s "$T/photo.jpg" "$T/got.jpg" && pass "... byte-identical" || fail "... byte-identical"
grep -qi "^Content-Type: image/jpeg" "$T/got.h" && pass "... of the signed type" || fail "... of the signed type" "$(cat "$T/got.h")"
grep -qi "^X-Field-Attachment-Bytes: $SIZE" "$T/got.h" && pass "... with its size" || fail "... with its size" "$(cat "$T/got.h")"
req "$T/adm.key" GET "/v1/attachments/$H?offset=1000000" --output "$T/tail.jpg"
expect_status "GET from an offset" 200
tail -c +1000001 "$T/photo.jpg" >"$T/want.jpg"
cmp -s "$T/want.jpg" "$T/tail.jpg" && pass "... the rest, byte-identical" || fail "... the rest, byte-identical"
req "$T/ann.key" GET "/v1/attachments/$H?offset=$((SIZE + 1))"
expect_status "an offset beyond the size" 400 bad_request
req "$T/bob.key" GET "/v1/attachments/$H"
expect_status "GET out of scope" 404 unknown_attachment
req "$T/ann.key" GET "/v1/attachments/$H2"
expect_status "GET a photo not received" 404 unknown_attachment

# --- bytes that are not the photo ----------------------------------------------

head -c 200000 /dev/urandom >"$T/wrong.png"
put ann "$H2" 0 "$T/wrong.png" --save "$T/wrong.req"
expect_status "a completed file that is not its hash" 422 hash_mismatch
expect_eq "... nothing kept" "$(state ann "$H2")" "missing/0"
ls "$SATT"/??/"$H2" "$SATT/partial/$H2" >/dev/null 2>&1 && fail "... no file left" || pass "... no file left"
# A chunk's signature leaves its bytes out, so it is checked for a replay
# once its bytes are in: the very same request again is refused then.
"$C" send "$URL" "$T/wrong.req" >"$T/.resp" 2>/dev/null
expect_eq "the same signed chunk again: a replay" "$(head -n 1 "$T/.resp")" 401
grep -q '"replayed"' "$T/.resp" && pass "... named so" || fail "... named so" "$(cat "$T/.resp")"
expect_eq "... nothing of it kept" "$(state ann "$H2")" "missing/0"
ls "$SATT/partial/$H2" >/dev/null 2>&1 && fail "... no partial file left" || pass "... no partial file left"

# --- a server killed in the middle of an upload ---------------------------------

chunk "$T/second.png" 0 100000 "$T/s0"
chunk "$T/second.png" 100000 100000 "$T/s1"
put ann "$H2" 0 "$T/s0"
expect_status "half of the second photo" 200
# written, never acknowledged, and longer than the rest of the photo
head -c 150000 /dev/urandom >>"$SATT/partial/$H2"
kill -9 "$SPID"
restart_server
expect_eq "after kill -9, the acknowledged offset" "$(state ann "$H2")" "partial/100000"
put ann "$H2" 100000 "$T/s1"
expect_status "the upload resumes" 200
expect_eq "... and completes" "$(json_get "$BODY" stored)" true
req "$T/ann.key" GET "/v1/attachments/$H2" --output "$T/got.png"
cmp -s "$T/second.png" "$T/got.png" && pass "... byte-identical, the garbage cut" || fail "... byte-identical, the garbage cut"

# --- record, backup, metrics ---------------------------------------------------

srv record "$R1"
expect_rc "record lists the photos" 0
expect_stdout_contains "... the first" "photo     $H $SIZE bytes image/jpeg taken 2026-12-01T09:30:00, stored"
expect_stdout_contains "... the second" "photo     $H2 200000 bytes image/png, stored"
srv record --json "$R1"
expect_eq "... in JSON" "$(json_get "$OUT" attachments.0.stored)" true
srv backup "$T/copy.db"
expect_rc "backup" 0
expect_stdout_contains "... copies the photos" "2 attachments"
cmp -s "$T/photo.jpg" "$T/copy.db.attachments/$(echo "$H" | cut -c1-2)/$H" && pass "... byte-identical" || fail "... byte-identical"
req - GET /metrics
expect_status "metrics" 200
grep -q 'route="attachment"' "$BODY" && pass "... a route for the photos" || fail "... a route for the photos"
grep -q "field_attachment_bytes_total{direction=\"received\"} 100000" "$BODY" && pass "... the bytes received since the restart" || fail "... the bytes received" "$(grep attachment "$BODY")"
stop_server
expect_eq "the server stops cleanly" "$RC" 0
finish
