#!/bin/sh
# test_cli.sh - the command line as an inspector uses it, end to end.
#
# Drives the real field binary through init -> new -> set ... -> finalize
# -> history -> verify -> export, and checks what it prints where that is
# data (the --json outputs, exactly) and what it stores (rows of the SQLite
# file). Also: how typed values are normalised before they are signed
# (Vietnamese to NFC, decimals, dates, multiple choices), record id
# prefixes, --help and usage errors, and the passphrase-protected key.
. "$(dirname "$0")/lib.sh"

COMMANDS="export finalize history init list new set show templates verify"

# --- the program and its help -------------------------------------------------

run "$F" --version
expect_rc "--version exits 0" 0
expect_match "--version prints 'field X.Y.Z'" "$(cat "$OUT")" "field [0-9]*.[0-9]*.[0-9]*"

run "$F" --help
expect_rc "--help exits 0" 0
expect_match "--help prints usage" "$(head -n 1 "$OUT")" "usage: field *"
for c in $COMMANDS; do
    expect_stdout_contains "--help lists $c" "  $c "
done

for c in $COMMANDS; do
    run "$F" "$c" --help
    expect_rc "$c --help exits 0" 0
    expect_match "$c --help prints its usage" "$(head -n 1 "$OUT")" "usage: field $c*"
    cp "$OUT" "$T/help.$c"
    run "$F" help "$c"
    if [ "$RC" -eq 0 ] && cmp -s "$OUT" "$T/help.$c"; then
        pass "help $c prints the same as $c --help"
    else
        fail "help $c prints the same as $c --help" "$(_last)"
    fi
done

run "$F" finalise
expect_rc "unknown command exits 2" 2
expect_stderr_line "unknown command: one line" "field: "
expect_stderr_contains "unknown command suggests the closest" "did you mean 'finalize'"
run "$F" verfy
expect_stderr_contains "unknown command 'verfy' suggests verify" "'verify'"
run "$F" histroy
expect_stderr_contains "unknown command 'histroy' suggests history" "'history'"
run "$F" --bogus
expect_rc "unknown global option exits 2" 2
expect_stderr_contains "unknown global option is called an option" "unknown option '--bogus'"
run "$F" no-such-thing-at-all
expect_rc "unknown command without a near one exits 2" 2
expect_stdout_empty "unknown command prints nothing on standard output"

home nothing
for c in $COMMANDS; do
    run "$F" "$c" --no-such-option
    expect_rc "$c --no-such-option exits 2" 2
    expect_stderr_line "$c --no-such-option: one line 'field: $c: '" "field: $c: "
done
if [ -e "$FIELD_HOME" ]; then
    fail "usage errors create no data directory" "$(ls -la "$FIELD_HOME")"
else
    pass "usage errors create no data directory"
fi

# --- init ---------------------------------------------------------------------

# The inspector's name typed decomposed (as some keyboards send it) must be
# recorded precomposed (NFC).
nfd() {
    "$PY" -c 'import sys, unicodedata
sys.stdout.write(unicodedata.normalize("NFD", sys.argv[1]))' "$1"
}
INSPECTOR="Nguyễn Văn Ánh"
INSPECTOR_NFD=$(nfd "$INSPECTOR")
if [ "$(hex_of "$INSPECTOR")" = "$(hex_of "$INSPECTOR_NFD")" ]; then
    fail "test setup: decomposed name differs from precomposed"
fi

home main
run "$F" init --inspector "$INSPECTOR_NFD"
expect_rc "init exits 0" 0
PUB=$(sed -n 's/^public \([0-9a-f]*\)$/\1/p' "$KEY")
expect_match "init writes a key file with a public key" "$PUB" \
    "????????????????????????????????????????????????????????????????"
expect_stdout_contains "init prints the device key" "$PUB"
expect_eq "key file mode is 0600" "$(stat -c %a "$KEY")" 600
check "key file without passphrase says 'kdf none'" grep -qx "kdf none" "$KEY"
expect_eq "init: store holds no version" "$(nversions)" 0
expect_eq "init: device public key in meta" \
    "$(sql "SELECT value FROM meta WHERE key='device.public';")" "$PUB"
