# server.mk - field-server (server-stub/): its modules as libserver.a, the
# program (main.c and the command files cmd_*.c, kept out of the library as
# curl keeps src/ apart from lib/), its unit tests, the test client
# tests/tools/fieldctl and the server benchmark. Included by the Makefile before its rules; the generic
# rule $(O)/%.o: %.c compiles the sources.
#
# Only field-server (and what tests it) links libmicrohttpd; nothing here
# links libcurl.
#
# PG=1 (the default) builds the PostgreSQL storage back end
# (storage_pg.c) and links libpq; `make PG=` leaves it out, as the static
# build does (scripts/static.sh: no static libpq to link), and such a
# field-server refuses a postgresql: location in one line.

PG ?= 1
SERVER_PKGS := libmicrohttpd libcjson zlib sqlite3 xlsxwriter \
               $(if $(filter 1,$(PG)),libpq)

ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
  $(foreach p,libmicrohttpd xlsxwriter $(if $(filter 1,$(PG)),libpq),\
    $(if $(shell $(PKG_CONFIG) --exists $(p) && echo y),,\
      $(error $(p) not found: install the Debian package $(deb_$(p)) (or run: make deps))))
endif

# libserver: storage, verification, push, the API, HTTP, settings and
# metrics. Nothing in it parses a command line or prints for people.
LIBSERVER_SRC := server-stub/storage.c server-stub/storage_sqlite.c \
                 server-stub/checkpointer.c \
                 server-stub/storage_sqlite_units.c server-stub/targets.c \
                 server-stub/server.c server-stub/config.c \
                 server-stub/metrics.c server-stub/push.c server-stub/api.c \
                 server-stub/http.c server-stub/report_out.c \
                 server-stub/record.c server-stub/query.c \
                 server-stub/exports.c server-stub/framing.c \
                 server-stub/storage_sqlite_thresholds.c \
                 server-stub/storage_sqlite_report.c \
                 server-stub/thresholds.c \
                 server-stub/report.c server-stub/api_report.c \
                 server-stub/api_enroll.c server-stub/api_attach.c \
                 server-stub/storage_sqlite_attach.c server-stub/attachments.c \
                 server-stub/storage_sqlite_raw.c server-stub/serve_lock.c
LIBSERVER_OBJ := $(LIBSERVER_SRC:%.c=$(O)/%.o) $(O)/gen/server_schema.o
ifeq ($(PG),1)
LIBSERVER_OBJ += $(O)/server-stub/storage_pg.o $(O)/gen/server_pg_schema.o \
                 $(O)/server-stub/migrate.o
# storage.c registers the back end, the unit test runs it, migrate.c and
# `field-server migrate` (cmd_migrate.c) move a SQLite database to it.
$(O)/server-stub/storage.o $(O)/tests/unit/test_srv_storage_pg.o \
$(O)/server-stub/storage_pg.o $(O)/server-stub/migrate.o \
$(O)/server-stub/cmd_migrate.o $(O)/server-stub/cmd_database.o \
$(O)/tests/bench/bench_server.o: \
	ALL_CPPFLAGS += -DSRV_WITH_PG
endif
# The program: main.c and one file per group of commands.
SERVER_PROG_SRC := server-stub/main.c field/program.c \
                   $(wildcard server-stub/cmd_*.c)
SERVER_PROG_OBJ := $(SERVER_PROG_SRC:%.c=$(O)/%.o)
LIBSERVER     := $(O)/libserver.a
SERVER_LIBS   := $(call pkg_libs,$(SERVER_PKGS)) -lpthread

ALL_CFLAGS += $(call pkg_cflags,libmicrohttpd xlsxwriter)
# libpq's headers only where they are used: nothing else of the server
# (and nothing of field) sees PostgreSQL.
$(O)/server-stub/storage_pg.o $(O)/tests/unit/test_srv_storage_pg.o: \
	ALL_CFLAGS += $(call pkg_cflags,libpq)

PROGRAMS += $(O)/bin/field-server

# The server's schema is compiled into libserver, as the device's is into
# libfield, by the same scripts/embed.c; its table is renamed so that the
# two never clash (storage_sqlite.c looks migrations up in it).
SERVER_SCHEMA := $(sort $(wildcard schema/server*.sql))

$(O)/gen/server_schema.c: $(O)/embed $(SERVER_SCHEMA)
	@mkdir -p $(@D)
	$(O)/embed $(SERVER_SCHEMA) | sed 's/fld_embedded_files/srv_schema_files/' > $@

$(O)/gen/server_schema.o: $(O)/gen/server_schema.c
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-variable-declarations -c -o $@ $<

