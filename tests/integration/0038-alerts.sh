#!/usr/bin/env bash
# 0038-alerts: someone hears about it at once.  rm -rf of 1,500 files
# raises a mass-deletion alert within seconds, delivered to the
# alert_command hook (JSON on stdin) and the daemon's log; a critical
# operation asked without an approval, or with a forged one, raises a
# "denied" alert and a flood of them stays a handful; damaged data read
# back raises an integrity alert.  Alerts are listed, shown and
# acknowledged (an Operator action a Reader cannot take).  A wrong key at
# mount or in vaultctl reaches alert_command at once and raises one alert
# at the next mount.  Muting a kind needs the guard's approval and keeps
# recording; a store gone for 15 minutes raises one store-lag alert.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

HOOK_OUT=$VF_TMP/hook.out
cat >"$VF_TMP/hook.sh" <<HOOK
#!/bin/sh
cat >>"$HOOK_OUT"
echo >>"$HOOK_OUT"
HOOK
chmod 700 "$VF_TMP/hook.sh"

# wait_for FILE PATTERN SECONDS
wait_for() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

vf_init
vf_mount "alert_command=$VF_TMP/hook.sh"

# ---- mass deletion -------------------------------------------------------
mkdir "$MNT/tree"
"$PYTHON" - "$MNT/tree" <<'PY'
import os, sys
for i in range(1500):
    with open(os.path.join(sys.argv[1], "f%04d" % i), "w") as f:
        f.write("file %d\n" % i)
PY
start=$(date +%s.%N)
rm -rf "$MNT/tree"
wait_for "$HOOK_OUT" '"kind":"mass-deletion"' 5 ||
	fail "no mass-deletion alert reached the hook within 5 s: $(cat "$HOOK_OUT" 2>/dev/null)"
end=$(date +%s.%N)
log "mass-deletion alert delivered $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", b - a}') s after rm -rf started"
grep '"kind":"mass-deletion"' "$HOOK_OUT" | "$PYTHON" -c '
import json, re, sys
a = json.loads(sys.stdin.readline())
assert a["severity"] == "critical", a
assert a["uid"] == 0, a
# 1500 files in a tree of ~1500 entries: the share rule (25 % of the
# tree, at least 50 entries) fires long before the 1000-entry count rule.
assert 50 <= a["count"] < 1000, a
assert re.search(r"\d+ % of the \d+ entries the tree had", a["what"]), a
' || fail "the hook's JSON is not what it should be: $(cat "$HOOK_OUT")"
wait_for "$VF_LOG" "alert critical mass-deletion" 2 ||
	fail "no log line for the alert: $(cat "$VF_LOG")"

"$VAULTCTL" alerts list "$MNT" >"$VF_TMP/alerts"
grep -q "critical	mass-deletion	0	new	" "$VF_TMP/alerts" ||
	fail "alerts list does not show it as new: $(cat "$VF_TMP/alerts")"
id=$(awk -F'\t' '$4 == "mass-deletion" { print $1; exit }' "$VF_TMP/alerts")

# A Reader reads alerts but cannot acknowledge them.
chmod 0711 "$VF_TMP"
"$VAULTCTL" role grant "$MNT" reader user:5031 >/dev/null || fail "role grant reader"
as_reader() { setpriv --reuid 5031 --regid 5031 --clear-groups "$@"; }
as_reader "$VAULTCTL" alerts show "$MNT" "$id" | grep -q "acknowledged: no" ||
	fail "a reader cannot see the alert"
if out=$(as_reader "$VAULTCTL" alerts ack "$MNT" "$id" 2>&1); then
	fail "a reader acknowledged an alert: $out"
fi
echo "$out" | grep -q "needs the operator role" || fail "unexpected refusal: $out"
"$VAULTCTL" alerts ack "$MNT" "$id" | grep -q "alert #$id acknowledged" || fail "alerts ack failed"
"$VAULTCTL" alerts show "$MNT" "$id" | grep -q "acknowledged: .* by uid 0" ||
	fail "the acknowledgement is not shown: $("$VAULTCTL" alerts show "$MNT" "$id")"
