#!/bin/sh
# test_attach.sh - evidence photos on a device with the real `field`:
# `field attach` of a JPEG whose EXIF says when and where it was taken,
# `field show` listing it with the far-away and other-day warnings,
# `field verify` passing and then catching a byte flipped in the stored
# photo; refusals (a text file named .jpg, an empty file, a truncated
# JPEG, a file over the limit, an unknown record, a question that is not a
# photo question, several files for one photo) each one line, writing
# nothing; photos into new repeat items; `field fill` taking a path. The
# photos are made by tests/tools/mkphoto: nothing comes from outside.
. "$(dirname "$0")/lib.sh"

MK="$FIELD_BUILD/tests/tools/mkphoto"
TPL=ha-tinh-kdc-kieu-mau

# version_of FILE - the JSON report's version hash
init_home attach --inspector "Phạm Văn Dũng"
run "$F" new $TPL --subject 18133001 inspection_date=2026-11-28 \
    location="18.3559 105.8877"
expect_rc "new hamlet inspection with its date and position" 0
R=$(cat "$OUT")

# Here and now; 16 km north and a day earlier; no EXIF at all.
"$MK" --taken "2026:11:28 08:15:02" --gps 18.3560,105.8878 "$T/here.jpg"
"$MK" --taken "2026:11:27 16:40:00" --gps 18.5,105.8878 --size 300000 \
    "$T/far.jpg"
"$MK" "$T/plain.jpg"
"$MK" --png "$T/plan.png"

n0=$(nversions)
run "$F" attach --json "$R" hedge_photo "$T/here.jpg"
expect_rc "attach a JPEG with EXIF" 0
HERE=$(json_get "$OUT" attachments.0.hash | tr -d '"')
expect_eq "... one new version" "$(nversions)" $((n0 + 1))
expect_eq "... the camera's time" "$(json_get "$OUT" attachments.0.taken)" \
    '"2026-11-28T08:15:02"'
expect_eq "... the camera's position" \
    "$(json_get "$OUT" attachments.0.position)" '"18.356000 105.887800"'
expect_eq "... the file under its hash" \
    "$(cksum <"$FIELD_HOME/attachments/$(echo "$HERE" | cut -c1-2)/$HERE")" \
    "$(cksum <"$T/here.jpg")"
expect_eq "... the answer is the hash" \
    "$("$F" show --json "$R" >"$T/s.json" && json_get "$T/s.json" answers.hedge_photo)" \
    "\"$HERE\""
expect_eq "... the version signs the photo's size, type, time and place" \
    "$(sql "SELECT bytes, type, taken, position FROM version_attachments WHERE hash = '$HERE';")" \
    "$(wc -c <"$T/here.jpg" | tr -d ' ')|image/jpeg|2026-11-28T08:15:02|18.356000 105.887800"

run "$F" attach "$R" env_photo "$T/far.jpg"
expect_rc "attach a photo taken far away, the day before" 0
expect_stdout_contains "... reported" "Attached 1 photo to record"

run "$F" show --lang en "$R"
expect_rc "show" 0
expect_stdout_contains "... lists the photo with its time and place" \
    "taken 2026-11-28T08:15:02, at 18.356000 105.887800"
expect_stdout_contains "... held here" "on this device"
expect_stdout_contains "... warns of the far one" \
    "! taken 16.0 km from the record's position"
expect_stdout_contains "... and of the other day" \
    "! taken on 2026-11-27, not on the inspection day 2026-11-28"
run "$F" show "$R"
expect_stdout_contains "show in Vietnamese" "! chụp cách 16.0 km vị trí của hồ sơ"
run "$F" show --json "$R"
expect_eq "show --json: the near photo has no warning" \
    "$(json_get "$OUT" photos.0.warnings)" '[]'
expect_eq "show --json: the far one has both" \
    "$(json_get "$OUT" photos.1.warnings)" '["far","other_day"]'

# Several photos into new items of the repeat group of households checked.
run "$F" attach "$R" 'ho_kiem_tra[+].hh_photo' "$T/plain.jpg" "$T/plan.png"
expect_rc "two photos into two new household items" 0
run "$F" show --json "$R"
expect_eq "... two items" \
    "$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["answers"]["ho_kiem_tra"]))' "$OUT")" 2
expect_eq "... the PNG is signed as one" \
    "$(sql "SELECT count(*) FROM version_attachments WHERE type = 'image/png';")" 1

run "$F" attach "$R" hedge_photo "$T/here.jpg"
expect_rc "the same photo again: nothing to sign" 0
expect_stdout_contains "... said so" "Nothing changed"

run "$F" verify
expect_rc "verify passes" 0
expect_stdout_contains "... counting the photo files" "4 photo files"

# --- refusals: one line, nothing written ----------------------------------

