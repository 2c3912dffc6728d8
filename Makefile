# field - one non-recursive GNU Makefile for the libraries, the programs,
# the tests and the benchmarks.
#
#   make            build everything into build/
#   make check      build and run every test (unit, integration)
#   make asan       the same tests on an AddressSanitizer + UBSan build
#   make bench      build and run the benchmarks; they print their figures
#   make demo       install missing packages, build, run the end-to-end demo
#   make deps       install the Debian packages that building and testing need
#   make lint       no exported symbol without its module prefix, no chained
#                   assignments in conditions (STYLE.md)
#   make format     lay out every C file as .clang-format says
#   make format-check  fail, naming the files, where the layout differs
#   make fuzz       build the libFuzzer harnesses with clang and run each for
#                   FUZZ_SECONDS (default 30) from its seeds
#   make deb        Debian packages of field and field-server (packaging/)
#   make static     fully static field and field-server (scripts/static.mk;
#                   also static-arm64, check-arm64, check-static, static-deps)
#   make install PREFIX=/usr/local DESTDIR=
#   make clean
#
# The user's CFLAGS, CPPFLAGS and LDFLAGS are appended, never replaced;
# WERROR= turns warnings back into warnings (for packagers).

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:

O       ?= build
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
WERROR  ?= -Werror
CC      ?= cc
# The build-time tool (scripts/embed.c) runs on this machine, even when CC
# cross-compiles the programs (scripts/static.mk).
HOSTCC  ?= $(CC)
PKG_CONFIG ?= pkg-config

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wvla -Wwrite-strings -Wundef \
        -Wold-style-definition -Wpointer-arith -Wimplicit-fallthrough \
        -Wcast-align -Wmissing-declarations -Wredundant-decls
OPT  := -O2 -g

ifeq ($(SAN),1)
OPT  := -O1 -g -fno-omit-frame-pointer
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
endif
# SAN=fuzz (with CC=clang, as `make fuzz` asks): the libraries instrumented
# for libFuzzer once, in their own build directory; each harness links them.
ifeq ($(SAN),fuzz)
OPT  := -O1 -g -fno-omit-frame-pointer
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined \
            -fno-sanitize-recover=all
endif

# Debian package for each pkg-config name, to name it when it is missing.
deb_sqlite3       := libsqlite3-dev
deb_libsodium     := libsodium-dev
deb_libutf8proc   := libutf8proc-dev
deb_zlib          := zlib1g-dev
deb_cmocka        := libcmocka-dev
deb_libcurl       := libcurl4-openssl-dev
deb_libcjson      := libcjson-dev
deb_libmicrohttpd := libmicrohttpd-dev
deb_xlsxwriter    := libxlsxwriter-dev
deb_libexif       := libexif-dev
deb_libpq         := libpq-dev

FIELD_PKGS := sqlite3 libsodium libutf8proc zlib
TEST_PKGS  := cmocka
# libxlsxwriter writes the export's workbooks (field/export_xlsx.c). That
# module is in libfield, but a static archive gives a program only the
# members it calls: only the programs that export (field, field-server)
# and the export's own test pull it in, and only they link the library.
XLSX_PKGS  := xlsxwriter
# libexif reads a photo's time and position (field/photo.c), in libfield
# too: only what adds photos (field, via field/attachment_add.c) and
# photo.c's own tests and fuzz harness link it.
EXIF_PKGS  := libexif

# Goals that must work before the libraries are installed.
NODEPS_GOALS := deps clean demo help distclean format format-check
NODEPS_GOALS += static static-arm64 static-deps
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
  ifeq ($(shell command -v $(PKG_CONFIG) 2>/dev/null),)
    $(error pkg-config not found: install the Debian package pkg-config (or run: make deps))
  endif
  $(foreach p,$(FIELD_PKGS) $(TEST_PKGS) $(XLSX_PKGS) $(EXIF_PKGS),\
    $(if $(shell $(PKG_CONFIG) --exists $(p) && echo y),,\
      $(error $(p) not found: install the Debian package $(deb_$(p)) (or run: make deps))))
endif

pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pkg_libs   = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

