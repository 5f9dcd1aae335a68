#!/usr/bin/env bash
# 0003-posix: the everyday POSIX semantics of the live tree, each
# operation applied both to the mount and to a reference copy on the local
# disk, plus direct checks of what a tree comparison cannot see (errno
# values, inode numbers, link counts, open descriptors, locks, mmap).
# Everything is checked again after a remount.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

REF=$VF_TMP/ref
T=$MNT/t
mkdir "$REF"
# Other users must reach the mount to check permission enforcement.
chmod 0711 "$VF_TMP"

vf_init
vf_mount
# uid 4242 below: a role that allows every operation (README.md, Roles), so that only
# the mode bits decide what it may do
"$VAULTCTL" role grant "$MNT" contributor user:4242 >/dev/null
chmod 0755 "$MNT"
mkdir "$T"

# both CMD...: run CMD in the reference dir and in the mount, in that order.
both() {
	(cd "$REF" && "$@") || fail "on the reference: $*"
	(cd "$T" && "$@") || fail "on the mount: $*"
}
# must_fail ERRTEXT CMD...: CMD fails on the mount with an error naming ERRTEXT.
must_fail() {
	local want=$1 err
	shift
	if err=$(cd "$T" && "$@" 2>&1); then
		fail "'$*' succeeded on the mount, expected: $want"
	fi
	case $err in
	*"$want"*) ;;
	*) fail "'$*' failed with '$err', expected: $want" ;;
	esac
}
py() { "$PYTHON" -c "$@"; }
compare_ref() {
	SAME_TREE_MTIME=0 same_tree "$REF" "$T"
}

# --- random writes with dd conv=notrunc ------------------------------------
head -c $((5 * 1024 * 1024 + 333)) /dev/urandom >"$VF_TMP/base"
both cp "$VF_TMP/base" rw
for i in $(seq 1 60); do
	off=$((RANDOM * 200 + RANDOM % 200))             # 0 .. ~6.5 MB, past EOF too
	len=$((RANDOM % 3 == 0 ? RANDOM % 7 + 1 : RANDOM * 4 % 300000 + 1))
	head -c "$len" /dev/urandom >"$VF_TMP/piece"
	both dd if="$VF_TMP/piece" of=rw bs="$len" count=1 seek="$off" oflag=seek_bytes conv=notrunc status=none
done
# Many small writes in one open, then several blocks sequentially.
both dd if="$VF_TMP/base" of=rw bs=4096 count=100 skip=7 seek=13 conv=notrunc status=none
cmp "$REF/rw" "$T/rw" || fail "random writes: contents differ"
# Many writes through one descriptor, read back before close.
py '
import os, random, sys
random.seed(7)
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDWR)
    r = random.Random(1)
    for _ in range(300):
        off = r.randrange(0, 7 << 20)
        os.pwrite(fd, r.randbytes(r.randrange(1, 70000)), off)
    os.pwrite(fd, b"tail", os.fstat(fd).st_size)
    os.close(fd)
' "$REF/rw" "$T/rw"
cmp "$REF/rw" "$T/rw" || fail "pwrite burst: contents differ"

# --- truncate up and down ---------------------------------------------------
both cp "$VF_TMP/base" tr
both truncate -s 10M tr
assert_eq 10485760 "$(stat -c %s "$T/tr")" "size after truncate up"
both truncate -s 1000 tr
both truncate -s 3000000 tr # the old bytes past 1000 must not come back
cmp "$REF/tr" "$T/tr" || fail "truncate down then up: contents differ (old data resurfaced?)"
[ "$(tail -c 2999000 "$T/tr" | tr -d '\0' | wc -c)" = 0 ] || fail "truncate up did not read back zeros"
both truncate -s 0 tr
assert_eq 0 "$(stat -c %s "$T/tr")" "size after truncate to 0"
both cp "$VF_TMP/base" ftr
py '
import os, sys
for p in sys.argv[1:]:
    with open(p, "r+b") as f:
        f.seek(100); f.write(b"x" * 5000); f.truncate(2000); f.seek(0, 2); f.write(b"end")
