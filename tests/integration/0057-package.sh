#!/usr/bin/env bash
# 0057-package: the Debian package as an admin meets it.  The .deb is
# built in a copy of the tree (the checkout stays as it was), lintian
# finds no error, VERSION, debian/changelog and --version agree; `dpkg
# -i`, then `mount MNT` from an fstab line (a private fstab, mount -T)
# runs /sbin/mount.vaultfs, `vaultctl status` and the check timer's
# command work through it, bash completion offers commands, verbs,
# options and the vaultfs mountpoint, the systemd units verify; `dpkg -r`
# leaves none of its files (and the vault and key alone), `dpkg -P`
# forgets it.  Also: a failed init leaves no directory (bad key option,
# unwritable parent as root and as a user, store unreachable, store
# refusing the header), and root refuses a vault directory that another
# user owns (who could swap its files), naming the fix.
#
# The build takes most of the time (about 2.5 min on 2 busy cores);
# VF_DEB=FILE installs that .deb instead of building one.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
	skip "needs dpkg-dev and debhelper (./demo.sh --deps-only)"
# An installed vaultfs (package or make install) would be replaced, then
# removed: leave such a machine alone.
if dpkg-query -W -f='${Status}' vaultfs 2>/dev/null | grep -q 'ok installed' ||
	[ -e /sbin/mount.vaultfs ] || [ -e /usr/bin/vaultctl ]; then
	fail "vaultfs is installed on this machine already (dpkg -r vaultfs or make uninstall first)"
fi

# ---- a failed init leaves nothing behind -----------------------------------
head -c 32 /dev/urandom >"$VF_TMP/key"
chmod 600 "$VF_TMP/key"
init_fails() { # WHAT DIR [init args...]: init exits 1, one line, DIR absent
	local what=$1 dir=$2 rc=0
	shift 2
	"$@" >"$VF_TMP/out" 2>"$VF_TMP/err" </dev/null || rc=$?
	assert_eq 1 "$rc" "exit status of init with $what ($(cat "$VF_TMP/err"))"
	assert_eq 1 "$(wc -l <"$VF_TMP/err")" "lines on stderr for $what"
	[ ! -e "$dir" ] || fail "init with $what left '$dir' behind: $(ls -la "$dir")"
}
init_fails "a missing key file" "$VF_TMP/v1" \
	"$VAULTCTL" init "$VF_TMP/v1" --key-file "$VF_TMP/nokey"
init_fails "a directory as key file" "$VF_TMP/v2" \
	"$VAULTCTL" init "$VF_TMP/v2" --key-file "$VF_TMP"
init_fails "a failing key command" "$VF_TMP/v3" \
	"$VAULTCTL" init "$VF_TMP/v3" --key-command false
mkdir "$VF_TMP/ro"
mount -t tmpfs -o ro,size=1m tmpfs "$VF_TMP/ro"
VF_EXTRA_MOUNTS+=("$VF_TMP/ro")
init_fails "a read-only parent (root)" "$VF_TMP/ro/v" \
	"$VAULTCTL" init "$VF_TMP/ro/v" --key-file "$VF_TMP/key"
grep -q "cannot create vault directory" "$VF_TMP/err" || fail "read-only parent: $(cat "$VF_TMP/err")"
umount "$VF_TMP/ro"
# a user in a root-owned parent (0755): the same, as that user
chmod 755 "$VF_TMP"
NOBODY=(setpriv --reuid 65534 --regid 65534 --clear-groups)
init_fails "an unwritable parent (uid 65534)" "$VF_TMP/v4" \
	"${NOBODY[@]}" "$VAULTCTL" init "$VF_TMP/v4" --key-file /dev/null
printf '[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n' >"$VF_TMP/cred"
chmod 600 "$VF_TMP/cred"
init_fails "an unreachable store" "$VF_TMP/v5" \
	"$VAULTCTL" init "$VF_TMP/v5" --key-file "$VF_TMP/key" --store s3://bkt/v \
	--endpoint https://127.0.0.1:1 --credentials "$VF_TMP/cred"
grep -q "cannot reach store" "$VF_TMP/err" || fail "unreachable store: $(cat "$VF_TMP/err")"
# a store that lists but refuses the header: the vault was made, and goes
mkdir "$VF_TMP/store"
mount -t tmpfs -o ro,size=1m tmpfs "$VF_TMP/store"
VF_EXTRA_MOUNTS+=("$VF_TMP/store")
init_fails "a store refusing writes" "$VF_TMP/v6" \
	"$VAULTCTL" init "$VF_TMP/v6" --key-file "$VF_TMP/key" --store "dir:$VF_TMP/store" --no-lock
grep -q "cannot store the vault header" "$VF_TMP/err" || fail "read-only store: $(cat "$VF_TMP/err")"
umount "$VF_TMP/store"

