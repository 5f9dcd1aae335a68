#!/usr/bin/env bash
# 0022-pruned-history: a snapshot view never shows a file whose version at
# that time was pruned as an empty file.  The entry is not in the view
# (ENOENT: no recovery point at T), so `vaultctl restore --at T` of it fails
# with one line and exit 1 instead of restoring 0 bytes with exit 0, and a
# restore of its directory leaves the live file alone.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"
vf_need_faketime

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
vf_init
vf_mount
"$VAULTCTL" policy set "$MNT" --keep-last 3 >/dev/null || fail "policy set --keep-last 3"
mkdir "$MNT/d"
echo other >"$MNT/d/other"
echo one >"$MNT/d/f"
sleep 1.1
T1=$(now)
sleep 1.1
for i in two three four five; do
	echo $i >"$MNT/d/f"
	sleep 1.1
done
assert_eq one "$(cat "$MNT/.snapshots/$T1/d/f")" "d/f at $T1 before the prune"
vf_umount
# prune 15 days later (on the vault clock): the two oldest versions of d/f go
vf_pass_days 15
vf_mount
"$VAULTCTL" prune "$MNT" >"$VF_TMP/pruned" || fail "prune failed"
assert_eq 3 "$(ls "$MNT/.versions/d/f" | wc -l)" "versions of d/f after the prune"
vf_remount

# the view: no d/f at T1 (not an empty file); d/other is still there
[ -e "$MNT/.snapshots/$T1/d/f" ] &&
	fail "d/f at $T1 shows as a $(stat -c %s "$MNT/.snapshots/$T1/d/f")-byte file although its version was pruned"
ls "$MNT/.snapshots/$T1/d" | grep -qx f && fail "the listing of d at $T1 shows the pruned d/f"
assert_eq other "$(cat "$MNT/.snapshots/$T1/d/other")" "d/other at $T1"
# restore of the file refuses, with one line, changing nothing
rc=0
"$VAULTCTL" restore "$MNT" d/f --at "$T1" >"$VF_TMP/out" 2>"$VF_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status of restore d/f --at $T1 (pruned)"
assert_eq 1 "$(wc -l <"$VF_TMP/err")" "lines on stderr of the refused restore"
assert_eq five "$(cat "$MNT/d/f")" "d/f after the refused restore"
rc=0
"$VAULTCTL" restore "$MNT" d/f --at "$T1" --to "$VF_TMP/f-at-t1" >"$VF_TMP/out" 2>"$VF_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status of restore d/f --at $T1 --to (pruned)"
[ ! -e "$VF_TMP/f-at-t1" ] || fail "restore --to wrote $(stat -c %s "$VF_TMP/f-at-t1") bytes for a pruned version"
# restore of the directory: d/f (newer than what is known at T1) untouched
"$VAULTCTL" restore "$MNT" d --at "$T1" >/dev/null 2>&1 || true
assert_eq five "$(cat "$MNT/d/f")" "d/f after a restore of d at $T1"
vf_umount
