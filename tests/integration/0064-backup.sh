#!/usr/bin/env bash
# 0064-backup: vaultctl backup SRC MNT/DEST (docs/backup.md) of the
# fixture tree gives what rsync -aHAX through the mount gives (contents,
# modes, owners, times, xattrs, ACLs, symlinks, hard links, a sparse and
# an empty file, fifo and devices), identical to the source; a second run
# changes nothing (all unchanged, no new version); a changed file gets a
# new version, and with --delete a file and a directory removed from the
# source go to .softdeleted as rm through the mount would; --from-list
# backs up the listed paths only; an immutable directory keeps its sealed
# files.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

command -v rsync >/dev/null || skip "rsync is missing"
SRC=$VF_TMP/fixture
make_fixture_tree "$SRC" acl
mkdir -p "$SRC/gone-dir/inner"
printf 'bye\n' >"$SRC/gone-dir/inner/f"
printf 'bye\n' >"$SRC/gone-file"

vf_init
vf_mount
out=$("$VAULTCTL" backup "$SRC" "$MNT/dest") || fail "backup: $out"
log "first run: $out"
case $out in "backup: "*" new, 0 changed, 0 unchanged, 0 deleted, 0 failed, "*) ;;
*) fail "first run summary: $out" ;; esac
same_tree "$SRC" "$MNT/dest"
# What rsync -aHAX through the mount gives, times aside (checked against
# the source above: rsync's own directory times through the mount are
# not what this test is about).
rsync -aHAX "$SRC/" "$MNT/rsync/"
SAME_TREE_MTIME=0 same_tree "$MNT/rsync" "$MNT/dest"

# A second run: everything unchanged, no new recovery point.
ls "$MNT/.versions/dest/4k" >"$VF_TMP/v1"
sleep 1
out=$("$VAULTCTL" backup "$SRC" "$MNT/dest") || fail "second backup: $out"
case $out in "backup: 0 new, 0 changed, "*" unchanged, 0 deleted, 0 failed, 0 bytes read,"*) ;;
*) fail "second run is not a no-op: $out" ;; esac
ls "$MNT/.versions/dest/4k" >"$VF_TMP/v2"
cmp -s "$VF_TMP/v1" "$VF_TMP/v2" || fail "a second run made a new version of 4k"

# Changes: one file rewritten (same size, new time), one removed, a tree removed.
head -c 4096 /dev/urandom >"$SRC/4k"
touch -d '2020-01-02 03:04:05.123456789' "$SRC/4k"
rm -r "$SRC/gone-dir" "$SRC/gone-file"
out=$("$VAULTCTL" backup "$SRC" "$MNT/dest" --delete) || fail "backup --delete: $out"
log "third run: $out"
case $out in "backup: 0 new, 1 changed, "*" unchanged, 2 deleted, 0 failed, 4096 bytes read,"*) ;;
*) fail "third run summary: $out" ;; esac
same_tree "$SRC" "$MNT/dest"
assert_eq 2 "$(ls "$MNT/.versions/dest/4k" | wc -l)" "versions of 4k"
[ -f "$MNT/.softdeleted/dest/gone-file" ] || fail "gone-file is not in .softdeleted"
assert_eq bye "$(cat "$MNT/.softdeleted/dest/gone-dir/inner/f")" "soft-deleted tree"

# --from-list: the listed paths only (NUL-separated here), parents made.
printf 'sub/text-2m\0name with spaces.txt\0' >"$VF_TMP/list"
out=$("$VAULTCTL" backup "$SRC" "$MNT/picked" --from-list "$VF_TMP/list") ||
	fail "backup --from-list: $out"
assert_eq "name with spaces.txt
sub
sub/text-2m" "$(cd "$MNT/picked" && find . -mindepth 1 -printf '%P\n' | sort)" "--from-list tree"
cmp "$SRC/sub/text-2m" "$MNT/picked/sub/text-2m" || fail "--from-list content"

# Newline-separated on stdin; a path leaving SRC refused with one line.
rc=0
out=$(printf 'one-byte\nsub/../../etc/passwd\n' |
	"$VAULTCTL" backup "$SRC" "$MNT/picked2" --from-list - 2>&1) || rc=$?
assert_eq 1 "$rc" "--from-list with a path leaving SRC"
assert_eq 1 "$(grep -c 'sub/../../etc/passwd: not a path under SRC' <<<"$out")" "'..' refused: $out"
assert_eq "one-byte" "$(ls "$MNT/picked2")" "--from-list - tree"

# An immutable directory refuses a change to a sealed file, as through
# the mount: one line, exit 1, the file keeps its version.
"$VAULTCTL" immutable set "$MNT" picked/sub >/dev/null || fail "immutable set"
cp "$SRC/sub/text-2m" "$VF_TMP/text-2m.orig"
printf 'changed\n' >>"$SRC/sub/text-2m"
rc=0
out=$("$VAULTCTL" backup "$SRC" "$MNT/picked" --from-list "$VF_TMP/list" 2>&1) || rc=$?
assert_eq 1 "$rc" "backup over a sealed file"
assert_eq 1 "$(grep -c 'sub/text-2m: .*Operation not permitted' <<<"$out")" "sealed file line: $out"
cmp -s "$VF_TMP/text-2m.orig" "$MNT/picked/sub/text-2m" || fail "a sealed file changed"

# Bad input: one line, nothing changed.
refused "a destination outside" "not inside a vaultfs mount" "$VAULTCTL" backup "$SRC" "$VF_TMP/elsewhere"
refused "a missing source" "cannot open" "$VAULTCTL" backup "$VF_TMP/no-such-dir" "$MNT/x"
[ ! -e "$MNT/x" ] || fail "a refused backup made its destination"

# Identical files stored side by side by the daemon's two workers are
# deduplicated as through the mount: 24 copies of 1 MiB of random data
# grow the packs by about one copy, not two or more.
D=$VF_TMP/dups && mkdir -p "$D"
head -c 1048576 /dev/urandom >"$D/c00"
for i in $(seq -w 1 23); do cp "$D/c00" "$D/c$i"; done
before=$(du -sb "$VAULT/packs" | cut -f1)
out=$("$VAULTCTL" backup "$D" "$MNT/dups" 2>&1) || fail "backup of identical files: $out"
grew=$(($(du -sb "$VAULT/packs" | cut -f1) - before))
[ "$grew" -lt $((3 * 1048576 / 2)) ] || fail "24 identical 1 MiB files grew the packs by $grew bytes"

save_tree "$MNT/dest" before
vf_remount
check_tree "$MNT/dest" before
out=$("$VAULTCTL" check "$MNT" --read-data 2>&1) || fail "check --read-data: $out"
vf_umount
