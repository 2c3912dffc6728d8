#!/bin/sh
# test_units_targets.sh - the data the province's progress report counts
# by, through the real programs: units with in_programme and merged_into
# (field-server units import, --on before and after a merger, --all,
# --json; field units on a device), every bad units file refused with its
# line and nothing stored, targets import and list with their bad lines,
# and a server database of the previous release (schema version 1, units
# without dates) migrated and then dated by a new import.
. "$(dirname "$0")/server_lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DBS="$T/server.db"
run "$S" init --db "$DBS"
expect_rc "init" 0

# --- units with the optional columns ---------------------------------------------

# Kỳ Lợi (18814) lies in the Vũng Áng economic zone, outside the programme;
# on 1 July 2025 it merged into Kỳ Lạc (18838), and its village moved. The
# province and the district are as in the built-in ha-tinh.csv, which
# `field init` loads on the device below.
cat >"$T/units.csv" <<'CSV'
code,name,kind,parent_code,valid_from,valid_to,in_programme,merged_into
42,Tỉnh Hà Tĩnh,tinh,,1900-01-01,,,
447,Huyện Kỳ Anh,huyen,42,1900-01-01,2025-06-30,,
18814,Kỳ Lợi,xa,447,1991-10-01,2025-06-30,no,18838
18817,Kỳ Hà,xa,447,1991-10-01,2025-06-30,yes,18838
1881401,Thôn Hải Phong,thon,18814,1991-10-01,2025-06-30,,
1881401,Thôn Hải Phong,thon,18838,2025-07-01,,,
18838,Kỳ Lạc,xa,42,2025-07-01,,,
CSV
srv units import "$T/units.csv"
expect_rc "units import with in_programme and merged_into" 0
expect_stdout "... says how many" "imported 7 units"

srv units --on 2025-06-30
expect_stdout "units --on the day before the merger" "$(cat <<'TXT'
18814        447          xa         Kỳ Lợi  (1991-10-01 to 2025-06-30)  [ngoài chương trình NTM / not in the programme]  [sáp nhập vào / merged into 18838]
1881401      18814        thon       Thôn Hải Phong  (1991-10-01 to 2025-06-30)
18817        447          xa         Kỳ Hà  (1991-10-01 to 2025-06-30)  [sáp nhập vào / merged into 18838]
42           -            tinh       Tỉnh Hà Tĩnh
447          42           huyen      Huyện Kỳ Anh  (1900-01-01 to 2025-06-30)
TXT
)"
srv units --on 2025-07-01
expect_stdout "units --on the day of the merger" "$(cat <<'TXT'
1881401      18838        thon       Thôn Hải Phong
18838        42           xa         Kỳ Lạc
42           -            tinh       Tỉnh Hà Tĩnh
TXT
)"
srv units --on "$(date +%Y-%m-%d)"
cp "$OUT" "$T/today"
srv units
expect_stdout "units lists those valid today by default" "$(cat "$T/today")"
srv units --all
expect_eq "units --all lists every version" "$(wc -l <"$OUT")" 7
srv units --json --on 2025-06-30
expect_eq "units --json: in_programme" "$(json_get "$OUT" units.0.in_programme)" false
expect_eq "... merged_into" "$(json_get "$OUT" units.0.merged_into)" '"18838"'
expect_eq "... the dates" "$(json_get "$OUT" units.0.valid_from)/$(json_get "$OUT" units.0.valid_to)" '"1991-10-01"/"2025-06-30"'
expect_eq "... kind, and level as before" "$(json_get "$OUT" units.0.kind)/$(json_get "$OUT" units.0.level)" '"xa"/"xa"'
expect_eq "... null while valid" "$(json_get "$OUT" units.3.valid_to)/$(json_get "$OUT" units.3.merged_into)" "null/null"
srv units --on 2025-02-30
expect_rc "units --on a day that does not exist" 2
expect_stderr_contains "... says why" '--on: "2025-02-30" is not a YYYY-MM-DD date'
srv units --on 2025-01-01 --all
expect_rc "--on and --all together" 2

# --- bad units files: refused with their line, nothing stored ---------------------

printf '%s\n' "code,name,kind,parent_code,valid_from,valid_to" \
    "70,Xã Bảy Mươi,xa,42,2000-01-01," "71,Thôn Bảy Mốt,thon,70,2000-01-01," \
    >"$T/chain.csv"
