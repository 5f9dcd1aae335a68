#!/usr/bin/env bash
# 0018-roles: roles decide (README.md, Roles), on a real mount, for numeric uids run
# with setpriv (no /etc/passwd entries): for no role, Reader, Operator,
# Contributor, Owner and a role granted to a group, every row of the table
# is allowed or refused exactly as it says, and a refused operation changes
# nothing.  Mode bits allow everything here (0777 directories, 0666 files),
# so every refusal is the role's.  Then the story: an Operator (a backup
# agent) copies a tree in and overwrites files but cannot delete anything;
# a Reader browses and copies out but cannot write; an unknown uid sees
# nothing.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

chmod 0711 "$VF_TMP" # other uids reach the mount below
vf_init
vf_mount
chmod 0755 "$MNT"
# The daemon runs with umask 077; the socket directory it makes must
# still let other uids reach their socket.
[ "$(stat -c %a /run/vaultfs)" = 755 ] ||
	fail "/run/vaultfs is $(stat -c %a /run/vaultfs), not 755"

U_NONE=5001 U_READER=5002 U_OPERATOR=5003 U_CONTRIB=5004 U_OWNER=5005
U_GROUP=5006 G_GROUP=6000 # in group 6000, which is granted Operator
for g in "reader user:$U_READER" "operator user:$U_OPERATOR" \
	"contributor user:$U_CONTRIB" "owner user:$U_OWNER" \
	"operator group:$G_GROUP"; do
	set -- $g
	"$VAULTCTL" role grant "$MNT" "$1" "$2" >/dev/null || fail "role grant $g"
done
"$VAULTCTL" role list "$MNT" >"$VF_TMP/roles"
assert_eq "user:$U_READER	reader
user:$U_OPERATOR	operator
user:$U_CONTRIB	contributor
user:$U_OWNER	owner
group:$G_GROUP	operator" "$(cat "$VF_TMP/roles")" "role list"
"$VAULTCTL" role list "$MNT" --json | "$PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
assert {"principal": "group:6000", "role": "operator"} in r and len(r) == 5, r'

# Names: vaultctl looks them up (the grant is stored by id); role list
# shows the name an id has now.  Debian's base system has user daemon (1)
# and group adm (4).
"$VAULTCTL" role grant "$MNT" reader user:daemon >/dev/null || fail "role grant reader user:daemon"
"$VAULTCTL" role grant "$MNT" reader group:adm >/dev/null || fail "role grant reader group:adm"
"$VAULTCTL" role list "$MNT" >"$VF_TMP/named"
grep -qx "user:1	reader	daemon" "$VF_TMP/named" || fail "user:daemon is not listed as uid 1 with its name: $(cat "$VF_TMP/named")"
grep -qx "group:4	reader	adm" "$VF_TMP/named" || fail "group:adm is not listed as gid 4 with its name"
"$VAULTCTL" role list "$MNT" --json | "$PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
assert {"principal": "user:1", "role": "reader", "name": "daemon"} in r, r'
"$VAULTCTL" role revoke "$MNT" user:daemon >/dev/null || fail "role revoke user:daemon"
"$VAULTCTL" role revoke "$MNT" group:adm >/dev/null || fail "role revoke group:adm"
if out=$("$VAULTCTL" role grant "$MNT" reader user:no-such-user-here 2>&1); then
	fail "a grant to an unknown user name succeeded"
fi
assert_eq "vaultctl: role grant: no user called 'no-such-user-here' on this machine" "$out" "unknown name"

# ---- bad input to role grant ------------------------------------------------
usage() { # WHAT PATTERN command...: exit 2 and PATTERN on stderr
	local what=$1 pat=$2 rc=0 out
	shift 2
	out=$("$@" 2>&1) || rc=$?
	assert_eq 2 "$rc" "exit status of $what"
	case $out in *"$pat"*) ;; *) fail "$what: expected '$pat' in: $out" ;; esac
}
usage "no kind" "user:UID or group:GID" "$VAULTCTL" role grant "$MNT" reader 1001
usage "an unknown role" "is not a role" "$VAULTCTL" role grant "$MNT" admin user:1001
usage "an id too large" "below 4294967295" "$VAULTCTL" role grant "$MNT" reader user:4294967295
if "$VAULTCTL" role grant "$MNT" reader user:0 2>"$VF_TMP/err"; then
	fail "a grant to uid 0 succeeded"
