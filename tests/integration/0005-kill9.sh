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
mkdir -p "$SRC"
find /usr/include -type f -size -64k | head -n 2500 >"$VF_TMP/small.list"
i=0
while IFS= read -r f; do
	i=$((i + 1))
	d=$SRC/d$((i / 100))
	[ -d "$d" ] || mkdir "$d"
	cp -p "$f" "$d/$i-$(basename "$f")"
	if [ $((i % 100)) = 0 ]; then
		head -c $((2 * 1024 * 1024 + i)) /dev/urandom >"$d/big-$i"
	fi
done <"$VF_TMP/small.list"
(cd "$SRC" && find . -type f | sort) >"$VF_TMP/all.list"
log "source: $(wc -l <"$VF_TMP/all.list") files, $(du -sh "$SRC" | cut -f1)"

vf_init
vf_mount

# A file with a committed version, then overwritten in place without a close.
head -c $((3 * 1024 * 1024)) /dev/urandom >"$VF_TMP/v1"
cp "$VF_TMP/v1" "$MNT/inflight"
"$PYTHON" -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
junk = os.urandom(1 << 20)
os.write(int(sys.argv[2]), b"open\n")
while True:
    for off in range(0, 3 << 20, 1 << 20):
        os.pwrite(fd, junk, off)
' "$MNT/inflight" 1 >"$VF_TMP/inflight.started" 2>/dev/null &
writer=$!

# The copy: one cp per file, each logged once cp has returned.
DONE=$VF_TMP/done.list
: >"$DONE"
(
	cd "$SRC"
	while IFS= read -r f; do
		mkdir -p "$MNT/copy/$(dirname "$f")" 2>/dev/null || exit 0
		cp -a "$f" "$MNT/copy/$f" 2>/dev/null || exit 0
		echo "$f" >>"$DONE"
	done <"$VF_TMP/all.list"
) &
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
bad=0
while IFS= read -r f; do
	if ! cmp -s "$SRC/$f" "$MNT/copy/$f"; then
		echo "damaged or missing after kill -9: $f" >&2
		bad=$((bad + 1))
	fi
done <"$DONE"
[ "$bad" = 0 ] || fail "$bad of $ndone completed files are not intact"
# Their metadata as well (cp -a returned, so it was all set).
while IFS= read -r f; do
	[ "$(stat -c '%a %u %g %Y' "$SRC/$f")" = "$(stat -c '%a %u %g %Y' "$MNT/copy/$f")" ] ||
		fail "metadata of $f differ after kill -9"
done < <(head -n 200 "$DONE")
# The file being copied at the kill: absent, empty or complete, never partial.
next=$(comm -23 <(sort "$VF_TMP/all.list") <(sort "$DONE") | head -n 0)
while IFS= read -r f; do
	[ -e "$MNT/copy/$f" ] || continue
	sz=$(stat -c %s "$MNT/copy/$f")
	[ "$sz" = 0 ] || cmp -s "$SRC/$f" "$MNT/copy/$f" ||
		fail "$f, in flight at the kill, is partial ($sz bytes)"
done < <(comm -23 <(sort "$VF_TMP/all.list") <(sort "$DONE"))
cmp "$VF_TMP/v1" "$MNT/inflight" || fail "a file written in place without a close is not at its last committed version"

out=$("$VAULTCTL" check "$MNT" --read-data 2>&1) || fail "vaultctl check --read-data after kill -9: $out"
# The vault takes writes again, and the copy can be finished.
(cd "$SRC" && cp -a . "$MNT/copy/") || fail "finishing the copy after remount failed"
same_tree "$SRC" "$MNT/copy"
vf_umount
out=$("$VAULTCTL" check "$VAULT" --keystore "$KS" --read-data 2>&1) ||
	fail "offline vaultctl check --read-data after kill -9: $out"