expect_eq "init: inspector name stored as NFC" \
    "$(sql "SELECT lower(hex(value)) FROM meta WHERE key='device.inspector';")" \
    "$(hex_of "$INSPECTOR")"

run "$F" templates --json
expect_rc "templates --json exits 0" 0
TPL_HASH=$(sql "SELECT hash FROM templates WHERE id='field-demo';")
expect_eq "templates: every built-in one installed" \
    "$(sql "SELECT group_concat(id, ' ') FROM (SELECT id FROM templates ORDER BY id);")" \
    "field-demo ha-tinh-kdc-kieu-mau ha-tinh-vuon-mau ntm-xa-2021 ntm-xa-2026 ntm-xa-kieu-mau-2021 ntm-xa-nang-cao-2021"
expect_eq "templates --json: field-demo" \
    "$("$PY" -c 'import json, sys
print(json.dumps([t for t in json.load(open(sys.argv[1])) if t["id"] == "field-demo"][0], ensure_ascii=False, sort_keys=True, separators=(",", ":")))' "$OUT")" \
    "{\"criteria\":0,\"hash\":\"$TPL_HASH\",\"id\":\"field-demo\",\"questions\":11,\"title\":\"Phiếu kiểm tra mẫu (minh hoạ, không phải bộ tiêu chí chính thức)\",\"version\":\"1\"}"

# --- new ------------------------------------------------------------------------

run "$F" new --json field-demo --subject 01001
expect_rc "new --json exits 0" 0
R=$(json_get "$OUT" record | tr -d '"')
V1=$(json_get "$OUT" version | tr -d '"')
expect_match "new: record id is 32 hex digits" "$R" \
    "????????????????????????????????"
expect_eq "new --json" "$(json_get "$OUT" "")" \
    "{\"dseq\":1,\"record\":\"$R\",\"status\":\"draft\",\"version\":\"$V1\"}"
expect_eq "new writes one version" "$(nversions)" 1
expect_eq "new: the stored row" \
    "$(sql "SELECT hash, record, author, dseq, quote(prev), template_id, template_hash, subject, status FROM versions;")" \
    "$V1|$R|$PUB|1|NULL|field-demo|$TPL_HASH|01001|draft"
expect_eq "new: heads names the version" "$(sql "SELECT record, hash FROM heads;")" "$R|$V1"
expect_eq "new: first version has no parents" "$(sql "SELECT count(*) FROM parents;")" 0
expect_eq "new: the body is what was hashed" \
    "$(sql "SELECT json_extract(body, '\$.author') || ' ' || json_extract(body, '\$.dseq') || ' ' || json_extract(body, '\$.status') FROM versions;")" \
    "$PUB 1 draft"

run "$F" new field-demo --subject 01002 households_total=12
expect_rc "new with first answers exits 0" 0
R2=$(cat "$OUT")
expect_match "new prints the record id alone" "$R2" \
    "????????????????????????????????"
expect_eq "new with answers writes one version" "$(nversions)" 2
expect_eq "new with answers: stored answers" \
    "$(sql "SELECT json_extract(body, '\$.answers') FROM versions WHERE record='$R2';")" \
    '{"households_total":12}'

# --- set ------------------------------------------------------------------------

short() { printf '%.12s' "$1"; }
newest() { sql "SELECT hash FROM versions WHERE record='$1' ORDER BY seq DESC LIMIT 1;"; }
answers() { sql "SELECT json_extract(body, '\$.answers') FROM versions WHERE hash='$(newest "$1")';"; }

run "$F" set "$R" households_total=120 road_total_km=12,50 inspection_date=28/11/2026
expect_rc "set exits 0" 0
V2=$(newest "$R")
expect_stdout "set reports the record and version" \
    "Saved record $(short "$R"): version $(printf '%.16s' "$V2") (draft)"
