# corral: fetch, sort and serve mail. See README.md.
#
#   make            build ./corral
#   make check      install what is missing, build, run every test (also under ASan+UBSan)
#   make demo       a throwaway Dovecot, a fetch, a sort, the IMAP server, the result
#   make install    PREFIX=/usr/local DESTDIR= (make uninstall: the same, removed)
#   make dist       corral-VERSION.tar.gz (DISTDIR=.): the tracked files, no build products
#   make fuzz       libFuzzer targets for the parsers (clang)
#   make bench      side-by-side benchmarks against other tools (bench/)

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man
DATADIR  = $(PREFIX)/share/corral
UNITDIR  = $(PREFIX)/lib/systemd/user
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  = $(PREFIX)/share/zsh/site-functions

CC     ?= cc
CFLAGS ?= -O2 -g
PKGS    = libcurl openssl yaml-0.1 libmagic
WARN    = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes

PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# corral loads libcurl, libmagic and libcrypt with dlopen when it first needs
# them (src/util/dl.h): `corral deliver` runs once per message and must not
# pay for loading some 35 libraries at every exec.
# libyaml is linked statically: one shared library less to load per exec.
BIN_LIBS    := -Wl,--as-needed -Wl,-Bstatic -lyaml -Wl,-Bdynamic -ldl
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Isrc $(PKG_CFLAGS) -MMD -MP \
             -DCORRAL_DATADIR='"$(DATADIR)"'
SAN        = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Object files go under $(BUILD); the sanitizer build uses build/asan.
BUILD ?= build
BIN   ?= corral

# Sources: one per line, part by part in the order data flows (see src/README).
SRCS = \
	src/util/base64.c \
	src/util/buf.c \
	src/util/diag.c \
	src/util/dl.c \
	src/util/fs.c \
	src/util/log.c \
	src/util/logsys.c \
	src/util/passwd.c \
	src/util/result.c \
	src/util/spawn.c \
	src/util/str.c \
	src/util/yamlu.c \
	src/mail/address.c \
	src/mail/charset.c \
	src/mail/flags.c \
	src/mail/folder.c \
	src/mail/lex.c \
	src/mail/message.c \
	src/mail/mime-param.c \
	src/mail/mime.c \
	src/mail/mutf7.c \
	src/mail/rfc2047.c \
	src/mail/sniff.c \
	src/config/config-account.c \
	src/config/config-server.c \
	src/config/config-walk.c \
	src/config/config.c \
	src/rules/rules-cond.c \
	src/rules/rules-eval.c \
	src/rules/rules-explain.c \
	src/rules/rules-lint.c \
	src/rules/rules.c \
	src/store/dedupe.c \
	src/store/import-fetchmail.c \
	src/store/import-getmail.c \
	src/store/import-mbsync.c \
	src/store/import-mpop.c \
	src/store/import.c \
	src/store/journal-state.c \
	src/store/journal.c \
	src/store/maildir-name.c \
	src/store/maildir-tmp.c \
	src/store/maildir-upgrade.c \
	src/store/maildir.c \
	src/store/mbox.c \
	src/store/mdindex.c \
	src/store/statelock.c \
	src/store/status.c \
	src/store/subscriptions.c \
	src/store/uidlist.c \
	src/net/curlw.c \
	src/net/net.c \
	src/net/pop3-login.c \
	src/net/respcode.c \
	src/net/srv.c \
	src/net/sasl.c \
	src/source/imap-parse.c \
	src/source/source-common.c \
	src/source/source-imap.c \
	src/source/source-imap-watch.c \
	src/source/source-pop3.c \
	src/out/pipe.c \
	src/out/smtp.c \
	src/core/fetch-actions.c \
	src/core/fetch.c \
	src/core/pipeline.c \
	src/daemon/daemon.c \
	src/daemon/idle.c \
	src/daemon/notify.c \
	src/daemon/sched.c \
	src/daemon/watch-notify.c \
	src/daemon/worker.c \
	src/imapd/args.c \
	src/imapd/clients.c \
	src/imapd/cmd-any.c \
	src/imapd/cmd-append.c \
	src/imapd/cmd-auth.c \
	src/imapd/cmd-copy.c \
	src/imapd/cmd-fetch.c \
	src/imapd/cmd-folders.c \
	src/imapd/cmd-idle.c \
	src/imapd/cmd-list.c \
	src/imapd/cmd-mailbox.c \
	src/imapd/cmd-search.c \
	src/imapd/cmd-store.c \
	src/imapd/commands.c \
	src/imapd/condstore.c \
	src/imapd/dispatch.c \
	src/imapd/fetch-body.c \
	src/imapd/fetch-envelope.c \
	src/imapd/fetch-header.c \
	src/imapd/list-match.c \
	src/imapd/parse.c \
	src/imapd/search-eval.c \
	src/imapd/search.c \
	src/imapd/seqset.c \
	src/imapd/serve.c \
	src/imapd/session.c \
	src/imapd/status.c \
	src/imapd/tls.c \
	src/imapd/updates.c \
	src/imapd/view-flags.c \
	src/imapd/view-modseq.c \
	src/imapd/view.c \
	src/cli/cmd-check.c \
	src/cli/cmd-complete.c \
	src/cli/cmd-deliver.c \
	src/cli/cmd-fetch.c \
	src/cli/cmd-import.c \
	src/cli/cmd-init.c \
	src/cli/cmd-passwd.c \
	src/cli/cmd-refile.c \
	src/cli/cmd-run.c \
	src/cli/cmd-serve.c \
	src/cli/cmd-status.c \
	src/cli/cmd-test.c \
	src/cli/help.c \
	src/cli/init-config.c \
	src/cli/init-preset.c \
	src/cli/init-text.c \
	src/cli/version.c \
	src/corral.c

