#!/bin/sh
# static.sh - build fully static `field` and `field-server` for Linux
# (scripts/static.mk's `make static` and `make static-arm64` call it).
#
#   scripts/static.sh deps  ARCH   install what the build needs (as root)
#   scripts/static.sh build ARCH   fetch, build, link, strip
#
# ARCH is a Debian architecture name: amd64 (the default) or arm64 (cross-
# built with crossbuild-essential-arm64). Everything goes under
# build/static/: the source packages in src/, and per architecture
# ARCH/prefix (the libraries built here), ARCH/obj (the project's objects)
# and ARCH/bin (the stripped programs). Nothing fetched is committed.
#
# Where each library comes from, and why:
#   - SQLite, libsodium, utf8proc, zlib, libexif, mbedTLS, c-ares: Debian's own
#     static archives (the -dev packages, :arm64 ones through multiarch).
#   - libcurl: its Debian source package, configured for HTTP and HTTPS
#     only, mbedTLS for TLS and c-ares for names. mbedTLS because the size
#     target (stripped field <= 4 MB) is not met with OpenSSL's libcrypto
#     (README "A static binary" gives the measured sizes). c-ares because
#     glibc's getaddrinfo() in a static program loads the NSS modules of
#     the glibc it was built with at run time, which another system (an
#     Alpine box, an older Debian) does not have; c-ares reads
#     /etc/resolv.conf and /etc/hosts itself.
#   - cJSON, libxlsxwriter: no static archive in Debian; built from their
#     source packages.
#   - libmicrohttpd: Debian's archive needs GnuTLS, whose static chain
#     (nettle, gmp, tasn1, idn2, unistring, p11-kit, which has no static
#     archive) is not worth its weight; built from its source package
#     without HTTPS. The static field-server therefore serves plain HTTP
#     only: behind a reverse proxy, or on loopback (docs/SERVER.md).
#   - the CA store is the system's, probed at run time (sync/ca_store.c);
#     curl is built with no bundle path of its own.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ACTION=${1:-build}
ARCH=${2:-amd64}
case $ARCH in
amd64) TRIPLET=x86_64-linux-gnu ;;
arm64) TRIPLET=aarch64-linux-gnu ;;
*)
    echo "static: unknown architecture $ARCH (amd64 or arm64)" >&2
    exit 2
    ;;
esac
if [ "$(dpkg --print-architecture 2>/dev/null)" = "$ARCH" ]; then
    CROSS=
    CC=${STATIC_CC:-cc}
else
    CROSS=$TRIPLET
    CC=${STATIC_CC:-$TRIPLET-gcc}
fi
SRC=$ROOT/build/static/src
# STATIC_TLS=openssl builds libcurl with OpenSSL instead, into its own
# directory, to compare (README "A static binary").
TLS=${STATIC_TLS:-mbedtls}
DIR=$ROOT/build/static/$ARCH${STATIC_TLS:+-$STATIC_TLS}
PREFIX=$DIR/prefix
JOBS=${STATIC_JOBS:-2}
# The stripped field's size target: 4 MB (README "A static binary").
FIELD_MAX_BYTES=4000000
# Small code: optimised for size, every function in its own section so
# that the linker drops the unused ones, and no unwind tables (C without
# exceptions or thread cancellation needs none; they were 300 KB). Not
# position-independent: a static program is loaded at one fixed address
# anyway, so PIE code only cost its indirections (13 kB of code); what is
# linked from these objects is linked -no-pie.
LIB_CFLAGS="-Os -fno-pie -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables"
SOURCES="curl libmicrohttpd cjson libxlsxwriter sqlite3"

# ---- deps ----------------------------------------------------------------

# apt-get source needs a deb-src line. It goes in a file of its own,
# mirroring the distribution's sources (deb822 or one-line), so that the
# distribution's file is never edited.
add_deb_src() {
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed 's/^Types: deb$/Types: deb-src/' \
            /etc/apt/sources.list.d/debian.sources \
            >/etc/apt/sources.list.d/field-src.sources
    else
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list \
            >/etc/apt/sources.list.d/field-src.list
    fi
    echo "static: added deb-src lines in /etc/apt/sources.list.d/field-src.*"
}

