#!/usr/bin/env bash
# 0008-dedup: the acceptance figures of issue 2 — after a 64 MiB random file,
# a 1-byte in-place change in its middle grows the vault by < 4 MiB, 10 bytes
# inserted at the front by < 6 MiB, and a second copy of a whole tree into
# another directory by < 5% of the tree's size.  Sizes are measured after
# unmount (everything flushed), with du -sb of the vault directory.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

MiB=$((1024 * 1024))
TREE=/usr/include

# measure VAR: unmount (everything flushed) and store the vault's size in VAR.
measure() {
	vf_umount
	printf -v "$1" '%s' "$(vault_bytes)"
}
report() {
	log "$(awk -v w="$1" -v g="$2" -v l="$3" -v m="$MiB" 'BEGIN {
		printf "%-32s grew %10d bytes (%7.3f MiB), limit %7.3f MiB", w, g, g / m, l / m }')"
	[ "$2" -lt "$3" ] || fail "$1: vault grew $2 bytes, limit $3"
}

vf_init
vf_mount
head -c $((64 * MiB)) /dev/urandom >"$VF_TMP/f"
cp "$VF_TMP/f" "$MNT/f"
measure b0
log "64 MiB random file: vault is $b0 bytes"

# 1 byte changed in place in the middle.
vf_mount
mid=$((32 * MiB + 12345))
old=$(dd if="$VF_TMP/f" bs=1 skip="$mid" count=1 status=none | od -An -tu1 | tr -d ' ')
new=$(((old + 1) % 256))
for t in "$VF_TMP/f" "$MNT/f"; do
	printf "$(printf '\\%03o' "$new")" | dd of="$t" bs=1 seek="$mid" conv=notrunc status=none
done
cmp "$VF_TMP/f" "$MNT/f" || fail "contents differ after the 1-byte change"
measure b1
report "1-byte change in the middle" $((b1 - b0)) $((4 * MiB))

# 10 bytes inserted at the front: a whole new version of the file.
vf_mount
{ printf '0123456789'; cat "$VF_TMP/f"; } >"$VF_TMP/f2"
cat "$VF_TMP/f2" >"$MNT/f"
cmp "$VF_TMP/f2" "$MNT/f" || fail "contents differ after the insertion"
measure b2
report "10 bytes inserted at the front" $((b2 - b1)) $((6 * MiB))

# A tree copied twice.
vf_mount
tree_bytes=$(du -sb "$TREE" | cut -f1)
cp -a "$TREE" "$MNT/first"
measure b3
log "first copy of $TREE ($tree_bytes bytes, $(find "$TREE" | wc -l) entries): vault grew $((b3 - b2)) bytes"
vf_mount
cp -a "$TREE" "$MNT/second"
same_tree "$TREE" "$MNT/second"
measure b4
report "second copy of $TREE" $((b4 - b3)) $((tree_bytes * 5 / 100))

vf_mount
cmp "$VF_TMP/f2" "$MNT/f" || fail "64 MiB file differs after remount"
same_tree "$TREE" "$MNT/first"
vf_umount
