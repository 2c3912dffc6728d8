#!/bin/sh
# fuzz.sh HARNESS.c... - build each libFuzzer harness with clang (address
# and undefined-behaviour sanitizers) and run it for FUZZ_SECONDS (default
# 30) on a temporary corpus started from tests/fuzz/corpus/NAME/. A crash fails the run
# and leaves the crashing input in build/fuzz/.
set -eu
SECONDS_EACH=${FUZZ_SECONDS:-30}
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang not found; install clang and libclang-rt-14-dev" >&2
    exit 1
fi
mkdir -p build/fuzz
# The export module (field/export*.c) writes files and parses nothing from
# outside; it needs libxlsxwriter, which no harness links.
LIBSRC=$(ls field/*.c | grep -v -e '/main.c$' -e '/cmd_' -e '/export')
for h in "$@"; do
    name=$(basename "$h" .c)
    echo "== $name ($SECONDS_EACH s)"
    # shellcheck disable=SC2086
    clang -g -O1 -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
        -fsanitize=fuzzer,address,undefined -Ifield -Ibuild/gen \
        $LIBSRC build/gen/embedded_data.c "$h" -o "build/fuzz/$name" \
        $(pkg-config --cflags --libs sqlite3 libsodium libutf8proc) -lm
    corpus=$(mktemp -d)
    # start from the committed seeds, if any, without changing them
    if [ -d "tests/fuzz/corpus/$name" ]; then
        cp "tests/fuzz/corpus/$name"/* "$corpus"/
    fi
    (cd build/fuzz && "./$name" -max_total_time="$SECONDS_EACH" -max_len=4096 \
        "$corpus") || { rm -rf "$corpus"; exit 1; }
    rm -rf "$corpus"
done
