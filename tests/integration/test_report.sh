#!/bin/sh
# test_report.sh - the province's progress report from end to end, with
# the real programs: a synthetic province shaped like the source
# document's (tests/integration/province.py: 170 communes, one not taking
# part, 1,512 villages, the document's counts for each tier), captured on
# three inspectors' devices, reviewed on a supervisor's device (a record
# returned and corrected, one rejected, one approved only after the
# report's date), synced, and reported. The figures are checked against
# the counts the generator computed on its own, and the text, JSON, CSV
# and XLSX layouts (the XLSX read back) and the HTTP answer must agree.
#
# The server runs under libfaketime (faketime, from Debian) so that its
# receipt times fall before and after the report's date: a report "as of"
# a day counts what the server had received by its end, and the devices'
# own clocks never matter.
. "$(dirname "$0")/server_lib.sh"

FAKE_LIB=$(faketime_lib)
if [ -z "$FAKE_LIB" ]; then
    skip "the province report (libfaketime not installed: apt-get install faketime)"
    finish
fi

# Every program's clock, the server's and the devices': the given time,
# running on from there. The devices capture while the province's units
# (valid until 30/06/2025) exist; the server's receipt times decide what a
# report "as of" a day counts.
set_clock() { # "YYYY-MM-DD HH:MM:SS"
    LD_PRELOAD=$FAKE_LIB
    FAKETIME=-$(($(env -u LD_PRELOAD date +%s) - $(env -u LD_PRELOAD date -d "$1" +%s)))
    FAKETIME_DONT_FAKE_MONOTONIC=1
    ASAN_OPTIONS=verify_asan_link_order=0:${ASAN_OPTIONS:-}
    export LD_PRELOAD FAKETIME FAKETIME_DONT_FAKE_MONOTONIC ASAN_OPTIONS
}

P="$T/province"
"$PY" "$(dirname "$0")/province.py" "$P" || {
    fail "the synthetic province is generated"
    finish
}

set_clock "2025-06-20 08:00:00"
start_server main --quiet
srv units import "$P/units.csv"
expect_rc "the province's units are imported" 0
for t in xa-ntm xa-ntm-nang-cao xa-ntm-kieu-mau kdc-kieu-mau; do
    srv templates add "$P/t-$t.json"
    expect_rc "template t-$t is installed on the server" 0
done
srv targets import "$P/targets.csv"
expect_rc "the targets are imported" 0

sync_ok() { # NAME
    home "$1"
    run "$F" sync --retries 0
    expect_rc "$1 syncs" 0
}

device() { # NAME INSPECTOR ROLE - enrolled for the whole province
    enroll_device "$1" "$2" 90 "$3"
    for t in xa-ntm xa-ntm-nang-cao xa-ntm-kieu-mau kdc-kieu-mau; do
        run "$F" template add "$P/t-$t.json"
    done
    run "$F" units import "$P/units.csv"
    expect_rc "... and loads the province's units" 0
}
device admin "Quản trị tỉnh" admin
device a "Nguyễn Văn An" inspector
device b "Trần Thị Bình" inspector
device c "Lê Văn Cường" inspector
device sup "Phạm Thị Dung" supervisor

# The province enters the threshold the templates leave unknown: a draft
# from the device, the decision's values filled in, signed, then loaded.
home admin
for t in xa-ntm xa-ntm-nang-cao xa-ntm-kieu-mau kdc-kieu-mau; do
    run "$F" thresholds draft "t-$t" --output "$T/draft-$t.json"
    expect_rc "the admin drafts the thresholds of t-$t" 0
    "$PY" - "$T/draft-$t.json" "$P/thresholds.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
values = json.load(open(sys.argv[2], encoding="utf-8"))
d["valid_from"] = "2025-01-01"
d["source"] = "Quyết định thử nghiệm"
for name, v in values.items():
    d["thresholds"][name] = {"value": v["value"]}
json.dump(d, open(sys.argv[1], "w", encoding="utf-8"), ensure_ascii=False)
PY
    run "$F" thresholds sign "$T/draft-$t.json" --output "$T/thr-$t.json"
    expect_rc "... signs them" 0
    srv thresholds add "$T/thr-$t.json"
    expect_rc "... and the server takes them" 0
done

for d in a b c; do
    home $d
    run "$F" import "$P/$d.jsonl"
    expect_rc "inspector $d imports the records captured" 0
done
home a
run "$F" import "$P/extra.jsonl"
for d in a b c; do
    sync_ok $d
done

# --- the supervisor's review ---------------------------------------------------

