#!/bin/sh
# demo.sh BUILD_DIR - the whole journey on this machine, in a temporary
# directory that is removed afterwards:
#   1. a device captures an inspection of a commune, finalizes it, and
#      `field verify` catches a store edited behind the program's back;
#   2. a field-server on a temporary database and loopback port; two
#      devices enrolled; an inspection captured and synced; the same
#      inspection edited on both devices while "offline"; both sync; the
#      merged result shows the one conflict a person must resolve; the
#      resolution; everyone converged;
#   3. a supervisor's review (one village returned with a reason, one
#      approved) and the province's progress report computed by the server
#      from the approved records only;
#   4. the photo the supervisor asked for: attached by the inspector (its
#      EXIF time and place checked against the inspection), carried to the
#      server after the versions, and fetched by the supervisor's device.
set -eu
O=${1:-build}
BIN=$(cd "$O" && pwd)/bin
FIELD=$BIN/field
SERVER=$BIN/field-server
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d "${TMPDIR:-/tmp}/field-demo-XXXXXX")
SPID=""
cleanup() {
    [ -z "$SPID" ] || kill "$SPID" 2>/dev/null || true
    [ -z "$SPID" ] || wait "$SPID" 2>/dev/null || true
    rm -rf "$D"
}
trap cleanup EXIT INT TERM
unset FIELD_PASSPHRASE

if [ -t 1 ]; then B='\033[1m' N='\033[0m'; else B='' N=''; fi
say() { printf "\n${B}\$ %s${N}\n" "$*"; }
run() { say "$*"; "$@"; }
title() { printf "\n${B}== %s ==${N}\n" "$*"; }

title "1. Capture on one device"
FIELD_HOME=$D/solo
export FIELD_HOME
run "$FIELD" init --inspector "Nguyễn Văn An"
run "$FIELD" templates
say "$FIELD new field-demo --subject 18424 inspection_date=28/11/2026"
REC=$("$FIELD" new field-demo --subject 18424 inspection_date=28/11/2026)
echo "$REC"
run "$FIELD" set "$REC" planning_approved=yes road_total_km=24,60 \
    road_hardened_km=21.35 households_total=1204 \
    "waste=sorted collected" "remarks=Đường trục xã đã bê tông hoá"
# Not complete yet: finalize lists what is missing and writes nothing.
run "$FIELD" finalize "$REC" || echo "(exit status $?)"
run "$FIELD" set "$REC" households_latrine=1102 location="18.3521 105.9012" \
    income_mvnd=54,78
run "$FIELD" finalize "$REC"
run "$FIELD" show --lang en "$REC"
run "$FIELD" history "$REC"
run "$FIELD" verify
run "$FIELD" export --format csv
say "sqlite3 \$FIELD_HOME/field.db \"UPDATE versions SET body = replace(body, '1204', '1304')\""
sqlite3 "$FIELD_HOME/field.db" "UPDATE versions SET body = replace(body, '1204', '1304')"
say "$FIELD verify"
if "$FIELD" verify; then
    echo "demo: the tampering was NOT detected" >&2
    exit 1
fi
echo "(the tampered answers were caught)"

title "2. A server, two devices, an offline conflict"
DB=$D/server.db
run "$SERVER" init --db "$DB"
run "$SERVER" units --db "$DB" import "$ROOT/schema/units/ha-tinh.csv"
say "$SERVER serve --db $DB --listen 127.0.0.1 --port 0 --port-file $D/port &"
"$SERVER" serve --db "$DB" --listen 127.0.0.1 --port 0 --port-file "$D/port" \
    2>"$D/server.log" &
SPID=$!
i=0
while [ ! -s "$D/port" ]; do
    i=$((i + 1))
    [ "$i" -le 100 ] || { cat "$D/server.log" >&2; exit 1; }
    sleep 0.05
done
URL="http://127.0.0.1:$(cat "$D/port")"
CODE_A=$("$SERVER" enroll-code --db "$DB" --inspector "Nguyễn Văn An" \
    --role inspector --scope 42)
CODE_B=$("$SERVER" enroll-code --db "$DB" --inspector "Trần Thị Bình" \
    --role inspector --scope 42)