expect_eq "one set of three answers makes exactly one version" "$(nversions)" 3
expect_eq "set: decimal 12,50 -> 12.5, date 28/11/2026 -> 2026-11-28" "$(answers "$R")" \
    '{"households_total":120,"inspection_date":"2026-11-28","road_total_km":"12.5"}'
expect_eq "set: the new version's parent is the previous one" \
    "$(sql "SELECT parent FROM parents WHERE child_seq=(SELECT seq FROM versions WHERE hash='$V2');")" "$V1"
expect_eq "set: heads moves to the new version" \
    "$(sql "SELECT hash FROM heads WHERE record='$R';")" "$V2"
expect_eq "set: device chain: dseq and prev" \
    "$(sql "SELECT dseq, prev FROM versions WHERE hash='$V2';")" \
    "3|$(sql "SELECT hash FROM versions WHERE dseq=2;")"

run "$F" set "$R" households_total=120
expect_rc "set with no change exits 0" 0
expect_stdout "set with no change says so" "Nothing changed; no version written."
expect_eq "set with no change writes no version" "$(nversions)" 3

run "$F" set "$R" road_total_km=12.5 inspection_date=2026-11-28
expect_eq "same values typed differently write no version" "$(nversions)" 3

run "$F" set "$R" waste="sorted collected burned"
expect_rc "set select_multiple exits 0" 0
expect_eq "select_multiple stored as sorted names" \
    "$(sql "SELECT json_extract(body, '\$.answers.waste') FROM versions WHERE hash='$(newest "$R")';")" \
    '["burned","collected","sorted"]'
expect_eq "set select_multiple writes one version" "$(nversions)" 4
run "$F" set "$R" waste="burned,sorted  collected sorted"
expect_rc "select_multiple in another order exits 0" 0
expect_eq "select_multiple in another order, repeated: no new version" "$(nversions)" 4

run "$F" set "$R" income_mvnd=007 road_hardened_km=-0,0 location="21.0285, 105.8542"
expect_eq "decimals and geopoint normalised" \
    "$(sql "SELECT json_extract(body, '\$.answers.income_mvnd') || '|' || json_extract(body, '\$.answers.road_hardened_km') || '|' || json_extract(body, '\$.answers.location') FROM versions WHERE hash='$(newest "$R")';")" \
    "7|0|21.028500 105.854200"
run "$F" set "$R" income_mvnd= road_hardened_km=1.205 inspection_date=5/1/2026
expect_rc "set clearing an answer exits 0" 0
expect_eq "empty value clears; 1.205 is not grouping; D/M/YYYY" "$(answers "$R")" \
    '{"households_total":120,"inspection_date":"2026-01-05","location":"21.028500 105.854200","road_hardened_km":"1.205","road_total_km":"12.5","waste":["burned","collected","sorted"]}'
expect_eq "two more sets, two more versions" "$(nversions)" 6

# Vietnamese text: precomposed on one record, decomposed on another, must
# be stored byte for byte the same (NFC).
TEXT="Nhận xét: đường tốt, Nguyễn Ánh; khu ở ổn định"
TEXT_NFD=$(nfd "$TEXT")
if [ "$(hex_of "$TEXT")" = "$(hex_of "$TEXT_NFD")" ]; then
    fail "test setup: decomposed text differs from precomposed"
fi
run "$F" set "$R" remarks="$TEXT"
expect_rc "set precomposed text exits 0" 0
run "$F" set "$R2" remarks="$TEXT_NFD"
expect_rc "set decomposed text exits 0" 0
remarks_hex() {
    sql "SELECT lower(hex(json_extract(body, '\$.answers.remarks'))) FROM versions WHERE hash='$(newest "$1")';"
}
expect_eq "precomposed text stored as typed (NFC)" "$(remarks_hex "$R")" "$(hex_of "$TEXT")"
expect_eq "decomposed text stored as NFC, byte-identical" "$(remarks_hex "$R2")" "$(hex_of "$TEXT")"
n=$(nversions)
run "$F" set "$R" remarks="$TEXT_NFD"
expect_rc "decomposed form of the stored text exits 0" 0
expect_eq "decomposed form of the stored text is no change" "$(nversions)" "$n"
run "$F" set "$R" remarks="  $TEXT  "
expect_eq "surrounding white space is no change" "$(nversions)" "$n"

