#!/usr/bin/env bash
# 0065-backup-roles-kill9: vaultctl backup (docs/backup.md) as users with
# setpriv: no role is refused; an Operator's --delete is refused with one
# line and deletes nothing; an Operator's backup without --delete works
# into a directory it may write, not into one it may not (and with 1,500
# empty directories under an open-file limit of 32); a source file
# the caller cannot read is reported (one line) and not stored - the
# daemon, root, never reads it for them.  Then kill -9 of the daemon in
# the middle of a backup of 3,000 small files: after a remount every file
# the command had reported committed is there and whole, any other is
# absent, empty (created, not yet closed) or whole; check --read-data
# passes; a rerun completes.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

U_NONE=5001 U_OP=5003 U_CON=5004
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
chmod 711 "$VF_TMP"

vf_init
vf_mount
"$VAULTCTL" role grant "$MNT" operator "user:$U_OP" >/dev/null || fail "role grant"
mkdir -p "$MNT/op/b" "$MNT/rootdir"
chown "$U_OP:$U_OP" "$MNT/op" "$MNT/op/b"
printf 'keep\n' >"$MNT/op/b/keep"

U=$VF_TMP/usrc
mkdir -p "$U/d"
printf 'mine\n' >"$U/d/mine"
printf 'secret\n' >"$U/secret"
chown -R "$U_OP:$U_OP" "$U"
chown 0:0 "$U/secret"
chmod 600 "$U/secret"
chmod 755 "$U"

# No role: refused up front, one line.
refused "no role" "needs the Operator role" as "$U_NONE" "$VAULTCTL" backup "$U" "$MNT/op/a"
[ "$(as "$U_NONE" "$VAULTCTL" backup "$U" "$MNT/op/a" 2>&1 | wc -l)" = 1 ] || fail "no role: not one line"
[ ! -e "$MNT/op/a" ] || fail "a refused backup made its destination"

# Operator with --delete: one line, nothing deleted.
out=$(as "$U_OP" "$VAULTCTL" backup "$U" "$MNT/op/b" --delete 2>&1) && fail "Operator --delete was accepted: $out"
assert_eq "vaultctl: backup: --delete needs the Contributor role (you have operator): nothing was changed" "$out" "Operator --delete"
assert_eq keep "$(cat "$MNT/op/b/keep")" "kept after a refused --delete"
[ ! -e "$MNT/op/b/d" ] || fail "a refused --delete stored files"

# Operator without --delete: stored, the unreadable file reported and absent.
rc=0
out=$(as "$U_OP" "$VAULTCTL" backup "$U" "$MNT/op/c" 2>&1) || rc=$?
assert_eq 1 "$rc" "exit status with an unreadable file"
assert_eq 1 "$(grep -c 'secret: Permission denied (not backed up)' <<<"$out")" "unreadable file line: $out"
assert_eq mine "$(cat "$MNT/op/c/d/mine")" "Operator's file"
[ ! -e "$MNT/op/c/secret" ] || fail "a file the caller cannot read was stored"
assert_eq "$U_OP" "$(stat -c %u "$MNT/op/c/d/mine")" "owner of the Operator's file"

