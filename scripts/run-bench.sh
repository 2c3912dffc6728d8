#!/bin/sh
# run-bench.sh BUILD_DIR - run every benchmark and print its figures, with
# the size of the programs. Benchmarks never fail a build on timing.
set -eu
O=${1:-build}
echo "== machine: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d)"
for b in "$O"/bench/bench_*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b"
done
echo "== program size"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for p in "$O"/bin/*; do
    strip -o "$tmp" "$p"
    printf '%-12s %8d bytes (%d stripped)\n' "$(basename "$p")" \
        "$(stat -c %s "$p")" "$(stat -c %s "$tmp")"
done
