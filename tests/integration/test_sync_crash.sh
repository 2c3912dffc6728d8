#!/bin/sh
# test_sync_crash.sh - kill -9 of field-server at chosen points of a sync:
# while it holds a push it has not answered (stopped before acting), and
# while a push is being stored (killed as soon as the request is in). The
# server comes back on the same database and port, the device syncs again,
# and every version is on the server exactly once, the server's database
# intact, nothing lost on the device.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet
province 4201
enroll_device a "Nguyễn Văn An"

capture() { # N - N new records of one version each
    _i=0
    while [ $_i -lt "$1" ]; do
        new_record 4201 households_total=$((_i + 1)) >/dev/null
        _i=$((_i + 1))
    done
}

server_count() {
    sqls "SELECT count(*) || ' ' || count(DISTINCT hash) FROM versions;"
}

# 1. The server is stopped holding the request, then killed before acting.
capture 30
kill -STOP "$SPID"
"$F" sync --retries 0 >/dev/null 2>&1 &
SYNC_PID=$!
at_exit 'kill -9 "$SYNC_PID" 2>/dev/null'
sleep 0.5
kill -9 "$SPID"
kill -CONT "$SPID" 2>/dev/null
wait "$SYNC_PID" 2>/dev/null
restart_server
run "$F" sync --retries 2 --json
expect_rc "after the server died before acting, the next sync completes" 0
expect_eq "... all 30 stored once" "$(server_count)" "30 30"

# 2. Killed while storing: the request is sent, the server dies as soon as
# it starts working on it; whatever it committed stays, the rest comes next.
capture 200
"$F" sync --retries 0 >/dev/null 2>&1 &
SYNC_PID=$!
sleep 0.05
kill -9 "$SPID"
wait "$SYNC_PID" 2>/dev/null
restart_server
run "$F" sync --retries 2 --json
expect_rc "after the server died mid-push, the next sync completes" 0
run "$F" sync status --json
expect_eq "nothing pending on the device" "$(json_get "$OUT" pending)" 0
expect_eq "all 230 on the server, each once" "$(server_count)" "230 230"
if sqlite_only "PRAGMA integrity_check reads the database file's pages"; then
    expect_eq "the server's database is intact" \
        "$(sqls "PRAGMA integrity_check;")" "ok"
fi
run "$F" verify
expect_rc "the device verifies" 0
finish
