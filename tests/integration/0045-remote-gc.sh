#!/usr/bin/env bash
# 0045-remote-gc: remote gc under Object Lock, on real radosgw.  A vault
# made with `init --lock-period 60s` (objects locked 60 s, history window
# 60 s): files A and B, sync; B deleted and purged, local gc, sync.  Once
# the checkpoint that still names B's pack is older than the window, gc
# finds it and B's pack unneeded but still locked (renewed while needed):
# nothing is deleted, they are reported waiting, and a direct delete with
# the vault's own credentials is refused.  After their lock passed, gc
# deletes exactly those objects (every version) and nothing needed;
# recover from the store gives the current tree byte-identical and
# `check --read-data` passes; `recover --at` a time inside the window
# works.  Attacks: no role and an Operator cannot run gc; a daemon whose
# host clock is 8 minutes ahead (the store still accepts its requests)
# frees nothing early: its decisions use the store's clock; a daemon
# 15 days ahead cannot reach the store and deletes nothing.  Also:
# --lock-period refused when invalid, posture names short locks weak.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"
vf_need_faketime
vf_need_ceph

vf_lock_bucket "vf0045-$$-$RANDOM"
gc_json() { # the gc --json of MNT, as the caller
	"$VAULTCTL" gc "$MNT" --json >"$VF_TMP/gc.json" || fail "gc failed: $(cat "$VF_TMP/gc.json")"
	log "gc: $(cat "$VF_TMP/gc.json")"
}
gcf() { "$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1]))["store"]; print(d[sys.argv[2]])' "$VF_TMP/gc.json" "$1"; }
keys() { s3_versions vault | awk '{print $1}' | sort -u; }

# ---- bad input: one line, nothing made -------------------------------------------
for bad in 30s 0 10x ""; do
	rc=0
	"$VAULTCTL" init "$VF_TMP/bad" --keystore "$KS" "${KEYOPT[@]}" --store "$URL" \
		"${STOREOPT[@]}" --lock-period "$bad" 2>"$VF_TMP/err" || rc=$?
	[ "$rc" != 0 ] || fail "init --lock-period '$bad' succeeded"
	head -n 1 "$VF_TMP/err" | grep -q "^vaultctl: .*lock period\|^vaultctl: .*--lock-period" ||
		fail "--lock-period '$bad': $(cat "$VF_TMP/err")"
	[ ! -e "$VF_TMP/bad" ] || fail "--lock-period '$bad' left a vault behind"
done
grep -q "" <(keys) && fail "refused inits wrote to the store: $(keys)"

# ---- a vault with 60 s locks ---------------------------------------------------------
vf_init "${KEYOPT[@]}" --store "$URL" "${STOREOPT[@]}" --lock-period 60s
grep -q "^lock-period 60$" "$VAULT/store.conf" || fail "store.conf: $(cat "$VAULT/store.conf")"
vf_mount "key_file=$VF_TMP/key"
"$VAULTCTL" posture "$MNT" >"$VF_TMP/posture" || true
grep -qi "lock" "$VF_TMP/posture" || fail "posture does not name the short lock: $(cat "$VF_TMP/posture")"
"$VAULTCTL" posture "$MNT" --json | grep -q '"short_lock"' || fail "posture --json: no short_lock"
"$VAULTCTL" status "$MNT" | grep -q "object lock:    COMPLIANCE, 1m from each upload, renewed every 20s" ||
	fail "status: $("$VAULTCTL" status "$MNT" | grep lock)"
head -c 300000 /dev/urandom >"$VF_TMP/A"
head -c 300000 /dev/urandom >"$VF_TMP/B"
cp "$VF_TMP/A" "$MNT/A"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync A"
cp "$VF_TMP/B" "$MNT/B"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync B"
sleep 1.1
INSIDE=$(date -u +%Y-%m-%dT%H:%M:%SZ) # A and B, inside the window later
# the chain started at the mount's first round: a quarter of the window
# (15 s) later the next round ships a full checkpoint, which becomes the
# floor once the window has passed (the segments before it go)
sleep 16
rm "$MNT/B"
"$VAULTCTL" softdelete purge "$MNT" B >/dev/null || fail "softdelete purge B failed"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync after the purge"
T_SYNC=$(date +%s)
keys >"$VF_TMP/keys.before"

# ---- attack: no role, Operator ----------------------------------------------------
"$VAULTCTL" role grant "$MNT" operator user:5002 >/dev/null
for who in 5001 5002; do
	rc=0
	setpriv --reuid $who --regid $who --clear-groups "$VAULTCTL" gc "$MNT" 2>"$VF_TMP/err" || rc=$?
	assert_eq 1 "$rc" "gc as uid $who"
	grep -q "" "$VF_TMP/err" || fail "gc as uid $who: no message"
done
assert_eq "$(cat "$VF_TMP/keys.before")" "$(keys)" "store keys after refused gc"

# ---- right after: everything within the window is needed -------------------------
gc_json
assert_eq 00 "$(gcf checkpoints_deleted)$(gcf packs_deleted)" "objects deleted right after the sync"

# ---- the window passes: unneeded, but still locked -----------------------------------
sleep $((T_SYNC + 62 - $(date +%s)))
"$VAULTCTL" sync "$MNT" >/dev/null || true
gc_json
[ "$(gcf checkpoints_deleted)" = 0 ] && [ "$(gcf packs_deleted)" = 0 ] || fail "gc deleted locked objects"
# B's versions stay for the version retention (14 days), so its pack is
# still live: only checkpoints are unneeded here (packs: t-policy)
assert_eq 0 "$(gcf packs_waiting)" "packs waiting while every pack is live"
[ "$(gcf checkpoints_waiting)" -ge 2 ] || fail "old checkpoints are not reported waiting"
NEXT=$(gcf next_unlock)
FLOOR=$(gcf oldest_needed_checkpoint)
[ "$FLOOR" -ge 2 ] || fail "oldest needed checkpoint $FLOOR"
# the store refuses too, whoever asks
read -r k vid < <(s3_versions vault | grep " " | awk -v f="$(printf 'vault/c/%016x' 1)" '$1 == f')
[ -n "${vid:-}" ] || fail "no version of checkpoint 1"
assert_eq 403 "$(s3curl DELETE "/$k?versionId=$vid")" "direct delete of a waiting object"
"$VAULTCTL" status "$MNT" >/dev/null

# ---- after the lock: exactly the unneeded objects go -------------------------------
# below_floor F: the checkpoint keys left in the store below sequence F
below_floor() {
	keys | while read -r k; do
		case $k in
		vault/c/*) s=${k#vault/c/}; s=$((16#${s%%.*}))
			[ "$s" -lt "$1" ] && echo "$k" ;;
		esac
	done
	return 0
}
deleted=0
for round in 1 2 3 4; do
	sleep $((NEXT + 2 - $(date +%s) > 0 ? NEXT + 2 - $(date +%s) : 0))
	gc_json
	deleted=$((deleted + $(gcf checkpoints_deleted)))
	assert_eq 0 "$(gcf packs_deleted)" "live packs deleted"
	# what is left below the floor is exactly what gc says waits
	assert_eq "$(gcf checkpoints_waiting)" "$(below_floor "$(gcf oldest_needed_checkpoint)" | wc -l)" \
		"checkpoint objects below the floor vs reported waiting"
	[ -z "$(below_floor "$FLOOR")" ] && break
	NEXT=$(gcf next_unlock)
done
[ -z "$(below_floor "$FLOOR")" ] || fail "objects below the first floor $FLOOR left: $(below_floor "$FLOOR")"
[ "$deleted" -ge 4 ] || fail "only $deleted checkpoint objects deleted"
[ "$(gcf packs_kept)" -ge 2 ] || fail "packs kept: $(gcf packs_kept)"
keys >"$VF_TMP/keys.after"
grep -q "^vault/hdr$" "$VF_TMP/keys.after" || fail "the header was deleted"
# every version of a deleted key is gone
comm -23 "$VF_TMP/keys.before" "$VF_TMP/keys.after" >"$VF_TMP/gone"
[ -s "$VF_TMP/gone" ] || fail "nothing left the store"
s3_versions vault | awk '{print $1}' | grep -Fxf "$VF_TMP/gone" && fail "versions of deleted keys remain"
"$VAULTCTL" audit list "$MNT" | grep -E "gc.*store: deleted [1-9]" >/dev/null ||
	fail "no audit record of the remote gc: $("$VAULTCTL" audit list "$MNT" | grep gc)"
cp "$MNT/A" "$VF_TMP/A.now"
vf_umount

# ---- recover: the current tree, and the window -------------------------------------
export VAULTFS_ANCHOR_DIR=$VF_TMP/anchors-rec
"$VAULTCTL" recover "$URL" "$VF_TMP/rec" "${KEYOPT[@]}" "${STOREOPT[@]}" >"$VF_TMP/rec.out" ||
	fail "recover failed: $(cat "$VF_TMP/rec.out")"
"$VAULTCTL" check "$VF_TMP/rec" "${KEYOPT[@]}" --read-data >"$VF_TMP/check.out" 2>&1 ||
	fail "check --read-data of the recovered vault: $(cat "$VF_TMP/check.out")"
ORIG=$VAULT
VAULT=$VF_TMP/rec
vf_mount "key_file=$VF_TMP/key"
cmp "$VF_TMP/A" "$MNT/A" || fail "A recovered differs"
[ ! -e "$MNT/B" ] || fail "B is back"
# B was purged: no view shows it any more
[ ! -e "$MNT/.snapshots/$INSIDE/B" ] || fail "purged B is in .snapshots"
vf_umount
# a time inside the window (the newest checkpoint's moment)
export VAULTFS_ANCHOR_DIR=$VF_TMP/anchors-at
AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
"$VAULTCTL" recover "$URL" "$VF_TMP/at" "${KEYOPT[@]}" "${STOREOPT[@]}" --at "$AT" >"$VF_TMP/at.out" ||
	fail "recover --at $AT failed: $(cat "$VF_TMP/at.out")"
VAULT=$VF_TMP/at
vf_mount "key_file=$VF_TMP/key"
cmp "$VF_TMP/A" "$MNT/A" || fail "A recovered --at differs"
vf_umount
# before the window: B's time is gone from the store
if "$VAULTCTL" recover "$URL" "$VF_TMP/old" "${KEYOPT[@]}" "${STOREOPT[@]}" --at "$INSIDE" >"$VF_TMP/old.out" 2>&1; then
	log "recover --at $INSIDE (outside the window now) still worked: $(tail -n 1 "$VF_TMP/old.out")"
fi
unset VAULTFS_ANCHOR_DIR
VAULT=$ORIG

# ---- a host clock ahead frees nothing early ----------------------------------------
# 8 minutes ahead: the store still takes the requests; decisions use its
# clock, so a checkpoint made now is needed for the window, whatever the
# host says.
keys >"$VF_TMP/keys.pre"
vf_mount_at +8m "key_file=$VF_TMP/key"
echo c >"$MNT/C"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync at +8m"
echo d >"$MNT/D"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync at +8m"
keys >"$VF_TMP/keys.ahead"
comm -13 "$VF_TMP/keys.pre" "$VF_TMP/keys.ahead" >"$VF_TMP/keys.new"
FIRST=$(sed -n 's,^vault/c/\([0-9a-f]\{16\}\).*,\1,p' "$VF_TMP/keys.new" | sort | head -n 1)
[ -n "$FIRST" ] || fail "no checkpoint shipped at +8m: $(cat "$VF_TMP/keys.new")"
gc_json
# by the host's clock the +8m checkpoints are minutes past the window (the
# floor would be one of them and what came before would go); by the
# store's they are seconds old: older objects may go, theirs stay
[ "$(gcf oldest_needed_checkpoint)" -lt $((16#$FIRST)) ] ||
	fail "the floor moved to a checkpoint made at +8m: $(gcf oldest_needed_checkpoint) >= $((16#$FIRST))"
keys >"$VF_TMP/keys.gc8"
comm -23 "$VF_TMP/keys.new" "$VF_TMP/keys.gc8" | grep . && fail "objects made at +8m went"
vf_umount
keys >"$VF_TMP/keys.ahead"
# 15 days ahead: the store refuses the signatures; gc says so, deletes nothing
vf_mount_at +15d "key_file=$VF_TMP/key"
rc=0
"$VAULTCTL" gc "$MNT" >"$VF_TMP/gc15" 2>&1 || rc=$?
assert_eq 1 "$rc" "gc with the host 15 days ahead"
grep -q "RequestTimeTooSkewed" "$VF_TMP/gc15" || log "gc at +15d: $(cat "$VF_TMP/gc15")"
vf_umount
assert_eq "$(cat "$VF_TMP/keys.ahead")" "$(keys)" "store keys after gc at +15d"
