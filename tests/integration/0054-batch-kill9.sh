#!/usr/bin/env bash
# 0054-batch-kill9: the create, the xattrs and the attribute changes a
# copier makes to the file it is writing are committed with its close,
# in one transaction (docs/performance.md).  kill -9 of the daemon while
# two writers run at once -- `cp -a` of small files with xattrs, and a
# writer that does what cp -a does on one descriptor (create, write,
# fsetxattr, a refused XATTR_CREATE, fchown, fchmod, futimens) and logs a
# file only after its close returned -- then a remount: every logged file
# is there byte-identical with its xattrs, mode, owner and mtime; a file
# not logged is absent or whole, never partial; `vaultctl check
# --read-data` passes.  The daemon's counters show at most about one
# transaction per file, or the batching this test guards has gone.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

N=${VF_0054_FILES:-2000}
SRC=$VF_TMP/src
"$PYTHON" -c '
import os, random, sys
src, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(54)
for i in range(n):
    d = os.path.join(src, "d%02d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "f%05d" % i)
    with open(p, "wb") as f:
        f.write(rnd.randbytes(rnd.randrange(0, 6000)))
    os.setxattr(p, "user.tag", b"t%d" % i)
    if i % 3 == 0:
        os.setxattr(p, "user.more", rnd.randbytes(40))
    os.chmod(p, rnd.choice([0o600, 0o640, 0o644, 0o755, 0o4755]))
    os.utime(p, ns=(1600000000 * 10**9 + i, 1500000000 * 10**9 + i * 1000))
' "$SRC" "$N"
(cd "$SRC" && find . -type f -printf '%P\n' | sort) >"$VF_TMP/all.list"
log "source: $(wc -l <"$VF_TMP/all.list") files with xattrs, $(du -sh "$SRC" | cut -f1)"

vf_init
vf_mount "stats=$VF_TMP/stats"

# Writer 1: cp -a a few files at a time, logged once cp returned.
CPDONE=$VF_TMP/cp.done
: >"$CPDONE"
mkdir "$MNT/cp"
(cp_logged "$SRC" "$MNT/cp" "$CPDONE") &
copier=$!

# Writer 2: one file at a time on one descriptor, as cp -a does, with
# a refused XATTR_CREATE in the middle (it must undo itself only, not
# the file's pending create); logged after close.  It goes round the
# source (py/rN/...) until the daemon dies.
PYDONE=$VF_TMP/py.done
: >"$PYDONE"
mkdir "$MNT/py"
"$PYTHON" -c '
import errno, os, sys
src, dst, all_list, done = sys.argv[1:]
log = open(done, "a", buffering=1)
files = open(all_list).read().split()
for r in range(1000):
    for rel in files:
        s = os.path.join(src, rel)
        name = "r%d/%s" % (r, rel)
        d = os.path.join(dst, name)
        try:
            os.makedirs(os.path.dirname(d), exist_ok=True)
            st = os.lstat(s)
            fd = os.open(d, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(s, "rb") as f:
                os.write(fd, f.read())
            for x in os.listxattr(s):
                os.setxattr(fd, x, os.getxattr(s, x))
            try:
                os.setxattr(fd, "user.tag", b"x", os.XATTR_CREATE)
                print("XATTR_CREATE over an existing name succeeded: " + d, file=sys.stderr)
                sys.exit(3)
            except OSError as e:
                if e.errno != errno.EEXIST:
                    raise
            os.fchown(fd, 4321, 4322)
            os.fchmod(fd, st.st_mode & 0o7777)
            os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
            os.close(fd)
        except OSError:
            sys.exit(0)
        log.write(name + "\n")
' "$SRC" "$MNT/py" "$VF_TMP/all.list" "$PYDONE" &
pywriter=$!

total=$(wc -l <"$VF_TMP/all.list")
i=0
until [ "$(wc -l <"$CPDONE")" -ge $((total / 3)) ] && [ "$(wc -l <"$PYDONE")" -ge $((total / 3)) ]; do
	i=$((i + 1))
	[ "$i" -lt 3000 ] || fail "copy made no progress: $(wc -l <"$CPDONE") + $(wc -l <"$PYDONE") files in 300 s"
	pid_running "$copier" || fail "cp -a ended early after $(wc -l <"$CPDONE") files"
	pid_running "$pywriter" || fail "the writer ended early after $(wc -l <"$PYDONE") files"
	sleep 0.1
done
vf_kill9
wait "$copier" 2>/dev/null || true
wait "$pywriter" 2>/dev/null || rc=$?
[ "${rc:-0}" -ne 3 ] || fail "a refused XATTR_CREATE was accepted"
log "daemon killed after $(wc -l <"$CPDONE") files of $total (cp -a) and $(wc -l <"$PYDONE") (the writer)"
[ "$(wc -l <"$CPDONE")" -lt "$total" ] || fail "cp -a finished before the kill; nothing tested"

vf_mount "stats=$VF_TMP/stats2"
verify() { # DST DONE-LIST OWNER STRIP
	"$PYTHON" -c '
import os, sys
src, dst, done_list, owner, strip = sys.argv[1:]
strip = int(strip)
done = open(done_list).read().split()
def source(rel):
    return os.path.join(src, *rel.split("/")[strip:])
seen = []
for top, dirs, files in os.walk(dst):
    seen += [os.path.relpath(os.path.join(top, f), dst) for f in files]
rest = sorted(set(seen) - set(done))
bad = 0
def data(p):
    with open(p, "rb") as f:
        return f.read()
def xattrs(p):
    return {n: os.getxattr(p, n) for n in os.listxattr(p) if n.startswith("user.")}
for f in done:
    s, d = source(f), os.path.join(dst, f)
    try:
        st, dt = os.lstat(s), os.lstat(d)
    except OSError as e:
        print("missing after kill -9: %s (%s)" % (d, e.strerror), file=sys.stderr); bad += 1; continue
    if data(s) != data(d):
        print("content damaged after kill -9: " + d, file=sys.stderr); bad += 1
    if xattrs(s) != xattrs(d):
        print("xattrs differ after kill -9: %s %s %s" % (d, xattrs(s), xattrs(d)), file=sys.stderr); bad += 1
    uid, gid = (st.st_uid, st.st_gid) if owner == "same" else map(int, owner.split(":"))
    want = (st.st_mode, uid, gid, st.st_mtime_ns)
    got = (dt.st_mode, dt.st_uid, dt.st_gid, dt.st_mtime_ns)
    if want != got:
        print("metadata differ after kill -9: %s %s %s" % (d, want, got), file=sys.stderr); bad += 1
for f in rest:
    d = os.path.join(dst, f)
    if os.path.getsize(d) and data(source(f)) != data(d):
        print("partial file after kill -9: %s (%d bytes)" % (d, os.path.getsize(d)), file=sys.stderr); bad += 1
print("%s: %d closed files intact, %d others present, empty or whole" % (dst, len(done), len(rest)), file=sys.stderr)
sys.exit(1 if bad else 0)
' "$SRC" "$1" "$2" "$3" "$4"
}
verify "$MNT/cp" "$CPDONE" same 0 || fail "files copied by cp -a damaged by kill -9 (above)"
verify "$MNT/py" "$PYDONE" 4321:4322 1 || fail "files of the writer damaged by kill -9 (above)"

out=$("$VAULTCTL" check "$MNT" --read-data 2>&1) || fail "vaultctl check --read-data after kill -9: $out"

# The batching itself: a cp -a of the whole source into a fresh
# directory, with the daemon's own counters around it.
vf_umount
vf_mount "stats=$VF_TMP/stats3"
cp -a "$SRC" "$MNT/again"
same_tree "$SRC" "$MNT/again"
vf_umount
tx=$(awk '$1 == "transactions" {print $2}' "$VF_TMP/stats3")
[ -n "$tx" ] || fail "-o stats has no transactions line"
log "cp -a of $total files: $tx catalog transactions"
# One per file, plus the directories (mkdir, and the attributes cp -a
# sets on each afterwards, about 5 for 100 files here) and the mount's
# and unmount's own: within a tenth of the file count.  Without the
# batching it is three per file.
[ "$tx" -le $((total + total / 10)) ] ||
	fail "cp -a of $total files took $tx catalog transactions (more than one per file)"
