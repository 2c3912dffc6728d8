#!/bin/sh
# test_sync.sh - `field enroll` and `field sync` between the real programs:
# field-server on a free loopback port, devices in their own data
# directories, libcurl in between. Two devices converge on the same
# versions with `field verify` clean; a sync with nothing to do is one
# small request; refused versions land on the dead-letter list; a sync
# killed with -9 while the server holds its request is simply run again,
# with nothing lost and nothing stored twice; something that is not our
# server (a captive portal) is named as such; `field sync --watch` picks
# up new versions, rides out the server going away, and stops on SIGTERM.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet

province 4201 4202

# code NAME - a one-time code for an inspector of commune 4201.
code() {
    "$S" enroll-code --db "$DBS" --inspector "$1" --role inspector --scope 4201
}

# device NAME INSPECTOR - a data directory, set up, with the units.
new_device() {
    init_home "$1" --inspector "$2"
    run "$F" units import "$T/units.csv"
}

# hashes - every version hash of the current device, sorted, one line.
hashes() {
    sql "SELECT group_concat(hash, ' ') FROM (SELECT hash FROM versions ORDER BY hash);"
}

# jv KEY - a member of the JSON object on the last run's stdout.
jv() {
    json_get "$OUT" "$1"
}

# --- enrollment ---------------------------------------------------------------------

new_device a "Ann"
CODE_A=$(code Ann)
run "$F" enroll "$URL" "$CODE_A"
expect_rc "enroll" 0
expect_stdout "enroll says where and as what" "enrolled at $URL as inspector for 4201, Ann"
expect_eq "the server is remembered" "$(sql "SELECT value FROM meta WHERE key = 'sync.url';")" "$URL"
expect_error "enrolling twice at one server" 4 enroll "$F" enroll "$URL/" "$CODE_A"

new_device b "Bình"
run "$F" enroll "$URL" "$(code Bình)"
expect_rc "a second device enrolls" 0

new_device spent "Chi"
expect_error "a spent code is refused" 4 enroll "$F" enroll "$URL" "$CODE_A"
expect_stderr_contains "... saying so" "invalid_code"
expect_error "not a URL" 2 enroll "$F" enroll "ftp://$URL" "$CODE_A"
expect_error "sync before enrolling" 3 sync "$F" sync
expect_stderr_contains "... says how to enroll" "field enroll URL CODE"

# --- push and pull ----------------------------------------------------------------------

home a
R1=$(new_record 4201 households_total=120)
run "$F" set "$R1" households_latrine=100
R2=$(new_record 4201)
run "$F" sync --json
expect_rc "the first sync" 0
expect_eq "... stores three versions" "$(jv stored)" 3
expect_eq "... in one request" "$(jv requests)" 1
if [ -s "$ERR" ]; then fail "no progress line when stderr is not a terminal" "$(_last)"; else pass "no progress line when stderr is not a terminal"; fi
HA=$(hashes)

home b
R3=$(new_record 4201 households_total=7)
run "$F" sync --json
expect_rc "the other device syncs" 0
expect_eq "... pulls the three" "$(jv pulled)" 3
expect_eq "... all new to it" "$(jv new)" 3
expect_eq "... and pushes its own" "$(jv stored)" 1
run "$F" set "$R1" households_total=121
expect_rc "an edit on the other device" 0
run "$F" sync
expect_rc "... synced" 0
expect_stdout_contains "... with a summary line" "synced with $URL: pushed 1 (1 stored, 0 duplicates, 0 quarantined, 0 refused), pulled 0 (0 new); 1 request"

home a
run "$F" sync --json
expect_eq "the first device pulls both" "$(jv new)" 2
HA=$(hashes)
home b
HB=$(hashes)
expect_eq "both devices hold the same versions" "$HA" "$HB"
expect_eq "... five of them" "$(nversions)" 5
expect_exit "verify is clean on b" 0 "$F" verify
home a
expect_exit "verify is clean on a" 0 "$F" verify
expect_eq "the server holds them once each" "$(sqls "SELECT count(*) || ' ' || count(DISTINCT hash) FROM versions;")" "5 5"

STORE_BEFORE=$(cksum <"$FIELD_HOME/field.db")
run "$F" sync --json
expect_rc "a sync with nothing to do" 0
expect_eq "... is one request" "$(jv requests)" 1
expect_eq "... moves no version" "$(jv pushed) $(jv pulled)" "0 0"
expect_match "... under 1 KB up" "$(jv bytes_up)" "[0-9]??"
expect_match "... under 1 KB down" "$(jv bytes_down)" "[0-9]??"
expect_eq "... writes nothing to the store" "$(cksum <"$FIELD_HOME/field.db")" "$STORE_BEFORE"
expect_eq "... and leaves no log beside it" "$(ls "$FIELD_HOME" | grep -c 'field.db-')" 0
expect_match "... but notes how it ended, beside the store" \
    "$(cat "$FIELD_HOME/sync-status.json")" '{"last_attempt_ms":*,"last_error":"","last_ok_ms":*}'
