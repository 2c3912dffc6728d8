#!/bin/sh
# test_migrate_pg.sh - `field-server migrate` moves a SQLite server to a
# throwaway PostgreSQL (pg_lib.sh) losing nothing: a real server with
# real devices (records, edits, a conflict, a photo, a revoked device,
# unused and used enrollment codes, targets,
# an admin's threshold revision) is stopped and migrated; every table's
# rows are on PostgreSQL as they were (versions byte for byte, same seq),
# a server on the copy keeps the epoch, so a device syncs on from its
# cursor, and a new device pulls everything, photos too, and `field
# verify` passes. Then bad input: a missing file, a file that is not a
# server database, a schema from a newer release, a wrong connection
# string, a target that is not empty, a source a server still serves,
# each one line and its exit status, the target left as it was. Skipped where PostgreSQL is not installed.
. "$(dirname "$0")/server_lib.sh"

run "$S" migrate --from "$T/none.db" --to "postgresql:///none?host=/nonexistent"
if grep -q "built without PostgreSQL" "$ERR"; then
    skip "PostgreSQL: this field-server was built without it (make PG=)"
    finish
fi
pg_start

# --- a SQLite server in use ----------------------------------------------------

start_server main --quiet
SQLITE_DB=$DBS
province 4201 4202 18133
cat >"$T/targets.csv" <<'CSV'
unit,tier,count,from,due,source
42,xa-ntm-nang-cao,2,2025-01-01,2025-12-31,"Quyết định thử nghiệm"
CSV
srv targets import "$T/targets.csv"
expect_rc "the targets are imported" 0

enroll_device admin "Quản trị" 42 admin
run "$F" thresholds draft ntm-xa-2021 --output "$T/draft.json"
if [ "$RC" -eq 0 ]; then
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
d["source"] = "Quyết định thử nghiệm"
json.dump(d, open(sys.argv[1], "w", encoding="utf-8"), ensure_ascii=False)
' "$T/draft.json"
    run "$F" thresholds sign "$T/draft.json" --output "$T/thr.json"
    [ "$RC" -ne 0 ] || srv thresholds add "$T/thr.json"
fi
HAVE_THR=$RC
expect_rc "an admin's threshold revision is stored" 0

enroll_device a "Nguyễn Văn An" 42
R1=$(new_record 4201 households_total=120)
run "$F" set "$R1" households_latrine=100
run "$F" sync # the units, before a commune's record
R2=$("$F" new ntm-xa-2021 --subject 18133 </dev/null)
jpeg "$T/plan.jpg" 200000
run "$F" attach "$R2" plan_photo "$T/plan.jpg"
expect_rc "a photo is attached" 0
PHOTO=$(b2 "$T/plan.jpg")
run "$F" sync --json
expect_rc "a syncs" 0

enroll_device b "Trần Thị Bình"
run "$F" sync
run "$F" set "$R1" households_total=130
home a
run "$F" set "$R1" households_total=125
run "$F" sync
home b
run "$F" sync
expect_rc "b syncs its side of a conflict" 0

enroll_device c "Lê Văn Cường"
R3=$(new_record 4201 households_total=7)
run "$F" sync
expect_rc "c syncs" 0
srv devices revoke "$(sqlite3 "$DBS" "SELECT pubkey FROM devices WHERE inspector = 'Lê Văn Cường'" | cut -c1-12)"
expect_rc "c is revoked" 0
home a
run "$F" sync
home b # one version a has not pulled yet
R5=$(new_record 4201 households_total=5)
run "$F" sync --json
expect_eq "... and pushes it" "$(json_get "$OUT" stored)" 1
"$S" enroll-code --db "$DBS" --inspector "Chưa dùng" --role inspector \
    --scope 4201 >/dev/null

# While the server runs, migrate refuses: what the server acknowledged
# after the copy would be lost (serve holds server-stub/serve_lock.h's lock).
BUSY=$(pg_createdb busy)
run "$S" migrate --from "sqlite:$SQLITE_DB" --to "$BUSY" --attachments "$T/att-busy"
expect_rc "migrate while the SQLite server runs: exit 7 (busy)" 7
expect_stderr_line "... one line saying why" \
    "field-server: migrate: $SQLITE_DB is in use by a running field-server serve ($SQLITE_DB.lock is locked): stop the server first"
