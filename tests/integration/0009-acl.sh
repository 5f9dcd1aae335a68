#!/usr/bin/env bash
# 0009-acl: POSIX ACLs behave as on ext4: setfacl/getfacl round trip, the
# kernel enforces named-user entries (checked with another uid), chmod and
# the ACL mask stay in step, a directory's default ACL is inherited by new
# files and directories (replacing the umask), garbage ACL values are
# refused, and everything survives a remount.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

command -v setfacl >/dev/null || skip "setfacl missing (Debian package acl)"
vf_init
vf_mount
# uid 1234 below: a role that allows reads and writes (README.md, Roles), so that only
# the mode bits and ACLs decide
"$VAULTCTL" role grant "$MNT" contributor user:1234 >/dev/null
M=$MNT
chmod 755 "$VF_TMP"

echo secret >"$M/f"
chmod 600 "$M/f"
as_user() { setpriv --reuid 1234 --regid 1234 --clear-groups "$@"; }
as_user cat "$M/f" >/dev/null 2>&1 && fail "uid 1234 read a 0600 file"
setfacl -m u:1234:r "$M/f"
as_user cat "$M/f" >/dev/null || fail "named-user ACL entry not enforced"
getfacl -cp "$M/f" | grep -qx 'user:1234:r--' || fail "getfacl lost the entry"
# the group class of the mode shows the mask
assert_eq "$(stat -c %a "$M/f")" 640 "mode after setfacl"
chmod 600 "$M/f"
getfacl -cp "$M/f" | grep -qx 'mask::---' || fail "chmod did not update the mask"
as_user cat "$M/f" >/dev/null 2>&1 && fail "mask 0 still lets uid 1234 read"

mkdir "$M/d"
setfacl -d -m u:1234:rwx,g::r-x,o::--- "$M/d"
(umask 077 && echo x >"$M/d/new" && mkdir "$M/d/sub")
getfacl -cp "$M/d/new" | grep -q '^user:1234:rwx' || fail "file did not inherit the default ACL"
getfacl -cp "$M/d/sub" | grep -q '^default:user:1234:rwx' || fail "directory did not inherit the default ACL"
as_user sh -c "echo more >>'$M/d/new'" || fail "inherited ACL not enforced"

# garbage values are refused and change nothing
before=$(getfacl -cp "$M/f")
python3 -c "import os; os.setxattr('$M/f', 'system.posix_acl_access', b'garbage')" 2>/dev/null &&
	fail "garbage ACL accepted"
assert_eq "$(getfacl -cp "$M/f")" "$before" "ACL after refused garbage"

# ACLs copy in with cp -a and survive a remount
SRC=$VF_TMP/src
mkdir -p "$SRC"
echo data >"$SRC/g"
setfacl -m u:4321:rw,g:99:r "$SRC/g"
cp -a "$SRC/g" "$M/g"
want=$(getfacl -cp "$SRC/g")
vf_remount
assert_eq "$(getfacl -cp "$M/g")" "$want" "ACL of a cp -a copy after remount"
getfacl -cp "$M/d/new" | grep -q '^user:1234:rwx' || fail "inherited ACL lost at remount"
vf_umount