run "$F" sync status --json
expect_eq "... which status reads" "$(jv last_sync_ms)" "$(jv last_attempt_ms)"

# --- status and the dead-letter list ------------------------------------------------------

R4=$(new_record 4202 households_total=3)
run "$F" sync --json
expect_eq "a version outside the scope is refused" "$(jv refused)" 1
run "$F" sync status --json
expect_rc "sync status --json" 0
expect_eq "... names the server" "$(jv server)" "\"$URL\""
expect_eq "... nothing pending" "$(jv pending)" 0
expect_eq "... the refused version and the server's reason" "$(jv refused.0.reason)" '"out_of_scope"'
expect_eq "... its record" "$(jv refused.0.record)" "\"$R4\""
run "$F" sync status
expect_stdout_contains "sync status for people" "server:     $URL (inspector, scope 4201)"
expect_stdout_contains "... pending" "pending:    0 versions"
expect_stdout_contains "... the dead letter" "out_of_scope"
run "$F" sync --json
expect_eq "a refused version is not pushed again" "$(jv pushed)" 0
expect_error "status takes no sync options" 2 sync "$F" sync status --full

# --- kill -9 while the server holds the request -------------------------------------------

i=0
while [ $i -lt 20 ]; do
    new_record 4201 households_total=$((i + 1)) >/dev/null
    i=$((i + 1))
done
N_A=$(nversions)
kill -STOP "$SPID"
"$F" sync >/dev/null 2>&1 &
SYNC_PID=$!
at_exit 'kill -9 "$SYNC_PID" 2>/dev/null; kill -CONT "$SPID" 2>/dev/null'
sleep 1
kill -9 "$SYNC_PID" 2>/dev/null
wait "$SYNC_PID" 2>/dev/null
kill -CONT "$SPID"
run "$F" sync status --json
expect_eq "killed mid-sync: the versions are still pending" "$(jv pending)" 20
run "$F" sync --json
expect_rc "the next sync completes" 0
expect_eq "... every version acknowledged, stored or duplicate" \
    "$(( $(jv stored) + $(jv duplicates) ))" 20
echo "# after kill -9: $(jv stored) stored, $(jv duplicates) duplicates"
run "$F" sync status --json
expect_eq "... nothing pending" "$(jv pending)" 0
expect_eq "the server holds each once" \
    "$(sqls "SELECT count(*) || ' ' || count(DISTINCT hash) FROM versions;")" \
    "$((N_A - 1)) $((N_A - 1))"
home b
run "$F" sync --json
expect_eq "the other device gets them" "$(nversions)" "$((N_A - 1))"
expect_exit "verify is clean" 0 "$F" verify

# --- not our server ----------------------------------------------------------------------

# A captive portal: answers every request with a login page.
cat >"$T/portal.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        body = b"<!DOCTYPE html><html><body><form>Wi-Fi login</form></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
"$PY" "$T/portal.py" "$T/portal.port.tmp" &
PORTAL_PID=$!
at_exit 'kill "$PORTAL_PID" 2>/dev/null'
i=0
while [ ! -s "$T/portal.port.tmp" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
PORTAL="http://127.0.0.1:$(cat "$T/portal.port.tmp")"
new_device portal "Dũng"
expect_error "enrolling through a captive portal" 1 enroll "$F" enroll "$PORTAL" "$(code Dũng)"
expect_stderr_contains "... is named as such" "answered with text/html (HTTP 200), not the sync protocol — a captive portal or proxy?"
copy_home a a2
sql "UPDATE meta SET value = '$PORTAL' WHERE key = 'sync.url';"
CURSOR=$(sql "SELECT value FROM meta WHERE key = 'sync.cursor';")
R5=$(new_record 4201)
expect_error "syncing through a captive portal" 1 sync "$F" sync
expect_stderr_contains "... names the portal's address" "the server at $PORTAL answered with text/html"
expect_eq "... and changes nothing" "$(sql "SELECT value FROM meta WHERE key = 'sync.cursor';")" "$CURSOR"
run "$F" sync status --json
expect_eq "... the version still pending" "$(jv pending)" 1
expect_match "... the error kept for status" "$(jv last_error)" "*captive portal*"

# --- --watch ------------------------------------------------------------------------------

home b
N_B=$(nversions)
"$F" sync --watch --interval 1 --json >"$T/watch.out" 2>"$T/watch.err" &
WATCH_PID=$!
at_exit 'kill -9 "$WATCH_PID" 2>/dev/null'

# wait_for CMD... - up to 15 s for CMD to succeed.
wait_for() {
    _w=0
    while ! "$@" >/dev/null 2>&1; do
        _w=$((_w + 1))
        [ $_w -gt 150 ] && return 1
        sleep 0.1
    done
    return 0
}
has_versions() { [ "$(sqlite3 -batch "$T/b/field.db" "SELECT count(*) FROM versions;")" -ge "$1" ]; }

home a
R6=$(new_record 4201)
run "$F" sync
check "--watch pulls a new version within seconds" wait_for has_versions $((N_B + 1))

# The server goes away and comes back on the same port.
stop_server
home a
R7=$(new_record 4201)
sleep 3.5
start_server main --quiet --port "$PORT"
run "$F" sync
expect_rc "the server is back" 0
check "--watch syncs as soon as the server answers again" wait_for has_versions $((N_B + 2))
check "--watch is still running" kill -0 "$WATCH_PID"
kill -TERM "$WATCH_PID"
wait "$WATCH_PID"
expect_eq "--watch stops cleanly on SIGTERM" "$?" 0
check "--watch said once that it would keep trying" grep -q "will keep trying" "$T/watch.err"
check "--watch wrote a JSON summary per sync" "$PY" -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) >= 2 and sum(l["pulled"] for l in lines) >= 2, lines
' "$T/watch.out"

