#!/bin/sh
# test_bundle.sh - signed versions carried without a network: a device in
# a village with no signal exports a bundle, the district office imports
# it (every version verified first) and relays it to the real field-server
# with its next sync. A tampered bundle is refused whole.
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
finish
