#!/usr/bin/env bash
# 0015-restore: `vaultctl restore MNT PATH --at TIME [--to DEST]` copies a
# file or a tree out of .snapshots/TIME: back in place (a file that exists is
# rewritten, so it gets a new recovery point and keeps its history; what was
# deleted comes back; what is newer than TIME is left alone) or to a new DEST
# (the same tree as `cp -a` of the snapshot view gives).  Bad input fails
# with one line and exit 1, changing nothing.  restore runs in vaultctl as
# the caller, so the kernel's permission checks apply to it.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# Each edit lands in a later second than the time taken before it.
tick() { sleep 1.1; }
# expect_fail WHAT PATTERN command...: exit status 1 and PATTERN on stderr.
expect_fail() {
	local what=$1 pat=$2 rc=0 out
	shift 2
	out=$("$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" = 1 ] || fail "$what: expected exit 1, got $rc ($out)"
	[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "$what: expected one line, got: $out"
	case $out in
	*$pat*) ;;
	*) fail "$what: expected '$pat' in: $out" ;;
	esac
}

chmod 0711 "$VF_TMP" # another uid reaches the mount below
vf_init
vf_mount
# uid 1000 below has the role restores need (README.md, Roles); the mode bits decide
# what it may read
"$VAULTCTL" role grant "$MNT" operator user:1000 >/dev/null

# ---- one file, three versions, version 1 back in place ----------------------
echo one >"$MNT/f"
tick
T1=$(now)
tick
echo two >"$MNT/f"
tick
T2=$(now)
tick
printf 'three\n' >"$MNT/f"
tick
log "T1=$T1 T2=$T2"
ino=$(stat -c %i "$MNT/f")
assert_eq 3 "$(ls "$MNT/.versions/f" | wc -l)" "versions of f before the restore"
out=$("$VAULTCTL" restore "$MNT" f --at "$T1") || fail "restore f --at $T1 failed: $out"
log "$out"
assert_eq one "$(cat "$MNT/f")" "f after restoring it as of T1"
assert_eq "$ino" "$(stat -c %i "$MNT/f")" "f is the same file after the restore"
assert_eq 4 "$(ls "$MNT/.versions/f" | wc -l)" "versions of f after the restore"
assert_eq one "$(cat "$MNT/.versions/f/$(ls "$MNT/.versions/f" | tail -n 1)")" \
	"newest version of f after the restore"
assert_eq three "$(cat "$MNT/.versions/f/$(ls "$MNT/.versions/f" | sed -n 3p)")" \
	"the displaced version stays in the history"
# Restoring what is already there writes nothing: no new recovery point.
out=$("$VAULTCTL" restore "$MNT" /f --at "$T1") || fail "second restore of f failed: $out"
assert_eq 4 "$(ls "$MNT/.versions/f" | wc -l)" "versions of f after a restore that changes nothing"
# Any spelling of the time, and to a new file.
"$VAULTCTL" restore "$MNT" f --at "${T2%Z}.5" --to "$VF_TMP/f-at-t2" >/dev/null ||
	fail "restore f --at ${T2%Z}.5 --to failed"
assert_eq two "$(cat "$VF_TMP/f-at-t2")" "f restored to a new path as of T2"
# the same moment in another zone, and a day (its first second: before f)
T2_EAST=$(date -u -d "${T2%Z} UTC + 90 minutes" +%Y-%m-%dT%H:%M:%S)+01:30
"$VAULTCTL" restore "$MNT" f --at "$T2_EAST" --to "$VF_TMP/f-at-t2-east" >/dev/null ||
	fail "restore f --at $T2_EAST failed"
assert_eq two "$(cat "$VF_TMP/f-at-t2-east")" "f restored as of T2 given with a zone"
if "$VAULTCTL" restore "$MNT" f --at "$(date -u +%Y-%m-%d)" --to "$VF_TMP/f-today" >/dev/null 2>&1 &&
	[ "$(date -u +%H%M)" != 0000 ]; then
	fail "restore --at today's date (its first second, before f existed) restored something"
fi
# a duration back from now: f as it was a second ago is its newest version
sleep 1.1
"$VAULTCTL" restore "$MNT" f --at 1s --to "$VF_TMP/f-1s" >/dev/null || fail "restore f --at 1s failed"
cmp -s "$VF_TMP/f-1s" "$MNT/f" || fail "f --at 1s is not f as it is"

