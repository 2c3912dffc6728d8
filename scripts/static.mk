# static.mk - fully static field and field-server, for x86-64 and arm64,
# and the cross-architecture check; included by the Makefile. The work is
# in scripts/static.sh (fetching the source packages, building libcurl,
# libmicrohttpd, SQLite, cJSON and libxlsxwriter, linking, stripping) and
# scripts/check-cross.sh; README "A static binary" says what is in them.
#
#   make static-deps   as root: the deb-src line, arm64, the -dev packages
#   make static        build/static/amd64/bin/field and field-server
#   make static-arm64  build/static/arm64/bin/..., cross-built
#   make check-arm64   arm64 under qemu against x86-64, both ways
#   make check-static  the same tests on the static x86-64 pair

.PHONY: static static-arm64 static-deps check-arm64

static-deps:
	scripts/static.sh deps amd64
	scripts/static.sh deps arm64

static:
	scripts/static.sh deps amd64
	scripts/static.sh build amd64

static-arm64:
	scripts/static.sh deps arm64
	scripts/static.sh build arm64

# The x86-64 side is build/'s server and tools and the static field.
check-arm64: all static static-arm64
	scripts/check-cross.sh

# The static x86-64 pair alone on the same tests (CI runs this one).
.PHONY: check-static
check-static: all static
	scripts/check-cross.sh amd64
