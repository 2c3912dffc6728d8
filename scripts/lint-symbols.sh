#!/bin/sh
# lint-symbols.sh LIB... - every global symbol a library defines must carry
# its folder's prefix (fld_ for field/, syn_ for sync/, srv_ for
# server-stub/), so that nothing escapes into the program's namespace.
set -eu
bad=0
for lib in "$@"; do
    case "$lib" in
    *libfield.a) prefix=fld_ ;;
    *libsync.a) prefix=syn_ ;;
    *libserver.a) prefix=srv_ ;;
    *) echo "lint: unknown library $lib" >&2; exit 2 ;;
    esac
    out=$(nm -g --defined-only "$lib" | awk -v p="$prefix" \
        'NF == 3 && $3 !~ ("^" p) { print $3 }')
    if [ -n "$out" ]; then
        echo "lint: $lib exports symbols without the $prefix prefix:" >&2
        echo "$out" | sed 's/^/    /' >&2
        bad=1
    fi
done
[ "$bad" -eq 0 ] && echo "lint: symbol prefixes ok"
exit $bad
