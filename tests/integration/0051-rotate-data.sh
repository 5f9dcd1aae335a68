#!/usr/bin/env bash
# 0051-rotate-data: data key rotation (docs/keys-rotation.md) end to end.
# A vault of VF_ROTATE_MB MiB (default 1024: random data and repeated
# data) gets `vaultctl key rotate --data`; the daemon is killed with -9
# halfway through the re-encryption and mounted again: the job resumes and
# finishes, every file reads back the same, `check --read-data` passes and
# no pack opens under the old data key (tests/keyprobe tries each chunk of
# each pack with it).  A user with no role, an Operator and a Contributor
# are refused; with a guard attached the rotation needs its approval, and
# the second rotation (--wait) destroys the first's key the same way.
# Prints the re-encryption rate (MB/s of stored pack bytes).
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

MB=${VF_ROTATE_MB:-1024}
PROBE=$REPO/build/tests/keyprobe
[ -x "$PROBE" ] || fail "build/tests/keyprobe is missing (make)"
chmod 0711 "$VF_TMP"

vf_init
vf_mount
"$VAULTCTL" role grant "$MNT" operator user:5301 >/dev/null
"$VAULTCTL" role grant "$MNT" contributor user:5302 >/dev/null

# ---- the data: half random, half one random MiB repeated (dedup) ---------
RND=$((MB / 2))
log "writing $MB MiB ($RND MiB random)"
mkdir "$MNT/d"
head -c $((RND << 20)) /dev/urandom >"$MNT/d/random.bin"
head -c $((1 << 20)) /dev/urandom >"$VF_TMP/one"
for _ in $(seq $((MB - RND))); do cat "$VF_TMP/one"; done >"$MNT/d/repeated.bin"
echo small >"$MNT/d/small.txt"
sync -f "$MNT"
(cd "$MNT/d" && sha256sum random.bin repeated.bin small.txt) >"$VF_TMP/sums"
STORED=$("$VAULTCTL" status "$MNT" --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["stored_bytes"])')
log "stored bytes: $STORED"

# ---- who may not rotate -------------------------------------------------
as() { local u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }
refused() { # WHAT PATTERN command...
	local what=$1 pat=$2 rc=0
	shift 2
	"$@" >"$VF_TMP/out" 2>"$VF_TMP/err" || rc=$?
	assert_eq 1 "$rc" "exit status of $what ($(cat "$VF_TMP/err"))"
	grep -qF -- "$pat" <(head -n 1 "$VF_TMP/err") ||
		fail "$what: expected '$pat', got: $(cat "$VF_TMP/err")"
}
refused "no role" "key rotate needs the owner role" as 5303 "$VAULTCTL" key rotate "$MNT" --data
refused "operator" "key rotate needs the owner role" as 5301 "$VAULTCTL" key rotate "$MNT" --data
refused "contributor" "key rotate needs the owner role" as 5302 "$VAULTCTL" key rotate "$MNT" --data
assert_eq 0 "$("$VAULTCTL" status "$MNT" --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["data_key_epoch"])')" "epoch after refusals"

# ---- rotate, kill -9 halfway, resume ----------------------------------------
progress() { # prints "DONE TOTAL" or "none"
	"$VAULTCTL" status "$MNT" --json | "$PYTHON" -c '
import json, sys
r = json.load(sys.stdin)["key_rotation"]
print("none" if r is None else "%d %d" % (r["packs_done"], r["packs_total"]))'
}
T0=$(date +%s.%N)
"$VAULTCTL" key rotate "$MNT" --data >"$VF_TMP/out" || fail "key rotate --data failed"
grep -q "^data key epoch 1 is current" "$VF_TMP/out" || fail "rotate said: $(cat "$VF_TMP/out")"
read -r _ TOTAL < <(progress)
[ "$TOTAL" -ge 4 ] || fail "only $TOTAL packs to re-encrypt: too few to stop halfway"
# written after the rotation began: sealed under the new epoch at once
echo "written during the rotation" >"$MNT/d/during.txt"
refused "second rotation while running" "still re-encrypting packs" "$VAULTCTL" key rotate "$MNT" --data
"$VAULTCTL" status "$MNT" | grep -q "^key rotation: .* of $TOTAL packs re-encrypted" ||
	fail "status shows no progress line"
DONE=0
for _ in $(seq 6000); do
	read -r DONE _ < <(progress)
	[ "$DONE" -ge $((TOTAL / 2)) ] && break
	sleep 0.05
