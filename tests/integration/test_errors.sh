#!/bin/sh
# test_errors.sh - bad input of every kind, and a damaged or busy store.
#
# Each case must end with one line on standard error that starts
# "field: <command>: ", the documented exit status (2 usage, 3 not found,
# 4 refused input, 5 integrity fault, 7 database locked), and nothing half
# written: the number of stored versions is unchanged, and files the
# program refused to use are left as they were.
. "$(dirname "$0")/lib.sh"

# refused NAME CODE COMMAND CMD... - expect_error, and no version written.
refused() {
    _before=$(nversions)
    expect_error "$@"
    expect_eq "$1: no version written" "$(nversions)" "$_before"
}

# --- before init ----------------------------------------------------------------

home none
X=0123456789abcdef0123456789abcdef
expect_error "list before init" 3 list "$F" list
expect_error "templates before init" 3 templates "$F" templates
expect_error "verify before init" 3 verify "$F" verify
expect_error "new before init" 3 new "$F" new field-demo --subject 01001
expect_error "set before init" 3 set "$F" set "$X" remarks=x
expect_error "show before init" 3 show "$F" show "$X"
expect_error "history before init" 3 history "$F" history "$X"
expect_error "finalize before init" 3 finalize "$F" finalize "$X"
expect_error "export before init" 3 export "$F" export --format json
if [ -e "$FIELD_HOME" ]; then
    fail "commands before init create no data directory" "$(ls -la "$FIELD_HOME")"
else
    pass "commands before init create no data directory"
fi
mkdir -p "$FIELD_HOME"
expect_error "list in an empty data directory" 3 list "$F" list
expect_eq "an empty data directory stays empty" "$(ls -A "$FIELD_HOME")" ""

# --- init twice -------------------------------------------------------------------

init_home main --inspector "Lê Văn C"
R=$(new_record 01001 households_total=10)
R2=$(new_record 01002)
key_sum=$(file_sum "$KEY")
db_sum=$(file_sum "$DB")
expect_error "init twice" 4 init "$F" init --inspector "Someone Else"
expect_eq "init twice leaves the key file untouched" "$(file_sum "$KEY")" "$key_sum"
expect_eq "init twice leaves the store untouched" "$(file_sum "$DB")" "$db_sum"
run env FIELD_PASSPHRASE=pw "$F" init
expect_rc "init twice with a passphrase exits 4" 4
expect_eq "... and leaves the key file untouched" "$(file_sum "$KEY")" "$key_sum"

# --- records, prefixes, questions ----------------------------------------------------

refused "set on an unknown record" 3 set "$F" set ffffffffffffffffffffffffffffffff remarks=x
refused "set on an unknown prefix" 3 set "$F" set ffff remarks=x
expect_error "show an unknown record" 3 show "$F" show ffffffff
expect_error "history of an unknown record" 3 history "$F" history ffffffff
refused "finalize an unknown record" 3 finalize "$F" finalize ffffffff

# Record ids begin with the time, so two records made a moment apart share
# their first digits: a 4-digit prefix of both is ambiguous.
common=$(printf '%.4s' "$R")
if [ "$common" = "$(printf '%.4s' "$R2")" ]; then
    refused "set with an ambiguous prefix" 3 set "$F" set "$common" remarks=x
    expect_stderr_contains "ambiguous prefix: message says so" "ambiguous"
else
    skip "ambiguous prefix: the two record ids differ in their first 4 digits"
fi
refused "set with a 3-digit prefix" 3 set "$F" set "$(printf '%.3s' "$R")" remarks=x
refused "set with a non-hex record" 3 set "$F" set zzzzzzzz remarks=x

refused "set an unknown question" 3 set "$F" set "$R" no_such_question=1
expect_stderr_contains "unknown question is named" "no_such_question"
refused "set a note (not answerable)" 4 set "$F" set "$R" about=x
n=$(nversions)
refused "new with an unknown question" 3 new "$F" new field-demo --subject 01003 no_such_question=1
expect_eq "new with an unknown question starts no record" \
    "$(sql "SELECT count(*) FROM versions WHERE subject='01003';")" 0
refused "new with an unknown template" 3 new "$F" new no-such-template --subject 01003

# --- values of the wrong type -----------------------------------------------------------

