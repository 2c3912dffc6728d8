# static.mk - fully static field and field-server, for x86-64 and arm64;
# included by the Makefile. The work is
# in scripts/static.sh (fetching the source packages, building libcurl,
# libmicrohttpd, SQLite, cJSON and libxlsxwriter, linking, stripping);
# README "A static binary" says what is in them.
#
#   make static-deps   as root: the deb-src line, arm64, the -dev packages
#   make static        build/static/amd64/bin/field and field-server
#   make static-arm64  build/static/arm64/bin/..., cross-built

.PHONY: static static-arm64 static-deps

static-deps:
	scripts/static.sh deps amd64
	scripts/static.sh deps arm64

static:
	scripts/static.sh deps amd64
	scripts/static.sh build amd64

static-arm64:
	scripts/static.sh deps arm64
	scripts/static.sh build arm64
