#!/bin/sh
# test_tamper.sh - `field verify` finds every kind of change made to the
# store behind the program's back.
#
# One capture of a few versions is made and verified; then each case edits
# a COPY of that data directory with sqlite3 (a changed body, a deleted
# version, a swapped or foreign signature, a column that disagrees with the
# signed body, a lost head) and expects verify to exit 5 and name the
# fault: the version's hash (at least its first 16 digits), the record or
# the device, and what is wrong.
. "$(dirname "$0")/lib.sh"

# --- the capture ---------------------------------------------------------------
#
# dseq 1: new R            dseq 4: new R2
# dseq 2: set R remarks    dseq 5: set R households_total (R's head)
# dseq 3: set R total

init_home orig --inspector "Phạm Thị D"
R=$(new_record 01001 households_total=10)
"$F" set "$R" remarks=hello >/dev/null
"$F" set "$R" households_total=20 >/dev/null
R2=$(new_record 01002 remarks=other)
"$F" set "$R" households_total=30 >/dev/null
expect_eq "capture: five versions" "$(nversions)" 5
PUB=$(sql "SELECT value FROM meta WHERE key='device.public';")
H1=$(sql "SELECT hash FROM versions WHERE dseq=1;")
H2=$(sql "SELECT hash FROM versions WHERE dseq=2;")
H3=$(sql "SELECT hash FROM versions WHERE dseq=3;")
H5=$(sql "SELECT hash FROM versions WHERE dseq=5;")
h16() { printf '%.16s' "$1"; }

run "$F" verify
expect_rc "untouched store verifies (exit 0)" 0
expect_match "untouched store: OK" "$(cat "$OUT")" "OK: 5 versions of 2 records*"

# tampered NAME - verify the current copy; it must exit 5 and say so on
# standard error in one line.
tampered() {
    run "$F" verify
    expect_rc "$1: verify exits 5" 5
    expect_stderr_line "$1: one line on standard error" "field: verify: "
    cp "$OUT" "$T/verify.out"
}

# names NAME TEXT... - the verify output has a line holding every TEXT.
names() {
    _n=$1
    shift
    _found=0
    while IFS= read -r _line; do
        _all=1
        for _w in "$@"; do
            case "$_line" in
            *"$_w"*) ;;
            *) _all=0 ;;
            esac
        done
        if [ "$_all" -eq 1 ]; then
            _found=1
            break
        fi
    done <"$T/verify.out"
    if [ "$_found" -eq 1 ]; then
        pass "$_n"
    else
        fail "$_n" "no line of the verify output holds all of: $*" \
            "$(cat "$T/verify.out")"
    fi
}

# --- (a) an answer changed inside a signed body ------------------------------------

copy_home orig body
sql "UPDATE versions SET body = replace(body, 'hello', 'hellx') WHERE dseq=2;"
expect_eq "(a) setup: the body changed" \
    "$(sql "SELECT json_extract(body, '\$.answers.remarks') FROM versions WHERE dseq=2;")" hellx
tampered "(a) changed body"
names "(a) names the version and says its body does not match its hash" \
    "$(h16 "$H2")" "body does not match its hash"
run "$F" verify --json
expect_rc "(a) verify --json exits 5" 5
cp "$OUT" "$T/verify.json"
expect_eq "(a) verify --json: ok is false" "$(json_get "$T/verify.json" ok)" false
expect_eq "(a) verify --json: a fault names the version's hash" \
    "$("$PY" -c 'import json, sys
faults = json.load(open(sys.argv[1]))["faults"]
print(any(f.get("subject") == sys.argv[2] and "hash" in f.get("message", "") for f in faults))' \
        "$T/verify.json" "$H2")" True
expect_eq "(a) verify --json: counts still given" \
    "$(json_get "$T/verify.json" versions) $(json_get "$T/verify.json" records)" "5 2"