# Idempotent, like scripts/deps.sh: does nothing when all is there, and
# when something is missing and this is not root, says what to run.
deps() {
    pkgs="dpkg-dev libmbedtls-dev libc-ares-dev"
    if [ -n "$CROSS" ]; then
        pkgs="$pkgs crossbuild-essential-$ARCH qemu-user"
        for p in libsqlite3-dev libsodium-dev libutf8proc-dev zlib1g-dev \
            libexif-dev libcmocka-dev libmbedtls-dev libc-ares-dev; do
            pkgs="$pkgs $p:$ARCH"
        done
    fi
    has_src=y
    if ! grep -rqs '^\(Types:.*deb-src\|deb-src \)' /etc/apt/sources.list \
        /etc/apt/sources.list.d/; then
        has_src=
    fi
    has_arch=y
    if [ -n "$CROSS" ] && ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
        has_arch=
    fi
    if [ "$(id -u)" -ne 0 ] && { [ -z "$has_src" ] || [ -z "$has_arch" ]; }; then
        echo "static: not root; run as root: scripts/static.sh deps $ARCH" >&2
        exit 1
    fi
    if [ -z "$has_src" ]; then
        add_deb_src
    fi
    if [ -z "$has_arch" ]; then
        dpkg --add-architecture "$ARCH"
    fi
    if [ -z "$has_src" ] || [ -z "$has_arch" ]; then
        apt-get update -qq
    fi
    FIELD_DEPS_EXTRA="$pkgs" sh "$ROOT/scripts/deps.sh"
}

# ---- libraries -----------------------------------------------------------

fetch() {
    mkdir -p "$SRC"
    for s in $SOURCES; do
        if ! ls -d "$SRC/$s"-[0-9]*/ >/dev/null 2>&1; then
            (cd "$SRC" && apt-get source -qq "$s") || {
                echo "static: cannot fetch the source package $s;" \
                    "run as root: scripts/static.sh deps $ARCH" >&2
                exit 1
            }
        fi
    done
}

srcdir() { # the unpacked source package $1
    ls -d "$SRC/$1"-[0-9]*/ | head -n 1 | sed 's:/$::'
}

# configure's --host for a cross build; nothing for a native one.
host_flag() {
    if [ -n "$CROSS" ]; then
        echo "--host=$CROSS"
    fi
}

# configure_fresh NAME PACKAGE OPTION...: the source package PACKAGE
# configured afresh in $DIR/NAME (now $b) for a static library in $PREFIX.
configure_fresh() {
    b=$DIR/$1
    s=$(srcdir "$2")
    shift 2
    rm -rf "$b"
    mkdir -p "$b"
    # shellcheck disable=SC2046
    (cd "$b" && "$s/configure" -q $(host_flag) CC="$CC" AR="$AR" \
        RANLIB="$RANLIB" CFLAGS="$LIB_CFLAGS" LDFLAGS=-no-pie \
        --prefix="$PREFIX" \
        --disable-shared --enable-static --disable-dependency-tracking "$@")
}

# What of libcurl field leaves out: every protocol but HTTP(S), and the
# parts it never asks for, among them the built-in progress meter (field
# draws its own, from CURLOPT_XFERINFOFUNCTION, which stays), the option
# introspection and header APIs: 1.9 kB of code. Kept: proxies (a
# province's network may need one) and curl_easy_strerror's words
# (--disable-verbose would empty them).
CURL_OPTIONS="--enable-ares --with-zlib --without-ca-bundle --without-ca-path \
--without-ca-fallback --disable-ftp --disable-file --disable-ldap \
--disable-ldaps --disable-rtsp --disable-dict --disable-telnet \
--disable-tftp --disable-pop3 --disable-imap --disable-smb \
--disable-smtp --disable-gopher --disable-mqtt --disable-manual \
--disable-ntlm --disable-ntlm-wb --disable-tls-srp --disable-cookies \
--disable-alt-svc --disable-hsts --disable-doh --disable-mime \
--disable-netrc --disable-websockets --disable-unix-sockets \
--disable-progress-meter --disable-get-easy-options --disable-headers-api \
--without-libpsl --without-libidn2 --without-brotli --without-zstd \
--without-nghttp2 --without-nghttp3 --without-ngtcp2 \
--without-libssh2 --without-libssh --without-librtmp \
--without-gssapi --without-hyper --without-libgsasl"