' "$REF/ftr" "$T/ftr"
cmp "$REF/ftr" "$T/ftr" || fail "write, ftruncate, append through one fd: contents differ"
both fallocate -l 3M falloc
assert_eq 3145728 "$(stat -c %s "$T/falloc")" "size after fallocate"
# Sparse: a write far past the end leaves a hole of zeros.
both touch sparse
printf 'far' >"$VF_TMP/far"
both dd if="$VF_TMP/far" of=sparse bs=1 seek=100000000 conv=notrunc status=none
cmp "$REF/sparse" "$T/sparse" || fail "sparse file differs"
printf 'a\n' >>"$T/app"; printf 'b\n' >>"$T/app"; printf 'a\nb\n' >"$REF/app"
cmp "$REF/app" "$T/app" || fail "O_APPEND writes differ"

# --- rename, including over an existing file --------------------------------
both sh -c 'echo old content >target; echo new content >source'
exec 7<"$T/target" # a reader of the old target
both mv source target
[ ! -e "$T/source" ] || fail "rename left the source name"
assert_eq "new content" "$(cat "$T/target")" "content of the rename target"
assert_eq "old content" "$(cat <&7)" "content read through a descriptor opened before rename-over"
exec 7<&-
both mkdir -p d1/sub d2 d3 emptydir
both sh -c 'echo in-d1 >d1/f'
both mv d1/f d2/moved
both mv d2 d1/sub/d2-moved    # a directory into another directory
both mv d3 emptydir           # a directory over an empty directory
mkdir "$T/full" "$REF/full"; touch "$T/full/x" "$REF/full/x"; mkdir "$T/over" "$REF/over"
must_fail "Directory not empty" mv -T over full
touch "$T/plain" "$REF/plain"
must_fail "Is a directory" "$PYTHON" -c 'import os; os.rename("plain", "full")'
must_fail "Not a directory" "$PYTHON" -c 'import os; os.rename("full", "plain")'
# A file renamed while open keeps being written through its descriptor.
py '
import os, sys
for d in sys.argv[1:]:
    f = open(os.path.join(d, "open-renamed"), "w")
    f.write("first ")
    f.flush()
    os.rename(os.path.join(d, "open-renamed"), os.path.join(d, "open-renamed2"))
    f.write("second")
    f.close()
' "$REF" "$T"
assert_eq "first second" "$(cat "$T/open-renamed2")" "file written after rename"

# --- hard links ---------------------------------------------------------------
both sh -c 'echo linked >hl1; ln hl1 hl2; mkdir -p hldir; ln hl1 hldir/hl3'
assert_eq "$(stat -c %i "$T/hl1")" "$(stat -c %i "$T/hl2")" "inode of hard links"
assert_eq 3 "$(stat -c %h "$T/hl1")" "link count with 3 names"
both sh -c 'echo appended-via-hl2 >>hl2'
assert_eq "$(printf 'linked\nappended-via-hl2')" "$(cat "$T/hldir/hl3")" "content shared by hard links"
both rm hl1
assert_eq 2 "$(stat -c %h "$T/hl2")" "link count after unlink"
assert_eq "$(printf 'linked\nappended-via-hl2')" "$(cat "$T/hl2")" "content after unlinking one name"
both mv hl2 hl2-renamed
assert_eq "$(stat -c %i "$T/hldir/hl3")" "$(stat -c %i "$T/hl2-renamed")" "inode kept by rename"
must_fail "Operation not permitted" "$PYTHON" -c 'import os; os.link("d1", "dirlink")' # no hard links to directories