# ---- a user's own vault; root refuses it ------------------------------------
# (anchors of key-file vaults go to $VAULTFS_ANCHOR_DIR)
mkdir -m 700 "$VF_TMP/u"
cp "$VF_TMP/key" "$VF_TMP/u/key"
chown -R 65534:65534 "$VF_TMP/u"
"${NOBODY[@]}" env VAULTFS_ANCHOR_DIR="$VF_TMP/u/anchors" \
	"$VAULTCTL" init "$VF_TMP/u/v" --key-file "$VF_TMP/u/key" >/dev/null ||
	fail "a user cannot init a vault of their own"
"${NOBODY[@]}" env VAULTFS_ANCHOR_DIR="$VF_TMP/u/anchors" \
	"$VAULTCTL" status "$VF_TMP/u/v" --key-file "$VF_TMP/u/key" >/dev/null ||
	fail "a user cannot open their own vault offline"
rc=0
VAULTFS_ANCHOR_DIR="$VF_TMP/u/anchors" "$VAULTCTL" status "$VF_TMP/u/v" \
	--key-file "$VF_TMP/u/key" >/dev/null 2>"$VF_TMP/err" || rc=$?
assert_eq 1 "$rc" "root opening a vault uid 65534 owns"
assert_eq "vaultctl: unsafe permissions on '$VF_TMP/u/v': owned by uid 65534, but it must belong to root, who runs this (chown 0 it)" \
	"$(cat "$VF_TMP/err")" "root's refusal"
chmod 700 "$VF_TMP"

# ---- one version ------------------------------------------------------------
want=$(cat "$REPO/VERSION")
assert_eq "$want" "$(cd "$REPO" && dpkg-parsechangelog -S Version)" "debian/changelog's version"
assert_eq "vaultctl $want" "$("$VAULTCTL" --version)" "vaultctl --version"

# ---- build the .deb in a copy -------------------------------------------------
SRC=$VF_TMP/src/vaultfs
mkdir -p "$SRC"
tar -C "$REPO" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$SRC" -xf -
before=
[ -e "$REPO/.git" ] && before=$(git -C "$REPO" status --porcelain --ignored)
SECONDS=0
if [ -n "${VF_DEB:-}" ]; then
	DEB=$VF_DEB # a .deb built before (while working on this test)
else
	(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
		dpkg-buildpackage -us -uc -b) >"$VF_TMP/build.log" 2>&1 ||
		{ tail -n 30 "$VF_TMP/build.log" >&2; fail "dpkg-buildpackage failed"; }
	log "dpkg-buildpackage: ${SECONDS}s"
	DEB=$(ls "$VF_TMP"/src/vaultfs_"$want"_*.deb)
fi
[ -e "$REPO/.git" ] && assert_eq "$before" "$(git -C "$REPO" status --porcelain --ignored)" "the checkout after the build"
[ -f "$DEB" ] || fail "no .deb for $want"
if command -v lintian >/dev/null; then
	SECONDS=0
	lintian "$DEB" >"$VF_TMP/lintian" 2>&1 || true
	log "lintian: ${SECONDS}s, $(grep -c '^[EWI]:' "$VF_TMP/lintian" || true) tags"
	grep '^E:' "$VF_TMP/lintian" && fail "lintian errors (above)"
	# every remaining tag is explained in docs/packaging.md
	for tag in $(sed -n 's/^[WI]: [^ ]* \([a-z0-9-]*\).*/\1/p' "$VF_TMP/lintian" | sort -u); do
		grep -q -- "$tag" "$REPO/docs/packaging.md" || fail "lintian tag $tag is not explained in docs/packaging.md"
	done
fi

# ---- install -----------------------------------------------------------------
VF_CLEANUP_CMDS+=("dpkg -P vaultfs >/dev/null 2>&1")
dpkg -i "$DEB" >"$VF_TMP/dpkg.log" 2>&1 || { cat "$VF_TMP/dpkg.log" >&2; fail "dpkg -i failed"; }
dpkg -L vaultfs >"$VF_TMP/files"
for f in /sbin/mount.vaultfs /usr/bin/vaultctl /usr/share/man/man1/vaultctl.1.gz \
	/usr/share/man/man8/mount.vaultfs.8.gz /usr/share/bash-completion/completions/vaultctl \
	/usr/share/doc/vaultfs/examples/fstab.example /lib/systemd/system/vaultfs-check@.timer; do
	grep -qx "$f" "$VF_TMP/files" && [ -e "$f" ] || fail "$f is not installed"