sync_ok sup
run "$F" review --json
expect_rc "the inbox opens" 0
cp "$OUT" "$T/inbox.json"
"$PY" - "$T/inbox.json" "$P/expect.json" "$T" <<'PY'
import json, sys
inbox = json.load(open(sys.argv[1]))
e = json.load(open(sys.argv[2]))
out = sys.argv[3]
by = {}
for r in inbox:
    by.setdefault((r["subject"], r["template"]), []).append(r["record"])
skip = set(e["villages_waiting"])
late = e["late_commune"]
rejected = e["rejected_commune"]
returned = by[("90001", "t-xa-ntm")][0]
approve = []
for (subject, template), ids in by.items():
    if subject in skip or (template == "t-xa-ntm-nang-cao" and
                           subject in (late, rejected)):
        continue
    approve += [i for i in ids if i != returned]
open(out + "/approve.txt", "w").write("\n".join(approve) + "\n")
open(out + "/special.txt", "w").write("%s %s %s %d\n" % (
    returned, by[(rejected, "t-xa-ntm-nang-cao")][0],
    by[(late, "t-xa-ntm-nang-cao")][0], len(inbox)))
PY
read RETURNED REJECTED LATE N_INBOX <"$T/special.txt"
expect_eq "every final record is in the inbox" "$N_INBOX" 1770
run "$F" return "$RETURNED" --reason "Điểm chưa khớp biên bản"
expect_rc "the supervisor returns one record" 0
run "$F" reject "$REJECTED" --reason "Hồ sơ thiếu"
expect_rc "... rejects one" 0
# shellcheck disable=SC2046
run "$F" approve --note "Đạt" $(cat "$T/approve.txt")
expect_rc "... and approves the rest but the late one and the waiting villages" 0
sync_ok sup
sync_ok a
sync_ok b
sync_ok c
for d in a b c; do
    home $d
    if "$F" show "$RETURNED" >/dev/null 2>&1; then
        run "$F" set "$RETURNED" score=81
        expect_rc "the inspector corrects the returned record" 0
        run "$F" finalize "$RETURNED"
        expect_rc "... and finalizes it" 0
        sync_ok $d
    fi
done
sync_ok sup
run "$F" approve "$RETURNED"
expect_rc "the corrected record is approved" 0
sync_ok sup

# --- the report as of 30/06/2025 ---------------------------------------------------

check_report() { # NAME FILE(json) - the figures against expect.json
    "$PY" - "$2" "$P/expect.json" <<'PY' >"$T/.check" 2>&1
import json, sys
r = json.load(open(sys.argv[1]))
e = json.load(open(sys.argv[2]))
bad = []
tiers = {t["code"]: t for t in r["tiers"]}
for code, (met, total, tenths) in e["tiers"].items():
    t = tiers.get(code)
    got = (t["met"], t["total"], t["share_tenths"]) if t else None
    if got != (met, total, tenths):
        bad.append("%s: got %s, want %s" % (code, got, (met, total, tenths)))
loc = {l["code"]: l["tiers"]["xa-ntm"]["total"] for l in r["localities"]}
if loc != e["communes_per_district"]:
    bad.append("communes per district: %s" % loc)
if [u["code"] for u in r["not_in_programme"]] != e["excluded"]:
    bad.append("not in programme: %s" % r["not_in_programme"])
print("; ".join(bad) if bad else "ok")
PY
    expect_eq "$1" "$(cat "$T/.check")" ok
}

srv report --unit 90 --as-of 30/06/2025 --json
expect_rc "report --json exits 0" 0
cp "$OUT" "$T/report.json"
check_report "the report's counts and shares are the province's" "$T/report.json"
expect_eq "targets: 75 advanced, 22 model, with the distance" \
    "$("$PY" -c 'import json,sys
r = json.load(open(sys.argv[1]))
print(sorted((t["code"], t["target"]["count"], t["target"]["remaining"]) for t in r["tiers"] if "target" in t))' "$T/report.json")" \
    "[('xa-ntm-kieu-mau', 22, 4), ('xa-ntm-nang-cao', 75, 6)]"
expect_eq "villages: not met and not assessed are told apart" \
    "$("$PY" -c 'import json,sys
t = [t for t in json.load(open(sys.argv[1]))["tiers"] if t["code"] == "kdc-kieu-mau"][0]
print(t["not_met"], t["not_assessed"], t["unknown"])' "$T/report.json")" "250 57 0"
expect_eq "the units that miss the advanced tier are listed with their state" \
    "$("$PY" -c 'import json,sys
