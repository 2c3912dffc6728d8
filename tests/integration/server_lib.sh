# server_lib.sh - what the tests/integration/test_server_*.sh scripts share
# on top of lib.sh: starting the real field-server on a free loopback port,
# and being a device with tests/tools/fieldctl.
#
# start_server NAME [SERVE OPTIONS] starts `field-server serve` on the
# database $T/NAME.db (created and initialised when missing) with --port 0,
# so the system picks a free port, and waits for the port file; it sets
# PORT and URL, and SPID to the server's process id. Every server started
# is killed by the EXIT trap, whatever happens. stop_server sends SIGTERM
# and waits for the server to finish.
#
# req KEY METHOD PATH [fieldctl request options] runs a request; STATUS is
# the HTTP status and $BODY the file holding the answer's body.

. "$(dirname "$0")/lib.sh"
# FIELD_TEST_DB=pg: every server of the script keeps its data on a
# throwaway PostgreSQL (pg_lib.sh) instead of a SQLite file.
. "$(dirname "$0")/pg_lib.sh"

S="$FIELD_BUILD/bin/field-server"
C="$FIELD_BUILD/tests/tools/fieldctl"
BODY="$T/.body"
STATUS=0
SPID=""
_spids=""
_sdir=""
at_exit 'for _p in $_spids; do kill -9 "$_p" 2>/dev/null; done'

for _b in "$S" "$C"; do
    if [ ! -x "$_b" ]; then
        fail "program $_b exists (build first: make all)"
        finish
    fi
done