fi
grep -q "always owner" "$VF_TMP/err" || fail "grant to uid 0: $(cat "$VF_TMP/err")"
assert_eq "$(cat "$VF_TMP/roles")" "$("$VAULTCTL" role list "$MNT")" "roles after refused grants"

# ---- one area per principal, made by root ------------------------------------
# f read; t truncate; w overwrite; r rename; o1 renamed over o2; u unlink;
# e an empty directory (rmdir); gone a deleted file of the principal's own
# (undelete: .softdeleted is sticky, so only an item's owner may rename it
# out, as in /tmp).
areas="none reader operator contributor owner group"
uid_of() {
	case $1 in
	none) echo $U_NONE ;; reader) echo $U_READER ;;
	operator) echo $U_OPERATOR ;; contributor) echo $U_CONTRIB ;;
	owner) echo $U_OWNER ;; group) echo $U_GROUP ;;
	esac
}
for a in $areas; do
	A=$MNT/$a
	mkdir -m 0777 "$A" "$A/e"
	for f in f t w r o1 o2 u gone; do
		echo "$f orig" >"$A/$f"
		chmod 0666 "$A/$f"
	done
	chown "$(uid_of "$a")" "$A/gone"
	rm "$A/gone"
done
SNAP=$("$VAULTCTL" snapshot "$MNT")
sleep 1.1 # the snapshot's second is over
"$VAULTCTL" policy show "$MNT" >"$VF_TMP/policy.before"

# ---- the matrix ---------------------------------------------------------------
WHO=()
as() { setpriv "${WHO[@]}" "$@"; }
denied() { # WHAT command...: fails with EACCES
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "$what: succeeded, but the role should refuse it"
	fi
	case $out in
	*"Permission denied"*) ;;
	*) fail "$what: expected 'Permission denied', got: $out" ;;
	esac
}
allowed() { # WHAT command...
	local what=$1 out
	shift
	out=$("$@" 2>&1) || fail "$what: refused: $out"
}
needs_role() { # WHAT NEED HAVE command...: vaultctl's role refusal, exit 1
	local what=$1 need=$2 have=$3 rc=0 out
	shift 3
	out=$("$@" 2>&1) || rc=$?
	assert_eq 1 "$rc" "exit status of $what"
	case $out in
	"vaultctl: "*" needs the $need role (you have $have)") ;;
	*) fail "$what: expected one line 'needs the $need role (you have $have)', got: $out" ;;
	esac
}
content() { cat "$1" 2>/dev/null || echo MISSING; }

