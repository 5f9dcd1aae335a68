#!/usr/bin/env bash
# 0056-rsync-immutable: rsync -a, rsync -aHAX --delete and rsync -a
# --inplace into an immutable directory add new files with their modes,
# owners, xattrs and hard links, and leave no temporary file behind; a
# changed source file or a --delete is refused and nothing is lost; a
# temporary file a transfer left can be removed by its owner (after a
# remount too).  Attacks on the writer's allowances are refused: chmod
# after the grace or by another uid, a second open for writing, truncate,
# rename over a sealed file, renaming a sealed file to a temporary name,
# a hard link out of the tree, a hard link in and a write through it.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

as_user() { setpriv --reuid 4242 --regid 4242 --clear-groups "$@"; }
as_op() { setpriv --reuid 4243 --regid 4243 --clear-groups "$@"; }
refused() { # what, command...
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "$what succeeded inside an immutable directory"
	fi
	case $out in
	*"Operation not permitted"* | *"Permission denied"*) ;;
	*) fail "$what: expected EPERM, got: $out" ;;
	esac
}
# no_temps DIR: no rsync temporary (.NAME.XXXXXX) is left under DIR
no_temps() {
	local left
	left=$(find "$1" -name '.*.??????' -print)
	[ -z "$left" ] || fail "temporary files left behind: $left"
}
# same_meta A B: the same modes, owners and sizes under both trees
same_meta() {
	(cd "$1" && find . \( -type d -printf '%p %y %m %u %g\n' \) -o -printf '%p %y %m %u %g %s\n' | sort) >"$VF_TMP/m1"
	(cd "$2" && find . \( -type d -printf '%p %y %m %u %g\n' \) -o -printf '%p %y %m %u %g %s\n' | sort) >"$VF_TMP/m2"
	diff "$VF_TMP/m1" "$VF_TMP/m2" >&2 || fail "metadata differs: $1 vs $2"
}

chmod 0711 "$VF_TMP"
vf_init
vf_mount
"$VAULTCTL" role grant "$MNT" contributor user:4242 >/dev/null
"$VAULTCTL" role grant "$MNT" operator user:4243 >/dev/null
C=$MNT/backup
mkdir "$C"
chmod 0777 "$C"
"$VAULTCTL" immutable set "$MNT" backup >/dev/null

S=$VF_TMP/src
mkdir -p "$S/sub/deep" "$S/private"
echo "alpha" >"$S/a.txt"
head -c 300000 /dev/urandom >"$S/sub/big.bin"
echo "deep" >"$S/sub/deep/d.txt"
echo "linked" >"$S/sub/l1"
ln "$S/sub/l1" "$S/sub/l2"
ln -s ../a.txt "$S/sub/sym"
chmod 0640 "$S/a.txt"
chmod 0700 "$S/private"
chown 4242:4242 "$S/sub/deep/d.txt" "$S/private"
setfattr -n user.origin -v lab "$S/a.txt"
setfacl -m u:4242:r "$S/sub/big.bin"

# each form adds the tree, right down to metadata, with nothing left over
rsync -a "$S/" "$C/plain/" || fail "rsync -a into an immutable directory failed"
rsync -aHAX --delete "$S/" "$C/hax/" || fail "rsync -aHAX --delete failed"
rsync -a --inplace "$S/" "$C/inplace/" || fail "rsync -a --inplace failed"
for d in plain hax inplace; do
	diff -r "$S" "$C/$d" || fail "$d: content differs"
	same_meta "$S" "$C/$d"
	no_temps "$C/$d"
done
assert_eq lab "$(getfattr --only-values -n user.origin "$C/hax/a.txt")" "xattr (-X)"
getfacl -c "$C/hax/sub/big.bin" 2>/dev/null | grep -q "^user:4242:r--" ||
	fail "ACL (-A) not copied"
assert_eq "$(stat -c %i "$C/hax/sub/l1")" "$(stat -c %i "$C/hax/sub/l2")" "hard link (-H)"
assert_eq "$(stat -c %Y "$S/sub/big.bin")" "$(stat -c %Y "$C/plain/sub/big.bin")" "mtime"

