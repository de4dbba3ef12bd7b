# youju — the only entry point: build, test, run, bench, install.
#
#   make            release build of every program into build/bin
#   make run        install missing packages, build, create var/ and start
#   make stop       stop every daemon of the instance, MariaDB included
#   make status     show the instance's daemons
#   make test       deps, build, unit tests (ASan+UBSan), integration tests
#   make conformance  Dovecot's imaptest (scripted groups and stress)
#   make bench      benchmarks against the peer stack
#   make install    PREFIX=/usr/local DESTDIR=
#
# Every program is one folder: all its .c files link into one binary.  Code
# two programs share lives in lib/ and is archived into libyouju.a.

PREFIX ?= /usr/local
DESTDIR ?=
# fail2ban's configuration directory (make install puts youju's filter and
# jail there; docs/security.md)
FAIL2BAN_DIR ?= /etc/fail2ban
BUILD ?= build
CC ?= cc
CFLAGS ?= -O2 -g
PYTHON ?= python3
# V=1 shows every compiler command
Q := $(if $(V),,@)
YOUJU_HOME ?= $(CURDIR)/var
export YOUJU_HOME

PKGS := libmariadb libsasl2 openssl libcrypt libpcre2-8
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LIBS := $(PKG_LIBS) -lpthread
# Per-program link libraries: only the web daemons link libmicrohttpd and
# Jansson (lib/http, lib/webjson are archive members the others never pull).
WEB_PKGS := libmicrohttpd jansson
WEB_LIBS := $(shell pkg-config --libs $(WEB_PKGS) 2>/dev/null)
LIBS_webadmin := $(WEB_LIBS)
LIBS_webmail := $(WEB_LIBS)
# librrd: youju-mailgraph writes the RRD files, youju-webadmin draws them
RRD_LIBS := $(shell pkg-config --libs librrd 2>/dev/null || echo -lrrd)
LIBS_mailgraph := $(RRD_LIBS)
# zlib: youju-mra's COMPRESS=DEFLATE (RFC 4978)
LIBS_mra := -lz
LIBS_webadmin += $(RRD_LIBS)

WARN := -Wall -Wextra -Wformat=2 -Werror -Wno-unused-parameter \
	-Wmissing-prototypes -Wstrict-prototypes -Wvla
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Ilib $(WARN) $(PKG_CFLAGS) -MMD -MP \
	-DYOUJU_SRCDIR='"$(CURDIR)"' -DYOUJU_PREFIX='"$(PREFIX)"'
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined

# program folder -> binary name
PROGRAMS := authd:youju-authd cli:youju mra:youju-mra mta:youju-mta \
	mailgraph:youju-mailgraph \
	webadmin:youju-webadmin webmail:youju-webmail
prog_dir = $(word 1,$(subst :, ,$1))
prog_bin = $(word 2,$(subst :, ,$1))

