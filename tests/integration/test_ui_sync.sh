#!/bin/sh
# test_ui_sync.sh - the sync button of `field ui` (POST and GET /api/sync),
# with curl on 127.0.0.1 against a real field-server: the sync is the one
# `field sync` runs, on a thread of its own, so the page is answered while
# it runs (through tests/tools/faultproxy at 4 kB/s, to make it long); a
# second press while it runs is refused; its outcome and counts come back,
# and a second device gets what the first pushed; a device that is not
# enrolled is told so; SIGTERM during a sync ends `field ui` at once,
# with exit 0 and nothing half-stored (the next sync completes). Then what
# a sync can bring, a conflict: POST /api/records/ID/resolve refuses a
# record with nothing to resolve, a stale base, a value the checklist
# refuses, and writes one signed resolution that settles it.
. "$(dirname "$0")/server_lib.sh"

P="$FIELD_BUILD/tests/tools/faultproxy"
. "$(dirname "$0")/ui_lib.sh"
JAR="$T/jar"
BODY="$T/body"
CSRF=""

# a_session - the page's session with the running `field ui`: its cookie
# in JAR, its token in CSRF.
a_session() {
    rm -f "$JAR"
    curl -s -o /dev/null -c "$JAR" "$UI_URL"
    CSRF=$(curl -s -b "$JAR" "${UI_URL}api/session" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["csrf"])')
}

# api METHOD PATH - the status in CODE, the body in $BODY.
api() {
    if [ "$1" = POST ]; then
        CODE=$(curl -s -o "$BODY" -w '%{http_code}' -b "$JAR" -X POST \
            -H 'Content-Type: application/json' -H "X-CSRF-Token: $CSRF" \
            --data-binary '{}' "$UI_URL${2#/}")
    else
        CODE=$(curl -s -o "$BODY" -w '%{http_code}' -b "$JAR" "$UI_URL${2#/}")
    fi
}

# post PATH JSON - a POST with a body; the status in CODE.
post() {
    CODE=$(curl -s -o "$BODY" -w '%{http_code}' -b "$JAR" -X POST \
        -H 'Content-Type: application/json' -H "X-CSRF-Token: $CSRF" \
        --data-binary "$2" "$UI_URL${1#/}")
}

# member KEY - a member of the last answer.
member() {
    "$PY" -c 'import json,sys; v = json.load(open(sys.argv[1])).get(sys.argv[2]); print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$BODY" "$1"
}

# until_done - poll GET /api/sync until no sync runs (at most 30 s).
until_done() {
    _i=0
    while :; do
        api GET /api/sync
        [ "$(member running)" = false ] && return 0
        _i=$((_i + 1))
        [ "$_i" -gt 300 ] && return 1
        sleep 0.1
    done
}

start_server main --quiet
province 4201
enroll_device b "Bình"
enroll_device a "Ann"
run "$F" units import "$T/units.csv"
rec=$(new_record 4201 households_total=120)

# --- not enrolled -------------------------------------------------------------

init_home lone --inspector "Lan"
start_ui
a_session
api GET /api/sync
expect_eq "GET /api/sync before any sync" "$CODE $(member running) $(member ok)" "200 false null"
api POST /api/sync
expect_eq "a device with no server is told to enroll" "$CODE $(member error)" "409 not_enrolled"
stop_ui

# --- one sync, from the button --------------------------------------------------

home a
start_ui
a_session
api GET /api/sync
expect_eq "one version waits to be sent" "$(member pending)" 1
api POST /api/sync
expect_eq "POST /api/sync starts a sync" "$CODE $(member running)" "202 true"
if until_done; then pass "the sync ends"; else fail "the sync ends" "$(cat "$BODY")"; fi
expect_eq "it went well, and says what it did" \
    "$(member ok) $(member pushed) $(member stored) $(member pending) $(member message)" \
    "true 1 1 0 null"
