# vaultfs - plain Makefile.  Outputs in build/.
#   make                      build build/mount.vaultfs and build/vaultctl
#   make check                unit + fuzz-corpus + integration tests (root, FUSE)
#   make SANITIZE=address,undefined check
#   make CC=clang
#   make install [PREFIX=/usr/local] [SBINDIR=/sbin] [DESTDIR=...]
#   dpkg-buildpackage -us -uc -b    the Debian package (debian/, docs/packaging.md)

CC ?= cc
PREFIX ?= /usr/local
SBINDIR ?= /sbin
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR ?= $(PREFIX)/lib/systemd/system
B := build
# The one place the version is written is the file VERSION; vaultctl
# --version and mount.vaultfs --version print it, and debian/changelog
# must agree (tests/integration/0057-package.sh).
VERSION := $(shell cat VERSION)

PKGS := fuse3 libsodium sqlite3 libzstd libxxhash json-c libcurl
CORE_PKGS := libsodium sqlite3 libzstd libxxhash libcurl

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wvla -Wformat=2 -Wno-unused-parameter
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) -MMD -MP -pthread
ifdef SANITIZE
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif
CORE_CFLAGS := $(shell pkg-config --cflags $(CORE_PKGS))
CORE_LIBS := $(shell pkg-config --libs $(CORE_PKGS)) -lm -pthread
FUSE_CFLAGS := $(shell pkg-config --cflags fuse3)
FUSE_LIBS := $(shell pkg-config --libs fuse3)
JSON_CFLAGS := $(shell pkg-config --cflags json-c)
JSON_LIBS := $(shell pkg-config --libs json-c)

# Every core module (the engine knows nothing of FUSE or argv), listed in
# the layer order of docs/design.md and tests/layers.sh, lowest first.
CORE_SRC := core/common.c \
	core/crypto.c core/sshsig.c core/chunker.c core/policy.c core/policy_access.c core/acl.c \
	core/catvfs.c core/catseg.c core/pack_io.c core/anchor.c core/objstore.c core/s3.c \
	core/s3_config.c core/s3_list.c \
	core/pack_cache.c core/objstore_dir.c core/store_open.c \
	core/catalog.c core/pack.c core/protector.c core/protector_src.c core/protector_edit.c core/protector_kdf.c \
	core/ns.c core/open_files.c core/vclock.c core/datakey.c \
	core/view.c core/view_points.c \
	core/buf.c core/spool.c core/cache.c core/pipeline.c core/file.c \
	core/trash.c core/trash_purge.c core/immut.c core/authz.c core/audit.c core/guard.c \
	core/guard_key.c core/guard_set.c \
	core/gc.c core/alert.c core/trip.c core/ship.c core/ship_upload.c core/protect.c \
	core/rotate.c core/admin.c core/admin_policy.c core/admin_security.c \
	core/admin_keys.c core/remote.c core/store_gc.c \
	core/vault.c core/vault_ns.c core/vault_ns_attr.c core/vault_ns_delete.c \
	core/vault_file.c core/xattr.c core/check.c \
	core/metrics.c core/report.c core/ingest.c
FS_SRC := fs/fs.c
# Tools: explicit lists.  The command table and its commands are linked
# into both programs (the daemon runs them for the control socket); the
# restore client only into vaultctl.
TOOLS_SHARED_SRC := tools/cmds.c tools/cmd_util.c tools/progress.c \
	tools/cmd_vault.c tools/cmd_history.c tools/cmd_softdelete.c \
	tools/cmd_immutable.c tools/cmd_security.c tools/cmd_alerts.c \
	tools/cmd_tripwire.c tools/cmd_protection.c tools/cmd_rotate.c \
	tools/cmd_report.c tools/report_html.c tools/cmd_key.c \
	tools/ctlsock.c tools/cmd_ingest.c
MOUNT_SRC := tools/mount.vaultfs.c
CTL_SRC := tools/vaultctl.c tools/key_client.c tools/restore.c tools/undelete.c tools/copy_tree.c tools/cmd_backup.c
UNIT_SRC := $(wildcard tests/unit/t-*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)

CORE_OBJ := $(CORE_SRC:%.c=$(B)/%.o)
FS_OBJ := $(FS_SRC:%.c=$(B)/%.o)
TOOLS_SHARED_OBJ := $(TOOLS_SHARED_SRC:%.c=$(B)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/tests/%)

all: $(B)/mount.vaultfs $(B)/vaultctl $(UNIT_BIN) $(FUZZ_BIN) $(B)/tests/s3probe \
	$(B)/tests/keyprobe

