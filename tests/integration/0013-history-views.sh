#!/usr/bin/env bash
# 0013-history-views: .snapshots/<time>/ shows the tree as of that second
# and .versions/<file>/ every recovery point of a file; both are read-only,
# hidden from the root's listing, and readable only by who may read the
# original.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# Each edit lands in a later second than the time taken before it.
tick() { sleep 1.1; }

chmod 0711 "$VF_TMP" # other uids reach the mount below
vf_init
vf_mount
# uid 4242 below may read (README.md, Roles); the mode bits decide what
"$VAULTCTL" role grant "$MNT" reader user:4242 >/dev/null

# ---- three versions of f, a file born later, a file deleted later ---------
mkdir "$MNT/dir"
echo one >"$MNT/f"
echo doomed >"$MNT/dir/gone"
ln -s ../f "$MNT/dir/link"
ln "$MNT/f" "$MNT/dir/hard"
tick
T1=$(now)
tick
echo two >"$MNT/f"
echo newer >"$MNT/born-later"
rm "$MNT/dir/gone"
tick
T2=$(now)
tick
printf 'three\n' >"$MNT/f"
tick
T3=$(now)
tick
log "T1=$T1 T2=$T2 T3=$T3"

S=$MNT/.snapshots
assert_eq one "$(cat "$S/$T1/f")" "f at T1"
assert_eq two "$(cat "$S/$T2/f")" "f at T2"
assert_eq three "$(cat "$S/$T3/f")" "f at T3"
assert_eq one "$(cat "$S/$T1/dir/hard")" "hard link at T1"
[ "$(stat -c %i "$S/$T1/f")" = "$(stat -c %i "$S/$T1/dir/hard")" ] ||
	fail "hard links differ in inode inside a view"
[ "$(stat -c %i "$S/$T1/f")" != "$(stat -c %i "$S/$T2/f")" ] ||
	fail "the same file in two views shares an inode"
assert_eq ../f "$(readlink "$S/$T1/dir/link")" "symlink in a view"
assert_eq one "$(cat "$S/$T1/dir/link")" "symlink followed inside the view"
[ ! -e "$S/$T1/born-later" ] || fail "a file created after T1 is in the T1 view"
assert_eq newer "$(cat "$S/$T2/born-later")" "born-later at T2"
assert_eq doomed "$(cat "$S/$T1/dir/gone")" "deleted file in a view from before"
[ ! -e "$S/$T2/dir/gone" ] || fail "deleted file still in a later view"
[ ! -e "$MNT/dir/gone" ] || fail "deleted file back in the live tree"
assert_eq "dir f" "$(ls "$S/$T1" | tr '\n' ' ' | sed 's/ $//')" "listing at T1"
assert_eq "born-later dir f" "$(ls "$S/$T2" | tr '\n' ' ' | sed 's/ $//')" \
	"listing at T2"
assert_eq 6 "$(stat -c %s "$S/$T3/f")" "size from the recovery point"
# Any spelling of a time names the view of its second.
assert_eq one "$(cat "$S/${T1%Z}/f")" "time without Z"
assert_eq one "$(cat "$S/${T1%Z}.999Z/f")" "fractional seconds"

# ---- .versions --------------------------------------------------------------
V=$MNT/.versions/f
assert_eq 3 "$(ls "$V" | wc -l)" "versions of f"
mapfile -t vers < <(ls "$V")
assert_eq one "$(cat "$V/${vers[0]}")" "oldest version"
assert_eq two "$(cat "$V/${vers[1]}")" "middle version"
assert_eq three "$(cat "$V/${vers[2]}")" "newest version"
for v in "${vers[@]}"; do
	"$PYTHON" -c 'import sys,datetime; datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ")' "$v" ||
		fail "version name '$v' is not an ISO-8601 UTC time"
done
[ -d "$MNT/.versions/dir" ] || fail ".versions/dir is not a directory"
assert_eq 3 "$(ls "$MNT/.versions/dir/hard" | wc -l)" \
	".versions follows the live tree into directories"
assert_eq "${vers[2]}" "$(ls "$MNT/.versions/dir/hard" | tail -n 1)" \
	"a hard link has the same versions"

