#!/bin/sh
# test_server_pg.sh - field-server on PostgreSQL (server-stub/storage_pg.c)
# with a throwaway PostgreSQL 15 (pg_lib.sh): init, enrollment codes,
# units, serve; a device pushes, a second one pulls exactly the bytes the
# first signed, which the database keeps byte for byte; two servers on one
# database hand each device everything; a wrong connection string, an
# unreachable server, a database never initialised and a schema from the
# future each get one line and their exit status. Skipped with one line
# where PostgreSQL is not installed.
. "$(dirname "$0")/server_lib.sh"

pg_servers

# --- bad locations --------------------------------------------------------------

run "$S" init --db "postgresql:///nosuch?host=$PG_DIR&user=field"
expect_rc "a database that does not exist: exit 1" 1
expect_stderr_line "... one line naming it" \
    "field-server: init: postgresql://field@$PG_DIR/nosuch: cannot connect: "

run "$S" init --db "postgresql://field:s3cret@127.0.0.1:1/field?connect_timeout=5"
expect_rc "a server that does not answer: exit 1" 1
expect_stderr_line "... one line" "field-server: init: postgresql://field@127.0.0.1:1/field: cannot connect: "
if grep -q s3cret "$ERR"; then
    fail "... without the password" "$(_last)"
else
    pass "... without the password"
fi

run "$S" init --db "postgresql://field@[::1/x"
expect_rc "a malformed connection string: exit 2" 2
expect_stderr_line "... one line" "field-server: init: not a PostgreSQL connection string: "

EMPTY=$(pg_createdb empty)
run "$S" devices --db "$EMPTY"
expect_rc "a database never initialised: exit 3" 3
expect_stderr_line "... says to run init" "field-server: devices: postgresql://field@$PG_DIR/empty: not a field-server database (run field-server init)"
expect_eq "... and nothing was written to it" \
    "$(pg_psql empty "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0

# --- init, codes, units, serve ---------------------------------------------------

start_server main --quiet
expect_eq "init makes schema version 7" \
    "$(sqls "SELECT value FROM meta WHERE key = 'schema_version'")" 7
expect_eq "... without the indexes version 6 drops" \
    "$(sqls "SELECT count(*) FROM pg_indexes WHERE indexname IN ('versions_prev', 'parents_parent')")" 0
expect_match "... and an epoch" "$(sqls "SELECT value FROM meta WHERE key = 'epoch'")" \
    "????????????????"
expect_match "... with the built-in templates" "$(sqls "SELECT count(*) FROM templates")" \
    "[1-9]*"
run "$S" init --db "postgresql://field:s3cret@/main?host=$PG_DIR"
expect_rc "init twice: exit 4" 4
expect_stderr_line "... one line, without the password" \
    "field-server: init: postgresql://field@$PG_DIR/main is initialised already"

province 4201 4202
expect_eq "the units are stored" "$(sqls "SELECT count(*) FROM units")" 3

enroll_device a "Ann"
R1=$(new_record 4201 households_total=120)
run "$F" set "$R1" households_latrine=100
R2=$(new_record 4201)
run "$F" sync --json
expect_rc "a device pushes to PostgreSQL" 0
expect_eq "... three versions stored" "$(json_get "$OUT" stored)" 3
R4=$(new_record 4202 households_total=3)
run "$F" sync --json
expect_eq "a version outside the scope is refused" "$(json_get "$OUT" refused)" 1
HA=$(sql "SELECT group_concat(h, ' ') FROM (SELECT hash || ':' || hex(body) || ':' || hex(sig) AS h FROM versions WHERE subject = '4201' ORDER BY hash)" | cksum)

enroll_device b "Bình"
run "$F" sync --json
expect_rc "a second device syncs" 0
expect_eq "... pulls the three" "$(json_get "$OUT" new)" 3
HB=$(sql "SELECT group_concat(h, ' ') FROM (SELECT hash || ':' || hex(body) || ':' || hex(sig) AS h FROM versions ORDER BY hash)" | cksum)
expect_eq "... byte for byte what the first signed" "$HB" "$HA"
HS=$(sqls "SELECT string_agg(h, ' ' ORDER BY h) FROM (SELECT hash || ':' || upper(encode(body, 'hex')) || ':' || upper(encode(sig, 'hex')) AS h FROM versions) x" | cksum)
expect_eq "... and what PostgreSQL keeps" "$HS" "$HA"
expect_exit "verify is clean on the second device" 0 "$F" verify
run "$F" set "$R1" households_total=121
run "$F" sync --json
expect_eq "an edit goes back" "$(json_get "$OUT" stored)" 1
expect_eq "the record has one head on the server" \
    "$(sqls "SELECT count(*) FROM heads WHERE record = '$R1'")" 1
