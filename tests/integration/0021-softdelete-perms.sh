#!/usr/bin/env bash
# 0021-softdelete-perms: what was deleted keeps the protection it had.  A
# container in .softdeleted (standing for the live directory an item was
# deleted from) shows that directory's mode, owner and group, plus the
# sticky bit: a Reader cannot read a file deleted from someone's private
# 0700 directory, and an Operator cannot move another user's deleted item
# out (undelete is for the item's owner and root only, as in a sticky
# /tmp), neither by mv nor by vaultctl undelete, even from a 0777 directory.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

chmod 0711 "$VF_TMP" # other uids reach the mount below
vf_init
vf_mount
chmod 0755 "$MNT"
U_ALICE=5101 U_READER=5102 U_OPERATOR=5103
"$VAULTCTL" role grant "$MNT" contributor user:$U_ALICE >/dev/null || fail "role grant alice"
"$VAULTCTL" role grant "$MNT" reader user:$U_READER >/dev/null || fail "role grant reader"
"$VAULTCTL" role grant "$MNT" operator user:$U_OPERATOR >/dev/null || fail "role grant operator"
as() { local u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }

# alice's private directory, a file in it readable by mode alone
mkdir -m 0700 "$MNT/private"
echo "alice secret" >"$MNT/private/secret"
chmod 0644 "$MNT/private/secret"
chown -R $U_ALICE:$U_ALICE "$MNT/private"
as $U_READER cat "$MNT/private/secret" 2>/dev/null && fail "the reader reads the live private file"
as $U_ALICE rm "$MNT/private/secret" || fail "alice cannot delete her file"
[ -e "$MNT/.softdeleted/private/secret" ] || fail "the deleted file is not in .softdeleted"
assert_eq "1700 $U_ALICE $U_ALICE" "$(stat -c '%a %u %g' "$MNT/.softdeleted/private")" \
	"mode and owner of the container of private/"
if out=$(as $U_READER cat "$MNT/.softdeleted/private/secret" 2>&1); then
	fail "a reader read a file deleted from alice's private directory: $out"
fi
case $out in *"Permission denied"*) ;; *) fail "reader: expected 'Permission denied', got: $out" ;; esac
as $U_READER ls "$MNT/.softdeleted/private" >/dev/null 2>&1 && fail "a reader lists the container of a private directory"
as $U_OPERATOR cat "$MNT/.softdeleted/private/secret" >/dev/null 2>&1 && fail "an operator read a file deleted from a private directory"

# a shared 0777 directory: alice's and the operator's files deleted there
mkdir -m 0777 "$MNT/shared"
echo "alice shared" >"$MNT/shared/a"
echo "operator shared" >"$MNT/shared/o"
chown $U_ALICE "$MNT/shared/a"
chown $U_OPERATOR "$MNT/shared/o"
rm "$MNT/shared/a" "$MNT/shared/o"
assert_eq "1777 0" "$(stat -c '%a %u' "$MNT/.softdeleted/shared")" "mode and owner of the container of shared/"
assert_eq "1755 0" "$(stat -c '%a %u' "$MNT/.softdeleted")" "mode and owner of .softdeleted (the root's, sticky)"
# the operator may read there (mode allows) but not take alice's item out
assert_eq "alice shared" "$(as $U_OPERATOR cat "$MNT/.softdeleted/shared/a")" "operator reads a shared deleted file"
as $U_OPERATOR mv "$MNT/.softdeleted/shared/a" "$MNT/shared/a" 2>/dev/null &&
	fail "an operator moved alice's deleted item out of .softdeleted"
rc=0
as $U_OPERATOR "$VAULTCTL" undelete "$MNT" shared/a >"$VF_TMP/out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "an operator undeleted alice's item with vaultctl undelete"
[ ! -e "$MNT/shared/a" ] || fail "alice's item is back, undeleted by the operator"
assert_eq "alice shared" "$(cat "$MNT/.softdeleted/shared/a")" "alice's deleted item after the refusals"
# each owner undeletes their own; root anything
as $U_OPERATOR mv "$MNT/.softdeleted/shared/o" "$MNT/shared/o" || fail "the operator cannot undelete his own item"
assert_eq "operator shared" "$(cat "$MNT/shared/o")" "the operator's undeleted file"
as $U_ALICE mv "$MNT/.softdeleted/shared/a" "$MNT/shared/a" || fail "alice cannot undelete her item"
as $U_ALICE "$VAULTCTL" undelete "$MNT" private/secret || fail "alice cannot undelete her private file"
assert_eq "alice secret" "$(cat "$MNT/private/secret")" "alice's undeleted private file"
echo x >"$MNT/shared/r"
chown $U_ALICE "$MNT/shared/r"
as $U_ALICE rm "$MNT/shared/r"
mv "$MNT/.softdeleted/shared/r" "$MNT/shared/r" || fail "root cannot undelete alice's item"

# a container whose directory was renamed since shows 01700 root: closed
mkdir -m 0755 "$MNT/d"
echo y >"$MNT/d/f"
rm "$MNT/d/f"
mv "$MNT/d" "$MNT/d2"
assert_eq "1700 0" "$(stat -c '%a %u' "$MNT/.softdeleted/d")" "a container whose directory moved"
vf_umount