# --- symlinks -------------------------------------------------------------------
longtarget=$(printf 'x/%.0s' $(seq 1 1000))end
both ln -s hl2-renamed sym
both ln -s /no/such/target dangling
both ln -s d1/sub symdir
both ln -s "$longtarget" longsym
assert_eq hl2-renamed "$(readlink "$T/sym")" "symlink target"
assert_eq "$longtarget" "$(readlink "$T/longsym")" "2002-byte symlink target"
assert_eq "$(cat "$T/hl2-renamed")" "$(cat "$T/sym")" "reading through a symlink"
both chown -h 1111:2222 sym
both touch -h -d '2003-04-05 06:07:08.5' sym
assert_eq "1111:2222" "$(stat -c %u:%g "$T/sym")" "symlink owner (lchown)"
assert_eq 0 "$(stat -L -c %u "$T/hl2-renamed")" "lchown must not change the target's owner"

# --- mkdir / rmdir --------------------------------------------------------------
both mkdir -p tree/a tree/b tree/c
assert_eq 5 "$(stat -c %h "$T/tree")" "directory link count (2 + subdirectories, as ext4)"
must_fail "File exists" mkdir tree/a
must_fail "Directory not empty" rmdir tree
must_fail "Not a directory" rmdir hl2-renamed
both rmdir tree/c
assert_eq 4 "$(stat -c %h "$T/tree")" "directory link count after rmdir"
must_fail "No such file or directory" cat does-not-exist
must_fail "Is a directory" sh -c 'echo x >tree'

# --- chmod / chown / utimens ------------------------------------------------------
both sh -c 'echo m >modes; mkdir -p sticky'
both chmod 4750 modes
both chmod 1777 sticky
assert_eq 4750 "$(stat -c %a "$T/modes")" "mode after chmod 4750"
both chown 1234:5678 modes
assert_eq 1234:5678 "$(stat -c %u:%g "$T/modes")" "owner after chown"
both chown :100 sticky
assert_eq 0:100 "$(stat -c %u:%g "$T/sticky")" "group after chgrp"
both touch -d '2001-02-03 04:05:06.123456789' times
assert_eq '2001-02-03 04:05:06.123456789 +0000' "$(TZ=UTC stat -c %y "$T/times")" "mtime with nanoseconds"
both touch -a -d '2011-01-01 00:00:00.5' times
assert_eq '2001-02-03 04:05:06.123456789 +0000' "$(TZ=UTC stat -c %y "$T/times")" "mtime after touch -a (UTIME_OMIT)"
assert_eq '2011-01-01 00:00:00.500000000 +0000' "$(TZ=UTC stat -c %x "$T/times")" "atime after touch -a"
both touch -m -d '2012-02-02 00:00:00.25' times
assert_eq '2011-01-01 00:00:00.500000000 +0000' "$(TZ=UTC stat -c %x "$T/times")" "atime after touch -m (UTIME_OMIT)"
assert_eq '2012-02-02 00:00:00.250000000 +0000' "$(TZ=UTC stat -c %y "$T/times")" "mtime after touch -m"
before=$(date +%s)
touch "$T/times" # UTIME_NOW
now_m=$(stat -c %Y "$T/times")
[ "$now_m" -ge "$before" ] && [ "$now_m" -le $(($(date +%s) + 1)) ] || fail "touch (UTIME_NOW) set mtime $now_m, now is $(date +%s)"
touch -d '2012-02-02 00:00:00.25' "$REF/times" "$T/times"
m0=$(stat -c %Y "$T/rw")
echo more >>"$T/rw"; echo more >>"$REF/rw"
[ "$(stat -c %Y "$T/rw")" -ge "$m0" ] || fail "write did not update mtime"
# Permissions are enforced for other users (default_permissions).
both sh -c 'echo private >private; chmod 600 private; echo public >public; chmod 644 public'
as_user() { setpriv --reuid 4242 --regid 4242 --clear-groups "$@"; }
as_user cat "$T/public" >/dev/null || fail "uid 4242 cannot read a 0644 file"
if as_user cat "$T/private" >/dev/null 2>&1; then fail "uid 4242 read a 0600 root file"; fi
if as_user touch "$T/by-4242" 2>/dev/null; then fail "uid 4242 created a file in a 0755 root directory"; fi
both sh -c 'mkdir -p shared; chmod 1777 shared'
as_user sh -c "echo mine >'$T/shared/own'" || fail "uid 4242 cannot create in a 1777 directory"
assert_eq 4242:4242 "$(stat -c %u:%g "$T/shared/own")" "owner of a file created by uid 4242"
echo mine >"$REF/shared/own"; chown 4242:4242 "$REF/shared/own"
if as_user rm -f "$T/hl2-renamed" 2>/dev/null; then fail "uid 4242 unlinked in a root 0755 directory"; fi