if out=$("$VAULTCTL" alerts ack "$MNT" 999999 2>&1); then
	fail "acknowledged an alert that does not exist"
fi
echo "$out" | grep -q "no alert #999999" || fail "unexpected message: $out"

# ---- denied critical operations; a flood stays a handful ------------------
PUB=$("$VAULTCTL" guard keygen --out "$VF_TMP/guard.key" 2>/dev/null) || fail "guard keygen failed"
"$VAULTCTL" guard attach "$MNT" "$PUB" >/dev/null || fail "guard attach failed"
if "$VAULTCTL" softdelete set "$MNT" --off >/dev/null 2>&1; then
	fail "soft delete turned off without an approval"
fi
"$VAULTCTL" guard keygen --out "$VF_TMP/forger.key" >/dev/null 2>&1
req=$("$VAULTCTL" softdelete set "$MNT" --off 2>&1 | grep -o 'vfreq2:[^ ]*' | head -n 1) || true
[ -n "$req" ] || fail "no request text printed"
forged=$("$VAULTCTL" guard approve --key "$VF_TMP/forger.key" "$req" 2>/dev/null) || fail "approve with the forger's key failed"
for i in $(seq 1 8); do
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$forged" >/dev/null 2>&1 &&
		fail "a forged approval was taken"
done
wait_for "$HOOK_OUT" "refused (bad approval)" 5 || fail "no alert for a forged approval: $(cat "$HOOK_OUT")"
sleep 1.5
n=$(grep -c '"kind":"denied"' "$HOOK_OUT")
[ "$n" -le 5 ] || fail "$n denied alerts for 10 refusals: the flood was not held back"
grep -q '"kind":"denied".*"severity":"critical".*bad approval' "$HOOK_OUT" ||
	fail "a forged approval is not a critical alert: $(grep denied "$HOOK_OUT")"
grep -q '"kind":"denied".*"severity":"warning".*asked without an approval' "$HOOK_OUT" ||
	fail "a critical operation asked without approval is not a warning alert"

# ---- damaged data read back -------------------------------------------------
head -c 300000 /dev/urandom >"$VF_TMP/r"
cp "$VF_TMP/r" "$MNT/r"
vf_umount
pack=$(ls -t $(find "$VAULT/packs" -name '*.pack') | head -n 1)
# r was written last: its chunk is at the end of the newest pack
printf '\xff' | dd of="$pack" bs=1 seek=$(($(stat -c %s "$pack") - 100000)) conv=notrunc status=none
: >"$HOOK_OUT"
vf_mount "alert_command=$VF_TMP/hook.sh"
cat "$MNT/r" >/dev/null 2>&1 && fail "damaged data read back without an error"
wait_for "$HOOK_OUT" '"kind":"integrity"' 5 || fail "no integrity alert: $(cat "$HOOK_OUT")"
vf_umount

# ---- failed unlocks ---------------------------------------------------------
# A wrong key leaves the vault directory as it was (0006); the attempt is
# delivered at once to alert_command, and the next mount raises one alert
# counting every attempt (mount.vaultfs and vaultctl alike).
KV=$VF_TMP/key-vault
head -c 32 /dev/urandom >"$VF_TMP/key"
head -c 32 /dev/urandom >"$VF_TMP/wrongkey"
chmod 600 "$VF_TMP/key" "$VF_TMP/wrongkey"
"$VAULTCTL" init "$KV" --key-file "$VF_TMP/key" >/dev/null || fail "init with a key file"
: >"$HOOK_OUT"
if "$MOUNT_VAULTFS" "$KV" "$MNT" -f -o "key_file=$VF_TMP/wrongkey,alert_command=$VF_TMP/hook.sh" \
	</dev/null >"$VF_TMP/out" 2>&1; then
	fail "mounted with a wrong key"
