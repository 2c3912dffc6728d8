#!/bin/sh
# test_relay_scope.sh - a relay carries what a version's author may write,
# and nothing more (issue 13, finding 4). Inspector B (commune 18073)
# writes a record for commune 18133, which is outside its scope; its own
# sync is refused. The bundle it exports is imported on device A, whose
# scope is 18133: a device cannot know offline what another device was
# allowed, so the import keeps the versions (they verify), and the server
# refuses them on A's sync as out of the signer's scope; A's dead-letter
# list says why. The same for a decision (approve/return/reject) signed by
# an inspector's device and relayed by a supervisor: refused for its role.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet
province 18073 18133

enroll_device b "Inspector B" 18073
enroll_device a "Inspector A" 18133
enroll_device sup "Supervisor S" 18133 supervisor

# --- a record outside the author's scope ----------------------------------------

home b
R=$(new_record 18133 inspection_date=2026-11-28 households_total=50 households_latrine=40)
run "$F" sync --retries 0 --json
expect_eq "B's own sync is refused for the unit outside its scope" \
    "$(json_get "$OUT" refused)" 1
run "$F" bundle export --record "$R" "$T/b.json"
expect_rc "B exports a bundle" 0

home a
run "$F" bundle import "$T/b.json"
expect_rc "A imports it: offline, A cannot know B's scope" 0
expect_stdout_contains "... the version is kept" "1 new"
run "$F" sync --retries 0 --json
expect_rc "A syncs" 0
expect_eq "the server refuses the relayed version" "$(json_get "$OUT" refused)" 1
expect_eq "... and stores nothing of the record" \
    "$(sqls "SELECT count(*) FROM versions WHERE record = '$R';")" 0
run "$F" sync status
expect_stdout_contains "A's dead-letter list names the reason" "out_of_scope"
expect_stdout_contains "... and the signer's scope" "outside the scope of the device that signed it"
expect_eq "the server audits the refusal" \
    "$(sqls "SELECT count(*) FROM audit WHERE kind = 'refused' AND detail LIKE 'out_of_scope%signed%';")" 1

# --- a decision signed by an inspector's device ---------------------------------

home a
Q=$(new_record 18133 inspection_date=2026-11-28 planning_approved=yes road_total_km=12 \
    road_hardened_km=9 households_total=100 households_latrine=80)
run "$F" finalize "$Q"
expect_rc "A finalizes" 0
run "$F" approve "$Q"
expect_rc "an inspector's device may not approve" 4
# A tampered device claims to be a supervisor: it signs the approval, and
# a real supervisor carries it to the server.
sql "UPDATE meta SET value = 'supervisor' WHERE key = 'sync.role';"
run "$F" approve "$Q"
expect_rc "the tampered device signs an approval" 0
run "$F" bundle export --record "$Q" "$T/q.json"
expect_rc "... and exports it" 0

home sup
run "$F" bundle import "$T/q.json"
expect_rc "the supervisor's device imports the approval" 0
run "$F" sync --retries 0 --json
expect_rc "the supervisor syncs" 0
expect_eq "the server refuses the approval signed by an inspector" \
    "$(sqls "SELECT count(*) FROM versions WHERE record = '$Q' AND status = 'approved';")" 0
expect_eq "... but stores the inspector's final version" \
    "$(sqls "SELECT count(*) FROM versions WHERE record = '$Q' AND status = 'final';")" 1
run "$F" sync status
expect_stdout_contains "the relay's dead-letter list says why" "role"
expect_stdout_contains "... in words" "may not sign a version with status approved"
finish
