#!/bin/sh
# test_server_api.sh - the real field-server over loopback: enrollment,
# push and pull, idempotency, scopes and roles, relaying, quarantine and
# its release, chain forks and gaps in the audit, checklist flags,
# revocation, clock skew, replay, cursors and epochs, the read-only
# endpoints, metrics and backup.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet --skew 60

# --- units and templates --------------------------------------------------------

# The same CSV as the devices load (field units import).
cat >"$T/units.csv" <<'CSV'
code,name,kind,parent_code,valid_from,valid_to
42,Hà Tĩnh,tinh,,,
4201,Xã Một,xa,42,2025-07-01,
420101,Thôn Một,thon,4201,2025-07-01,
4202,Xã Hai,xa,42,2025-07-01,
CSV
printf 'code,name,kind,parent_code,valid_from,valid_to\n4203,Xã Ba,xa,99,2025-07-01,\n' \
    >"$T/units-bad.csv"
srv units import "$T/units-bad.csv"
expect_rc "units import refuses an unknown parent" 4
expect_stderr_contains "... naming the line" "line 2: parent_code 99"
srv units import "$T/units.csv"
expect_rc "units import" 0
expect_stdout "units import says how many" "imported 4 units"
srv templates --json
TPL=$("$PY" -c 'import json,sys; print([t["hash"] for t in json.load(open(sys.argv[1]))["templates"] if t["id"]=="field-demo"][0])' "$OUT")
expect_match "the demo template is installed by init" "$TPL" "????????????????????????????????????????????????????????????????"

# --- enrollment -------------------------------------------------------------------

enroll ann inspector 4201
pass "an inspector enrolls with a one-time code"
expect_eq "the answer names the device" "$(json_get "$BODY" device)" "\"$(cat "$T/ann.pub")\""
expect_eq "... its role" "$(json_get "$BODY" role)" '"inspector"'
expect_eq "... its scope" "$(json_get "$BODY" scope)" '["4201"]'
enroll bob inspector 4202
enroll sup supervisor 42
enroll adm admin

code=$("$S" enroll-code --db "$DBS" --inspector "Chị Lan" --role inspector --scope 4201)
device carl >"$T/carl.pub"
"$C" enroll-body "$code" "$T/carl.key" >"$T/carl.enroll"
req "$T/carl.key" POST /v1/enroll --body "$T/carl.enroll"
expect_status "enroll carl" 200
device dan >/dev/null
"$C" enroll-body "$code" "$T/dan.key" >"$T/dan.enroll"
req "$T/dan.key" POST /v1/enroll --body "$T/dan.enroll"
expect_status "a code is used once only" 403 invalid_code
req "$T/carl.key" POST /v1/enroll --body "$T/carl.enroll"
expect_status "a replayed enrollment body with a new signature: code spent" 403 invalid_code
code2=$("$S" enroll-code --db "$DBS" --inspector X --role inspector --scope 4201)
"$C" enroll-body "$code2" "$T/carl.key" >"$T/carl2.enroll"
req "$T/carl.key" POST /v1/enroll --body "$T/carl2.enroll"
expect_status "a key enrolled twice" 409 already_enrolled
"$C" enroll-body "$code2" "$T/ann.key" >"$T/mismatch.enroll"
req "$T/dan.key" POST /v1/enroll --body "$T/mismatch.enroll"
expect_status "the public key must be the signer's" 400 key_mismatch
expect_exit "enroll-code refuses an unknown unit" 3 "$S" enroll-code --db "$DBS" --inspector X --role inspector --scope 9999
expect_exit "enroll-code refuses a bad role" 2 "$S" enroll-code --db "$DBS" --inspector X --role boss --scope 42

# --- push, duplicate, pull --------------------------------------------------------

R1=01936a1b2c3d4e5f60718293a4b5c6d7
ANS='{"households_total":120,"inspection_date":"2026-11-20"}'
version ann "$T/a1" --record "$R1" --dseq 1 --subject 4201 \
    --template-id field-demo --template-hash "$TPL" --answers "$ANS"
