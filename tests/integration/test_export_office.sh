#!/bin/sh
# test_export_office.sh - exports for a provincial office and its map, with
# the real programs: records captured on a device (a commune checklist with
# a position, a village checklist with a repeat group of households, a
# draft without a position) are exported by `field export` as an XLSX
# workbook (read back with python3's zipfile: sheet names, labels in
# Vietnamese and English, names, values) and as GeoJSON (checked against
# RFC 7946's structure); after a sync the server gives the same records
# to a supervisor over GET /v1/export, limited to its scope; an inspector's
# device, a unit outside the scope, an unknown unit, a bad format or
# parameter and a changed query are refused; `field-server export` writes
# every record; an existing --output file is never overwritten.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet

# The province, two communes and a village of the first, on the server and
# (but the province, which `field init` loads) on the devices.
cat >"$T/units.csv" <<'CSV'
code,name,kind,parent_code,valid_from,valid_to
42,Hà Tĩnh,tinh,,,
4201,Xã Một,xa,42,2025-07-01,
420101,Thôn Một,thon,4201,2025-07-01,
4202,Xã Hai,xa,42,2025-07-01,
CSV
grep -v '^42,' "$T/units.csv" >"$T/units-device.csv"
srv units import "$T/units.csv"
expect_rc "the server imports the units" 0

enroll_device an "Nguyễn Văn An" 4201
run "$F" units import "$T/units-device.csv"
expect_rc "the inspector's device imports the units" 0
enroll_device bob "Lê Văn Bình" 4202
run "$F" units import "$T/units-device.csv"
enroll_device sup "Trần Thị Lan" 4201 supervisor
enroll_device far "Phạm Thị Dung" 4202 supervisor

# xlsx FILE [strip] - the workbook FILE as JSON: {sheet: [[cell, ...], ...]}
# in sheet order under "order"; numbers as numbers, blanks as null. With
# "strip", the last byte (the newline fieldctl adds) is dropped first.
cat >"$T/xlsx.py" <<'PY'
import io, json, re, sys, zipfile
import xml.etree.ElementTree as ET
M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
data = open(sys.argv[1], "rb").read()
if len(sys.argv) > 2:
    data = data[:-1]
z = zipfile.ZipFile(io.BytesIO(data))
rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
target = {r.get("Id"): r.get("Target") for r in rels}
shared = []
if "xl/sharedStrings.xml" in z.namelist():
    for si in ET.fromstring(z.read("xl/sharedStrings.xml")):
        shared.append("".join(t.text or "" for t in si.iter(M + "t")))
def col(ref):
    n = 0
    for ch in re.match("[A-Z]+", ref).group(0):
        n = n * 26 + ord(ch) - 64
    return n - 1
out = {"order": []}
for s in ET.fromstring(z.read("xl/workbook.xml")).find(M + "sheets"):
    name = s.get("name")
    sheet = ET.fromstring(z.read("xl/" + target[s.get(R + "id")]))
    rows = []
    for row in sheet.find(M + "sheetData"):
        cells = {}
        for c in row:
            t = c.get("t")
            if t == "inlineStr":
                v = "".join(x.text or "" for x in c.iter(M + "t"))
            elif t == "s":
                v = shared[int(c.find(M + "v").text)]
            else:
                v = float(c.find(M + "v").text)
                v = int(v) if v == int(v) else v
            cells[col(c.get("r"))] = v
        rows.append([cells.get(i) for i in range(max(cells) + 1)] if cells else [])
    out["order"].append(name)
    out[name] = rows
print(json.dumps(out, ensure_ascii=False))
PY
xlsx() {
    "$PY" "$T/xlsx.py" "$@" >"$T/.xlsx.json" 2>"$T/.xlsx.err" ||
        fail "read the workbook $1" "$(cat "$T/.xlsx.err")"
}

# sheets - the workbook's sheet names, sorted, on one line.
sheets() {
    "$PY" -c 'import json, sys
print(" ".join(sorted(json.load(open(sys.argv[1]))["order"])))' "$T/.xlsx.json"
}

# column SHEET NAME - the values in the column whose name (row 2) is NAME,
# data rows only, as JSON.
column() {
    "$PY" -c '
import json, sys
rows = json.load(open(sys.argv[1]))[sys.argv[2]]
i = rows[1].index(sys.argv[3])
print(json.dumps([r[i] if i < len(r) else None for r in rows[2:]], ensure_ascii=False))
' "$T/.xlsx.json" "$1" "$2"
}

# values SHEET NAME - the same values sorted, one line, separated by "|".
values() {
    column "$1" "$2" | "$PY" -c 'import json, sys
print("|".join(sorted(str(v) for v in json.load(sys.stdin))))'
}

