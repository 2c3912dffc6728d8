#!/bin/sh
# test_server_shutdown.sh - field-server stops gracefully: on SIGTERM it
# stops accepting, lets a request in flight finish and be stored, then
# checkpoints the database and exits 0; SIGINT does the same. It also
# serves HTTPS with --tls-cert/--tls-key.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet --shutdown-grace 20
enroll ann admin
srv templates --json
TPL=$("$PY" -c 'import json,sys; print([t["hash"] for t in json.load(open(sys.argv[1]))["templates"] if t["id"]=="field-demo"][0])' "$OUT")
version ann "$T/v1" --record 01936a1b2c3d4e5f60718293a4b5c6d7 --dseq 1 \
    --subject 42 --template-id field-demo --template-hash "$TPL"
"$C" sync-body "$T/v1" >"$T/good"

# A push that stops half way for 1.5 s; SIGTERM arrives in the pause.
"$C" request "$T/ann.key" POST "$URL/v1/sync" --body "$T/good" \
    --pause-after 40 --pause-ms 1500 --started "$T/started" >"$T/inflight.out" 2>&1 &
client=$!
i=0
while [ ! -e "$T/started" ] && [ "$i" -lt 100 ]; do
    sleep 0.05
    i=$((i + 1))
done
kill -TERM "$SPID"
sleep 0.3
"$C" request - GET "$URL/v1/health" >"$T/late.out" 2>&1
late=$?
if [ "$late" -ne 0 ] || [ "$(head -n 1 "$T/late.out")" = 503 ]; then
    pass "a new request during shutdown is not served"
else
    fail "a new request during shutdown is not served" "$(cat "$T/late.out")"
fi
wait "$client"
STATUS=$(head -n 1 "$T/inflight.out"); tail -n +2 "$T/inflight.out" >"$BODY"
expect_status "the request in flight is answered" 200
expect_eq "... and its version stored" "$(result 0)" stored
wait "$SPID"
expect_eq "the server exits 0" "$?" 0
expect_eq "the version is in the database" "$(sqls 'SELECT count(*) FROM versions')" 1
if [ ! -s "$DBS-wal" ]; then
    pass "the write-ahead log was checkpointed"
else
    fail "the write-ahead log was checkpointed" "$(ls -l "$DBS-wal")"
fi
grep -q "stopped cleanly" "$T/main.log" && pass "it says it stopped cleanly" ||
    fail "it says it stopped cleanly" "$(cat "$T/main.log")"

start_server main --quiet
kill -INT "$SPID"
wait "$SPID"
expect_eq "SIGINT stops it cleanly too" "$?" 0

# --- TLS ---------------------------------------------------------------------------

if "$PY" -c 'import cryptography' 2>/dev/null; then
    "$PY" - "$T" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import ipaddress
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256()))
open(sys.argv[1] + "/cert.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(sys.argv[1] + "/key.pem", "wb").write(key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption()))
PY
    start_server main --quiet --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
    run "$PY" -c '
import http.client, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[2]), context=ctx, timeout=10)
c.request("GET", "/v1/health")
r = c.getresponse()
print(r.status, r.read().decode())
' "$T/cert.pem" "$PORT"
    expect_stdout_contains "HTTPS with --tls-cert and --tls-key" '200 {"status":"ok"'
    stop_server
    expect_eq "the TLS server stops cleanly" "$RC" 0
else
    skip "TLS: python3-cryptography is missing"
fi
expect_exit "--tls-cert without --tls-key is a usage error" 2 \
    "$S" serve --db "$DBS" --port 0 --tls-cert "$T/cert.pem"
finish