MAIN      = src/corral.c
LIB_OBJS  = $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(MAIN),$(SRCS)))
MAIN_OBJ  = $(patsubst %.c,$(BUILD)/%.o,$(MAIN))
LIB       = $(BUILD)/libcorral.a
UNIT_SRCS = $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
# Drivers that integration scripts run (tests/unit/NAME.c; not cmocka tests).
DRIVERS     = smtp-send crash-journal
DRIVER_BINS = $(patsubst %,$(BUILD)/tests/%,$(DRIVERS))

all: $(BIN)

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(BIN_LIBS)

$(LIB): $(LIB_OBJS)
	@rm -f $@
	@rm -f $@ # cli/ and imapd/ both have a cmd-fetch.o: no member replaced by name
	ar rcs $@ $(LIB_OBJS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Each unit test links only the modules it tests and what they use:
# test-NAME_DEPS lists them (paths under src/, without .c).
UTIL = util/log util/logsys util/passwd util/buf util/str util/diag util/fs util/dl util/result util/base64
MAIL = mail/message mail/lex mail/rfc2047 mail/charset mail/address mail/mime mail/mime-param mail/flags
test-util_DEPS    = $(UTIL)
test-config_DEPS  = config/config config/config-walk config/config-account config/config-server \
	util/yamlu $(UTIL)
test-message_DEPS = $(MAIL) $(UTIL)
test-maildir_DEPS = store/maildir store/maildir-name store/maildir-tmp store/maildir-upgrade \
	mail/flags mail/folder mail/mutf7 $(UTIL)
test-pipe_DEPS    = out/pipe util/spawn $(UTIL)
test-rules_DEPS   = rules/rules rules/rules-cond rules/rules-eval rules/rules-explain rules/rules-lint mail/sniff \
	mail/folder util/yamlu $(MAIL) $(UTIL)
test-sniff_DEPS   = mail/sniff $(MAIL) $(UTIL)
test-dedupe_DEPS  = store/dedupe $(UTIL)
test-mbox_DEPS    = store/mbox mail/flags $(UTIL)
test-journal_DEPS = store/journal store/journal-state $(UTIL)
test-import_DEPS  = store/import store/import-fetchmail store/import-getmail store/import-mbsync \
	store/import-mpop $(UTIL)
test-respcode_DEPS = net/respcode $(UTIL)
NET  = net/net net/pop3-login net/sasl net/respcode net/curlw util/spawn
test-source-imap_DEPS = source/source-imap source/source-imap-watch source/imap-parse source/source-common mail/flags \
	$(NET) $(UTIL)
test-source-pop3_DEPS = source/source-pop3 source/source-common $(NET) $(UTIL)
test-pop3-login_DEPS = $(NET) $(UTIL)
test-imapd-parse_DEPS = imapd/parse $(UTIL)
test-uidlist_DEPS = store/uidlist $(UTIL)
test-mdindex_DEPS = store/mdindex $(UTIL)
test-imapd-seqset_DEPS = imapd/seqset $(UTIL)
test-imapd-list-match_DEPS = imapd/list-match $(UTIL)
test-imapd-search_DEPS = imapd/search imapd/search-eval imapd/seqset imapd/parse $(MAIL) $(UTIL)
test-imapd-view_DEPS = imapd/view imapd/view-modseq imapd/view-flags imapd/seqset mail/flags store/uidlist store/mdindex store/maildir-name mail/folder mail/mutf7 $(UTIL)
test-imapd-fetch_DEPS = imapd/fetch-body imapd/fetch-header imapd/fetch-envelope $(MAIL) $(UTIL)
test-mutf7_DEPS   = mail/mutf7 $(UTIL)
test-daemon_DEPS  = daemon/sched daemon/notify store/status store/journal store/journal-state $(UTIL)
test-init_DEPS    = cli/init-preset cli/init-text net/srv $(UTIL)
smtp-send_DEPS    = out/smtp net/curlw util/spawn $(UTIL)
crash-journal_DEPS = store/journal store/journal-state $(UTIL)

.SECONDEXPANSION:
$(BUILD)/tests/%: tests/unit/%.c $$(addprefix $(BUILD)/src/,$$(addsuffix .o,$$($$*_DEPS)))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(filter %.o,$^) $(PKG_LIBS) $(CMOCKA_LIBS)

unit-bins: $(UNIT_BINS) $(DRIVER_BINS)

asan:
	$(MAKE) -j$(JOBS) BUILD=build/asan BIN=build/asan/corral CFLAGS="-O1 -g $(SAN)" LDFLAGS="$(SAN)" \
		build/asan/corral unit-bins

# Each purpose installs its own list (contrib/install-deps.sh, the one place).
deps:
	@contrib/install-deps.sh build

JOBS ?= $(shell nproc 2>/dev/null || echo 2)

check:
	@contrib/install-deps.sh check
	$(MAKE) -j$(JOBS) all unit-bins
	$(MAKE) -j$(JOBS) asan
	tests/run-all.sh

demo:
	@contrib/install-deps.sh demo
	$(MAKE) all
	contrib/demo.sh

# make fuzz FUZZ_S=1800: every target for that many seconds (FUZZ_TIME: the old name)
fuzz:
	@contrib/install-deps.sh fuzz
	$(MAKE) -C tests/fuzz run

bench: all
	@for b in bench/*.sh; do echo "== $$b"; $$b || exit 1; done

# The helpers for newcomers (each has --help): converters and the OAuth2 token helper.
CONTRIB_BIN = contrib/corral-oauth2 contrib/fetchmailrc2corral contrib/procmailrc2corral

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(DATADIR)/rules
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/corral
	install -m 755 $(CONTRIB_BIN) $(DESTDIR)$(BINDIR)/
	install -m 644 man/corral.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/corral.yml.5 man/corral-rules.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 rules/*.yml $(DESTDIR)$(DATADIR)/rules/
	install -d $(DESTDIR)$(UNITDIR)
	for u in contrib/systemd/*.service contrib/systemd/*.timer contrib/systemd/*.socket; do \
		sed 's|%h/.local/bin/corral|$(BINDIR)/corral|' "$$u" >$(DESTDIR)$(UNITDIR)/$${u##*/}; \
		chmod 644 $(DESTDIR)$(UNITDIR)/$${u##*/}; \
	done
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 644 contrib/completion/corral.bash $(DESTDIR)$(BASHCOMPDIR)/corral
	install -m 644 contrib/completion/_corral $(DESTDIR)$(ZSHCOMPDIR)/_corral

# Removes what install put there (the same PREFIX and DESTDIR), and the
# directories of corral's own.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/corral $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(CONTRIB_BIN))) \
		$(DESTDIR)$(MANDIR)/man1/corral.1 \
		$(DESTDIR)$(MANDIR)/man5/corral.yml.5 $(DESTDIR)$(MANDIR)/man5/corral-rules.5 \
		$(DESTDIR)$(BASHCOMPDIR)/corral $(DESTDIR)$(ZSHCOMPDIR)/_corral
	for u in contrib/systemd/*.service contrib/systemd/*.timer contrib/systemd/*.socket; do \
		rm -f $(DESTDIR)$(UNITDIR)/$${u##*/}; \
	done
	rm -rf $(DESTDIR)$(DATADIR)