H1=$("$C" hash "$T/a1")
version ann "$T/a2" --record "$R1" --dseq 2 --prev "$H1" --parent "$H1" \
    --subject 4201 --template-id field-demo --template-hash "$TPL" --answers "$ANS"
H2=$("$C" hash "$T/a2")
sync_as ann "$T/a1" "$T/a2"
expect_status "push two versions" 200
expect_eq "first stored" "$(result 0)" "stored"
expect_eq "second stored" "$(result 1)" "stored"
expect_eq "the answer carries the server's time" \
    "$("$PY" -c 'import json,sys,time; t=json.load(open(sys.argv[1]))["server_time"]; print(abs(t/1000-time.time())<60)' "$BODY")" True
expect_eq "the pusher does not get its own versions back" "$(pulled_count)" 0
CUR_ANN=$(json_get "$BODY" cursor | tr -d '"')
A1HEX=$(head -n 1 "$T/a1" | tr -d '\n' | od -An -v -tx1 | tr -d ' \n')
expect_eq "stored once, exactly as signed" \
    "$(sqls "SELECT count(*), sum(CAST($(sql_hex body) = upper('$A1HEX') AS integer)) FROM versions")" "2|1"

sync_as ann "$T/a1"
expect_eq "the same version again: duplicate" "$(result 0)" "duplicate"
expect_eq "... and stored once" "$(sqls 'SELECT count(*) FROM versions')" 2

sync_as sup
expect_status "the supervisor pulls" 200
expect_eq "the supervisor of the province gets both" "$(pulled_count)" 2
expect_eq "in server order" "$("$PY" -c 'import json,sys; print([p["seq"] for p in json.load(open(sys.argv[1]))["pull"]])' "$BODY")" "[1, 2]"
CUR_SUP=$(json_get "$BODY" cursor | tr -d '"')
expect_eq "nothing more" "$(json_get "$BODY" more)" false
sync_as sup --cursor "$CUR_SUP"
expect_eq "a sync with nothing to do pulls nothing" "$(pulled_count)" 0

sync_as bob
expect_eq "another commune's inspector gets nothing" "$(pulled_count)" 0
sync_as carl
expect_eq "a colleague of the same commune gets both" "$(pulled_count)" 2

# Paging.
for i in 3 4 5 6 7; do
    version ann "$T/p$i" --record "0193000000000000000000000000000$i" --dseq "$i" \
        --prev "$(if [ "$i" = 3 ]; then echo "$H2"; else "$C" hash "$T/p$((i - 1))"; fi)" \
        --subject 420101 --template-id field-demo --template-hash "$TPL"
done
sync_as ann "$T/p3" "$T/p4" "$T/p5" "$T/p6" "$T/p7"
expect_eq "a village below the inspector's commune is in scope" "$(result 4)" "stored"
sync_as sup --cursor "$CUR_SUP" --limit 2
expect_eq "a page holds the limit" "$(pulled_count)" 2
expect_eq "... and says more remain" "$(json_get "$BODY" more)" true
C2=$(json_get "$BODY" cursor | tr -d '"')
sync_as sup --cursor "$C2" --limit 2
C3=$(json_get "$BODY" cursor | tr -d '"')
sync_as sup --cursor "$C3" --limit 2
expect_eq "the last page" "$(pulled_count) $(json_get "$BODY" more)" "1 false"

# A reinstalled device (same key, no cursor) gets its own work back.
sync_as ann --limit 1000
expect_eq "a fresh cursor gets back what the device pushed before" "$(pulled_count)" 7

# --- scope, role, relay ------------------------------------------------------------

version bob "$T/b1" --record 01930000000000000000000000000b01 --dseq 1 \
    --subject 4201 --template-id field-demo --template-hash "$TPL"
