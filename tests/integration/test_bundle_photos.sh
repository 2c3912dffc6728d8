#!/bin/sh
# test_bundle_photos.sh - photos on the USB stick: `field bundle export`
# carries the photo files the exported versions name, `field bundle
# import` checks each against its hash and signed size before anything is
# stored, keeps them in one go with the versions, and the next `field sync`
# of the district office delivers them to the real field-server byte for
# byte. A photo whose bytes were changed, one no version names, a cut
# base64 text, a full disk: each refuses the whole bundle in one line,
# writing nothing. --no-photos carries the versions only, and a bundle
# without photos imports as before.
. "$(dirname "$0")/server_lib.sh"

LIB="$FIELD_BUILD/tests/tools/libenospc.so"
T=$(cd "$T" && pwd -P) # the disk-full seam compares real paths

start_server main --quiet
province 18133

# files DIR - how many files are in DIR, at any depth (0 when absent).
files() {
    find "$1" -type f 2>/dev/null | wc -l | tr -d ' '
}

# rebundle IN OUT PYTHON - OUT is IN's JSON changed by PYTHON (on `b`).
rebundle() {
    "$PY" -c '
import base64, json, sys
b = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(b, open(sys.argv[2], "w"), separators=(",", ":"))
' "$1" "$2" "$3"
}

# --- the village: two photos, no signal -----------------------------------------

enroll_device village "Phạm Văn Cường" 18133
REC=$("$F" new ntm-xa-2021 --subject 18133 </dev/null)
jpeg "$T/plan.jpg" 300000
jpeg "$T/road.jpg" 200000
PLAN=$(b2 "$T/plan.jpg")
ROAD=$(b2 "$T/road.jpg")
run "$F" attach "$REC" plan_photo "$T/plan.jpg"
expect_rc "attach the planning board's photo" 0
run "$F" attach "$REC" road_photo "$T/road.jpg"
expect_rc "attach the road's photo" 0

run "$F" bundle export "$T/stick.json"
expect_rc "export with photos exits 0" 0
expect_stdout "... says how many versions and photos" \
    "Wrote 3 versions and 2 photos (500.0 kB) to $T/stick.json"
expect_eq "... the photos are in the file" \
    "$(json_get "$T/stick.json" attachments | "$PY" -c 'import json,sys; print(sorted(a["hash"] for a in json.load(sys.stdin)))')" \
    "$("$PY" -c 'import sys; print(sorted(sys.argv[1:]))' "$PLAN" "$ROAD")"
run "$F" bundle export --no-photos "$T/light.json"
expect_rc "export --no-photos exits 0" 0
expect_stdout "... the versions only" "Wrote 3 versions to $T/light.json"
expect_eq "... no photo member at all (the first release's format)" \
    "$(json_get "$T/light.json" attachments)" "<missing>"
run "$F" bundle export --record "$REC" "$T/one.json"
expect_rc "export of one record carries its photos" 0
expect_stdout_contains "... both" "and 2 photos"

# --- bad bundles: refused whole, nothing written ------------------------------------

enroll_device office "Lê Thị Dung" 18133

rebundle "$T/stick.json" "$T/swapped.json" '
a = b["attachments"][1]
d = bytearray(base64.b64decode(a["data"]))
d[1000] ^= 1
a["data"] = base64.b64encode(bytes(d)).decode()'
run "$F" bundle import "$T/swapped.json"
expect_rc "a photo whose bytes were changed is refused" 5
expect_stderr_line "... in one line" "field: bundle: $T/swapped.json: refused, nothing imported: attachments[1]: photo "
expect_stderr_contains "... saying the bytes do not match the hash" \
    "do not match its hash"
expect_eq "... no version is stored" "$(nversions)" 0
expect_eq "... no file is written" "$(files "$T/office/attachments")" 0

rebundle "$T/stick.json" "$T/cut.json" '
a = b["attachments"][0]
a["data"] = a["data"][:-8]'
run "$F" bundle import "$T/cut.json"
expect_rc "a photo cut short is refused" 5
expect_stderr_contains "... naming the photo" "attachments[0]: photo "
expect_eq "... nothing stored" "$(nversions)" 0