# cell SHEET RECORD NAME - the value in RECORD's row, column NAME, as JSON.
cell() {
    "$PY" -c '
import json, sys
rows = json.load(open(sys.argv[1]))[sys.argv[2]]
r = [r for r in rows[2:] if r[0] == sys.argv[3]][0]
i = rows[1].index(sys.argv[4])
print(json.dumps(r[i] if i < len(r) else None, ensure_ascii=False))
' "$T/.xlsx.json" "$1" "$2" "$3"
}

# sorted_ids ID... - the ids sorted, separated by "|".
sorted_ids() {
    printf '%s\n' "$@" | sort | tr '\n' '|' | sed 's/|$//'
}

# geojson FILE [strip] - check FILE is an RFC 7946 FeatureCollection of
# Points with the properties we promise; print "N features, M without".
cat >"$T/geo.py" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
if len(sys.argv) > 2:
    raw = raw[:-1]
g = json.loads(raw)
assert g["type"] == "FeatureCollection", g["type"]
for f in g["features"]:
    assert f["type"] == "Feature"
    assert f["geometry"]["type"] == "Point"
    lon, lat = f["geometry"]["coordinates"]
    assert isinstance(lon, float) and isinstance(lat, float)
    assert -180 <= lon <= 180 and -90 <= lat <= 90
    p = f["properties"]
    for k in ("record", "unit", "unit_name", "template", "status",
              "status_label", "tier", "tier_label", "inspector", "time"):
        assert k in p, k
    assert f["id"] == p["record"]
    assert p["tier"] in ("met", "not_met", "unknown", None), p["tier"]
print("%d features, %d without" % (len(g["features"]), g["without_position"]))
PY
geojson() {
    "$PY" "$T/geo.py" "$@" 2>&1
}

# --- records on the inspector's device --------------------------------------

home an
R1=$(new_record 4201 inspection_date=2026-11-28 "location=18.3521 105.9012" \
    planning_approved=yes road_total_km=24,60 road_hardened_km=20 \
    households_total=120 households_latrine=100 "waste=sorted collected" \
    "remarks=Đường tốt, cần thêm biển báo")
run "$F" finalize "$R1"
expect_rc "the commune's record is finalized" 0
D1=$(new_record 4201 inspection_date=2026-11-29)
run "$F" new ha-tinh-kdc-kieu-mau --subject 420101 inspection_date=2026-11-20 \
    "location=18.5 105.7" households_total=50 \
    'ho_kiem_tra[+].hh_head=Lê Văn Bình' 'ho_kiem_tra[+].hh_house=yes' \
    'ho_kiem_tra[+2].hh_head=Trần Thị Cúc' 'ho_kiem_tra[+2].hh_house=no'
expect_rc "a village's record with two households" 0
K1=$(cat "$OUT")

run "$F" export --format xlsx --output "$T/an.xlsx"
expect_rc "field export --format xlsx exits 0" 0
expect_stdout_empty "... and prints nothing"
xlsx "$T/an.xlsx"
expect_eq "a sheet per template, the repeat group's own (31 characters)" \
    "$(sheets)" "field-demo ha-tinh-kdc-kieu-mau ha-tinh-kdc-kieu-mau-ho_kiem_tr"
expect_eq "labels in Vietnamese, then the names" \
    "$(json_get "$T/.xlsx.json" field-demo.0.0) $(json_get "$T/.xlsx.json" field-demo.0.6) $(json_get "$T/.xlsx.json" field-demo.1.6)" \
    '"Mã phiếu" "Ngày kiểm tra" "inspection_date"'
expect_eq "a row per record" "$(values field-demo record)" "$(sorted_ids "$R1" "$D1")"
expect_eq "decimals are numbers, choices by label, dates are dates" \
    "$(cell field-demo "$R1" road_total_km) $(cell field-demo "$R1" planning_approved) $(cell field-demo "$R1" inspection_date)" \
    '24.6 "Có" 46354'
expect_eq "several choices by label, statuses in Vietnamese" \
    "$(cell field-demo "$R1" waste) $(cell field-demo "$R1" status) $(cell field-demo "$D1" status)" \
    '"Được thu gom; Phân loại tại nguồn" "Hoàn thành" "Nháp"'
expect_eq "the unit's code and name" \
    "$(column ha-tinh-kdc-kieu-mau unit) $(column ha-tinh-kdc-kieu-mau unit_name)" \
    '["420101"] ["Thôn Một"]'
expect_eq "the tier result of a template with a tier" \
    "$(column ha-tinh-kdc-kieu-mau tier)" '["chưa xác định"]'
