#!/usr/bin/env bash
# 0014-prune-gc: the retention policy, prune and gc (docs/design.md).  20 files of
# random data, each written 5 times; with keep-last 3, `prune --dry-run`
# lists the 2 oldest versions of each file and changes nothing, `prune` drops
# them, `gc` gives back about two fifths of the vault, everything left reads
# back and verifies, and .versions shows exactly the last three rounds.
# Also: policy set/show and its refusals, the daemon's maintenance timer
# (-o maintain=SECONDS), and kill -9 of the daemon in the middle of a gc.
# No version goes before it has been replaced for the soft-delete retention
# (14 days): prune right after the rounds removes nothing, and 15 days pass
# on the vault clock (vf_pass_days) before each prune that should remove
# something.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"
vf_need_faketime

MiB=$((1024 * 1024))
NFILES=20
ROUNDS=5

# status_field NAME: one number from `vaultctl status --json`.
status_field() {
	"$VAULTCTL" status "$MNT" --json |
		"$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
packs_bytes() { du -sb "$VAULT/packs" | cut -f1; }
# write_round DIR N ROUND: N files of ~2 MiB random data written over in
# DIR (each close is a recovery point); their sha256 go to sums.ROUND.
write_round() {
	local dir=$1 n=$2 round=$3 i
	mkdir -p "$VF_TMP/src" "$dir"
	for i in $(seq 1 "$n"); do
		head -c $((2 * MiB + i * 1000 + round)) /dev/urandom >"$VF_TMP/src/f$i"
		cp "$VF_TMP/src/f$i" "$dir/f$i"
	done
	(cd "$VF_TMP/src" && sha256sum $(seq -f 'f%g' 1 "$n")) >"$VF_TMP/sums.$(basename "$dir").$round"
}

vf_init
vf_mount

# ---- policy set / show ------------------------------------------------------
rc=0
"$VAULTCTL" policy set "$MNT" --min-points 2 2>"$VF_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status of policy set --min-points 2"
[ "$(wc -l <"$VF_TMP/err")" = 1 ] || fail "policy set --min-points 2: not one line: $(cat "$VF_TMP/err")"
for bad in "--keep-within 3x" "--keep-within 12" "--keep-within d" "--keep-within -1d" \
	"--keep-last -1" "--keep-last 1e3" "--keep-daily 99999999999" "--keep-everything 1"; do
	rc=0
	# shellcheck disable=SC2086
	"$VAULTCTL" policy set "$MNT" $bad 2>/dev/null || rc=$?
	assert_eq 2 "$rc" "exit status of policy set $bad"
done
"$VAULTCTL" policy set "$MNT" --keep-within 30d --keep-daily 7 --keep-hourly 24 \
	--keep-weekly 4 --keep-monthly 12 --keep-yearly 2 --min-points 4 >/dev/null ||
	fail "policy set with every rule failed"
"$VAULTCTL" policy set "$MNT" --keep-last 5 --keep-within 12h >/dev/null || fail "policy set failed"
want='{"keep_last":5,"keep_within":"12h","keep_within_seconds":43200,"keep_hourly":24,"keep_daily":7,"keep_weekly":4,"keep_monthly":12,"keep_yearly":2,"min_points":4}'
assert_eq "$want" "$("$VAULTCTL" policy show "$MNT" --json)" "policy show after two policy sets"
"$VAULTCTL" policy show "$MNT" | grep -q '^keep-within: *12h$' || fail "policy show (text) does not say keep-within 12h"
# Back to keep-last 3 only: options not given keep their value, so reset all.
"$VAULTCTL" policy set "$MNT" --keep-last 3 --keep-within 0 --keep-hourly 0 --keep-daily 0 \
	--keep-weekly 0 --keep-monthly 0 --keep-yearly 0 --min-points 3 >/dev/null ||
	fail "policy set back to keep-last 3 failed"
"$VAULTCTL" policy show "$MNT" --json | grep -q '"keep_last":3,"keep_within":"0"' ||
	fail "policy is not keep-last 3: $("$VAULTCTL" policy show "$MNT" --json)"

# ---- 20 files, 5 rounds -----------------------------------------------------
for round in $(seq 1 $ROUNDS); do
	write_round "$MNT/t" $NFILES "$round"
	sleep 1
done
cp "$VF_TMP"/src/f* "$VF_TMP/" # the live contents, for reading back
assert_eq $((NFILES * ROUNDS)) "$(status_field versions)" "versions after $ROUNDS rounds"
for i in $(seq 1 $NFILES); do
	ls "$MNT/.versions/t/f$i" | head -n 2 | sed "s|^|t/f$i\t|"
done | sort >"$VF_TMP/oldest-two"
# Right after the writes every old version is younger than the soft-delete
# retention: keep-last 3 or not, prune removes nothing (whoever may only
# write cannot push history out by writing).
out=$("$VAULTCTL" prune "$MNT") || fail "prune right after the writes failed"
case $out in *"removed 0 of"*) ;; *) fail "prune removed versions younger than the soft-delete retention: $out" ;; esac
assert_eq $((NFILES * ROUNDS)) "$(status_field versions)" "versions after an early prune"
vf_umount
b0=$(vault_bytes)
vf_pass_days 15
vf_mount