# --- xattrs ---------------------------------------------------------------------
both setfattr -n user.a -v hello hl2-renamed
both setfattr -n user.bin -v 0x0001fffe hl2-renamed
both setfattr -n user.dir -v 'on dir' d1
both setfattr -n trusted.t -v 'trusted' hl2-renamed
both setfattr -n user.big -v "$(head -c 4000 /dev/zero | tr '\0' 'q')" rw
assert_eq hello "$(getfattr --only-values -n user.a "$T/hl2-renamed")" "xattr value"
both setfattr -n user.a -v replaced hl2-renamed
assert_eq replaced "$(getfattr --only-values -n user.a "$T/hl2-renamed")" "xattr value after replace"
both setfattr -x user.bin hl2-renamed
must_fail "No such attribute" getfattr -n user.bin hl2-renamed
must_fail "No such attribute" setfattr -x user.never-set hl2-renamed
py '
import errno, os, sys
p = sys.argv[1]
try:
    os.setxattr(p, "user.a", b"x", os.XATTR_CREATE); sys.exit("XATTR_CREATE on an existing name succeeded")
except OSError as e:
    assert e.errno == errno.EEXIST, e
try:
    os.setxattr(p, "user.nope", b"x", os.XATTR_REPLACE); sys.exit("XATTR_REPLACE on a missing name succeeded")
except OSError as e:
    assert e.errno == errno.ENODATA, e
names = sorted(os.listxattr(p))
assert names == ["trusted.t", "user.a"], names
' "$T/hl2-renamed" || fail "xattr flags or listing"

# --- special files ----------------------------------------------------------------
both mkfifo fifo
assert_eq "fifo" "$(stat -c %F "$T/fifo")" "type of a fifo"
(echo through-fifo >"$T/fifo" &)
assert_eq through-fifo "$(cat "$T/fifo")" "data through a fifo on the mount"
both mknod chardev c 1 3
both mknod blockdev b 7 200
assert_eq "1,3" "$(stat -c '%t,%T' "$T/chardev")" "device numbers"

# --- a file deleted while open ------------------------------------------------------
py '
import os, sys
d = sys.argv[1]
p = os.path.join(d, "unlinked-open")
with open(p, "w+b") as f:
    f.write(b"A" * 300000)
    f.flush()
    os.unlink(p)
    assert not os.path.exists(p), "still visible after unlink"
    f.seek(0)
    assert f.read() == b"A" * 300000, "content lost after unlink"
    f.write(b"B" * 1000)
    f.flush()
    f.seek(299990)
    assert f.read() == b"A" * 10 + b"B" * 1000, "write after unlink lost"
    assert os.fstat(f.fileno()).st_nlink == 0, "nlink of an unlinked open file"
    hidden = [n for n in os.listdir(d) if n.startswith(".fuse_hidden")]
    assert not hidden, hidden
    with open(p, "w") as g:
        g.write("a new file of the same name")
    f.seek(0)
    assert f.read(3) == b"AAA", "old descriptor sees the new file"
' "$T" || fail "file deleted while open"
echo -n "a new file of the same name" >"$REF/unlinked-open"
[ -z "$(find "$MNT" -name '.fuse_hidden*')" ] || fail ".fuse_hidden files left"

