#!/bin/sh
# test_ui_api.sh - `field ui` as a browser sees it, driven with curl on
# 127.0.0.1 (a free port): the page and its security headers, the session
# cookie and the CSRF token, the Host and Origin checks, every endpoint of
# the JSON API and its bad input (unknown record, wrong types, bad JSON,
# oversized bodies, no session, no or wrong token), a saved answer that
# `field show` reads and `field verify` verifies, a stale save refused,
# finalize, history; photos uploaded as `field attach` adds them, with
# every refusal, and served back; the report fetched on its own thread
# (a server that never answers holds no other request); pairing (--pair on loopback: the same code path as a
# LAN address) with a wrong code, the rate limit and the right code; the
# passphrase asked once; SIGTERM ends it with exit 0. Every `field ui`
# started is killed by the EXIT trap.
. "$(dirname "$0")/lib.sh"

if ! command -v curl >/dev/null 2>&1; then
    skip "curl is not installed"
    finish
fi

. "$(dirname "$0")/ui_lib.sh"
JAR="$T/jar"
BODY="$T/body"
HDR="$T/hdr"

# jget KEY - a top-level member of the JSON on standard input ("" if none).
jget() {
    "$PY" -c 'import json,sys
d = json.load(sys.stdin)
v = d.get(sys.argv[1], "") if isinstance(d, dict) else ""
print(v if not isinstance(v, (dict, list)) else json.dumps(v, sort_keys=True, ensure_ascii=False))' "$1"
}