# ---- dry run: lists, changes nothing ----------------------------------------
st0=$("$VAULTCTL" status "$MNT" --json)
p0=$(packs_bytes)
"$VAULTCTL" prune "$MNT" --dry-run -H -p >"$VF_TMP/dry" || fail "prune --dry-run failed"
assert_eq $((NFILES * 2)) "$(grep -c $'\t' "$VF_TMP/dry")" "versions listed by prune --dry-run"
grep -q "would remove $((NFILES * 2)) of" "$VF_TMP/dry" || fail "prune --dry-run summary: $(tail -n 1 "$VF_TMP/dry")"
# SIZE<TAB>TIME<TAB>PATH (-H: no header, tabs; -p: sizes in bytes): the
# two oldest versions of each file.
# Times are to the ns (two versions may share a second); .versions names
# are to the second.
[ "$(grep $'\t' "$VF_TMP/dry" | cut -f2 | grep -Evc '^[0-9-]{10}T[0-9:]{8}\.[0-9]{9}Z$')" = 0 ] ||
	fail "prune --dry-run times are not to the nanosecond: $(head -n 2 "$VF_TMP/dry")"
grep $'\t' "$VF_TMP/dry" | awk -F'\t' -v OFS='\t' '{ print $3, $2 }' | sed -E 's|^/||; s|\.[0-9]{9}Z$|Z|' | sort >"$VF_TMP/dry-listed"
diff -u "$VF_TMP/oldest-two" "$VF_TMP/dry-listed" >&2 ||
	fail "prune --dry-run did not list the two oldest versions of each file"
grep $'\t' "$VF_TMP/dry" | awk -F'\t' '$1 < 2097152 || $1 > 2200000 { bad = 1 } END { exit bad }' ||
	fail "prune --dry-run sizes are wrong"
assert_eq "$st0" "$("$VAULTCTL" status "$MNT" --json)" "vaultctl status after prune --dry-run"
assert_eq "$p0" "$(packs_bytes)" "pack bytes after prune --dry-run"
assert_eq $ROUNDS "$(ls "$MNT/.versions/t/f1" | wc -l)" "versions of t/f1 after prune --dry-run"
"$VAULTCTL" prune "$MNT" --dry-run --json | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["dry_run"] is True and d["removed_count"] == 2 * int(sys.argv[1]), d
assert len(d["removed"]) == 2 * int(sys.argv[1]), d
' $NFILES || fail "prune --dry-run --json is not what it should be"

# ---- prune, gc --------------------------------------------------------------
"$VAULTCTL" prune "$MNT" -H >"$VF_TMP/pruned" || fail "prune failed"
assert_eq $((NFILES * 2)) "$(grep -c $'\t' "$VF_TMP/pruned")" "versions removed by prune"
assert_eq $((NFILES * 3)) "$(status_field versions)" "versions after prune"
out=$("$VAULTCTL" prune "$MNT") || fail "second prune failed"
case $out in *"removed 0 of"*) ;; *) fail "a second prune removed something: $out" ;; esac
"$VAULTCTL" gc "$MNT" --bytes >"$VF_TMP/gc" || fail "gc failed: $(cat "$VF_TMP/gc")"
log "gc: $(tr '\n' ' ' <"$VF_TMP/gc")"
"$PYTHON" -c '
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"stored: +(\d+) -> (\d+)", t)
assert m and int(m.group(2)) < int(m.group(1)) * 0.7, t
assert int(re.search(r"chunks freed: +(\d+)", t).group(1)) > 0, t
' "$VF_TMP/gc" || fail "gc output: $(cat "$VF_TMP/gc")"
"$VAULTCTL" gc "$MNT" --json | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
assert d["chunks_freed"] == 0 and d["busy"] is False, d
' || fail "a second gc found more to free"
vf_umount
b1=$(vault_bytes)
pct=$(((b0 - b1) * 100 / b0))
log "vault: $b0 bytes before prune + gc, $b1 after: $pct% smaller"
[ "$pct" -ge 30 ] && [ "$pct" -le 50 ] || fail "vault shrank by $pct% (want 30-50%: 2 of 5 versions)"