sync_as bob "$T/b1"
expect_eq "outside the pusher's scope: refused" "$(result 0)" "refused/out_of_scope"
version ann "$T/appr" --record "$R1" --dseq 8 --prev "$("$C" hash "$T/p7")" \
    --parent "$H2" --subject 4201 --template-id field-demo --template-hash "$TPL" \
    --status approved --answers "$ANS"
sync_as ann "$T/appr"
expect_eq "an inspector may not approve" "$(result 0)" "refused/role"
version ann "$T/ret" --record "$R1" --dseq 8 --prev "$("$C" hash "$T/p7")" \
    --parent "$H2" --subject 4201 --template-id field-demo --template-hash "$TPL" \
    --status returned --answers "$ANS"
sync_as ann "$T/ret"
expect_eq "... nor return a record" "$(result 0)" "refused/role"
version sup "$T/s1" --record "$R1" --dseq 1 --parent "$H2" --subject 4201 \
    --template-id field-demo --template-hash "$TPL" --status approved --answers "$ANS"
sync_as carl "$T/s1"
expect_eq "any enrolled device may relay another's version" "$(result 0)" "stored"
expect_eq "... and the pusher is recorded" \
    "$(sqls "SELECT CAST(pusher = '$(cat "$T/carl.pub")' AND author = '$(cat "$T/sup.pub")' AS integer) FROM versions WHERE hash = '$("$C" hash "$T/s1")'")" 1
device eve >/dev/null
version eve "$T/e1" --record 01930000000000000000000000000e01 --dseq 1 \
    --subject 4201 --template-id field-demo --template-hash "$TPL"
sync_as ann "$T/e1"
expect_eq "a version by a device never enrolled: refused" "$(result 0)" "refused/unknown_author"
head -n 1 "$T/a1" | sed 's/"households_total":120/"households_total":121/' >"$T/forged"
tail -n 1 "$T/a1" >>"$T/forged"
sync_as ann "$T/forged"
expect_eq "a changed body under its old signature: refused" "$(result 0)" "refused/bad_signature"
printf '{"v":1, "x":2}\n%s\n' "$(tail -n 1 "$T/a1")" >"$T/malformed"
sync_as ann "$T/malformed"
expect_eq "a malformed body: refused" "$(result 0)" "refused/malformed"
expect_eq "refusals are in the audit log" \
    "$(sqls "SELECT count(*) FROM audit WHERE kind = 'refused'")" 6

# --- quarantine and release ---------------------------------------------------------

R2=01930000000000000000000000000c02
version carl "$T/c1" --record "$R2" --dseq 1 --subject 4201 \
    --template-id field-demo --template-hash "$TPL"
HC1=$("$C" hash "$T/c1")
version carl "$T/c2" --record "$R2" --dseq 2 --prev "$HC1" --parent "$HC1" \
    --subject 4201 --template-id field-demo --template-hash "$TPL"
sync_as carl "$T/c2"
expect_eq "a child before its parent: quarantined" "$(result 0)" "quarantined/missing_parents"
expect_eq "... not served" "$(sqls "SELECT count(*) FROM versions WHERE hash = '$("$C" hash "$T/c2")'")" 0
sync_as carl "$T/c2"
expect_eq "sent again while waiting: still quarantined" "$(result 0)" "quarantined/quarantined"
sync_as carl "$T/c1"
expect_eq "the parent arrives" "$(result 0)" "stored"
expect_eq "... and releases the child" \
    "$(sqls "SELECT count(*) FROM versions WHERE hash = '$("$C" hash "$T/c2")'") $(sqls 'SELECT count(*) FROM quarantine')" "1 0"
expect_eq "the heads follow" "$(sqls "SELECT hash FROM heads WHERE record = '$R2'")" "$("$C" hash "$T/c2")"

version carl "$T/unk" --record 01930000000000000000000000000c03 --dseq 3 \
    --prev "$("$C" hash "$T/c2")" --subject 4201 --template-id ntm-new \
    --template-hash 1111111111111111111111111111111111111111111111111111111111111111