# req METHOD PATH [BODY [CURL OPTIONS...]] - one request with the cookie
# jar; the status in $CODE, the body in $BODY, the headers in $HDR.
req() {
    _m=$1
    _p=$2
    shift 2
    if [ $# -gt 0 ]; then
        _b=$1
        shift
        CODE=$(curl -s -o "$BODY" -D "$HDR" -w '%{http_code}' -b "$JAR" \
            -c "$JAR" -X "$_m" -H 'Content-Type: application/json' \
            -H "X-CSRF-Token: $CSRF" --data-binary "$_b" "$@" "$UI_URL${_p#/}")
    else
        CODE=$(curl -s -o "$BODY" -D "$HDR" -w '%{http_code}' -b "$JAR" \
            -c "$JAR" -X "$_m" "$UI_URL${_p#/}")
    fi
}

expect_code() { # NAME WANT
    if [ "$CODE" = "$2" ]; then
        pass "$1"
    else
        fail "$1" "status $CODE, want $2" "$(head -c 400 "$BODY")"
    fi
}

expect_error() { # NAME STATUS ERROR-CODE: the stable error shape, one line
    expect_code "$1: $2" "$2"
    _e=$(jget error <"$BODY")
    _vi=$(jget message_vi <"$BODY")
    _en=$(jget message_en <"$BODY")
    if [ "$_e" = "$3" ] && [ -n "$_vi" ] && [ -n "$_en" ] &&
        [ "$(wc -l <"$BODY")" -le 1 ]; then
        pass "$1: error $3 with Vietnamese and English messages"
    else
        fail "$1: error $3 with Vietnamese and English messages" \
            "$(head -c 400 "$BODY")"
    fi
}

header_has() { # NAME TEXT
    if tr -d '\r' <"$HDR" | grep -qiF -- "$2"; then
        pass "$1"
    else
        fail "$1" "no header line with: $2" "$(cat "$HDR")"
    fi
}

versions() { sql "SELECT count(*) FROM versions;"; }

# --- the command ---------------------------------------------------------------

run "$F" ui --help
expect_rc "ui --help exits 0" 0
expect_match "ui --help prints its usage" "$(head -n 1 "$OUT")" "usage: field ui*"
home nothing
run "$F" ui
expect_rc "ui without a data directory exits 3" 3
expect_stderr_line "ui without a data directory: one line" "field: ui: "

init_home ui --inspector "Nguyễn Văn An"
run "$F" ui --port 70000
expect_rc "ui --port 70000 exits 2" 2
run "$F" ui --listen nowhere.example
expect_rc "ui --listen NAME exits 2" 2
expect_stderr_contains "ui --listen NAME says why" "not a numeric IP address"
run "$F" ui extra
expect_rc "ui with an argument exits 2" 2

# --- the page and its headers --------------------------------------------------

start_ui
expect_match "the URL is on 127.0.0.1" "$UI_URL" "http://127.0.0.1:*/"
expect_eq "no pairing code on loopback" "$(ui_json pairing_code)" ""
CSRF=""
req POST /api/records '{}'
expect_error "a POST without a session" 401 no_session
req GET /api/session
expect_error "GET /api/session without a session" 401 no_session

req GET /
expect_code "GET / serves the page" 200
header_has "the page sets the session cookie" "Set-Cookie: field_ui="
header_has "the cookie is HttpOnly" "HttpOnly"
header_has "the cookie is SameSite=Strict" "SameSite=Strict"
header_has "a Content-Security-Policy" "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'"
header_has "the CSP forbids frames" "frame-ancestors 'none'"
header_has "nosniff" "X-Content-Type-Options: nosniff"
header_has "no referrer" "Referrer-Policy: no-referrer"
if grep -q '<script src="/app.js"' "$BODY" && ! grep -qi '<script>' "$BODY" &&
    ! grep -qi 'https\?://' "$BODY"; then
    pass "the page loads its script from this server only, nothing inline"
else
    fail "the page loads its script from this server only, nothing inline"
fi
req GET /app.js
expect_code "GET /app.js" 200
header_has "app.js is JavaScript" "Content-Type: text/javascript"
# The files are kept gzip-compressed: a browser gets them so, a client
# that does not take gzip gets them inflated, and both are the same file.
cp "$BODY" "$T/app.js.plain"
CODE=$(curl -s -o "$T/app.js.gz" -D "$HDR" -w '%{http_code}' \
    -H 'Accept-Encoding: gzip, deflate' "${UI_URL}app.js")
expect_eq "GET /app.js taking gzip" "$CODE" 200
header_has "app.js comes gzip-compressed to a browser" "Content-Encoding: gzip"
check "the compressed app.js inflates to the plain one" \
    sh -c 'gzip -dc "$1" | cmp - "$2"' sh "$T/app.js.gz" "$T/app.js.plain"
check "the plain app.js is the source file" cmp "$T/app.js.plain" field/ui/app.js
req GET /app.css
expect_code "GET /app.css" 200
header_has "app.css is CSS" "Content-Type: text/css"
req GET /nothing
expect_error "an unknown page" 404 not_found
header_has "a 404 has the CSP too" "Content-Security-Policy:"

# DNS rebinding: a name that resolves here is still refused
CODE=$(curl -s -o "$BODY" -w '%{http_code}' -H "Host: evil.example:$UI_PORT" "$UI_URL")
expect_error "a Host that is a name" 403 bad_host
CODE=$(curl -s -o "$BODY" -w '%{http_code}' -H "Host: 127.0.0.1:1" "$UI_URL")
expect_error "a Host with another port" 403 bad_host

req GET /api/session
expect_code "GET /api/session with the cookie" 200
CSRF=$(jget csrf <"$BODY")
expect_eq "the CSRF token is 64 hex digits" "$(printf %s "$CSRF" | tr -d '0-9a-f' | wc -c)$(printf %s "$CSRF" | wc -c)" "064"
expect_eq "the session names the inspector" "$(jget inspector <"$BODY")" "Nguyễn Văn An"
if grep -qi 'seed\|secret\|passphrase\|private' "$BODY"; then
    fail "the session says nothing of the key" "$(cat "$BODY")"
else
    pass "the session says nothing of the key"
fi

# --- CSRF and Origin --------------------------------------------------------------

NEW='{"template": "field-demo", "unit": "18766"}'
GOOD=$CSRF
CSRF=""
req POST /api/records "$NEW"
expect_error "a POST without X-CSRF-Token" 403 csrf
CSRF=$(printf %s "$GOOD" | tr '0-9a-f' '1-9a-f0')
req POST /api/records "$NEW"
expect_error "a POST with a wrong X-CSRF-Token" 403 csrf
CSRF=$GOOD
req POST /api/records "$NEW" -H "Origin: http://evil.example"
expect_error "a POST from another Origin" 403 bad_origin
expect_eq "nothing was written by the refused requests" "$(versions)" "0"

# --- templates, units, new records ------------------------------------------------

req GET /api/templates
expect_code "GET /api/templates" 200
expect_stdout_contains_body() { grep -qF -- "$2" "$BODY" && pass "$1" || fail "$1" "$(head -c 300 "$BODY")"; }
expect_stdout_contains_body "the templates list field-demo with its title" '"id":"field-demo"'
req GET "/api/units?q=ky%20xuan"
expect_code "GET /api/units?q=ky xuan" 200
expect_stdout_contains_body "a unit found without its diacritics" '"name":"Kỳ Xuân"'
req GET "/api/units?q=$(printf 'x%.0s' $(seq 1 200))"
expect_error "a search text too long" 400 bad_request

req POST /api/records '{"template": 7, "unit": "18766"}'
expect_error "a template of the wrong type" 400 bad_type
expect_eq "the error names the member" "$(jget field <"$BODY")" "template"
req POST /api/records '{"template": "field-demo"'
expect_error "a body that is not JSON" 400 bad_json
req POST /api/records '{"template": "nope", "unit": "18766"}'
expect_error "an unknown template" 404 not_found
req POST /api/records "$NEW"
expect_code "POST /api/records makes a record" 201
ID=$(jget id <"$BODY")
expect_eq "one signed version" "$(versions)" "1"
run "$F" show --json "$ID"
expect_rc "field show reads the new record" 0

req GET /api/records
expect_stdout_contains_body "the list has the record" "\"id\":\"$ID\""
req GET "/api/records?status=final"
expect_eq "a status filter" "$(cat "$BODY")" "[]"

# --- the form state, evaluate, save ------------------------------------------------

req GET "/api/records/$ID"
expect_code "GET /api/records/ID" 200
BASE=$(jget base <"$BODY")
expect_stdout_contains_body "the state lists what is missing" '"key":"inspection_date","kind":"required"'
expect_stdout_contains_body "the state has the Vietnamese labels" '"vi":"Ngày kiểm tra"'

req POST "/api/records/$ID/evaluate" '{"answers": {"households_total": "10", "households_latrine": "12", "road_total_km": "abc"}}'
expect_code "evaluate" 200
expect_stdout_contains_body "evaluate gives the constraint message" 'Cannot exceed the households in all'
expect_stdout_contains_body "evaluate names a value of the wrong type" '"road_total_km":"road_total_km: \"abc\" is not a decimal number'
expect_eq "evaluate saves nothing" "$(versions)" "1"

req POST "/api/records/$ID/save" "{\"base\": \"$BASE\", \"answers\": {\"households_total\": \"10\", \"households_latrine\": \"12\"}}"
expect_error "a save breaking a constraint" 422 refused
expect_eq "a refused save writes nothing" "$(versions)" "1"
req POST "/api/records/$ID/save" "{\"base\": \"$BASE\", \"answers\": {\"households_total\": 10}}"
expect_error "an answer of the wrong JSON type" 400 bad_type
expect_eq "the error names the answer" "$(jget field <"$BODY")" "answers.households_total"
req POST "/api/records/$ID/save" '{"answers": {}}'
expect_error "a save without its base" 400 bad_type

req POST "/api/records/$ID/save" "{\"base\": \"$BASE\", \"answers\": {\"households_total\": \"10\", \"households_latrine\": \"8\", \"remarks\": \"Đường đẹp\"}}"
expect_code "a save" 200
expect_eq "a save is one signed version" "$(versions)" "2"
run "$F" show --json "$ID"
expect_eq "field show has the saved answer" "$(jget answers <"$OUT")" '{"households_latrine": 8, "households_total": 10, "remarks": "Đường đẹp"}'
run "$F" verify
expect_rc "field verify passes after a save" 0

req POST "/api/records/$ID/save" "{\"base\": \"$BASE\", \"answers\": {\"remarks\": \"khác\"}}"
expect_error "a save from a stale base" 409 moved
expect_stdout_contains_body "the 409 carries the current state" '"state":{'
expect_eq "a stale save writes nothing" "$(versions)" "2"

# --- bodies too large ----------------------------------------------------------------

head -c 2000000 /dev/zero | tr '\0' 'a' >"$T/big"
CODE=$(curl -s -o "$BODY" -w '%{http_code}' -b "$JAR" -H 'Content-Type: application/json' \
    -H "X-CSRF-Token: $CSRF" --data-binary @"$T/big" "${UI_URL}api/records/$ID/evaluate")
expect_error "a 2 MB body" 413 too_large
CODE=$(curl -s -o "$BODY" -w '%{http_code}' -b "$JAR" -H 'Content-Type: application/json' \
    -H 'Transfer-Encoding: chunked' -H "X-CSRF-Token: $CSRF" \
    --data-binary @"$T/big" "${UI_URL}api/records/$ID/evaluate")
expect_error "a 2 MB chunked body" 413 too_large
expect_eq "nothing written by large bodies" "$(versions)" "2"

# --- unknown records, finalize, history -------------------------------------------------

req GET /api/records/0123456789abcdef0123456789abcdef
expect_error "an unknown record" 404 not_found
req POST /api/records/0123456789abcdef0123456789abcdef/finalize '{}'
expect_error "finalize of an unknown record" 404 not_found
req GET /api/records/not-hex
expect_error "a record id that is not hex" 404 not_found

req POST "/api/records/$ID/finalize" '{}'
expect_error "finalize with answers missing" 422 incomplete
expect_stdout_contains_body "finalize lists each missing question" '"key":"planning_approved"'
expect_eq "a refused finalize writes nothing" "$(versions)" "2"

req GET "/api/records/$ID"
BASE=$(jget base <"$BODY")
req POST "/api/records/$ID/save" "{\"base\": \"$BASE\", \"answers\": {\"inspection_date\": \"2026-11-28\", \"planning_approved\": \"yes\", \"road_total_km\": \"12,5\", \"road_hardened_km\": \"10\"}}"
expect_code "the missing answers saved" 200
req POST "/api/records/$ID/finalize" '{}'
expect_code "finalize" 200
run "$F" show --json "$ID"
expect_eq "field show: final" "$(jget status <"$OUT")" "final"
expect_eq "field show: the decimal as typed with a comma, normalised" \
    "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["answers"]["road_total_km"])' "$OUT")" "12.5"

req GET "/api/records/$ID/history"
expect_code "history" 200
expect_eq "history has every version" "$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$BODY")" "4"
expect_stdout_contains_body "history says what changed" '{"after":"Đường đẹp","name":"remarks"}'