expect_eq "... nothing written to the target" \
    "$(pg_psql busy "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
check "... no attachments directory" test ! -e "$T/att-busy"
stop_server

q() { sqlite3 -batch "$SQLITE_DB" "$1"; }
N_VERSIONS=$(q "SELECT count(*) FROM versions")
EPOCH=$(q "SELECT value FROM meta WHERE key = 'epoch'")
SUMS=$(q "SELECT group_concat(h, ' ') FROM (SELECT seq || ':' || hash || ':' || hex(body) || ':' || hex(sig) AS h FROM versions ORDER BY seq)" | cksum)
TABLES="meta devices device_scope enroll_codes units targets templates versions parents heads quarantine quarantine_wait audit threshold_revisions attachments attachment_refs"

# --- the move ----------------------------------------------------------------------

PGDB=$(pg_createdb moved)
mkdir "$T/srv2"
(cd "$T/srv2" && "$S" migrate --from "sqlite:$SQLITE_DB" --to "$PGDB" --json) \
    >"$T/mig.out" 2>"$T/mig.err"
MRC=$?
OUT=$T/mig.out
ERR=$T/mig.err
expect_eq "migrate exits 0" "$MRC" 0
expect_eq "... every version verified" "$(json_get "$OUT" versions)" "$N_VERSIONS"
expect_eq "... the epoch kept" "$(json_get "$OUT" epoch)" "\"$EPOCH\""
expect_eq "... the photo copied" "$(json_get "$OUT" files)" 1
for t in $TABLES; do
    a=$(q "SELECT count(*) FROM $t")
    b=$(pg_psql moved "SELECT count(*) FROM $t")
    [ "$t" != meta ] || a=$((a + 1)) # its schema_version row
    expect_eq "... table $t: $a rows" "$b" "$a"
done
expect_eq "... versions byte for byte, same seq" \
    "$(pg_psql moved "SELECT string_agg(h, ' ' ORDER BY s) FROM (SELECT seq AS s, seq || ':' || hash || ':' || upper(encode(body, 'hex')) || ':' || upper(encode(sig, 'hex')) AS h FROM versions) x" | cksum)" "$SUMS"
expect_eq "... the used enrollment codes still used" \
    "$(pg_psql moved "SELECT count(*) FROM enroll_codes WHERE used_ms IS NOT NULL")" \
    "$(q "SELECT count(*) FROM enroll_codes WHERE used_ms IS NOT NULL")"
expect_eq "... the audit log in order" \
    "$(pg_psql moved "SELECT string_agg(id || kind, ',' ORDER BY id) FROM audit")" \
    "$(q "SELECT group_concat(id || kind, ',') FROM (SELECT id, kind FROM audit ORDER BY id)")"
expect_eq "... the photo byte for byte" \
    "$(b2 "$T/srv2/attachments/$(echo "$PHOTO" | cut -c1-2)/$PHOTO")" "$PHOTO"
if [ "$HAVE_THR" -eq 0 ]; then
    expect_eq "... the threshold revision" \
        "$(pg_psql moved "SELECT count(*) FROM threshold_revisions")" 1
fi

# --- serving the copy ----------------------------------------------------------------

(cd "$T/srv2" && exec "$S" serve --db "$PGDB" --listen 127.0.0.1 --port "$PORT" \
    --quiet) 2>"$T/pg.log" &
SPID=$!
_spids="$_spids $SPID"
_i=0
until "$C" request - GET "$URL/v1/health" >/dev/null 2>&1; do
    _i=$((_i + 1))
    [ "$_i" -lt 100 ] || { fail "the server on PostgreSQL starts" "$(cat "$T/pg.log")"; finish; }
    sleep 0.05
done
DBS=$PGDB
home a
R4=$(new_record 4201 households_total=3)
run "$F" sync --json
expect_rc "a syncs on with the migrated server" 0
expect_eq "... stores its one new version" "$(json_get "$OUT" stored)" 1
expect_eq "... and pulls from its cursor just the one it lacked" \
    "$(json_get "$OUT" new)" 1
