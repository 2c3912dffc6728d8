#!/bin/sh
# format-check.sh FILE... - fail, naming each file, where clang-format
# would lay a file out differently from how it is committed. The layout
# rules are .clang-format's; `make format` applies them.
set -u
if ! command -v clang-format >/dev/null 2>&1; then
    echo "format-check: clang-format not found: install the Debian package clang-format" >&2
    exit 1
fi
bad=0
for f in "$@"; do
    if ! clang-format "$f" | cmp -s - "$f"; then
        echo "format-check: $f differs from .clang-format's layout (run: make format)"
        bad=$((bad + 1))
    fi
done
if [ "$bad" -ne 0 ]; then
    echo "format-check: $bad of $# files differ"
    exit 1
fi
echo "format-check: $# files follow .clang-format"
