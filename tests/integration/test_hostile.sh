#!/bin/sh
# test_hostile.sh - field-server holds up against hostile clients (issue
# 13, docs/SECURITY.md): hostile.py's attacks on the real server (bodies
# from nobody and from a device, past the memory ceiling; slowloris; two
# Content-Lengths) with its memory and /v1/health watched throughout;
# nothing stored by them; a request replayed after a restart; anonymous
# enrollment attempts bounded per address; the database and its backup
# readable by their owner only.
#
# The sizes are scaled down from the issue's (1,010 slow connections
# against 1,000 slots here are 200 against 150) so that the script runs
# in about 20 s.
. "$(dirname "$0")/server_lib.sh"

umask 022 # what a service would have: the files must be 0600 anyway
start_server hostile --quiet --max-connections 150 --header-timeout 3 \
    --max-buffered 32M --enroll-per-ip 3
enroll ann admin
ANN=$(cat "$T/ann.pub")

# --- the attacks, watched -------------------------------------------------------
"$PY" "$(dirname "$0")/hostile.py" "$PORT" "$SPID" "$ANN" >"$T/hostile.out" 2>&1
while IFS= read -r line; do
    case "$line" in
    "PASS "*) pass "${line#PASS }" ;;
    "FAIL "*) fail "${line#FAIL }" ;;
    *) fail "hostile.py: $line" ;;
    esac
done <"$T/hostile.out"
if kill -0 "$SPID" 2>/dev/null; then
    pass "the server is still running after the attacks"
else
    fail "the server is still running after the attacks" "$(tail -5 "$T/hostile.log")"
    finish
fi
n=$(sqls "SELECT (SELECT count(*) FROM versions) || ' ' || (SELECT count(*) FROM devices)")
if [ "$n" = "0 1" ]; then
    pass "the attacks stored nothing (no version, one device)"
else
    fail "the attacks stored nothing (no version, one device)" "versions, devices: $n"
fi

# --- anonymous enrollment attempts, bounded per address -------------------------
# ann's enrollment was the first of three this address may make per window.
codes=""
for i in 1 2 3; do
    device "stranger$i" >/dev/null
    "$C" enroll-body "NOT-A-CODE-$i" "$T/stranger$i.key" >"$T/.enroll"
    req "$T/stranger$i.key" POST /v1/enroll --body "$T/.enroll"
    codes="$codes $STATUS"
done
if [ "$codes" = " 403 403 429" ]; then
    pass "enrollment attempts past enroll-per-ip from one address: 429"
else
    fail "enrollment attempts past enroll-per-ip from one address: 429" \
        "statuses:$codes" "$(cat "$BODY")"
fi
expect_status "the refusal says why" 429 too_many_requests
req "$T/ann.key" GET /v1/units
expect_status "an enrolled device is served meanwhile" 200

# --- a request replayed after a restart -----------------------------------------
"$C" request "$T/ann.key" GET "$URL/v1/units" --save "$T/units.req" >/dev/null 2>&1
"$C" send "$URL" "$T/units.req" >"$T/.resp" 2>&1
if [ "$(head -n 1 "$T/.resp")" = 401 ]; then
    pass "a request replayed to the same server: 401"
else
    fail "a request replayed to the same server: 401" "$(cat "$T/.resp")"
fi
sleep 0.05 # the new server starts strictly after the request was signed
kill -TERM "$SPID"
restart_server
"$C" send "$URL" "$T/units.req" >"$T/.resp" 2>&1
STATUS=$(head -n 1 "$T/.resp")
tail -n +2 "$T/.resp" >"$BODY"
expect_status "a request replayed after a restart: 401" 401 clock_skew
req "$T/ann.key" GET /v1/units
expect_status "a request signed after the restart is served" 200

# --- file modes -----------------------------------------------------------------
# The backup (a SQLite copy, or pg_dump's file) on both back ends; the
# database's own files only where the server has them.
srv backup "$T/copy.db"
expect_rc "backup while serving" 0
files="$T/copy.db"
sqlite_only "the database and its WAL are files the server creates" &&
    files="$DBS $DBS-wal $files"
for f in $files; do
    m=$(stat -c %a "$f" 2>/dev/null)
    if [ "$m" = 600 ]; then
        pass "$(basename "$f") is mode 0600"
    else
        fail "$(basename "$f") is mode 0600" "mode $m"
    fi
done
if sqlite_only "init creates a database file"; then
    "$S" init --db "$T/new.db" >/dev/null 2>&1
    m=$(stat -c %a "$T/new.db")
    [ "$m" = 600 ] && pass "init creates the database 0600" ||
        fail "init creates the database 0600" "mode $m"
fi
finish