stop_ui
expect_eq "field ui stops with exit 0" "$RC" 0
home b
run "$F" sync
expect_rc "device b syncs" 0
run "$F" show "$rec"
expect_rc "device b has the record sent from the button" 0

# --- a long sync: the page is answered, a second press refused, SIGTERM ---------

home a
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    "$F" set "$rec" "remarks=lần $i $(head -c 2800 /dev/urandom | base64 | tr -d '\n')" \
        </dev/null >/dev/null 2>&1 || fail "a change to send ($i)"
done
"$P" --port-file "$T/proxy.port" --to "$PORT" --plan pass --rate 4096 &
PROXY_PID=$!
UPIDS="$UPIDS $PROXY_PID"
_i=0
while [ ! -s "$T/proxy.port" ] && [ "$_i" -lt 100 ]; do
    _i=$((_i + 1))
    sleep 0.05
done
sql "UPDATE meta SET value = 'http://127.0.0.1:$(cat "$T/proxy.port")' WHERE key = 'sync.url';"
start_ui
a_session
api POST /api/sync
expect_eq "a slow sync starts" "$CODE" 202
api GET /api/records
expect_eq "the page is answered while it runs" "$CODE" 200
api POST /api/sync
expect_eq "a second press while it runs is refused" "$CODE $(member error)" "409 sync_running"
sleep 0.5
t0=$(date +%s%N)
stop_ui
t1=$(date +%s%N)
expect_eq "SIGTERM during a sync: exit 0" "$RC" 0
if [ $(((t1 - t0) / 1000000)) -lt 5000 ]; then
    pass "... at once, without waiting for the sync"
else
    fail "... at once, without waiting for the sync" "$(((t1 - t0) / 1000000)) ms"
fi
sql "UPDATE meta SET value = '$URL' WHERE key = 'sync.url';"
run "$F" sync
expect_rc "the next sync completes what was cut" 0
run "$F" sync status --json
expect_stdout_contains "nothing is left to send" '"pending":0'
run "$F" verify
expect_rc "the store verifies" 0

# --- a conflict, resolved through the API ---------------------------------------

home b
run "$F" sync
run "$F" set "$rec" households_total=150
home a
run "$F" set "$rec" households_total=140
run "$F" sync
home b
run "$F" sync
home a
run "$F" sync
start_ui
a_session
api GET "/api/records/$rec"
state() { # EXPR - a Python expression over the record's state d
    "$PY" -c 'import json,sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$BODY" "$1"
}
expect_eq "the state lists the conflict with both values" \
    "$(state 'sorted(k["text"] for c in d["conflict_list"] for k in c["candidates"])')" \
    "['140', '150']"
expect_eq "... and cannot be saved meanwhile" "$(state 'd["editable"]')" False
base=$(state 'd["base"]')
expect_match "its base names both heads" "$base" "*+*"
post "/api/records/$rec/resolve" '{"base": "0000", "answers": {"households_total": "150"}}'
expect_eq "a stale base is refused with the current state" \
    "$CODE $(member error)" "409 moved"
post "/api/records/$rec/resolve" "{\"base\": \"$base\", \"answers\": {\"households_total\": \"many\"}}"
expect_eq "a value the checklist refuses is refused" "$CODE" 422
n=$(sql "SELECT count(*) FROM versions WHERE record = '$rec'")
post "/api/records/$rec/resolve" "{\"base\": \"$base\", \"answers\": {\"households_total\": \"150\"}}"
expect_eq "the chosen value resolves it" "$CODE $(state 'd["state"]["conflicts"]')" "200 0"
expect_eq "one signed version" "$(sql "SELECT count(*) FROM versions WHERE record = '$rec'")" $((n + 1))
post "/api/records/$rec/resolve" "{\"base\": \"$base\", \"answers\": {}}"
expect_eq "nothing is left to resolve" "$CODE $(member error)" "409 nothing_to_resolve"
stop_ui
run "$F" conflicts --json
expect_stdout "field conflicts agrees" "[]"
run "$F" verify
expect_rc "the resolution verifies" 0

finish