bad() { # QUESTION VALUE - refused with 4, names the question
    refused "$1=$(printf '%.20s' "$2")" 4 set "$F" set "$R" "$1=$2"
    expect_stderr_contains "$1=$(printf '%.20s' "$2"): names the question" "$1"
}
bad households_total abc
bad households_total 1.5
bad households_total 12,0
bad households_total 9007199254740992
bad households_total 99999999999999999999
bad road_total_km abc
bad road_total_km 1.2.3
bad road_total_km "1,2,3"
bad road_total_km "1 200"
bad inspection_date 31/02/2026
bad inspection_date 29/02/2026
bad inspection_date 2026-13-01
bad inspection_date yesterday
bad inspection_date 01/01/1800
bad planning_approved maybe
bad planning_approved "yes no"
bad waste "sorted bogus"
bad location "91 0"
bad location "21.0"
bad remarks "$(printf 'a\001b')"
bad remarks "$(printf 'bad \377 utf-8')"
bad remarks "$(head -c 4097 /dev/zero | tr '\0' a)"

# One bad value refuses the whole call: the good one is not written either.
refused "a good and a bad value in one set" 4 set "$F" set "$R" remarks=good households_total=abc
expect_eq "... the good value was not kept" \
    "$(sql "SELECT json_extract(body, '\$.answers.remarks') IS NULL FROM versions WHERE record='$R' ORDER BY seq DESC LIMIT 1;")" 1
refused "new with a bad first answer" 4 new "$F" new field-demo --subject 01004 households_total=abc
expect_eq "new with a bad first answer starts no record" \
    "$(sql "SELECT count(*) FROM versions WHERE subject='01004';")" 0
refused "new with a bad unit code" 4 new "$F" new field-demo --subject "a b"

# --- usage ------------------------------------------------------------------------------

refused "set without NAME=VALUE" 2 set "$F" set "$R"
refused "set with NAME but no =" 2 set "$F" set "$R" remarks
refused "set without a record" 2 set "$F" set
refused "new without --subject" 2 new "$F" new field-demo
expect_stderr_line "new without --subject: says what is missing" \
    "field: new: need --subject CODE, the unit inspected; see 'field new --help'"
refused "new with the unit where an answer goes" 2 new "$F" new field-demo 01001
expect_stderr_line "new with the unit where an answer goes: shows how" \
    "field: new: the unit goes after --subject: field new field-demo --subject 01001"
refused "new without a template" 2 new "$F" new --subject 01001
expect_error "export without --format" 2 export "$F" export
expect_error "export --format xml" 2 export "$F" export --format xml
expect_error "show --lang fr" 2 show "$F" show --lang fr "$R"
expect_error "show two records" 2 show "$F" show "$R" "$R2"

# --- a required question unanswered -------------------------------------------------------

n=$(nversions)
run "$F" finalize "$R"
expect_rc "finalize an incomplete record exits 4" 4
expect_stdout_empty "finalize an incomplete record prints nothing on standard output"
expect_stderr_contains "finalize an incomplete record: field: finalize:" "field: finalize: "
expect_eq "finalize an incomplete record writes no version" "$(nversions)" "$n"

# --- the key file --------------------------------------------------------------------------

cp "$KEY" "$T/good.key"
key_case() { # NAME - the key file was just damaged: set must exit 5
    chmod 600 "$KEY"
    refused "$1" 5 set "$F" set "$R" remarks=x
}
head -c 50 "$T/good.key" >"$KEY"
key_case "truncated key file"
head -c 300 /dev/urandom | od -An -tx1 >"$KEY"
key_case "key file of text garbage"
head -c 300 /dev/urandom >"$KEY"
key_case "key file of binary garbage"
: >"$KEY"
key_case "empty key file"
sed 's/^\(seed \)\(.\)/\1\2\2/; s/^\(seed \(.\{64\}\)\).*/\1/' "$T/good.key" >"$KEY"
if cmp -s "$KEY" "$T/good.key"; then
    fail "test setup: seed changed"
fi
key_case "key file whose seed does not match its public key"
head -c 100000 /dev/zero | tr '\0' a >"$KEY"
key_case "huge key file"
rm -f "$KEY"
refused "missing key file" 3 set "$F" set "$R" remarks=x

cp "$T/good.key" "$KEY"
chmod 644 "$KEY"
run "$F" set "$R" remarks=x
if [ "$RC" -ne 0 ]; then
    pass "key file mode 0644 is refused"
else
    fail "key file mode 0644 is refused" "$(_last)"
fi
expect_stderr_line "key file mode 0644: one line" "field: set: "
expect_stderr_contains "key file mode 0644: message names the mode" "0644"
expect_stderr_contains "key file mode 0644: message says how to fix it" "chmod 600"
expect_eq "key file mode 0644: no version written" "$(nversions)" "$n"
chmod 640 "$KEY"
run "$F" set "$R" remarks=x
if [ "$RC" -ne 0 ]; then
    pass "key file mode 0640 is refused"
else
    fail "key file mode 0640 is refused" "$(_last)"
