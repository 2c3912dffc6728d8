#!/bin/sh
# test_packages.sh - the Debian packages of make deb, linted, installed
# into a throwaway root and tried there; run by `make check-deb`
# (packaging/packaging.mk), which builds them first. Not part of make
# check: it needs dpkg's and lintian's tools and root (or fakeroot), and
# lintian alone takes longer than most of the suite.
#
# The root is an empty tree with an initialised dpkg database whose status
# holds, copied from this machine's, only the packages our Depends name,
# so that dpkg checks the dependencies for real against what the programs
# will load here. dpkg installs with --force-script-chrootless: the
# maintainer scripts run on this system with DPKG_ROOT set, and honour it
# (the system user goes into the root's /etc, the state directory into
# its /var/lib; no service of this machine is touched). Then the programs
# run from the root, the server's database gets real data, a newer build
# of field-server is installed over it (the data and the administrator's
# settings must survive), removed (the data stays) and purged (it goes).
#
# Environment (set by make check-deb): FIELD_BUILD, DEB_OUT (where the
# packages are), DEB_VERSION, DEB_ARCH.
. "$(dirname "$0")/../integration/lib.sh"

TOP=$(cd "$(dirname "$0")/../.." && pwd)
: "${DEB_OUT:=$FIELD_BUILD/deb}"
: "${DEB_VERSION:=$(dpkg-parsechangelog -l "$TOP/packaging/changelog" -S Version)}"
: "${DEB_ARCH:=$(dpkg --print-architecture)}"
V1=$DEB_VERSION
V2="$DEB_VERSION+test1"
FIELD_DEB="$DEB_OUT/field_${V1}_$DEB_ARCH.deb"
SERVER_DEB="$DEB_OUT/field-server_${V1}_$DEB_ARCH.deb"

# dpkg as root; fakeroot lets a user run the same, owners and all faked.
AS_ROOT=
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v fakeroot >/dev/null 2>&1; then
        fail "root or fakeroot is needed to install packages"
        finish
    fi
    # One fakeroot state for every call: the owners dpkg set stay known.
    : >"$T/fakeroot.state"
    AS_ROOT="fakeroot -i $T/fakeroot.state -s $T/fakeroot.state"
fi

for f in "$FIELD_DEB" "$SERVER_DEB"; do
    [ -f "$f" ] || { fail "package $f exists (make deb first)"; finish; }
done

# --- the packages --------------------------------------------------------

run dpkg-deb -f "$FIELD_DEB" Version
expect_stdout "field's version is the changelog's" "$V1"
run "$F" --version
expect_stdout "... and the program's" "field $V1"
run dpkg-deb -c "$SERVER_DEB"
for p in ./usr/bin/field-server ./etc/field-server/field-server.conf \
    ./lib/systemd/system/field-server.service \
    ./usr/lib/sysusers.d/field-server.conf \
    ./usr/share/man/man1/field-server.1.gz \
    ./usr/share/doc/field-server/copyright \
    ./usr/share/doc/field-server/changelog.gz; do
    expect_stdout_contains "field-server ships $p" " $p"
done
run dpkg-deb -c "$FIELD_DEB"
expect_stdout_contains "field ships its manual page" " ./usr/share/man/man1/field.1.gz"
expect_stdout_contains "field ships the templates make install installs" \
    " ./usr/share/field/templates/ntm-xa-2021.json"
run dpkg-deb -I "$SERVER_DEB" conffiles
expect_stdout "the settings are a conffile" "/etc/field-server/field-server.conf"

if command -v lintian >/dev/null 2>&1; then
    run lintian --fail-on error --display-info "$FIELD_DEB" "$SERVER_DEB"
    expect_rc "lintian finds no error" 0
    grep -E '^[EWI]: ' "$OUT" | sed 's/^/# lintian: /'
else
    fail "lintian is installed (apt-get install lintian)"
fi

# --- a throwaway root ----------------------------------------------------

