#!/usr/bin/env bash
# 0030-rollback: a catalog copied back from an older state, or one page of
# an older copy spliced into the current one, is refused by the mount and
# by offline `check` and `audit verify` with one line naming the vault
# (docs/design.md, "Catalog rollback"); the admin's recovery (`check
# --accept-rollback`) opens it, and gc then quarantines the packs the old
# catalog does not know instead of deleting them.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

# Fails unless running CMD... exits 1 with exactly one line on stderr that
# matches PATTERN.
refused() {
	local what=$1 pattern=$2 out rc
	shift 2
	set +e
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	set -e
	[ "$rc" != 0 ] || fail "$what: accepted the old catalog"
	grep -Eq "$pattern" <<<"$out" || fail "$what: wrong message: $out"
	[ "$(wc -l <<<"$out")" = 1 ] || fail "$what: not one line: $out"
	log "$what: $out"
}

mount_refused() {
	local what=$1 pattern=$2
	refused "$what" "$pattern" timeout 30 "$MOUNT_VAULTFS" "$VAULT" "$MNT" \
		-f -o "keystore=$KS"
	is_mounted "$MNT" && fail "$what: mounted anyway"
	return 0
}

vf_init
vf_mount
for i in 1 2 3; do head -c 200000 /dev/urandom >"$VF_TMP/old$i"; cp "$VF_TMP/old$i" "$MNT/old$i"; done
sync "$MNT/old3"
# A: the catalog as it stands while mounted, WAL included.
cp "$VAULT/catalog.db" "$VF_TMP/old.db"
[ -f "$VAULT/catalog.db-wal" ] && cp "$VAULT/catalog.db-wal" "$VF_TMP/old.db-wal"
vf_umount
# B: the same state after a clean unmount.
cp "$VAULT/catalog.db" "$VF_TMP/clean.db"
vf_mount
for i in 1 2 3 4; do head -c 300000 /dev/urandom >"$VF_TMP/new$i"; cp "$VF_TMP/new$i" "$MNT/new$i"; done
mkdir "$MNT/d"; echo more >"$MNT/d/x"
vf_umount
cp "$VAULT/catalog.db" "$VF_TMP/cur.db"
packs_before=$(find "$VAULT/packs" -name '*.pack' | sort)

# 1. Whole-file rollback (database and WAL).
cp "$VF_TMP/old.db" "$VAULT/catalog.db"
rm -f "$VAULT/catalog.db-wal"
[ -f "$VF_TMP/old.db-wal" ] && cp "$VF_TMP/old.db-wal" "$VAULT/catalog.db-wal"
want='catalog of vault .* went back: anchor says epoch [0-9]+, catalog has [0-9]+'
mount_refused "mount after rollback" "$want"
refused "check after rollback" "$want" "$VAULTCTL" check "$VAULT" --keystore "$KS"
refused "check --read-data after rollback" "$want" "$VAULTCTL" check "$VAULT" --keystore "$KS" --read-data
refused "audit verify after rollback" "$want" "$VAULTCTL" audit verify "$VAULT" --keystore "$KS"

# 2. One 4 KiB page of the old file spliced into the current one.
cp "$VF_TMP/cur.db" "$VAULT/catalog.db"
rm -f "$VAULT/catalog.db-wal"
# The last page that differs (page 1, the first, holds the epoch: a
# splice there is a rollback; a later one must be found by the digest).
npages=$(($(stat -c %s "$VF_TMP/clean.db") / 4096))
spliced=""
for ((p = npages - 1; p > 0; p--)); do
	if ! cmp -s <(dd if="$VF_TMP/clean.db" bs=4096 skip=$p count=1 status=none) \
		<(dd if="$VF_TMP/cur.db" bs=4096 skip=$p count=1 status=none); then
		spliced=$p
		break
	fi
done
[ -n "$spliced" ] || fail "no page differs between the old and the current catalog"
dd if="$VF_TMP/clean.db" of="$VAULT/catalog.db" bs=4096 skip=$spliced seek=$spliced count=1 conv=notrunc status=none
log "spliced page $spliced of $npages"
want='catalog of vault .* was altered: its pages differ from the anchor of epoch [0-9]+'
mount_refused "mount after a one-page splice" "$want"
refused "check after a one-page splice" "$want" "$VAULTCTL" check "$VAULT" --keystore "$KS"

# 3. The current catalog is still fine.
cp "$VF_TMP/cur.db" "$VAULT/catalog.db"
"$VAULTCTL" check "$VAULT" --keystore "$KS" >/dev/null || fail "the current catalog does not check clean"

# 4. Recovery: roll back deliberately, then gc must keep the newer packs.
cp "$VF_TMP/old.db" "$VAULT/catalog.db"
rm -f "$VAULT/catalog.db-wal"
[ -f "$VF_TMP/old.db-wal" ] && cp "$VF_TMP/old.db-wal" "$VAULT/catalog.db-wal"
set +e
out=$("$VAULTCTL" check "$VAULT" --keystore "$KS" --accept-rollback 2>&1)
rc=$?
set -e
log "check --accept-rollback: exit $rc"
"$VAULTCTL" audit list "$VAULT" --keystore "$KS" 2>/dev/null | grep -q accept-rollback ||
	fail "the accepted rollback is not in the audit log"
"$VAULTCTL" check "$VAULT" --keystore "$KS" >/dev/null 2>&1 || true
vf_mount
[ ! -e "$MNT/new1" ] || fail "the rolled-back catalog still names new1"
for i in 1 2 3; do cmp "$VF_TMP/old$i" "$MNT/old$i" || fail "old$i (in the copied WAL) was lost"; done
vf_umount
out=$("$VAULTCTL" gc "$VAULT" --keystore "$KS")
log "gc: $(tr '\n' ' ' <<<"$out")"
grep -Eq '^packs quarantined: [1-9]' <<<"$out" || fail "gc did not quarantine the newer packs: $out"
for p in $packs_before; do
	[ -f "$p" ] || [ -f "$VAULT/packs/quarantine/$(basename "$p")" ] ||
		fail "gc deleted pack $(basename "$p")"
done
# The newer files' data is in the quarantined packs: new1's bytes are
# findable only by decrypting, so count bytes instead.
q=$(du -sb "$VAULT/packs/quarantine" | cut -f1)
[ "$q" -ge 1000000 ] || fail "quarantine holds only $q bytes"
"$VAULTCTL" check "$VAULT" --keystore "$KS" >/dev/null || fail "check after the recovery failed"
log "ok"