ALL_CPPFLAGS := -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
                -Ifield -Isync -Iserver-stub -I$(O)/gen $(CPPFLAGS)
ALL_CFLAGS   := -std=c11 $(OPT) $(WARN) $(WERROR) $(SANFLAGS) -MMD -MP \
                $(call pkg_cflags,$(FIELD_PKGS)) $(CFLAGS)
ALL_LDFLAGS  := $(SANFLAGS) $(LDFLAGS)
FIELD_LIBS   := $(call pkg_libs,$(FIELD_PKGS)) -lm -lpthread
TEST_LIBS    := $(call pkg_libs,$(TEST_PKGS))
XLSX_LIBS    := $(call pkg_libs,$(XLSX_PKGS))
EXIF_LIBS    := $(call pkg_libs,$(EXIF_PKGS))

# ---- sources -------------------------------------------------------------

# libfield: every field/*.c but the program's own files.
# field/ui_*.c serve `field ui`: they use the command plumbing (cmd.h) and
# libmicrohttpd, so they belong to the program, not to libfield.
FIELD_PROG_SRC := field/main.c field/program.c $(wildcard field/cmd_*.c) \
                  $(wildcard field/ui_*.c)
LIBFIELD_SRC   := $(filter-out $(FIELD_PROG_SRC),$(wildcard field/*.c))
EMBED_INPUTS   := $(sort $(wildcard schema/field*.sql)) \
                  $(sort $(wildcard schema/templates/*.json)) \
                  $(sort $(wildcard schema/units/*.csv))

# The web app of `field ui`, compiled into the program only.
UI_INPUTS      := $(sort $(wildcard field/ui/*.html field/ui/*.js \
                                    field/ui/*.css))

LIBFIELD_OBJ   := $(LIBFIELD_SRC:%.c=$(O)/%.o) $(O)/gen/embedded_data.o
FIELD_PROG_OBJ := $(FIELD_PROG_SRC:%.c=$(O)/%.o) $(O)/gen/ui_files.o

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
BENCH_SRC  := $(wildcard tests/bench/bench_*.c)
BENCH_BIN  := $(BENCH_SRC:tests/bench/%.c=$(O)/bench/%)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_O     := build/fuzz
FUZZ_SECONDS ?= 30

LIBFIELD := $(O)/libfield.a
PROGRAMS := $(O)/bin/field

# sync/ (libsync) and server-stub/ (field-server) add their objects,
# programs and tests in their own fragments, included here so that the
# whole project stays one make graph.
-include sync/sync.mk server-stub/server.mk
# make deb, make check-deb: the Debian packages (packaging/).
-include packaging/packaging.mk
-include scripts/static.mk

# ---- rules ---------------------------------------------------------------

.PHONY: all check asan asan-unit bench demo deps lint format format-check fuzz install \
        clean help

all: $(PROGRAMS) $(UNIT_BIN) $(BENCH_BIN)

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(O)/gen/embedded_data.o: $(O)/gen/embedded_data.c
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# Schemas and templates are compiled into libfield so that a program is
# complete on its own; scripts/embed.c writes them out as byte arrays.
$(O)/gen/embedded_data.c: $(O)/embed $(EMBED_INPUTS)
	@mkdir -p $(@D)
	$(O)/embed $(EMBED_INPUTS) > $@

# The same tool writes the web app's files, its table renamed (ui_server.h).
$(O)/gen/ui_files.c: $(O)/embed $(UI_INPUTS)
	@mkdir -p $(@D)
	$(O)/embed $(UI_INPUTS) | sed 's/fld_embedded_files/fld_ui_files/' > $@

$(O)/gen/ui_files.o: $(O)/gen/ui_files.c
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(O)/embed: scripts/embed.c
	@mkdir -p $(@D)
	$(HOSTCC) -std=c11 -O1 $(WARN) $(WERROR) -o $@ $< -lz

$(LIBFIELD): $(LIBFIELD_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# The field program: its command files, then libsync (merge, protocol,
# client), then libfield; FIELD_PROG_LIBS is for libraries only the program
# links (libcurl, added by sync/sync.mk; libxlsxwriter, for field export).
# libmicrohttpd serves `field ui` (field/ui_server.c).
FIELD_PROG_LIBS += $(XLSX_LIBS) $(EXIF_LIBS) $(call pkg_libs,libmicrohttpd)
$(O)/field/export_xlsx.o: ALL_CFLAGS += $(call pkg_cflags,$(XLSX_PKGS))
$(O)/field/photo.o: ALL_CFLAGS += $(call pkg_cflags,$(EXIF_PKGS))

$(O)/bin/field: $(FIELD_PROG_OBJ) $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(FIELD_PROG_OBJ) $(LIBSYNC) $(LIBFIELD) \
		$(SYNC_LIBS) $(FIELD_PROG_LIBS) $(FIELD_LIBS)

$(O)/tests/%: $(O)/tests/unit/%.o $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(FIELD_LIBS)

# The export's test writes workbooks: it links libxlsxwriter too.
$(O)/tests/test_export: $(O)/tests/unit/test_export.o $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(XLSX_LIBS) $(FIELD_LIBS)

# The photo and attachment tests read EXIF, and build photos with it.
$(O)/tests/test_photo $(O)/tests/test_attachment: $(O)/tests/%: \
		$(O)/tests/unit/%.o $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(EXIF_LIBS) $(FIELD_LIBS)
$(O)/tests/unit/test_photo.o $(O)/tests/unit/test_attachment.o: \
	ALL_CFLAGS += $(call pkg_cflags,$(EXIF_PKGS))

# The test tool that writes photos (tests/integration/test_attach.sh).
MKPHOTO := $(O)/tests/tools/mkphoto
$(MKPHOTO): $(O)/tests/tools/mkphoto.o $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EXIF_LIBS) $(FIELD_LIBS)
$(O)/tests/tools/mkphoto.o: ALL_CFLAGS += $(call pkg_cflags,$(EXIF_PKGS))
all: $(MKPHOTO)

# The test seam that makes a directory look full (tests/tools/enospc.c), an
# LD_PRELOAD library: built without the sanitizers, so that it preloads
# the same way into a plain and an ASan program.
ENOSPC := $(O)/tests/tools/libenospc.so
$(ENOSPC): tests/tools/enospc.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -g $(WARN) $(WERROR) -fPIC -shared -o $@ $< -ldl \
		$(CFLAGS) $(LDFLAGS)
all: $(ENOSPC)

# The front of both programs' main() is compiled into the programs only.
$(O)/tests/test_program: $(O)/tests/unit/test_program.o $(O)/field/program.o \
		$(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(FIELD_LIBS)

# The command table test links the program's command files (not main).
$(O)/tests/test_commands: $(O)/tests/unit/test_commands.o \
		$(filter-out $(O)/field/main.o,$(FIELD_PROG_OBJ)) $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(SYNC_LIBS) $(FIELD_PROG_LIBS) \
		$(FIELD_LIBS)

# The tests of `field ui` link the program's files too (not main).
UI_TEST_BIN := $(O)/tests/test_ui_server $(O)/tests/test_ui_api \
               $(O)/tests/test_ui_sync $(O)/tests/test_ui_conflicts \
               $(O)/tests/test_ui_report
$(UI_TEST_BIN): $(O)/tests/%: $(O)/tests/unit/%.o \
		$(filter-out $(O)/field/main.o,$(FIELD_PROG_OBJ)) $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(SYNC_LIBS) $(FIELD_PROG_LIBS) \
		$(FIELD_LIBS)

# `make tsan` (sync/sync.mk) also runs the threads of `field ui`: the
# sync button's and the report's fetch (ui_job.c), each with its own
# connection to the store, against the HTTP thread's reads of their state.
TSAN_UNIT_TESTS += test_ui_sync test_ui_report

$(O)/bench/%: $(O)/tests/bench/%.o $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(FIELD_LIBS)

# The web UI's benchmark runs the real `field ui` and is its browser
# (tests/bench/bench_ui.c, with the benchmarks' harness.c).
$(O)/bench/bench_ui: $(O)/tests/bench/bench_ui.o $(O)/tests/bench/harness.o \
		$(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(FIELD_LIBS)

# A fuzz harness (SAN=fuzz builds only): libFuzzer's main, the harness,
# and whichever members of the three libraries it calls.
$(O)/fuzz_%: $(O)/tests/fuzz/fuzz_%.o $(LIBSERVER) $(LIBSYNC) $(LIBFIELD)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(SERVER_LIBS) \
		$(FIELD_LIBS)

# What `field ui` reads from a browser: the program's files (not main).
$(O)/fuzz_ui: $(O)/tests/fuzz/fuzz_ui.o \
		$(filter-out $(O)/field/main.o,$(FIELD_PROG_OBJ)) $(LIBSYNC) $(LIBFIELD)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(SYNC_LIBS) \
		$(FIELD_PROG_LIBS) $(FIELD_LIBS)

$(O)/fuzz_photo: $(O)/tests/fuzz/fuzz_photo.o $(LIBFIELD)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(EXIF_LIBS) $(FIELD_LIBS)

check: all
	FIELD_PG_TESTS='$(CHECK_PG_TESTS)' scripts/run-tests.sh $(O)

# The PostgreSQL half (server.mk) only in part under the sanitizers: on
# PostgreSQL the server differs from SQLite in its storage back end
# (storage_pg.c) and where it keeps photos (its working directory), and
# PostgreSQL's own tests (test_server_pg, test_srv_storage_pg,
# test_migrate_pg, test_backup_pg, test_pg_converge) already run every
# storage_pg.c path under ASan as part of check. ASAN_PG_TESTS adds the
# API over PostgreSQL and its photos; the whole half would add about
# 500 s of tests (4-5 minutes on two cores) to a CI that has 20 minutes
# for everything and already took 1112 s (docs/SERVER.md, "Tests and
# figures").
ASAN_PG_TESTS := test_server_api test_server_attach
# No benchmark is built there: none is a test (BENCH_BIN=).
asan:
	$(MAKE) O=build/asan SAN=1 BENCH_BIN= CHECK_PG_TESTS='$(ASAN_PG_TESTS)' \
		check

# The unit tests alone on the ASan build: CI's share of it (.ci/run says
# why CI cannot also give every integration test to ASan).
asan-unit:
	$(MAKE) O=build/asan SAN=1 BENCH_BIN= \
		$(patsubst $(O)/%,build/asan/%,$(UNIT_BIN))
	FIELD_TEST_UNIT_ONLY=1 scripts/run-tests.sh build/asan

bench: all
	scripts/run-bench.sh $(O)

demo:
	scripts/deps.sh
	$(MAKE) all
	scripts/demo.sh $(O)

deps:
	scripts/deps.sh

lint: $(LIBFIELD) $(O)/bin/field
	scripts/lint-symbols.sh $(LIBFIELD) $(LIBSYNC) $(LIBSERVER)
	@python3 scripts/lint-conditions.py $(filter field/% sync/% server-stub/%,$(filter %.c,$(C_FILES)))

# Every C file the project keeps, for clang-format.
C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(C_FILES)

format-check:
	scripts/format-check.sh $(C_FILES)

# The libraries are compiled once (and again only where a source changed),
# then every harness runs in turn; a crash, leak or undefined behaviour
# fails the run.
fuzz:
	@command -v clang >/dev/null 2>&1 || { echo "fuzz: clang not found;" \
		"install the Debian packages clang and libclang-rt-14-dev" >&2; \
		exit 1; }
	$(MAKE) O=$(FUZZ_O) SAN=fuzz CC=clang $(FUZZ_NAMES:%=$(FUZZ_O)/%)
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_O) $(FUZZ_NAMES)

install: $(O)/bin/field
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/field/templates
	install -m 0755 $(O)/bin/field $(DESTDIR)$(BINDIR)/field
	install -m 0644 schema/templates/*.json $(DESTDIR)$(DATADIR)/field/templates/
	install -d $(DESTDIR)$(DATADIR)/field/units
	install -m 0644 schema/units/*.csv $(DESTDIR)$(DATADIR)/field/units/

clean:
	rm -rf build

help:
	@sed -n '3,23p' Makefile

# (build/static holds unpacked source packages: not ours to read.)
-include $(shell find $(O) -path $(O)/static -prune -o -name '*.d' -type f \
           -print 2>/dev/null)