R="$T/root"
# The service's user must reach its state directory inside the root.
chmod 0711 "$T"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" \
    "$R/var/lib/dpkg/triggers"
: >"$R/var/lib/dpkg/available"
# The status: each package our Depends name (the first alternative
# installed here, of our architecture when several are), as this
# machine's dpkg knows it.
installed() { # NAME - its name as dpkg knows it, if installed
    for _q in "$1:$DEB_ARCH" "$1"; do
        _s=$(dpkg-query -W -f='${binary:Package} ${Status}' "$_q" 2>/dev/null)
        case $_s in
        *" install ok installed")
            echo "${_s%% *}"
            return
            ;;
        esac
    done
}
deps=$({
    dpkg-deb -f "$FIELD_DEB" Depends
    echo
    dpkg-deb -f "$SERVER_DEB" Depends
} | tr ',' '\n' | sed 's/([^)]*)//g; s/:any//g; s/|/ /g' | while read -r alts; do
    for a in $alts; do
        n=$(installed "$a")
        if [ -n "$n" ]; then
            echo "$n"
            break
        fi
    done
done | sort -u)
for d in $deps; do
    dpkg-query -s "$d" >>"$R/var/lib/dpkg/status"
    echo >>"$R/var/lib/dpkg/status"
    : >"$R/var/lib/dpkg/info/$d.list"
done

# dpk ARGS... - dpkg on the throwaway root.
dpk() {
    run $AS_ROOT dpkg --root="$R" --force-script-chrootless \
        --log="$T/dpkg.log" "$@"
}

dpk -i "$FIELD_DEB" "$SERVER_DEB"
expect_rc "dpkg installs both packages, dependencies checked" 0
run "$R/usr/bin/field" --version
expect_stdout "field --version from the root" "field $V1"
run "$R/usr/bin/field-server" --version
expect_stdout "field-server --version from the root" "field-server $V1"

user=$(grep '^field-server:' "$R/etc/passwd")
expect_match "postinst made the system user" "$user" \
    'field-server:x:*:*:*:/var/lib/field-server:/usr/sbin/nologin'
uid=$(echo "$user" | cut -d: -f3)

# as_user CMD... - run CMD as field-server's uid, as the service would
# (as root); under fakeroot there is no other uid to become.
as_user() {
    if [ -z "$AS_ROOT" ]; then
        run setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
    else
        run "$@"
    fi
}
expect_match "... a system uid" "$uid" '[1-9]*'
[ "$uid" -lt 1000 ] && pass "... below 1000" || fail "... below 1000" "$uid"
expect_eq "... its group" "$(grep -c '^field-server:' "$R/etc/group")" 1
run $AS_ROOT stat -c '%a %u' "$R/var/lib/field-server"
expect_stdout "the state directory is the user's alone" "750 $uid"

