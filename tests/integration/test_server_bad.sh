#!/bin/sh
# test_server_bad.sh - bad input of every kind against the real
# field-server over loopback. Each must get the right 4xx status and a
# JSON error {"error":{"code":...,"message":...}}, store nothing, and
# leave the server serving others at full speed.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet --max-body 64K --max-inflated 256K --request-timeout 2
enroll ann admin
srv templates --json
TPL=$("$PY" -c 'import json,sys; print([t["hash"] for t in json.load(open(sys.argv[1]))["templates"] if t["id"]=="field-demo"][0])' "$OUT")
version ann "$T/v1" --record 01936a1b2c3d4e5f60718293a4b5c6d7 --dseq 1 \
    --subject 42 --template-id field-demo --template-hash "$TPL"
"$C" sync-body "$T/v1" >"$T/good"

# refused NAME CODE ERROR [req options] - POST /v1/sync as ann with the
# options; expect the status and error, and no version stored.
refused() {
    _n=$1
    _code=$2
    _err=$3
    shift 3
    _before=$(sqls 'SELECT count(*) FROM versions')
    req "$T/ann.key" POST /v1/sync "$@"
    expect_status "$_n: $_code $_err" "$_code" "$_err"
    expect_eq "$_n: nothing stored" "$(sqls 'SELECT count(*) FROM versions')" "$_before"
}

# --- the body's text -----------------------------------------------------------

printf '{"push":[' >"$T/b"
refused "malformed JSON" 400 bad_json --body "$T/b"
printf '[1,2,3]' >"$T/b"
refused "not an object" 400 bad_json --body "$T/b"
printf '' >"$T/b"
refused "an empty body" 400 bad_json --body "$T/b"
printf '{"push":"all of them"}' >"$T/b"
refused "push of the wrong type" 400 bad_request --body "$T/b"
printf '{"limit":"ten"}' >"$T/b"
refused "limit of the wrong type" 400 bad_request --body "$T/b"
printf '{"limit":1.5}' >"$T/b"
refused "a fractional limit" 400 bad_request --body "$T/b"
printf '{"limit":100000}' >"$T/b"
refused "a limit out of range" 400 bad_request --body "$T/b"
printf '{"push":[{"body":7,"sig":"00"}]}' >"$T/b"
refused "an item of the wrong types" 400 bad_request --body "$T/b"
printf '{"cursor":"\377\376"}' >"$T/b"
refused "invalid UTF-8" 400 bad_utf8 --body "$T/b"
printf '{"cursor":"\355\240\200"}' >"$T/b"
refused "an encoded surrogate" 400 bad_utf8 --body "$T/b"
"$PY" -c 'import sys; sys.stdout.write("{\"a\":" + "[" * 5000 + "]" * 5000 + "}")' >"$T/b"
refused "deep nesting" 400 too_deep --body "$T/b"
# A valid version followed by garbage: nothing of it is stored.
{ cat "$T/good"; printf 'garbage'; } >"$T/b"
refused "a good push with trailing bytes" 400 bad_json --body "$T/b"

# --- size -------------------------------------------------------------------------

head -c 200000 /dev/zero | tr '\0' ' ' >"$T/big"
refused "a body over the cap" 413 too_large --body "$T/big"
refused "a chunked body over the cap" 413 too_large --body "$T/big" --chunked
"$PY" -c '
import json, sys
items = [{"body": "x", "sig": "0" * 128}] * 1001
sys.stdout.write(json.dumps({"push": items}))' >"$T/b"
refused "more versions than a batch allows" 413 too_large --body "$T/b"

# --- gzip ---------------------------------------------------------------------------

