#!/usr/bin/env bash
# 0048-remote-segments: between full checkpoints a remote vault ships only
# the catalog pages that changed, as sealed segments (c/SEQ.d;
# docs/remote-store.md).  A tree written in steps, one sync per step, is
# one full checkpoint and a chain of segments; recover gives the last step
# byte-identical, and `recover --at` a step in the middle of the chain.
# Attacks on the store: a segment deleted from the middle of the chain, or
# replaced by another segment of the same vault, makes `check` name it and
# `recover` stop at the break and say so (the state before it, never a
# segment on the wrong base).  Directory store: no Ceph needed.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

export VAULTFS_ANCHOR_DIR=$VF_TMP/anchors
STORE=$VF_TMP/store
URL=dir:$STORE
SRC=/usr/include/linux
[ -d "$SRC" ] || skip "$SRC is missing (Debian package linux-libc-dev)"
head -c 64 /dev/urandom >"$VF_TMP/key"
chmod 600 "$VF_TMP/key"
KEYOPT=(--key-file "$VF_TMP/key" --keystore "$KS")
SAVED=$VAULT

store_field() {
	"$VAULTCTL" status "$MNT" --json |
		"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["store"][sys.argv[1]])' "$1"
}
mount_key() { vf_mount "key_file=$VF_TMP/key" "$@"; }
# recover_into NAME [options]: recover the store into $VF_TMP/NAME, with
# an anchor directory of its own (as another machine)
recover_into() {
	local n=$1
	shift
	VAULT=$VF_TMP/$n
	VAULTFS_ANCHOR_DIR=$VF_TMP/anchors-$n "$VAULTCTL" recover "$URL" "$VAULT" "${KEYOPT[@]}" "$@"
}
# read-only: a recovered copy mounted read-write would ship a new full
# checkpoint to the same store
mount_copy() {
	VAULTFS_ANCHOR_DIR=$VF_TMP/anchors-$1 mount_key ro
}
seg_key() { printf 'c/%016x.d' "$1"; }

vf_init --key-file "$VF_TMP/key" --store "$URL" --no-lock
mount_key
# step 0: the whole tree (the first round of a mount is a full
# checkpoint); steps 1..5: one subdirectory each, one sync each
cp -a "$SRC" "$MNT/linux"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync 0 failed"
# a new mount starts a new chain with a full checkpoint: the chain of the
# steps below stays far from the size that calls for the next full one
vf_umount
mount_key
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync after the remount failed"
full=$(store_field checkpoint)
full_bytes=$(store_field checkpoint_bytes)
fulls=$(store_field checkpoints_shipped)
segs0=$(store_field segments_shipped)
log "after the copy: sequence $full, $fulls full checkpoints ($full_bytes bytes the last), $segs0 segments"
mkdir -p "$VF_TMP/ref"
cp -a "$SRC" "$VF_TMP/ref/linux"
declare -a SEQ AT
SEQ[0]=$full
for i in 1 2 3 4 5; do
	sleep 1.1
	for d in "$MNT" "$VF_TMP/ref"; do
		mkdir "$d/step$i"
		cp -a "$SRC/netfilter/nf_tables.h" "$SRC/if_ether.h" "$d/step$i/"
		echo "step $i" >"$d/step$i/mark"
		echo "edit $i" >>"$d/linux/types.h"
	done
	"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync $i failed"
	SEQ[$i]=$(store_field checkpoint)
	AT[$i]=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	cp -a "$VF_TMP/ref" "$VF_TMP/ref$i"
	log "step $i: sequence ${SEQ[$i]}, segment $(store_field segment_bytes) bytes"
done
segs=$(($(store_field segments_shipped) - segs0))
[ "$segs" = 5 ] || fail "5 steps shipped $segs segments, expected 5"
[ "$(store_field checkpoints_shipped)" = "$fulls" ] || fail "a step shipped a full checkpoint"
for i in 1 2 3 4 5; do
	[ -f "$STORE/$(seg_key "${SEQ[$i]}")" ] || fail "segment ${SEQ[$i]} is not in the store"
	[ -f "$STORE/$(printf 'c/%016x.t' "${SEQ[$i]}")" ] || fail "segment ${SEQ[$i]} has no time object"