# --- --full, --help ---------------------------------------------------------------------

home b
N_B=$(nversions)
run "$F" sync --full --json
expect_rc "sync --full" 0
expect_eq "... pushes everything again: all duplicates" "$(jv duplicates)" "$(sql "SELECT count(*) FROM versions;")"
expect_eq "... and pulls from the start, learning nothing new" "$(jv new)" 0
run "$F" sync --json
expect_eq "... after which a sync is one request again" "$(jv requests)" 1
run "$F" sync --help
expect_stdout_contains "sync --help documents --watch" "--watch"
expect_stdout_contains "... and status" "status [--json]"
expect_error "--interval without --watch" 2 sync "$F" sync --interval 5

# --- the server gone --------------------------------------------------------------------

stop_server
home a
expect_error "the server gone" 1 sync "$F" sync --retries 1
expect_stderr_contains "... names the server" "cannot reach the server at $URL"

# --- no CA store: an https URL says what to do ------------------------------------------
# (SSL_CERT_FILE naming no file stands for a system without a CA store:
# the check comes before any connection, so no server is needed.)

new_device noca "Fri"
run env SSL_CERT_FILE="$T/no-such-bundle.pem" "$F" enroll "https://127.0.0.1:1" "$(code Fri)"
expect_rc "no CA store and an https URL: refused" 1
expect_stderr_contains "... saying there is no CA store" "no CA certificate store on this system"
expect_stderr_contains "... and naming --cacert" "with --cacert FILE"
expect_eq "... in one line" "$(wc -l <"$ERR")" 1

# --- TLS: verification on, --cacert, --pinned-pubkey ---------------------------------------

# The static field-server (scripts/static.sh) has no TLS: it must refuse
# --tls-cert at once, naming the way out, and this section is skipped.
run "$S" serve --db "$DBS" --listen 127.0.0.1 --port 0 --tls-cert "$T/none.pem" \
    --tls-key "$T/none.key"
if grep -q "built without TLS" "$ERR"; then
    expect_rc "a field-server without TLS refuses --tls-cert" 2
    expect_stderr_contains "... pointing to a reverse proxy or the package" \
        "reverse proxy that holds the certificate, or install the packaged field-server"
    skip "TLS: this field-server was built without TLS"
# The address is named twice, as an IP address and as a DNS name: the
# static field's mbedTLS 2.28 matches DNS names only (README "A static
# binary"), OpenSSL the IP address.
elif openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/tls.key" -out "$T/tls.pem" -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1,DNS:127.0.0.1 >/dev/null 2>&1; then
    PIN="sha256//$(openssl x509 -in "$T/tls.pem" -pubkey -noout |
        openssl pkey -pubin -outform der | openssl dgst -sha256 -binary |
        openssl enc -base64)"
    start_server tls --quiet --tls-cert "$T/tls.pem" --tls-key "$T/tls.key"
    URL="https://127.0.0.1:$PORT"
    new_device t "Thu"
    CODE_T=$(code Thu)
    expect_error "a certificate nobody vouches for is refused" 1 enroll "$F" enroll "$URL" "$CODE_T"
    expect_stderr_contains "... saying why" "cannot verify its TLS identity"
    expect_error "a wrong pinned key is refused" 1 enroll "$F" enroll --cacert "$T/tls.pem" \
        --pinned-pubkey "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" "$URL" "$CODE_T"
    expect_stderr_contains "... saying why" "pinned"
    run "$F" enroll --cacert "$T/tls.pem" --pinned-pubkey "$PIN" "$URL" "$CODE_T"
    expect_rc "enroll over TLS with --cacert and --pinned-pubkey" 0
    R8=$(new_record 4201)
    run "$F" sync --json
    expect_rc "sync over TLS uses what enroll remembered" 0
    expect_eq "... and pushes" "$(jv stored)" 1
    expect_eq "... the CA file is kept as an absolute path" \
        "$(sql "SELECT value FROM meta WHERE key = 'sync.cacert';")" "$(cd "$T" && pwd -P)/tls.pem"
else
    skip "TLS: openssl cannot make a test certificate"
fi

finish