# The same change to the column copy only is a column disagreement, and a
# body changed and re-hashed but not re-signed fails the signature.
copy_home orig rehash
new=$(sql "SELECT replace(CAST(body AS TEXT), 'hello', 'hellx') FROM versions WHERE dseq=2;")
newhash=$(printf '%s' "$new" | "$PY" -c 'import hashlib, sys
print(hashlib.blake2b(sys.stdin.buffer.read(), digest_size=32).hexdigest())')
sql "UPDATE versions SET body = CAST(replace(CAST(body AS TEXT), 'hello', 'hellx') AS BLOB), hash = '$newhash' WHERE dseq=2;
     UPDATE parents SET child = '$newhash' WHERE child = '$H2';
     UPDATE parents SET parent = '$newhash' WHERE parent = '$H2';"
tampered "(a) changed body with its hash recomputed"
names "(a) re-hashed body: names the version and its signature" \
    "$(h16 "$newhash")" "signature"

# --- (b) a middle version deleted ---------------------------------------------------

copy_home orig middle
sql "DELETE FROM versions WHERE dseq=2;"
tampered "(b) deleted middle version"
names "(b) names the device chain's missing dseq 2" "$(h16 "$PUB")" "dseq 2"
names "(b) names the missing parent" "$(h16 "$H3")" "$(h16 "$H2")"

# --- (c) the newest version deleted, heads made to look consistent -----------------

copy_home orig newest
sql "DELETE FROM heads WHERE hash='$H5';
     INSERT INTO heads (record, hash) VALUES ('$R', '$H3');
     DELETE FROM parents WHERE child_seq=(SELECT seq FROM versions WHERE hash='$H5');
     DELETE FROM versions WHERE hash='$H5';"
tampered "(c) deleted newest version"
names "(c) names the device whose chain is short of its counter" "$(h16 "$PUB")" "dseq"

# --- (d) signatures ------------------------------------------------------------------

copy_home orig sigswap
sql "UPDATE versions SET sig = (SELECT sig FROM versions WHERE dseq=1) WHERE dseq=2;"
tampered "(d) another version's signature"
names "(d) swapped signature: names the version and the signature" \
    "$(h16 "$H2")" "signature"

# A second device, with its own key.
init_home other
RO=$(new_record 09009 remarks=elsewhere)
HO=$(sql "SELECT hash FROM versions;")
OTHER_PUB=$(sql "SELECT value FROM meta WHERE key='device.public';")

# Its version copied in with the author column changed to claim our device:
# caught as the stored column disagreeing with the signed body.
copy_home orig foreign
sql "ATTACH '$T/other/field.db' AS o;
     INSERT INTO versions (hash, record, author, dseq, prev, hlc_ms, hlc_count,
                           template_id, template_hash, subject, status, body,
                           sig, stored_ms)
       SELECT hash, record, '$PUB', dseq, prev, hlc_ms, hlc_count, template_id,
              template_hash, subject, status, body, sig, stored_ms
       FROM o.versions;
     INSERT INTO heads SELECT record, hash FROM o.heads;"
tampered "(d) foreign version with its author column changed"
names "(d) foreign version: names it and the author column" "$(h16 "$HO")" "author"

# A version whose body claims our device but is signed by the other key.
if "$PY" -c "import cryptography.hazmat.primitives.asymmetric.ed25519" 2>/dev/null; then
    copy_home orig resigned
    OTHER_SEED=$(sed -n 's/^seed \([0-9a-f]*\)$/\1/p' "$T/other/device.key")
    sql "SELECT hex(body) FROM versions WHERE dseq=5;" >"$T/body.hex"
    "$PY" -c '
import binascii, hashlib, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
body = binascii.unhexlify(open(sys.argv[1]).read().strip())
body = body.replace(b"\"households_total\":30", b"\"households_total\":31")
h = hashlib.blake2b(body, digest_size=32).hexdigest()
key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(sys.argv[2]))
sig = key.sign(b"field-version-v1" + bytes.fromhex(h))
print(h, body.hex(), sig.hex())
' "$T/body.hex" "$OTHER_SEED" >"$T/resigned.txt"
    read -r RH RBODY RSIG <"$T/resigned.txt"
    sql "UPDATE versions SET hash='$RH', body=X'$RBODY', sig=X'$RSIG' WHERE dseq=5;
         UPDATE heads SET hash='$RH' WHERE hash='$H5';
         UPDATE parents SET child='$RH' WHERE child='$H5';
         UPDATE meta SET value='$RH' WHERE key='device.prev';"
    expect_eq "(d) setup: the re-signed body claims our device" \
        "$(sql "SELECT json_extract(body, '\$.author') || ' ' || json_extract(body, '\$.answers.households_total') FROM versions WHERE dseq=5;")" \
        "$PUB 31"
    tampered "(d) version re-signed by another key"
    names "(d) re-signed: names the version and the signature" \
        "$(h16 "$RH")" "signature"