fi
grep -q "wrong key file" "$VF_TMP/out" || fail "unexpected refusal: $(cat "$VF_TMP/out")"
grep '"kind":"unlock-failed"' "$HOOK_OUT" | "$PYTHON" -c '
import json, sys
a = json.loads(sys.stdin.readline())
assert a["severity"] == "warning" and a["uid"] == 0, a
assert "wrong key file" in a["what"], a
' || fail "the failed mount did not reach alert_command: $(cat "$HOOK_OUT")"
"$VAULTCTL" status "$KV" --key-file "$VF_TMP/wrongkey" >/dev/null 2>&1 &&
	fail "vaultctl opened the vault with a wrong key"
: >"$HOOK_OUT"
VAULT=$KV vf_mount "key_file=$VF_TMP/key" "alert_command=$VF_TMP/hook.sh"
wait_for "$HOOK_OUT" '"kind":"unlock-failed"' 5 ||
	fail "the mount after failed unlocks raised no alert: $(cat "$HOOK_OUT")"
grep '"kind":"unlock-failed"' "$HOOK_OUT" | grep -q '"count":2' ||
	fail "the alert does not count both attempts: $(cat "$HOOK_OUT")"
"$VAULTCTL" alerts list "$MNT" | grep -q "unlock-failed" || fail "alerts list does not show the failed unlocks"
vf_umount
# reported once: the next mount raises nothing more
: >"$HOOK_OUT"
VAULT=$KV vf_mount "key_file=$VF_TMP/key" "alert_command=$VF_TMP/hook.sh"
sleep 1.5
grep -q unlock-failed "$HOOK_OUT" && fail "the failed unlocks were reported twice"
vf_umount

# ---- muting ---------------------------------------------------------------
# Muting a kind is critical (the guard approves it); a muted alert is still
# recorded ("muted") but not delivered; unmuting needs no approval; an
# Operator may not mute at all.
VAULT=$KV vf_mount "key_file=$VF_TMP/key" "alert_command=$VF_TMP/hook.sh"
PUB2=$("$VAULTCTL" guard keygen --out "$VF_TMP/guard2.key" 2>/dev/null) || fail "guard keygen failed"
"$VAULTCTL" guard attach "$MNT" "$PUB2" >/dev/null || fail "guard attach failed"
"$VAULTCTL" role grant "$MNT" operator user:5032 >/dev/null || fail "role grant operator"
if out=$(setpriv --reuid 5032 --regid 5032 --clear-groups "$VAULTCTL" alerts mute "$MNT" mass-deletion --for 1h 2>&1); then
	fail "an Operator muted alerts: $out"
fi
echo "$out" | grep -q "needs the owner role" || fail "unexpected refusal: $out"
for bad in "nosuchkind --for 1h" "mass-deletion --for 31d" "mass-deletion --for xyz" "mass-deletion" "mass-deletion --off"; do
	# shellcheck disable=SC2086
	if out=$("$VAULTCTL" alerts mute "$MNT" $bad 2>&1); then
		fail "alerts mute $bad succeeded: $out"
	fi
	echo "$out" | head -n 1 | grep -q "^vaultctl: " || fail "alerts mute $bad: no reason given: $out"
done
out=$("$VAULTCTL" alerts mute "$MNT" mass-deletion --for 1h 2>&1) && fail "muted without an approval"
req=$(echo "$out" | grep -o 'vfreq2:[^ ]*' | head -n 1)
[ -n "$req" ] || fail "no request code printed: $out"
tok=$("$VAULTCTL" guard approve --key "$VF_TMP/guard2.key" "$req" 2>/dev/null) || fail "guard approve failed"
"$VAULTCTL" alerts mute "$MNT" mass-deletion --for 1h --approval "$tok" | grep -q "mass-deletion muted until" ||
	fail "alerts mute with an approval failed"
"$VAULTCTL" alerts mute "$MNT" | grep -q "^mass-deletion muted until" || fail "the mute is not listed"
: >"$HOOK_OUT"
mkdir "$MNT/tree2"
"$PYTHON" - "$MNT/tree2" <<'PY'
import os, sys
for i in range(1100):
    open(os.path.join(sys.argv[1], "f%04d" % i), "w").close()
PY
rm -rf "$MNT/tree2"
for ((i = 0; i < 40; i++)); do
	"$VAULTCTL" alerts list "$MNT" | grep -q "mass-deletion.*muted" && break
	sleep 0.1
