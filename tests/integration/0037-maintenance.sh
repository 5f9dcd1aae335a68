#!/usr/bin/env bash
# 0037-maintenance: the daemon's upkeep leaves a trace.  A maintenance run
# that purges soft-deleted items and prunes versions writes an audit
# record and a log line saying what it removed; runs that remove nothing
# write neither (an hourly "nothing" would bury the log).
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"
vf_need_faketime

vf_init
vf_mount
"$VAULTCTL" policy set "$MNT" --keep-last 1 >/dev/null || fail "policy set --keep-last 1 failed"
for i in 1 2 3 4 5; do
	echo "version $i" >"$MNT/f"
	sleep 1
done
echo doomed >"$MNT/doomed"
rm "$MNT/doomed"
vf_umount

# Sixteen days pass with the timer running every vault hour.
vf_pass_days 16 maintain=3600
log=$VF_LOG
vf_mount
[ -e "$MNT/.softdeleted/doomed" ] && fail "doomed was not purged by the maintenance timer"
"$VAULTCTL" audit list "$MNT" >"$VF_TMP/audit"
grep -E "maintenance.*purged 1 soft-deleted items" "$VF_TMP/audit" >&2 ||
	fail "no audit record of the purge: $(grep -i maint "$VF_TMP/audit" || cat "$VF_TMP/audit")"
grep -qE "maintenance.*pruned [1-9][0-9]* versions" "$VF_TMP/audit" ||
	fail "no audit record of the prune: $(grep -i maint "$VF_TMP/audit")"
grep -qE "maintenance of vault .*: pruned .*purged 1 soft-deleted items" "$log" ||
	fail "no log line of the maintenance run: $(cat "$log")"
# Only runs that removed something are recorded: far fewer than the
# 16 * 24 runs of the timer.
n=$(awk -F'\t' '$4 == "maintenance"' "$VF_TMP/audit" | wc -l)
[ "$n" -ge 1 ] && [ "$n" -le 2 ] ||
	fail "$n maintenance records for one purge and one prune: $(cat "$VF_TMP/audit")"
"$VAULTCTL" status "$MNT" | grep -qE "^maintenance: +last run .* ok: pruned [0-9]+ versions, purged [0-9]+ items" ||
	fail "status does not show the last maintenance run: $("$VAULTCTL" status "$MNT")"
vf_umount