# --- a record edited on another device meanwhile --------------------------------------

req POST /api/records "$NEW"
R2=$(jget id <"$BODY")
req GET "/api/records/$R2"
BASE2=$(jget base <"$BODY")
# another device gets the record by a bundle (the UI's store stays open),
# edits it, and its version comes back the same way
run "$F" bundle export --record "$R2" "$T/r2.fb"
expect_rc "a bundle of the record while field ui runs" 0
home other
run "$F" init --inspector "Trần Thị Bình"
run "$F" bundle import "$T/r2.fb"
run "$F" set "$R2" households_total=30
expect_rc "the other device edits" 0
run "$F" bundle export --record "$R2" "$T/r2b.fb"
home ui
run "$F" bundle import "$T/r2b.fb"
expect_rc "its version comes back" 0
N=$(versions)
req POST "/api/records/$R2/save" "{\"base\": \"$BASE2\", \"answers\": {\"households_total\": \"40\"}}"
expect_error "a save over the other device's edit" 409 moved
expect_eq "the 409 shows the other device's answer" \
    "$("$PY" -c 'import json,sys
d = json.load(open(sys.argv[1]))["state"]
print([q["value"] for s in d["sections"] for q in s.get("questions", []) if q["name"] == "households_total"][0])' "$BODY")" "30"
expect_eq "nothing overwritten" "$(versions)" "$N"