# ---- a tree as of a time ----------------------------------------------------
D=$MNT/d
mkdir -p "$D/sub/deeper" "$D/empty"
head -c $((3 * 1024 * 1024 + 5)) /dev/urandom >"$D/sub/big"
echo a >"$D/sub/a"
echo b >"$D/b"
echo secret >"$D/secret"
echo deep >"$D/sub/deeper/x"
truncate -s 5M "$D/sparse"
printf 'middle' | dd of="$D/sparse" bs=1 seek=2097152 conv=notrunc status=none
ln -s sub/a "$D/link"
ln -s ../../b "$D/sub/deeper/up"
ln "$D/b" "$D/b-hard"
mkfifo "$D/fifo"
setfattr -n user.note -v 'kept' "$D/sub/a"
chmod 0640 "$D/b"
chmod 0750 "$D/sub/a"
chmod 0600 "$D/secret"
chmod 0700 "$D/sub/deeper"
chown 1234:5678 "$D/sub/big"
# 40 levels deep, files on the way: more than restore keeps descriptors for.
deep=$D/deep
for i in $(seq 1 40); do
	deep=$deep/l$i
	mkdir -p "$deep"
	echo "level $i" >"$deep/file"
	[ $((i % 10)) != 0 ] || ln -s file "$deep/link"
done
touch -d '2001-02-03 04:05:06.123456789' "$D/sub/a" "$D/b"
touch -d '2010-05-06 07:08:09' "$D/sub/deeper" "$D/sub"
cp -a "$D" "$VF_TMP/saved-d"
tick
T3=$(now)
tick
log "T3=$T3"
# After T3: contents, modes and times change; nothing is created or deleted
# (the view shows directories as they are now: only files have versions).
head -c 4096 /dev/urandom >"$D/sub/big"
echo A >"$D/sub/a"
chmod 0600 "$D/b"
echo B >"$D/b"
echo DEEP >"$D/sub/deeper/x"
echo changed >"$deep/file"

# With at most 40 descriptors: restore does not hold one per level.
out=$(ulimit -n 40 && "$VAULTCTL" restore "$MNT" d --at "$T3" --to "$VF_TMP/out" --json) ||
	fail "restore d --to failed: $out"
log "$out"
same_tree "$VF_TMP/saved-d" "$VF_TMP/out"
[ "$(stat -c %i "$VF_TMP/out/b")" = "$(stat -c %i "$VF_TMP/out/b-hard")" ] ||
	fail "hard links restored as copies"
[ "$(stat -c %b "$VF_TMP/out/sparse")" -lt 2048 ] ||
	fail "the sparse file was restored dense ($(stat -c %b "$VF_TMP/out/sparse") blocks)"
cp -a "$MNT/.snapshots/$T3/d" "$VF_TMP/cp-a" || fail "cp -a of the snapshot view failed"
same_tree "$VF_TMP/out" "$VF_TMP/cp-a"
# One file of the tree, by a path through directories.
"$VAULTCTL" restore "$MNT" d/sub/deeper/x --at "$T3" --to "$VF_TMP/x" >/dev/null ||
	fail "restore of a nested file failed"
assert_eq deep "$(cat "$VF_TMP/x")" "nested file as of T3"