LIB_SRC := $(wildcard lib/*.c)
UNIT_SRC := $(wildcard tests/unit/*/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/*/fuzz_*.c)

# $(call tree,OUTDIR,EXTRA_FLAGS): object rules, libyouju.a and binaries.
define tree
$1/obj/%.o: %.c
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(BASE_CFLAGS) $$(CFLAGS) $2 -c $$< -o $$@
$1/lib/libyouju.a: $$(patsubst %.c,$1/obj/%.o,$$(LIB_SRC))
	@mkdir -p $$(@D)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
$(foreach p,$(PROGRAMS),
$1/bin/$(call prog_bin,$p): $$(patsubst %.c,$1/obj/%.o,$$(wildcard $(call prog_dir,$p)/*.c)) $1/lib/libyouju.a
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(CFLAGS) $2 -o $$@ $$^ $$(LIBS) $$(LIBS_$(call prog_dir,$p))
)
endef

SAN := $(BUILD)/san
REL_BINS := $(foreach p,$(PROGRAMS),$(BUILD)/bin/$(call prog_bin,$p))
SAN_BINS := $(foreach p,$(PROGRAMS),$(SAN)/bin/$(call prog_bin,$p))

all: $(REL_BINS)

$(eval $(call tree,$(BUILD),))
$(eval $(call tree,$(SAN),$(SAN_FLAGS)))

.SECONDEXPANSION:

# Unit tests: tests/unit/<dir>/test_<module>.c links with libyouju.a and,
# for a program's folder, that program's objects other than main.o.
unit_objs = $(if $(filter lib,$1),,$(patsubst %.c,$(SAN)/obj/%.o,$(filter-out $1/main.c,$(wildcard $1/*.c))))
UNIT_BINS := $(patsubst tests/unit/%.c,$(SAN)/unit/%,$(UNIT_SRC))
$(SAN)/unit/%: tests/unit/%.c $(SAN)/lib/libyouju.a $$(call unit_objs,$$(word 1,$$(subst /, ,$$*)))
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -o $@ $< $(call unit_objs,$(word 1,$(subst /, ,$*))) $(SAN)/lib/libyouju.a $(LIBS) $(WEB_LIBS) $(LIBS_$(word 1,$(subst /, ,$*)))
# Fuzz targets (tests/fuzz/<dir>/fuzz_<parser>.c, libFuzzer entry point)
# also link a replay main (tests/fuzz/replay.c) so make test runs each
# corpus (tests/fuzz/<dir>/<parser>.corpus/) under ASan.
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(SAN)/fuzz/%,$(FUZZ_SRC))
$(SAN)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(SAN)/lib/libyouju.a $$(call unit_objs,$$(word 1,$$(subst /, ,$$*)))
	@mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) -o $@ $< tests/fuzz/replay.c $(call unit_objs,$(word 1,$(subst /, ,$*))) $(SAN)/lib/libyouju.a $(LIBS) $(WEB_LIBS) $(LIBS_$(word 1,$(subst /, ,$*)))

# lib/htmlsan is libgumbo's only user: its object sits in libyouju.a but
# is pulled only by the programs and tests that call it, and only those
# link -lgumbo, so the other binaries never depend on it.
GUMBO_LIBS := -lgumbo
LIBS_webmail += $(GUMBO_LIBS)
# webmail/'s unit tests and fuzz targets link its mail.o (GET /api/message)
$(SAN)/unit/webmail/% $(SAN)/fuzz/webmail/%: LIBS += $(GUMBO_LIBS)
$(SAN)/unit/lib/test_htmlsan $(SAN)/unit/lib/test_htmlsan_pool $(SAN)/fuzz/lib/fuzz_htmlsan: LIBS += $(GUMBO_LIBS)

deps:
	@sh scripts/deps.sh

san: $(SAN_BINS)

check-banned:
	@sh scripts/check-banned.sh

check-format:
	@sh scripts/check-format.sh

# rewrites every C file of the tree as .clang-format lays it out
format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

unit: $(UNIT_BINS) $(FUZZ_BINS)
	@sh scripts/run-unit.sh $(UNIT_BINS) -- $(FUZZ_BINS)

integration: all san
	$(PYTHON) tests/integration/run.py --bin $(CURDIR)/$(SAN)/bin --srcdir $(CURDIR)

# Dovecot's imaptest: every scripted group, beside a private Dovecot, and a
# 60 s stress run (tests/conformance/imaptest.py, docs/mra.md)
conformance: all san
	$(PYTHON) tests/conformance/imaptest.py --bin $(CURDIR)/$(SAN)/bin \
		--srcdir $(CURDIR) --build $(CURDIR)/$(BUILD) --stress

test: deps
	@$(MAKE) --no-print-directory all san
	@sh scripts/test-all.sh $(MAKE)

run: deps
	@$(MAKE) --no-print-directory all
	@$(BUILD)/bin/youju start
	@# a DKIM key for the demo domain, loaded by a reload (docs/mta.md)
	@if ! $(BUILD)/bin/youju dkim show extmail.org >/dev/null 2>&1; then \
		$(BUILD)/bin/youju dkim keygen extmail.org >/dev/null && \
		$(BUILD)/bin/youju reload >/dev/null; fi
	@sh scripts/banner.sh

stop:
	@if [ -x $(BUILD)/bin/youju ]; then $(BUILD)/bin/youju stop; fi

status:
	@$(BUILD)/bin/youju status

reload:
	@$(BUILD)/bin/youju reload

bench: deps all
	@YOUJU_BIN=$(CURDIR)/$(BUILD)/bin sh bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/libexec/youju \
		$(DESTDIR)$(PREFIX)/share/youju/sql/migrations $(DESTDIR)$(PREFIX)/share/doc/youju
	install -m 755 $(REL_BINS) $(DESTDIR)$(PREFIX)/sbin/
	@# sendmail(1) for scripts and PHP: a symlink to youju, never over a
	@# real file (another MTA's sendmail stays until it is removed)
	@if [ -e $(DESTDIR)$(PREFIX)/sbin/sendmail ] && \
	    [ ! -L $(DESTDIR)$(PREFIX)/sbin/sendmail ]; then \
		echo "install: $(DESTDIR)$(PREFIX)/sbin/sendmail exists; not replaced"; \
	else ln -sf youju $(DESTDIR)$(PREFIX)/sbin/sendmail; fi
	install -m 755 scripts/instance.sh scripts/db-migrate.sh $(DESTDIR)$(PREFIX)/libexec/youju/
	install -m 644 sql/*.sql $(DESTDIR)$(PREFIX)/share/youju/sql/
	install -m 644 sql/migrations/*.sql $(DESTDIR)$(PREFIX)/share/youju/sql/migrations/
	install -m 644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/youju/
	install -d $(DESTDIR)$(FAIL2BAN_DIR)/filter.d $(DESTDIR)$(FAIL2BAN_DIR)/jail.d
	install -m 644 scripts/fail2ban/filter.d/youju.conf $(DESTDIR)$(FAIL2BAN_DIR)/filter.d/
	install -m 644 scripts/fail2ban/jail.d/youju.conf $(DESTDIR)$(FAIL2BAN_DIR)/jail.d/
	@# the web consoles' static files (webadmin_htdocs defaults here)
	@if [ -d htdocs ]; then mkdir -p $(DESTDIR)$(PREFIX)/share/youju && \
		cp -R htdocs $(DESTDIR)$(PREFIX)/share/youju/; fi
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|@PREFIX@|$(PREFIX)|g' scripts/youju.service \
		> $(DESTDIR)$(PREFIX)/lib/systemd/system/youju.service

clean:
	rm -rf $(BUILD)

.PHONY: all deps san unit integration conformance test run stop status reload bench install clean check-banned check-format format

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