echo "one-time codes: $CODE_A (An), $CODE_B (Bình)"

A=$D/an
BB=$D/binh
say "field init; field enroll $URL $CODE_A    (on An's laptop)"
FIELD_HOME=$A "$FIELD" init --inspector "Nguyễn Văn An" >/dev/null
FIELD_HOME=$A "$FIELD" enroll "$URL" "$CODE_A"
say "field init; field enroll $URL $CODE_B    (on Bình's tablet)"
FIELD_HOME=$BB "$FIELD" init --inspector "Trần Thị Bình" >/dev/null
FIELD_HOME=$BB "$FIELD" enroll "$URL" "$CODE_B"

say "An: field new field-demo --subject 18133 ... && field sync"
REC=$(FIELD_HOME=$A "$FIELD" new field-demo --subject 18133 \
    inspection_date=28/11/2026 households_total=412 households_latrine=350)
FIELD_HOME=$A "$FIELD" sync
say "Bình: field sync"
FIELD_HOME=$BB "$FIELD" sync

echo
echo "(no signal: both edit the same inspection offline)"
say "An:   field set $REC households_latrine=362 \"remarks=Đã kiểm tra thực tế\""
FIELD_HOME=$A "$FIELD" set "$REC" households_latrine=362 "remarks=Đã kiểm tra thực tế"
say "Bình: field set $REC households_latrine=371 \"waste=collected sorted\""
FIELD_HOME=$BB "$FIELD" set "$REC" households_latrine=371 "waste=collected sorted"

echo
echo "(signal returns: both sync)"
say "An: field sync";   FIELD_HOME=$A "$FIELD" sync
say "Bình: field sync"; FIELD_HOME=$BB "$FIELD" sync
say "An: field sync";   FIELD_HOME=$A "$FIELD" sync

echo
echo "(An's remarks and Bình's waste answer are both kept; the latrine count is a conflict)"
say "An: field conflicts"
FIELD_HOME=$A "$FIELD" conflicts --lang en
say "An: field show --lang en $REC"
FIELD_HOME=$A "$FIELD" show --lang en "$REC" | sed -n '1,25p'
say "An: field resolve $REC households_latrine=371"
FIELD_HOME=$A "$FIELD" resolve "$REC" households_latrine=371
say "An: field sync";   FIELD_HOME=$A "$FIELD" sync
say "Bình: field sync"; FIELD_HOME=$BB "$FIELD" sync

FIELD_HOME=$A "$FIELD" show --json "$REC" >"$D/a.json"
FIELD_HOME=$BB "$FIELD" show --json "$REC" >"$D/b.json"
say "compare the two devices' merged records"
python3 -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
keys = ("answers", "heads", "status", "conflicts")
same = all(a[k] == b[k] for k in keys)
print("answers:", json.dumps(a["answers"], ensure_ascii=False, sort_keys=True))
print("conflicts left:", len(a["conflicts"]), "| heads:", len(a["heads"]),
      "| both devices identical:", same)
sys.exit(0 if same and not a["conflicts"] else 1)' "$D/a.json" "$D/b.json"
run env FIELD_HOME="$A" "$FIELD" verify
run env FIELD_HOME="$BB" "$FIELD" verify

title "3. A supervisor's review, and the province's report"
cat >"$D/thon.csv" <<'CSV'
code,name,kind,parent_code,valid_from,valid_to
1813301,Thôn Trung Thành,thon,18133,2025-07-01,
1813302,Thôn Tân Hương,thon,18133,2025-07-01,
CSV
run "$SERVER" units --db "$DB" import "$D/thon.csv"
FIELD_HOME=$A "$FIELD" units import "$D/thon.csv" >/dev/null
CODE_S=$("$SERVER" enroll-code --db "$DB" --inspector "Phạm Thị Dung" \
    --role supervisor --scope 18133)
S=$D/dung
say "field init; field enroll $URL $CODE_S    (the commune's supervisor)"
FIELD_HOME=$S "$FIELD" init --inspector "Phạm Thị Dung" >/dev/null
FIELD_HOME=$S "$FIELD" enroll "$URL" "$CODE_S"