# both edit the same answer concurrently: a conflict, shown and not edited here
req GET "/api/records/$R2"
BASE2=$(jget base <"$BODY")
req POST "/api/records/$R2/save" "{\"base\": \"$BASE2\", \"answers\": {\"households_total\": \"40\"}}"
expect_code "a save on the current base" 200
home other
run "$F" set "$R2" households_total=50
run "$F" bundle export --record "$R2" "$T/r2c.fb"
home ui
run "$F" bundle import "$T/r2c.fb"
req GET "/api/records/$R2"
expect_eq "the state counts the conflict" "$(jget conflicts <"$BODY")" "1"
expect_eq "a record with a conflict is not editable here" "$(jget editable <"$BODY")" "False"
N=$(versions)
req POST "/api/records/$R2/save" "{\"base\": \"$(jget base <"$BODY")\", \"answers\": {\"remarks\": \"x\"}}"
expect_error "a save of a record with a conflict" 409 moved
expect_eq "nothing written over a conflict" "$(versions)" "$N"

# --- the review inbox and the decisions ------------------------------------------------

N=$(versions)
req GET /api/review
expect_error "the inbox on an inspector's device" 403 not_supervisor
req POST "/api/records/$ID/approve" '{}'
expect_error "an approval from a device not enrolled as supervisor" 403 not_supervisor
expect_eq "... writing nothing" "$(versions)" "$N"
# What `field enroll` records for a supervisor, written directly: the
# decisions are signed here whatever the server; test_review.sh and
# ui_browser.py enroll a supervisor with a real field-server.
sql "INSERT INTO meta(key, value) VALUES ('sync.role', 'supervisor'), ('sync.scope', '18766');"
req GET /api/session
expect_eq "the session says the role" "$(jget role <"$BODY")" "supervisor"
req GET /api/review
expect_code "GET /api/review" 200
expect_eq "the inbox holds the final record only, with its unit's name" \
    "$("$PY" -c 'import json,sys; print([(r["record"], r["unit_name"]) for r in json.load(open(sys.argv[1]))])' "$BODY")" \
    "[('$ID', 'Kỳ Xuân')]"
run "$F" review --json
expect_eq "... the same records as field review --json" \
    "$("$PY" -c 'import json,sys; print([r["record"] for r in json.load(open(sys.argv[1]))])' "$OUT")" "['$ID']"
