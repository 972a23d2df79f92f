# orch — one plain Makefile (samurai's shape). CFLAGS may be overridden; the warnings
# and the C standard stay on. B is the build directory: build/ for the normal build,
# build/asan for the AddressSanitizer+UBSan build that `make check` also runs.

PREFIX  = /usr/local
BINDIR  = $(PREFIX)/bin
MANDIR  = $(PREFIX)/share/man
CC      = cc
CFLAGS  = -O2 -g
LDFLAGS =
WARN    = -std=c11 -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes
PKGS    = inih jansson libxxhash libpq
B       = build

SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRC    = $(wildcard src/*.c)
HDR    = $(wildcard src/*.h)
LIB    = $(filter-out src/orch.c,$(SRC))
OBJ    = $(SRC:src/%.c=$(B)/obj/%.o)
LIBOBJ = $(LIB:src/%.c=$(B)/obj/%.o)
UNIT   = $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/test_*.c))

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

all: orch

orch: $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ) $(PKG_LIBS)

$(B)/orch: $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ) $(PKG_LIBS)

$(B)/obj/%.o: src/%.c $(HDR)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(B)/unit/%: tests/unit/%.c $(LIBOBJ) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Isrc $(LDFLAGS) -o $@ $< $(LIBOBJ) $(PKG_LIBS) -lcmocka

$(B)/helper: tests/helper.c $(LIBOBJ) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Isrc $(LDFLAGS) -o $@ tests/helper.c $(LIBOBJ) $(PKG_LIBS)

units: $(UNIT) $(B)/helper

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
