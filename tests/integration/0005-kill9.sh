#!/usr/bin/env bash
# 0005-kill9: kill -9 the daemon in the middle of a copy.  After a remount,
# every file whose cp returned is intact, the file that was open for writing
# is at its last committed version (never a mix), and `vaultctl check
# --read-data` passes.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

# Source: real small files interleaved with multi-chunk random ones, so that
# the kill is likely to land inside a file.
SRC=$VF_TMP/src
"$PYTHON" -c '
import os, shutil, sys
src = sys.argv[1]
n = 0
for top, dirs, files in os.walk("/usr/include"):
    dirs.sort()
    for f in sorted(files):
        p = os.path.join(top, f)
        if os.path.islink(p) or os.path.getsize(p) >= 65536:
            continue
        n += 1
        d = os.path.join(src, "d%02d" % (n // 100))
        os.makedirs(d, exist_ok=True)
        shutil.copy2(p, os.path.join(d, "%04d-%s" % (n, f)))
        if n % 100 == 0:
            with open(os.path.join(d, "big-%d" % n), "wb") as o:
                o.write(os.urandom(2 * 1024 * 1024 + n))
        if n >= 2500:
            sys.exit(0)
' "$SRC"
(cd "$SRC" && find . -type f -printf '%P\n' | sort) >"$VF_TMP/all.list"
log "source: $(wc -l <"$VF_TMP/all.list") files, $(du -sh "$SRC" | cut -f1)"

vf_init
vf_mount

# A file with a committed version, then overwritten in place without a close.
head -c $((3 * 1024 * 1024)) /dev/urandom >"$VF_TMP/v1"
cp "$VF_TMP/v1" "$MNT/inflight"
"$PYTHON" -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY)
junk = os.urandom(1 << 20)
os.write(int(sys.argv[2]), b"open\n")
while True:
    for off in range(0, 3 << 20, 1 << 20):
        os.pwrite(fd, junk, off)
    time.sleep(0.05)
' "$MNT/inflight" 1 >"$VF_TMP/inflight.started" 2>/dev/null &
writer=$!

# The copy: cp -a of a few files at a time, each logged once its cp has
# returned.
DONE=$VF_TMP/done.list
: >"$DONE"
mkdir "$MNT/copy"
(cp_logged "$SRC" "$MNT/copy" "$DONE") &
copier=$!

# Kill once a good part of the copy is done (polling progress, not timing).
total=$(wc -l <"$VF_TMP/all.list")
i=0
until [ "$(wc -l <"$DONE")" -ge $((total / 3)) ]; do
	i=$((i + 1))
	[ "$i" -lt 3000 ] || fail "copy made no progress: $(wc -l <"$DONE") files in 300 s"
	pid_running "$copier" || fail "copy ended early after $(wc -l <"$DONE") files"
	sleep 0.1
done
grep -q open "$VF_TMP/inflight.started" || fail "the in-place writer did not start"
vf_kill9
wait "$copier" 2>/dev/null || true
kill -9 "$writer" 2>/dev/null || true
wait "$writer" 2>/dev/null || true
ndone=$(wc -l <"$DONE")
log "daemon killed after $ndone of $total files"
[ "$ndone" -lt "$total" ] || fail "the copy finished before the kill; nothing tested"

vf_mount
# Every file whose cp returned: content and metadata intact.  The files not
# logged (the one in flight at the kill): absent, empty or complete, never
# partial.
"$PYTHON" -c '
import os, sys
src, dst, all_list, done_list = sys.argv[1:]
done = open(done_list).read().split("\n")[:-1]
rest = sorted(set(open(all_list).read().split("\n")[:-1]) - set(done))
bad = 0
def same(a, b):
    with open(a, "rb") as x, open(b, "rb") as y:
        return x.read() == y.read()
for f in done:
    s, d = os.path.join(src, f), os.path.join(dst, f)
    try:
        st, dt = os.lstat(s), os.lstat(d)
    except OSError as e:
        print("missing after kill -9: %s (%s)" % (f, e.strerror), file=sys.stderr); bad += 1; continue
    if not same(s, d):
        print("content damaged after kill -9: " + f, file=sys.stderr); bad += 1
    m = lambda t: (t.st_mode, t.st_uid, t.st_gid, t.st_mtime_ns)
    if m(st) != m(dt):
        print("metadata differ after kill -9: %s %s %s" % (f, m(st), m(dt)), file=sys.stderr); bad += 1
for f in rest:
    d = os.path.join(dst, f)
    if os.path.exists(d) and os.path.getsize(d) and not same(os.path.join(src, f), d):
        print("partial file after kill -9: %s (%d bytes)" % (f, os.path.getsize(d)), file=sys.stderr); bad += 1
print("%d completed files intact, %d others absent, empty or complete" % (len(done), len(rest)), file=sys.stderr)
sys.exit(1 if bad else 0)
' "$SRC" "$MNT/copy" "$VF_TMP/all.list" "$DONE" || fail "files damaged by kill -9 (above)"
cmp "$VF_TMP/v1" "$MNT/inflight" || fail "a file written in place without a close is not at its last committed version"

out=$("$VAULTCTL" check "$MNT" --read-data 2>&1) || fail "vaultctl check --read-data after kill -9: $out"
# The vault takes writes again, and the copy can be finished.
(cd "$SRC" && cp -a . "$MNT/copy/") || fail "finishing the copy after remount failed"
same_tree "$SRC" "$MNT/copy"
vf_umount
out=$("$VAULTCTL" check "$VAULT" --keystore "$KS" --read-data 2>&1) ||
	fail "offline vaultctl check --read-data after kill -9: $out"
