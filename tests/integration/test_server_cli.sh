#!/bin/sh
# test_server_cli.sh - field-server's command line behaves as field's
# (tests/integration/test_cli.sh): --help and 'help COMMAND' print the same
# layout, a mistyped command gets the closest name suggested, usage errors
# exit 2, not found 3, refused 4, each with one line on standard error
# "field-server: COMMAND: ...". (audit's exit 5 on a chain alarm is
# checked in test_server_api.sh.)
. "$(dirname "$0")/server_lib.sh"

COMMANDS="audit backup devices enroll-code export init migrate new-epoch record serve targets templates units"
DBS="$T/cli.db"

# --- the program and its help -------------------------------------------------

run "$S" --version
expect_rc "--version exits 0" 0
expect_match "--version prints 'field-server X.Y.Z'" "$(cat "$OUT")" "field-server [0-9]*.[0-9]*.[0-9]*"

run "$S" --help
expect_rc "--help exits 0" 0
expect_match "--help prints usage" "$(head -n 1 "$OUT")" "usage: field-server *"
for c in $COMMANDS; do
    expect_stdout_contains "--help lists $c" "  $c"
done
expect_stdout_contains "--help says how to explain a command" "'field-server help <command>'"
run "$S"
expect_rc "no command: usage, exit 2" 2
expect_stdout_empty "no command: nothing on standard output"

for c in $COMMANDS; do
    run "$S" "$c" --help
    expect_rc "$c --help exits 0" 0
    expect_match "$c --help prints its usage" "$(head -n 1 "$OUT")" "usage: field-server $c*"
    expect_eq "$c --help: a blank line after the usage line" "$(sed -n 2p "$OUT")" ""
    expect_stdout_contains "$c --help: the options every command has" "  --db PATH"
    cp "$OUT" "$T/help.$c"
    run "$S" help "$c"
    if [ "$RC" -eq 0 ] && cmp -s "$OUT" "$T/help.$c"; then
        pass "help $c prints the same as $c --help"
    else
        fail "help $c prints the same as $c --help" "$(_last)"
    fi
done

# --- mistyped commands and options: exit 2, as field ---------------------------

run "$S" serv3
expect_rc "unknown command exits 2" 2
expect_stderr_line "unknown command: one line" "field-server: "
expect_stderr_contains "unknown command suggests the closest" "did you mean 'serve'?"
run "$S" devics
expect_stderr_contains "unknown command 'devics' suggests devices" "did you mean 'devices'?"
run "$S" no-such-thing-at-all
expect_rc "unknown command without a near one exits 2" 2
expect_stderr_contains "... and says where to look" "see 'field-server help'"
expect_stdout_empty "unknown command prints nothing on standard output"
run "$S" help serv3
expect_rc "help of an unknown command exits 2" 2
expect_stderr_contains "... with the suggestion" "did you mean 'serve'?"
run "$S" --bogus
expect_rc "unknown global option exits 2" 2
expect_stderr_contains "unknown global option is called an option" "unknown option '--bogus'"
run "$S" ser --help
expect_rc "a unique prefix is accepted" 0
expect_match "... and names the command" "$(head -n 1 "$OUT")" "usage: field-server serve*"
run "$F" serv3
expect_rc "field: an unknown command exits 2 as well" 2

for c in $COMMANDS; do
    run "$S" "$c" --db "$DBS" --no-such-option
    expect_rc "$c --no-such-option exits 2" 2
    expect_stderr_line "$c --no-such-option: one line 'field-server: $c: '" "field-server: $c: "
done

# --- the same exit statuses as field for the same errors -----------------------

run "$S" init --db "$DBS"
expect_rc "init" 0
run "$S" init --db "$DBS"
expect_rc "init twice: refused, exit 4" 4
expect_stderr_line "... one line" "field-server: init: "
run "$S" record --db "$DBS" 0193000000000000000000000000dead
expect_rc "an unknown record: not found, exit 3" 3
run "$S" templates add --db "$DBS" "$T/missing.json"
expect_rc "options after a subcommand are arguments: usage, exit 2" 2
run "$S" templates --db "$DBS" add "$T/missing.json"
expect_rc "a missing file: not found, exit 3" 3
run "$S" devices --db "$DBS" revoke 00
expect_rc "a device prefix too short: usage, exit 2" 2
# Two devices whose keys share their first digits (written directly: the
# command line is under test, not enrollment).
K1=abcd1234abcd1234abcd1234abcd1234abcd1234abcd1234abcd1234abcd1234
K2=abcd9999abcd1234abcd1234abcd1234abcd1234abcd1234abcd1234abcd1234
sqls "INSERT INTO devices VALUES ('$K1', 'Ann', 'inspector', 1000, NULL);
      INSERT INTO devices VALUES ('$K2', 'Bob', 'admin', 1000, NULL);"
run "$S" devices --db "$DBS" revoke abcd
expect_rc "an ambiguous device prefix: exit 3, as field's ambiguous record prefix" 3
expect_stderr_contains "... naming it" "several devices start with abcd"
run "$S" devices --db "$DBS" revoke abcd1
expect_rc "a unique device prefix: revoked" 0
run "$S" devices --db "$DBS" revoke abcd1
expect_rc "revoked already: refused, exit 4" 4
run "$S" audit --db "$T/none.db"
expect_rc "no database: not found, exit 3" 3
finish