# srv CMD... - run a field-server administration command on $DBS; on
# PostgreSQL from the last server's working directory, where its
# attachments are (backup copies them from there).
srv() {
    _c=$1
    shift
    if [ "${FIELD_TEST_DB:-sqlite}" = pg ] && [ -n "$_sdir" ]; then
        _here=$PWD
        case $S in /*) _sabs=$S ;; *) _sabs=$PWD/$S ;; esac
        cd "$_sdir" || finish
        run "$_sabs" "$_c" --db "$DBS" "$@"
        cd "$_here" || finish
    else
        run "$S" "$_c" --db "$DBS" "$@"
    fi
}

# pg_servers - every server of the script on a throwaway PostgreSQL,
# started now; the script is skipped (finish) where field-server was built
# without PostgreSQL (make PG=) or PostgreSQL is not installed.
pg_servers() {
    FIELD_TEST_DB=pg
    run "$S" devices --db "postgresql:///none?host=/nonexistent"
    if grep -q "built without PostgreSQL" "$ERR"; then
        skip "PostgreSQL: this field-server was built without it (make PG=)"
        finish
    fi
    pg_start
}

start_server() {
    _name=$1
    shift
    _fresh=false
    if [ "${FIELD_TEST_DB:-sqlite}" = pg ]; then
        # A database of its own on the script's throwaway PostgreSQL
        # (pg_lib.sh), and a working directory for its attachments.
        [ -n "$PG_DIR" ] || pg_start
        DBS="postgresql:///$_name?host=$PG_DIR&user=field"
        _sdir="$T/$_name.d"
        SATT="$_sdir/attachments"
        if [ ! -d "$_sdir" ]; then
            mkdir -p "$_sdir"
            pg_createdb "$_name" >/dev/null || {
                fail "create database $_name"
                finish
            }
            _fresh=true
        fi
    else
        DBS="$T/$_name.db"
        _sdir=$PWD
        SATT="$T/attachments"
        [ -e "$DBS" ] || _fresh=true
    fi
    if $_fresh; then
        "$S" init --db "$DBS" >/dev/null 2>"$T/.init" || {
            fail "init $DBS" "$(cat "$T/.init")"
            finish
        }
    fi
    rm -f "$T/$_name.port"
    # From its own directory: a PostgreSQL server keeps its attachments in
    # its working directory (a SQLite one beside its database file).
    (cd "$_sdir" && exec "$S" serve --db "$DBS" --listen 127.0.0.1 \
        --port 0 --port-file "$T/$_name.port" "$@") 2>"$T/$_name.log" &
    SPID=$!
    _spids="$_spids $SPID"
    _i=0
    while [ ! -s "$T/$_name.port" ]; do
        _i=$((_i + 1))
        if [ "$_i" -gt 100 ] || ! kill -0 "$SPID" 2>/dev/null; then
            fail "server $_name starts" "$(cat "$T/$_name.log")"
            finish
        fi
        sleep 0.05
    done
    PORT=$(cat "$T/$_name.port")
    URL="http://127.0.0.1:$PORT"
}

# restart_server - serve the same database on the same port again, as a
# service manager would, once the last server has exited (or been killed).
restart_server() {
    wait "$SPID" 2>/dev/null
    (cd "$_sdir" && exec "$S" serve --db "$DBS" \
        --listen 127.0.0.1 --port "$PORT" --quiet) 2>>"$T/restart.log" &
    SPID=$!
    _spids="$_spids $SPID"
    _i=0
    until "$C" request - GET "$URL/v1/health" >/dev/null 2>&1; do
        _i=$((_i + 1))
        [ "$_i" -lt 100 ] || { fail "server restarts" "$(cat "$T/restart.log")"; finish; }
        sleep 0.05
    done
}

# stop_server - SIGTERM, then wait; RC is the server's exit status.
stop_server() {
    kill -TERM "$SPID" 2>/dev/null
    wait "$SPID"
    RC=$?
}

req() {
    _key=$1
    _method=$2
    _path=$3
    shift 3
    "$C" request "$_key" "$_method" "$URL$_path" "$@" >"$T/.resp" 2>"$T/.reqerr"
    STATUS=$(head -n 1 "$T/.resp")
    tail -n +2 "$T/.resp" >"$BODY"
    [ -n "$STATUS" ] || STATUS=none
}

# expect_status NAME CODE [ERROR CODE] - the last req answered CODE, and,
# when given, a JSON error {"error":{"code":ERROR,...}}.
expect_status() {
    if [ "$STATUS" != "$2" ]; then
        fail "$1" "expected HTTP $2, got $STATUS" "$(head -c 600 "$BODY")" \
            "$(cat "$T/.reqerr")"
        return
    fi
    if [ $# -ge 3 ]; then
        _got=$(json_get "$BODY" error.code 2>/dev/null)
        if [ "$_got" != "\"$3\"" ]; then
            fail "$1" "expected error code $3, got $_got" "$(head -c 600 "$BODY")"
            return
        fi
        _msg=$(json_get "$BODY" error.message 2>/dev/null)
        case "$_msg" in
        '"'?*'"') ;;
        *) fail "$1" "error without a message" "$(head -c 600 "$BODY")"; return ;;
        esac
    fi
    pass "$1"
}

# device NAME - a new device key $T/NAME.key; prints its public key.
device() {
    "$C" keygen "$T/$1.key"
}

# enroll NAME ROLE SCOPE... - a new device enrolled on the running server.
enroll() {
    _n=$1
    _role=$2
    shift 2
    device "$_n" >"$T/$_n.pub"
    _code=$("$S" enroll-code --db "$DBS" --inspector "Inspector $_n" \
        --role "$_role" ${1:+--scope} "$@")
    "$C" enroll-body "$_code" "$T/$_n.key" >"$T/.enroll"
    req "$T/$_n.key" POST /v1/enroll --body "$T/.enroll"
    if [ "$STATUS" != 200 ]; then
        fail "enroll $_n" "$STATUS $(cat "$BODY")"
        finish
    fi
}

# version NAME FILE OPTIONS... - sign a version with NAME's key into FILE.
version() {
    _k=$1
    _f=$2
    shift 2
    if ! "$C" version "$T/$_k.key" "$@" >"$_f" 2>"$T/.verr"; then
        fail "sign a version" "$(cat "$T/.verr")"
        finish
    fi
}

# sync NAME [--cursor C] [--limit N] ITEM... - POST /v1/sync as NAME.
sync_as() {
    _k=$1
    shift
    "$C" sync-body "$@" >"$T/.syncbody"
    req "$T/$_k.key" POST /v1/sync --body "$T/.syncbody"
}

# result I - "status/reason" of pushed version I in the last sync answer.
result() {
    "$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]
print(r["status"] + ("/" + r["reason"] if r.get("reason") else ""))
' "$BODY" "$1"
}

# pulled - the hashes pulled in the last sync answer, one per line.
pulled_count() {
    "$PY" -c '
import json, sys
print(len(json.load(open(sys.argv[1]))["pull"]))
' "$BODY"
}

# sqls SQL - a query on the running server's database, through sqlite3 or
# psql as FIELD_TEST_DB says (psql's unaligned rows look like sqlite3's).
# SQL meant for both back ends: CAST(cond AS integer) for a truth value
# (PostgreSQL prints a boolean t or f), sql_hex for a blob's hex.
sqls() {
    sqls_on "$DBS" "$@"
}

# sqls_on DBS SQL - the same on another server's database.
sqls_on() {
    case $1 in
    postgres*) pg_psql "$(echo "$1" | sed 's|^postgresql:///\([^?]*\).*|\1|')" "$2" ;;
    *) sqlite3 -batch "$1" "$2" ;;
    esac
}

# sql_hex COLUMN - SQL for the column's bytes in upper-case hex.
sql_hex() {
    case $DBS in
    postgres*) echo "upper(encode($1, 'hex'))" ;;
    *) echo "hex($1)" ;;
    esac
}

# on_pg - the script's servers keep their data on PostgreSQL.
on_pg() {
    [ "${FIELD_TEST_DB:-sqlite}" = pg ]
}

# sqlite_only WHY - true on SQLite; on PostgreSQL one skip line, "(SQLite
# only: WHY)", for a check that is about SQLite's file itself.
sqlite_only() {
    if on_pg; then
        skip "(SQLite only: $1)"
        return 1
    fi
}

# restore_backup NAME FILE - the database of server NAME made from FILE,
# a `field-server backup` of the running server, as docs/SERVER.md says to
# restore one: the SQLite copy as it is (backup gave it a new epoch), a
# PostgreSQL dump through pg_restore and new-epoch; start_server NAME then
# serves it.
restore_backup() {
    if on_pg; then
        _sdir="$T/$1.d"
        mkdir -p "$_sdir"
        _r=$(pg_createdb "$1") &&
            "$PG_BIN/pg_restore" --no-owner -h "$PG_DIR" -U field -d "$1" \
                "$2" >"$T/.restore" 2>&1 &&
            "$S" new-epoch --db "$_r" >>"$T/.restore" 2>&1 || {
            fail "restore $2 into $1" "$(cat "$T/.restore")"
            finish
        }
        [ ! -d "$2.attachments" ] || cp -R "$2.attachments" "$_sdir/attachments"
    elif [ "$2" != "$T/$1.db" ]; then
        cp "$2" "$T/$1.db"
    fi
}

# --- a province on the server, devices enrolled in it --------------------------

# province CODE... - $T/units.csv with the province 42 and a commune for
# each CODE (Xã CODE, valid from 2025-07-01), imported into the server.
province() {
    {
        echo "code,name,kind,parent_code,valid_from,valid_to"
        echo "42,Hà Tĩnh,tinh,,,"
        for _u in "$@"; do
            echo "$_u,Xã $_u,xa,42,2025-07-01,"
        done
    } >"$T/units.csv"
    srv units import "$T/units.csv"
    expect_rc "the server imports the units" 0
}

# enroll_device NAME INSPECTOR [SCOPE [ROLE]] - a data directory NAME, set
# up for INSPECTOR and enrolled on the running server as ROLE (inspector by
# default) of SCOPE (4201 by default); then home NAME.
enroll_device() {
    init_home "$1" --inspector "$2"
    run "$F" enroll "$URL" "$("$S" enroll-code --db "$DBS" --inspector "$2" \
        --role "${4:-inspector}" --scope "${3:-4201}")"
    expect_rc "$1 enrolls" 0
}

# --- photos ---------------------------------------------------------------------

# jpeg FILE BYTES - a valid JPEG of BYTES bytes whose padding is random,
# as a camera's picture data is: every file differs (tests/tools/mkphoto).
jpeg() {
    "$FIELD_BUILD/tests/tools/mkphoto" --size "$2" --noise "$1"
}

# b2 FILE - the file's BLAKE2b-256 in hex: its attachment hash.
b2() {
    b2sum -l 256 "$1" | cut -d' ' -f1
}

# server_file HASH - where the server keeps a whole attachment.
server_file() {
    echo "$SATT/$(echo "$1" | cut -c1-2)/$1"
}
