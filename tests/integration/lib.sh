# lib.sh - the small test library every tests/integration/test_*.sh sources.
#
# It finds the program under test ("$FIELD_BUILD/bin/field"; FIELD_BUILD is
# set by scripts/run-tests.sh to the absolute build directory and defaults
# to $PWD/build), makes one private temporary directory $T that the EXIT
# trap removes, and points HOME there so that no test can touch the real
# ~. Every data directory a test uses ($FIELD_HOME) lives under $T, so two
# copies of a script can run at once.
#
# A check prints "ok - NAME" or "not ok - NAME" followed by "#"-prefixed
# details. `finish` (or the EXIT trap, if a script ends early) prints the
# one summary line "N passed, N failed" that scripts/run-tests.sh adds up,
# and the script exits non-zero when anything failed.
#
# Running a command: `run CMD...` runs it with standard input from
# /dev/null (never a terminal, so nothing can prompt) and keeps its exit
# status in $RC, its standard output in the file $OUT and its standard
# error in the file $ERR, byte for byte; the expect_* helpers then look at
# that last run. Pass environment changes with env(1), not "VAR=x run",
# which POSIX leaves unspecified for functions:
#     run env FIELD_PASSPHRASE=x "$F" set "$rec" remarks=y

set -u

: "${FIELD_BUILD:=$PWD/build}"
F="$FIELD_BUILD/bin/field"
export F

T=$(mktemp -d "${TMPDIR:-/tmp}/field-test.XXXXXX") || {
    echo "cannot make a temporary directory" >&2
    echo "0 passed, 1 failed"
    exit 1
}
OUT="$T/.out"
ERR="$T/.err"
RC=0
HOME="$T/home"
mkdir -p "$HOME"
export HOME
unset FIELD_PASSPHRASE XDG_DATA_HOME FIELD_HOME
# The program's messages are compared as text; keep the locale predictable.
LC_ALL=C.UTF-8
export LC_ALL

# python3 parses JSON and CSV for the checks. Resolve the interpreter once:
# a version-manager shim in PATH can cost half a second per start.
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || PY=python3
[ -x "$PY" ] || PY=python3

_passed=0
_failed=0
_finished=0
_at_exit=""

# at_exit CMD - run CMD (eval'd) before the temporary directory is removed;
# the last registered runs first.
at_exit() {
    _at_exit="$1
$_at_exit"
}

_cleanup() {
    _status=$?
    set +u
    if [ "$_finished" -eq 0 ]; then
        _failed=$((_failed + 1))
        echo "not ok - script ended early (exit status $_status)"
        echo "$_passed passed, $_failed failed"
        _status=1
    fi
    eval "$_at_exit"
    rm -rf "$T"
    exit "$_status"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- reporting ---------------------------------------------------------------

pass() {
    _passed=$((_passed + 1))
    echo "ok - $1"
}

# fail NAME [DETAIL...] - each DETAIL is printed as "# " lines.
fail() {
    _failed=$((_failed + 1))
    echo "not ok - $1"
    shift
    for _d in "$@"; do
        printf '%s\n' "$_d" | sed 's/^/#   /'
    done
}

# The last run, for failure details.
_last() {
    printf 'command exited %s\n' "$RC"
    if [ -s "$OUT" ]; then
        echo "stdout:"
        head -c 2000 "$OUT"
        echo
    fi
    if [ -s "$ERR" ]; then
        echo "stderr:"
        head -c 2000 "$ERR"
    fi
}

skip() {
    echo "# skip $1"
}

finish() {
    _finished=1
    echo "$_passed passed, $_failed failed"
    [ "$_failed" -eq 0 ] || exit 1
    exit 0
}

# --- running -----------------------------------------------------------------

run() {
    "$@" <"/dev/null" >"$OUT" 2>"$ERR"
    RC=$?
    # Under the sanitizer build (make SAN=1) any report is a failure of its
    # own, whatever the case expected of the exit status.
    if grep -q -e "Sanitizer" -e "runtime error:" "$ERR"; then
        fail "no sanitizer report from: $*" "$(head -c 3000 "$ERR")"
    fi
    return 0
}

# check NAME CMD... - passes when CMD exits 0.
check() {
    _n=$1
    shift
    if "$@" >"$T/.check" 2>&1 </dev/null; then
        pass "$_n"
    else
        fail "$_n" "failed: $*" "$(head -c 2000 "$T/.check")"
    fi
}

# expect_exit NAME CODE CMD... - run CMD, pass when it exits CODE.
expect_exit() {
    _n=$1
    _c=$2
    shift 2
    run "$@"
    expect_rc "$_n" "$_c"
}

# --- looking at the last run -------------------------------------------------

expect_rc() {
    if [ "$RC" -eq "$2" ]; then
        pass "$1"
    else
        fail "$1" "expected exit status $2" "$(_last)"
    fi
}

# expect_stdout NAME TEXT - standard output is exactly TEXT and a newline.
expect_stdout() {
    printf '%s\n' "$2" >"$T/.want"
    if cmp -s "$T/.want" "$OUT"; then
        pass "$1"
    else
        fail "$1" "standard output differs (want, then got):" \
            "$(cat "$T/.want")" "---" "$(_last)"
    fi
}

expect_stdout_empty() {
    if [ ! -s "$OUT" ]; then
        pass "$1"
    else
        fail "$1" "expected no standard output" "$(_last)"
    fi
}

expect_stdout_contains() {
    if grep -F -q -e "$2" "$OUT"; then
        pass "$1"
    else
        fail "$1" "standard output lacks: $2" "$(_last)"
    fi
}

expect_stdout_lacks() {
    if grep -F -q -e "$2" "$OUT"; then
        fail "$1" "standard output has: $2" "$(_last)"
    else
        pass "$1"
    fi
}

expect_stderr_contains() {
    if grep -F -q -e "$2" "$ERR"; then
        pass "$1"
    else
        fail "$1" "standard error lacks: $2" "$(_last)"
    fi
}

# expect_stderr_line NAME PREFIX - standard error is exactly one line, and
# it starts with PREFIX.
expect_stderr_line() {
    _lines=$(wc -l <"$ERR")
    _first=$(head -n 1 "$ERR")
    case "$_first" in
    "$2"*) _ok=1 ;;
    *) _ok=0 ;;
    esac
    if [ "$_ok" -eq 1 ] && [ "$_lines" -eq 1 ] &&
        [ "$(tail -c 1 "$ERR" | od -An -c | tr -d ' ')" = '\n' ]; then
        pass "$1"
    else
        fail "$1" "expected one line on standard error starting: $2" "$(_last)"
    fi
}