expect_eq "... its versions are chained by parents" \
    "$(sqls "SELECT count(*) FROM parents p JOIN versions v ON v.seq = p.child_seq WHERE v.record = '$R1'")" 2

# --- a second server on the same database -----------------------------------------

MAIN_URL=$URL
MAIN_PID=$SPID
# (With a password in its location, which trust authentication ignores
# and which no message may show.)
SECRET_DB="postgresql://field:s3cret@/main?host=$PG_DIR"
(cd "$T/main.d" && exec "$S" serve --db "$SECRET_DB" --listen 127.0.0.1 \
    --port 0 --port-file "$T/second.port") 2>"$T/second.log" &
_spids="$_spids $!"
_i=0
while [ ! -s "$T/second.port" ] && [ "$_i" -lt 100 ]; do
    _i=$((_i + 1))
    sleep 0.05
done
URL2="http://127.0.0.1:$(cat "$T/second.port")"
expect_eq "the second server says what it serves, without the password" \
    "$(head -n 1 "$T/second.log" | cut -d' ' -f1-3)" \
    "field-server: serving postgresql://field@$PG_DIR/main"
home a
R5=$(new_record 4201 households_total=9)
sed -i "s|$MAIN_URL|$URL2|" "$FIELD_HOME/field.db" 2>/dev/null
sql "UPDATE meta SET value = '$URL2' WHERE key = 'sync.url';"
run "$F" sync --json
expect_rc "a device syncs with the second server" 0
expect_eq "... which stores its version" "$(json_get "$OUT" stored)" 1
expect_eq "... and hands it what came through the first" "$(json_get "$OUT" new)" 1
home b
run "$F" sync --json
expect_eq "the first server hands on what the second stored" "$(json_get "$OUT" new)" 1
expect_eq "... both devices hold the same versions" \
    "$(sql "SELECT count(*) FROM versions")" 5

run "$S" devices --db "$DBS"
expect_rc "devices lists from PostgreSQL" 0
expect_stdout_contains "... Ann" "Ann"
run "$S" audit --db "$DBS"
expect_rc "audit finds the gap the refused version left: exit 5" 5
expect_stdout_contains "... names it" "names prev"
expect_stdout_contains "... and shows the refusal" "out_of_scope"

# --- writers on both servers at once, a reader pulling meanwhile ----------------
#
# a pushes through the second server, b through the first, five records
# each, at the same time; c pulls from the first over and over while they
# do, each time from its cursor. Versions commit in seq order (the writer
# lock), so no version can commit behind c's cursor: c ends holding every
# version the database holds, without a full pull.

enroll_device c "Chi"
writer() { # NAME - five records, each synced at once
    home "$1"
    for _k in 1 2 3 4 5; do
        "$F" new field-demo --subject 4201 households_total=$_k \
            >/dev/null 2>&1 </dev/null
        "$F" sync --retries 5 >/dev/null 2>>"$T/$1.writer" </dev/null ||
            echo "sync failed" >>"$T/$1.writer"
    done
}
writer a &
WA=$!
writer b &
WB=$!
home c
_pulls=0
while kill -0 "$WA" 2>/dev/null || kill -0 "$WB" 2>/dev/null; do
    "$F" sync --retries 5 >/dev/null 2>>"$T/c.reader" </dev/null
    _pulls=$((_pulls + 1))
done
wait "$WA" "$WB"
expect_eq "both writers synced every time" "$(cat "$T/a.writer" "$T/b.writer" 2>/dev/null)" ""
run "$F" sync --json
expect_rc "the reader syncs once more" 0
expect_eq "... the server holds 15 versions" "$(sqls "SELECT count(*) FROM versions")" 15
expect_eq "... and the reader every one of them, from its cursors alone ($_pulls pulls)" \
    "$(sql "SELECT count(*) FROM versions")" 15

# --- the database goes away and comes back ---------------------------------------

R6=$(new_record 4201 households_total=5)
pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
req - GET /v1/health
expect_status "with the database down, health answers 503" 503 unhealthy
run "$F" sync --json --retries 0
expect_rc "a sync then fails" 1
expect_stderr_contains "... because the database is busy" "503"
pg_restart
req - GET /v1/health
expect_status "once it is back, the same server answers at once" 200
run "$F" sync --json
expect_rc "... and the device syncs" 0
expect_eq "... storing what waited on it" "$(json_get "$OUT" stored)" 1

# --- the back end's unit test, on a database of its own ---------------------------

