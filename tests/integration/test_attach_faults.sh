#!/bin/sh
# test_attach_faults.sh - 40 photos of 1-5 MB over a bad link: the real
# `field` and field-server with tests/tools/faultproxy between them,
# limited in rate, cut after every 2-6 MB the device sends, one cut in
# ten first stalling for three seconds; and between syncs, at random,
# `field sync` or the server killed with -9 in the middle. The sync is run
# again until it reports nothing left. Then: every photo is on the server
# byte for byte, no partial file was ever visible under a photo's name
# (checked after every round), and the bytes the device sent over the
# link, versions and requests included, are at most 1.1 times the
# photos' size.
. "$(dirname "$0")/server_lib.sh"

P="$FIELD_BUILD/tests/tools/faultproxy"
N_RECORDS=10 # four photo questions each: 40 photos
RATE=25000000
CUT=2000000:6000000
ROUNDS_MAX=60

start_server main --quiet
province 18133
enroll_device a "Inspector A" 18133

jv() {
    json_get "$OUT" "$1"
}

# --- the photos ------------------------------------------------------------------

TOTAL=0
: >"$T/photos"
_r=0
while [ $_r -lt $N_RECORDS ]; do
    REC=$("$F" new ntm-xa-2021 --subject 18133 </dev/null)
    for q in plan_photo road_photo culture_photo env_photo; do
        size=$(( (1 + $(od -An -N4 -tu4 /dev/urandom) % 4000) * 1000 + 1000000 ))
        f="$T/$REC-$q.jpg"
        jpeg "$f" "$size"
        size=$(stat -c %s "$f")
        "$F" attach "$REC" "$q" "$f" >/dev/null 2>"$T/.attach" ||
            { fail "attach $f" "$(cat "$T/.attach")"; finish; }
        echo "$(b2 "$f") $f" >>"$T/photos"
        TOTAL=$((TOTAL + size))
    done
    _r=$((_r + 1))
done
expect_eq "40 photos attached" "$(wc -l <"$T/photos")" 40

# --- the link ---------------------------------------------------------------------

rm -f "$T/proxy.port"
: >"$T/count"
"$P" --port-file "$T/proxy.port" --to "$PORT" --plan pass --rate "$RATE" \
    --cut "$CUT" --stall-percent 10 --count "$T/count" --mark "$T/mark" &
PROXY_PID=$!
at_exit 'kill "$PROXY_PID" 2>/dev/null'
_i=0
while [ ! -s "$T/proxy.port" ]; do
    _i=$((_i + 1))
    [ $_i -lt 100 ] || { fail "the fault proxy starts"; finish; }
    sleep 0.05
done
sql "UPDATE meta SET value = 'http://127.0.0.1:$(cat "$T/proxy.port")' WHERE key = 'sync.url';"

# visible_ok - every file under a photo's name on the server is the photo.
visible_ok() {
    while read -r h f; do
        sf=$(server_file "$h")
        if [ -e "$sf" ] && ! cmp -s "$sf" "$f"; then
            echo "$sf"
            return 1
        fi
    done <"$T/photos"
    return 0
}

# --- sync until done, killing things on the way ------------------------------------

round=0 done=0 kills_client=0 kills_server=0 bad_visible=""
while [ $round -lt $ROUNDS_MAX ] && [ $done -eq 0 ]; do
    round=$((round + 1))
    # The first two rounds kill the client, then the server; after that
    # chance decides (half the rounds let the sync run to its end).
    case $round in
    1) fate=0 ;;
    2) fate=1 ;;
    *) fate=$(($(od -An -N2 -tu2 /dev/urandom) % 4)) ;;
    esac
    if [ $fate -eq 0 ] || [ $fate -eq 1 ]; then
        # A sync killed with -9, or the server under it, after 0.3-2 s.
        "$F" sync --retries 2 >/dev/null 2>&1 &
        SYNC_PID=$!
        sleep "$(awk "BEGIN { srand($$ + $round); printf \"%.2f\", 0.3 + rand() * 1.7 }")"
        if [ $fate -eq 0 ]; then
            kill -9 "$SYNC_PID" 2>/dev/null && kills_client=$((kills_client + 1))
            wait "$SYNC_PID" 2>/dev/null
        else
            kill -9 "$SPID" 2>/dev/null && kills_server=$((kills_server + 1))
            wait "$SYNC_PID" 2>/dev/null
            restart_server
        fi
    else
        run "$F" sync --json --retries 3
        if [ "$RC" -eq 0 ] && [ "$(jv attachments.to_upload)" = 0 ]; then
            done=1
        fi
    fi
    [ -n "$bad_visible" ] || bad_visible=$(visible_ok)
done

expect_eq "the sync finishes within $ROUNDS_MAX rounds" "$done" 1
expect_eq "no partial file was ever visible as a photo" "$bad_visible" ""
check "the client was killed with -9 on the way" test "$kills_client" -ge 1
check "the server was killed with -9 on the way" test "$kills_server" -ge 1
check "the link was cut on the way" grep -q cut "$T/mark"
_missing=0
while read -r h f; do
    cmp -s "$(server_file "$h")" "$f" || _missing=$((_missing + 1))
done <"$T/photos"
expect_eq "every photo is on the server byte for byte" "$_missing" 0
SENT=$(awk '{ s += $1 } END { printf "%d", s }' "$T/count")
check "sent $SENT bytes for $TOTAL of photos: at most 1.1 times" \
    test "$SENT" -le $((TOTAL + TOTAL / 10))
echo "# attach faults: $round rounds, $kills_client client kills," \
    "$kills_server server kills, $(grep -c cut "$T/mark") cuts;" \
    "sent $SENT bytes for $TOTAL ($(awk "BEGIN { printf \"%.3f\", $SENT / $TOTAL }")x)"
run "$F" verify
expect_rc "the device verifies" 0

finish
