#!/bin/sh
# fuzz.sh BUILD_DIR NAME... - run each libFuzzer harness BUILD_DIR/NAME
# (built by `make fuzz`: clang, address and undefined-behaviour
# sanitizers, the libraries compiled once) for FUZZ_SECONDS (default 30)
# on a temporary corpus started from the committed seeds in
# tests/fuzz/corpus/NAME/, which are never changed.
#
# Each harness prints one line: its runs and the corpus it grew. A crash,
# a leak, undefined behaviour, or one input that runs longer than
# FUZZ_TIMEOUT seconds (default 25) fails the run: the harness's last
# output is shown and the input that did it is left in BUILD_DIR
# (crash-*, leak-*, timeout-*), to replay with `BUILD_DIR/NAME FILE`.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: fuzz.sh BUILD_DIR NAME..." >&2
    exit 2
fi
dir=$1
shift
seconds=${FUZZ_SECONDS:-30}
timeout=${FUZZ_TIMEOUT:-25}
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT INT TERM

for name in "$@"; do
    rm -rf "${corpus:?}"/*
    seeds=tests/fuzz/corpus/$name
    # Inputs as long as the longest seed, and at least 4 KiB: a seed cut
    # short would lose what made it worth keeping (a whole signed bundle).
    max_len=4096
    if [ -d "$seeds" ]; then
        cp "$seeds"/* "$corpus"/
        longest=$(wc -c "$seeds"/* | sort -n | tail -n 2 | head -n 1 |
            awk '{print $1}')
        if [ "$longest" -gt "$max_len" ]; then
            max_len=$longest
        fi
    fi
    log="$dir/$name.log"
    if (cd "$dir" && "./$name" -max_total_time="$seconds" \
        -timeout="$timeout" -max_len="$max_len" "$corpus") >"$log" 2>&1; then
        runs=$(grep -E '^Done [0-9]+ runs' "$log" | sed 's/^Done \([0-9]*\) runs.*/\1/')
        echo "fuzz: $name: ${runs:-?} runs in $seconds s, corpus" \
            "$(ls "$corpus" | wc -l) inputs from $(ls "$seeds" 2>/dev/null | wc -l) seeds"
    else
        tail -n 60 "$log"
        echo "fuzz: $name FAILED; its input is in $dir (see $log)" >&2
        exit 1
    fi
done
