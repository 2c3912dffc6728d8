# sync.mk - libsync: the wire protocol shared by the field client and
# field-server (sync/protocol.c, sync/gzip.c). Included by the Makefile
# before its rules; the generic rule $(O)/%.o: %.c compiles the sources.
#
# libsync needs cJSON (messages) and zlib (gzip bodies) besides libfield.
# It never links libcurl or libmicrohttpd: the transports that do come with
# their own programs.

SYNC_PKGS := libcjson zlib

ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
  $(foreach p,libcjson,\
    $(if $(shell $(PKG_CONFIG) --exists $(p) && echo y),,\
      $(error $(p) not found: install the Debian package $(deb_$(p)) (or run: make deps))))
endif

LIBSYNC_SRC := sync/protocol.c sync/gzip.c
LIBSYNC_OBJ := $(LIBSYNC_SRC:%.c=$(O)/%.o)
LIBSYNC     := $(O)/libsync.a
SYNC_LIBS   := $(call pkg_libs,$(SYNC_PKGS))

# cJSON's header lives in its own include directory on some systems.
ALL_CFLAGS += $(call pkg_cflags,$(SYNC_PKGS))

$(LIBSYNC): $(LIBSYNC_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# Unit tests of libsync link it before libfield.
SYNC_TEST_BIN := $(patsubst tests/unit/%.c,$(O)/tests/%,$(wildcard tests/unit/test_syn_*.c))

$(SYNC_TEST_BIN): $(O)/tests/%: $(O)/tests/unit/%.o $(LIBSYNC) $(LIBFIELD)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(SYNC_LIBS) $(FIELD_LIBS)

lint: $(LIBSYNC)
