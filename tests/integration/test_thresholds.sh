#!/bin/sh
# test_thresholds.sh - the province's threshold revisions with the real
# programs: the administrator drafts and signs a revision that fills in the
# advanced-commune income level of the model-commune checklist
# (ntm-xa-kieu-mau-2021, income_nang_cao_mvnd); the server accepts it; an
# inspector's record, whose income condition was unknown, is met once the
# inspector has synced, and a sync with nothing new stays one request. The
# server refuses, in one line naming what is wrong and storing nothing, a
# revision signed by an inspector's device, one with a value of the wrong
# type, one naming a threshold the template lacks, one whose revision
# number is not greater, a tampered one and the same one twice. Devices
# fetch revisions with a signed GET /v1/thresholds?after=SEQ.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet
province 18583
enroll_device qt "Quản trị tỉnh" 18583 admin
enroll_device an "Nguyễn Văn An" 18583
enroll ctl inspector 18583

TPL=ntm-xa-kieu-mau-2021

nrevisions() {
    sqls "SELECT count(*) FROM threshold_revisions;"
}

# criterion N (0-based) of record $1 as `field show --json` says.
criterion() {
    "$F" show --json "$1" >"$T/.show" 2>&1
    json_get "$T/.show" "criteria.$2.status"
}

# sign_raw KEYFILE BODYFILE - a signed revision file of BODYFILE's JSON,
# written canonically and signed with the seed of a field key file by
# OpenSSL: what a device that bypassed `field thresholds sign` could send.
sign_raw() {
    "$PY" - "$1" "$2" "$T/.raw" <<'EOF'
import hashlib, json, sys
seed = [l.split()[1] for l in open(sys.argv[1]) if l.startswith("seed ")][0]
pub = [l.split()[1] for l in open(sys.argv[1]) if l.startswith("public ")][0]
body = json.load(open(sys.argv[2], encoding="utf-8"))
body["author"] = pub
text = json.dumps(body, ensure_ascii=False, sort_keys=True,
                  separators=(",", ":")).encode()
h = hashlib.blake2b(text, digest_size=32).digest()
open(sys.argv[3] + ".msg", "wb").write(b"field-thresholds-v1" + h)
open(sys.argv[3] + ".body", "wb").write(text)
der = bytes.fromhex("302e020100300506032b657004220420" + seed)
open(sys.argv[3] + ".der", "wb").write(der)
EOF
    openssl pkeyutl -sign -inkey "$T/.raw.der" -keyform DER -rawin \
        -in "$T/.raw.msg" -out "$T/.raw.sig" 2>"$T/.ossl" ||
        fail "openssl signs" "$(cat "$T/.ossl")"
    "$PY" - "$T/.raw" <<'EOF'
import json, sys
body = open(sys.argv[1] + ".body", "rb").read().decode()
sig = open(sys.argv[1] + ".sig", "rb").read().hex()
print(json.dumps({"body": body, "sig": sig}, ensure_ascii=False,
                 sort_keys=True, separators=(",", ":")))
EOF
    rm -f "$T/.raw.der"
}

# --- before: the income level is unknown ---------------------------------------

home an
run "$F" new "$TPL" --subject 18583 region=bac_trung_bo year=2024 \
    inspection_date=2024-11-20 villages_total=12 nang_cao_recognised=yes \
    nang_cao_decision_no=1234/QĐ-UBND nang_cao_decision_date=2023-12-20 \
    income_mvnd=66,5 smart_villages=1 "smart_village_names=Thôn Bắc Hải" \
    outstanding_field=san_xuat outstanding_field_met=yes
expect_rc "the inspector records a model-commune inspection" 0
R=$(cat "$OUT")
expect_eq "criterion 2 (income) is unknown: no income level yet" \
    "$(criterion "$R" 1)" '"unknown"'
expect_eq "... and so is the tier" "$(json_get "$T/.show" tier)" '"unknown"'
expect_eq "... and no revision is in force" \
    "$(json_get "$T/.show" thresholds)" 'null'
run "$F" sync --retries 0
expect_rc "the inspector syncs" 0
run "$F" thresholds
expect_rc "field thresholds lists nothing yet" 0
expect_stdout_empty "... and prints nothing"