vf_mount
out=$("$VAULTCTL" check "$MNT" --read-data 2>&1) || fail "check --read-data after prune + gc: $out"
for i in $(seq 1 $NFILES); do
	cmp "$VF_TMP/f$i" "$MNT/t/f$i" || fail "t/f$i differs after prune + gc"
	mapfile -t vers < <(ls "$MNT/.versions/t/f$i")
	assert_eq 3 "${#vers[@]}" "versions of t/f$i after prune"
	for k in 0 1 2; do
		want=$(grep " f$i\$" "$VF_TMP/sums.t.$((ROUNDS - 2 + k))" | cut -d' ' -f1)
		got=$(sha256sum <"$MNT/.versions/t/f$i/${vers[$k]}" | cut -d' ' -f1)
		assert_eq "$want" "$got" "version $k of t/f$i (round $((ROUNDS - 2 + k)))"
	done
done

# ---- the maintenance timer --------------------------------------------------
for round in $(seq 1 $ROUNDS); do
	write_round "$MNT/m" 10 "$round"
	sleep 1
done
vf_umount
p1=$(packs_bytes)
# the clock fast (a day per second), the timer every (vault) day
vf_mount_fast maintain=86400
i=0
until [ "$(packs_bytes)" -lt $((p1 - 20 * MiB)) ]; do
	i=$((i + 1))
	[ "$i" -le 60 ] || fail "the maintenance timer did not shrink the vault within 30 s ($p1 -> $(packs_bytes) pack bytes)"
	sleep 0.5
done
log "maintenance timer: pack bytes $p1 -> $(packs_bytes) after $((i / 2)) s"
assert_eq 3 "$(ls "$MNT/.versions/m/f1" | wc -l)" "versions of m/f1 after the timer ran"
assert_eq $((NFILES * 3 + 30)) "$(status_field versions)" "versions after the timer ran"
SECONDS=0
vf_umount
[ "$SECONDS" -le 5 ] || fail "unmount with the maintenance timer took $SECONDS s"
vf_mount
out=$("$VAULTCTL" check "$MNT" --read-data 2>&1) || fail "check --read-data after the timer: $out"

# ---- kill -9 in the middle of a gc ------------------------------------------
# Versions of g/ interleaved with small files in keep/ that stay: once the
# old versions are pruned, their packs are mostly garbage and gc rewrites
# them (copies the live chunks out), which takes a few tenths of a second.
kround=0
grow() {
	local k i
	for k in $(seq 1 "$1"); do
		kround=$((kround + 1))
		write_round "$MNT/g" $NFILES $kround
		for i in $(seq 1 $NFILES); do
			head -c $((256 * 1024 + i)) /dev/urandom >"$VF_TMP/keep.tmp"
			cp "$VF_TMP/keep.tmp" "$MNT/keep/r$kround-f$i"
			echo "$(sha256sum <"$VF_TMP/keep.tmp" | cut -d' ' -f1)  r$kround-f$i" >>"$VF_TMP/sums.keep"
		done
	done
}
mkdir "$MNT/keep"
: >"$VF_TMP/sums.keep"
grow 3
hits=0
for delay in 0.02 0.08 0.15; do
	grow 2
	vf_umount
	vf_pass_days 15
	vf_mount
	"$VAULTCTL" prune "$MNT" >/dev/null || fail "prune before the kill failed"
	"$VAULTCTL" gc "$MNT" >"$VF_TMP/gc.killed" 2>&1 &
	gc=$!
	sleep "$delay"
	sleep "0.0$((RANDOM % 5))"
	if pid_running "$gc"; then
		state="running"
		hits=$((hits + 1))
	else
		state="finished"
	fi
	vf_kill9
	wait "$gc" 2>/dev/null || true
	log "kill -9 after ${delay}s: gc was $state ($(tr '\n' ' ' <"$VF_TMP/gc.killed"))"
	vf_mount
	out=$("$VAULTCTL" check "$MNT" --read-data 2>&1) || fail "check --read-data after kill -9 during gc: $out"
	(cd "$MNT/g" && sha256sum -c --quiet "$VF_TMP/sums.g.$kround") ||
		fail "files in g/ differ after kill -9 during gc"
	(cd "$MNT/keep" && sha256sum -c --quiet "$VF_TMP/sums.keep") ||
		fail "files in keep/ differ after kill -9 during gc"
	for i in $(seq 1 $NFILES); do
		cmp "$VF_TMP/f$i" "$MNT/t/f$i" || fail "t/f$i differs after kill -9 during gc"
	done
	(cd "$MNT/m" && sha256sum -c --quiet "$VF_TMP/sums.m.$ROUNDS") ||
		fail "files in m/ differ after kill -9 during gc"
done
[ "$hits" -ge 1 ] || fail "gc had always finished before the kill: nothing tested"
"$VAULTCTL" gc "$MNT" >/dev/null || fail "gc after the kills failed"
out=$("$VAULTCTL" check "$MNT" --read-data 2>&1) || fail "check --read-data after the last gc: $out"
vf_umount
out=$("$VAULTCTL" check "$VAULT" --keystore "$KS" --read-data 2>&1) ||
	fail "offline check --read-data at the end: $out"