expect_eq "calculations by the form engine: households checked" \
    "$(column ha-tinh-kdc-kieu-mau sample_n)" '[2]'
expect_eq "the repeat group: a row per household, with its record" \
    "$(values ha-tinh-kdc-kieu-mau-ho_kiem_tr hh_head) $(values ha-tinh-kdc-kieu-mau-ho_kiem_tr record)" \
    "Lê Văn Bình|Trần Thị Cúc $K1|$K1"
expect_eq "... and calculations per household" \
    "$(values ha-tinh-kdc-kieu-mau-ho_kiem_tr hh_all_ok)" "0|0"
expect_eq "... its questions labelled in Vietnamese" \
    "$(json_get "$T/.xlsx.json" ha-tinh-kdc-kieu-mau-ho_kiem_tr.0.3)" '"Họ tên chủ hộ"'

run "$F" export --format xlsx --lang en --output "$T/an-en.xlsx"
expect_rc "field export --lang en exits 0" 0
xlsx "$T/an-en.xlsx"
expect_eq "labels in English with --lang en" \
    "$(json_get "$T/.xlsx.json" field-demo.0.0) $(json_get "$T/.xlsx.json" field-demo.0.6) $(cell field-demo "$R1" planning_approved) $(cell field-demo "$R1" status)" \
    '"Record" "Inspection date" "Yes" "Final"'

run "$F" export --format xlsx
expect_rc "a workbook without --output is a usage error" 2
expect_stderr_contains "... asking for --output" "--output"
echo "keep me" >"$T/existing.xlsx"
before=$(file_sum "$T/existing.xlsx")
run "$F" export --format xlsx --output "$T/existing.xlsx"
expect_rc "an existing --output file is refused (exit 4)" 4
expect_eq "... and left untouched" "$(file_sum "$T/existing.xlsx")" "$before"
run "$F" export --format geojson --output "$T/existing.xlsx"
expect_rc "... in every format" 4
expect_eq "... still untouched" "$(file_sum "$T/existing.xlsx")" "$before"

run "$F" export --format geojson
expect_rc "field export --format geojson exits 0" 0
cp "$OUT" "$T/an.geojson"
expect_eq "GeoJSON: a point per record with a position, the rest counted" \
    "$(geojson "$T/an.geojson")" "2 features, 1 without"
expect_stderr_contains "... and said on stderr" "1 of 3 records have no position"
expect_eq "GeoJSON: [longitude, latitude] and the properties of the commune" \
    "$("$PY" -c '
import json, sys
for f in json.load(open(sys.argv[1]))["features"]:
    if f["id"] == sys.argv[2]:
        p = f["properties"]
        print(f["geometry"]["coordinates"], p["unit"], p["unit_name"], p["template"],
              p["status"], p["tier"], p["inspector"])' "$T/an.geojson" "$R1")" \
    "[105.9012, 18.3521] 4201 Xã Một field-demo final None Nguyễn Văn An"
expect_eq "GeoJSON: the village's tier result" \
    "$("$PY" -c '
import json, sys
for f in json.load(open(sys.argv[1]))["features"]:
    if f["id"] == sys.argv[2]:
        print(f["properties"]["tier"], f["properties"]["tier_label"])' "$T/an.geojson" "$K1")" \
    "unknown chưa xác định"
run "$F" export --format json
cp "$OUT" "$T/an.json"
run "$F" export --format csv --template field-demo
cp "$OUT" "$T/an.csv"

# --- the same records from the server -------------------------------------------

run "$F" sync --retries 0
expect_rc "the inspector syncs" 0
home bob
B1=$(new_record 4202 inspection_date=2026-11-27 "location=18.1 105.5")
run "$F" sync --retries 0
expect_rc "another commune's inspector syncs" 0

SUP="$T/sup/device.key"
req "$SUP" GET "/v1/export?format=xlsx"
expect_status "a supervisor exports a workbook" 200
xlsx "$BODY" strip
expect_eq "... of the records of its scope, the village below its commune included" \
    "$(values field-demo record) $(values ha-tinh-kdc-kieu-mau record)" \
    "$(sorted_ids "$R1" "$D1") $K1"
expect_eq "... laid out as on the device" \
    "$(json_get "$T/.xlsx.json" field-demo.0.6) $(cell field-demo "$R1" road_total_km) $(values ha-tinh-kdc-kieu-mau-ho_kiem_tr hh_head)" \
    '"Ngày kiểm tra" 24.6 Lê Văn Bình|Trần Thị Cúc'

req "$SUP" GET "/v1/export?format=geojson&lang=en"
expect_status "a supervisor exports GeoJSON" 200
expect_eq "... a valid collection of its records' points" \
    "$(geojson "$BODY" strip)" "2 features, 1 without"