done
assert_eq "vaultctl $want" "$(/usr/bin/vaultctl --version)" "installed vaultctl --version"
assert_eq "mount.vaultfs $want" "$(/sbin/mount.vaultfs --version)" "installed mount.vaultfs --version"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify /lib/systemd/system/vaultfs-check@.service \
		/lib/systemd/system/vaultfs-check@.timer \
		/usr/share/doc/vaultfs/examples/mnt-v.mount >"$VF_TMP/verify" 2>&1 ||
		fail "systemd-analyze verify: $(cat "$VF_TMP/verify")"
fi

# ---- mount from an fstab line, status through it -------------------------------
id=$(/usr/bin/vaultctl init "$VAULT" --keystore "$KS" | sed -n 's/^vault id: *//p')
printf '%s %s vaultfs defaults,keystore=%s 0 0\n' "$VAULT" "$MNT" "$KS" >"$VF_TMP/fstab"
mount -T "$VF_TMP/fstab" "$MNT" || fail "mount from the fstab line failed"
is_mounted "$MNT" || fail "nothing mounted on $MNT"
assert_eq fuse.vaultfs "$(awk -v d="$MNT" '$2 == d { print $3 }' /proc/self/mounts)" "the mount's type"
# the daemon mount(8) started: the mount.vaultfs serving this vault
daemon=
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/exe" 2>/dev/null)" = "$(realpath /sbin/mount.vaultfs)" ] || continue
	tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qx "$VAULT" && daemon=${p#/proc/}
done
[ -n "$daemon" ] || fail "no /sbin/mount.vaultfs daemon for $VAULT"
echo hello >"$MNT/f"
assert_eq hello "$(cat "$MNT/f")" "a file through the mount"
/usr/bin/vaultctl status "$MNT" >/dev/null || fail "vaultctl status through the mount failed"
/usr/bin/vaultctl status "$MNT" --json >"$VF_TMP/status" || fail "vaultctl status --json failed"
assert_eq "$id 1" "$("$PYTHON" -c 'import json, sys; s = json.load(open(sys.argv[1])); print(s["vault_id"], s["files"])' "$VF_TMP/status")" \
	"vault id and files in status"
# the check timer's command, as the unit runs it (%f: the mountpoint)
cmd=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/vaultfs-check@.service)
${cmd//%f/$MNT} >"$VF_TMP/check" || fail "the check unit's command failed: $(cat "$VF_TMP/check")"

# ---- bash completion ------------------------------------------------------------
complete_words() { # WORD... : what completing the last word offers
	bash -c '. /usr/share/bash-completion/bash_completion
		. /usr/share/bash-completion/completions/vaultctl
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_vaultctl vaultctl "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
complete_words vaultctl ro | grep -qx role || fail "completion: 'ro' does not offer role"
assert_eq "grant list revoke" "$(complete_words vaultctl role '' | sort | tr '\n' ' ' | sed 's/ $//')" "completion of role's verbs"
complete_words vaultctl check "$MNT" --r | grep -qx -- --read-data || fail "completion: no --read-data for check"
complete_words vaultctl status '' | grep -qx "$MNT" || fail "completion: the vaultfs mountpoint $MNT is not offered"
# (other vaultfs mounts on this machine may be offered too; nothing else)
while IFS= read -r w; do
	[ "$(awk -v d="$w" '$2 == d { print $3 }' /proc/self/mounts)" = fuse.vaultfs ] ||
		fail "completion offers '$w', which is not a vaultfs mount"
done < <(complete_words vaultctl status '')

umount "$MNT"
for ((i = 0; i < 100; i++)); do
	pid_running "$daemon" || break
	sleep 0.1
done
pid_running "$daemon" && fail "the daemon did not exit after umount"

# ---- remove, purge ------------------------------------------------------------------
dpkg -r vaultfs >"$VF_TMP/dpkg.log" 2>&1 || { cat "$VF_TMP/dpkg.log" >&2; fail "dpkg -r failed"; }
while IFS= read -r f; do
	[ -d "$f" ] && continue
	[ ! -e "$f" ] && [ ! -L "$f" ] || fail "dpkg -r left $f"
done <"$VF_TMP/files"
[ -e "$VAULT/vault.hdr" ] && [ -n "$(ls "$KS")" ] || fail "dpkg -r touched the vault or its keystore"
rc=0
mount -T "$VF_TMP/fstab" "$MNT" 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "mount still works after dpkg -r"
is_mounted "$MNT" && fail "something is mounted on $MNT after dpkg -r"
dpkg -P vaultfs >"$VF_TMP/dpkg.log" 2>&1 || { cat "$VF_TMP/dpkg.log" >&2; fail "dpkg -P failed"; }
dpkg-query -W -f='${Status}' vaultfs 2>/dev/null | grep -q 'installed' &&
	fail "dpkg still knows vaultfs: $(dpkg-query -W -f='${Status}' vaultfs)"
log "ok"
