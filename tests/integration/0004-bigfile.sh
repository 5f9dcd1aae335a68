#!/usr/bin/env bash
# 0004-bigfile: a 1 GiB incompressible file streams in and reads back
# identical, before and after a remount; the vault holds it in about its own
# size; ranges read from the middle are right; the daemon's memory stays
# within its fixed budget (core/vault.h VF_CACHE_*: 80 MiB of caches).
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

SIZE_MB=1024
RSS_LIMIT_KB=$((200 * 1024)) # 80 MiB caches + code, SQLite, FUSE buffers

vf_init
vf_mount

# The data is written once to local disk (to compare ranges later) and then
# copied in with large writes.
dd if=/dev/urandom of="$VF_TMP/big" bs=1M count="$SIZE_MB" status=none
want=$(sha256sum <"$VF_TMP/big" | cut -d' ' -f1)
SECONDS=0
dd if="$VF_TMP/big" of="$MNT/big" bs=1M status=none || fail "writing 1 GiB into the mount failed"
log "1 GiB written in ${SECONDS}s"
assert_eq $((SIZE_MB << 20)) "$(stat -c %s "$MNT/big")" "size of the big file"
SECONDS=0
assert_eq "$want" "$(sha256sum <"$MNT/big" | cut -d' ' -f1)" "sha256 read back before remount"
log "1 GiB read back in ${SECONDS}s"

# Memory: a mounted, idle daemon after a 1 GiB write and read.
if ! ldd "$MOUNT_VAULTFS" | grep -q libasan; then
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$VF_PID/status")
	log "daemon peak RSS ${hwm} kB"
	[ "$hwm" -le "$RSS_LIMIT_KB" ] || fail "daemon peak RSS ${hwm} kB exceeds ${RSS_LIMIT_KB} kB"
fi

vf_remount
vb=$(vault_bytes)
log "vault holds $vb bytes for a $((SIZE_MB << 20))-byte random file"
[ "$vb" -lt $((SIZE_MB * 1024 * 1024 * 105 / 100)) ] || fail "vault grew $vb bytes for 1 GiB of random data (> 105%)"
[ "$vb" -gt $((SIZE_MB * 1024 * 1024)) ] || fail "vault is smaller ($vb) than the random data it holds: where is it?"
SECONDS=0
assert_eq "$want" "$(sha256sum <"$MNT/big" | cut -d' ' -f1)" "sha256 after remount"
log "1 GiB read back after remount in ${SECONDS}s"
for off_mb in 0 1 333 512 1023; do
	cmp <(dd if="$VF_TMP/big" bs=1M skip="$off_mb" count=1 status=none) \
		<(dd if="$MNT/big" bs=1M skip="$off_mb" count=1 status=none) ||
		fail "1 MiB at offset $off_mb MiB differs"
done
cmp <(tail -c 12345 "$VF_TMP/big") <(tail -c 12345 "$MNT/big") || fail "the last 12345 bytes differ"
# An unaligned read across many chunk boundaries.
cmp <(dd if="$VF_TMP/big" bs=4099 skip=77 count=2000 status=none) \
	<(dd if="$MNT/big" bs=4099 skip=77 count=2000 status=none) || fail "unaligned ranged read differs"
if ! ldd "$MOUNT_VAULTFS" | grep -q libasan; then
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$VF_PID/status")
	log "daemon peak RSS after reading 1 GiB: ${hwm} kB"
	[ "$hwm" -le "$RSS_LIMIT_KB" ] || fail "daemon peak RSS ${hwm} kB exceeds ${RSS_LIMIT_KB} kB"
fi
vf_umount