printf 'not a photo at all\n' >"$T/text.jpg"
: >"$T/empty.jpg"
head -c 500 "$T/far.jpg" >"$T/cut.jpg"
n1=$(nversions)
held1=$(sql "SELECT count(*) FROM attachments WHERE held = 1;")
expect_error "a text file named .jpg" 4 attach "$F" attach "$R" env_photo "$T/text.jpg"
expect_stderr_contains "... named, and why" "$T/text.jpg: not a JPEG or PNG image"
expect_error "an empty file" 4 attach "$F" attach "$R" env_photo "$T/empty.jpg"
expect_stderr_contains "... named, and why" "$T/empty.jpg: empty"
expect_error "a truncated JPEG" 4 attach "$F" attach "$R" env_photo "$T/cut.jpg"
expect_stderr_contains "... named, and why" "$T/cut.jpg: truncated JPEG"
expect_error "a file over the limit" 4 attach "$F" attach --limit 0.2 "$R" env_photo "$T/far.jpg"
expect_stderr_contains "... named, with the limit" "is over the 0.2 MB limit"
"$MK" --size 21000000 "$T/big.jpg"
expect_error "over the default 20 MB" 4 attach "$F" attach "$R" env_photo "$T/big.jpg"
expect_error "a missing file" 3 attach "$F" attach "$R" env_photo "$T/none.jpg"
expect_error "an unknown record" 3 attach "$F" attach ffff0000 env_photo "$T/here.jpg"
expect_error "a question not in the template" 3 attach "$F" attach "$R" nope "$T/here.jpg"
expect_error "a question that is not a photo question" 4 attach \
    "$F" attach "$R" remarks "$T/here.jpg"
expect_stderr_contains "... says so" "question remarks is a text question, not a photo question"
expect_error "several files for one photo" 2 attach \
    "$F" attach "$R" hedge_photo "$T/here.jpg" "$T/plain.jpg"
expect_error "a repeat group's photo without its item" 2 attach \
    "$F" attach "$R" hh_photo "$T/here.jpg"
expect_error "a good file then a bad one" 4 attach \
    "$F" attach "$R" 'ho_kiem_tra[+].hh_photo' "$T/here.jpg" "$T/text.jpg"
expect_error "a bad --limit" 2 attach "$F" attach --limit x "$R" env_photo "$T/here.jpg"
expect_eq "no version written by any refusal" "$(nversions)" "$n1"
expect_eq "... and no file recorded" \
    "$(sql "SELECT count(*) FROM attachments WHERE held = 1;")" "$held1"

# --- field fill takes a path ----------------------------------------------

run "$F" new $TPL --subject 18133002 inspection_date=2026-11-28
R2=$(cat "$OUT")
printf '%s\n' ':j culture_house_photo' "$T/text.jpg" "$T/plain.jpg" ':q' \
    >"$T/fill.in"
"$F" fill --lang en "$R2" <"$T/fill.in" >"$T/fill.out" 2>&1
expect_eq "fill: exits 0" "$?" 0
expect_match "fill: a text file refused and asked again" "$(cat "$T/fill.out")" \
    "*! $T/text.jpg: not a JPEG or PNG image*"
run "$F" show --json "$R2"
expect_eq "fill: the photo is the answer" \
    "$(json_get "$OUT" photos.0.question)" '"culture_house_photo"'

# --- tampering ---------------------------------------------------------------

FILE="$FIELD_HOME/attachments/$(echo "$HERE" | cut -c1-2)/$HERE"
cp "$FILE" "$T/orig"
chmod u+w "$FILE"
printf '\001' | dd of="$FILE" bs=1 seek=400 conv=notrunc 2>/dev/null
run "$F" verify
expect_rc "a byte flipped in a stored photo: verify fails (integrity)" 5
expect_stdout_contains "... naming it" "FAULT attachment $HERE"
expect_stderr_contains "... saying what" "photo file changed, replaced or missing"
cp "$T/far.jpg" "$FILE"
run "$F" verify --json
expect_rc "another photo put in its place: caught too" 5
expect_eq "... as an attachment fault" "$(json_get "$OUT" faults.0.kind)" '"attachment"'
cp "$T/orig" "$FILE"
run "$F" verify
expect_rc "the original back: verify passes" 0

# A repaired store knows the photo files again.
run "$F" repair
expect_rc "repair" 0
run "$F" verify
expect_rc "... verify passes after it" 0
expect_stdout_contains "... the photo files held again" "4 photo files"

# A version naming a photo this device does not hold is not a fault.
copy_home attach other
rm -rf "$FIELD_HOME/attachments"
sql "UPDATE attachments SET held = 0;"
run "$F" verify
expect_rc "photos not on this device are no fault" 0
run "$F" show --lang en "$R"
expect_stdout_contains "... show says where they are" "not on this device"

finish