# expect_error NAME CODE COMMAND CMD... - run CMD; it must exit CODE, print
# nothing on standard output and one line "field: COMMAND: ..." on
# standard error. Counts as two checks (status, message).
expect_error() {
    _n=$1
    _c=$2
    _cmd=$3
    shift 3
    run "$@"
    expect_rc "$_n: exit $_c" "$_c"
    if [ -s "$OUT" ]; then
        fail "$_n: message" "expected no standard output" "$(_last)"
    else
        expect_stderr_line "$_n: message" "field: $_cmd: "
    fi
}

# expect_eq NAME GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then
        pass "$1"
    else
        fail "$1" "got:  $2" "want: $3"
    fi
}

# expect_match NAME TEXT PATTERN - TEXT matches the shell pattern.
expect_match() {
    case "$2" in
    $3) pass "$1" ;;
    *) fail "$1" "got: $2" "does not match: $3" ;;
    esac
}

# --- data directories and databases ------------------------------------------

# home NAME - use (and export) the data directory $T/NAME; it may not exist.
home() {
    FIELD_HOME="$T/$1"
    DB="$FIELD_HOME/field.db"
    KEY="$FIELD_HOME/device.key"
    export FIELD_HOME
}

# init_home NAME [INIT OPTIONS] - a fresh data directory, set up; an
# unexpected failure here fails the script, since all that follows needs it.
init_home() {
    home "$1"
    shift
    run "$F" init "$@"
    if [ "$RC" -ne 0 ]; then
        fail "init $FIELD_HOME" "$(_last)"
        exit 1
    fi
}

# new_record SUBJECT [NAME=VALUE...] - start a field-demo record; prints
# its id.
new_record() {
    _s=$1
    shift
    if ! "$F" new field-demo --subject "$_s" "$@" </dev/null >"$T/.new" 2>&1; then
        fail "new record for $_s" "$(cat "$T/.new")"
        exit 1
    fi
    cat "$T/.new"
}

# copy_home FROM TO - copy a data directory (the database is closed when no
# command runs, so a file copy is a consistent copy); then home TO.
copy_home() {
    rm -rf "${T:?}/$2"
    cp -Rp "$T/$1" "$T/$2"
    home "$2"
}

sql() {
    sqlite3 -batch "$DB" "$@"
}

nversions() {
    sqlite3 -batch "$DB" "SELECT count(*) FROM versions;"
}

# file_sum FILE - a checksum of FILE's bytes, to show a file was untouched.
file_sum() {
    cksum <"$1"
}

# json_get FILE PATH - the value at PATH (dot separated; numbers index
# arrays) in the JSON document FILE, written back as compact JSON with
# sorted keys and the text as it is (no \u escapes); "<missing>" if absent.
json_get() {
    "$PY" -c '
import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8"))
for p in sys.argv[2].split(".") if sys.argv[2] else []:
    try:
        v = v[int(p)] if isinstance(v, list) else v[p]
    except (KeyError, IndexError, ValueError, TypeError):
        print("<missing>")
        sys.exit(0)
print(json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
' "$1" "$2"
}

# hex_of TEXT - TEXT's bytes in lowercase hex, on one line.
hex_of() {
    printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'
}

if [ ! -x "$F" ]; then
    fail "program $F exists (build first: make all)"
    finish
fi

# faketime_lib - the path of libfaketime (Debian's faketime package), or
# nothing when it is not installed.
faketime_lib() {
    for _l in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 \
        /usr/lib/*/faketime/libfaketime.so.1; do
        if [ -e "$_l" ]; then
            echo "$_l"
            return
        fi
    done
}
