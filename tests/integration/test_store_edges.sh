#!/bin/sh
# test_store_edges.sh - a device store at the edges (issue 13, finding 6):
# a template that reuses the id and version of an installed one with other
# content is refused (a changed template needs a new version), so `field
# new` never picks one of two different templates silently; a template kept
# under a hash that is not its own is refused as damage; a read-only
# data directory still serves the commands that only read, and a writing
# command says the directory is read-only; a file size limit (ulimit -f)
# is reported in one line, not by a silent SIGXFSZ.
. "$(dirname "$0")/lib.sh"

# --- a template under a built-in's id and version --------------------------------

init_home dev --inspector "Nguyễn Văn An"
"$PY" - "$T/shadow.json" "$T/v2.json" <<'PYEOF'
import json, sys
t = json.load(open("schema/templates/field-demo.json"))
t["title"]["vi"] = "Phiếu đã sửa"
json.dump(t, open(sys.argv[1], "w"), ensure_ascii=False)
t["version"] = "2"
json.dump(t, open(sys.argv[2], "w"), ensure_ascii=False)
PYEOF
run "$F" template add "$T/shadow.json"
expect_rc "a changed template under a built-in's id and version is refused" 4
expect_stderr_contains "... saying why" "template field-demo version 1 is already installed with other content"
expect_stderr_contains "... and what to do" "new \"version\""
expect_eq "... and not installed" \
    "$(sql "SELECT count(*) FROM templates WHERE id = 'field-demo';")" 1
run "$F" template add schema/templates/field-demo.json
expect_stderr_contains "the same template again is only already there" "already installed"
run "$F" template add "$T/v2.json"
expect_rc "the changed template with a new version is installed" 0
expect_stdout_contains "... as version 2" "Installed field-demo 2"
V2=$(sed -n 's/.*(\([0-9a-f]*\)).*/\1/p' "$OUT")
R=$(new_record 4201 inspection_date=2026-11-28)
run "$F" show --json "$R"
expect_stdout_contains "field new uses the newest version" "\"hash\":\"$V2"

# --- a template kept under a hash that is not its own ------------------------------

# A record names its template by hash; what the store keeps under that hash
# must be that template, or the record would be shown against other rules.
copy_home dev swapped
sql "UPDATE templates SET body = replace(body, 'Phiếu đã sửa', 'Phiếu khác') WHERE hash LIKE '$V2%';"
expect_eq "... (set up: the body changed)" \
    "$(sql "SELECT instr(body, 'Phiếu khác') > 0 FROM templates WHERE hash LIKE '$V2%';")" 1
run "$F" show "$R"
expect_rc "a template whose body is not its hash's: show exits 5" 5
expect_stderr_contains "... saying so" "has hash"
home dev

# --- a read-only data directory ---------------------------------------------------

# As root, permissions do not stop writes: the commands then run as
# nobody, over a directory that nobody owns but cannot write.
if [ "$(id -u)" = 0 ]; then
    chown -R 65534:65534 "$FIELD_HOME"
    chmod 755 "$T"
    AS="setpriv --reuid 65534 --regid 65534 --clear-groups"
else
    AS=""
fi
chmod a-w "$FIELD_HOME" "$DB"
run $AS "$F" list
expect_rc "list works in a read-only data directory" 0
expect_stdout_contains "... and lists the record" "$(echo "$R" | cut -c1-12)"
run $AS "$F" show "$R"
expect_rc "show works" 0
run $AS "$F" history "$R"
expect_rc "history works" 0
run $AS "$F" verify
expect_rc "verify works" 0
run $AS "$F" templates
expect_rc "templates works" 0
run $AS "$F" set "$R" remarks=x
expect_rc "a writing command fails" 1
expect_stderr_contains "... saying the directory is read-only" \
    "the data directory $FIELD_HOME is read-only"
chmod u+w "$FIELD_HOME" "$DB"
[ "$(id -u)" = 0 ] && chown -R 0:0 "$FIELD_HOME"
run "$F" set "$R" remarks=x
expect_rc "writable again, the same command works" 0

# --- a file size limit --------------------------------------------------------------

home small
(ulimit -f 8 && exec "$F" init --inspector X) >"$T/.out" 2>"$T/.err"
RC=$?
expect_eq "a file size limit is an error, not a signal" "$RC" 1
expect_eq "... reported in one line" "$(wc -l <"$T/.err")" 1
expect_eq "... that names the limit" \
    "$(grep -c 'the file size limit (ulimit -f) was reached' "$T/.err")" 1
finish
