#!/usr/bin/env bash
# 0038-alerts: someone hears about it at once.  rm -rf of 1,500 files
# raises a mass-deletion alert within seconds, delivered to the
# alert_command hook (JSON on stdin) and the daemon's log; a critical
# operation asked without an approval, or with a forged one, raises a
# "denied" alert and a flood of them stays a handful; damaged data read
# back raises an integrity alert.  Alerts are listed, shown and
# acknowledged (an Operator action a Reader cannot take).
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
import json, sys
a = json.loads(sys.stdin.readline())
assert a["severity"] == "critical", a
assert a["uid"] == 0, a
assert a["count"] >= 1000, a
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
