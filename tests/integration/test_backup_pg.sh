#!/bin/sh
# test_backup_pg.sh - `field-server backup` and `new-epoch` on PostgreSQL
# (a throwaway one, pg_lib.sh): backup checks the schema version and runs
# pg_dump with the server's connection (the password in its environment,
# never on its command line), the dump private to its owner, the photo
# files beside it; without pg_dump on PATH it says the exact command to
# run; a pg_dump that fails is one line and leaves no file. The dump is
# restored with pg_restore into a new database, given a new epoch, and
# served: the device that kept writing meanwhile is told to reconcile and
# pushes what the restored copy lacks; `field verify` passes. Skipped
# where PostgreSQL is not installed.
. "$(dirname "$0")/server_lib.sh"

pg_servers
[ -x "$PG_BIN/pg_dump" ] || { skip "PostgreSQL: no pg_dump in $PG_BIN"; finish; }
SABS=$(cd "$(dirname "$S")" && pwd)/field-server

start_server main --quiet
province 4201
enroll_device a "Nguyễn Văn An"
R1=$(new_record 4201 households_total=120)
run "$F" set "$R1" households_latrine=100
run "$F" sync --json
expect_eq "a device stores two versions" "$(json_get "$OUT" stored)" 2
EPOCH=$(sqls "SELECT value FROM meta WHERE key = 'epoch'")
PH=$(printf 'photo' | b2sum -l 256 | cut -d' ' -f1) # a whole file, as stored
mkdir -p "$SATT/$(echo "$PH" | cut -c1-2)"
printf 'photo' >"$(server_file "$PH")"

# --- the backup ---------------------------------------------------------------------

# From the server's working directory, where a PostgreSQL server keeps
# its photo files (as a service's WorkingDirectory).
cd "$T/main.d" || exit 1

PATH="$PG_BIN:$PATH" srv backup "$T/dump.pgc"
expect_rc "backup runs pg_dump: exit 0" 0
expect_stdout_contains "... says so, with the schema version and epoch" \
    "with pg_dump (schema version 7, epoch $EPOCH)"
expect_stdout_contains "... and how to restore" "pg_restore, then field-server new-epoch"
expect_eq "... the dump is its owner's only" "$(stat -c %a "$T/dump.pgc")" 600
expect_eq "... a custom-format dump" "$(head -c 5 "$T/dump.pgc")" PGDMP
expect_eq "... the photo files beside it" \
    "$(find "$T/dump.pgc.attachments" -type f | wc -l)" 1

PATH="$PG_BIN:$PATH" srv backup "$T/dump.pgc"
expect_rc "a file that exists is refused: exit 4" 4

SECRET="postgresql://field:s3cret@/main?host=$PG_DIR"
run env PATH=/nonexistent "$SABS" backup --db "$SECRET" "$T/nodump.pgc"
expect_rc "without pg_dump on PATH: exit 3" 3
expect_stderr_line "... one line with the command to run" \
    "field-server: backup: pg_dump is not on PATH (install postgresql-client of the server's version); run instead: pg_dump --format=custom --file='$T/nodump.pgc' --dbname=\""
expect_stderr_contains "... naming the database" "dbname='main'"
if grep -q s3cret "$ERR"; then
    fail "... without the password" "$(_last)"
else
    pass "... without the password"
fi

# A pg_dump that fails (here: one that says what an older pg_dump says).
mkdir "$T/fakebin"
cat >"$T/fakebin/pg_dump" <<'SH'
#!/bin/sh
for a in "$@"; do case $a in --file=*) echo partial >"${a#--file=}" ;; esac; done
echo "pg_dump: error: aborting because of server version mismatch" >&2
exit 1
SH
chmod +x "$T/fakebin/pg_dump"
run env PATH="$T/fakebin:$PATH" "$SABS" backup --db "$DBS" "$T/bad.pgc"
expect_rc "pg_dump fails: exit 1" 1
expect_stderr_line "... one line with its message" \
    "field-server: backup: pg_dump failed (exit 1): pg_dump: error: aborting because of server version mismatch"
[ ! -e "$T/bad.pgc" ]
expect_eq "... and no half-written file" "$?" 0

# A password in the location reaches pg_dump in its environment only.
cat >"$T/fakebin/pg_dump" <<'SH'
#!/bin/sh
echo "$PGPASSWORD $*" >"$(dirname "$0")/args"
for a in "$@"; do case $a in --file=*) echo dump >"${a#--file=}" ;; esac; done
SH
run env PATH="$T/fakebin:$PATH" "$SABS" backup --db "$SECRET" "$T/pw.pgc"
expect_rc "with a password in the location" 0
expect_eq "... pg_dump gets it in PGPASSWORD, not in its arguments" \
    "$(cut -d' ' -f1 "$T/fakebin/args"; grep -c s3cret "$T/fakebin/args")" "s3cret
1"

# --- the device writes on; the dump is restored ----------------------------------------

R2=$(new_record 4201 households_total=7)
run "$F" sync --json
expect_eq "after the backup, one more version" "$(json_get "$OUT" stored)" 1

RESTORED=$(pg_createdb restored)
"$PG_BIN/pg_restore" --no-owner -h "$PG_DIR" -U field -d restored "$T/dump.pgc" \
    >"$T/restore.log" 2>&1
expect_eq "pg_restore restores the dump" "$?" 0
run "$S" new-epoch --db "$RESTORED"
expect_rc "new-epoch on the restored database" 0
expect_stdout_contains "... names the old epoch" "(was $EPOCH)"
NEW=$(pg_psql restored "SELECT value FROM meta WHERE key = 'epoch'")
[ "$NEW" != "$EPOCH" ] && [ ${#NEW} -eq 16 ]
expect_eq "... a new one" "$?" 0
expect_eq "... noted in the audit log" \
    "$(pg_psql restored "SELECT subject || ' ' || detail FROM audit WHERE kind = 'restored-epoch'")" \
    "$EPOCH $NEW"

mkdir "$T/restored.d"
cp -a "$T/dump.pgc.attachments" "$T/restored.d/attachments"
(cd "$T/restored.d" && exec "$S" serve --db "$RESTORED" --listen 127.0.0.1 \
    --port 0 --port-file "$T/restored.port" --quiet) 2>"$T/restored.log" &
_spids="$_spids $!"
_i=0
while [ ! -s "$T/restored.port" ] && [ "$_i" -lt 100 ]; do
    _i=$((_i + 1))
    sleep 0.05
done
URL2="http://127.0.0.1:$(cat "$T/restored.port")"
sql "UPDATE meta SET value = '$URL2' WHERE key = 'sync.url';"
run "$F" sync --json
expect_rc "the device syncs with the restored server" 0
expect_eq "... is told to reconcile" "$(json_get "$OUT" reset)" true
expect_eq "... and the restored database holds every version again" \
    "$(pg_psql restored "SELECT count(*) FROM versions")" "$(sqls "SELECT count(*) FROM versions")"
expect_exit "field verify passes" 0 "$F" verify

# --- a schema from the future -------------------------------------------------------

pg_psql restored "UPDATE meta SET value = '99' WHERE key = 'schema_version'" >/dev/null
PATH="$PG_BIN:$PATH" run "$S" backup --db "$RESTORED" "$T/future.pgc"
expect_rc "a newer schema is refused before pg_dump: exit 1" 1
expect_stderr_contains "... one line" "newer than this program's"
[ ! -e "$T/future.pgc" ]
expect_eq "... and no file" "$?" 0

finish