# matrix AREA RANK HAVE SETPRIV-ARGS...: RANK 0 none .. 4 owner; HAVE the
# role name vaultctl reports for the caller.
matrix() {
	local a=$1 rank=$2 have=$3 A=$MNT/$1 rc
	shift 3
	WHO=("$@")
	log "$a: rank $rank (${WHO[*]})"

	# read, list, stat, a snapshot view (Reader)
	if [ "$rank" -ge 1 ]; then
		assert_eq "f orig" "$(as cat "$A/f")" "$a: read"
		as ls "$A" | grep -qx f || fail "$a: list"
		as ls "$MNT" | grep -qx "$a" || fail "$a: list the root"
		as stat "$A/f" >/dev/null || fail "$a: stat"
		assert_eq "f orig" "$(as cat "$MNT/.snapshots/$SNAP/$a/f")" "$a: snapshot read"
		assert_eq "gone orig" "$(as cat "$MNT/.softdeleted/$a/gone")" "$a: read .softdeleted"
		allowed "$a: vaultctl status" as "$VAULTCTL" status "$MNT"
	else
		denied "$a: read" as cat "$A/f"
		denied "$a: list" as ls "$A"
		denied "$a: ls MNT" as ls "$MNT"
		denied "$a: stat" as stat "$A/f"
		denied "$a: snapshot read" as cat "$MNT/.snapshots/$SNAP/$a/f"
		denied "$a: read .softdeleted" as cat "$MNT/.softdeleted/$a/gone"
		needs_role "$a: vaultctl status" reader none \
			as "$VAULTCTL" status "$MNT"
	fi

	# create, overwrite, truncate, rename, rename over, mkdir, undelete
	# (Operator)
	if [ "$rank" -ge 2 ]; then
		allowed "$a: create" as sh -c "echo new >'$A/new'"
		assert_eq new "$(content "$A/new")" "$a: created file"
		allowed "$a: overwrite" as sh -c "echo over >'$A/w'"
		assert_eq over "$(content "$A/w")" "$a: overwritten file"
		allowed "$a: truncate" as truncate -s 0 "$A/t"
		assert_eq 0 "$(stat -c %s "$A/t")" "$a: truncated size"
		allowed "$a: rename" as mv "$A/r" "$A/r2"
		[ ! -e "$A/r" ] || fail "$a: rename left the old name"
		assert_eq "r orig" "$(content "$A/r2")" "$a: renamed file"
		allowed "$a: rename over" as mv "$A/o1" "$A/o2"
		assert_eq "o1 orig" "$(content "$A/o2")" "$a: file renamed over"
		allowed "$a: mkdir" as mkdir "$A/newdir"
		[ -d "$A/newdir" ] || fail "$a: mkdir made nothing"
		allowed "$a: undelete" as "$VAULTCTL" undelete "$MNT" "$a/gone"
		assert_eq "gone orig" "$(content "$A/gone")" "$a: undeleted file"
		# displaced and overwritten content stays in the history
		ls "$MNT/.versions/$a/o2" | wc -l | grep -qx 2 ||
			fail "$a: the content displaced by a rename over is not in .versions"
		ls "$MNT/.versions/$a/w" | wc -l | grep -qx 2 ||
			fail "$a: the overwritten content is not in .versions"
	else
		denied "$a: create" as sh -c "echo new >'$A/new'"
		[ ! -e "$A/new" ] || fail "$a: a refused create left a file"
		denied "$a: overwrite" as sh -c "echo over >'$A/w'"
		denied "$a: append" as sh -c "echo over >>'$A/w'"
		denied "$a: truncate" as truncate -s 0 "$A/t"
		denied "$a: rename" as mv "$A/r" "$A/r2"
		denied "$a: rename over" as mv "$A/o1" "$A/o2"
		denied "$a: mkdir" as mkdir "$A/newdir"
		denied "$a: undelete" as "$VAULTCTL" undelete "$MNT" "$a/gone"
		for f in w t r o1 o2; do
			assert_eq "$f orig" "$(content "$A/$f")" "$a: $f after refusals"
		done
		[ ! -e "$A/r2" ] && [ ! -e "$A/newdir" ] && [ ! -e "$A/gone" ] ||
			fail "$a: a refused operation created something"
		assert_eq "gone orig" "$(content "$MNT/.softdeleted/$a/gone")" \
			"$a: a refused undelete changed .softdeleted"
	fi

	# unlink, rmdir, policy (Contributor)
	if [ "$rank" -ge 3 ]; then
		allowed "$a: unlink" as rm "$A/u"
		[ ! -e "$A/u" ] || fail "$a: unlink left the file"
		assert_eq "u orig" "$(content "$MNT/.softdeleted/$a/u")" "$a: unlinked file in .softdeleted"
		allowed "$a: rmdir" as rmdir "$A/e"
		[ ! -e "$A/e" ] || fail "$a: rmdir left the directory"
		allowed "$a: policy set" as "$VAULTCTL" policy set "$MNT" --keep-last 50
		"$VAULTCTL" policy set "$MNT" --keep-last 0 >/dev/null # back
	else
		denied "$a: unlink" as rm "$A/u"
		denied "$a: rm -f" as rm -f "$A/u"
		denied "$a: rmdir" as rmdir "$A/e"
		denied "$a: rm -r" as rm -r "$A/e"
		assert_eq "u orig" "$(content "$A/u")" "$a: file after refused unlinks"
		[ -d "$A/e" ] || fail "$a: a refused rmdir removed the directory"
		[ ! -e "$MNT/.softdeleted/$a/u" ] || fail "$a: a refused unlink soft-deleted the file"
		needs_role "$a: policy set" contributor "$have" \
			as "$VAULTCTL" policy set "$MNT" --keep-last 50
		"$VAULTCTL" policy show "$MNT" | diff -u "$VF_TMP/policy.before" - ||
			fail "$a: a refused policy set changed the policy"
	fi

	# role change (Owner)
	if [ "$rank" -ge 4 ]; then
		allowed "$a: role grant" as "$VAULTCTL" role grant "$MNT" reader user:7777
		"$VAULTCTL" role list "$MNT" | grep -qx "user:7777	reader" ||
			fail "$a: role grant did not grant"
		allowed "$a: role revoke" as "$VAULTCTL" role revoke "$MNT" user:7777
	else
		needs_role "$a: role grant" owner "$have" \
			as "$VAULTCTL" role grant "$MNT" owner "user:$(uid_of "$a")"
		needs_role "$a: role revoke" owner "$have" \
			as "$VAULTCTL" role revoke "$MNT" "user:$U_READER"
	fi
	assert_eq "$(cat "$VF_TMP/roles")" "$("$VAULTCTL" role list "$MNT")" \
		"$a: roles afterwards"
}

