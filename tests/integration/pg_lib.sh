# pg_lib.sh - a throwaway PostgreSQL 15 for one integration test, sourced
# after lib.sh (or server_lib.sh).
#
# pg_start initdb's a cluster into a private temporary directory, starts it
# listening only on a Unix socket in that directory (listen_addresses is
# empty: nothing on the network, and no port to collide with, so two tests
# can each run their own at once), creates the database "field" and sets
# PG_URL to its connection string, postgresql:///field?host=DIR&user=field.
# The EXIT trap stops it (pg_ctl stop -m immediate: nothing of it is worth
# keeping) and removes the directory, whatever happens.
#
# PostgreSQL refuses to run as root, so when the test runs as root the
# cluster belongs to the postgres user (runuser), which then owns the
# directory; the test's own programs reach the socket as root. When
# initdb is not installed (FIELD_PG_BIN, default Debian's
# /usr/lib/postgresql/15/bin), or as root without a postgres user, the
# whole script is skipped with one line and counted as passed-nothing:
# scripts/deps.sh installs postgresql so that CI runs it.

PG_BIN=${FIELD_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=""
PG_URL=""
PG_AS=""

# pg_as CMD... - run CMD as the cluster's owner.
pg_as() {
    if [ -n "$PG_AS" ]; then
        runuser -u "$PG_AS" -- "$@"
    else
        "$@"
    fi
}

# pg_skip_unless_available - skip the script (finish) when no PostgreSQL.
pg_skip_unless_available() {
    if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
        skip "PostgreSQL: $PG_BIN/initdb is not installed (apt-get install postgresql)"
        finish
    fi
    if [ "$(id -u)" -eq 0 ]; then
        if ! id postgres >/dev/null 2>&1 || ! command -v runuser >/dev/null; then
            skip "PostgreSQL: running as root without a postgres user to run it"
            finish
        fi
        PG_AS=postgres
    fi
}

# pg_run_server - start the cluster of PG_DIR (again).
pg_run_server() {
    # fsync off: the cluster is thrown away at the end; nothing listens on
    # the network, the socket is in PG_DIR.
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
        -t 30 -o "-c listen_addresses='' -k $PG_DIR -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off" start \
        >"$PG_DIR/pg_ctl.log" 2>&1
}

# pg_restart - stop the cluster if it runs, and start it again.
pg_restart() {
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
    pg_run_server || {
        fail "restart PostgreSQL" "$(tail -n 20 "$PG_DIR/server.log")"
        finish
    }
}

pg_start() {
    pg_skip_unless_available
    # Not under $T: $T is private to this user, and the cluster's owner
    # must be able to reach its directory.
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/field-pg.XXXXXX") || {
        fail "make a directory for PostgreSQL"
        finish
    }
    at_exit 'pg_stop'
    [ -z "$PG_AS" ] || chown "$PG_AS" "$PG_DIR"
    if ! pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U field -A trust \
        -E UTF8 --locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1; then
        fail "initdb a throwaway PostgreSQL" "$(tail -n 20 "$PG_DIR/initdb.log")"
        finish
    fi
    if ! pg_run_server; then
        fail "start a throwaway PostgreSQL" "$(tail -n 20 "$PG_DIR/server.log")"
        finish
    fi
    if ! pg_as "$PG_BIN/createdb" -h "$PG_DIR" -U field field \
        >"$PG_DIR/createdb.log" 2>&1; then
        fail "create the test database" "$(cat "$PG_DIR/createdb.log")"
        finish
    fi
    PG_URL="postgresql:///field?host=$PG_DIR&user=field"
    # `field-server backup` runs pg_dump from PATH: the cluster's own.
    PATH="$PG_BIN:$PATH"
    export PG_URL PATH
}

# pg_createdb NAME - another empty database on the same cluster; prints
# its connection string.
pg_createdb() {
    pg_as "$PG_BIN/createdb" -h "$PG_DIR" -U field "$1" >/dev/null 2>&1 &&
        echo "postgresql:///$1?host=$PG_DIR&user=field"
}

# pg_psql DB SQL - run SQL on database DB, unaligned tuples only.
pg_psql() {
    "$PG_BIN/psql" -X -q -A -t -h "$PG_DIR" -U field -d "$1" -c "$2"
}

pg_stop() {
    [ -n "$PG_DIR" ] || return 0
    if [ -f "$PG_DIR/data/postmaster.pid" ]; then
        pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop \
            >/dev/null 2>&1
    fi
    rm -rf "$PG_DIR"
    PG_DIR=""
}