$(B)/libvfcore.a: $(CORE_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# Objects depend on the flags they were built with: switching between a
# plain and a sanitizer build (or another compiler) rebuilds everything
# instead of linking stale objects.
FLAGS_LINE := $(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(VERSION)
$(B)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(FLAGS_LINE)' | cmp -s - $@ || echo '$(FLAGS_LINE)' > $@

$(B)/core/%.o: core/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CORE_CFLAGS) -c -o $@ $<

$(B)/fs/%.o: fs/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(FUSE_CFLAGS) $(CORE_CFLAGS) -Icore -c -o $@ $<

$(B)/tools/%.o: tools/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(FUSE_CFLAGS) $(CORE_CFLAGS) $(JSON_CFLAGS) \
		-DVF_VERSION='"$(VERSION)"' -Icore -Ifs -c -o $@ $<

$(B)/tests/%.o: tests/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CORE_CFLAGS) -Icore -Itests/lib -c -o $@ $<

$(B)/mount.vaultfs: $(B)/tools/mount.vaultfs.o $(FS_OBJ) $(TOOLS_SHARED_OBJ) $(B)/libvfcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(FUSE_LIBS) $(JSON_LIBS) $(CORE_LIBS)

$(B)/vaultctl: $(CTL_SRC:%.c=$(B)/%.o) $(TOOLS_SHARED_OBJ) $(B)/libvfcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(JSON_LIBS) $(CORE_LIBS)

# Unit tests link core alone: no FUSE.
$(B)/tests/t-%: $(B)/tests/unit/t-%.o $(B)/libvfcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

# The S3 client against a real store (tests/integration/0040-s3-store.sh).
$(B)/tests/s3probe: $(B)/tests/s3probe.o $(B)/libvfcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

# Tries every pack with an old data key (tests/integration/0051-rotate-data.sh).
$(B)/tests/keyprobe: $(B)/tests/keyprobe.o $(B)/libvfcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

# Fuzz targets: built with a standalone corpus-replay driver here; with
# clang, `make FUZZ=1` links them against libFuzzer instead.
ifdef FUZZ
$(B)/tests/fuzz-%: $(B)/tests/fuzz/fuzz-%.o $(B)/libvfcore.a
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(CORE_LIBS)
else
$(B)/tests/fuzz-%: $(B)/tests/fuzz/fuzz-%.o $(B)/tests/fuzz/driver.o $(B)/libvfcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)
endif

check: all
	tests/run.sh

check-unit: all
	tests/run.sh unit

# The programs, man pages, bash completion and the systemd check timer
# (dist/; not enabled: docs/packaging.md).
INSTALLED := $(SBINDIR)/mount.vaultfs $(SBINDIR)/mount.fuse.vaultfs \
	$(BINDIR)/vaultctl \
	$(MANDIR)/man1/vaultctl.1 $(MANDIR)/man8/mount.vaultfs.8 \
	$(MANDIR)/man8/mount.fuse.vaultfs.8 \
	$(COMPLETIONDIR)/vaultctl $(COMPLETIONDIR)/mount.vaultfs \
	$(UNITDIR)/vaultfs-check@.service $(UNITDIR)/vaultfs-check@.timer

install: $(B)/mount.vaultfs $(B)/vaultctl
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(COMPLETIONDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(B)/mount.vaultfs $(DESTDIR)$(SBINDIR)/mount.vaultfs
	ln -sf mount.vaultfs $(DESTDIR)$(SBINDIR)/mount.fuse.vaultfs # mount -o remount (docs/output.md)
	install -m 0755 $(B)/vaultctl $(DESTDIR)$(BINDIR)/vaultctl
	install -m 0644 man/vaultctl.1 $(DESTDIR)$(MANDIR)/man1/vaultctl.1
	install -m 0644 man/mount.vaultfs.8 $(DESTDIR)$(MANDIR)/man8/mount.vaultfs.8
	ln -sf mount.vaultfs.8 $(DESTDIR)$(MANDIR)/man8/mount.fuse.vaultfs.8
	install -m 0644 dist/bash-completion/vaultctl $(DESTDIR)$(COMPLETIONDIR)/vaultctl
	ln -sf vaultctl $(DESTDIR)$(COMPLETIONDIR)/mount.vaultfs
	install -m 0644 dist/systemd/vaultfs-check@.service dist/systemd/vaultfs-check@.timer \
		$(DESTDIR)$(UNITDIR)/

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

clean:
	rm -rf $(B)

FORCE:

# Keep intermediate objects (test and fuzz objects are built by chained
# pattern rules): no rebuilds, and no "rm ..." after the test summary.
.SECONDARY:

.PHONY: all check check-unit install uninstall clean FORCE
-include $(shell find $(B) -name '*.d' 2>/dev/null)