# ---- the tree back in place -------------------------------------------------
rm "$D/sub/deeper/x" "$D/link"
rmdir "$D/empty"
rm -r "$D/deep/l1/l2/l3/l4/l5/l6/l7/l8/l9/l10/l11/l12/l13/l14/l15"
echo newer >"$D/sub/newer"
ln -s elsewhere "$D/sub/deeper/up2"
ln -sf elsewhere "$D/sub/deeper/up" # a different target in the way
out=$(ulimit -n 40 && "$VAULTCTL" restore "$MNT" d --at "$T3") || fail "restore d in place failed: $out"
log "$out"
(cd "$VF_TMP/saved-d" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$VF_TMP/sums.saved"
(cd "$D" && sha256sum -c --quiet "$VF_TMP/sums.saved") || fail "contents differ after restoring d in place"
assert_eq newer "$(cat "$D/sub/newer")" "a file created after T3 is left alone"
assert_eq elsewhere "$(readlink "$D/sub/deeper/up2")" "a symlink created after T3 is left alone"
assert_eq sub/a "$(readlink "$D/link")" "deleted symlink restored"
assert_eq ../../b "$(readlink "$D/sub/deeper/up")" "symlink in the way replaced"
[ -d "$D/empty" ] || fail "deleted empty directory not restored"
assert_eq "640 750 600 700" \
	"$(stat -c %a "$D/b" "$D/sub/a" "$D/secret" "$D/sub/deeper" | tr '\n' ' ' | sed 's/ $//')" \
	"modes after restoring d in place"
assert_eq 1234:5678 "$(stat -c %u:%g "$D/sub/big")" "owner after restoring d in place"
assert_eq kept "$(getfattr --absolute-names --only-values -n user.note "$D/sub/a")" "xattr after restoring d in place"
assert_eq "$(stat -c %y "$VF_TMP/saved-d/b")" "$(stat -c %y "$D/b")" "mtime after restoring d in place"
[ "$(stat -c %i "$D/b")" = "$(stat -c %i "$D/b-hard")" ] || fail "hard link broken by the restore"
assert_eq 3 "$(ls "$MNT/.versions/d/b" | wc -l)" "versions of d/b (two writes and the restore)"

# ---- refusals: one line, exit 1, nothing changed -----------------------------
expect_fail "absent path" "'d/nope' did not exist at $T3" \
	"$VAULTCTL" restore "$MNT" d/nope --at "$T3"
expect_fail "path born later" "'d/sub/newer' did not exist at $T3" \
	"$VAULTCTL" restore "$MNT" d/sub/newer --at "$T3"
expect_fail "path before the vault" "did not exist at 2000-01-01T00:00:00Z" \
	"$VAULTCTL" restore "$MNT" f --at 2000-01-01T00:00:00Z
expect_fail "garbage time" "is not a time like" "$VAULTCTL" restore "$MNT" f --at yesterday
expect_fail "future time" "in the future" "$VAULTCTL" restore "$MNT" f --at 2200-01-01T00:00:00Z
echo mine >"$VF_TMP/exists"
expect_fail "existing DEST" "exists" "$VAULTCTL" restore "$MNT" f --at "$T1" --to "$VF_TMP/exists"
assert_eq mine "$(cat "$VF_TMP/exists")" "existing DEST after a refused restore"
expect_fail "a directory that is not a mount" "not a vaultfs mountpoint" \
	"$VAULTCTL" restore "$VF_TMP" f --at "$T1"
rc=0
"$VAULTCTL" restore "$MNT" ../f --at "$T1" 2>/dev/null || rc=$?
assert_eq 2 "$rc" "exit status of a PATH with '..'"
rc=0
"$VAULTCTL" restore "$MNT" f 2>/dev/null || rc=$?
assert_eq 2 "$rc" "exit status without --at"

# As another user: the kernel decides (secret is 0600 root), nothing is made.
mkdir -m 0777 "$VF_TMP/user"
rc=0
out=$(setpriv --reuid 1000 --regid 1000 --clear-groups \
	"$VAULTCTL" restore "$MNT" d/secret --at "$T3" --to "$VF_TMP/user/s" 2>&1) || rc=$?
assert_eq 1 "$rc" "exit status of a restore the caller may not read"
case $out in *"Permission denied"*) ;; *) fail "unreadable file: expected EACCES, got: $out" ;; esac
[ ! -e "$VF_TMP/user/s" ] || fail "a restore the caller may not read left a file"
setpriv --reuid 1000 --regid 1000 --clear-groups \
	"$VAULTCTL" restore "$MNT" d/link --at "$T3" --to "$VF_TMP/user/link" >/dev/null ||
	fail "restore of a readable symlink as uid 1000 failed"
assert_eq sub/a "$(readlink "$VF_TMP/user/link")" "symlink restored by uid 1000"
assert_eq 1000 "$(stat -c %u "$VF_TMP/user/link")" "a user's restore is owned by the user"

vf_umount
expect_fail "offline vault directory" "restore needs a mounted vault" \
	"$VAULTCTL" restore "$VAULT" f --at "$T1"
