# sync.mk - libsync: the wire protocol shared by the field client and
# field-server (sync/protocol.c, sync/gzip.c), the merge (sync/merge*.c)
# and the device's sync client (sync/client*.c); plus the libcurl transport (sync/transport_curl.c),
# which only the field program links. Included by the Makefile before its
# rules; the generic rule $(O)/%.o: %.c compiles the sources.
#
# libsync needs cJSON (messages) and zlib (gzip bodies) besides libfield.
# It never links libcurl or libmicrohttpd: the transports that do come with
# their own programs.

SYNC_PKGS := libcjson zlib
CURL_PKGS := libcurl

ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
  $(foreach p,libcjson libcurl,\
    $(if $(shell $(PKG_CONFIG) --exists $(p) && echo y),,\
      $(error $(p) not found: install the Debian package $(deb_$(p)) (or run: make deps))))
endif

LIBSYNC_SRC := sync/protocol.c sync/gzip.c sync/client.c sync/client_queue.c \
               sync/client_attach.c \
               sync/client_enroll.c sync/client_apply.c sync/parallel.c \
               sync/merge.c \
               sync/merge_dag.c sync/merge_paths.c sync/merge_result.c \
               sync/merged_export.c sync/catalog.c sync/ca_store.c \
               sync/status.c
LIBSYNC_OBJ := $(LIBSYNC_SRC:%.c=$(O)/%.o)
LIBSYNC     := $(O)/libsync.a
# -pthread: the client verifies pulled versions on several threads.
SYNC_LIBS   := $(call pkg_libs,$(SYNC_PKGS)) -pthread
CURL_LIBS   := $(call pkg_libs,$(CURL_PKGS))
# Kept out of libsync.a, so that nothing but `field` can pull libcurl in.
SYNC_CURL_OBJ := $(O)/sync/transport_curl.o

# cJSON's header lives in its own include directory on some systems.
ALL_CFLAGS += $(call pkg_cflags,$(SYNC_PKGS))
$(SYNC_CURL_OBJ): ALL_CFLAGS += $(call pkg_cflags,$(CURL_PKGS))

$(LIBSYNC): $(LIBSYNC_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# The field program (its rule is in the Makefile) links libsync itself;
# the libcurl transport is one of its own objects, next to its command
# files (so the command-table test, which links those, gets it too), and
# libcurl is a library only the program links.
FIELD_PROG_OBJ  += $(SYNC_CURL_OBJ)
FIELD_PROG_LIBS += $(CURL_LIBS)

# Unit tests of libsync link it before libfield; the client's test and the
# convergence simulation also link the server (libserver), whose request
# handler they call in-process.
SYNC_TEST_BIN := $(patsubst tests/unit/%.c,$(O)/tests/%,$(wildcard tests/unit/test_syn_*.c))
SYNC_CLIENT_TEST := $(O)/tests/test_syn_client $(O)/tests/test_syn_sim

$(filter-out $(SYNC_CLIENT_TEST),$(SYNC_TEST_BIN)): $(O)/tests/%: $(O)/tests/unit/%.o $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(SYNC_LIBS) $(FIELD_LIBS)

# (server.mk is read after this file, so libserver is named here by path.)
# The client's test attaches photos (made with libexif, tests/unit/phototest.h).
$(SYNC_CLIENT_TEST): $(O)/tests/%: $(O)/tests/unit/%.o $(O)/libserver.a $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(SERVER_LIBS) $(EXIF_LIBS) \
		$(FIELD_LIBS)
$(O)/tests/unit/test_syn_client.o: ALL_CFLAGS += $(call pkg_cflags,$(EXIF_PKGS))

# The fault-injecting TCP proxy of the sync tests (not installed).
FAULTPROXY := $(O)/tests/tools/faultproxy

$(FAULTPROXY): $(O)/tests/tools/faultproxy.o
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

all: $(FAULTPROXY)

lint: $(LIBSYNC)

# The merge benchmark needs libsync, so it has its own rule (the generic
# one links benchmarks against libfield alone).
$(O)/bench/bench_merge: $(O)/tests/bench/bench_merge.o $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SYNC_LIBS) $(FIELD_LIBS)

# The sync benchmark gzips with libsync and runs the real field and
# field-server programs (tests/bench/bench_sync.c, with harness.c).
$(O)/bench/bench_sync: $(O)/tests/bench/bench_sync.o \
		$(O)/tests/bench/harness.o $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SYNC_LIBS) $(FIELD_LIBS)

# The load benchmark drives the device's client library (with its libcurl
# transport) from many threads against the real field-server, some of them
# through the fault proxy's slow link (tests/bench/bench_load.c).
$(O)/bench/bench_load: $(O)/tests/bench/bench_load.o \
		$(O)/tests/bench/harness.o $(SYNC_CURL_OBJ) $(LIBSYNC) \
		$(LIBFIELD) | $(FAULTPROXY)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SYNC_LIBS) $(CURL_LIBS) $(FIELD_LIBS)

# The photo benchmark runs the real programs, curl, the fault proxy and
# the photo maker (tests/bench/bench_attach.c, with harness.c).
$(O)/bench/bench_attach: $(O)/tests/bench/bench_attach.o \
		$(O)/tests/bench/harness.o $(LIBSYNC) $(LIBFIELD) | $(FAULTPROXY) \
		$(O)/tests/tools/mkphoto
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -pthread $(SYNC_LIBS) $(FIELD_LIBS)

# `make soak`: the convergence simulation of tests/unit/test_syn_sim.c over
# far more seeds than `make check` runs (SOAK_SEEDS=n to change; a failing
# seed prints how to replay it alone).
SOAK_SEEDS ?= 500
.PHONY: soak
soak: $(O)/tests/test_syn_sim
	SYN_SIM_SEEDS=$(SOAK_SEEDS) $(O)/tests/test_syn_sim

# `make tsan`: a ThreadSanitizer build (build/tsan) of the unit tests of
# the concurrent code, TSAN_UNIT_TESTS, to which each part of the tree adds
# its own. libsync's: the loop and job of sync/parallel.c, and the client,
# whose sync verifies pulled pages on several threads and runs the store's
# side of each round trip in a background job (the client's test and the
# convergence simulation drive it).
TSAN_UNIT_TESTS += test_syn_parallel test_syn_client test_syn_sim
.PHONY: tsan tsan-unit tsan-walk
tsan: tsan-unit tsan-walk
tsan-unit:
	$(MAKE) O=build/tsan OPT='-O1 -g -fno-omit-frame-pointer' \
		SANFLAGS=-fsanitize=thread \
		$(TSAN_UNIT_TESTS:%=build/tsan/tests/%)
	set -e; for t in $(TSAN_UNIT_TESTS); do \
		TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/$$t; done

# ... and the commands that walk records on several threads with it:
# `field export` (verifying and merging batches) and `field import`
# (parsing and typing lines), built under ThreadSanitizer and driven by
# their integration tests; a report stops the program (exit 66), which
# the tests see.
TSAN_WALK_TESTS := test_import test_tamper test_export_walk
tsan-walk:
	$(MAKE) O=build/tsan OPT='-O1 -g -fno-omit-frame-pointer' \
		SANFLAGS=-fsanitize=thread build/tsan/bin/field
	set -e; for t in $(TSAN_WALK_TESTS); do \
		TSAN_OPTIONS='halt_on_error=1 exitcode=66' FIELD_BUILD=build/tsan \
		sh tests/integration/$$t.sh; done
