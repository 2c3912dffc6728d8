#!/bin/sh
# test_ui_browser.sh - `field ui` in a real browser (issue 15): Debian's
# headless chromium, driven through chromedriver by ui_browser.py with
# Debian's own python3 and its python3-selenium. The browser fills an
# ntm-xa-2021 inspection and two other checklists (a relevant question,
# a repeat item, calculations, constraint messages, finalize with what is
# missing, a photo through the file input, seen as a thumbnail), checks labels, keyboard reach and the phone width on every
# screen, and syncs with the page's button; then this script holds the
# store to what the browser did: every save one signed version that
# `field verify` accepts, answers as `field show` reads them, and a second
# device that syncs with the real field-server sees the same record. A
# conflict made by two devices is resolved in the page with one tap. A
# supervisor's device returns a final record with a reason from the review
# inbox; the inspector's list then shows it first, with the reason. The
# report screen draws what `field report --json` gives as tables and SVG
# charts, passes the server's workbook through, and shows the report kept
# when the server is stopped. Pairing: the page of a `field ui
# --pair` refuses a wrong code and opens with the right one.
#
# Skipped, with the packages to install, where chromium, chromedriver or
# python3-selenium is missing (CI installs them: scripts/deps.sh).
# FIELD_UI_SHOTS=DIR keeps screenshots of the main screens in DIR
# (docs/screenshots/ holds the ones the README shows).
. "$(dirname "$0")/server_lib.sh"

DEBIAN_PY=/usr/bin/python3
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] ||
    ! "$DEBIAN_PY" -c 'import selenium' 2>/dev/null; then
    skip "no browser to test with: install chromium chromium-driver python3-selenium"
    finish
fi

. "$(dirname "$0")/ui_lib.sh"

# browse ARGS... - ui_browser.py; its PASS and FAIL lines are our checks.
browse() {
    "$DEBIAN_PY" "$(dirname "$0")/ui_browser.py" "$@" >"$T/browser.out" 2>&1
    _rc=$?
    while IFS= read -r _line; do
        case "$_line" in
        "PASS "*) pass "${_line#PASS }" ;;
        "FAIL "*) fail "${_line#FAIL }" ;;
        *) fail "ui_browser.py: $_line" ;;
        esac
    done <"$T/browser.out"
    expect_eq "ui_browser.py $1 ran to its end" "$_rc" 0
}

# answer ID NAME - the answer NAME of record ID, as `field show --json`.
answer_of() {
    "$F" show --json "$1" | "$PY" -c 'import json,sys
print(json.load(sys.stdin)["answers"].get(sys.argv[1], ""))' "$2"
}

# --- a server with Hà Tĩnh's units and a village; two enrolled devices ------

start_server main --quiet
{
    cat schema/units/ha-tinh.csv
    echo "1876601,Thôn Xuân Hải,thon,18766,2025-07-01,"
} >"$T/units.csv"
srv units import "$T/units.csv"
expect_rc "the server imports the units" 0

enroll_device b "Bình" 42
enroll_device a "Ann" 42
run "$F" units import "$T/units.csv"
expect_rc "device a imports the village" 0

# --- capture in the browser ----------------------------------------------------

"$FIELD_BUILD/tests/tools/mkphoto" --taken "2026:11:28 08:15:02" \
    --gps 18.3560,105.8878 "$T/plan.jpg"
if [ -n "${FIELD_UI_SHOTS:-}" ]; then # a photo that looks like one
    "$DEBIAN_PY" "$(dirname "$0")/ui_browser.py" picture "$T/plan.jpg"
fi
FIELD_UI_PHOTO="$T/plan.jpg"
export FIELD_UI_PHOTO
start_ui
browse capture "$UI_URL" "$T/ids" ${FIELD_UI_SHOTS:+"$FIELD_UI_SHOTS"}
stop_ui
expect_eq "field ui stops on SIGTERM with exit 0" "$RC" 0