req POST /api/review '{}'
expect_error "POST /api/review" 404 not_found
req GET "/api/records/$ID/approve"
expect_error "GET of a decision" 405 method
req POST /api/records/0123456789abcdef0123456789abcdef/approve '{}'
expect_error "an approval of an unknown record" 404 not_found
req POST "/api/records/$ID/return" '{}'
expect_error "a return without a reason" 400 reason_required
expect_eq "... naming the member" "$(jget field <"$BODY")" "reason"
req POST "/api/records/$ID/reject" '{"reason": "  "}'
expect_error "a rejection with a blank reason" 400 reason_required
req POST "/api/records/$ID/return" '{"reason": 42}'
expect_error "a reason that is not a string" 400 bad_type
req POST "/api/records/$ID/return" "{\"reason\": \"$(head -c 2001 /dev/zero | tr '\0' 'x')\"}"
expect_error "a reason over 2000 bytes" 400 bad_request
req POST "/api/records/$ID/approve" '{"decision_number": "12/QĐ-UBND"}'
expect_error "a decision number without its date" 400 bad_request
expect_eq "... naming the missing member" "$(jget field <"$BODY")" "decision_date"
req POST "/api/records/$ID/approve" '{"decision_number": "12/QĐ-UBND", "decision_date": "31/02/2025"}'
expect_error "a decision date that does not exist" 400 bad_request
expect_eq "... naming it" "$(jget field <"$BODY")" "decision_date"
req POST "/api/records/$ID/approve" '{"note": ["x"]}'
expect_error "a note that is not a string" 400 bad_type
req POST "/api/records/$ID/return" '{"reason": "x", "base": "00"}'
expect_error "a decision on a record that moved meanwhile" 409 moved
req POST "/api/records/$R2/approve" '{}'
expect_error "an approval of a draft" 422 not_waiting
expect_stdout_contains_body "... saying it is a draft" "bản nháp"
expect_eq "the refused decisions wrote nothing" "$(versions)" "$N"
req GET "/api/records/$ID"
BASE=$(jget base <"$BODY")
req POST "/api/records/$ID/return" "{\"reason\": \"Thiếu ảnh; đo lại đường\", \"base\": \"$BASE\"}"
expect_code "a return with its reason" 200
expect_eq "... is one signed version" "$(versions)" "$((N + 1))"
expect_eq "... answered with the new status" "$(jget status <"$BODY")" "returned"
run "$F" show --json "$ID"
expect_eq "field show: returned, with the reason" \
    "$(json_get "$OUT" status) $(json_get "$OUT" review.review.note)" '"returned" "Thiếu ảnh; đo lại đường"'
req POST "/api/records/$ID/approve" '{}'
expect_error "an approval of a returned record" 422 not_waiting
req GET /api/records
expect_eq "the returned record comes first in the list, with the reason" \
    "$("$PY" -c 'import json,sys; d = json.load(open(sys.argv[1]))[0]; print(d["id"], d["review"]["reason"])' "$BODY")" \
    "$ID Thiếu ảnh; đo lại đường"
req GET /api/review
expect_eq "the inbox is empty again" "$(cat "$BODY")" "[]"
run "$F" set "$ID" remarks="Đã đo lại"
run "$F" finalize "$ID"
expect_rc "corrected and finalized again (field set, field finalize)" 0
req GET /api/review
BASE=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["base"])' "$BODY")
req POST "/api/records/$ID/approve" "{\"note\": \"Đạt\", \"decision_number\": \"12/QĐ-UBND\", \"decision_date\": \"30/06/2025\", \"base\": \"$BASE\"}"
expect_code "an approval with its recognition decision" 200
run "$F" show --json "$ID"
expect_eq "field show: approved, the decision's date normalised" \
    "$(json_get "$OUT" status) $(json_get "$OUT" review.review.recognition)" \
    '"approved" {"date":"2025-06-30","number":"12/QĐ-UBND"}'
req POST "/api/records/$ID/reject" '{"reason": "sai"}'
expect_error "a rejection of an approved record" 422 not_waiting
expect_stdout_contains_body "... saying it is closed" "đã đóng"

# --- photos in the form ------------------------------------------------------------

