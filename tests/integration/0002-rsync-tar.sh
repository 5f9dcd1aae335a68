#!/usr/bin/env bash
# 0002-rsync-tar: `rsync -aHAX` and `tar --xattrs` bring trees in with all
# their metadata (POSIX ACLs included, as on ext4); a second rsync finds nothing to do; rsync's write-then-
# rename update path works; tar reads the tree back out intact; everything
# survives a remount.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

command -v rsync >/dev/null || fail "rsync is not installed (apt-get install rsync)"
DOC=/usr/share/doc
[ -d "$DOC" ] || fail "$DOC is missing"
FIX=$VF_TMP/fixture
make_fixture_tree "$FIX" acl   # rsync -A: ACLs must come through too
TARFIX=$VF_TMP/fixture-tar
make_fixture_tree "$TARFIX" nosocket
TAROPTS=(--xattrs --xattrs-include='*')

vf_init
vf_mount

# rsync: a real tree and the fixture.
SECONDS=0
rsync -aHAX "$DOC/" "$MNT/doc/" || fail "rsync -aHAX $DOC/ $MNT/doc/ failed"
rsync -aHAX "$FIX/" "$MNT/rsync/" || fail "rsync -aHAX $FIX/ $MNT/rsync/ failed"
log "rsync in ${SECONDS}s"
same_tree "$DOC" "$MNT/doc"
same_tree "$FIX" "$MNT/rsync"

# A second run must find every file up to date (sizes, mtimes, modes, owners
# and xattrs all read back as written).
changes=$(rsync -aHAX --itemize-changes "$FIX/" "$MNT/rsync/") || fail "second rsync failed"
[ -z "$changes" ] || { echo "$changes" >&2; fail "second rsync -aHAX of an unchanged tree changed something"; }

# Changed source files go in through rsync's temp-file-then-rename-over path
# (and --inplace through in-place writes).
printf 'changed\n' >>"$FIX/sub/text-2m"
head -c 100000 /dev/urandom | dd of="$FIX/sub/3m-random" bs=1 seek=1000000 conv=notrunc status=none
printf 'new file\n' >"$FIX/new-file"
rm "$FIX/name with spaces.txt"
rsync -aHAX --delete "$FIX/" "$MNT/rsync/" || fail "rsync -aHAX --delete (update) failed"
same_tree "$FIX" "$MNT/rsync"
printf 'changed in place\n' >>"$FIX/4k"
rsync -aHAX --inplace "$FIX/" "$MNT/rsync/" || fail "rsync -aHAX --inplace failed"
same_tree "$FIX" "$MNT/rsync"
[ -z "$(find "$MNT/rsync" -name '.*' -print -quit)" ] || fail "rsync temp files left in $MNT/rsync"

# tar: in (pax format keeps nanosecond mtimes), and back out.
mkdir "$MNT/tar"
tar -C "$TARFIX" "${TAROPTS[@]}" --format=posix -cf - . |
	tar -C "$MNT/tar" "${TAROPTS[@]}" -xpf - || fail "tar x into $MNT/tar failed"
same_tree "$TARFIX" "$MNT/tar"
mkdir "$MNT/tar-usr"
tar -C /usr/include "${TAROPTS[@]}" -cf - linux |
	tar -C "$MNT/tar-usr" "${TAROPTS[@]}" -xpf - || fail "tar x of /usr/include/linux failed"
SAME_TREE_NS=0 same_tree /usr/include/linux "$MNT/tar-usr/linux"
save_tree "$MNT" before

vf_remount
check_tree "$MNT" before
same_tree "$DOC" "$MNT/doc"
same_tree "$FIX" "$MNT/rsync"
same_tree "$TARFIX" "$MNT/tar"

mkdir "$VF_TMP/out"
tar -C "$MNT/tar" "${TAROPTS[@]}" --format=posix -cf - . |
	tar -C "$VF_TMP/out" "${TAROPTS[@]}" -xpf - || fail "tar c from the mount failed"
same_tree "$TARFIX" "$VF_TMP/out"
rsync -aHAX "$MNT/doc/" "$VF_TMP/doc-out/" || fail "rsync out of the mount failed"
same_tree "$DOC" "$VF_TMP/doc-out"
vf_umount