# Attack: a client of its own passes an O_PATH descriptor (which needs no
# read permission) of the root-only file as a file to store: refused, the
# daemon reads nothing for it.
out=$(as "$U_OP" "$PYTHON" -c '
import hashlib, os, socket, struct, sys
mnt, dest, secret = sys.argv[1:]
path = "/run/vaultfs/%s.sock" % hashlib.blake2b(os.path.realpath(mnt).encode(), digest_size=16).hexdigest()
s = socket.socket(socket.AF_UNIX)
s.connect(path)
argv = [b"ingest", mnt.encode(), dest.encode()]
s.sendall(struct.pack("<I", len(argv)) + b"".join(struct.pack("<I", len(a)) + a for a in argv))
def frame():
    h = b""
    while len(h) < 5:
        h += s.recv(5 - len(h))
    n = struct.unpack("<I", h[1:])[0]
    b = b""
    while len(b) < n:
        b += s.recv(n - len(b))
    return h[0], b
def until(kind):
    while True:
        k, b = frame()
        if k == 2:
            sys.stdout.write(b.decode())
        if k == kind:
            return b
until(5)
fd = os.open(secret, os.O_PATH)
socket.send_fds(s, [b"F" + struct.pack("<I", 7) + b"stolen\0"], [fd])
s.sendall(b"B" + struct.pack("<I", 0))
until(5)
s.sendall(b"E" + struct.pack("<I", 0))
until(3)
' "$MNT" /op/atk "$U/secret" 2>&1) || fail "attack client: $out"
assert_eq 1 "$(grep -c 'stolen: not a regular file open for reading' <<<"$out")" "O_PATH descriptor refused: $out"
[ ! -e "$MNT/op/atk/stolen" ] || fail "the daemon stored a file through an O_PATH descriptor"

# A destination the Operator may not write (root's, 0755): refused.
refused "unwritable destination" "Permission denied" as "$U_OP" "$VAULTCTL" backup "$U" "$MNT/rootdir/x"
[ ! -e "$MNT/rootdir/x" ] || fail "backup wrote into a directory the caller may not write"

# What the kernel would refuse through the mount, refused here too: a
# root-owned file the Operator may not write is not overwritten; the mode
# of a root-only file is not changed through an "unchanged" source file
# (same size and time, mode 0644); in a sticky directory a Contributor's
# --delete removes nobody else's files.
"$VAULTCTL" role grant "$MNT" contributor "user:$U_CON" >/dev/null || fail "role grant contributor"
S=$MNT/op/shared
mkdir "$S" && chmod 1777 "$S"
printf 'root\n' >"$S/rootfile"
printf 's3cr3t\n' >"$S/secret2" && chmod 600 "$S/secret2"
printf 'other\n' >"$S/other" && chown 5005:5005 "$S/other"
A=$VF_TMP/atk2 && mkdir -p "$A"
printf 'mine!\n' >"$A/rootfile"
printf 'public\n' >"$A/secret2" && chmod 644 "$A/secret2" && touch -r "$S/secret2" "$A/secret2"
chown -R "$U_OP:$U_OP" "$A"
as "$U_OP" "$VAULTCTL" backup "$A" "$S" >"$VF_TMP/atk2.out" 2>&1 && fail "overwrite of root's file accepted: $(cat "$VF_TMP/atk2.out")"
grep -q "rootfile: open: Permission denied" "$VF_TMP/atk2.out" || fail "no line for the refused overwrite: $(cat "$VF_TMP/atk2.out")"
assert_eq root "$(cat "$S/rootfile")" "root's file after an Operator's backup over it"
assert_eq 600 "$(stat -c %a "$S/secret2")" "mode of root's file after an unchanged-looking source"
E=$VF_TMP/empty && mkdir -p "$E" && chown "$U_CON:$U_CON" "$E"
as "$U_CON" "$VAULTCTL" backup "$E" "$S" --delete >"$VF_TMP/atk3.out" 2>&1 && fail "sticky --delete accepted: $(cat "$VF_TMP/atk3.out")"
for f in rootfile secret2 other; do
	[ -e "$S/$f" ] || fail "a Contributor's --delete removed $f from a sticky directory"
done

# Many empty directories (two descriptors each, no file): the descriptors
# in flight stay under the user's open-file limit (32 here).
M=$VF_TMP/many
mkdir -p "$M" && (cd "$M" && seq -w 1 1500 | xargs mkdir)
chown -R "$U_OP:$U_OP" "$M"
out=$(as "$U_OP" sh -c 'ulimit -n 32 && exec "$@"' sh "$VAULTCTL" backup "$M" "$MNT/op/many" 2>&1) ||
	fail "Operator's backup of 1500 directories: $out"
assert_eq 1500 "$(find "$MNT/op/many" -mindepth 1 -type d | wc -l)" "directories stored"

# ---- kill -9 in the middle ----------------------------------------------------
B=$VF_TMP/big
"$PYTHON" -c '
import os, random, sys
rnd = random.Random(65)
for i in range(3000):
    d = os.path.join(sys.argv[1], "d%02d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(rnd.randbytes(rnd.randrange(0, 8000)))
' "$B"
"$VAULTCTL" backup "$B" "$MNT/big" 2>"$VF_TMP/big.err" >"$VF_TMP/big.out" &
client=$!
i=0
until [ "$(find "$MNT/big" -type f 2>/dev/null | wc -l)" -ge 600 ]; do
	i=$((i + 1))
	[ "$i" -lt 3000 ] || fail "backup made no progress"
	pid_running "$client" || fail "backup ended before the kill: $(cat "$VF_TMP/big.out" "$VF_TMP/big.err")"
	sleep 0.05
done
vf_kill9
rc=0
wait "$client" || rc=$?
assert_eq 1 "$rc" "backup's exit status after kill -9"
committed=$(sed -n 's/.*reported committed (\([0-9]*\) files).*/\1/p' "$VF_TMP/big.err")
[ -n "$committed" ] || fail "no committed count: $(cat "$VF_TMP/big.err")"
vf_mount
"$PYTHON" -c '
import os, sys
src, dst, committed = sys.argv[1], sys.argv[2], int(sys.argv[3])
# The files the command reported committed are the first ones of its
# walk: depth first, each directory in readdir order (os.scandir).
order = []
def walk(rel):
    for e in os.scandir(os.path.join(src, rel)):
        r = os.path.join(rel, e.name) if rel else e.name
        if e.is_dir(follow_symlinks=False):
            walk(r)
        else:
            order.append(r)
walk("")
def data(p):
    with open(p, "rb") as f:
        return f.read()
bad = n = 0
for i, r in enumerate(order):
    d = os.path.join(dst, r)
    if not os.path.lexists(d):
        if i < committed:
            print("reported committed, missing after kill -9: " + d, file=sys.stderr); bad += 1
        continue
    n += 1
    same = data(os.path.join(src, r)) == data(d)
    if i < committed and not same:
        print("reported committed, damaged after kill -9: " + d, file=sys.stderr); bad += 1
    elif not same and os.path.getsize(d):
        print("partial file after kill -9: " + d, file=sys.stderr); bad += 1
print("%d files there (others empty or whole), %d reported committed" % (n, committed), file=sys.stderr)
sys.exit(1 if bad else 0)
' "$B" "$MNT/big" "$committed" || fail "files lost or damaged after kill -9"
out=$("$VAULTCTL" check "$MNT" --read-data 2>&1) || fail "check --read-data after kill -9: $out"
out=$("$VAULTCTL" backup "$B" "$MNT/big") || fail "rerun after kill -9: $out"
log "rerun: $out"
same_tree "$B" "$MNT/big"
vf_umount