expect_eq "... labels in English" "$(json_get "$BODY" features.0.properties.status_label)" \
    "$(json_get "$BODY" features.0.properties.status | sed 's/"draft"/"Draft"/; s/"final"/"Final"/')"

req "$SUP" GET "/v1/export?format=json&unit=4201"
expect_status "JSON for one unit" 200
expect_eq "... the same records, answers, heads and signed versions as the device's" \
    "$("$PY" -c '
import json, sys
def load(p, strip):
    raw = open(p, "rb").read()
    return {r["record"]: r for r in json.loads(raw[:-1] if strip else raw)["records"]}
print(load(sys.argv[1], True) == load(sys.argv[2], False))' "$BODY" "$T/an.json")" True

req "$SUP" GET "/v1/export?format=csv&template=field-demo"
expect_status "CSV of one template" 200
expect_eq "... the device's header" "$(head -n 1 "$BODY")" "$(head -n 1 "$T/an.csv")"

req "$SUP" GET "/v1/export?format=geojson&status=final"
expect_eq "a status filter applies to the merged status" \
    "$(json_get "$BODY" features.0.id) $(geojson "$BODY" strip)" "\"$R1\" 1 features, 0 without"

req "$T/far/device.key" GET "/v1/export?format=geojson"
expect_status "another commune's supervisor exports" 200
expect_eq "... only its own commune's records" \
    "$(json_get "$BODY" features.0.id) $(geojson "$BODY" strip)" "\"$B1\" 1 features, 0 without"

# --- refusals ---------------------------------------------------------------------

req "$T/an/device.key" GET "/v1/export?format=xlsx"
expect_status "an inspector's device may not export" 403 forbidden
req "$SUP" GET "/v1/export?format=xlsx&unit=4202"
expect_status "a unit outside the supervisor's scope" 403 out_of_scope
expect_eq "... named in the message" \
    "$(json_get "$BODY" error.message | grep -c 4202)" 1
req "$SUP" GET "/v1/export?format=xlsx&unit=9999"
expect_status "an unknown unit" 404 unknown_unit
req "$SUP" GET "/v1/export?format=pdf"
expect_status "an unknown format" 400 unknown_format
req "$SUP" GET "/v1/export"
expect_status "no format" 400 unknown_format
req "$SUP" GET "/v1/export?format=csv&templat=field-demo"
expect_status "a misspelled parameter is refused, not ignored" 400 bad_request
req "$SUP" GET "/v1/export?format=csv&status=done"
expect_status "an unknown status" 400 bad_request
req "$SUP" GET "/v1/export?format=csv"
expect_status "CSV of records of several templates" 400 bad_request
req "$SUP" GET "/v1/export?format=csv&unit=420101&unit=4201"
expect_status "a parameter given twice" 400 bad_request
req - GET "/v1/export?format=csv"
expect_status "an unsigned request" 401 unsigned

# The signature covers the query: the same request asking for another unit
# does not verify.
"$C" request "$SUP" GET "$URL/v1/export?format=geojson&unit=420101" \
    --save "$T/signed.req" >/dev/null 2>&1
sed 's|unit=420101|unit=4201|' "$T/signed.req" >"$T/changed.req"
"$C" send "$URL" "$T/changed.req" >"$T/.resp" 2>/dev/null
expect_eq "a changed query is refused" "$(head -n 1 "$T/.resp")" 401
tail -n +2 "$T/.resp" >"$BODY"
expect_eq "... as a bad signature" "$(json_get "$BODY" error.code)" '"bad_signature"'

# --- the administrator's command ------------------------------------------------

srv export --format geojson
expect_rc "field-server export exits 0" 0
cp "$OUT" "$T/all.geojson"
expect_eq "... every record of the province" \
    "$(geojson "$T/all.geojson")" "3 features, 1 without"
srv export --format xlsx --unit 4202 --output "$T/srv.xlsx"
expect_rc "field-server export --format xlsx --unit exits 0" 0
xlsx "$T/srv.xlsx"
expect_eq "... the unit's records only" "$(sheets) $(values field-demo record)" \
    "field-demo $B1"
before=$(file_sum "$T/srv.xlsx")
srv export --format xlsx --output "$T/srv.xlsx"
expect_rc "an existing --output file is refused (exit 4)" 4
expect_eq "... and left untouched" "$(file_sum "$T/srv.xlsx")" "$before"
srv export --format xlsx
expect_rc "a workbook without --output is a usage error" 2
srv export --format geojson --unit 9999
expect_rc "an unknown unit exits 3" 3
srv export --format csv --status done
expect_rc "an unknown status is a usage error" 2

finish