# show --json
run "$F" show --json "$R"
expect_rc "show --json exits 0" 0
expect_eq "show --json: answers" "$(json_get "$OUT" answers)" \
    "{\"households_total\":120,\"inspection_date\":\"2026-01-05\",\"location\":\"21.028500 105.854200\",\"remarks\":\"$TEXT\",\"road_hardened_km\":\"1.205\",\"road_total_km\":\"12.5\",\"waste\":[\"burned\",\"collected\",\"sorted\"]}"
expect_eq "show --json: record, subject, status, version" \
    "$(json_get "$OUT" record) $(json_get "$OUT" subject) $(json_get "$OUT" status) $(json_get "$OUT" version)" \
    "\"$R\" \"01001\" \"draft\" \"$(newest "$R")\""
expect_eq "show --json: author and inspector (NFC)" \
    "$(json_get "$OUT" author) $(json_get "$OUT" inspector)" "\"$PUB\" \"$INSPECTOR\""
run "$F" show "$R"
expect_rc "show exits 0" 0
expect_stdout_contains "show names the record" "$R"
expect_stdout_contains "show shows the text answer" "$TEXT"

# --- record id prefixes -----------------------------------------------------------

run "$F" show --json "$(short "$R")"
expect_eq "the 12-digit short id shown by set works" "$(json_get "$OUT" record)" "\"$R\""
init_home solo
RS=$(new_record 02002)
P4=$(printf '%.4s' "$RS")
run "$F" show --json "$P4"
expect_rc "4-digit prefix: show exits 0" 0
expect_eq "4-digit prefix finds the record" "$(json_get "$OUT" record)" "\"$RS\""
run "$F" set "$P4" remarks=prefix
expect_rc "4-digit prefix: set exits 0" 0
expect_eq "4-digit prefix: set writes one version on that record" \
    "$(sql "SELECT count(*) FROM versions WHERE record='$RS';")" 2
run "$F" history --json "$(printf '%.7s' "$RS")"
expect_rc "7-digit prefix: history exits 0" 0
expect_eq "7-digit prefix: history of that record" "$(json_get "$OUT" 1.answers)" '{"remarks":"prefix"}'
home main

# --- finalize -----------------------------------------------------------------------

n=$(nversions)
run "$F" finalize "$R"
expect_rc "finalize with required questions unanswered exits 4" 4
for q in planning_approved households_latrine; do
    expect_stderr_contains "finalize names unanswered $q" "$q"
done
expect_stderr_contains "finalize refusal says field: finalize:" "field: finalize: "
expect_eq "refused finalize writes no version" "$(nversions)" "$n"

run "$F" set "$R" planning_approved=yes households_latrine=100
expect_rc "answering the rest exits 0" 0
run "$F" finalize "$R"
expect_rc "finalize exits 0" 0
VF=$(newest "$R")
expect_stdout "finalize reports the final version" \
    "Finalized record $(short "$R"): version $(printf '%.16s' "$VF") (final)"
expect_eq "finalize writes one version" "$(nversions)" $((n + 2))
expect_eq "the final version's status column and body" \
    "$(sql "SELECT status, json_extract(body, '\$.status') FROM versions WHERE hash='$VF';")" \
    "final|final"
expect_eq "finalize keeps the answers" "$(answers "$R")" \
    "{\"households_latrine\":100,\"households_total\":120,\"inspection_date\":\"2026-01-05\",\"location\":\"21.028500 105.854200\",\"planning_approved\":\"yes\",\"remarks\":\"$TEXT\",\"road_hardened_km\":\"1.205\",\"road_total_km\":\"12.5\",\"waste\":[\"burned\",\"collected\",\"sorted\"]}"
