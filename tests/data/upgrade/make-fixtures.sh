#!/bin/sh
# make-fixtures.sh OLD_BUILD OUT_DIR - make the upgrade fixtures of
# tests/integration/test_upgrade.sh with the programs of an older release
# (OLD_BUILD/bin/field and OLD_BUILD/bin/field-server), as README.md in
# this folder tells. Not run by the tests: its output is committed.
#
# A server with two units, an inspector's device and a supervisor's
# device, both enrolled. The inspector captures two records (one complete
# and finalized, one draft), syncs; the supervisor syncs and approves the
# final one, syncs; the inspector syncs again (pulling the approval) and
# then edits the draft without syncing, so that its store holds versions
# the server has, versions it pulled and one version still to push. Kept:
# the inspector's data directory (field.db.gz, device.key), the server's
# database (server.db.gz) and the two record ids (records).
set -eu

OB=$(cd "$1" && pwd)
OUTD=$2
F="$OB/bin/field"
S="$OB/bin/field-server"
W=$(mktemp -d "${TMPDIR:-/tmp}/field-fixture.XXXXXX")
SPID=""
trap '[ -z "$SPID" ] || kill "$SPID" 2>/dev/null; rm -rf "$W"' EXIT
export LC_ALL=C.UTF-8 HOME="$W"

"$S" init --db "$W/server.db" >/dev/null
# The server gets the province and two communes; a device has the province
# built in and gets the communes only.
printf '%s\n' "code,name,kind,parent_code,valid_from,valid_to" \
    "4201,Xã 4201,xa,42,2025-07-01," "4202,Xã 4202,xa,42,2025-07-01," \
    >"$W/units.csv"
{ head -n 1 "$W/units.csv"; echo "42,Hà Tĩnh,tinh,,,"; tail -n +2 "$W/units.csv"; } \
    >"$W/server-units.csv"
"$S" units --db "$W/server.db" import "$W/server-units.csv" >/dev/null
"$S" serve --db "$W/server.db" --listen 127.0.0.1 --port 0 \
    --port-file "$W/port" --quiet &
SPID=$!
i=0
while [ ! -s "$W/port" ]; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || { echo "the old server did not start" >&2; exit 1; }
    sleep 0.05
done
URL="http://127.0.0.1:$(cat "$W/port")"

device() { # NAME INSPECTOR ROLE - a data directory, enrolled
    FIELD_HOME="$W/$1"
    export FIELD_HOME
    "$F" init --inspector "$2" >/dev/null
    "$F" units import "$W/units.csv" >/dev/null
    "$F" enroll "$URL" "$("$S" enroll-code --db "$W/server.db" \
        --inspector "$2" --role "$3" --scope 4201)" >/dev/null
}

device sup "Trần Thị Bình" supervisor
device an "Nguyễn Văn An" inspector
R=$("$F" new field-demo --subject 4201 inspection_date=2026-11-28 \
    planning_approved=yes road_total_km=12 road_hardened_km=9 \
    households_total=100 households_latrine=80)
D=$("$F" new field-demo --subject 4201 inspection_date=2026-11-29)
"$F" set "$R" "remarks=Đường trục xã đã cứng hoá" >/dev/null
"$F" finalize "$R" >/dev/null
"$F" sync >/dev/null

FIELD_HOME="$W/sup"
"$F" sync >/dev/null
"$F" approve "$R" --note "Đạt" >/dev/null
"$F" sync >/dev/null

FIELD_HOME="$W/an"
"$F" sync >/dev/null
"$F" set "$D" households_total=42 >/dev/null

kill -TERM "$SPID"
wait "$SPID" || true
SPID=""

# Checkpointed (no -wal file beside it) and vacuumed, still in WAL mode
# as the old release left them; gzip'd without a name or a time, so that
# the same database gives the same bytes.
mkdir -p "$OUTD"
for db in "$W/an/field.db" "$W/server.db"; do
    sqlite3 -batch "$db" "PRAGMA wal_checkpoint(TRUNCATE); VACUUM;" >/dev/null
    gzip -9 -n -c "$db" >"$OUTD/$(basename "$db").gz"
done
cp "$W/an/device.key" "$OUTD/device.key"
printf 'final %s\ndraft %s\n' "$R" "$D" >"$OUTD/records"