# --- names and paths ----------------------------------------------------------------
n255=$(printf 'n%.0s' $(seq 1 255))
both touch "$n255"
[ -e "$T/$n255" ] || fail "255-byte name missing"
ls "$T" | grep -qx "$n255" || fail "255-byte name not listed"
must_fail "File name too long" touch "${n255}x"
must_fail "File name too long" mkdir "${n255}x"
# A path of exactly 4095 bytes below the mount root (outside $T: the tree
# comparisons name files by paths that would pass PATH_MAX).
deep_path() {
	py '
import os, sys
mode = sys.argv[2]
os.chdir(sys.argv[1])
comp = "p" * 200
total = len("deep")
if mode == "make":
    os.mkdir("deep")
os.chdir("deep")
while total + 1 + len(comp) + 1 + 40 <= 4095:
    if mode == "make":
        os.mkdir(comp)
    os.chdir(comp)
    total += 1 + len(comp)
name = "f" * (4095 - total - 1)
if mode == "make":
    with open(name, "w") as f:
        f.write("deep")
with open(name) as f:
    assert f.read() == "deep", "content at the deep path"
print(total + 1 + len(name))
' "$MNT" "$1"
}
assert_eq 4095 "$(deep_path make)" "length of the deep path"

# --- flock ---------------------------------------------------------------------------
both sh -c 'echo lock >lockfile'
py '
import fcntl, subprocess, sys
p = sys.argv[1]
with open(p) as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    r = subprocess.run(["flock", "-n", "-x", p, "true"])
    assert r.returncode != 0, "a second exclusive flock succeeded while held"
    fcntl.flock(f, fcntl.LOCK_UN)
    r = subprocess.run(["flock", "-n", "-x", p, "true"])
    assert r.returncode == 0, "flock failed after unlock"
' "$T/lockfile" || fail "flock"

# --- mmap writes, fsync ---------------------------------------------------------------
both cp "$VF_TMP/base" mm
py '
import mmap, os, sys
for p in sys.argv[1:]:
    with open(p, "r+b") as f:
        m = mmap.mmap(f.fileno(), 0)
        m[10:20] = b"0123456789"
        m[4 << 20:(4 << 20) + 5] = b"MMAP!"
        m.flush()
        m.close()
' "$REF/mm" "$T/mm" || fail "mmap write"
cmp "$REF/mm" "$T/mm" || fail "mmap writes: contents differ"
py '
import os, sys
p = sys.argv[1]
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"durable\n"); os.fsync(fd); os.write(fd, b"more\n"); os.fdatasync(fd); os.close(fd)
dfd = os.open(os.path.dirname(p), os.O_RDONLY | os.O_DIRECTORY); os.fsync(dfd); os.close(dfd)
' "$T/synced" || fail "fsync/fdatasync"
printf 'durable\nmore\n' >"$REF/synced"

# --- statfs ------------------------------------------------------------------------------
df -P "$MNT" >"$VF_TMP/df" || fail "df on the mount failed"
[ "$(stat -f -c %b "$MNT")" -gt 0 ] || fail "statfs reports 0 blocks"
[ "$(stat -f -c %l "$MNT")" -ge 255 ] || fail "statfs name length below 255"

compare_ref
save_tree "$T" before
nl_tree=$(stat -c %h "$T/tree")
ino=$(stat -c %i "$T/hl2-renamed")

# --- again after a remount ------------------------------------------------------------------
vf_remount
check_tree "$T" before
compare_ref
assert_eq "$nl_tree" "$(stat -c %h "$T/tree")" "directory link count after remount"
assert_eq 2 "$(stat -c %h "$T/hl2-renamed")" "hard link count after remount"
assert_eq "$(stat -c %i "$T/hldir/hl3")" "$(stat -c %i "$T/hl2-renamed")" "hard links share an inode after remount"
assert_eq '2012-02-02 00:00:00.250000000 +0000' "$(TZ=UTC stat -c %y "$T/times")" "mtime after remount"
assert_eq 4095 "$(deep_path read)" "the 4095-byte path after remount"
[ -z "$(find "$MNT" -name '.fuse_hidden*')" ] || fail ".fuse_hidden files after remount"
vf_umount