done
"$VAULTCTL" alerts list "$MNT" | grep -q "mass-deletion.*muted" ||
	fail "the muted alert was not recorded: $("$VAULTCTL" alerts list "$MNT")"
sleep 1.5
grep -q '"kind":"mass-deletion"' "$HOOK_OUT" && fail "a muted alert reached alert_command"
"$VAULTCTL" alerts mute "$MNT" mass-deletion --off | grep -q "mass-deletion not muted" || fail "unmute failed"
"$VAULTCTL" audit list "$MNT" >"$VF_TMP/audit"
grep -q "alerts mute	-	ok	kind=mass-deletion for=3600s" "$VF_TMP/audit" ||
	fail "the mute is not in the audit log: $(grep "alerts mute" "$VF_TMP/audit")"
vf_umount

# ---- store lag ---------------------------------------------------------------
# A remote vault whose store is gone keeps writing locally; once the oldest
# change the store lacks is 15 minutes old, one store-lag alert (the
# daemon's clocks run 60 times fast: libfaketime's rate).
vf_need_faketime
SV=$VF_TMP/store-vault
VAULT=$SV vf_init --key-file "$VF_TMP/key" --store "dir:$VF_TMP/store" --no-lock >/dev/null
: >"$HOOK_OUT"
VAULT=$SV vf_mount_at '+0 x60' "key_file=$VF_TMP/key" "alert_command=$VF_TMP/hook.sh"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync with the store there failed"
mv "$VF_TMP/store" "$VF_TMP/store.away"
echo "written while the store is away" >"$MNT/late"
wait_for "$HOOK_OUT" '"kind":"store-lag"' 60 ||
	fail "no store-lag alert after 15 (fast) minutes: $(cat "$HOOK_OUT")"
grep '"kind":"store-lag"' "$HOOK_OUT" | grep -q "store directory .* is missing" ||
	fail "the alert does not say why: $(grep store-lag "$HOOK_OUT")"
mv "$VF_TMP/store.away" "$VF_TMP/store"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync after the store came back failed"
[ "$(grep -c '"kind":"store-lag"' "$HOOK_OUT")" = 1 ] || fail "more than one store-lag alert for one outage"
vf_umount

# ---- -o log=FILE -----------------------------------------------------------------
# The daemon's log lines (mount, alerts, unmount) with time and level in a
# file of the admin's choice, created 0600; a log file that cannot be
# opened fails the mount in one line.
VAULT=$KV vf_mount "key_file=$VF_TMP/key" "log=$VF_TMP/vault.log"
"$VAULTCTL" alerts mute "$MNT" clock --for 1h >/dev/null 2>&1 && fail "muted without an approval"
wait_for "$VF_TMP/vault.log" "warning: alert warning denied" 5 ||
	fail "the denied alert is not in the log file: $(cat "$VF_TMP/vault.log")"
vf_umount
[ "$(stat -c %a "$VF_TMP/vault.log")" = 600 ] || fail "the log file is not 0600"
grep -Eq "^[0-9-]{10}T[0-9:]{8}Z mount.vaultfs\[[0-9]+\]: info: mounted vault '$KV' on '$MNT'$" "$VF_TMP/vault.log" ||
	fail "no mount line in the log file: $(cat "$VF_TMP/vault.log")"
grep -q "info: unmounted vault '$KV' from '$MNT'$" "$VF_TMP/vault.log" ||
	fail "no unmount line in the log file: $(cat "$VF_TMP/vault.log")"
rc=0
"$MOUNT_VAULTFS" "$KV" "$MNT" -o "key_file=$VF_TMP/key,log=$VF_TMP/no/such/dir/log" \
	</dev/null >/dev/null 2>"$VF_TMP/err" || rc=$?
[ "$rc" = 32 ] || fail "a log file that cannot be opened: exit $rc, want 32"
grep -q "cannot open the log file" "$VF_TMP/err" || fail "unexpected message: $(cat "$VF_TMP/err")"
if is_mounted "$MNT"; then fail "mounted although the log file cannot be opened"; fi