# --- the administrator drafts and signs ----------------------------------------

home qt
run "$F" thresholds draft "$TPL" --output "$T/draft.json"
expect_rc "the administrator drafts a revision" 0
expect_eq "... which starts at revision 1" \
    "$(json_get "$T/draft.json" revision)" 1
expect_eq "... listing the unknown income level" \
    "$(json_get "$T/draft.json" thresholds.income_nang_cao_mvnd.values.bac_trung_bo/2024)" \
    null
"$PY" - "$T/draft.json" "$T/filled.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
d["valid_from"] = "01/01/2024"
d["source"] = "Quyết định 12/2024/QĐ-UBND của UBND tỉnh Hà Tĩnh"
d["thresholds"] = {"income_nang_cao_mvnd": d["thresholds"]["income_nang_cao_mvnd"]}
d["thresholds"]["income_nang_cao_mvnd"]["values"]["bac_trung_bo/2024"] = "60,0"
json.dump(d, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
EOF
run "$F" thresholds sign "$T/filled.json" --output "$T/signed.json"
expect_rc "the administrator signs it" 0
expect_stdout_contains "... saying what it signed" "bản 1"
run "$F" thresholds sign "$T/filled.json" --output "$T/signed.json"
expect_rc "an existing output file is not overwritten" 4
home an
expect_error "an inspector's device does not sign thresholds" 4 thresholds \
    "$F" thresholds sign "$T/filled.json"
expect_stderr_contains "... saying the role" "admin"

# --- the server accepts it ------------------------------------------------------

srv thresholds add "$T/signed.json"
expect_rc "the server adds the revision" 0
expect_stdout_contains "... and says which" "$TPL bản/revision 1"
expect_eq "... storing it once" "$(nrevisions)" 1
expect_eq "... with the time it received it" \
    "$(sqls "SELECT CAST(received_ms > 1700000000000 AS integer) FROM threshold_revisions;")" 1
srv thresholds --json
expect_rc "field-server thresholds --json" 0
expect_eq "... lists the revision with its source and date" \
    "$(json_get "$OUT" thresholds.0.revision) $(json_get "$OUT" thresholds.0.valid_from) $(json_get "$OUT" thresholds.0.source)" \
    '1 "2024-01-01" "Quyết định 12/2024/QĐ-UBND của UBND tỉnh Hà Tĩnh"'
srv audit --kind thresholds
expect_stdout_contains "... and the audit log records it" "$TPL revision 1"

# --- the inspector syncs: the income condition is decided ----------------------

home an
expect_eq "before the inspector syncs, criterion 2 is still unknown" \
    "$(criterion "$R" 1)" '"unknown"'
run "$F" sync --retries 0
expect_rc "the inspector syncs again" 0
expect_stdout_contains "... and hears of the new revision" \
    "new threshold revisions: 1"
expect_eq "criterion 2 is met: 66.5 is over 60 plus 10%" \
    "$(criterion "$R" 1)" '"met"'
expect_eq "... and so is the tier" "$(json_get "$T/.show" tier)" '"met"'
expect_eq "... decided with revision 1 of the province" \
    "$(json_get "$T/.show" thresholds.revision) $(json_get "$T/.show" thresholds.valid_from)" \
    '1 "2024-01-01"'
run "$F" show --lang en "$R"
expect_stdout_contains "field show names the revision" \
    "the province's revision 1, Quyết định 12/2024/QĐ-UBND"
expect_stdout_contains "... and shows the level in force" \
    "by region and year: 60 triệu đồng/người/năm"
run "$F" thresholds --json
expect_eq "field thresholds lists it, in force" \
    "$(json_get "$OUT" 0.revision) $(json_get "$OUT" 0.in_force)" "1 true"
run "$F" sync --retries 0 --json
expect_eq "a sync with nothing new is one request" \
    "$(json_get "$OUT" requests) $(json_get "$OUT" thresholds)" "1 0"
run "$F" verify
expect_rc "the store verifies" 0

# --- what the server refuses -----------------------------------------------------

# refused NAME FILE TEXT - the server refuses FILE: exit 4 or 5, one line
# naming TEXT, nothing stored.
refused() {
    srv thresholds add "$2"
    case "$RC" in
    4 | 5) pass "$1: refused" ;;
    *) fail "$1: refused" "exit $RC" "$(_last)" ;;
    esac
    expect_stderr_line "$1: in one line" "field-server: thresholds: "
    expect_stderr_contains "$1: naming what is wrong" "$3"
    expect_eq "$1: nothing stored" "$(nrevisions)" 1
}

