#!/bin/sh
# test_upgrade.sh - databases made by the previous release open with this
# one, and a database made by a newer release is refused untouched.
#
# The fixtures (tests/data/upgrade/, README.md there) are an inspector's
# data directory at device schema version 4 and a server database at
# server schema version 2, made by the programs of an older commit: two
# records, one approved by a supervisor, synced, and one edit made after
# the last sync. Here the programs under test open copies of them: the
# device store migrates (its queue of versions to push, field-006.sql,
# must find the edit), lists and verifies its records; the server
# database migrates, audits clean and verifies every version again; the
# migrated server serves the migrated device, which pushes its edit, and a
# new device enrolled there pulls both records; the migrated device also
# enrolls with a new server and pushes what it holds.
. "$(dirname "$0")/server_lib.sh"

FX="$(dirname "$0")/../data/upgrade"
REC=$(sed -n 's/^final //p' "$FX/records")
DRAFT=$(sed -n 's/^draft //p' "$FX/records")

# unpack NAME - a fresh copy of the fixtures: $T/NAME/ the device's data
# directory, $T/NAME.db the server's database; then home NAME.
unpack() {
    mkdir -p "$T/$1"
    gzip -dc "$FX/field.db.gz" >"$T/$1/field.db"
    cp "$FX/device.key" "$T/$1/device.key"
    chmod 700 "$T/$1"
    chmod 600 "$T/$1/device.key"
    gzip -dc "$FX/server.db.gz" >"$T/$1.db"
    home "$1"
}

# --- the device store ------------------------------------------------------

unpack old
expect_eq "the fixture is device schema version 4" "$(sql 'PRAGMA user_version;')" 4
run "$F" list
expect_rc "field list opens the old store" 0
expect_stdout_contains "... the approved record" "approved"
expect_stdout_contains "... the draft" "draft"
expect_eq "... migrated to version 10" "$(sql 'PRAGMA user_version;')" 10
run "$F" verify
expect_rc "field verify passes" 0
expect_stdout "... every version" "OK: 6 versions of 2 records by 2 devices verified"
expect_eq "the queue to push holds the edit made after the last sync" \
    "$(sql 'SELECT count(*) FROM sync_pending;')" 1
run "$F" show --json "$REC"
expect_eq "the approval pulled by the old release is kept" \
    "$(json_get "$OUT" status)" '"approved"'

# --- the server database ---------------------------------------------------

DBS="$T/old.db"
expect_eq "the fixture is server schema version 2" "$(sqls 'PRAGMA user_version;')" 2
srv audit
expect_rc "field-server audit opens the old database: no chain alarm" 0
expect_stdout_contains "... five versions" "versions stored: 5"
expect_eq "... migrated to version 7" "$(sqls 'PRAGMA user_version;')" 7
expect_eq "... without the indexes version 6 drops" \
    "$(sqls "SELECT count(*) FROM sqlite_schema WHERE name IN ('versions_prev', 'parents_parent');")" 0
srv record --json "$REC"
expect_rc "field-server record verifies the approved record again" 0
expect_eq "... approved" "$(json_get "$OUT" status)" '"approved"'

# --- the migrated device syncs with the migrated server --------------------

start_server old --quiet
# The fixture's server listened on another port: the province moved it.
sql "UPDATE meta SET value = '$URL' WHERE key = 'sync.url';"
run "$F" sync --json --retries 0
expect_rc "the migrated device syncs with the migrated server" 0
expect_eq "... pushing its one edit" "$(json_get "$OUT" stored)" 1
expect_eq "... nothing pending after" "$(sql 'SELECT count(*) FROM sync_pending;')" 0

enroll_device fresh "Lê Văn Cường"
run "$F" sync --json --retries 0
expect_rc "a new device syncs with the migrated server" 0
expect_eq "... pulls every version" "$(json_get "$OUT" pulled)" 6
run "$F" verify
expect_stdout "... and verifies them" "OK: 6 versions of 2 records by 2 devices verified"
run "$F" show --json "$DRAFT"
expect_eq "... with the edit made before the upgrade" \
    "$(json_get "$OUT" answers.households_total)" 42
stop_server
expect_eq "the migrated server stops cleanly" "$RC" 0

# --- the migrated device syncs with a new server ---------------------------

unpack moved
start_server new --quiet
province 4201
run "$F" enroll "$URL" "$("$S" enroll-code --db "$DBS" \
    --inspector "Nguyễn Văn An" --role inspector --scope 4201)"
