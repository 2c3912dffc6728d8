#!/bin/sh
# test_repair.sh - a damaged device store (issue 13, finding 5). Zeroing
# the page of the versions index leaves list and set failing with
# "database disk image is malformed": `field verify` must say so (exit 5,
# never "OK"), name the problem and send the person to `field repair`,
# which rebuilds the store from what still verifies and keeps the damaged
# file aside; the next sync fetches the rest from the server, so nothing
# that was synced is lost. Damage to pages of the versions table itself
# loses rows locally, which the sync brings back too.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet
province 4201
enroll_device dev "Nguyễn Văn An"
i=0
while [ $i -lt 20 ]; do
    R=$(new_record 4201 inspection_date=2026-11-28 households_total=$((50 + i)))
    run "$F" set "$R" "remarks=Thôn số $i có ghi chú dài để lấp đầy trang dữ liệu $i"
    i=$((i + 1))
done
run "$F" sync --retries 0
expect_rc "the device syncs its 40 versions" 0
N=$(nversions)
expect_eq "40 versions here" "$N" 40

# zero PAGE - write zeros over page PAGE (1-based) of the store.
zero() {
    "$PY" - "$DB" "$1" <<'PYEOF'
import sqlite3, sys
path, page = sys.argv[1], int(sys.argv[2])
size = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
with open(path, "r+b") as f:
    f.seek((page - 1) * size)
    f.write(b"\0" * size)
PYEOF
}

# --- the versions index -----------------------------------------------------------

cp "$DB" "$T/good.db"
PAGE=$(sql "SELECT rootpage FROM sqlite_master WHERE name = 'versions_author';")
zero "$PAGE"
run "$F" verify
expect_rc "verify fails on a zeroed index page" 5
expect_stdout_lacks "... never printing OK" "OK"
expect_stdout_contains "... naming the problem" "FAULT database"
expect_stderr_contains "... and saying how to recover" "field repair"
run "$F" repair
expect_rc "repair exits 0" 0
expect_stdout_contains "... keeping every version that verifies" "40 versions kept"
expect_stdout_contains "... and the damaged file" "field.db.damaged-"
expect_eq "the damaged file is kept aside" "$(ls "$FIELD_HOME" | grep -c 'field.db.damaged-')" 1
run "$F" verify
expect_rc "the repaired store verifies" 0
expect_stdout_contains "... all 40 versions" "OK: 40 versions"
run "$F" set "$R" remarks=sau
expect_rc "the device writes again, continuing its chain" 0
run "$F" sync --retries 0 --json
expect_rc "... and syncs" 0
expect_eq "... the server stores the new version" "$(json_get "$OUT" stored)" 1

# --- pages of the versions table -----------------------------------------------------

run "$F" verify
NOW=$(nversions)
ROOT=$(sql "SELECT rootpage FROM sqlite_master WHERE name = 'versions';")
# the leaves of the versions table: pages whose rows are versions
LEAVES=$("$PY" - "$DB" <<'PYEOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
pages = sorted({r[0] for r in c.execute(
    "SELECT pageno FROM dbstat WHERE name = 'versions' AND pagetype = 'leaf'")})
print(" ".join(str(p) for p in pages[1:3]))
PYEOF
)
for p in $LEAVES; do zero "$p"; done
run "$F" list
expect_rc "list fails on the damaged table" 5
run "$F" verify
expect_rc "verify fails" 5
expect_stderr_contains "... and suggests repair" "field repair"
run "$F" repair
expect_rc "repair saves what still reads" 0
KEPT=$(nversions)
expect_eq "... some versions were lost locally" "$([ "$KEPT" -lt "$NOW" ] && echo yes)" yes
run "$F" sync --retries 0
expect_rc "the sync after repair" 0
expect_eq "... brings every version back" "$(nversions)" "$NOW"
run "$F" verify
expect_rc "the store verifies after the sync" 0
finish
