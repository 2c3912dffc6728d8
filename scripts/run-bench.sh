#!/bin/sh
# run-bench.sh BUILD_DIR - run every benchmark and print its figures, with
# the size of the programs. Benchmarks never fail a build on timing.
#
# Where PostgreSQL 15 is installed (FIELD_PG_BIN, default Debian's
# /usr/lib/postgresql/15/bin), a throwaway cluster is started for the
# benchmarks' run, as the tests start one (tests/integration/pg_lib.sh):
# initdb into a temporary directory, listening only on a Unix socket
# there, run by the postgres user when this runs as root; fsync and
# synchronous commit left on, so that its figures are durable ones like
# SQLite's (synchronous=FULL). bench_server reads the databases it gets
# from FIELD_BENCH_PG_1 and FIELD_BENCH_PG_2 and prints its PostgreSQL
# figures beside SQLite's, and times `migrate` into FIELD_BENCH_PG_3;
# bench_load runs its devices against one server on FIELD_BENCH_PG_4 and
# two servers sharing FIELD_BENCH_PG_5; without them each says so in one
# line.
# The cluster is stopped and removed at the end, whatever happens.
set -eu
O=${1:-build}
PG_BIN=${FIELD_PG_BIN:-/usr/lib/postgresql/15/bin}
tmp=$(mktemp)
pg_dir=""
pg_as=""
static_build=""

pg() {
    if [ -n "$pg_as" ]; then runuser -u "$pg_as" -- "$@"; else "$@"; fi
}
cleanup() {
    rm -f "$tmp"
    [ -z "$static_build" ] || rm -rf "$static_build"
    if [ -n "$pg_dir" ]; then
        pg "$PG_BIN/pg_ctl" -D "$pg_dir/data" -m immediate -w stop \
            >/dev/null 2>&1 || true
        rm -rf "$pg_dir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# start_pg - a throwaway cluster and two databases; 0 when ready.
start_pg() {
    [ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL 15 not installed ($PG_BIN/initdb)"; return 1; }
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || { echo "running as root without a postgres user"; return 1; }
        pg_as=postgres
    fi
    pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/field-bench-pg.XXXXXX")
    [ -z "$pg_as" ] || chown "$pg_as" "$pg_dir"
    pg "$PG_BIN/initdb" -D "$pg_dir/data" -U field -A trust -E UTF8 \
        --locale=C.UTF-8 >"$pg_dir/initdb.log" 2>&1 || { echo "initdb failed"; return 1; }
    pg "$PG_BIN/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 30 \
        -o "-c listen_addresses='' -k $pg_dir" start >/dev/null 2>&1 ||
        { echo "PostgreSQL did not start"; return 1; }
    for n in 1 2 3 4 5; do
        pg "$PG_BIN/createdb" -h "$pg_dir" -U field "bench$n" >/dev/null 2>&1 ||
            { echo "createdb failed"; return 1; }
    done
    FIELD_BENCH_PG_1="postgresql:///bench1?host=$pg_dir&user=field"
    FIELD_BENCH_PG_2="postgresql:///bench2?host=$pg_dir&user=field"
    FIELD_BENCH_PG_3="postgresql:///bench3?host=$pg_dir&user=field"
    FIELD_BENCH_PG_4="postgresql:///bench4?host=$pg_dir&user=field"
    FIELD_BENCH_PG_5="postgresql:///bench5?host=$pg_dir&user=field"
    export FIELD_BENCH_PG_1 FIELD_BENCH_PG_2 FIELD_BENCH_PG_3 \
        FIELD_BENCH_PG_4 FIELD_BENCH_PG_5
}

echo "== machine: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d)"
if start_pg >"$tmp" 2>&1; then
    echo "== PostgreSQL: a throwaway $("$PG_BIN/postgres" --version | cut -d' ' -f3) cluster for bench_server and bench_load"
else
    echo "== PostgreSQL: skipped ($(cat "$tmp")); bench_server and bench_load print SQLite's figures only"
fi
for b in "$O"/bench/bench_*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b"
done
# bench_sync once more with the static `field` beside this build's
# field-server, when `make static` made one for this machine after this
# build: what an inspector's device runs without 42 shared libraries to
# load at every start. Its figures are named sync_static_field.
arch=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
static_field=$(cd "$(dirname "$0")/.." && pwd)/build/static/$arch/bin/field
if [ -x "$static_field" ] && [ "$static_field" -nt "$O/bin/field" ]; then
    echo "== bench_sync, static field ($static_field)"
    static_build=$(mktemp -d)
    mkdir "$static_build/bin"
    ln -s "$static_field" "$static_build/bin/field"
    ln -s "$(cd "$O/bin" && pwd)/field-server" "$static_build/bin/field-server"
    ln -s "$(cd "$O/bench" && pwd)" "$static_build/bench" # bench_merge
    FIELD_BUILD=$static_build FIELD_BENCH_TAG=static_field "$O/bench/bench_sync"
else
    echo "== bench_sync, static field: skipped (make static after the build)"
fi
echo "== program size"
for p in "$O"/bin/*; do
    strip -o "$tmp" "$p"
    printf '%-12s %8d bytes (%d stripped)\n' "$(basename "$p")" \
        "$(stat -c %s "$p")" "$(stat -c %s "$tmp")"
done
