#!/usr/bin/env bash
# 0011-enospc: a full backing disk (docs/threat-model.md, Availability):
# writers get ENOSPC, every
# file whose close succeeded before stays intact, the vault stays
# consistent (check --read-data), the daemon unmounts cleanly and the
# vault mounts again.  The vault lives on a small tmpfs.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

SMALL=$VF_TMP/small
mkdir "$SMALL"
mount -t tmpfs -o size=48m,mode=0700 tmpfs "$SMALL" || skip "cannot mount a tmpfs"
VF_EXTRA_MOUNTS+=("$SMALL")
VAULT=$SMALL/vault
vf_init
vf_mount

ok=()
full=0
for i in $(seq 1 40); do
	head -c 4000000 /dev/urandom >"$VF_TMP/src"
	if cp "$VF_TMP/src" "$MNT/f$i" 2>"$VF_TMP/cp.err"; then
		cp "$VF_TMP/src" "$VF_TMP/ok$i"
		ok+=("$i")
	else
		grep -q "No space left on device" "$VF_TMP/cp.err" ||
			fail "cp failed, but not with ENOSPC: $(cat "$VF_TMP/cp.err")"
		full=1
		break
	fi
done
[ "$full" = 1 ] || fail "48 MiB tmpfs never filled up"
log "disk full after ${#ok[@]} files"
[ "${#ok[@]}" -ge 3 ] || fail "only ${#ok[@]} files fit before ENOSPC"
for i in "${ok[@]}"; do
	cmp -s "$VF_TMP/ok$i" "$MNT/f$i" || fail "f$i damaged after ENOSPC"
done
# Metadata operations on a full disk fail cleanly or succeed; nothing hangs.
mkdir "$MNT/d" 2>/dev/null || true
ls "$MNT" >/dev/null
"$VAULTCTL" check "$MNT" --read-data >/dev/null || fail "check failed on a full disk"
vf_umount

vf_mount
for i in "${ok[@]}"; do
	cmp -s "$VF_TMP/ok$i" "$MNT/f$i" || fail "f$i damaged after remount"
done
vf_umount
"$VAULTCTL" check "$VAULT" --keystore "$KS" --read-data >/dev/null ||
	fail "offline check failed after ENOSPC"