printf 'this is not gzip' >"$T/b"
refused "bad gzip" 400 bad_gzip --body "$T/b" --encoding gzip
gzip -c <"$T/good" | head -c 40 >"$T/b"
refused "truncated gzip" 400 bad_gzip --body "$T/b" --encoding gzip
{ gzip -c <"$T/good"; printf 'trailing'; } >"$T/b"
refused "gzip with trailing bytes" 400 bad_gzip --body "$T/b" --encoding gzip
head -c 50000000 /dev/zero | gzip -c >"$T/bomb"
refused "a decompression bomb (50 MB of zeros)" 413 too_large --body "$T/bomb" --encoding gzip
refused "an unknown encoding" 415 unsupported_encoding --body "$T/good" --encoding br
req "$T/ann.key" POST /v1/sync --body "$T/good" --gzip --accept-gzip
expect_status "a gzipped push is accepted" 200
expect_eq "... and stored" "$(sqls 'SELECT count(*) FROM versions')" 1

# --- headers and signatures ------------------------------------------------------------

refused "the wrong content type" 415 unsupported_media_type --body "$T/good" --content-type text/plain
refused "no content type" 415 unsupported_media_type --body "$T/good" --content-type ""
refused "a corrupted signature" 401 bad_signature --body "$T/good" --corrupt-sig
req - POST /v1/sync --body "$T/good"
expect_status "an unsigned request" 401 unsigned
device mallory >/dev/null
req "$T/mallory.key" POST /v1/sync --body "$T/good"
expect_status "an unknown device" 401 unknown_device
req "$T/ann.key" POST /v1/sync --body "$T/good" --save "$T/captured"
sed 's/^X-Field-Time: .*/X-Field-Time: soon\r/' "$T/captured" >"$T/badtime"
"$C" send "$URL/v1/sync" "$T/badtime" >"$T/.resp"
STATUS=$(head -n 1 "$T/.resp"); tail -n +2 "$T/.resp" >"$BODY"
expect_status "a malformed time header" 401 bad_auth_header
"$C" send "$URL/v1/sync" "$T/captured" >"$T/.resp"
STATUS=$(head -n 1 "$T/.resp"); tail -n +2 "$T/.resp" >"$BODY"
expect_status "a replayed request" 401 replayed

# --- a slow client does not hold up the others -------------------------------------------

"$C" request "$T/ann.key" POST "$URL/v1/sync" --body "$T/good" --trickle 300 \
    >"$T/slow.out" 2>&1 &
slow=$!
sleep 0.5
t0=$("$PY" -c 'import time; print(time.time())')
req - GET /v1/health
t1=$("$PY" -c 'import time; print(time.time())')
expect_status "another client is served while one trickles" 200
expect_eq "... at once" "$("$PY" -c "print($t1 - $t0 < 1.0)")" True
wait "$slow"
STATUS=$(head -n 1 "$T/slow.out"); tail -n +2 "$T/slow.out" >"$BODY"
expect_status "the trickling client is cut off" 408 timeout

# --- still standing -------------------------------------------------------------------------

req - GET /v1/health
expect_status "the server is still serving" 200
req - GET /metrics
expect_match "metrics count the refusals" "$(cat "$BODY")" '*field_refusals_total{what="request",reason="bad_gzip"} 3*'
stop_server
expect_eq "the server stops cleanly" "$RC" 0
if grep -q -e Sanitizer -e "runtime error" "$T/main.log"; then
    fail "no sanitizer report from the server" "$(head -c 3000 "$T/main.log")"
else
    pass "no sanitizer report from the server"
fi

# --- the log --------------------------------------------------------------------------
# libmicrohttpd hands the server the path decoded: a %0A in it must not
# start a forged line of the server's log.
start_server logged
"$PY" - "$PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /v1/x%0Afield-server:%20FORGED HTTP/1.1\r\n"
          b"Host: x\r\nConnection: close\r\n\r\n")
while s.recv(4096):
    pass
EOF
stop_server
if grep -q "^field-server: FORGED" "$T/logged.log"; then
    fail "a newline in a path forges no line of the log" "$(cat "$T/logged.log")"
else
    pass "a newline in a path forges no line of the log"
fi
expect_eq "... it is logged as it was sent" \
    "$(grep -c '^field-server: GET /v1/x%0Afield-server: FORGED 404 ' "$T/logged.log")" 1
finish