srv units import "$T/chain.csv"
expect_rc "a commune and its village" 0
srv units --all --json
cp "$OUT" "$T/units.before"
HDR="code,name,kind,parent_code,valid_from,valid_to,in_programme,merged_into"
# refused_import WHAT HEADER NAME MESSAGE LINE... - `WHAT import` of a file
# of HEADER and LINEs is refused (exit 4) with MESSAGE, and `WHAT --all
# --json` (targets: --json) shows what it did before ($T/WHAT.before).
refused_import() {
    _what=$1
    _hdr=$2
    _name=$3
    _msg=$4
    shift 4
    printf '%s\n' "$_hdr" "$@" >"$T/bad.csv"
    srv "$_what" import "$T/bad.csv"
    expect_rc "$_name: refused" 4
    expect_stderr_contains "$_name: $_msg" "$_msg"
    if [ "$_what" = units ]; then srv units --all --json; else srv targets --json; fi
    if cmp -s "$OUT" "$T/$_what.before"; then
        pass "$_name: nothing stored"
    else
        fail "$_name: nothing stored" "$(diff "$T/$_what.before" "$OUT")"
    fi
}
refused() {
    refused_import units "$HDR" "$@"
}
refused "a parent cycle in the file" "line 2: parent_code cycle: 51 → 50 → 51" \
    "51,Xã,xa,50,,,," "50,Xã,xa,51,,,,"
refused "a parent cycle through the stored units" "line 2: parent_code cycle: 70 → 71 → 70" \
    "70,Xã Bảy Mươi,xa,71,2000-01-01,,,"
refused "a code again with an overlapping period" "line 3: code 60 from 2020-01-01 on overlaps line 2 (from 2000-01-01 to 2020-06-30)" \
    "60,Xã,xa,42,2000-01-01,2020-06-30,," "60,Xã Mới,xa,42,2020-01-01,,,"
refused "an open version followed by another" "line 3: code 60 from 2021-01-01 on overlaps line 2 (from 2000-01-01 on)" \
    "60,Xã,xa,42,2000-01-01,,," "60,Xã Mới,xa,42,2021-01-01,,,"
refused "an overlap with a stored version" "line 2: code 18838 from 2025-06-01 on overlaps its stored version from 2025-07-01 on" \
    "18838,Kỳ Lạc,xa,42,2025-06-01,,,"
refused "valid_to before valid_from" 'line 2: valid_to "2019-12-31" is not a date on or after valid_from' \
    "61,Xã,xa,42,2020-01-01,2019-12-31,,"
refused "a parent not valid on the unit's first day" "line 2: parent_code 447 is not valid on 2025-07-01" \
    "62,Xã,xa,447,2025-07-01,,,"
refused "a parent that ends before the unit" "line 2: parent_code 447 is not valid on 2025-07-01, within the unit's period (from 2020-01-01 on)" \
    "63,Xã,xa,447,2020-01-01,,,"
refused "a parent ended earlier under a stored unit" "line 2: unit 447 would not be valid on 2025-01-01, when the stored unit 18814" \
    "447,Huyện Kỳ Anh,huyen,42,1900-01-01,2024-12-31,,"
refused "merged_into an unknown unit" "line 2: merged_into 99999 is neither in the file nor loaded" \
    "64,Xã,xa,42,2000-01-01,2025-06-30,,99999"
refused "merged_into a unit not valid the day after" "line 2: merged_into 18838 is not valid on 2025-01-01, the day after valid_to" \
    "65,Xã,xa,42,2000-01-01,2024-12-31,,18838"
refused "merged_into without valid_to" "line 2: merged_into needs a valid_to" \
    "66,Xã,xa,42,2000-01-01,,,18838"
refused "a bad in_programme" 'line 2: in_programme "có" is not yes or no' \
    "67,Xã,xa,42,2000-01-01,,có,"
HDR="code,name,kind,parent_code,valid_from,valid_to,merged_in"
refused "a misspelt optional column" 'line 1: expected the header code,name,kind,parent_code,valid_from,valid_to (unknown column "merged_in")' \
    "69,Xã,xa,42,2000-01-01,2025-06-30,18838"

# A file without the optional columns is still a units file.
printf 'code,name,kind,parent_code,valid_from,valid_to\n68,Xã Sáu Tám,xa,42,2025-07-01,\n' >"$T/plain.csv"
srv units import "$T/plain.csv"
expect_rc "a units file without the optional columns" 0

# --- the same file on a device -------------------------------------------------------

init_home dev --inspector "Nguyễn Văn An"
run "$F" units import "$T/units.csv"
expect_rc "field units import with the optional columns" 0
run "$F" units --on 2025-06-30
expect_stdout_contains "field units shows a unit outside the programme" "Kỳ Lợi  (1991-10-01 to 2025-06-30)  [ngoài chương trình NTM / not in the programme]  [sáp nhập vào / merged into 18838]"
run "$F" units --json --on 2025-06-30
expect_eq "field units --json: in_programme" "$(json_get "$OUT" 0.in_programme)" false
expect_eq "... merged_into" "$(json_get "$OUT" 0.merged_into)" '"18838"'
printf '%s\n' "code,name,kind,parent_code,valid_from,valid_to" \
    "51,Xã,xa,50,," "50,Xã,xa,51,," >"$T/cycle.csv"
run "$F" units import "$T/cycle.csv"
expect_rc "field refuses a parent cycle too" 4
expect_stderr_contains "... naming the line" "line 2: parent_code cycle: 51 → 50 → 51"

# --- targets -------------------------------------------------------------------------