# An inspector's device whose client would let it sign (its role edited in
# its own store): the server checks the signer's role itself.
sql "UPDATE meta SET value = 'admin' WHERE key = 'sync.role';"
sed 's/"revision": 1/"revision": 2/' "$T/filled.json" >"$T/filled2.json"
run "$F" thresholds sign "$T/filled2.json" --output "$T/by-inspector.json"
expect_rc "a tampered inspector's client signs" 0
sql "UPDATE meta SET value = 'inspector' WHERE key = 'sync.role';"
refused "signed by an inspector's device" "$T/by-inspector.json" \
    "enrolled as inspector: only an admin's device may set thresholds"

# Revisions a tampered client signed without the checks: the server
# checks them against the template itself.
"$PY" - "$T/.b" "$(json_get "$T/draft.json" template.hash | tr -d '"')" <<'EOF'
import json, sys
base = {"kind": "field-thresholds", "v": 1, "revision": 2,
        "template": {"id": "ntm-xa-kieu-mau-2021", "hash": sys.argv[2]},
        "valid_from": "2024-01-01", "source": "QĐ 13/QĐ-UBND",
        "issued_ms": 1764288000000}
wrong = dict(base, thresholds={"income_nang_cao_mvnd": {"values": {
    "bac_trung_bo/2024": True}}})
unknown = dict(base, thresholds={"income_nang_cao": {"values": {
    "bac_trung_bo/2024": "61"}}})
json.dump(wrong, open(sys.argv[1] + "wrong", "w"))
json.dump(unknown, open(sys.argv[1] + "unknown", "w"))
EOF
home qt
sign_raw "$KEY" "$T/.bwrong" >"$T/wrong.json"
refused "a value of the wrong type" "$T/wrong.json" \
    'thresholds.income_nang_cao_mvnd.values["bac_trung_bo/2024"]: not a number'
sign_raw "$KEY" "$T/.bunknown" >"$T/unknown.json"
refused "a threshold the template lacks" "$T/unknown.json" \
    "thresholds.income_nang_cao: not a threshold of template $TPL"

sed 's/"60,0"/"62"/' "$T/filled.json" >"$T/again.json"
run "$F" thresholds sign "$T/again.json" --output "$T/again-signed.json"
expect_rc "the administrator signs another revision 1" 0
refused "a revision number not greater" "$T/again-signed.json" \
    "revision 1 is not greater than revision 1, the newest stored for $TPL"
refused "the same revision twice" "$T/signed.json" \
    "this revision is stored already (seq 1)"
"$PY" - "$T/signed.json" "$T/tampered.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
d["body"] = d["body"].replace('"60"', '"50"')
json.dump(d, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
EOF
refused "a tampered revision" "$T/tampered.json" "does not verify"

# --- GET /v1/thresholds?after=SEQ -----------------------------------------------

req "$T/ctl.key" GET "/v1/thresholds?after=0"
expect_status "GET /v1/thresholds?after=0 answers" 200
expect_eq "... with revision 1 at seq 1, signed" \
    "$(json_get "$BODY" thresholds.0.seq) $(json_get "$BODY" more)" "1 false"
req "$T/ctl.key" GET "/v1/thresholds?after=1"
expect_status "GET /v1/thresholds?after=1 answers" 200
expect_eq "... an empty page" "$(json_get "$BODY" thresholds)" "[]"
req "$T/ctl.key" GET /v1/thresholds
expect_status "GET /v1/thresholds lists them all" 200
req "$T/ctl.key" GET "/v1/thresholds?after=x"
expect_status "a sequence number that is not one" 400 bad_request
req "$T/ctl.key" GET "/v1/thresholds?since=0"
expect_status "a parameter it does not know" 400 bad_request
req "$T/ctl.key" POST /v1/thresholds --body "$T/signed.json"
expect_status "revisions are not pushed by devices" 405 method_not_allowed

finish