rebundle "$T/stick.json" "$T/orphan.json" '
b["versions"] = b["versions"][:1]'
run "$F" bundle import "$T/orphan.json"
expect_rc "a photo no version of the bundle names is refused" 4
expect_stderr_contains "... saying so" "is named by no version of the bundle"

rebundle "$T/stick.json" "$T/size.json" '
b["attachments"][0]["bytes"] += 1'
run "$F" bundle import "$T/size.json"
expect_rc "a photo of another size than signed is refused" 4
expect_stderr_contains "... saying so" "its version signed"
expect_eq "... still nothing stored" "$(nversions)" 0
expect_eq "... and no file" "$(files "$T/office/attachments")" 0

# A full disk at the office: all or nothing, and a later import works.
# (A statically linked field ignores LD_PRELOAD: nothing to show then.)
if ! grep -q "ld-linux" "$F" 2>/dev/null; then
    skip "$F is not dynamically linked: no full disk at the office"
elif [ -f "$LIB" ]; then
    run env LD_PRELOAD="$LIB" FIELD_ENOSPC_DIR="$T/office/attachments" \
        FIELD_ENOSPC_AFTER=250000 \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        "$F" bundle import "$T/stick.json"
    expect_rc "an import into a full disk exits 1" 1
    expect_stderr_line "... in one line" "field: bundle: $T/stick.json: nothing imported: photo "
    expect_stderr_contains "... saying the disk is full" "the disk is full"
    expect_eq "... no version is stored" "$(nversions)" 0
    expect_eq "... no photo is left, whole or partial" \
        "$(files "$T/office/attachments")" 0
else
    fail "the test seam $LIB exists (build first: make all)"
fi

# --- the good bundle ----------------------------------------------------------------

run "$F" bundle import "$T/stick.json"
expect_rc "the bundle with photos imports" 0
expect_stdout "... says what was new" \
    "Imported 3 versions and 2 photos from $T/stick.json: 3 new, 0 already here; photos 2 new, 0 already here; 'field sync' relays them"
for h in "$PLAN" "$ROAD"; do
    check "... the office holds $h byte for byte" cmp -s \
        "$T/office/attachments/$(echo "$h" | cut -c1-2)/$h" \
        "$T/village/attachments/$(echo "$h" | cut -c1-2)/$h"
done
expect_eq "... both held" "$(sql "SELECT count(*) FROM attachments WHERE held = 1;")" 2
expect_eq "... no temporary file left" "$(files "$T/office/attachments/partial")" 0
run "$F" bundle import "$T/stick.json"
expect_stdout_contains "importing twice keeps nothing twice" \
    "0 new, 3 already here; photos 0 new, 2 already here"
run "$F" verify
expect_rc "the office verifies versions and photos" 0

run "$F" sync --json
expect_rc "the office relays versions and photos" 0
expect_eq "... three versions stored" "$(json_get "$OUT" stored)" 3
expect_eq "... two photos uploaded" "$(json_get "$OUT" attachments.uploaded)" 2
check "... the server holds the planning board's photo byte for byte" \
    cmp -s "$T/plan.jpg" "$(server_file "$PLAN")"
check "... and the road's" cmp -s "$T/road.jpg" "$(server_file "$ROAD")"

# --- versions only -----------------------------------------------------------------------

enroll_device ward "Trần Văn Bình" 18133
run "$F" bundle import --no-photos "$T/stick.json"
expect_rc "import --no-photos exits 0" 0
expect_stdout "... the versions only" \
    "Imported 3 versions from $T/stick.json: 3 new, 0 already here; 'field sync' relays them"
expect_eq "... no file kept" "$(files "$T/ward/attachments")" 0
run "$F" bundle export "$T/ward.json"
expect_rc "exporting versions whose photos are not here exits 0" 0
expect_stdout "... the versions go" "Wrote 3 versions to $T/ward.json"
expect_stderr_contains "... and it says the photos are not here" \
    "2 photos named by these versions are not on this device"
run "$F" bundle import "$T/light.json"
expect_rc "a bundle without photos still imports" 0
expect_stdout_contains "... as before" "0 new, 3 already here; 'field sync'"
run "$F" bundle import --record "$REC" "$T/light.json"
expect_rc "--record is for export only" 2

finish
