# orch — one plain Makefile (samurai's shape). CFLAGS may be overridden; the warnings,
# the C standard and the feature macros stay on. B is the build directory: build/ for the
# normal build (./orch is a copy of build/orch), build/asan for the AddressSanitizer+UBSan
# build that `make check` also runs.

PREFIX  = /usr/local
BINDIR  = $(PREFIX)/bin
MANDIR  = $(PREFIX)/share/man
CC      = cc
CFLAGS  = -O2 -g
LDFLAGS =
WARN    = -std=c11 -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes
# POSIX.1-2008 and what glibc puts beside it by default (realpath, flock): here once for
# every file, not in each one
FEATURES = -D_DEFAULT_SOURCE
PKGS    = inih jansson libxxhash libpq
B       = build

SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRC    = $(wildcard src/*.c)
HDR    = $(wildcard src/*.h)
LIB    = $(filter-out src/orch.c,$(SRC))
OBJ    = $(SRC:src/%.c=$(B)/obj/%.o)
LIBOBJ = $(LIB:src/%.c=$(B)/obj/%.o)
UNIT   = $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/test_*.c))

# The libraries, asked of pkg-config once, and only when this make builds something:
# bootstrap, check, demo and clean build nothing themselves (check and demo build in a
# sub-make), so that on a fresh machine they run contrib/bootstrap, which installs
# pkg-config and the libraries, before anything asks for them. A library pkg-config does
# not find stops the build, naming it. cmocka only for the unit tests.
NOBUILD = bootstrap check demo clean
GOALS   = $(or $(MAKECMDGOALS),all)
ifneq ($(filter-out $(NOBUILD),$(GOALS)),)
pkg_missing = $(foreach p,$(1),$(if $(shell pkg-config --exists $(p) 2>/dev/null && echo y),,$(p)))
pkg_error   = $(error pkg-config does not find $(strip $(1)): run `make bootstrap` (contrib/bootstrap \
	installs the -dev packages), or point PKG_CONFIG_PATH at their .pc files)
ifeq ($(shell command -v pkg-config),)
$(error pkg-config is missing: run `make bootstrap` (contrib/bootstrap installs it))
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null || echo MISSING)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo MISSING)
ifneq ($(filter MISSING,$(PKG_CFLAGS) $(PKG_LIBS)),)
$(call pkg_error,$(call pkg_missing,$(PKGS)))
endif
ifneq ($(filter units test-build,$(GOALS))$(findstring /unit/,$(GOALS)),)
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null || echo MISSING)
CMOCKA_LIBS   := $(shell pkg-config --libs cmocka 2>/dev/null || echo MISSING)
ifneq ($(filter MISSING,$(CMOCKA_CFLAGS) $(CMOCKA_LIBS)),)
$(call pkg_error,cmocka (for the unit tests))
endif
endif
endif

all: orch

$(B)/orch: $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ) $(PKG_LIBS)

# ./orch: the normal build's binary, copied to the top for `./orch` and make install
orch: $(B)/orch
	cp -f $(B)/orch $@

$(B)/obj/%.o: src/%.c $(HDR)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(FEATURES) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/unit/%: tests/unit/%.c $(LIBOBJ) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(FEATURES) $(CFLAGS) $(PKG_CFLAGS) $(CMOCKA_CFLAGS) -Isrc $(LDFLAGS) -o $@ $< \
		$(LIBOBJ) $(PKG_LIBS) $(CMOCKA_LIBS)

$(B)/helper: tests/helper.c $(LIBOBJ) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(FEATURES) $(CFLAGS) $(PKG_CFLAGS) -Isrc $(LDFLAGS) -o $@ tests/helper.c \
		$(LIBOBJ) $(PKG_LIBS)

# the fault shim of the command-line tests (tests/faults.c): preloaded into orch, not
# built with the sanitizers
$(B)/faults.so: tests/faults.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -O2 -shared -fPIC -o $@ $< -ldl

units: $(UNIT) $(B)/helper $(B)/faults.so

bootstrap:
	@sh contrib/bootstrap

# Everything the tests need: the normal build and the sanitizer build.
test-build: orch
	@$(MAKE) --no-print-directory units
	@$(MAKE) --no-print-directory B=build/asan CFLAGS='-O1 -g $(SAN_FLAGS)' \
		LDFLAGS='$(SAN_FLAGS)' build/asan/orch units

check: bootstrap
	@$(MAKE) --no-print-directory test-build
	@bash tests/run-all

demo: bootstrap
	@$(MAKE) --no-print-directory orch
	@sh contrib/demo

install: orch
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	cp orch $(DESTDIR)$(BINDIR)/orch
	cp docs/orch.1 $(DESTDIR)$(MANDIR)/man1/orch.1
	cp docs/orchfile.5 $(DESTDIR)$(MANDIR)/man5/orchfile.5

clean:
	rm -rf build orch

.PHONY: all units bootstrap test-build check demo install clean