ntm=$(sed -n 's/^ntm //p' "$T/ids")
kdc=$(sed -n 's/^kdc //p' "$T/ids")
expect_eq "the browser made an ntm-xa-2021 record" \
    "${#ntm} $(printf %s "$ntm" | tr -d 0-9a-f)" "32 "
expect_eq "its year is the corrected one" "$(answer_of "$ntm" year)" 2025
expect_eq "its poor households are the corrected number" \
    "$(answer_of "$ntm" households_poor)" 30
expect_eq "the village record's item is stored with its answers" \
    "$("$F" show --json "$kdc" | "$PY" -c 'import json,sys
items = json.load(sys.stdin)["answers"]["ho_kiem_tra"]
one = list(items.values())[0]
print(len(items), one["hh_head"], one["hh_house"], one["hh_latrine"])')" \
    "1 Nguyễn Văn An yes yes"
run "$F" verify
expect_rc "every version the browser saved verifies" 0
n=$(sql "SELECT count(*) FROM versions WHERE record = '$ntm'")
expect_eq "the ntm-xa-2021 record: new, one save, the photo (finalize refused)" "$n" 3
PLAN=$(answer_of "$ntm" plan_photo)
expect_eq "the photo sent from the page is plan_photo's answer" \
    "$PLAN" "$(b2sum -l 256 "$T/plan.jpg" | cut -d' ' -f1)"

# --- synced, from the page, to a second device -------------------------------------------------

run "$F" sync status --json
expect_stdout_contains "the sync button sent everything" '"pending":0'
home b
run "$F" sync
expect_rc "device b syncs" 0
expect_eq "device b sees the answers saved in the browser" \
    "$(answer_of "$ntm" households_poor)" 30
run "$F" sync --attachments-of "$ntm"
expect_rc "device b fetches the record's photos" 0
check "device b holds the photo taken in the page, byte for byte" \
    cmp -s "$FIELD_HOME/attachments/$(echo "$PLAN" | cut -c1-2)/$PLAN" "$T/plan.jpg"
run "$F" verify
expect_rc "... and they verify there" 0

# --- a conflict, resolved in the page ----------------------------------------------

home a
run "$F" set "$ntm" households_total=1300
expect_rc "device a changes the households offline" 0
home b
run "$F" set "$ntm" households_total=1250
expect_rc "device b changes them too" 0
run "$F" sync
home a
run "$F" sync
run "$F" conflicts --json
expect_stdout_contains "device a now holds a conflict" '"households_total"'
n=$(sql "SELECT count(*) FROM versions WHERE record = '$ntm'")
start_ui
browse resolve "$UI_URL" "$ntm" 1250
stop_ui
expect_eq "field ui stops on SIGTERM with exit 0" "$RC" 0
run "$F" conflicts --json
expect_stdout "no conflict is left" "[]"
expect_eq "the value chosen in the page is the answer" \
    "$(answer_of "$ntm" households_total)" 1250
expect_eq "resolving made one version" \
    "$(sql "SELECT count(*) FROM versions WHERE record = '$ntm'")" $((n + 1))
run "$F" verify
expect_rc "the resolution verifies" 0

# --- a supervisor's review, in the page ---------------------------------------------

enroll_device sup "Trần Thị Bình" 42 supervisor
home a
rv=$(new_record 18766 inspection_date=2026-11-28 planning_approved=yes \
    road_total_km=12 road_hardened_km=9 households_total=100 households_latrine=80)
run "$F" finalize "$rv"
expect_rc "device a finalizes a field-demo record" 0
run "$F" sync
expect_rc "... and syncs it" 0
home sup
run "$F" sync
expect_rc "the supervisor's device syncs" 0
n=$(nversions)
start_ui
browse review "$UI_URL" "$rv" "Đo lại chiều dài đường"
stop_ui
expect_eq "the return in the page made one version" "$(nversions)" $((n + 1))
run "$F" show --json "$rv"
expect_eq "... which field show reads as returned, with the reason" \
    "$(json_get "$OUT" status) $(json_get "$OUT" review.review.note)" \
    '"returned" "Đo lại chiều dài đường"'