# systemd-analyze verify loads the unit as the root's systemd would: the
# root needs what every Debian system has and this one lacks (/bin/sh for
# ExecStartPre, the targets the unit is ordered against); they are lent
# from this machine for the check and taken back after it.
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$R/bin" "$R/etc/systemd/system"
    cp -L /bin/sh "$R/bin/sh"
    cp -L /lib/systemd/system/*.target "$R/etc/systemd/system/"
    run systemd-analyze verify --root="$R" --man=no field-server.service
    expect_rc "systemd-analyze verify: the unit is clean" 0
    if [ -s "$OUT" ] || [ -s "$ERR" ]; then
        fail "... saying nothing" "$(_last)"
    else
        pass "... saying nothing"
    fi
    rm -rf "$R/bin" "$R/etc/systemd"
else
    fail "systemd-analyze is installed"
fi

# --- the programs, run from the root ---------------------------------------

home dev
run "$R/usr/bin/field" init --inspector "Nguyễn Văn An"
expect_rc "field init from the root" 0
run "$R/usr/bin/field" new field-demo --subject 18424
expect_rc "... and captures a record" 0

DBS="$R/var/lib/field-server/server.db"
as_user "$R/usr/bin/field-server" init --db "$DBS"
expect_rc "field-server init as its user, in the state directory" 0
as_user "$R/usr/bin/field-server" enroll-code --db "$DBS" --inspector "Nguyễn Văn An" \
    --role inspector --scope 42
expect_rc "... and enrolls a device there" 0
as_user "$R/usr/bin/field-server" audit --db "$DBS"
devices_before=$(grep -c 'enroll-code' "$OUT")
expect_eq "... logged" "$devices_before" 1

# --- a newer field-server over live data -----------------------------------

sed -i 's/^port = 8080/port = 8443/' "$R/etc/field-server/field-server.conf"
conf=$(file_sum "$R/etc/field-server/field-server.conf")
run sh "$TOP/packaging/build-deb.sh" field-server "$FIELD_BUILD/bin" "$DEB_ARCH" \
    "$V2" "$T/v2" "$FIELD_BUILD/bin"
expect_rc "a newer field-server package builds" 0
# The old program serves the database while the new one is installed, as
# on a live server (postinst restarts the service; here that is done by
# hand, since no systemd runs the root).
C="$FIELD_BUILD/tests/tools/fieldctl"
if [ -z "$AS_ROOT" ]; then
    set -- setpriv --reuid="$uid" --regid="$uid" --clear-groups
else
    set --
fi
"$@" "$R/usr/bin/field-server" serve --db "$DBS" --port 0 --quiet \
    --port-file "$R/var/lib/field-server/port" 2>"$T/serve.log" &
SPID=$!
at_exit 'kill -9 "$SPID" 2>/dev/null'
i=0
while [ ! -s "$R/var/lib/field-server/port" ] && [ "$i" -lt 100 ]; do
    i=$((i + 1))
    sleep 0.05
done
URL="http://127.0.0.1:$(cat "$R/var/lib/field-server/port" 2>/dev/null)"
run "$C" request - GET "$URL/v1/health"
expect_stdout_contains "the old field-server serves the data" "200"
dpk -i "$T/v2/field-server_${V2}_$DEB_ARCH.deb"
expect_rc "dpkg upgrades field-server over the old one" 0
run "$C" request - GET "$URL/v1/health"
expect_stdout_contains "... which goes on serving meanwhile" "200"
kill -TERM "$SPID"
wait "$SPID"
RC=$?
expect_rc "... and stops cleanly for the restart" 0
rm -f "$R/var/lib/field-server/port"
expect_eq "... to the newer version" \
    "$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Version}' field-server)" "$V2"
expect_eq "... the administrator's settings kept" \
    "$(file_sum "$R/etc/field-server/field-server.conf")" "$conf"
expect_eq "... one system user still" "$(grep -c '^field-server:' "$R/etc/passwd")" 1
as_user "$R/usr/bin/field-server" audit --db "$DBS"
expect_rc "... and the new program opens the data" 0
expect_eq "... all of it" "$(grep -c 'enroll-code' "$OUT")" "$devices_before"

# --- remove keeps the data, purge deletes it -------------------------------

dpk -r field-server
expect_rc "dpkg removes field-server" 0
if [ -e "$DBS" ] && [ ! -e "$R/usr/bin/field-server" ]; then
    pass "... the program gone, the database kept"
else
    fail "... the program gone, the database kept" "$(ls -la "$R/usr/bin" "$R/var/lib/field-server" 2>&1)"
fi
[ -e "$R/etc/field-server/field-server.conf" ] && pass "... the settings kept" ||
    fail "... the settings kept"
dpk -P field-server
expect_rc "dpkg purges field-server" 0
[ ! -e "$R/var/lib/field-server" ] && pass "... the state directory deleted" ||
    fail "... the state directory deleted" "$(ls -la "$R/var/lib/field-server")"
[ ! -e "$R/etc/field-server/field-server.conf" ] && pass "... the settings deleted" ||
    fail "... the settings deleted"
dpk -P field
expect_rc "dpkg purges field" 0

finish