done
shipped=$(store_field bytes_shipped)
log "full checkpoint $full_bytes bytes, 5 segments; $shipped bytes shipped in all (packs included)"
"$VAULTCTL" status "$MNT" | grep -q "^shipped: .* $(store_field segments_shipped) segments (last " || fail "status does not count the segments"
vf_umount
"$VAULTCTL" check "$VAULT" "${KEYOPT[@]}" >/dev/null || fail "check of the shipped vault failed"

# 1. Recover the whole chain: the last step, byte-identical.
t0=$(date +%s.%N)
recover_into all >"$VF_TMP/all.out" || fail "recover failed"
t1=$(date +%s.%N)
log "$(cat "$VF_TMP/all.out") ($(echo "$t1 - $t0" | bc) s)"
grep -q "full checkpoint [0-9]* and [0-9]* segments" "$VF_TMP/all.out" || fail "recover does not name the chain"
mount_copy all
for d in linux step1 step2 step3 step4 step5; do
	diff -r "$VF_TMP/ref/$d" "$MNT/$d" || fail "recovered $d differs"
done
vf_umount

# 2. --at a step in the middle of the chain: that step exactly.
recover_into mid --at "${AT[3]}" >"$VF_TMP/mid.out" || fail "recover --at failed"
log "$(head -n 2 "$VF_TMP/mid.out" | tr '\n' ' ')"
grep -q "checkpoint ${SEQ[3]} " "$VF_TMP/mid.out" || fail "recover --at ${AT[3]} did not recover ${SEQ[3]}"
mount_copy mid
for d in linux step1 step2 step3; do
	diff -r "$VF_TMP/ref3/$d" "$MNT/$d" || fail "recover --at: $d differs"
done
[ ! -e "$MNT/step4" ] || fail "recover --at shows a later step"
vf_umount

# 3. Attack: segment 3 deleted from the store.  check names it; recover
# stops before it and says so.
VAULT=$SAVED
k3=$(seg_key "${SEQ[3]}")
mv "$STORE/$k3" "$VF_TMP/seg3"
set +e
"$VAULTCTL" check "$VAULT" "${KEYOPT[@]}" >"$VF_TMP/check.out" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "check with a deleted segment: exit $rc"
grep -q "store object $k3: missing from the store" "$VF_TMP/check.out" || fail "check does not name the deleted segment: $(cat "$VF_TMP/check.out")"
recover_into del >"$VF_TMP/del.out" || fail "recover with a deleted segment failed"
log "$(cat "$VF_TMP/del.out" | tr '\n' ' ')"
grep -q "segment chain broken at ${SEQ[4]}: .*does not follow" "$VF_TMP/del.out" || fail "recover does not say where the chain broke"
grep -q "checkpoint ${SEQ[2]} " "$VF_TMP/del.out" || fail "recover did not stop at ${SEQ[2]}"
mount_copy del
diff -r "$VF_TMP/ref2/step2" "$MNT/step2" || fail "state before the break differs"
[ ! -e "$MNT/step3" ] || fail "a step after the break was recovered"
vf_umount

# 4. Attack: segment 3 replaced by segment 4 (authentic, but another
# sequence number): not authentic as 3.
cp "$STORE/$(seg_key "${SEQ[4]}")" "$STORE/$k3"
VAULT=$SAVED
set +e
"$VAULTCTL" check "$VAULT" "${KEYOPT[@]}" >"$VF_TMP/check2.out" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "check with a replaced segment: exit $rc"
grep -q "store object $k3: not authentic" "$VF_TMP/check2.out" || fail "check does not name the replaced segment: $(cat "$VF_TMP/check2.out")"
recover_into rep >"$VF_TMP/rep.out" || fail "recover with a replaced segment failed"
grep -q "segment chain broken at ${SEQ[3]}: .*not authentic" "$VF_TMP/rep.out" || fail "recover does not refuse the replaced segment: $(cat "$VF_TMP/rep.out")"
mount_copy rep
diff -r "$VF_TMP/ref2/step2" "$MNT/step2" || fail "state before the replaced segment differs"
[ ! -e "$MNT/step3" ] || fail "the replaced segment was applied"
vf_umount
mv "$VF_TMP/seg3" "$STORE/$k3"
VAULT=$SAVED
"$VAULTCTL" check "$VAULT" "${KEYOPT[@]}" >/dev/null || fail "check after the segment is back failed"
log "store: $(find "$STORE/c" -type f | wc -l) catalog objects, $(du -sb "$STORE/c" | cut -f1) bytes"