# The release, where corral --version takes it from.
VERSION := $(shell sed -n 's/^\#define CORRAL_VERSION "\(.*\)"/\1/p' src/corral.c)
DISTDIR ?= .

# The files of `git ls-files` (or, in an unpacked tarball, of its MANIFEST),
# without the compiled Python caches, plus the MANIFEST that lists them.
dist:
	@set -e; test -n "$(VERSION)" || { echo "make dist: no CORRAL_VERSION in src/corral.c" >&2; exit 1; }; \
	n=corral-$(VERSION); t=$$(mktemp -d); trap 'rm -rf "$$t"' EXIT; \
	if [ -f MANIFEST ]; then cat MANIFEST; else git ls-files; fi | \
		grep -v -e '__pycache__/' -e '\.pyc$$' -e '^MANIFEST$$' | LC_ALL=C sort >"$$t/MANIFEST"; \
	test -s "$$t/MANIFEST" || { echo "make dist: no file list (not a git checkout, no MANIFEST)" >&2; exit 1; }; \
	tar -czf "$(DISTDIR)/$$n.tar.gz" --owner=0 --group=0 --numeric-owner --transform "s,^,$$n/," \
		-T "$$t/MANIFEST" -C "$$t" MANIFEST; \
	echo "$(DISTDIR)/$$n.tar.gz: $$(wc -l <"$$t/MANIFEST") files"

format:
	clang-format -i $(SRCS) $(wildcard src/*/*.h tests/unit/*.c tests/unit/*.h)

clean:
	rm -rf build corral corral-*.tar.gz

.PHONY: all unit-bins asan deps check demo fuzz bench install uninstall dist format clean

-include $(shell find build -name '*.d' 2>/dev/null)