m = [x for x in json.load(open(sys.argv[1]))["missing"] if x["tier"] == "xa-ntm-nang-cao"]
print(len(m), sorted(set(x["state"] for x in m)))' "$T/report.json")" "100 ['not_assessed']"
expect_eq "... and the villages that miss, with the criterion they miss" \
    "$("$PY" -c 'import json,sys
m = [x for x in json.load(open(sys.argv[1]))["missing"] if x["tier"] == "kdc-kieu-mau" and x["state"] == "not_met"]
print(len(m), sorted(set(x["not_met"] for x in m)))' "$T/report.json")" "250 ['3']"
expect_eq "per criterion: criterion 3 of the village tier" \
    "$("$PY" -c 'import json,sys
c = [c for c in json.load(open(sys.argv[1]))["criteria"] if c["tier"] == "kdc-kieu-mau"][0]
print(c["units"], [(k["code"], k["met"], k["not_met"], k["unknown"]) for k in c["criteria"]])' "$T/report.json")" \
    "1455 [('1', 1455, 0, 0), ('2', 1455, 0, 0), ('3', 1205, 250, 0)]"

srv report --unit 90 --as-of 2025-06-30
expect_rc "report for people exits 0" 0
expect_stdout_contains "text: the advanced tier, Vietnamese-style" "69/169"
expect_stdout_contains "... its share with a decimal comma" "40,8%"
expect_stdout_contains "... the villages with thousands grouped by dots" "1.205/1.512"
expect_stdout_contains "... 79,7% of villages" "79,7%"
expect_stdout_contains "... the distance to the target" "≥ 75 (còn 6)"
expect_stdout_contains "... the commune not taking part" "Kỳ Lợi Thử (90170)"
srv report --unit 90 --as-of 2025-06-30 --lang en
expect_stdout_contains "--lang en writes English numbers" "1,205/1,512"
expect_stdout_contains "... and labels" "model residential area"

srv report --unit 90 --as-of 2025-06-30 --csv
expect_rc "report --csv exits 0" 0
cp "$OUT" "$T/report.csv"
rm -f "$T/report.xlsx"
srv report --unit 90 --as-of 2025-06-30 --xlsx "$T/report.xlsx"
expect_rc "report --xlsx exits 0" 0
srv report --unit 90 --as-of 2025-06-30 --xlsx "$T/report.xlsx"
expect_rc "an existing spreadsheet is not overwritten" 1
expect_eq "JSON, CSV and XLSX give the same figures" \
    "$("$PY" - "$T/report.json" "$T/report.csv" "$T/report.xlsx" <<'PY'
import csv, json, re, sys, zipfile
import xml.etree.ElementTree as ET
r = json.load(open(sys.argv[1]))
want = sorted((t["code"], t["met"], t["total"]) for t in r["tiers"])
rows = list(csv.reader(open(sys.argv[2], encoding="utf-8")))
got_csv = sorted((x[1], int(x[4]), int(x[5])) for x in rows[1:] if x[0] == "tier")
ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
z = zipfile.ZipFile(sys.argv[3])
strings = [si.findtext("m:t", namespaces=ns) or "".join(t.text or "" for t in si.iter("{%s}t" % ns["m"]))
           for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", ns)]
book = ET.fromstring(z.read("xl/workbook.xml"))
names = [s.get("name") for s in book.find("m:sheets", ns)]
sheet = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
cells = []
for row in sheet.iter("{%s}row" % ns["m"]):
    vals = []
    for c in row.findall("m:c", ns):
        v = c.findtext("m:v", namespaces=ns)
        vals.append(strings[int(v)] if c.get("t") == "s" else v)
    cells.append(vals)
got_xlsx = sorted((x[0], int(float(x[2])), int(float(x[3]))) for x in cells[1:])
print("same" if want == got_csv == got_xlsx else "differ: %s %s %s" % (want, got_csv, got_xlsx), names[0])
PY
)" "same Tổng hợp"

# --- over HTTP, within scope ------------------------------------------------------

http_report() { # DEVICE QUERY - GET /v1/report?QUERY signed by DEVICE's key
    home "$1"
    req "$KEY" GET "/v1/report?$2"
}
http_report sup "unit=90&as_of=2025-06-30"
expect_status "a supervisor gets the report over HTTP" 200
check_report "... with the same figures" "$BODY"
http_report sup "unit=90&as_of=2025-06-30&format=csv"
expect_eq "... as CSV too" "$STATUS $(head -c 4 "$BODY")" "200 part"
http_report a "unit=90"
expect_status "an inspector's device is refused" 403 forbidden
enroll_device dist "Hoàng Văn Em" 9001 supervisor
http_report dist "unit=90"
expect_status "a district supervisor may not read the province" 403 out_of_scope
http_report dist "as_of=2025-06-30"
expect_eq "... but reads its own district by default" \
    "$STATUS $(json_get "$BODY" unit.code)" '200 "9001"'