fi
chmod 600 "$KEY"
run "$F" set "$R" remarks=x
expect_rc "the restored key works again" 0
expect_eq "the restored key writes one version" "$(nversions)" $((n + 1))

# --- a locked database -------------------------------------------------------------------

# Another process holds the write lock: Python's sqlite3 module takes it
# with BEGIN IMMEDIATE, says so in a file, and keeps it until the fifo on
# its standard input is closed.
mkfifo "$T/lock.fifo"
rm -f "$T/lock.held"
"$PY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").write("held\n")
sys.stdin.read()
c.execute("ROLLBACK")' "$DB" "$T/lock.held" <"$T/lock.fifo" >/dev/null 2>&1 &
locker=$!
exec 3>"$T/lock.fifo"
at_exit '[ -z "$locker" ] || kill "$locker" 2>/dev/null'
i=0
while [ ! -s "$T/lock.held" ] && [ "$i" -lt 300 ]; do
    i=$((i + 1))
    sleep 0.1
done
if [ ! -s "$T/lock.held" ]; then
    fail "test setup: another process holds the write lock"
else
    n=$(nversions)
    start=$(date +%s)
    run "$F" set "$R" remarks=locked
    took=$(($(date +%s) - start))
    expect_rc "set on a locked database exits 7" 7
    expect_stderr_line "locked database: one line" "field: set: "
    if [ "$took" -le 10 ]; then
        pass "locked database: gives up within seconds ($took s)"
    else
        fail "locked database: gives up within seconds" "took $took s"
    fi
    run "$F" new field-demo --subject 01009
    expect_rc "new on a locked database exits 7" 7
    run "$F" show "$R"
    expect_rc "show still reads while another process writes" 0
    exec 3>&-
    wait "$locker"
    locker=""
    expect_eq "locked database: no version written" "$(nversions)" "$n"
    run "$F" set "$R" remarks=unlocked
    expect_rc "set after the lock is gone exits 0" 0
fi
run "$F" verify
expect_rc "the store verifies after all the refusals" 0

# --- a damaged or foreign store --------------------------------------------------------------

copy_home main garbage
echo "this is not a database" >"$DB"
expect_error "garbage in place of field.db: list" 5 list "$F" list
expect_error "garbage in place of field.db: set" 5 set "$F" set "$R" remarks=x
expect_error "garbage in place of field.db: verify" 5 verify "$F" verify

copy_home main truncated
head -c 8192 "$T/main/field.db" >"$DB"
expect_error "truncated field.db: set" 5 set "$F" set "$R" remarks=x

copy_home main empty
: >"$DB"
run "$F" list
if [ "$RC" -ne 0 ]; then
    pass "empty field.db beside a key: refused"
else
    fail "empty field.db beside a key: refused" "$(_last)"
fi
expect_eq "empty field.db beside a key: left empty" "$(wc -c <"$DB" | tr -d ' ')" 0

copy_home main newer
sql "PRAGMA user_version = 99;"
db_sum=$(file_sum "$DB")
for c in list set verify; do
    case $c in
    set) run "$F" set "$R" remarks=x ;;
    *) run "$F" "$c" ;;
    esac
    if [ "$RC" -ne 0 ]; then
        pass "store of schema version 99: $c refused"
    else
        fail "store of schema version 99: $c refused" "$(_last)"
    fi
    expect_stderr_line "store of schema version 99: $c: one line" "field: $c: "
    expect_stderr_contains "store of schema version 99: $c names the version" "99"
done
expect_eq "store of schema version 99: left untouched" "$(file_sum "$DB")" "$db_sum"

# --- a database of the other program, or nobody's ------------------------------------------

# Each program stamps its database with its own PRAGMA application_id
# (docs/FORMATS.md: "FLDd" for a device store, "FLDs" for the server's) and
# refuses the other's, or an unrelated SQLite file, before writing to it:
# exit 5 (integrity), one line saying what the file is, the file untouched.
S="$FIELD_BUILD/bin/field-server"
"$S" init --db "$T/server.db" >/dev/null 2>"$T/.sinit" ||
    fail "test setup: field-server init" "$(cat "$T/.sinit")"
expect_eq "a device store is stamped FLDd" \
    "$(sqlite3 -batch "$T/main/field.db" 'PRAGMA application_id;')" 1179403364
expect_eq "a server database is stamped FLDs" \
    "$(sqlite3 -batch "$T/server.db" 'PRAGMA application_id;')" 1179403379
sqlite3 -batch "$T/notes.db" "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');"