n=$(nversions)
run "$F" finalize "$R"
expect_rc "finalize twice exits 4" 4
expect_stderr_line "finalize twice: one line" "field: finalize: "
expect_eq "finalize twice writes no version" "$(nversions)" "$n"


# --- history, list ------------------------------------------------------------------

run "$F" history --json "$R"
expect_rc "history --json exits 0" 0
expect_eq "history --json: every version of the record, oldest first" \
    "$("$PY" -c 'import json, sys
print(" ".join(v["version"] for v in json.load(open(sys.argv[1]))))' "$OUT")" \
    "$(sql "SELECT hash FROM versions WHERE record='$R' ORDER BY seq;" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "history --json: each version's parent is the one before" \
    "$("$PY" -c 'import json, sys
h = json.load(open(sys.argv[1]))
print(all(h[i]["parents"] == ([h[i-1]["version"]] if i else []) for i in range(len(h))))' "$OUT")" \
    "True"
expect_eq "history --json: statuses, the last final" \
    "$("$PY" -c 'import json, sys
print(" ".join(v["status"] for v in json.load(open(sys.argv[1]))))' "$OUT")" \
    "$(sql "SELECT status FROM versions WHERE record='$R' ORDER BY seq;" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "history --json: last status" "$(json_get "$OUT" -1.status)" '"final"'
run "$F" history "$R"
expect_rc "history exits 0" 0
ok=1
for h in $(sql "SELECT substr(hash, 1, 16) FROM versions WHERE record='$R';"); do
    grep -q "^$h" "$OUT" || ok=0
done
[ "$ok" -eq 1 ] && pass "history lists every version's hash" ||
    fail "history lists every version's hash" "$(_last)"

run "$F" list --json
expect_rc "list --json exits 0" 0
expect_eq "list --json: records, statuses and version counts" \
    "$("$PY" -c 'import json, sys
print(sorted((r["record"], r["subject"], r["status"], r["versions"], r["heads"]) for r in json.load(open(sys.argv[1]))))' "$OUT")" \
    "$("$PY" -c 'import sys
print(sorted([(sys.argv[1], "01001", "final", int(sys.argv[2]), 1), (sys.argv[3], "01002", "draft", int(sys.argv[4]), 1)]))' \
        "$R" "$(sql "SELECT count(*) FROM versions WHERE record='$R';")" \
        "$R2" "$(sql "SELECT count(*) FROM versions WHERE record='$R2';")")"
run "$F" list --json --status final
expect_eq "list --status final keeps only final records" \
    "$("$PY" -c 'import json, sys
print(" ".join(r["record"] for r in json.load(open(sys.argv[1]))))' "$OUT")" "$R"

# --- verify -------------------------------------------------------------------------

N=$(nversions)
run "$F" verify
expect_rc "verify exits 0" 0
expect_match "verify says OK" "$(cat "$OUT")" "OK: $N versions of 2 records *"
run "$F" verify --json
expect_rc "verify --json exits 0" 0
expect_eq "verify --json" "$(json_get "$OUT" "")" \
    "{\"devices\":1,\"faults\":[],\"ok\":true,\"photos\":0,\"records\":2,\"versions\":$N}"

# --- export -------------------------------------------------------------------------

run "$F" export --format json
expect_rc "export --format json exits 0" 0
cp "$OUT" "$T/export.json"
expect_eq "export json: format and records" \
    "$(json_get "$OUT" format) $("$PY" -c 'import json, sys
print(" ".join(sorted(r["record"] for r in json.load(open(sys.argv[1]))["records"])))' "$OUT")" \
    "\"field-export-v1\" $(printf '%s\n%s\n' "$R" "$R2" | sort | tr '\n' ' ' | sed 's/ $//')"
# Every version in the export is exactly the stored one, its hash is the
# BLAKE2b-256 of the body and its signature verifies with the author's key:
# the export can be checked without this program.
sql "SELECT hash || ' ' || hex(body) || ' ' || hex(sig) FROM versions ORDER BY hash;" >"$T/rows"
run "$PY" -c '
import binascii, hashlib, json, sys
exp = json.load(open(sys.argv[1], encoding="utf-8"))
rows = {}
for line in open(sys.argv[2]):
    h, body, sig = line.split()
    rows[h] = (binascii.unhexlify(body), binascii.unhexlify(sig).hex())
seen = 0
for r in exp["records"]:
    for v in r["versions"]:
        body = v["body"].encode("utf-8")
        assert rows[v["hash"]] == (body, v["sig"]), "not as stored: " + v["hash"]
        assert hashlib.blake2b(body, digest_size=32).hexdigest() == v["hash"], "hash " + v["hash"]
        assert json.loads(body)["record"] == r["record"]
        seen += 1
assert seen == len(rows), "%d of %d versions exported" % (seen, len(rows))
print("ok")
' "$T/export.json" "$T/rows"
expect_rc "export json: versions as stored, hash = BLAKE2b-256(body)" 0
if "$PY" -c "import cryptography.hazmat.primitives.asymmetric.ed25519" 2>/dev/null; then
    run "$PY" -c '
import json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
exp = json.load(open(sys.argv[1], encoding="utf-8"))
for r in exp["records"]:
    for v in r["versions"]:
        author = json.loads(v["body"])["author"]
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(author)).verify(
            bytes.fromhex(v["sig"]), b"field-version-v1" + bytes.fromhex(v["hash"]))