# ---- hidden and read-only ---------------------------------------------------
ls -a "$MNT" | grep -q '^\.snapshots$' && fail ".snapshots is listed in the root"
ls -a "$MNT" | grep -q '^\.versions$' && fail ".versions is listed in the root"
cp -a "$MNT" "$VF_TMP/copy"
[ ! -e "$VF_TMP/copy/.snapshots" ] && [ ! -e "$VF_TMP/copy/.versions" ] ||
	fail "cp -a of the mount descended into the history views"

refused() { # what, command...
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "$what succeeded inside a view"
	fi
	case $out in
	*"Read-only file system"*) ;;
	*) fail "$what: expected EROFS, got: $out" ;;
	esac
}
refused "write" sh -c "echo x >>'$S/$T1/f'"
refused "truncate" truncate -s 0 "$S/$T1/f"
refused "create" touch "$S/$T1/new"
refused "mkdir" mkdir "$S/$T1/newdir"
refused "unlink" rm -f "$S/$T1/f"
refused "rmdir" rmdir "$S/$T1/dir"
refused "rename" mv "$S/$T1/f" "$S/$T1/g"
refused "rename out" mv "$S/$T1/f" "$MNT/stolen"
refused "chmod" chmod 600 "$S/$T1/f"
refused "setxattr" setfattr -n user.x -v 1 "$S/$T1/f"
refused "symlink" ln -s x "$S/$T1/sl"
refused "hard link" ln "$S/$T1/f" "$MNT/hl"
refused "version write" sh -c "echo x >>'$V/${vers[0]}'"
refused "version unlink" rm -f "$V/${vers[0]}"
refused "version create" touch "$V/new"
refused "rmdir .snapshots" rmdir "$S"
refused "rename .versions" mv "$MNT/.versions" "$MNT/v2"
assert_eq three "$(cat "$MNT/f")" "live f after the refusals"
assert_eq 3 "$(ls "$V" | wc -l)" "versions after the refusals"

# ---- names that are not views -----------------------------------------------
[ ! -e "$S/not-a-time" ] || fail "garbage name resolves"
[ ! -e "$S/2999-01-01T00:00:00Z" ] || fail "a future time resolves"
[ -d "$S/2000-01-01T00:00:00Z" ] || fail "a time before the vault is not a view"
assert_eq 0 "$(ls -A "$S/2000-01-01T00:00:00Z" | wc -l)" "view before the vault"
[ ! -e "$V/2000-01-01T00:00:00Z" ] || fail "a version that does not exist"

# ---- .snapshots lists points; explicit ones too ------------------------------
ls "$S" >"$VF_TMP/points"
[ -s "$VF_TMP/points" ] || fail ".snapshots lists no points"
while read -r p; do
	[ -d "$S/$p" ] || fail "listed point $p is not a view"
done <"$VF_TMP/points"

# ---- cp -a out of a view gives the tree as it was ----------------------------
make_fixture_tree "$MNT/proj"
cp -a "$MNT/proj" "$VF_TMP/proj-then"
tick
T4=$(now)
tick
echo changed >>"$MNT/proj/$(cd "$MNT/proj" && find . -type f | head -n 1)"
rm -rf "$MNT/proj"/*/
cp -a "$S/$T4/proj" "$VF_TMP/proj-restored"
SAME_TREE_NS=0 same_tree "$VF_TMP/proj-then" "$VF_TMP/proj-restored"

# ---- permissions carry over ---------------------------------------------------
echo secret >"$MNT/secret"
chmod 600 "$MNT/secret"
tick
T5=$(now)
tick
setpriv --reuid=4242 --regid=4242 --clear-groups cat "$S/$T5/secret" \
	>/dev/null 2>&1 && fail "another uid read a private file through a view"
setpriv --reuid=4242 --regid=4242 --clear-groups ls "$MNT/.versions/secret" \
	>/dev/null 2>&1 && fail "another uid listed a private file's versions"
assert_eq one "$(setpriv --reuid=4242 --regid=4242 --clear-groups cat "$S/$T1/f")" \
	"another uid reads a public file through a view"

# ---- after a remount everything is still there ------------------------------
vf_remount
assert_eq one "$(cat "$S/$T1/f")" "f at T1 after remount"
assert_eq 3 "$(ls "$V" | wc -l)" "versions after remount"
vf_umount
log "ok"