expect_eq "... the new version's seq follows the copied ones" \
    "$(pg_psql moved "SELECT max(seq) FROM versions")" "$((N_VERSIONS + 1))"

enroll_device d "Đỗ Thị Dung" 42
run "$F" sync --json --attachments
expect_rc "a new device syncs with the migrated server, photos too" 0
expect_eq "... the photo downloaded" "$(json_get "$OUT" attachments.downloaded)" 1
expect_exit "... field verify passes" 0 "$F" verify
expect_eq "... it holds every version the server holds" \
    "$(sql "SELECT count(*) FROM versions")" \
    "$(pg_psql moved "SELECT count(*) FROM versions")"
expect_eq "... and the photo, byte for byte" \
    "$(b2 "$FIELD_HOME/attachments/$(echo "$PHOTO" | cut -c1-2)/$PHOTO" 2>/dev/null)" "$PHOTO"
kill -TERM "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null

# --- bad input ----------------------------------------------------------------------

EMPTY=$(pg_createdb empty)
run "$S" migrate --from "$T/missing.db" --to "$EMPTY"
expect_rc "a missing file: exit 3" 3
expect_stderr_line "... one line" "field-server: migrate: $T/missing.db: No such file or directory"

run "$S" migrate --from "$SQLITE_DB" --to "$PGDB" --attachments "$T/att2"
expect_rc "a target that is not empty: exit 4" 4
expect_stderr_line "... one line" \
    "field-server: migrate: postgresql://field@$PG_DIR/moved is not empty (it has attachment_refs); migrate into a new, empty database"

run "$S" migrate --from "$SQLITE_DB" --to "postgresql:///nosuch?host=$PG_DIR&user=field" --attachments "$T/att3"
expect_rc "a database that does not exist: exit 1" 1
expect_stderr_line "... one line naming it" \
    "field-server: migrate: postgresql://field@$PG_DIR/nosuch: cannot connect: "
run "$S" migrate --from "$SQLITE_DB" --to "postgresql://field@[::1/x" --attachments "$T/att4"
expect_rc "a malformed connection string: exit 2" 2
run "$S" migrate --from "$SQLITE_DB" --to "$T/other.db"
expect_rc "a target that is not PostgreSQL: exit 2" 2
run "$S" migrate --to "$EMPTY"
expect_rc "no --from: exit 2" 2

init_home notserver --inspector "X"
run "$S" migrate --from "$FIELD_HOME/field.db" --to "$EMPTY" --attachments "$T/att5"
expect_rc "a device's store, not a server's: exit 5" 5
expect_stderr_contains "... says so" "not a field-server database"

cp "$SQLITE_DB" "$T/future.db"
sqlite3 "$T/future.db" "PRAGMA user_version = 99"
run "$S" migrate --from "$T/future.db" --to "$EMPTY" --attachments "$T/att6"
expect_rc "a schema from a newer release: exit 1" 1
expect_stderr_contains "... says so" "newer"
expect_eq "... and the target is still empty" \
    "$(pg_psql empty "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
[ ! -e "$T/att6" ]
expect_eq "... with no attachments directory made" "$?" 0

# A failure in the middle: a version whose body was changed in the source
# fails its signature on the target, and nothing is committed.
cp "$SQLITE_DB" "$T/tampered.db"
sqlite3 "$T/tampered.db" "UPDATE versions SET body = CAST(replace(CAST(body AS TEXT), '\"households_total\":120', '\"households_total\":999') AS BLOB) WHERE seq = 1"
run "$S" migrate --from "$T/tampered.db" --to "$EMPTY" --attachments "$T/att7"
expect_rc "a version that no longer verifies: exit 5" 5
expect_stderr_contains "... names it" "version 1 on the target"
expect_eq "... and the target is left empty" \
    "$(pg_psql empty "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0
[ ! -e "$T/att7" ]
expect_eq "... its attachments directory removed" "$?" 0

run "$S" migrate --help
expect_rc "--help: exit 0" 0
expect_stdout_contains "... names --from" "--from"

finish