MK="$FIELD_BUILD/tests/tools/mkphoto"
"$MK" --taken "2026:11:28 08:15:02" --gps 18.3560,105.8878 "$T/here.jpg"
"$MK" --size 1500000 "$T/big.jpg"
printf 'not a photo\n' >"$T/text.jpg"
head -c $(($(wc -c <"$T/here.jpg") / 2)) "$T/here.jpg" >"$T/cut.jpg"
# up PATH FILE [CONTENT-TYPE] - upload FILE as a photo; status in $CODE
up() {
    CODE=$(curl -s -o "$BODY" -D "$HDR" -w '%{http_code}' --max-time 10 \
        -b "$JAR" -H "X-CSRF-Token: $CSRF" -H "Content-Type: ${3:-image/jpeg}" \
        --data-binary @"$2" "$UI_URL${1#/}")
}
req POST /api/records '{"template": "ntm-xa-2021", "unit": "18766"}'
expect_code "a record of a template with photo questions" 201
PR=$(jget id <"$BODY")
n=$(versions)
up "/api/records/0123456789abcdef0123456789abcdef/photos?question=plan_photo" "$T/here.jpg"
expect_error "a photo for an unknown record" 404 not_found
up "/api/records/$PR/photos" "$T/here.jpg"
expect_error "a photo without its question" 400 bad_question
up "/api/records/$PR/photos?question=nope" "$T/here.jpg"
expect_error "a photo for an unknown question" 400 bad_question
up "/api/records/$PR/photos?question=households_total" "$T/here.jpg"
expect_error "a photo for a question that is not a photo question" 400 bad_question
expect_stdout_contains_body "... which says so" "not a photo question"
up "/api/records/$PR/photos?question=plan_photo" "$T/text.jpg"
expect_error "a text file sent as a JPEG" 415 not_a_photo
expect_stdout_contains_body "... named as the photo, not a temporary file" '"message_en":"the photo: '
up "/api/records/$PR/photos?question=plan_photo" "$T/cut.jpg"
expect_error "a truncated JPEG" 415 not_a_photo
up "/api/records/$PR/photos?question=plan_photo" "$T/here.jpg" application/octet-stream
expect_error "a photo sent without Content-Type: image/jpeg" 415 not_a_photo
up "/api/records/$PR/photos?question=plan_photo" /dev/null
expect_error "an empty upload" 400 bad_request
CSRF_SAVED=$CSRF
CSRF=""
up "/api/records/$PR/photos?question=plan_photo" "$T/here.jpg"
expect_error "a photo without the CSRF token" 403 csrf
CSRF=$CSRF_SAVED
up "/api/records/$ID/photos?question=plan_photo" "$T/here.jpg"
expect_error "a photo for an approved (closed) record" 422 closed
# Over `field attach`'s 20 MB: refused from the headers, before the body
# (here the body never comes: the answer must not wait for it)
truncate -s 21000000 "$T/huge.jpg"
up "/api/records/$PR/photos?question=plan_photo" "$T/huge.jpg"
expect_error "a 21 MB photo" 413 too_large
# raw_upload LENGTH COOKIE CSRF - the status line of the answer to a photo
# upload declaring LENGTH bytes and sending none of them (within 2 s)
raw_upload() {
    "$PY" - "$UI_PORT" "$PR" "$1" "$2" "$3" <<'EOF'
import socket, sys
port, rec, length, cookie, csrf = sys.argv[1:6]
s = socket.create_connection(("127.0.0.1", int(port)), timeout=2)
s.sendall(("POST /api/records/%s/photos?question=plan_photo HTTP/1.1\r\n"
           "Host: 127.0.0.1:%s\r\nCookie: field_ui=%s\r\nX-CSRF-Token: %s\r\n"
           "Content-Type: image/jpeg\r\nContent-Length: %s\r\n\r\n"
           % (rec, port, cookie, csrf, length)).encode())
try:
    print(s.recv(64).decode("latin-1")[:12])
except socket.timeout:
    print("no answer within 2 s")
EOF
}
COOKIE=$(grep -o 'field_ui[[:space:]]*[0-9a-f]*' "$JAR" | awk '{print $2}')
expect_eq "... refused from its headers, before any of its body" \
    "$(raw_upload 21000000 "$COOKIE" "$CSRF")" "HTTP/1.1 413"
expect_eq "an upload without a session is refused before its body is taken" \
    "$(raw_upload 10000000 0 "$CSRF")" "HTTP/1.1 401"
expect_eq "... and without the CSRF token" \
    "$(raw_upload 10000000 "$COOKIE" 0)" "HTTP/1.1 403"
expect_eq "nothing written by the refused photos" "$(versions)" "$n"
expect_eq "... and no file left behind" \
    "$(find "$FIELD_HOME/attachments" -type f 2>/dev/null | wc -l | tr -d ' ')" 0

up "/api/records/$PR/photos?question=plan_photo" "$T/here.jpg"
expect_code "a JPEG for plan_photo: 201" 201
PH=$(jget photo <"$BODY" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["hash"])')
expect_eq "... one signed version" "$(jget saved <"$BODY") $(versions)" "True $((n + 1))"
expect_stdout_contains_body "... the form state shows the answer" "\"value\":\"$PH\""
expect_stdout_contains_body "... with the camera's time" '"taken":"2026-11-28T08:15:02"'
run "$F" show --json "$PR"
expect_eq "field show: the answer is the photo's hash" \
    "$(json_get "$OUT" answers.plan_photo)" "\"$PH\""
expect_eq "field show: the photo, its size, type and place, held here" \
    "$(json_get "$OUT" photos.0.hash) $(json_get "$OUT" photos.0.bytes) $(json_get "$OUT" photos.0.type) $(json_get "$OUT" photos.0.position) $(json_get "$OUT" photos.0.held)" \
    "\"$PH\" $(wc -c <"$T/here.jpg" | tr -d ' ') \"image/jpeg\" \"18.356000 105.887800\" true"
up "/api/records/$PR/photos?question=plan_photo" "$T/here.jpg"
expect_eq "the same photo again: nothing new signed" \
    "$CODE $(jget saved <"$BODY") $(versions)" "201 False $((n + 1))"
up "/api/records/$PR/photos?question=road_photo" "$T/big.jpg"
expect_code "a 1.5 MB photo (over the 1 MiB of other bodies): 201" 201

