#!/usr/bin/env bash
# 0025-clock: the vault clock (docs/design.md, "Vault clock").  A daemon or
# vaultctl started with its wall clock moved ahead counts at most an hour
# of it: 16 days ahead purges nothing, 73 hours ahead leaves a pending
# lock cancellable, and the jump is in the audit log; a clock set back
# lets prune keep the newest versions, not the oldest; time that really
# passes (libfaketime's rate, a day per second) purges on time.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"
vf_need_faketime

SD=
# write_version N: a new version of f (one close, one recovery point)
write_version() {
	echo "version $1" >"$MNT/f"
	sleep 1
}

vf_init
vf_mount
SD=$MNT/.softdeleted
"$VAULTCTL" policy set "$MNT" --keep-last 1 >/dev/null || fail "policy set --keep-last 1 failed"
for i in 1 2 3; do
	write_version "$i"
done
echo doomed >"$MNT/doomed"
rm "$MNT/doomed"
[ -e "$SD/doomed" ] || fail "doomed is not in .softdeleted"
mkdir "$MNT/locked"
"$VAULTCTL" immutable set "$MNT" locked --days 1 --lock >/dev/null ||
	fail "immutable set --lock failed"
"$VAULTCTL" softdelete set "$MNT" --always-on >/dev/null || fail "always-on failed"
vf_umount

# ---- set back: the newest versions stay -----------------------------------
vf_mount_at -2d
for i in 4 5; do
	write_version "$i"
done
"$VAULTCTL" audit list "$MNT" >"$VF_TMP/audit"
grep -q "clock went back" "$VF_TMP/audit" || fail "no audit record of the clock set back: $(cat "$VF_TMP/audit")"
assert_eq 5 "$(ls "$MNT/.versions/f" | wc -l)" "versions of f after the writes"
vf_umount

# ---- 16 days ahead at start: nothing purged ---------------------------------
vf_mount_at +16d maintain=1
sleep 3
[ -e "$SD/doomed" ] || fail "purged by a daemon started 16 days ahead"
assert_eq 5 "$(ls "$MNT/.versions/f" | wc -l)" "versions of f after a daemon started 16 days ahead"
"$VAULTCTL" audit list "$MNT" >"$VF_TMP/audit"
grep "clock jumped" "$VF_TMP/audit" >&2 || fail "no audit record of the clock jump: $(cat "$VF_TMP/audit")"
grep -q "clock jumped 13824[0-9][0-9] s ahead; counted as 3600 s" "$VF_TMP/audit" ||
	fail "the clock record does not say what was counted"
vf_umount

# ---- 73 hours ahead at start: the locks stay pending --------------------------
vf_mount_at +73h
"$VAULTCTL" immutable list "$MNT" | grep -q "pending" ||
	fail "lock not pending with a daemon started 73 h ahead: $("$VAULTCTL" immutable list "$MNT")"
"$VAULTCTL" softdelete show "$MNT" | grep -qi pending ||
	fail "always-on not pending with a daemon started 73 h ahead"
"$VAULTCTL" softdelete set "$MNT" --cancel-always-on >/dev/null ||
	fail "cancelling always-on refused with a daemon started 73 h ahead"
"$VAULTCTL" immutable unlock "$MNT" locked >/dev/null ||
	fail "unlock refused with a daemon started 73 h ahead"
vf_umount

# ---- offline gc 16 days ahead: nothing purged ---------------------------------
vf_at +16d "$VAULTCTL" gc "$VAULT" --keystore "$KS" >"$VF_TMP/gc" || fail "offline gc failed"
vf_at +16d "$VAULTCTL" prune "$VAULT" --keystore "$KS" >"$VF_TMP/prune" || fail "offline prune failed"
case $(cat "$VF_TMP/prune") in *"removed 0 of"*) ;; *) fail "offline prune 16 days ahead removed versions: $(cat "$VF_TMP/prune")" ;; esac
vf_mount
[ -e "$SD/doomed" ] || fail "purged by an offline gc started 16 days ahead"
vf_umount

# ---- time that passes: purged, pruned ----------------------------------------
vf_mount_fast maintain=1
for _ in $(seq 1 60); do
	[ ! -e "$SD/doomed" ] && [ "$(ls "$MNT/.versions/f" | wc -l)" = 3 ] && break
	sleep 0.5
done
[ ! -e "$SD/doomed" ] || fail "not purged after 16 days really passed"
vf_umount
vf_mount
mapfile -t vers < <(ls "$MNT/.versions/f")
assert_eq 3 "${#vers[@]}" "versions of f after the prune"
for k in 0 1 2; do
	assert_eq "version $((k + 3))" "$(cat "$MNT/.versions/f/${vers[$k]}")" "version $k of f after the prune"
done
vf_umount
log "ok"
