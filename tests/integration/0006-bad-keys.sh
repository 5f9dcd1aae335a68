#!/usr/bin/env bash
# 0006-bad-keys: every bad input to mount.vaultfs and vaultctl — wrong
# passphrase, wrong key file, missing keystore, a directory that is not a
# vault, unsafe permissions on the vault or the keystore, a busy mountpoint —
# fails with exactly one line on stderr and a non-zero exit, mounts nothing,
# and leaves the vault directory byte for byte as it was (docs/threat-model.md).
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

# state DIR: names, sizes, modes, mtimes and digests of everything in DIR.
state() {
	[ -e "$1" ] || { echo "$1 does not exist"; return 0; }
	(
		cd "$1"
		find . -printf '%p %y %s %m %T@\n' | sort
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum
	)
}
# mount_fails WHAT VAULT OPTS [WANT]: mount.vaultfs (daemonizing, as a user
# runs it) must fail with one line on stderr (containing WANT if given),
# leave $MNT unmounted and VAULT unchanged.
mount_fails() {
	local what=$1 vault=$2 opts=$3 want=${4:-} rc=0 before
	before=$(state "$vault")
	timeout 60 "$MOUNT_VAULTFS" "$vault" "$MNT" -o "$opts" </dev/null \
		>"$VF_TMP/out" 2>"$VF_TMP/err" || rc=$?
	check_refusal "mount.vaultfs ($what)" "$rc" "$want"
	[ "$rc" = 32 ] || fail "mount.vaultfs ($what): exit status $rc, want 32 (mount(8): mount failure)"
	if is_mounted "$MNT"; then
		vf_detach "$MNT"
		fail "mount.vaultfs ($what): $MNT was mounted"
	fi
	mountpoint -q "$MNT" && fail "mount.vaultfs ($what): $MNT is a mountpoint"
	[ "$before" = "$(state "$vault")" ] || fail "mount.vaultfs ($what) changed $vault"
	# The same with -f and a readiness descriptor: no "ok", same refusal.
	rc=0
	VAULTFS_READY_FD=1 timeout 60 "$MOUNT_VAULTFS" "$vault" "$MNT" -f -o "$opts" </dev/null \
		>"$VF_TMP/out" 2>"$VF_TMP/err" || rc=$?
	check_refusal "mount.vaultfs -f ($what)" "$rc" "$want"
	grep -q '^ok' "$VF_TMP/out" && fail "mount.vaultfs -f ($what) reported ready"
	is_mounted "$MNT" && { vf_detach "$MNT"; fail "mount.vaultfs -f ($what): $MNT was mounted"; }
	[ "$before" = "$(state "$vault")" ] || fail "mount.vaultfs -f ($what) changed $vault"
	log "refused ($what): $(cat "$VF_TMP/err")"
}
# check_refusal WHAT RC [WANT]: exit 1 (or at least non-zero), one line.
check_refusal() {
	local what=$1 rc=$2 want=${3:-} n
	[ "$rc" != 0 ] || fail "$what succeeded"
	[ "$rc" != 124 ] || fail "$what hung (killed after 60 s)"
	[ "$rc" -lt 128 ] || fail "$what crashed (status $rc): $(cat "$VF_TMP/err")"
	n=$(wc -l <"$VF_TMP/err")
	[ "$n" = 1 ] || { cat "$VF_TMP/err" >&2; fail "$what printed $n lines on stderr, want exactly 1"; }
	[ -n "$(tr -d '[:space:]' <"$VF_TMP/err")" ] || fail "$what printed an empty error line"
	if [ -n "$want" ] && ! grep -qF -- "$want" "$VF_TMP/err"; then
		fail "$what: error '$(cat "$VF_TMP/err")' does not mention '$want'"
	fi
	return 0
}
# ctl_fails WHAT VAULT ARGS...: an offline vaultctl command refused the same way.
ctl_fails() {
	local what=$1 vault=$2 rc=0 before
	shift 2
	before=$(state "$vault")
	timeout 60 "$VAULTCTL" "$@" </dev/null >"$VF_TMP/out" 2>"$VF_TMP/err" || rc=$?
	check_refusal "vaultctl $what" "$rc" ""
	[ "$rc" = 1 ] || fail "vaultctl $what: exit status $rc, want 1"
	[ "$before" = "$(state "$vault")" ] || fail "vaultctl $what changed $vault"
}

printf 'correct horse battery staple\n' >"$VF_TMP/pass"
printf 'wrong horse battery staple\n' >"$VF_TMP/wrongpass"
head -c 32 /dev/urandom >"$VF_TMP/key"
head -c 32 /dev/urandom >"$VF_TMP/wrongkey"
chmod 600 "$VF_TMP"/pass "$VF_TMP"/wrongpass "$VF_TMP"/key "$VF_TMP"/wrongkey