# device_refuses NAME FILE WHY - field list, set and verify over FILE as
# field.db exit 5 saying WHY, and leave it as it was.
device_refuses() {
    copy_home main "$1"
    cp "$2" "$DB"
    _sum=$(file_sum "$DB")
    for c in list set verify; do
        case $c in
        set) expect_error "$1 as field.db: $c" 5 set "$F" set "$R" remarks=x ;;
        *) expect_error "$1 as field.db: $c" 5 "$c" "$F" "$c" ;;
        esac
        expect_stderr_contains "$1 as field.db: $c says what it is" "$3"
    done
    expect_eq "$1 as field.db: left untouched" "$(file_sum "$DB")" "$_sum"
}
device_refuses "a server database" "$T/server.db" \
    "not a field device store (it is a field-server database)"
device_refuses "an unrelated SQLite file" "$T/notes.db" \
    "not a field device store (it has other tables)"

# server_refuses NAME FILE WHY - field-server init and devices on FILE.
server_refuses() {
    cp "$2" "$T/refused.db"
    _sum=$(file_sum "$T/refused.db")
    for c in init devices; do
        run "$S" "$c" --db "$T/refused.db"
        expect_rc "field-server $c on $1: exit 5" 5
        expect_stderr_line "field-server $c on $1: one line" "field-server: $c: "
        expect_stderr_contains "field-server $c on $1: says what it is" "$3"
    done
    expect_eq "field-server on $1: left untouched" \
        "$(file_sum "$T/refused.db")" "$_sum"
}
server_refuses "a device store" "$T/main/field.db" \
    "not a field-server database (it is a field device store)"
server_refuses "an unrelated SQLite file" "$T/notes.db" \
    "not a field-server database (it has other tables)"

# The previous release stamped nothing: its files open as before and are
# stamped on the way.
copy_home main previous
sql "PRAGMA application_id = 0;"
run "$F" verify
expect_rc "a store of the previous release: verify" 0
expect_eq "a store of the previous release: stamped" \
    "$(sql 'PRAGMA application_id;')" 1179403364
cp "$T/server.db" "$T/previous-server.db"
sqlite3 -batch "$T/previous-server.db" "PRAGMA application_id = 0;"
run "$S" devices --db "$T/previous-server.db"
expect_rc "a server database of the previous release: devices" 0
expect_eq "a server database of the previous release: stamped" \
    "$(sqlite3 -batch "$T/previous-server.db" 'PRAGMA application_id;')" 1179403379

# --- a file that is not a regular file ------------------------------------------------------

# Files named on the command line are read whole, under a size cap, and only
# when they are regular files: a FIFO would block the reader forever.
home main
mkfifo "$T/a.fifo"
mkdir "$T/a.dir"
for f in a.fifo a.dir; do
    refused "bundle import of $f" 1 bundle "$F" bundle import "$T/$f"
    expect_stderr_contains "bundle import of $f: says why" "not a regular file"
    expect_error "template check of $f" 1 template "$F" template check "$T/$f"
done

# --- a full disk -------------------------------------------------------------------------------

# A small tmpfs needs mount privileges; without them the case is skipped
# (and not counted).
mkdir "$T/small"
if mount -t tmpfs -o size=2m tmpfs "$T/small" 2>/dev/null; then
    at_exit "umount '$T/small' 2>/dev/null"
    home small/h
    run "$F" init
    expect_rc "full disk: init on a small disk" 0
    RF=$(new_record 05005)
    fill_to() { # KIB - fill the disk until about KIB kibibytes are left
        if [ "$1" -eq 0 ]; then
            dd if=/dev/zero of="$T/small/fill" bs=1024 2>/dev/null
        else
            avail=$(df -Pk "$T/small" | awk 'NR == 2 {print $4}')
            dd if=/dev/zero of="$T/small/fill" bs=1024 \
                count=$((avail - $1)) 2>/dev/null
        fi
    }
    for left in 0 40; do
        n=$(nversions)
        fill_to "$left"
        run "$F" set "$RF" remarks="left $left: $(head -c 3000 /dev/zero | tr '\0' x)"
        rm -f "$T/small/fill"
        if [ "$RC" -ne 0 ]; then
            pass "full disk ($left KiB left): set fails"
        else
            fail "full disk ($left KiB left): set fails" "$(_last)"
        fi
        expect_stderr_line "full disk ($left KiB left): one line" "field: set: "
        expect_eq "full disk ($left KiB left): no version written" "$(nversions)" "$n"
        run "$F" verify
        expect_rc "full disk ($left KiB left): the store still verifies" 0
    done
    run "$F" set "$RF" remarks=after
    expect_rc "full disk: set works once there is room" 0
    run "$F" verify
    expect_rc "full disk: verifies after the next version" 0
    home main
else
    skip "full disk: cannot mount a small tmpfs"
fi

finish
