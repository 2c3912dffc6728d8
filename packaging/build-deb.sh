#!/bin/sh
# build-deb.sh PACKAGE BINDIR ARCH VERSION OUTDIR MANBINDIR - build
# OUTDIR/PACKAGE_VERSION_ARCH.deb (PACKAGE: field or field-server) with
# dpkg-deb, from the program in BINDIR, as packaging/packaging.mk asks
# (make deb; the variables are explained there).
#
# Where it sits: the build made the programs; this lays out the package's
# tree in OUTDIR/work/debian/PACKAGE (the place dpkg-shlibdeps expects),
# writes DEBIAN/control and md5sums, and packs it with root as the owner
# of every file. The manual page comes from the programs in MANBINDIR,
# which must run here: BINDIR's may be another architecture's. Depends
# names the Debian packages of the shared libraries the program loads
# (dpkg-shlibdeps); a program linked statically loads none and gets none.
set -eu

pkg=$1
bindir=$2
arch=$3
version=$4
outdir=$5
manbindir=$6
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
# Every file is dated by the changelog, and dpkg-deb dates the archive so:
# the same programs give the same package, byte for byte.
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$here/changelog" -S Timestamp)
export SOURCE_DATE_EPOCH

work="$outdir/work"
root="$work/debian/$pkg"
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" \
    "$root/usr/share/doc/$pkg"

bin="$bindir/$pkg"
[ -x "$bin" ] || { echo "deb: $bin: no such program (build it first)" >&2; exit 1; }
install -m 0755 "$bin" "$root/usr/bin/$pkg"
# Debian wants programs stripped; their debug symbols are not packaged.
# Another architecture's program needs that architecture's strip.
strip=strip
if [ "$arch" != "$(dpkg --print-architecture)" ]; then
    strip="$(dpkg-architecture -a "$arch" -q DEB_HOST_GNU_TYPE 2>/dev/null)-strip"
fi
"$strip" --remove-section=.comment --remove-section=.note \
    "$root/usr/bin/$pkg" 2>/dev/null ||
    echo "deb: $pkg: not stripped (no $strip here)" >&2

date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
sh "$here/manpage.sh" "$manbindir/$pkg" "$version" "$date" |
    gzip -9 -n >"$root/usr/share/man/man1/$pkg.1.gz"
install -m 0644 "$here/copyright" "$root/usr/share/doc/$pkg/copyright"
gzip -9 -n -c "$here/changelog" >"$root/usr/share/doc/$pkg/changelog.gz"

case $pkg in
field)
    # What `make install` installs besides the program: the built-in
    # checklists and units as files, to read, adapt and `template add`.
    install -d "$root/usr/share/field/templates" "$root/usr/share/field/units"
    install -m 0644 "$top"/schema/templates/*.json "$root/usr/share/field/templates/"
    install -m 0644 "$top"/schema/units/*.csv "$root/usr/share/field/units/"
    ;;
field-server)
    install -d "$root/etc/field-server" "$root/lib/systemd/system" \
        "$root/usr/lib/sysusers.d"
    install -m 0644 "$top/server-stub/field-server.conf.example" \
        "$root/etc/field-server/field-server.conf"
    install -m 0644 "$top/server-stub/field-server.service" \
        "$root/lib/systemd/system/field-server.service"
    install -m 0644 "$here/field-server.sysusers" \
        "$root/usr/lib/sysusers.d/field-server.conf"
    install -m 0644 "$here/field-server/conffiles" "$root/DEBIAN/conffiles"
    for s in postinst prerm postrm; do
        install -m 0755 "$here/field-server/$s" "$root/DEBIAN/$s"
    done
    ;;
*)
    echo "deb: no package $pkg" >&2
    exit 1
    ;;
esac

install -d "$root/usr/share/lintian/overrides"
install -m 0644 "$here/$pkg/lintian-overrides" \
    "$root/usr/share/lintian/overrides/$pkg"

# A static program (no NEEDED entry) gets no library in Depends, and
# lintian is told why it is static.
if readelf -d "$root/usr/bin/$pkg" 2>/dev/null | grep -q '(NEEDED)'; then
    printf 'Source: field\n\nPackage: %s\nArchitecture: any\n' "$pkg" \
        >"$work/debian/control"
    shlibs=$(cd "$work" && dpkg-shlibdeps -O "debian/$pkg/usr/bin/$pkg" |
        sed -n 's/^shlibs:Depends=//p')
else
    shlibs=
    {
        echo "# Linked statically on purpose (make static): one program that"
        echo "# runs on any Linux of its architecture, without Debian's libraries."
        echo "$pkg: statically-linked-binary [usr/bin/$pkg]"
        echo "$pkg: embedded-library * [usr/bin/$pkg]"
    } >>"$root/usr/share/lintian/overrides/$pkg"
fi

size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
maintainer=$(dpkg-parsechangelog -l "$here/changelog" -S Maintainer)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    -e "s/@MAINTAINER@/$maintainer/" -e "s/@SHLIBS@/$shlibs/" \
    -e 's/^Depends: , */Depends: /' -e '/^Depends: *$/d' \
    "$here/$pkg/control" >"$root/DEBIAN/control"
(cd "$root" && find . -type f ! -path './DEBIAN/*' | sed 's|^\./||' |
    LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control"
find "$root" -type d -exec chmod 0755 {} +
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

dpkg-deb --root-owner-group -Zxz --build "$root" \
    "$outdir/${pkg}_${version}_${arch}.deb" >/dev/null
echo "$outdir/${pkg}_${version}_${arch}.deb"