srv targets import "$ROOT/schema/targets/ha-tinh-2025.csv"
expect_rc "targets import: the Hà Tĩnh example" 0
expect_stdout "... says how many" "imported 2 targets"
srv targets
expect_stdout "targets lists them in the order loaded" "$(cat <<'TXT'
42       xa-ntm-nang-cao          75  2025-01-01  2025-12-31  Kết luận của BCH Đảng bộ tỉnh Hà Tĩnh về tiếp tục thực hiện NQ 04-NQ/TU
42       xa-ntm-kieu-mau          22  2025-01-01  2025-12-31  Kết luận của BCH Đảng bộ tỉnh Hà Tĩnh về tiếp tục thực hiện NQ 04-NQ/TU
TXT
)"
printf 'unit,tier,count,from,due,source\n42,xa-ntm-nang-cao,80,2025-01-01,,\n18838,kdc-kieu-mau,3,2026-01-01,2026-12-31,Kế hoạch xã\n' >"$T/more.csv"
srv targets import "$T/more.csv"
expect_rc "targets import again" 0
srv targets --json
expect_eq "a target of the same unit, tier and from is replaced, and comes last" \
    "$(json_get "$OUT" targets.1.tier)/$(json_get "$OUT" targets.1.count)/$(json_get "$OUT" targets.1.due)" '"xa-ntm-nang-cao"/80/null'
expect_eq "... the others kept in order" "$(json_get "$OUT" targets.0.tier)/$(json_get "$OUT" targets.2.unit)" '"xa-ntm-kieu-mau"/"18838"'
expect_eq "... three in all" "$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["targets"]))' "$OUT")" 3
cp "$OUT" "$T/targets.before"
THDR="unit,tier,count,from,due,source"
targets_refused() {
    refused_import targets "$THDR" "$@"
}
targets_refused "an unknown unit" "line 3: unit 99 is not loaded" \
    "42,xa-ntm,170,2025-01-01,," "99,xa-ntm,1,2025-01-01,,"
targets_refused "a bad tier" 'line 2: tier "xã-ntm" is not a tier code' \
    "42,xã-ntm,1,2025-01-01,,"
targets_refused "a negative count" 'line 2: count "-1" is not a whole number' \
    "42,xa-ntm,-1,2025-01-01,,"
targets_refused "a bad from" 'line 2: from "2025" is not a YYYY-MM-DD date' \
    "42,xa-ntm,1,2025,,"
targets_refused "due before from" 'line 2: due "2024-01-01" is not a date on or after from' \
    "42,xa-ntm,1,2025-01-01,2024-01-01,"
targets_refused "the same target twice" "line 3: unit 42, tier xa-ntm from 2025-01-01 is already on line 2" \
    "42,xa-ntm,1,2025-01-01,," "42,xa-ntm,2,2025-01-01,,"
THDR="unit,tier,count,from,due"
targets_refused "a missing column" 'line 1: expected the header unit,tier,count,from,due,source (no column "source")' \
    "42,xa-ntm,1,2025-01-01,"

# --- a database of the previous release ------------------------------------------------

# schema/server.sql is schema version 1 as the previous release made it:
# units without dates (code, name, parent, level).
OLD="$T/old.db"
{
    cat "$ROOT/schema/server.sql"
    echo "PRAGMA application_id = 1179403379; PRAGMA user_version = 1;"
    echo "INSERT INTO meta VALUES ('epoch', '0123456789abcdef');"
    echo "INSERT INTO units VALUES ('42', 'Hà Tĩnh', NULL, 'tinh'), ('4201', 'Xã Một', '42', 'xa');"
} | sqlite3 -batch "$OLD"
run "$S" units --db "$OLD" --all --json
expect_rc "a version 1 database opens" 0
expect_eq "... its units valid since ever, the level their kind" \
    "$(json_get "$OUT" units.1.code)/$(json_get "$OUT" units.1.kind)/$(json_get "$OUT" units.1.valid_from)/$(json_get "$OUT" units.1.valid_to)/$(json_get "$OUT" units.1.in_programme)" \
    '"4201"/"xa"/"0000-01-01"/null/true'
expect_eq "... migrated to the current schema version (7: units, threshold revisions, clocks ahead, attachments, two indexes fewer, parent edges by row)" "$(sqlite3 -batch "$OLD" 'PRAGMA user_version')" 7
run "$S" targets --db "$OLD"
expect_rc "... with a targets table" 0
printf 'code,name,kind,parent_code,valid_from,valid_to\n42,Tỉnh Hà Tĩnh,tinh,,1991-10-01,\n4201,Xã Một,xa,42,2025-07-01,\n' >"$T/dated.csv"
run "$S" units --db "$OLD" import "$T/dated.csv"
expect_rc "importing the province's file again dates the migrated units" 0
run "$S" units --db "$OLD" --all
expect_stdout "... each code once, with its dates" "$(cat <<'TXT'
42           -            tinh       Tỉnh Hà Tĩnh  (from 1991-10-01)
4201         42           xa         Xã Một  (from 2025-07-01)
TXT
)"

finish
