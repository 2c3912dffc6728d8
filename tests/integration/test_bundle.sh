#!/bin/sh
# test_bundle.sh - signed versions carried without a network: a device in
# a village with no signal exports a bundle, the district office imports
# it (every version verified first) and relays it to the real field-server
# with its next sync. A tampered bundle is refused whole, and so is one
# with a version naming a parent of another record.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet
province 4201

# The village device was enrolled at the district office once (the server
# accepts only versions of enrolled authors); in the village it has no
# signal at all.
enroll_device village "Phạm Văn Cường"
R=$(new_record 4201 inspection_date=2026-11-28 households_total=50 households_latrine=40)
run "$F" set "$R" "remarks=Thôn có 50 hộ"
expect_rc "capture offline" 0
run "$F" bundle export "$T/stick.json"
expect_rc "bundle export exits 0" 0
expect_stdout "export says how many" "Wrote 2 versions to $T/stick.json"
# No photo: the first release's format exactly, which every release reads
# (photos in bundles: test_bundle_photos.sh).
expect_eq "without photos the bundle has no photo member" \
    "$(json_get "$T/stick.json" attachments)" "<missing>"
expect_eq "... only the first release's two" \
    "$(json_get "$T/stick.json" "" | "$PY" -c 'import json,sys; print(sorted(json.load(sys.stdin)))')" \
    "['format', 'versions']"
run "$F" bundle export "$T/stick.json"
expect_rc "export never overwrites a file" 4
run "$F" bundle export --record "$R" "$T/one.json"
expect_rc "export of one record" 0

# The district office: enrolled.
enroll_device office "Lê Thị Dung"

# A tampered bundle: one answer changed after signing.
sed 's/households_latrine\\":40/households_latrine\\":45/' "$T/stick.json" >"$T/bad.json"
expect_eq "the test really tampered" "$(cmp -s "$T/stick.json" "$T/bad.json"; echo $?)" 1
run "$F" bundle import "$T/bad.json"
expect_rc "a tampered bundle is refused" 5
expect_stderr_contains "... naming the version" "versions[0]"
expect_eq "... and nothing is imported" "$(nversions)" 0
printf '{"format":"nope"}' >"$T/junk.json"
run "$F" bundle import "$T/junk.json"
expect_rc "something that is not a bundle is refused" 4

run "$F" bundle import "$T/stick.json"
expect_rc "bundle import exits 0" 0
expect_stdout_contains "import says how many are new" "2 new, 0 already here"
run "$F" bundle import "$T/stick.json"
expect_stdout_contains "importing twice stores nothing twice" "0 new, 2 already here"
expect_eq "two versions signed by the village device" \
    "$(sql "SELECT count(DISTINCT author) FROM versions;")" 1
run "$F" verify
expect_rc "the office verifies what it carries" 0

run "$F" sync --retries 0 --json
expect_rc "the office relays the village's versions" 0
expect_eq "both stored on the server" "$(json_get "$OUT" stored)" 2
expect_eq "the server holds them, signed by the village device" \
    "$(sqls "SELECT count(*) FROM versions WHERE record = '$R';")" 2

# --- a version naming a parent of another record ---------------------------
# No conforming device signs one: its record could not be merged, and
# `field export` would stop at it (the server keeps such a version out:
# test_server_data.sh). Signed here with the village device's own key, in
# a bundle alone (its parent stored here already) or with its parent:
# refused whole, nothing imported.
TID=$(sql "SELECT template_id FROM versions WHERE record = '$R' LIMIT 1;")
TPL=$(sql "SELECT template_hash FROM versions WHERE record = '$R' LIMIT 1;")
HEAD=$(sql "SELECT hash FROM heads WHERE record = '$R';")
# sign FILE RECORD DSEQ PREV [--parent H] - a version by the village device
sign() {
    _f=$1 _r=$2 _d=$3 _p=$4
    shift 4
    "$C" version "$T/village/device.key" --record "$_r" --dseq "$_d" \
        --prev "$_p" "$@" --subject 4201 --template-id "$TID" \
        --template-hash "$TPL" --answers '{}' >"$_f"
}
# mkbundle FILE ITEM... - a bundle of the signed items, in that order
mkbundle() {
    _out=$1
    shift
    "$PY" -c 'import json,sys
items = [open(f).read().split("\n")[:2] for f in sys.argv[2:]]
json.dump({"format": "field-bundle-v1",
           "versions": [{"body": b, "sig": s} for b, s in items]},
          open(sys.argv[1], "w"))' "$_out" "$@"
}
before=$(nversions)
sign "$T/cross.item" 0193aaaaaaaaaaaaaaaaaaaaaaaaaaaa 3 "$HEAD" --parent "$HEAD"
mkbundle "$T/cross.json" "$T/cross.item"
run "$F" bundle import "$T/cross.json"
expect_rc "a version naming a stored parent of another record is refused" 4
expect_stderr_contains "... saying so" "names a parent of record ${R%"${R#????????????????}"}"
expect_eq "... and nothing is imported" "$(nversions)" "$before"
H3=$("$C" hash "$T/cross.item")
sign "$T/parent.item" 0193bbbbbbbbbbbbbbbbbbbbbbbbbbbb 4 "$H3"
H4=$("$C" hash "$T/parent.item")
sign "$T/child.item" 0193cccccccccccccccccccccccccccc 5 "$H4" --parent "$H4"
mkbundle "$T/pair.json" "$T/parent.item" "$T/child.item"
run "$F" bundle import "$T/pair.json"
expect_rc "... and so is one whose parent of another record comes with it" 4
expect_stderr_contains "... naming it" "versions[1]"
expect_eq "... neither is imported" "$(nversions)" "$before"
run "$F" export --format json
expect_rc "field export still exports every record" 0
finish