sync_as carl "$T/unk"
expect_eq "an unknown template: quarantined" "$(result 0)" "quarantined/unknown_template"

# --- forks, gaps, flags ---------------------------------------------------------------

version carl "$T/fork" --record 01930000000000000000000000000c04 --dseq 2 \
    --prev "$HC1" --subject 4201 --template-id field-demo --template-hash "$TPL"
sync_as carl "$T/fork"
expect_eq "a fork of the device chain is stored" "$(result 0)" "stored"
version carl "$T/gap" --record 01930000000000000000000000000c05 --dseq 9 \
    --prev 2222222222222222222222222222222222222222222222222222222222222222 \
    --subject 4201 --template-id field-demo --template-hash "$TPL"
sync_as carl "$T/gap"
expect_eq "a gap in the device chain is stored" "$(result 0)" "stored"
version carl "$T/flag" --record 01930000000000000000000000000c06 --dseq 10 \
    --prev "$("$C" hash "$T/gap")" --subject 4201 --template-id field-demo \
    --template-hash "$TPL" --status final --answers '{"households_total":5}'
sync_as carl "$T/flag"
expect_eq "a final version missing required answers is stored" "$(result 0)" "stored"
expect_match "... and flagged" "$(sqls "SELECT flag FROM versions WHERE hash = '$("$C" hash "$T/flag")'")" "*required*"
version carl "$T/flag2" --record 01930000000000000000000000000c07 --dseq 11 \
    --prev "$("$C" hash "$T/flag")" --subject 4201 --template-id field-demo \
    --template-hash "$TPL" --answers '{"households_latrine":9,"households_total":5}'
sync_as carl "$T/flag2"
expect_eq "a draft breaking a constraint is stored" "$(result 0)" "stored"
expect_match "... and flagged by the checklist engine" \
    "$(sqls "SELECT flag FROM versions WHERE hash = '$("$C" hash "$T/flag2")'")" \
    "households_latrine: answer breaks its constraint*"
srv audit
expect_rc "audit exits 5 on chain alarms" 5
expect_stdout_contains "audit shows the fork" "fork  device $(cut -c1-16 "$T/carl.pub") dseq 2"
expect_stdout_contains "audit shows the gap" "gap   device $(cut -c1-16 "$T/carl.pub") dseq 9"
expect_stdout_contains "audit shows refused pushes" "out_of_scope"
srv audit --json --kind flagged
expect_eq "audit --json" "$(json_get "$OUT" log.0.kind)" '"flagged"'

# --- revocation ------------------------------------------------------------------------

version bob "$T/b2" --record 01930000000000000000000000000b02 --dseq 1 \
    --subject 4202 --template-id field-demo --template-hash "$TPL"
srv devices revoke "$(cut -c1-12 "$T/bob.pub")"
expect_rc "revoke a device by prefix" 0
sync_as bob
expect_status "a revoked device is refused" 403 revoked
sync_as sup "$T/b2"
expect_eq "a revoked author's version relayed: quarantined" "$(result 0)" "quarantined/revoked_author"
srv devices revoke "$(cut -c1-12 "$T/bob.pub")"
expect_rc "revoking twice" 4
srv devices --json
expect_match "devices --json shows the revocation" "$(cat "$OUT")" "*\"revoked_ms\":1*"

# --- clock skew and replay ---------------------------------------------------------------

sync_as ann >/dev/null
"$C" sync-body >"$T/empty.sync"
req "$T/ann.key" POST /v1/sync --body "$T/empty.sync" --time-offset 600000
expect_status "a clock ten minutes ahead is refused" 401 clock_skew
st=$(json_get "$BODY" error.server_time)
expect_eq "... with the server's time" \
    "$("$PY" -c 'import sys,time; print(abs(int(sys.argv[1])/1000-time.time())<60)' "$st")" True
