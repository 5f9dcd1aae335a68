#!/usr/bin/env bash
# 0012-writeback: the same guarantees with -o writeback_cache, where the
# kernel caches writes and keeps the file times itself: a fixture tree
# copied with cp -a round-trips (times included) through a remount, random
# in-place writes and mmap writes land, appends keep their order, and a
# file's mtime as the kernel showed it is the one stored.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

vf_init
vf_mount writeback_cache

SRC=$VF_TMP/src
mkdir "$SRC"
make_fixture_tree "$SRC/fixture" acl
cp -a "$SRC/fixture" "$MNT/fixture"
same_tree "$SRC/fixture" "$MNT/fixture"

# random writes, compared with the same writes on a local copy
head -c 3000000 /dev/urandom >"$VF_TMP/r"
cp "$VF_TMP/r" "$MNT/r"
for off in 17 123457 2999990 1048576; do
	printf 'patch-%s' "$off" | dd of="$VF_TMP/r" bs=1 seek="$off" conv=notrunc status=none
	printf 'patch-%s' "$off" | dd of="$MNT/r" bs=1 seek="$off" conv=notrunc status=none
done
cmp "$VF_TMP/r" "$MNT/r" || fail "random writes differ"

# mmap writes and appends
/usr/bin/python3 - "$MNT/m" "$VF_TMP/m" <<'PY'
import mmap, os, sys
for p in sys.argv[1:]:
    with open(p, "wb") as f:
        f.truncate(1 << 20)
    with open(p, "r+b") as f:
        m = mmap.mmap(f.fileno(), 0)
        for i in range(0, 1 << 20, 4096):
            m[i:i + 8] = b"mmap%04d" % (i // 4096 % 10000)
        m.flush()
        m.close()
    for i in range(100):
        with open(p, "ab") as f:
            f.write(b"line %d\n" % i)
PY
cmp "$VF_TMP/m" "$MNT/m" || fail "mmap writes or appends differ"

save_tree "$MNT" before
vf_remount writeback_cache
check_tree "$MNT" before
cmp "$VF_TMP/r" "$MNT/r" || fail "random writes lost at remount"
vf_umount
"$VAULTCTL" check "$VAULT" --keystore "$KS" --read-data >/dev/null ||
	fail "check --read-data failed"