expect_rc "the migrated device enrolls with a new server" 0
run "$F" sync --json --retries 0
expect_rc "... and syncs" 0
expect_eq "... pushing every version it holds" "$(json_get "$OUT" pushed)" 6
expect_eq "... its own and the pulled ones stored" "$(json_get "$OUT" stored)" 5
expect_eq "... the approval refused: its supervisor is not enrolled there" \
    "$(json_get "$OUT" refused)" 1
stop_server

# --- stores of 12,000 versions migrate too ----------------------------------
#
# The fixtures padded with 12,000 made-up versions (one real body each,
# random hashes, an edge each): the migrations that drop or rebuild a
# table or an index (field-009.sql and -010.sql, server-006.sql and
# -007.sql) change megabytes in one statement, more than SQLite keeps of
# its statement journal in memory. Only the migrations are checked here:
# made-up versions do not verify.

unpack big
sql "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 12000)
     INSERT INTO versions (hash, record, author, dseq, prev, hlc_ms, hlc_count,
         template_id, template_hash, subject, status, body, sig, stored_ms)
     SELECT lower(hex(randomblob(32))), lower(hex(randomblob(16))), author,
         100 + i, NULL, hlc_ms, i, template_id, template_hash, subject, status,
         body, sig, stored_ms FROM c, versions WHERE seq = 1;
     INSERT INTO parents (child, parent)
         SELECT hash, lower(hex(randomblob(32))) FROM versions WHERE seq > 6;
     INSERT INTO sync_known (hash, how, at_ms)
         SELECT hash, 'pulled', 0 FROM versions WHERE seq > 6;"
run "$F" list
expect_rc "a device store of 12,006 versions at version 4 opens" 0
expect_eq "... migrated to version 10" "$(sql 'PRAGMA user_version;')" 10
expect_eq "... without the index version 10 drops" \
    "$(sql "SELECT count(*) FROM sqlite_schema WHERE name = 'parents_parent';")" 0
expect_eq "... every parent edge kept" "$(sql 'SELECT count(*) FROM parents;')" 12004
expect_eq "... every version known to the server still known" \
    "$(sql 'SELECT count(*) FROM sync_known;')" 12005
expect_eq "... the edit after the last sync still to push" \
    "$(sql 'SELECT count(*) FROM sync_pending;')" 1

DBS="$T/big.db"
sqls "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 12000)
      INSERT INTO versions (hash, record, author, pusher, dseq, prev, hlc_ms,
          hlc_count, template_id, template_hash, subject, status, body, sig,
          received_ms)
      SELECT lower(hex(randomblob(32))), lower(hex(randomblob(16))), author,
          pusher, 100 + i, lower(hex(randomblob(32))), hlc_ms, i, template_id,
          template_hash, subject, status, body, sig, received_ms
      FROM c, versions WHERE seq = 1;
      INSERT INTO parents (child, parent)
          SELECT hash, prev FROM versions WHERE seq > 5;"
srv devices list
expect_rc "a server database of 12,005 versions at version 2 opens" 0
expect_eq "... migrated to version 7" "$(sqls 'PRAGMA user_version;')" 7
expect_eq "... every parent edge kept" "$(sqls 'SELECT count(*) FROM parents;')" 12003

# --- a newer release's files are refused, untouched ------------------------

unpack newer
sql "PRAGMA user_version = 99;"
sum=$(file_sum "$DB")
expect_error "a newer device store is refused" 1 list "$F" list
expect_stderr_contains "... saying so" \
    "database schema version 99 is newer than this program's (10); upgrade field"
expect_eq "... the file untouched" "$(file_sum "$DB")" "$sum"
expect_error "field verify refuses it too" 1 verify "$F" verify

DBS="$T/newer.db"
sqls "PRAGMA user_version = 99;"
sum=$(file_sum "$DBS")
srv audit
expect_rc "a newer server database is refused" 1
expect_stderr_line "... in one line" "field-server: audit: "
expect_stderr_contains "... saying so" \
    "database schema version 99 is newer than this program's (7); upgrade field-server"
"$S" serve --db "$DBS" --port 0 --quiet >"$OUT" 2>"$ERR" </dev/null
RC=$?
expect_rc "field-server serve refuses it" 1
expect_stderr_contains "... saying so" "is newer than this program's"
expect_eq "... the file untouched" "$(file_sum "$DBS")" "$sum"

finish