req "$T/ann.key" POST /v1/sync --body "$T/empty.sync" --time-offset -600000
expect_status "a clock ten minutes behind is refused" 401 clock_skew
req "$T/ann.key" POST /v1/sync --body "$T/empty.sync" --time-offset 30000
expect_status "inside the window it is accepted" 200
req "$T/ann.key" POST /v1/sync --body "$T/empty.sync" --save "$T/captured"
expect_status "a request" 200
"$C" send "$URL/v1/sync" "$T/captured" >"$T/.resp"
STATUS=$(head -n 1 "$T/.resp"); tail -n +2 "$T/.resp" >"$BODY"
expect_status "the same bytes sent again are refused" 401 replayed

# --- cursors, epochs, read-only endpoints -------------------------------------------------

sync_as sup --cursor "1.0000000000000000.0000000000000000.5.0"
expect_eq "a cursor of another epoch is answered reset" "$(json_get "$BODY" reset)" true
sync_as sup --cursor "nonsense"
expect_status "a cursor not made here" 400 bad_cursor
req "$T/ann.key" GET /v1/templates
expect_status "templates" 200
expect_match "... lists the demo template" "$(cat "$BODY")" "*$TPL*"
req "$T/ann.key" GET "/v1/templates/$TPL"
expect_status "one template by hash" 200
expect_eq "... its canonical bytes" "$("$PY" -c 'import hashlib,sys; print(hashlib.blake2b(open(sys.argv[1],"rb").read().rstrip(b"\n"), digest_size=32).hexdigest())' "$BODY")" "$TPL"
req "$T/ann.key" GET /v1/templates/ffff
expect_status "an unknown template" 404 not_found
req "$T/ann.key" GET /v1/units --accept-gzip
expect_status "units" 200
expect_match "... with Vietnamese names intact" "$(cat "$BODY")" "*Hà Tĩnh*"
expect_eq "... each with its dates, kind, programme and merger" \
    "$(json_get "$BODY" units.0.valid_from)/$(json_get "$BODY" units.0.valid_to)/$(json_get "$BODY" units.0.kind)/$(json_get "$BODY" units.0.level)/$(json_get "$BODY" units.0.in_programme)/$(json_get "$BODY" units.0.merged_into)" \
    '"0000-01-01"/null/"tinh"/"tinh"/true/null'
req - GET /v1/units
expect_status "units need a signature" 401 unsigned
req - GET /v1/health
expect_status "health needs none" 200
req - GET /metrics
expect_status "metrics" 200
expect_match "metrics count requests by route and status" "$(cat "$BODY")" '*field_requests_total{route="sync",status="200"}*'
expect_match "metrics count refusals by reason" "$(cat "$BODY")" '*field_refusals_total{what="version",reason="out_of_scope"} 1*'
expect_match "metrics have a latency histogram" "$(cat "$BODY")" '*field_request_duration_seconds_bucket{route="sync",le="+Inf"}*'
expect_match "metrics report versions stored" "$(cat "$BODY")" "*field_versions_stored 1*"
req - GET /nowhere
expect_status "an unknown path" 404 not_found
req - DELETE /v1/sync
expect_status "a wrong method" 405 method_not_allowed

# --- backup while serving; a restored server is a new epoch -------------------------------

srv backup "$T/copy.db"
expect_rc "backup while serving" 0
MAIN_DBS=$DBS
MAIN_SPID=$SPID
MAIN_URL=$URL
restore_backup copy "$T/copy.db"
start_server copy --quiet
sync_as sup --cursor "$CUR_SUP"
expect_eq "a cursor from before the restore is answered reset" "$(json_get "$BODY" reset)" true
expect_eq "... the restored server holds the versions" "$(sqls 'SELECT count(*) FROM versions') " "$(sqls_on "$MAIN_DBS" 'SELECT count(*) FROM versions') "
stop_server
expect_eq "the restored server stops cleanly" "$RC" 0
SPID=$MAIN_SPID
stop_server
expect_eq "the server stops cleanly on SIGTERM" "$RC" 0
finish