# Three vaults, one per protector, each with some content.
PV=$VF_TMP/pass-vault KV=$VF_TMP/key-vault
"$VAULTCTL" init "$PV" --passphrase-file "$VF_TMP/pass" --keystore "$KS" || fail "init with a passphrase"
"$VAULTCTL" init "$KV" --key-file "$VF_TMP/key" --keystore "$KS" >"$VF_TMP/init.out" || fail "init with a key file"
# init says which vault it made, where its key is, and to back it up
grep -Eq "^vault id: [0-9a-f]{32}$" "$VF_TMP/init.out" || fail "init does not print the vault id: $(cat "$VF_TMP/init.out")"
grep -qF "key:      the key file $VF_TMP/key" "$VF_TMP/init.out" || fail "init does not say where the key is"
grep -q "^Back up the key now" "$VF_TMP/init.out" || fail "init does not tell to back up the key"
vf_init
for v in "$PV:passphrase_file=$VF_TMP/pass" "$KV:key_file=$VF_TMP/key" "$VAULT:"; do
	VAULT_SAVED=$VAULT
	VAULT=${v%%:*}
	vf_mount ${v#*:}
	cp -a /usr/include/stdio.h "$MNT/"
	vf_umount
	VAULT=$VAULT_SAVED
done

# Wrong secrets.
mount_fails "wrong passphrase" "$PV" "keystore=$KS,passphrase_file=$VF_TMP/wrongpass"
mount_fails "no passphrase given" "$PV" "keystore=$KS"
mount_fails "missing passphrase file" "$PV" "keystore=$KS,passphrase_file=$VF_TMP/nonexistent" "$VF_TMP/nonexistent"
mount_fails "wrong key file" "$KV" "keystore=$KS,key_file=$VF_TMP/wrongkey"
mount_fails "key file of another length" "$KV" "keystore=$KS,key_file=$VF_TMP/pass"
ctl_fails "check with a wrong passphrase" "$PV" check "$PV" --passphrase-file "$VF_TMP/wrongpass" --keystore "$KS"
ctl_fails "check with a wrong key file" "$KV" check "$KV" --key-file "$VF_TMP/wrongkey" --keystore "$KS"

# Platform-managed key: keystore missing, empty, or someone else's.
mount_fails "missing keystore" "$VAULT" "keystore=$VF_TMP/no-such-keystore" "$VF_TMP/no-such-keystore"
mkdir -m 700 "$VF_TMP/empty-keystore"
mount_fails "empty keystore" "$VAULT" "keystore=$VF_TMP/empty-keystore"
ctl_fails "check with a missing keystore" "$VAULT" check "$VAULT" --keystore "$VF_TMP/no-such-keystore"
ks_before=$(state "$KS")
KS2=$VF_TMP/other-keys
"$VAULTCTL" init "$VF_TMP/other-vault" --keystore "$KS2" || fail "init of a second platform vault"
if [ "$(ls -A "$KS2" | wc -l)" -gt 0 ]; then
	mount_fails "another vault's keystore" "$VAULT" "keystore=$KS2"
fi

# Not a vault.
NV=$VF_TMP/not-a-vault
mkdir -m 700 "$NV"
printf 'just a file\n' >"$NV/notes.txt"
mount_fails "not a vault" "$NV" "keystore=$KS"
mkdir -m 700 "$VF_TMP/empty-dir"
mount_fails "empty directory" "$VF_TMP/empty-dir" "keystore=$KS"
mount_fails "vault does not exist" "$VF_TMP/no-such-vault" "keystore=$KS" "$VF_TMP/no-such-vault"
ctl_fails "check of a non-vault" "$NV" check "$NV" --keystore "$KS"

# Unsafe permissions, naming the path.
chmod 0755 "$VAULT"
mount_fails "vault mode 0755" "$VAULT" "keystore=$KS" "$VAULT"
grep -qi 'permission' "$VF_TMP/err" || fail "the refusal of a 0755 vault does not say it is about permissions: $(cat "$VF_TMP/err")"
chmod 0700 "$VAULT"
chmod 0777 "$KS"
mount_fails "keystore mode 0777" "$VAULT" "keystore=$KS" "$KS"
chmod 0700 "$KS"
[ "$ks_before" = "$(state "$KS")" ] || fail "the keystore changed"

# Mountpoint busy, and a vault already mounted elsewhere.
vf_mount
rc=0
timeout 60 "$MOUNT_VAULTFS" "$PV" "$MNT" -o "keystore=$KS,passphrase_file=$VF_TMP/pass" </dev/null \
	>"$VF_TMP/out" 2>"$VF_TMP/err" || rc=$?
check_refusal "mount.vaultfs on a busy mountpoint" "$rc" "$MNT"
[ "$(awk -v d="$MNT" '$5 == d' /proc/self/mountinfo | wc -l)" = 1 ] || fail "a second mount was stacked on $MNT"
MNT2=$VF_TMP/mnt2
mkdir "$MNT2"
VF_EXTRA_MOUNTS+=("$MNT2")
rc=0
timeout 60 "$MOUNT_VAULTFS" "$VAULT" "$MNT2" -o "keystore=$KS" </dev/null \
	>"$VF_TMP/out" 2>"$VF_TMP/err" || rc=$?
check_refusal "mount.vaultfs of a vault that is already mounted" "$rc" ""
is_mounted "$MNT2" && fail "the same vault was mounted twice"
cmp /usr/include/stdio.h "$MNT/stdio.h" || fail "content changed after the refused mounts"
vf_umount

# After all that, each vault still opens with its right secret and checks clean.
VAULT_SAVED=$VAULT
for v in "$PV:passphrase_file=$VF_TMP/pass" "$KV:key_file=$VF_TMP/key" "$VAULT_SAVED:"; do
	VAULT=${v%%:*}
	vf_mount ${v#*:}
	cmp /usr/include/stdio.h "$MNT/stdio.h" || fail "content of $VAULT changed"
	vf_umount
done
VAULT=$VAULT_SAVED
out=$("$VAULTCTL" check "$PV" --passphrase-file "$VF_TMP/pass" --keystore "$KS" --read-data 2>&1) ||
	fail "check of the passphrase vault: $out"