http_report sup "unit=90&as_of=2025-02-31"
expect_status "a date that does not exist is a bad request" 400 bad_request
http_report sup "unit=90&format=pdf"
expect_status "an unknown format is a bad request" 400 bad_request
http_report sup "unit=90&colour=red"
expect_status "an unknown parameter is a bad request" 400 bad_request
http_report sup "unit=4242"
expect_status "an unknown unit is 404" 404 unknown_unit

# --- field report: the same report on the supervisor's device ---------------------

home sup
run "$F" report --unit 90 --as-of 2025-06-30 --json
expect_rc "field report --json exits 0" 0
check_report "... with the server's figures" "$OUT"
expect_eq "... and is kept on the device for when it is offline" \
    "$(sql "SELECT count(*) FROM meta WHERE key IN ('report.last', 'report.fetched_ms')")" 2
run "$F" report --unit 90 --as-of 30/06/2025
expect_rc "field report for people" 0
expect_stdout_contains "... names the unit and the date" "2025-06-30"
expect_stdout_contains "... with Vietnamese number style" "1.205/1.512 (79,7%)"
run "$F" report --unit 90 --as-of 2025-06-30 --format csv
expect_eq "field report --format csv is the server's CSV" "$RC $(head -c 4 "$OUT")" "0 part"
run "$F" report --unit 90 --as-of 2025-06-30 --format xlsx --output "$T/dev.xlsx"
expect_eq "field report --format xlsx --output writes the workbook" \
    "$RC $(head -c 2 "$T/dev.xlsx")" "0 PK"
run "$F" report --unit 90 --format xlsx --output "$T/dev.xlsx"
expect_rc "... never over an existing file" 4
run "$F" report --unit 90 --format xlsx
expect_rc "a workbook without --output is a usage error" 2
run "$F" report --format pdf
expect_rc "an unknown --format is a usage error" 2
run "$F" report --json --format csv
expect_rc "--json with --format csv is a usage error" 2
run "$F" report --as-of 31/02/2025
expect_rc "a date that does not exist is a usage error" 2
run "$F" report extra
expect_rc "an argument is a usage error" 2
run "$F" report --unit 4242
expect_rc "an unknown unit exits 3" 3
expect_stderr_line "... in one line" "field: report: "
home a
run "$F" report --unit 90
expect_rc "an inspector's device is refused: exit 4" 4
expect_stderr_contains "... saying why" "supervisors"
init_home lone
run "$F" report
expect_rc "a device not enrolled exits 3" 3
expect_stderr_contains "... saying how to enroll" "field enroll"

# --- bad input on the command line ------------------------------------------------

srv report --unit 90 --as-of 31/02/2025
expect_rc "report --as-of 31/02/2025 is a usage error" 2
expect_stderr_contains "... naming the date" "31/02/2025"
srv report --unit 4242 --as-of 2025-06-30
expect_rc "an unknown unit exits 3" 3
srv report --unit 90 --json --csv
expect_rc "two formats at once is a usage error" 2
run "$S" init --db "$T/empty.db"
run "$S" report --db "$T/empty.db"
expect_rc "a server without units has no report: exit 3" 3
expect_stderr_contains "... and says how to load them" "units import"

# --- approved after the date ------------------------------------------------------

stop_server
set_clock "2025-07-05 09:00:00"
restart_server
home sup
run "$F" approve "$LATE"
expect_rc "the late record is approved on 5 July" 0
sync_ok sup
srv report --unit 90 --as-of 2025-06-30 --json
expect_eq "a report as of 30 June does not move" \
    "$("$PY" -c 'import json,sys; print([t["met"] for t in json.load(open(sys.argv[1]))["tiers"] if t["code"] == "xa-ntm-nang-cao"])' "$OUT")" "[69]"
srv report --unit 90 --as-of 2025-07-05 --json
expect_eq "a report as of 5 July counts it" \
    "$("$PY" -c 'import json,sys; print([t["met"] for t in json.load(open(sys.argv[1]))["tiers"] if t["code"] == "xa-ntm-nang-cao"])' "$OUT")" "[70]"
stop_server
expect_rc "the server stops cleanly" 0
finish