village() { # CODE - An inspects a village as a model residential area
    FIELD_HOME=$A "$FIELD" new ha-tinh-kdc-kieu-mau --subject "$1" \
        inspection_date=02/12/2026 "location=18.52 105.41" households_total=120 \
        households_house_ok=118 households_garden_ok=110 \
        livestock_households=40 livestock_ok=39 hedge_total_m=2000 \
        hedge_green_m=1800 road_total_m=3500 road_hard_m=3500 \
        culture_house=yes sports_ground=yes households_power_safe=120 \
        cultural_village=yes households_cultural=115 \
        households_sanitation=118 households_waste=120 no_dumping=yes \
        politics_security=yes law_compliance=yes \
        'ho_kiem_tra[+].hh_head=Lê Văn Hải' 'ho_kiem_tra[+].hh_house=yes' \
        'ho_kiem_tra[+].hh_garden=yes' 'ho_kiem_tra[+].hh_hedge=yes' \
        'ho_kiem_tra[+].hh_latrine=yes'
}
say "An: field new ha-tinh-kdc-kieu-mau --subject 1813301 ...; field finalize; (and 1813302)"
V1=$(village 1813301)
V2=$(village 1813302)
FIELD_HOME=$A "$FIELD" finalize "$V1" >/dev/null
FIELD_HOME=$A "$FIELD" finalize "$V2" >/dev/null
say "An: field sync";   FIELD_HOME=$A "$FIELD" sync
say "Dung: field sync"; FIELD_HOME=$S "$FIELD" sync
say "Dung: field review"
FIELD_HOME=$S "$FIELD" review
say "Dung: field approve $V1 --note \"Đạt, đã kiểm tra thực địa\""
FIELD_HOME=$S "$FIELD" approve "$V1" --note "Đạt, đã kiểm tra thực địa"
say "Dung: field return $V2 --reason \"Thiếu ảnh nhà văn hóa\""
FIELD_HOME=$S "$FIELD" return "$V2" --reason "Thiếu ảnh nhà văn hóa"
say "Dung: field sync"; FIELD_HOME=$S "$FIELD" sync
say "An: field sync";   FIELD_HOME=$A "$FIELD" sync
say "An: field list --status returned"
FIELD_HOME=$A "$FIELD" list --status returned
say "An: field history $V2"
FIELD_HOME=$A "$FIELD" history "$V2"

title "4. Evidence: the photo the supervisor asked for"
MKPHOTO=$(cd "$O" && pwd)/tests/tools/mkphoto
say "(a camera's photo of the cultural house: JPEG, 1.5 MB, EXIF time and GPS)"
"$MKPHOTO" --size 1500000 --taken "2026:12:02 10:15:00" --gps 18.5203,105.4107 \
    "$D/nha-van-hoa.jpg"
say "An: field attach $V2 culture_house_photo nha-van-hoa.jpg"
FIELD_HOME=$A "$FIELD" attach "$V2" culture_house_photo "$D/nha-van-hoa.jpg"
say "An: field sync     (the versions first, then the photo)"
FIELD_HOME=$A "$FIELD" sync
say "Dung: field sync --attachments-of $V2"
FIELD_HOME=$S "$FIELD" sync --attachments-of "$V2"
say "Dung: field show $V2   (the photo, its time and place, held on this device)"
FIELD_HOME=$S "$FIELD" show --lang en "$V2" | sed -n '/^\[Photos\]/,/^$/p'
say "cmp: the photo on Dung's device is An's, byte for byte"
H=$(b2sum -l 256 "$D/nha-van-hoa.jpg" | cut -d' ' -f1)
cmp "$D/nha-van-hoa.jpg" "$S/attachments/$(echo "$H" | cut -c1-2)/$H" &&
    echo "identical ($H)"

echo
echo "(the report counts approved records only, by the time the server received them)"
run "$SERVER" report --db "$DB" --unit 18133
say "$SERVER audit --db $DB"
"$SERVER" audit --db "$DB" | tail -n 5 || true
printf '\ndemo: done — captured, synced, merged, resolved, converged, reviewed, photographed, reported.\n'
