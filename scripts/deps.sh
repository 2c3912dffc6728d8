#!/bin/sh
# deps.sh - install the Debian packages that building and testing field
# need. python3-cryptography, faketime and postgresql are for tests only:
# an independent Ed25519 implementation that re-signs versions in the
# tampering test, the clock the province report's test runs under, and the
# throwaway PostgreSQL the server's PostgreSQL back end is tested on
# (tests/integration/pg_lib.sh; libpq-dev builds that back end).
# Idempotent: installs only what is missing, and does nothing (not even
# apt-get update) when everything is there.
#
#   scripts/deps.sh            build and test dependencies
#   FIELD_DEPS_EXTRA="clang-format"   also install these (CI adds its tools)
set -eu

PACKAGES="build-essential pkg-config sqlite3 libsqlite3-dev libcurl4-openssl-dev
libcjson-dev libsodium-dev libcmocka-dev libmicrohttpd-dev zlib1g-dev
libxlsxwriter-dev libexif-dev libpq-dev postgresql
libutf8proc-dev python3 python3-cryptography faketime ${FIELD_DEPS_EXTRA:-}"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "deps: all build and test packages are installed"
    exit 0
fi

echo "deps: missing:$missing"
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=sudo
    else
        echo "deps: not root; run as root:" >&2
        echo "    apt-get update && apt-get install -y$missing" >&2
        exit 1
    fi
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
echo "deps: installed:$missing"