UNIT_URL=$(pg_createdb unit)
UNIT_TEST="$FIELD_BUILD/tests/test_srv_storage_pg"
if [ -x "$UNIT_TEST" ]; then
    run env FIELD_TEST_PG_URL="$UNIT_URL" "$UNIT_TEST"
    expect_rc "test_srv_storage_pg passes on this PostgreSQL" 0
    if grep -q SKIPPED "$OUT" "$ERR"; then
        fail "... without skipping" "$(_last)"
    else
        pass "... without skipping"
    fi
else
    fail "$UNIT_TEST is built"
fi

# --- roles and privileges ------------------------------------------------------------

pg_psql main "CREATE ROLE reader LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader;
CREATE ROLE writer LOGIN; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO writer" >/dev/null
run "$S" enroll-code --db "postgresql:///main?host=$PG_DIR&user=reader" \
    --inspector "Chỉ đọc" --role inspector --scope 4201
expect_rc "a role that may only read cannot write: exit 1" 1
expect_stderr_line "... one line naming the table" \
    "field-server: enroll-code: postgresql://reader@$PG_DIR/main: "
expect_stderr_contains "... permission denied" "permission denied for table"
N_CODES=$(sqls "SELECT count(*) FROM enroll_codes")
run "$S" enroll-code --db "postgresql:///main?host=$PG_DIR&user=writer" \
    --inspector "Ghi" --role inspector --scope 4201
expect_rc "a role with SELECT, INSERT, UPDATE, DELETE on the tables is enough" 0
expect_eq "... the code stored" "$(sqls "SELECT count(*) FROM enroll_codes")" $((N_CODES + 1))

# --- a schema from the past -------------------------------------------------------

# Version 5 as pg/server.sql made it: the two indexes server-006.sql
# drops, and parent edges by the child's hash, which server-007.sql keys
# by row.
EDGES=$(sqls "SELECT count(*) FROM parents")
pg_psql main "CREATE INDEX versions_prev ON versions (prev);
CREATE TABLE old_parents (child text COLLATE \"C\" NOT NULL,
    parent text COLLATE \"C\" NOT NULL, PRIMARY KEY (child, parent));
INSERT INTO old_parents SELECT v.hash, e.parent FROM parents e
    JOIN versions v ON v.seq = e.child_seq;
DROP TABLE parents;
ALTER TABLE old_parents RENAME TO parents;
ALTER TABLE parents RENAME CONSTRAINT old_parents_pkey TO parents_pkey;
CREATE INDEX parents_parent ON parents (parent);
GRANT SELECT, INSERT, UPDATE, DELETE ON parents TO writer;
REVOKE ALL ON parents FROM PUBLIC;
UPDATE meta SET value = '5' WHERE key = 'schema_version'" >/dev/null
run "$S" devices --db "postgresql:///main?host=$PG_DIR&user=writer"
expect_rc "a role that does not own the tables cannot bring version 5 up: exit 1" 1
expect_stderr_line "... one line saying what it needs" \
    "field-server: devices: postgresql://writer@$PG_DIR/main: could not bring the schema from version 5 to 7 (only the role that owns the tables, the one that ran init, may): "
expect_eq "... and leaves it at version 5" \
    "$(sqls "SELECT value FROM meta WHERE key = 'schema_version'")" 5
run "$S" devices --db "$DBS"
expect_rc "the owner brings it up" 0
expect_eq "... to version 7" \
    "$(sqls "SELECT value FROM meta WHERE key = 'schema_version'")" 7
expect_eq "... without the two indexes" \
    "$(sqls "SELECT count(*) FROM pg_indexes WHERE indexname IN ('versions_prev', 'parents_parent')")" 0
expect_eq "... every parent edge kept, by row" \
    "$(sqls "SELECT count(*) FROM parents p JOIN versions v ON v.seq = p.child_seq")" "$EDGES"
run "$S" enroll-code --db "postgresql:///main?host=$PG_DIR&user=writer" \
    --inspector "Ghi lại" --role inspector --scope 4201
expect_rc "... and the role with SELECT, INSERT, UPDATE, DELETE still serves" 0
expect_eq "... keeping its privileges on the table changed in place" \
    "$(sqls "SELECT has_table_privilege('writer', 'parents', 'INSERT')")" t

# --- a schema from the future ------------------------------------------------------

sqls "UPDATE meta SET value = '99' WHERE key = 'schema_version'" >/dev/null
run "$S" devices --db "$DBS"
expect_rc "a newer schema is refused: exit 1" 1
expect_stderr_line "... one line" "field-server: devices: postgresql://field@$PG_DIR/main: database schema version 99 is newer than this program's (7); upgrade field-server"

finish