print("ok")
' "$T/export.json"
    expect_rc "export json: every signature verifies (Ed25519 over prefix+hash)" 0
else
    skip "export signature check: python3 cryptography not installed"
fi
expect_eq "export json: current answers of the final record" \
    "$("$PY" -c 'import json, sys
for r in json.load(open(sys.argv[1]))["records"]:
    if r["record"] == sys.argv[2]:
        print(json.dumps([r["status"], r["heads"], r["answers"]], ensure_ascii=False, sort_keys=True, separators=(",", ":")))' "$T/export.json" "$R")" \
    "[\"final\",[\"$VF\"],$(answers "$R")]"

run "$F" export --format json --output "$T/out.json"
expect_rc "export --output FILE exits 0" 0
expect_stdout_empty "export --output FILE prints nothing"
check "export --output FILE writes what stdout gets" cmp "$T/out.json" "$T/export.json"
echo "keep me" >"$T/existing"
before=$(file_sum "$T/existing")
run "$F" export --format json --output "$T/existing"
expect_rc "export --output over an existing file exits 4" 4
expect_stderr_line "export --output over an existing file: one line" "field: export: "
expect_eq "export --output leaves the existing file untouched" "$(file_sum "$T/existing")" "$before"

# CSV: RFC 4180 with CRLF, one row per record, one column per question.
run "$F" set "$R2" remarks="He said \"ok\", fine
second line"
expect_rc "set text with quotes, comma and newline exits 0" 0
HEADER="record,subject,template,status,updated,heads,author,inspector,inspection_date,location,planning_approved,road_total_km,road_hardened_km,households_total,households_latrine,waste,income_mvnd,remarks"
csv_check() { # NAME - check $OUT as the CSV of both records
    cp "$OUT" "$T/export.csv"
    run "$PY" -c '
import csv, json, sys
raw = open(sys.argv[1], "rb").read()
assert raw.startswith((sys.argv[2] + "\r\n").encode()), "header"
assert raw.endswith(b"\r\n"), "CRLF at the end"
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
head, rows = rows[0], {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
assert len(rows) == 2, "rows: %d" % len(rows)
a, b = rows[sys.argv[3]], rows[sys.argv[4]]
want_a = {"subject": "01001", "template": "field-demo", "status": "final",
    "heads": "1", "author": sys.argv[5], "inspector": sys.argv[6],
    "inspection_date": "2026-01-05", "location": "21.028500 105.854200",
    "planning_approved": "yes", "road_total_km": "12.5",
    "road_hardened_km": "1.205", "households_total": "120",
    "households_latrine": "100", "waste": "burned collected sorted",
    "income_mvnd": "", "remarks": sys.argv[7]}
for k, w in want_a.items():
    assert a[k] == w, "%s: %r != %r" % (k, a[k], w)
assert b["remarks"] == "He said \"ok\", fine\nsecond line", repr(b["remarks"])
assert b["households_total"] == "12" and b["status"] == "draft"
print("ok")
' "$T/export.csv" "$HEADER" "$R" "$R2" "$PUB" "$INSPECTOR" "$TEXT"
    expect_rc "$1" 0
}
run "$F" export --format csv --template field-demo
expect_rc "export --format csv --template exits 0" 0
csv_check "export csv --template: header, rows and quoting (RFC 4180)"
run "$F" export --format csv
expect_rc "export --format csv (one template in use) exits 0" 0
csv_check "export csv without --template: same rows"
run "$F" export --format csv --template field-demo --status final
expect_rc "export csv --status final exits 0" 0
expect_eq "export csv --status final: header and one row" "$(wc -l <"$OUT" | tr -d ' ')" 2
expect_stdout_contains "export csv --status final: the final record" "$R,01001,field-demo,final,"

# --- the passphrase-protected key ---------------------------------------------------

home locked
run env FIELD_PASSPHRASE="correct horse" "$F" init
expect_rc "init with FIELD_PASSPHRASE exits 0" 0
check "protected key file says kdf argon2id13" grep -q "^kdf argon2id13 " "$KEY"
check "protected key file holds no clear seed" sh -c '! grep -q "^seed" "$1"' sh "$KEY"
expect_eq "protected key file mode is 0600" "$(stat -c %a "$KEY")" 600
run env FIELD_PASSPHRASE="correct horse" "$F" new field-demo --subject 03003
expect_rc "new with the right passphrase exits 0" 0
RL=$(cat "$OUT")
expect_eq "new with the right passphrase writes one version" "$(nversions)" 1
run env FIELD_PASSPHRASE="wrong horse" "$F" set "$RL" remarks=x
expect_rc "set with a wrong passphrase exits 6" 6
expect_stderr_line "wrong passphrase: one line" "field: set: "
expect_eq "wrong passphrase writes no version" "$(nversions)" 1
run "$F" set "$RL" remarks=x
expect_rc "set with no passphrase and no terminal exits 6" 6
expect_stderr_line "no passphrase: one line" "field: set: "
expect_eq "no passphrase writes no version" "$(nversions)" 1
run "$F" verify
expect_rc "verify needs no passphrase" 0

# --- correcting a final record ---------------------------------------------------

init_home corrections
RC2=$(new_record 42009 inspection_date=2026-01-05 planning_approved=no \
    road_total_km=3 road_hardened_km=1 households_total=10 households_latrine=9)
run "$F" finalize "$RC2"
expect_rc "complete record finalizes" 0
n=$(nversions)
run "$F" set "$RC2" households_latrine=
expect_rc "clearing a required answer of a final record exits 4" 4
expect_stderr_contains "clearing a required answer says why" \
    "field: set: a final record must stay complete: 1 problem: households_latrine"
expect_eq "the refused correction writes no version" "$(nversions)" "$n"
run "$F" set "$RC2" households_latrine=8
expect_rc "correcting a final record exits 0" 0
expect_eq "the correction keeps the record final" \
    "$(sql "SELECT status FROM versions WHERE record='$RC2' ORDER BY seq DESC LIMIT 1;")" "final"
expect_eq "the correction is one version" "$(nversions)" $((n + 1))

n=$(nversions)
run "$F" set --lang en "$RC2" households_latrine=11
expect_rc "a value breaking its constraint exits 4" 4
expect_stderr_line "the refusal gives the template's message" \
    "field: set: households_latrine: Cannot exceed the households in all"
run "$F" set "$RC2" households_latrine=11 households_total=12
expect_rc "both values changed together satisfy the constraint" 0
expect_eq "constraint refusal wrote nothing, the good pair one version" "$(nversions)" $((n + 1))

finish