# The PostgreSQL schema (schema/pg/), in a table of its own that only
# storage_pg.c reads: its file names are those of the SQLite schema.
SERVER_PG_SCHEMA := $(sort $(wildcard schema/pg/server*.sql))

$(O)/gen/server_pg_schema.c: $(O)/embed $(SERVER_PG_SCHEMA)
	@mkdir -p $(@D)
	$(O)/embed $(SERVER_PG_SCHEMA) | sed 's/fld_embedded_files/srv_pg_schema_files/' > $@

$(O)/gen/server_pg_schema.o: $(O)/gen/server_pg_schema.c
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-missing-variable-declarations -c -o $@ $<

$(LIBSERVER): $(LIBSERVER_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/bin/field-server: $(SERVER_PROG_OBJ) $(LIBSERVER) $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(FIELD_LIBS)

# Unit tests of the server link everything the server links; the command
# table's test also links the program's command files (not main).
SERVER_TEST_BIN := $(patsubst tests/unit/%.c,$(O)/tests/%,$(wildcard tests/unit/test_srv_*.c))
SERVER_CMD_TEST := $(O)/tests/test_srv_commands

$(filter-out $(SERVER_CMD_TEST),$(SERVER_TEST_BIN)): $(O)/tests/%: $(O)/tests/unit/%.o $(LIBSERVER) $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(SERVER_LIBS) $(FIELD_LIBS)

$(SERVER_CMD_TEST): $(O)/tests/unit/test_srv_commands.o \
		$(filter-out $(O)/server-stub/main.o,$(SERVER_PROG_OBJ)) \
		$(LIBSERVER) $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(SERVER_LIBS) $(FIELD_LIBS)

# The test client: makes device keys, signs versions and requests, and
# speaks HTTP over a plain socket (the integration tests drive the real
# server with it). Not installed.
FIELDCTL := $(O)/tests/tools/fieldctl

$(FIELDCTL): $(O)/tests/tools/fieldctl.o $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SYNC_LIBS) $(FIELD_LIBS)

# The server benchmark runs a real server in-process over loopback.
$(O)/bench/bench_server: $(O)/tests/bench/bench_server.o $(LIBSERVER) $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(FIELD_LIBS)

# The report benchmark writes a province through the storage interface and
# times srv_report_build() in-process.
$(O)/bench/bench_report: $(O)/tests/bench/bench_report.o $(LIBSERVER) $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(FIELD_LIBS)

all: $(FIELDCTL)

lint: $(LIBSERVER)

# `make tsan` (sync/sync.mk) also runs the server's storage and push
# tests under ThreadSanitizer: a push verifies and checks its versions on
# several threads, and the checkpointer folds the log on a thread of its
# own while requests go on.
TSAN_UNIT_TESTS += test_srv_storage

# The PostgreSQL half of `make check`: every integration test that starts
# a field-server of its own runs a second time with its servers on a
# throwaway PostgreSQL (FIELD_TEST_DB=pg: tests/integration/server_lib.sh
# starts one, pg_lib.sh), scheduled by scripts/run-tests.sh beside the
# rest and reported as "test_x.sh [pg]". Where a check is about SQLite's
# file itself (its WAL, file modes, PRAGMA integrity_check) the script
# says "skip (SQLite only: ...)" on PostgreSQL. Left out: test_upgrade
# (it upgrades SQLite files of older releases: SQLite only by nature),
# test_errors (its server part is the SQLite file's application_id stamp),
# and the tests that only use a server as the peer of a client (test_ui_*,
# test_disk_full). test_server_pg, test_migrate_pg, test_backup_pg and
# test_pg_converge are PostgreSQL's own and run once.
PG_TESTS := test_sync test_conflicts test_relay_scope test_report \
            test_review test_export_office test_units_targets test_repair \
            test_same_bytes test_sync_faults test_attach_faults \
            test_bundle_photos test_server_cli test_server_bad \
            test_server_shutdown test_server_api test_server_attach \
            test_server_data test_hostile test_clock_ahead test_thresholds \
            test_sync_crash test_attach_sync test_bundle
# What `make check` runs on PostgreSQL (the Makefile's check rule hands it
# to run-tests.sh as FIELD_PG_TESTS); `make asan` narrows it to
# ASAN_PG_TESTS (the Makefile says why).
CHECK_PG_TESTS ?= $(PG_TESTS)

# `make check-pg`: the PostgreSQL half of `make check` alone.
.PHONY: check-pg
check-pg: all
	scripts/run-tests.sh $(O) $(PG_TESTS:%=pg:%)