req GET "/api/photos/$PH"
expect_code "GET /api/photos/HASH" 200
check "... gives the photo's bytes" cmp "$BODY" "$T/here.jpg"
header_has "... as image/jpeg" "Content-Type: image/jpeg"
header_has "... cached as immutable, privately" "Cache-Control: private, max-age=31536000, immutable"
header_has "... with the CSP" "Content-Security-Policy:"
req GET /api/photos/xyz
expect_error "a photo named by something not a hash" 400 bad_request
req GET "/api/photos/$(printf '0%.0s' $(seq 1 64))"
expect_error "a photo this device does not hold" 404 not_found
rm -f "$JAR.nosession"
CODE=$(curl -s -o "$BODY" -w '%{http_code}' "${UI_URL}api/photos/$PH")
expect_error "a photo without a session" 401 no_session
run "$F" verify
expect_rc "the photos' versions verify" 0

# --- the province report ------------------------------------------------------------

req GET /api/report
expect_code "GET /api/report with none kept" 200
expect_eq "... says there is none, and no fetch yet" \
    "$(jget report <"$BODY") $(jget fetched_ms <"$BODY") $(jget running <"$BODY") $(jget ok <"$BODY")" \
    "None None False None"
req POST /api/report '{}'
expect_error "fetching the report on a device not enrolled" 409 not_enrolled
req POST "/api/report?unit=a%20b" '{}'
expect_error "a unit that is not a code" 400 bad_request
req GET /api/report.xlsx
expect_error "the workbook on a device not enrolled" 409 not_enrolled
req POST /api/report.xlsx '{}'
expect_error "POST /api/report.xlsx" 404 not_found
CSRF_SAVED=$CSRF
CSRF=""
req POST /api/report '{}'
expect_error "fetching the report without the CSRF token" 403 csrf
CSRF=$CSRF_SAVED

# report_wait: poll GET /api/report until no fetch runs (at most 10 s).
report_wait() {
    _i=0
    while :; do
        req GET /api/report
        [ "$(jget running <"$BODY")" = "False" ] && break
        _i=$((_i + 1))
        [ "$_i" -ge 100 ] && break
        sleep 0.1
    done
}

# A report kept from an earlier fetch, and a server that cannot be reached
sql "INSERT INTO meta(key, value) VALUES ('report.last', '{\"as_of\":\"2025-06-30\",\"unit\":{\"code\":\"42\",\"name\":\"Hà Tĩnh\"},\"tiers\":[]}'), ('report.fetched_ms', '1751270400000'), ('sync.url', 'http://127.0.0.1:9');"
req GET /api/report
expect_eq "GET /api/report gives the report kept, with its time" \
    "$CODE $(jget fetched_ms <"$BODY")" "200 1751270400000"
req POST /api/report '{}'
expect_code "POST /api/report starts the fetch: 202" 202
report_wait
expect_eq "... which ends failed, offline, the report kept still shown" \
    "$(jget running <"$BODY") $(jget ok <"$BODY") $(jget error <"$BODY") $(jget fetched_ms <"$BODY")" \
    "False False offline 1751270400000"
if [ -n "$(jget message_vi <"$BODY")" ] && [ -n "$(jget message_en <"$BODY")" ] &&
    [ -n "$(jget finished_ms <"$BODY")" ]; then
    pass "... saying why in Vietnamese and English, and when"
else
    fail "... saying why in Vietnamese and English, and when" "$(head -c 400 "$BODY")"
fi
req GET /api/report.xlsx
expect_error "the workbook with the server unreachable" 503 offline

# A server that accepts the connection and never answers: the fetch waits
# on its own thread, and the page is answered meanwhile.
"$PY" -c 'import socket,sys
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    c, _ = s.accept(); held.append(c)' "$T/hang.port" &
HANG_PID=$!
at_exit "kill $HANG_PID 2>/dev/null"
_i=0
while [ ! -s "$T/hang.port" ] && [ "$_i" -lt 100 ]; do
    _i=$((_i + 1))
    sleep 0.05
done
HANG_PORT=$(cat "$T/hang.port")
sql "UPDATE meta SET value = 'http://127.0.0.1:$HANG_PORT' WHERE key = 'sync.url';"
T0=$(date +%s%N)
req POST /api/report '{}'
T1=$(date +%s%N)
expect_code "POST /api/report to a server that never answers: 202" 202
expect_eq "... answered at once (under 2 s, not the server's 30)" "$(( (T1 - T0) / 2000000000 ))" "0"
CODE=$(curl -s --max-time 2 -o "$BODY" -w '%{http_code}' -b "$JAR" "${UI_URL}api/records")
expect_eq "GET /api/records answers meanwhile, within 2 s" "$CODE" "200"
req GET /api/report
expect_eq "GET /api/report says the fetch runs, the report kept shown" \
    "$CODE $(jget running <"$BODY") $(jget fetched_ms <"$BODY")" "200 True 1751270400000"
