#!/usr/bin/env bash
# 0036-posture: the security grade moves Poor -> Fair -> Good -> Excellent
# as the README's commands are applied (soft delete off, a guard, soft
# delete on, always-on once final), names the command that raises it, and
# a user with no role cannot read it.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"
vf_need_faketime

grade() {
	"$VAULTCTL" posture "$MNT" --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["posture"])'
}

vf_init
vf_mount
assert_eq Good "$(grade)" "posture of a new vault (soft delete on)"
"$VAULTCTL" softdelete set "$MNT" --off >/dev/null || fail "softdelete --off failed"
assert_eq Poor "$(grade)" "posture with soft delete off"
out=$("$VAULTCTL" posture "$MNT")
echo "$out" | grep -q -- "-> Fair: vaultctl guard attach $MNT" ||
	fail "posture does not name the command that raises it: $out"
echo "$out" | grep -q "weak:.*local vault" || fail "the local vault is not named as weak: $out"

PUB=$("$VAULTCTL" guard keygen --out "$VF_TMP/guard.key" 2>/dev/null) || fail "guard keygen failed"
"$VAULTCTL" guard attach "$MNT" "$PUB" >/dev/null || fail "guard attach failed"
assert_eq Fair "$(grade)" "posture with a guard only"
"$VAULTCTL" softdelete set "$MNT" --on >/dev/null || fail "softdelete --on failed"
assert_eq Good "$(grade)" "posture with soft delete on and a guard"
"$VAULTCTL" softdelete set "$MNT" --always-on >/dev/null || fail "always-on failed"
# Pending always-on can still be cancelled: it does not count yet.
assert_eq Good "$(grade)" "posture with always-on pending"
"$VAULTCTL" posture "$MNT" | grep -q "pending; -> Excellent" ||
	fail "pending always-on not shown: $("$VAULTCTL" posture "$MNT")"
vf_umount

# Four days pass on the vault clock: always-on is final.
vf_pass_days 4
vf_mount
assert_eq Excellent "$(grade)" "posture with always-on final and a guard"
"$VAULTCTL" posture "$MNT" | grep -q "Excellent needs" &&
	fail "an Excellent vault is still told what it needs"

# A user with no role reads nothing.
chmod 0711 "$VF_TMP"
if out=$(setpriv --reuid 5011 --regid 5011 --clear-groups "$VAULTCTL" posture "$MNT" 2>&1); then
	fail "a user with no role read the posture: $out"
fi
echo "$out" | grep -q "needs the reader role" || fail "unexpected refusal: $out"
vf_umount

# A passphrase vault without a guard is named weak; with one it is not.
PV=$VF_TMP/pv
printf 'correct horse battery staple\n' >"$VF_TMP/pass"
chmod 600 "$VF_TMP/pass"
"$VAULTCTL" init "$PV" --passphrase-file "$VF_TMP/pass" >/dev/null || fail "init with a passphrase"
out=$("$VAULTCTL" posture "$PV" --passphrase-file "$VF_TMP/pass" --json)
echo "$out" | grep -q '"passphrase_without_guard"' || fail "passphrase without a guard not named: $out"
"$VAULTCTL" guard attach "$PV" "$PUB" --passphrase-file "$VF_TMP/pass" >/dev/null || fail "guard attach (offline) failed"
out=$("$VAULTCTL" posture "$PV" --passphrase-file "$VF_TMP/pass" --json)
echo "$out" | grep -q '"passphrase_without_guard"' && fail "passphrase named weak with a guard attached: $out"
exit 0
