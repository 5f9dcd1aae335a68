#!/usr/bin/env bash
# 0028-xattr-history: xattrs and ACLs are part of the recovery point.  A
# stolen Operator rewrites a file's tags and ACL and removes one; the
# snapshot view from before still shows them as they were, and `vaultctl
# restore --at` brings them back (before this, views showed current
# values and the old ones were gone for good).
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
tick() { sleep 1.1; }
OP=4301

chmod 0711 "$VF_TMP"
vf_init
vf_mount
"$VAULTCTL" role grant "$MNT" operator user:$OP >/dev/null
as_op() { setpriv --reuid $OP --regid $OP --clear-groups "$@"; }

mkdir "$MNT/docs"
echo contract >"$MNT/docs/c.txt"
chown $OP "$MNT/docs/c.txt"
setfattr -n user.class -v confidential "$MNT/docs/c.txt"
setfattr -n user.keep -v yes "$MNT/docs/c.txt"
setfacl -m u:4302:r "$MNT/docs/c.txt"
getfattr -d -m - --absolute-names "$MNT/docs/c.txt" 2>/dev/null | grep -v '^#' | sort >"$VF_TMP/before"
tick
T=$(now)
tick

# ---- the attack: the Operator (owner of the file) rewrites metadata ------
as_op setfattr -n user.class -v public "$MNT/docs/c.txt"
as_op setfattr -x user.keep "$MNT/docs/c.txt"
as_op setfattr -n user.planted -v x "$MNT/docs/c.txt"
as_op setfacl -b "$MNT/docs/c.txt"
assert_eq "public" "$(getfattr --only-values -n user.class "$MNT/docs/c.txt")" "the live tag was changed"
getfacl -p "$MNT/docs/c.txt" 2>/dev/null | grep -q 'user:4302' && fail "the ACL entry is still live"

# ---- the view before it shows the old metadata -----------------------------
V=$MNT/.snapshots/$T/docs/c.txt
assert_eq "confidential" "$(getfattr --only-values -n user.class "$V")" "the view's tag"
assert_eq "yes" "$(getfattr --only-values -n user.keep "$V")" "the view kept the removed tag"
getfattr -n user.planted "$V" >/dev/null 2>&1 && fail "the view shows a tag added later"
getfacl -p "$V" 2>/dev/null | grep -q 'user:4302:r--' || fail "the view lost the ACL entry: $(getfacl -p "$V" 2>&1)"
# also across a remount
vf_remount
assert_eq "confidential" "$(getfattr --only-values -n user.class "$V")" "the view's tag after remount"

# ---- restore brings it back --------------------------------------------------
"$VAULTCTL" restore "$MNT" docs/c.txt --at "$T" >/dev/null || fail "restore --at failed"
getfattr -d -m - --absolute-names "$MNT/docs/c.txt" 2>/dev/null | grep -v '^#' | sort >"$VF_TMP/after"
diff "$VF_TMP/before" "$VF_TMP/after" >&2 || fail "restore did not bring the metadata back (diff above)"
vf_umount
log "ok"