matrix none 0 none --reuid $U_NONE --regid $U_NONE --clear-groups
matrix reader 1 reader --reuid $U_READER --regid $U_READER --clear-groups
matrix operator 2 operator --reuid $U_OPERATOR --regid $U_OPERATOR --clear-groups
matrix contributor 3 contributor --reuid $U_CONTRIB --regid $U_CONTRIB --clear-groups
matrix owner 4 owner --reuid $U_OWNER --regid $U_OWNER --clear-groups
# a role through a supplementary group (the daemon learns the groups from
# the kernel, for files and for vaultctl alike)
matrix group 2 operator --reuid $U_GROUP --regid $U_GROUP --groups $G_GROUP
# the same uid without the group has no role
WHO=(--reuid $U_GROUP --regid $U_GROUP --clear-groups)
denied "group member without the group: read" as cat "$MNT/group/f"
needs_role "group member without the group: status" reader none \
	as "$VAULTCTL" status "$MNT"
# a role given to the primary gid counts too
"$VAULTCTL" role grant "$MNT" reader "group:$U_NONE" >/dev/null
WHO=(--reuid $U_NONE --regid $U_NONE --clear-groups)
assert_eq "f orig" "$(as cat "$MNT/none/f")" "a role granted to the primary gid"
"$VAULTCTL" role revoke "$MNT" "group:$U_NONE" >/dev/null
# a revoked role is gone at once
denied "after revoke" as cat "$MNT/none/f"

# ---- the story -------------------------------------------------------------------
# An Operator (a backup agent) copies a tree in and overwrites files, but
# rm, rm -r and rmdir fail and nothing is lost.
SRC=$VF_TMP/src
mkdir -p "$SRC/docs/2025" "$SRC/docs/empty" "$SRC/photos"
for i in 1 2 3 4 5; do
	head -c $((i * 70000)) /dev/urandom >"$SRC/photos/p$i.jpg"
	echo "report $i" >"$SRC/docs/2025/r$i.txt"