req POST /api/report '{}'
expect_error "a second fetch while one runs" 409 report_running
sql "DELETE FROM meta WHERE key = 'sync.url';"
run "$F" verify
expect_rc "field verify passes at the end" 0

T0=$(date +%s)
stop_ui
T1=$(date +%s)
expect_eq "SIGTERM: field ui exits 0" "$RC" "0"
if [ $((T1 - T0)) -le 5 ]; then
    pass "SIGTERM ends the hanging fetch within 5 s, not 30 ($((T1 - T0)) s)"
else
    fail "SIGTERM ends the hanging fetch within 5 s, not 30" "$((T1 - T0)) s"
fi
kill "$HANG_PID" 2>/dev/null
if curl -s -o /dev/null "$UI_URL" 2>/dev/null; then
    fail "the port is closed after field ui exits"
else
    pass "the port is closed after field ui exits"
fi

# --open asks xdg-open for the page (a stand-in here, first in PATH)
mkdir -p "$T/bin"
printf '#!/bin/sh\nprintf %%s "$1" >"%s/opened"\n' "$T" >"$T/bin/xdg-open"
chmod +x "$T/bin/xdg-open"
OLDPATH=$PATH
PATH="$T/bin:$PATH"
start_ui --open
PATH=$OLDPATH
_i=0
while [ ! -s "$T/opened" ] && [ "$_i" -lt 100 ]; do
    _i=$((_i + 1))
    sleep 0.05
done
expect_eq "--open runs xdg-open with the URL" "$(cat "$T/opened" 2>/dev/null)" "$UI_URL"
stop_ui

# --- pairing ----------------------------------------------------------------------------

rm -f "$JAR"
CSRF=""
start_ui --pair
CODE8=$(ui_json pairing_code)
expect_match "--pair prints an 8-digit code" "$CODE8" "[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]"
req GET /
expect_code "the page is served before pairing" 200
if grep -qi "Set-Cookie" "$HDR"; then
    fail "no session for the page before pairing"
else
    pass "no session for the page before pairing"
fi
req GET /api/session
expect_error "the API before pairing" 401 pairing_required
req GET /api/records
expect_error "records before pairing" 401 pairing_required
WRONG=$(printf %s "$CODE8" | tr '0-9' '1-90')
req POST /api/pair "{\"code\": \"$WRONG\"}"
expect_error "a wrong pairing code" 403 wrong_code
req POST /api/pair "{\"code\": \"$CODE8\"}"
expect_code "the right pairing code" 200
header_has "pairing sets the session cookie" "Set-Cookie: field_ui="
CSRF=$(jget csrf <"$BODY")
req GET /api/records
expect_code "the API after pairing" 200
req POST /api/records "$NEW"
expect_code "a POST after pairing" 201
rm -f "$JAR"
req POST /api/pair "{\"code\": \"$CODE8\"}"
expect_error "the code works once" 403 pairing_spent
stop_ui

start_ui --pair
CODE8=$(ui_json pairing_code)
WRONG=$(printf %s "$CODE8" | tr '0-9' '1-90')
for _i in 1 2 3 4; do
    req POST /api/pair "{\"code\": \"$WRONG\"}"
done
expect_error "four wrong codes" 403 wrong_code
fifth_ms=$(date +%s%3N)
req POST /api/pair "{\"code\": \"$WRONG\"}"
expect_error "the fifth wrong code" 403 wrong_code
expect_stdout_contains_body "the fifth says how long to wait" 'wait 1 s'
req POST /api/pair "{\"code\": \"$CODE8\"}"
# The wait is 1 s from the fifth answer. Answered within 0.9 s of it, the
# right code must be refused; on a machine so loaded that it took longer,
# it may fall on either side of the wait, and what is left to check is
# that the right code works once the wait is over.
if [ $(($(date +%s%3N) - fifth_ms)) -lt 900 ]; then
    expect_error "even the right code, during the wait" 429 rate_limited
    expect_stdout_contains_body "the 429 says how long to wait" 'wait 1 s'
else
    skip "the right code during the wait: over 0.9 s between two requests here"
fi
if [ "$CODE" = 429 ]; then
    sleep 1.1
    req POST /api/pair "{\"code\": \"$CODE8\"}"
fi
expect_code "the right code after the wait" 200
stop_ui

# --- the passphrase ------------------------------------------------------------------------

home locked
run env FIELD_PASSPHRASE=geheim "$F" init
run "$F" ui
expect_rc "ui without the key's passphrase exits 6" 6
start_ui_env() {
    FIELD_PASSPHRASE=geheim
    export FIELD_PASSPHRASE
    start_ui
    unset FIELD_PASSPHRASE
}
start_ui_env
rm -f "$JAR"
req GET /
req GET /api/session
CSRF=$(jget csrf <"$BODY")
req POST /api/records "$NEW"
expect_code "a protected key signs once its passphrase was given" 201
stop_ui

finish
