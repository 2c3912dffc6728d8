#!/bin/sh
# test_attach_sync.sh - photos between the real programs: `field attach` on
# one device, `field sync` carrying the files to field-server after the
# versions, the server keeping each once, and a second device fetching
# them with `field sync --attachments`, byte for byte. A file the server
# holds already costs no upload; --no-attachments sends none; a device out
# of the record's scope is told the photo does not exist; a sync killed
# with -9 in the middle of an upload continues from the bytes the server
# acknowledged.
. "$(dirname "$0")/server_lib.sh"

P="$FIELD_BUILD/tests/tools/faultproxy"

start_server main --quiet
province 18133 18160

enroll_device a "Inspector A" 18133
enroll_device b "Inspector B" 18133

jv() {
    json_get "$OUT" "$1"
}

# --- an inspector attaches two photos and syncs ---------------------------------

home a
REC=$("$F" new ntm-xa-2021 --subject 18133 </dev/null)
jpeg "$T/plan.jpg" 300000
jpeg "$T/road.jpg" 2500000
run "$F" attach "$REC" plan_photo "$T/plan.jpg"
expect_rc "attach the planning board's photo" 0
run "$F" attach "$REC" road_photo "$T/road.jpg"
expect_rc "attach the road's photo" 0
PLAN=$(b2 "$T/plan.jpg")
ROAD=$(b2 "$T/road.jpg")

run "$F" sync --json
expect_rc "the sync with photos completes" 0
expect_eq "both photos sent" "$(jv attachments.uploaded)" 2
expect_eq "none waiting" "$(jv attachments.waiting)" 0
expect_eq "none failed" "$(jv attachments.failed)" 0
check "the server holds the planning board's photo byte for byte" \
    cmp -s "$T/plan.jpg" "$(server_file "$PLAN")"
check "the server holds the road's photo byte for byte" \
    cmp -s "$T/road.jpg" "$(server_file "$ROAD")"
expect_eq "no partial upload is left" \
    "$(find "$SATT/partial" -type f 2>/dev/null | wc -l)" 0

run "$F" sync --json
expect_eq "a second sync sends no photo again" "$(jv attachments.to_upload)" 0

# The same picture on another record: named twice, stored once, and
# never sent again.
REC2=$("$F" new ntm-xa-2021 --subject 18133 </dev/null)
run "$F" attach "$REC2" plan_photo "$T/plan.jpg"
run "$F" sync --json
expect_eq "a photo the server holds costs no upload" \
    "$(jv attachments.bytes_up)" 0
expect_eq "the server keeps one file for the two records" \
    "$(find "$SATT" -name "$PLAN" -type f | wc -l)" 1

# --no-attachments: the version goes, the photo waits.
jpeg "$T/culture.jpg" 120000
CULTURE=$(b2 "$T/culture.jpg")
run "$F" attach "$REC" culture_photo "$T/culture.jpg"
run "$F" sync --json --no-attachments
expect_rc "a sync without photos completes" 0
expect_eq "it pushed the version" "$(jv stored)" 1
expect_eq "and sent no photo" "$(jv attachments.to_upload)" 0
check "the server does not hold the photo yet" \
    test ! -e "$(server_file "$CULTURE")"
run "$F" sync --json
expect_eq "the next sync sends it" "$(jv attachments.uploaded)" 1

# --- a second device fetches them ---------------------------------------------

home b
run "$F" sync --json
expect_rc "device b syncs the versions" 0
expect_eq "without --attachments no photo is fetched" \
    "$(jv attachments.to_download)" 0
run "$F" sync --json --attachments-of "$REC"
expect_rc "device b fetches one record's photos" 0
expect_eq "three photos received" "$(jv attachments.downloaded)" 3
for h in "$PLAN" "$ROAD" "$CULTURE"; do
    f="$T/b/attachments/$(echo "$h" | cut -c1-2)/$h"
    check "device b holds $h byte for byte" cmp -s "$f" "$(server_file "$h")"
done
run "$F" verify
expect_rc "device b verifies, photos included" 0
run "$F" sync --json --attachments
expect_eq "nothing left to fetch" "$(jv attachments.to_download)" 0

# --- scope: a device of another commune ----------------------------------------

enroll_device c "Inspector C" 18160
req "$T/c/device.key" GET "/v1/attachments/$PLAN"
expect_status "a device outside the record's scope gets no photo" 404 \
    unknown_attachment
req "$T/a/device.key" GET "/v1/attachments/$PLAN?offset=0" --output "$T/got.jpg"
expect_status "the inspector who took it may fetch it" 200
check "what it fetches is the photo" cmp -s "$T/got.jpg" "$T/plan.jpg"

# --- kill -9 in the middle of an upload ----------------------------------------

if [ -x "$P" ]; then
    home a
    jpeg "$T/env.jpg" 6000000
    ENV=$(b2 "$T/env.jpg")
    run "$F" attach "$REC" env_photo "$T/env.jpg"
    rm -f "$T/proxy.port"
    "$P" --port-file "$T/proxy.port" --to "$PORT" --plan pass \
        --rate 2000000 &
    PROXY_PID=$!
    at_exit "kill $PROXY_PID 2>/dev/null"
    while [ ! -s "$T/proxy.port" ]; do sleep 0.05; done
    sql "UPDATE meta SET value = 'http://127.0.0.1:$(cat "$T/proxy.port")' WHERE key = 'sync.url';"
    "$F" sync >/dev/null 2>&1 &
    SYNC_PID=$!
    # Wait until the server has acknowledged part of the file, then kill.
    _i=0
    until [ "$(sqls "SELECT coalesce(max(acked), 0) FROM attachments WHERE stored_ms IS NULL;" 2>/dev/null || echo 0)" -gt 0 ] ||
        [ $_i -gt 200 ]; do
        _i=$((_i + 1))
        sleep 0.05
    done
    kill -9 "$SYNC_PID" 2>/dev/null
    wait "$SYNC_PID" 2>/dev/null
    ACKED=$(sqls "SELECT coalesce(max(acked), 0) FROM attachments WHERE stored_ms IS NULL;")
    check "part of the photo was acknowledged before the kill" \
        test "${ACKED:-0}" -gt 0
    check "a partial upload is never visible as the photo" \
        test ! -e "$(server_file "$ENV")"
    sql "UPDATE meta SET value = '$URL' WHERE key = 'sync.url';"
    run "$F" sync --json
    expect_rc "the sync after the kill completes" 0
    check "it sent less than the whole photo again" \
        test "$(jv attachments.bytes_up)" -lt 6000000
    check "the server holds the photo byte for byte" \
        cmp -s "$T/env.jpg" "$(server_file "$ENV")"
fi

finish