run "$F" verify
expect_rc "... and which verifies" 0
run "$F" sync
expect_rc "the supervisor's device sends it" 0
home a
run "$F" sync
expect_rc "the inspector's device receives it" 0
start_ui
browse returned "$UI_URL" "$rv" "Đo lại chiều dài đường"
stop_ui

# --- the province report, in the page --------------------------------------------

home sup
run "$F" report --json
expect_rc "field report --json on the supervisor's device" 0
cp "$OUT" "$T/report.json"
start_ui
browse report "$UI_URL" "$T/report.json" online
stop_ui
start_ui
curl -s -o "$T/r.xlsx" -D "$T/r.hdr" -b "$T/jar" -c "$T/jar" "$UI_URL" >/dev/null
curl -s -o "$T/r.xlsx" -D "$T/r.hdr" -b "$T/jar" "${UI_URL}api/report.xlsx"
expect_eq "the workbook comes through the device" "$(head -c 2 "$T/r.xlsx")" "PK"
if tr -d '\r' <"$T/r.hdr" | grep -qi '^Content-Disposition: attachment; filename="bao-cao.xlsx"'; then
    pass "... with Content-Disposition, to be saved"
else
    fail "... with Content-Disposition, to be saved" "$(cat "$T/r.hdr")"
fi
stop_ui
stop_server
# A province's long report, kept on the supervisor's device as a fetch
# would keep it: every commune of Hà Tĩnh with figures of its own. The
# device learns which district six of them were in before July 2025 (a
# dated version each, as a units file with the history gives): the chart
# is then grouped by district, and sorted within.
"$PY" - "$T/report.json" schema/units/ha-tinh.csv "$T/long.json" \
    "$T/districts.json" >"$T/history.sql" <<'EOF'
import csv, json, sys
r = json.load(open(sys.argv[1]))
communes = [u for u in csv.DictReader(open(sys.argv[2]))
            if u["kind"] in ("xa", "phuong") and not u["valid_to"]]
r["localities"] = [{"code": u["code"], "name": u["name"], "tiers": {
    t["code"]: {"met": (i * 7 + k) % 5, "total": 5 + (i + k) % 3}
    for k, t in enumerate(r["tiers"])}} for i, u in enumerate(communes)]
json.dump(r, open(sys.argv[3], "w"), ensure_ascii=False)
d = {}
for i, l in enumerate(r["localities"][:6]):
    d[l["code"]] = ["439", "Huyện Hương Sơn"] if i < 3 else ["440", "Huyện Đức Thọ"]
    print("INSERT INTO units (code, name, kind, parent_code, valid_from, valid_to)"
          " VALUES ('%s', 'Xã cũ %d', 'xa', '%s', '1900-01-01', '2025-06-30');"
          % (l["code"], i, d[l["code"]][0]))
print("UPDATE meta SET value = CAST(readfile('%s') AS TEXT) WHERE key = 'report.last';"
      % sys.argv[3])
json.dump(d, open(sys.argv[4], "w"))
EOF
sql "$(cat "$T/history.sql")"
expect_eq "the long report kept has every commune" \
    "$(sql "SELECT json_array_length(value, '\$.localities') FROM meta WHERE key = 'report.last'")" \
    "$(grep -c ',\(xa\|phuong\),42,2025-07-01,$' schema/units/ha-tinh.csv)"
FIELD_UI_DISTRICTS="$T/districts.json"
export FIELD_UI_DISTRICTS
start_ui
browse report "$UI_URL" "$T/long.json" offline
stop_ui
unset FIELD_UI_DISTRICTS

# --- pairing -------------------------------------------------------------------

home a
start_ui --pair
browse pair "$UI_URL" "$(ui_json pairing_code)"
stop_ui
expect_eq "field ui stops on SIGTERM with exit 0" "$RC" 0

finish