build_curl() {
    # shellcheck disable=SC2086
    configure_fresh curl curl PKG_CONFIG="$DIR/pkg-config" \
        --with-"$TLS" $CURL_OPTIONS
    make -s -C "$b/lib" -j"$JOBS"
    make -s -C "$b/lib" install >/dev/null
    make -s -C "$b/include" install >/dev/null
    make -s -C "$b" install-pkgconfigDATA >/dev/null
}

build_microhttpd() {
    configure_fresh microhttpd libmicrohttpd --disable-https --without-gnutls \
        --disable-doc --disable-examples --disable-curl --disable-dauth
    make -s -C "$b/src/microhttpd" -j"$JOBS" install >/dev/null
    make -s -C "$b/src/include" install >/dev/null
    make -s -C "$b" install-pkgconfigDATA >/dev/null
}

# SQLite from its Debian source package rather than Debian's archive: that
# one carries FTS3/4/5, R-Tree, the math functions (and with them half of
# libm) and extension loading (and with it glibc's dlopen), 0.6 MB that no
# part of field uses. The amalgamation is made once for every
# architecture; Debian's options that change behaviour are kept.
SQLITE_CFLAGS="-DSQLITE_THREADSAFE=1 -DSQLITE_OMIT_LOAD_EXTENSION \
-DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_OMIT_DEPRECATED \
-DSQLITE_OMIT_SHARED_CACHE -DSQLITE_SECURE_DELETE \
-DSQLITE_MAX_VARIABLE_NUMBER=250000 -DHAVE_USLEEP=1 -DHAVE_FDATASYNC=1 \
-DHAVE_LOCALTIME_R=1 -DHAVE_GMTIME_R=1 -DHAVE_STRCHRNUL=1 \
-DSQLITE_OMIT_UTF16 -DSQLITE_OMIT_PROGRESS_CALLBACK -DSQLITE_OMIT_COMPLETE \
-DSQLITE_OMIT_GET_TABLE -DSQLITE_OMIT_DECLTYPE -DSQLITE_OMIT_TRACE"

build_sqlite() {
    s=$(srcdir sqlite3)
    a=$SRC/sqlite-amalgamation
    if [ ! -f "$a/sqlite3.c" ]; then
        rm -rf "$a"
        mkdir -p "$a"
        (cd "$a" && "$s/configure" -q --disable-tcl >/dev/null &&
            make -s sqlite3.c >/dev/null)
    fi
    mkdir -p "$DIR/sqlite" "$PREFIX/include" "$PREFIX/lib/pkgconfig"
    # shellcheck disable=SC2086
    "$CC" $LIB_CFLAGS $SQLITE_CFLAGS -c -o "$DIR/sqlite/sqlite3.o" \
        "$a/sqlite3.c"
    rm -f "$PREFIX/lib/libsqlite3.a"
    "$AR" rcs "$PREFIX/lib/libsqlite3.a" "$DIR/sqlite/sqlite3.o"
    cp "$a/sqlite3.h" "$PREFIX/include/"
    pc sqlite3 "-lsqlite3" "-lm -lpthread"
}

# cJSON is one file; built as Debian builds it, without its utilities.
build_cjson() {
    s=$(srcdir cjson)
    b=$DIR/cjson
    mkdir -p "$b" "$PREFIX/include/cjson" "$PREFIX/lib/pkgconfig"
    "$CC" $LIB_CFLAGS -c -o "$b/cJSON.o" "$s/cJSON.c"
    rm -f "$PREFIX/lib/libcjson.a"
    "$AR" rcs "$PREFIX/lib/libcjson.a" "$b/cJSON.o"
    cp "$s/cJSON.h" "$PREFIX/include/cjson/"
    pc libcjson "-lcjson" "-lm"
}