done
[ "$DONE" -ge $((TOTAL / 2)) ] || fail "rotation did not get halfway ($DONE of $TOTAL)"
vf_kill9
T1=$(date +%s.%N)
log "killed at $DONE of $TOTAL packs"
vf_mount
read -r D2 T2 < <(progress) || true
[ "$D2" != none ] || fail "the rotation was not pending after the restart"
log "after restart: $D2 of $T2"
T2S=$(date +%s.%N)
for _ in $(seq 12000); do
	[ "$(progress)" = none ] && break
	sleep 0.05
done
[ "$(progress)" = none ] || fail "rotation did not finish after the restart"
T3=$(date +%s.%N)
RATE=$("$PYTHON" -c "print('%.1f' % ($STORED / 1e6 / (($T1 - $T0) + ($T3 - $T2S))))")
log "re-encrypted $STORED bytes in $TOTAL packs: $RATE MB/s"
echo "rate: $RATE MB/s ($STORED stored bytes, $TOTAL packs)"
"$VAULTCTL" audit list "$MNT" | grep -q "key destroy" || fail "no audit record of the destroyed key"
"$VAULTCTL" audit list "$MNT" | grep -q "key rotate" || fail "no audit record of the rotation"

(cd "$MNT/d" && sha256sum -c --quiet "$VF_TMP/sums") || fail "contents changed by the rotation"
assert_eq "written during the rotation" "$(cat "$MNT/d/during.txt")" "file written during the rotation"
"$VAULTCTL" check "$MNT" --read-data >"$VF_TMP/check" 2>&1 || fail "check --read-data: $(cat "$VF_TMP/check")"
vf_umount

# ---- no pack opens under the old key ------------------------------------
"$PROBE" "$VAULT" "$KS" check master >"$VF_TMP/probe" || fail "keyprobe: $(cat "$VF_TMP/probe")"
read -r _ P _ E _ OLD _ NEW _ MIN <"$VF_TMP/probe"
log "probe: $(cat "$VF_TMP/probe")"
[ "$E" -gt 0 ] || fail "keyprobe found no entries"
assert_eq 0 "$OLD" "entries that open under the old key"
assert_eq "$E" "$NEW" "entries that open under their pack's key"
assert_eq 1 "$MIN" "lowest epoch of a pack"

# ---- with a guard: approval needed; the second rotation's old key --------
"$PROBE" "$VAULT" "$KS" export 1 "$VF_TMP/epoch1.key" || fail "keyprobe export failed"
vf_mount
"$VAULTCTL" guard keygen --out "$VF_TMP/guard.key" >"$VF_TMP/pub" 2>/dev/null
"$VAULTCTL" guard attach "$MNT" "$(cat "$VF_TMP/pub")" >/dev/null || fail "guard attach failed"
refused "without approval" "approval required" "$VAULTCTL" key rotate "$MNT" --data
REQ=$(sed -n 's/^request: //p' "$VF_TMP/err")
[ -n "$REQ" ] || fail "no request code: $(cat "$VF_TMP/err")"
assert_eq 1 "$("$VAULTCTL" status "$MNT" --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["data_key_epoch"])')" "epoch after a refusal"
TOK=$("$VAULTCTL" guard approve --key "$VF_TMP/guard.key" "$REQ" 2>/dev/null)
"$VAULTCTL" key rotate "$MNT" --data --wait --approval "$TOK" >"$VF_TMP/out" ||
	fail "approved rotation failed: $(cat "$VF_TMP/out")"
grep -q "^data key rotation done: every pack is sealed under epoch 2" "$VF_TMP/out" ||
	fail "--wait said: $(cat "$VF_TMP/out")"
(cd "$MNT/d" && sha256sum -c --quiet "$VF_TMP/sums") || fail "contents changed by the second rotation"
vf_umount
"$PROBE" "$VAULT" "$KS" check "$VF_TMP/epoch1.key" >"$VF_TMP/probe" || fail "keyprobe: $(cat "$VF_TMP/probe")"
read -r _ P _ E _ OLD _ NEW _ MIN <"$VF_TMP/probe"
assert_eq 0 "$OLD" "entries that open under epoch 1's key"
assert_eq "$E" "$NEW" "entries that open under their pack's key (second rotation)"
assert_eq 2 "$MIN" "lowest epoch of a pack (second rotation)"
if "$PROBE" "$VAULT" "$KS" export 1 "$VF_TMP/again.key" 2>/dev/null; then
	fail "epoch 1's key is still in the vault"
fi
"$VAULTCTL" check "$VAULT" --read-data --keystore "$KS" >"$VF_TMP/check" 2>&1 ||
	fail "offline check --read-data: $(cat "$VF_TMP/check")"
log "ok"