else
    skip "(d) re-signed by another key: python3 cryptography not installed"
fi

# --- (e) a column that disagrees with the signed body ------------------------------------

copy_home orig status
sql "UPDATE versions SET status='final' WHERE dseq=3;"
tampered "(e) status column changed"
names "(e) names the version and the status column" "$(h16 "$H3")" "status"

copy_home orig subject
sql "UPDATE versions SET subject='99999' WHERE dseq=2;"
tampered "(e) subject column changed"
names "(e) names the version and the subject column" "$(h16 "$H2")" "subject"

copy_home orig dseqcol
sql "UPDATE versions SET dseq=6 WHERE hash='$H5';"
tampered "(e) dseq column changed"
names "(e) names the version and the dseq column" "$(h16 "$H5")" "dseq"

# --- (f) heads and parents ------------------------------------------------------------------

copy_home orig heads
sql "DELETE FROM heads WHERE record='$R';"
tampered "(f) a heads row deleted"
names "(f) names the record" "$R" "head"

copy_home orig extrahead
sql "INSERT INTO heads (record, hash) VALUES ('$R', '$H1');"
tampered "(f) an old version listed as a head"
names "(f) extra head: names the record" "$R" "head"

copy_home orig parents
sql "DELETE FROM parents WHERE child_seq=(SELECT seq FROM versions WHERE hash='$H3');"
tampered "(f) a parents row deleted"
names "(f) deleted parents row: names the version" "$(h16 "$H3")"

# --- export reads every version through its signature ----------------------------------------
#
# `field export` verifies each version it shows (on several threads): a
# tampered one fails the whole export, naming its record, with nothing on
# standard output and no file left behind, whatever the format.

R12=$(printf '%.12s' "$R")
for case in body sigswap; do
    for f in json csv geojson; do
        home "$case"
        expect_error "($case) export --format $f" 5 export "$F" export --format $f
        expect_stderr_contains "($case) export --format $f: names the record" \
            "a version of record $R12 does not verify; run 'field verify'"
    done
    run "$F" export --format xlsx --output "$T/$case.xlsx"
    expect_rc "($case) export --format xlsx --output: exit 5" 5
    expect_eq "($case) ... leaves no file" "$(ls "$T/$case.xlsx" 2>/dev/null)" ""
    run "$F" export --format json --output "$T/$case.json"
    expect_rc "($case) export --format json --output: exit 5" 5
    expect_eq "($case) ... leaves no file" "$(ls "$T/$case.json" 2>/dev/null)" ""
done
home orig
run "$F" export --format json
expect_rc "the untouched original exports" 0

# --- the original is still fine ---------------------------------------------------------------

home orig
run "$F" verify --json
expect_rc "the untouched original still verifies" 0
expect_eq "verify --json of the original" "$(json_get "$OUT" "")" \
    '{"devices":1,"faults":[],"ok":true,"photos":0,"records":2,"versions":5}'

finish