# libxlsxwriter with its own minizip, tmpfile and md5 (third_party/), as
# its Makefile builds it when the system's are not asked for.
build_xlsxwriter() {
    s=$(srcdir libxlsxwriter)
    b=$DIR/xlsxwriter
    rm -rf "$b"
    mkdir -p "$b" "$PREFIX/include"
    for f in "$s"/src/*.c "$s"/third_party/minizip/ioapi.c \
        "$s"/third_party/minizip/zip.c \
        "$s"/third_party/tmpfileplus/tmpfileplus.c \
        "$s"/third_party/md5/md5.c; do
        "$CC" $LIB_CFLAGS -DNOCRYPT -DNOUNCRYPT -I"$s/include" \
            -c -o "$b/$(basename "$f" .c).o" "$f"
    done
    rm -f "$PREFIX/lib/libxlsxwriter.a"
    "$AR" rcs "$PREFIX/lib/libxlsxwriter.a" "$b"/*.o
    cp -r "$s"/include/xlsxwriter.h "$s"/include/xlsxwriter "$PREFIX/include/"
    pc xlsxwriter "-lxlsxwriter" "-lz"
}

pc() { # name, libs, private libs: a pkg-config file for a library built here
    cat >"$PREFIX/lib/pkgconfig/$1.pc" <<EOF
prefix=$PREFIX
Name: $1
Description: $1, static, for field (scripts/static.sh)
Version: 0
Cflags: -I\${prefix}/include
Libs: -L\${prefix}/lib $2
Libs.private: $3
EOF
}

# pkg-config for this architecture: the libraries built here first, then
# Debian's (multiarch), always with their static dependencies.
write_pkg_config() {
    mkdir -p "$DIR" "$PREFIX/lib/pkgconfig"
    cat >"$DIR/pkg-config" <<EOF
#!/bin/sh
PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig:/usr/lib/$TRIPLET/pkgconfig:/usr/share/pkgconfig \\
    exec pkg-config --static "\$@"
EOF
    chmod +x "$DIR/pkg-config"
}

# Each library is built once; a stamp names what it was built from.
once() { # name, function
    stamp=$DIR/stamp/$1
    want="$(srcdir "$1") $CC $LIB_CFLAGS $SQLITE_CFLAGS $TLS $CURL_OPTIONS"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return
    fi
    echo "static: building $1 for $ARCH"
    "$2"
    mkdir -p "$DIR/stamp"
    echo "$want" >"$stamp"
}

build() {
    if ! command -v "$CC" >/dev/null 2>&1; then
        echo "static: $CC not found; run as root: scripts/static.sh deps $ARCH" >&2
        exit 1
    fi
    AR=${CROSS:+$CROSS-}ar
    STRIP=${CROSS:+$CROSS-}strip
    RANLIB=${CROSS:+$CROSS-}ranlib
    fetch
    write_pkg_config
    once sqlite3 build_sqlite
    once cjson build_cjson
    once libxlsxwriter build_xlsxwriter
    once libmicrohttpd build_microhttpd
    once curl build_curl
    # The project itself, by its own Makefile, into its own directory.
    # PG=: no PostgreSQL back end (libpq has no static build here); the
    # static server keeps its data in SQLite, as most provinces do.
    make -s -C "$ROOT" -j"$JOBS" O="$DIR/obj" CC="$CC" HOSTCC=cc AR="$AR" \
        PKG_CONFIG="$DIR/pkg-config" OPT="$LIB_CFLAGS -g" PG= \
        LDFLAGS="-static -Wl,--gc-sections" \
        "$DIR/obj/bin/field" "$DIR/obj/bin/field-server"
    if [ -n "$CROSS" ]; then
        # The golden vectors' unit tests, for make check-arm64 to run under
        # qemu (linked dynamically: Debian has no static cmocka).
        make -s -C "$ROOT" -j"$JOBS" O="$DIR/obj" CC="$CC" HOSTCC=cc \
            AR="$AR" PKG_CONFIG="$DIR/pkg-config" OPT="$LIB_CFLAGS -g" PG= \
            LDFLAGS=-no-pie \
            "$DIR/obj/tests/test_version" "$DIR/obj/tests/test_thresholds"
    fi
    mkdir -p "$DIR/bin"
    for p in field field-server; do
        "$STRIP" -o "$DIR/bin/$p" "$DIR/obj/bin/$p"
    done
    ls -l "$DIR/bin/field" "$DIR/bin/field-server"
    # The size target of the stripped field (issue 12): the binary is
    # built all the same, but the build fails, so that what pushed it over
    # is noticed where it was added.
    size=$(wc -c <"$DIR/bin/field")
    if [ "$size" -gt "$FIELD_MAX_BYTES" ]; then
        echo "static: field is $size bytes, over the target of $FIELD_MAX_BYTES" >&2
        exit 1
    fi
}

case $ACTION in
deps) deps ;;
build) build ;;
*)
    echo "usage: scripts/static.sh deps|build [amd64|arm64]" >&2
    exit 2
    ;;
esac