# a second run changes nothing and succeeds
rsync -aHAX --delete "$S/" "$C/hax/" || fail "rsync -aHAX --delete again failed"
rsync -a --inplace "$S/" "$C/inplace/" || fail "rsync -a --inplace again failed"

# changing an existing file there is still refused, in every form, and
# nothing is lost or left
cp -a "$C/plain" "$VF_TMP/before"
echo "tampered" >"$S/a.txt"
touch -d '2020-01-01' "$S/a.txt"
rm "$S/sub/deep/d.txt"
for form in "-a" "-aHAX --delete" "-a --inplace"; do
	# shellcheck disable=SC2086
	if rsync $form "$S/" "$C/plain/" 2>"$VF_TMP/err"; then
		fail "rsync $form changed or deleted a sealed file"
	fi
	grep -q "Operation not permitted" "$VF_TMP/err" ||
		fail "rsync $form: no clear refusal: $(cat "$VF_TMP/err")"
	diff -r "$VF_TMP/before" "$C/plain" || fail "rsync $form: a sealed file changed"
	no_temps "$C/plain"
done

# a temporary file a transfer left (it died before the rename) can be
# removed by whoever wrote it, by its owner, and after a remount
as_user sh -c "echo partial >'$C/.c.txt.AbC123'; echo partial >'$C/.d.txt.XyZ789'"
chown 4243 "$C/.d.txt.XyZ789"
refused "other uid renames a temporary" as_op mv "$C/.c.txt.AbC123" "$C/c.txt"
refused "write into a closed temporary" as_user sh -c "echo more >>'$C/.c.txt.AbC123'"
as_user rm "$C/.c.txt.AbC123" || fail "the writer cannot remove its temporary file"
vf_remount
rm "$C/.d.txt.XyZ789" || fail "root cannot remove a temporary file after a remount"
no_temps "$C"
ls "$MNT/.softdeleted/backup/.c.txt.AbC123" >/dev/null ||
	fail "a removed temporary file is not kept in .softdeleted"

# attacks within the grace: another uid, a second open, truncate, rename
# over, a sealed file renamed to a temporary name, hard links
echo "fresh" >"$C/fresh.txt"
as_user sh -c "echo 'user fresh' >'$C/ufresh.txt'"
chmod 0600 "$C/fresh.txt" || fail "chmod right after the close refused"
refused "chmod by another uid in the grace" chmod 0777 "$C/ufresh.txt"
refused "second open for writing" sh -c "echo evil >>'$C/fresh.txt'"
refused "truncate in the grace" truncate -s 0 "$C/fresh.txt"
echo "new" >"$C/.e.txt.Qq1234"
refused "rename over a sealed file" mv "$C/.e.txt.Qq1234" "$C/fresh.txt"
refused "sealed file renamed to a temporary name" mv "$C/fresh.txt" "$C/.fresh.txt.Aa1234"
refused "hard link out" ln "$C/fresh.txt" "$MNT/out"
echo outside >"$MNT/outside.txt"
refused "hard link in" ln "$MNT/outside.txt" "$C/in"
ln "$C/fresh.txt" "$C/fresh-link" || fail "a hard link within the tree refused"
refused "write through an in-tree link" sh -c "echo evil >>'$C/fresh-link'"
refused "stolen operator chmod" as_op chmod 0777 "$C/fresh.txt"
refused "stolen contributor rm" as_user rm -f "$C/ufresh.txt"
rm -f "$C/.e.txt.Qq1234"

# after the grace the writer may no longer set metadata
sleep 11
refused "chmod after the grace" chmod 0644 "$C/fresh.txt"
refused "chown after the grace" as_user chmod 0644 "$C/ufresh.txt"
refused "xattr after the grace" setfattr -n user.late -v x "$C/fresh.txt"
assert_eq "fresh" "$(cat "$C/fresh.txt")" "sealed content"
assert_eq 600 "$(stat -c %a "$C/fresh.txt")" "sealed mode"
no_temps "$C"
vf_umount