done
echo "notes" >"$SRC/docs/notes.txt"
chmod -R a+rX "$SRC"
mkdir -m 0777 "$MNT/backup"
WHO=(--reuid $U_OPERATOR --regid $U_OPERATOR --clear-groups)
as cp -r "$SRC/docs" "$SRC/photos" "$MNT/backup/" || fail "the operator could not copy a tree in"
(cd "$SRC" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$VF_TMP/src.sums"
(cd "$MNT/backup" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$VF_TMP/mnt.sums"
diff -u "$VF_TMP/src.sums" "$VF_TMP/mnt.sums" || fail "the copied tree differs from its source"
echo "report 1, second edition" >"$SRC/docs/2025/r1.txt"
as cp "$SRC/docs/2025/r1.txt" "$MNT/backup/docs/2025/r1.txt" || fail "the operator could not overwrite a file"
as cp -r "$SRC/docs" "$SRC/photos" "$MNT/backup/" || fail "the operator could not copy the tree again"
(cd "$MNT/backup" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$VF_TMP/mnt.sums"
(cd "$SRC" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$VF_TMP/src.sums"
diff -u "$VF_TMP/src.sums" "$VF_TMP/mnt.sums" || fail "the tree differs from its source after overwriting"
denied "operator rm" as rm "$MNT/backup/photos/p1.jpg"
denied "operator rm -r" as rm -r "$MNT/backup/docs"
denied "operator rm -rf" as rm -rf "$MNT/backup"
denied "operator rmdir" as rmdir "$MNT/backup/docs/empty"
denied "operator find -delete" as find "$MNT/backup" -type f -delete
(cd "$MNT/backup" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$VF_TMP/mnt.sums"
diff -u "$VF_TMP/src.sums" "$VF_TMP/mnt.sums" || fail "the operator's refused deletes lost something"
[ -d "$MNT/backup/docs/empty" ] || fail "the operator's refused rmdir lost a directory"
[ -z "$(ls -A "$MNT/.softdeleted/backup" 2>/dev/null)" ] ||
	fail "the operator's refused deletes put something in .softdeleted"
assert_eq "report 1" "$(cat "$MNT/.versions/backup/docs/2025/r1.txt/$(ls "$MNT/.versions/backup/docs/2025/r1.txt" | head -n 1)")" \
	"the first version of an overwritten file"

# A Reader can browse and copy out, but not write.
WHO=(--reuid $U_READER --regid $U_READER --clear-groups)
mkdir -m 0777 "$VF_TMP/out"
as find "$MNT/backup" >/dev/null || fail "the reader cannot browse"
as cp -r "$MNT/backup" "$VF_TMP/out/copy" || fail "the reader cannot copy out"
(cd "$VF_TMP/out/copy" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$VF_TMP/out.sums"
diff -u "$VF_TMP/src.sums" "$VF_TMP/out.sums" || fail "the reader's copy differs"
denied "reader write" as sh -c "echo x >'$MNT/backup/docs/notes.txt'"
denied "reader create" as cp "$SRC/docs/notes.txt" "$MNT/backup/new.txt"
denied "reader rm" as rm "$MNT/backup/docs/notes.txt"
assert_eq notes "$(cat "$MNT/backup/docs/notes.txt")" "a file the reader could not write"

# An unknown uid sees nothing.
WHO=(--reuid 5999 --regid 5999 --clear-groups)
denied "unknown uid ls" as ls "$MNT"
denied "unknown uid find" as find "$MNT/backup"
denied "unknown uid cat" as cat "$MNT/backup/docs/notes.txt"
denied "unknown uid snapshot" as ls "$MNT/.snapshots/$SNAP"
needs_role "unknown uid status" reader none as "$VAULTCTL" status "$MNT"

# Grants survive a remount.  First, on the fresh mount (nothing about its
# root in the kernel's cache yet, so even stat is refused), vaultctl still
# reaches the daemon for a uid with no role and says why it is refused.
vf_remount
WHO=(--reuid 5999 --regid 5999 --clear-groups)
needs_role "unknown uid status, fresh mount" reader none as "$VAULTCTL" status "$MNT"
assert_eq "$(cat "$VF_TMP/roles")" "$("$VAULTCTL" role list "$MNT")" "roles after remount"
WHO=(--reuid $U_READER --regid $U_READER --clear-groups)
assert_eq notes "$(as cat "$MNT/backup/docs/notes.txt")" "reader after remount"
vf_umount
log "ok"
