# packaging.mk - `make deb`: Debian packages of field and field-server,
# built with dpkg-deb by packaging/build-deb.sh. Included by the Makefile.
#
#   make deb                    the programs of this build ($(O)/bin), for
#                               this machine's architecture; Depends from
#                               dpkg-shlibdeps
#   make deb DEB_BINDIR=build/static/aarch64/bin DEB_ARCH=arm64
#                               other programs, e.g. the static arm64 ones
#                               of make static: no library in Depends
#   make deb-release            the programs built again in build/release
#                               with Debian's hardening flags, packaged:
#                               the packages to hand out
#   make check-deb              build them, lint them, install them into a
#                               throwaway root and try them
#                               (tests/deb/test_packages.sh); packages
#                               of this machine's architecture only, since
#                               their programs run there
#
# DEB_VERSION is the top entry of packaging/changelog (keep it equal to
# the programs' --version). Manual pages are made from the help texts of
# the programs in DEB_MANBINDIR, which must run here (the same help texts
# whatever the architecture). Packages land in DEB_OUT.

DEB_BINDIR    ?= $(O)/bin
DEB_ARCH      ?= $(shell dpkg --print-architecture 2>/dev/null)
DEB_VERSION   ?= $(shell dpkg-parsechangelog -l packaging/changelog -S Version 2>/dev/null)
DEB_OUT       ?= $(O)/deb
DEB_MANBINDIR ?= $(O)/bin
DEB_PACKAGES  := field field-server

.PHONY: deb deb-release check-deb

# The programs of this build are made first when they are the ones
# packaged (or give the manual pages); DEB_BINDIR elsewhere is taken as
# it is.
deb: $(filter $(O)/bin/%,$(DEB_PACKAGES:%=$(DEB_BINDIR)/%) \
                         $(DEB_PACKAGES:%=$(DEB_MANBINDIR)/%))
	@command -v dpkg-deb >/dev/null 2>&1 || { echo "deb: dpkg-deb not found;" \
		"install the Debian package dpkg-dev" >&2; exit 1; }
	@mkdir -p $(DEB_OUT)
	@for p in $(DEB_PACKAGES); do \
		sh packaging/build-deb.sh $$p $(DEB_BINDIR) $(DEB_ARCH) \
			$(DEB_VERSION) $(DEB_OUT) $(DEB_MANBINDIR) || exit 1; \
	done

check-deb: deb $(FIELDCTL)
	FIELD_BUILD=$(abspath $(O)) DEB_OUT=$(abspath $(DEB_OUT)) \
		DEB_VERSION=$(DEB_VERSION) DEB_ARCH=$(DEB_ARCH) \
		sh tests/deb/test_packages.sh

# Fortified, stack-protected, relro and bindnow, as Debian builds its own
# packages; the flags are appended to the project's, warnings still errors.
DEB_FLAGS = DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get

deb-release:
	$(MAKE) O=build/release CFLAGS="$$($(DEB_FLAGS) CFLAGS)" \
		CPPFLAGS="$$($(DEB_FLAGS) CPPFLAGS)" \
		LDFLAGS="$$($(DEB_FLAGS) LDFLAGS)" deb
