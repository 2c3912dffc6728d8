#!/bin/sh
# test_sync_faults.sh - `field sync` through tests/tools/faultproxy, a TCP
# proxy that misbehaves on purpose between the real `field` and the real
# field-server: connections dropped before the request arrives, answers
# lost after the server acted, answers cut short, requests delivered twice,
# slow answers, and an answer held while `field sync` is killed with -9.
# After each, syncing again completes with every version on the server
# exactly once, and the other device ends up with the same versions.
. "$(dirname "$0")/server_lib.sh"

P="$FIELD_BUILD/tests/tools/faultproxy"
if [ ! -x "$P" ]; then
    fail "program $P exists (build first: make all)"
    finish
fi

start_server main --quiet
SERVER_URL=$URL
province 4201

for d in a b; do
    enroll_device "$d" "Inspector $d"
    run "$F" units import "$T/units.csv"
done

_proxies=""
at_exit 'for _p in $_proxies; do kill "$_p" 2>/dev/null; done'

# proxy PLAN - a fault proxy in front of the server with this plan; the
# device a syncs through it from now on.
proxy() {
    [ -z "${PROXY_PID:-}" ] || { kill "$PROXY_PID" 2>/dev/null; wait "$PROXY_PID" 2>/dev/null; }
    rm -f "$T/proxy.port" "$T/mark"
    : >"$T/mark"
    "$P" --port-file "$T/proxy.port" --to "$PORT" --plan "$1" --mark "$T/mark" &
    PROXY_PID=$!
    _proxies="$_proxies $PROXY_PID"
    _i=0
    while [ ! -s "$T/proxy.port" ]; do
        _i=$((_i + 1))
        if [ $_i -gt 100 ]; then
            fail "the fault proxy starts"
            finish
        fi
        sleep 0.05
    done
    PROXY="http://127.0.0.1:$(cat "$T/proxy.port")"
    home a
    sql "UPDATE meta SET value = '$PROXY' WHERE key = 'sync.url';"
}

# capture N - N new records on device a.
capture() {
    home a
    _n=0
    while [ $_n -lt "$1" ]; do
        new_record 4201 households_total=$((_n + 1)) >/dev/null
        _n=$((_n + 1))
    done
}

jv() {
    json_get "$OUT" "$1"
}

# on_server - "versions distinct-hashes" on the server.
on_server() {
    sqls "SELECT count(*) || ' ' || count(DISTINCT hash) FROM versions;"
}

# scenario PLAN NAME - capture 3, sync through PLAN, expect success with
# every version acknowledged, and the fault applied.
scenario() {
    capture 3
    proxy "$1"
    run "$F" sync --json
    expect_rc "$2: the sync completes" 0
    expect_eq "$2: all three acknowledged" "$(( $(jv stored) + $(jv duplicates) ))" 3
    expect_eq "$2: the fault happened" "$(head -n 1 "$T/mark")" "$1"
    expect_eq "$2: nothing pending" "$(sql "SELECT count(*) FROM versions v WHERE NOT EXISTS (SELECT 1 FROM sync_known k WHERE k.seq = v.seq);")" 0
}

scenario drop "connection dropped before the request"
expect_eq "... retried once" "$(jv retries)" 1
expect_eq "... the versions stored by the retry" "$(jv stored)" 3

scenario drop-answer "answer lost after the server acted"
expect_eq "... retried once" "$(jv retries)" 1
expect_eq "... the retry finds them stored already" "$(jv duplicates)" 3

scenario truncate "answer cut short in its headers"
expect_eq "... retried once" "$(jv retries)" 1
expect_eq "... duplicates the second time" "$(jv duplicates)" 3

scenario truncate-body "answer cut short in its body"
expect_eq "... retried once" "$(jv retries)" 1
expect_eq "... duplicates the second time" "$(jv duplicates)" 3

scenario dup "request delivered twice"
scenario delay "a slow answer"
expect_eq "... not retried" "$(jv retries)" 0

# Every connection dropped: give up, keep everything pending.
capture 2
proxy drop,drop,drop,drop,drop,drop
run "$F" sync --retries 2
expect_rc "the link never works: exit 1" 1
expect_stderr_contains "... naming the server" "cannot reach the server at $PROXY"
run "$F" sync status --json
expect_eq "... both versions still pending" "$(jv pending)" 2
proxy pass
run "$F" sync --json
expect_eq "... and pushed once it works" "$(jv stored)" 2

# kill -9 while the proxy holds the answer (the server has acted).
capture 5
proxy stall
"$F" sync --retries 0 >/dev/null 2>&1 &
SYNC_PID=$!
at_exit 'kill -9 "$SYNC_PID" 2>/dev/null'
_i=0
while ! grep -q stall "$T/mark" && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
expect_eq "the server answered; the proxy holds the answer" "$(head -n 1 "$T/mark")" stall
kill -9 "$SYNC_PID"
wait "$SYNC_PID" 2>/dev/null
run "$F" sync status --json
expect_eq "killed with -9: the five are still pending" "$(jv pending)" 5
proxy pass
run "$F" sync --json
expect_rc "the next sync completes" 0
expect_eq "... the five come back as duplicates" "$(jv duplicates)" 5

# Everyone converges; nothing is stored twice anywhere.
N=$(nversions)
expect_eq "the server holds each version once" "$(on_server)" "$N $N"
expect_exit "verify on a" 0 "$F" verify
home b
run "$F" sync --json
expect_rc "the other device syncs directly" 0
expect_eq "... and holds the same versions" "$(nversions)" "$N"
expect_exit "verify on b" 0 "$F" verify

finish
