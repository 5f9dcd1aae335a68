#!/usr/bin/env bash
# 0034-messages: messages say what is wrong (issue 11, Low list).
#   - a mounted vault, opened offline without its keystore, is "mounted at
#     MNT (daemon pid N)", not "keystore key not found";
#   - a vault directory root cannot look into (no CAP_DAC_OVERRIDE) gives
#     the real errno, from vaultctl and mount.vaultfs, not "not a vault";
#   - a read of a file whose pack is gone is EIO, not ENOENT, and an
#     integrity record in the audit log;
#   - an option given twice is refused in one line, by vaultctl and by
#     mount.vaultfs, instead of the last one silently winning;
#   - `vaultctl status` of any path inside a mount (a directory, a file)
#     is the status of its vault.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

vf_init
vf_mount
head -c 3000000 /dev/urandom >"$MNT/data"

# ---- any path inside a mount names the vault -----------------------------------
mkdir -p "$MNT/sub/dir"
"$VAULTCTL" status "$MNT" --json >"$VF_TMP/st-root" || fail "status of the mount failed"
for p in "$MNT/sub/dir" "$MNT/data" "$MNT/sub/dir/"; do
	"$VAULTCTL" status "$p" --json >"$VF_TMP/st-sub" 2>"$VF_TMP/err" ||
		fail "status of $p (inside the mount) failed: $(cat "$VF_TMP/err")"
	"$PYTHON" - "$VF_TMP/st-root" "$VF_TMP/st-sub" <<'PY' || fail "status of $p is not the vault's"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["vault_id"] == b["vault_id"], (a, b)
PY
done
rmdir "$MNT/sub/dir" "$MNT/sub"

# ---- a mounted vault ----------------------------------------------------------
rc=0
"$VAULTCTL" status "$VAULT" >/dev/null 2>"$VF_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status of offline status on a mounted vault"
assert_eq "vaultctl: vault '$VAULT' is mounted at '$MNT' (daemon pid $VF_PID); run the command against the mountpoint" \
	"$(cat "$VF_TMP/err")" "offline status on a mounted vault"

# ---- duplicate options --------------------------------------------------------
rc=0
"$VAULTCTL" softdelete set "$MNT" --days 20 --days 30 2>"$VF_TMP/err" || rc=$?
assert_eq 2 "$rc" "exit status of --days given twice"
grep -q "option '--days' given twice" "$VF_TMP/err" || fail "--days twice: $(cat "$VF_TMP/err")"
"$VAULTCTL" softdelete show "$MNT" | grep -q 14 || fail "retention changed by a refused command"
vf_umount
for o in "keystore=$KS,keystore=/nonexistent" "keystore=$KS,maintain=60,maintain=1" \
	"keystore=$KS,stats=/tmp/a,stats=/tmp/b"; do
	rc=0
	"$MOUNT_VAULTFS" "$VAULT" "$MNT" -f -o "$o" </dev/null >/dev/null 2>"$VF_TMP/err" || rc=$?
	is_mounted "$MNT" && fail "mounted with -o $o"
	assert_eq 1 "$rc" "exit status of mount -o $o (mount(8): incorrect invocation)"
	grep -q "given twice" "$VF_TMP/err" || fail "mount -o $o: $(cat "$VF_TMP/err")"
done

# ---- permission denied is not "not a vault" -------------------------------------
nocap() { setpriv --bounding-set -dac_override,-dac_read_search "$@"; }
chmod 0600 "$VAULT"
rc=0
nocap "$VAULTCTL" status "$VAULT" --keystore "$KS" >/dev/null 2>"$VF_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status without search permission"
grep -q "Permission denied" "$VF_TMP/err" || fail "vaultctl without permission: $(cat "$VF_TMP/err")"
grep -qi "not a vault\|neither" "$VF_TMP/err" && fail "vaultctl says: $(cat "$VF_TMP/err")"
rc=0
nocap "$MOUNT_VAULTFS" "$VAULT" "$MNT" -f -o "keystore=$KS" </dev/null >/dev/null 2>"$VF_TMP/err" || rc=$?
is_mounted "$MNT" && fail "mounted without permission"
[ "$rc" != 0 ] || fail "mount without permission succeeded"
grep -q "Permission denied" "$VF_TMP/err" || fail "mount without permission: $(cat "$VF_TMP/err")"
grep -qi "not a vault" "$VF_TMP/err" && fail "mount says: $(cat "$VF_TMP/err")"
chmod 0700 "$VAULT"

# ---- a missing pack is EIO and audited -----------------------------------------
pack=$(find "$VAULT/packs" -name '*.pack' -size +1M | head -n 1)
[ -n "$pack" ] || fail "no pack file found"
mv "$pack" "$VF_TMP/saved.pack"
vf_mount
rc=0
err=$(cat "$MNT/data" 2>&1 >/dev/null) || rc=$?
[ "$rc" != 0 ] || fail "reading a file whose pack is gone succeeded"
case $err in
*"Input/output error"*) ;;
*) fail "reading a file whose pack is gone: '$err' (want EIO)" ;;
esac
vf_umount
"$VAULTCTL" audit list "$VAULT" --keystore "$KS" >"$VF_TMP/audit"
grep -q "integrity.*missing pack.*failed" "$VF_TMP/audit" ||
	fail "no integrity record for the missing pack: $(cat "$VF_TMP/audit")"
mv "$VF_TMP/saved.pack" "$pack"
log "ok"
