#!/usr/bin/env bash
# 0055-output: output a person can read and a script can parse, progress on
# long work, snapshots by tag, remount ro/rw (docs/output.md).
#   - status: live, history, soft-deleted and stored apart, human sizes by
#     default, --bytes/-p exact and equal to --json; the ratio is all kept
#     content over stored (not live over stored, which a deletion sinks)
#   - tables: a header by default, -H no header and tabs, -p exact sizes
#   - progress: a line redrawn with \r and erased at the end on a
#     pseudo-terminal (script -qc), nothing when piped, --progress and
#     --no-progress force it, JSON events with --json parse one per line;
#     for check --read-data and gc (run by the daemon) and restore (run by
#     vaultctl); a user with no role and a stolen Operator get the refusal
#     and no progress
#   - .snapshots/TAG and restore --at TAG; an unknown tag fails with one
#     line; a user with no role sees no tagged view
#   - mount -o remount,ro and back (mount(8) through
#     /sbin/mount.fuse.vaultfs in a private mount namespace, and the helper
#     by hand); not root, or not a vaultfs mount: refused, exit 32
#   - the key hint names the option as the program that prints it spells it
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

command -v script >/dev/null || skip "script (bsdutils) is not installed"
command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"

json_field() { "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# one line on stderr, exit status $2
one_line() {
	local what=$1 want=$2 pat=$3 rc=0 out
	shift 3
	out=$("$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" = "$want" ] || fail "$what: expected exit $want, got $rc ($out)"
	[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "$what: expected one line, got: $out"
	case $out in *$pat*) ;; *) fail "$what: expected '$pat' in: $out" ;; esac
}

chmod 0711 "$VF_TMP" # other uids reach the mount below
vf_init
vf_mount
"$VAULTCTL" role grant "$MNT" operator user:5501 >/dev/null

# ---- data: live files, history, a soft-deleted tree --------------------------
mkdir "$MNT/tree" "$MNT/gone"
for i in $(seq 1 60); do head -c $((32 * 1024)) /dev/urandom >"$MNT/tree/f$i"; done
head -c $((3 * 1024 * 1024)) /dev/urandom >"$MNT/big"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$MNT/gone/a"
head -c $((1024 * 1024)) /dev/urandom >"$MNT/over"
sleep 1.1
head -c $((1024 * 1024)) /dev/urandom >"$MNT/over" # the first is history now
rm -r "$MNT/gone"

# ---- status ------------------------------------------------------------------
"$VAULTCTL" status "$MNT" >"$VF_TMP/st.txt"
"$VAULTCTL" status "$MNT" --bytes >"$VF_TMP/st.bytes"
"$VAULTCTL" status "$MNT" -p >"$VF_TMP/st.p"
"$VAULTCTL" status "$MNT" --json >"$VF_TMP/st.json"
cat "$VF_TMP/st.txt" >&2
assert_eq "$(cat "$VF_TMP/st.bytes")" "$(cat "$VF_TMP/st.p")" "status -p and --bytes"
grep -q "logical/stored" "$VF_TMP/st.txt" && fail "status still shows the logical/stored ratio"
"$PYTHON" - "$VF_TMP" <<'EOF' || fail "status sizes disagree"
import json, re, sys
d = sys.argv[1]
j = json.load(open(d + "/st.json"))
txt = open(d + "/st.txt").read()
exact = open(d + "/st.bytes").read()
def field(t, name):
    m = re.search(r"^%s: +(\S+(?: [KMGTPE]?i?B)?)" % name, t, re.M)
    assert m, (name, t)
    return m.group(1)
units = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
for name, key in (("live", "logical_bytes"), ("history", "history_bytes"),
                  ("soft-deleted", "softdeleted_bytes"), ("stored", "stored_bytes"),
                  ("catalog", "catalog_bytes")):
    # --bytes: the exact number, as in JSON
    assert int(field(exact, name)) == j[key], (name, field(exact, name), j[key])
    # default: the same number for a person, within its one decimal
    n, u = field(txt, name).split(" ")
    assert u in units, (name, u)
    if u == "B":
        assert int(n) == j[key], (name, n, j[key])
    else:
        assert abs(float(n) * units[u] - j[key]) <= 0.05 * units[u], (name, n, u, j[key])
        assert 1 <= float(n) < 1024, (name, n, u)
# what was written: 60 x 32 KiB + 3 MiB + 1 MiB live; 1 MiB history; 2 MiB deleted
assert j["logical_bytes"] == 60 * 32768 + 3 * 2**20 + 2**20, j
assert j["history_bytes"] == 2**20, j
assert j["softdeleted_bytes"] == 2 * 2**20 and j["softdeleted_files"] == 1, j
kept = j["logical_bytes"] + j["history_bytes"] + j["softdeleted_bytes"]
assert j["kept_bytes"] == kept, j
# random data: everything kept is stored once, so the ratio is about 1
# (live over stored would be about 0.6 here)
assert abs(j["ratio"] - kept / j["stored_bytes"]) < 0.006, j
assert 0.9 < j["ratio"] < 1.1, j
assert re.search(r"^ratio: +%.2f \(kept/stored" % (kept / j["stored_bytes"]), txt, re.M), txt
EOF

# ---- tables ------------------------------------------------------------------
"$VAULTCTL" softdelete list "$MNT" >"$VF_TMP/sd.txt"
head -n 1 "$VF_TMP/sd.txt" | grep -qx "SIZE  *DELETED  *PURGE  *DAYS  *PATH" ||
	fail "softdelete list: no header: $(cat "$VF_TMP/sd.txt")"
grep -Eq '^2\.0 MiB +[0-9TZ:-]+ +[0-9TZ:-]+ +14 +gone/$' "$VF_TMP/sd.txt" ||
	fail "softdelete list: $(cat "$VF_TMP/sd.txt")"
"$VAULTCTL" softdelete list "$MNT" -H -p >"$VF_TMP/sd.H"
assert_eq 1 "$(wc -l <"$VF_TMP/sd.H")" "softdelete list -H: rows"
IFS=$'\t' read -r size deleted purge days path <"$VF_TMP/sd.H"
assert_eq $((2 * 1024 * 1024)) "$size" "softdelete list -H -p: size"
assert_eq 14 "$days" "softdelete list -H -p: days"
assert_eq "gone/" "$path" "softdelete list -H -p: path"
"$VAULTCTL" softdelete list "$MNT" --json | "$PYTHON" -c '
import json, sys
l = json.load(sys.stdin)
assert l[0]["size"] == int(sys.argv[1]) and l[0]["deleted_at"] == sys.argv[2], l
' "$size" "$deleted" || fail "softdelete list --json disagrees with -H -p"

# ---- snapshots by tag -----------------------------------------------------------
cp "$MNT/tree/f1" "$VF_TMP/f1.before"
"$VAULTCTL" snapshot "$MNT" --tag before-upgrade >/dev/null
sleep 1.1
echo changed >"$MNT/tree/f1"
cmp -s "$MNT/.snapshots/before-upgrade/tree/f1" "$VF_TMP/f1.before" ||
	fail ".snapshots/before-upgrade/tree/f1 is not the file as tagged"
assert_eq changed "$(cat "$MNT/tree/f1")" "the live file"
"$VAULTCTL" snapshots "$MNT" >"$VF_TMP/snaps"
head -n 1 "$VF_TMP/snaps" | grep -qx "TIME  *TAG" || fail "snapshots: no header: $(cat "$VF_TMP/snaps")"
grep -Eq '^[0-9TZ:-]+  +before-upgrade$' "$VF_TMP/snaps" || fail "snapshots: $(cat "$VF_TMP/snaps")"
"$VAULTCTL" snapshots "$MNT" -H | grep -Eq $'^[0-9TZ:-]+\tbefore-upgrade$' ||
	fail "snapshots -H: $("$VAULTCTL" snapshots "$MNT" -H)"
"$VAULTCTL" restore "$MNT" tree/f1 --at before-upgrade --to "$VF_TMP/f1.restored" >/dev/null ||
	fail "restore --at before-upgrade failed"
cmp -s "$VF_TMP/f1.restored" "$VF_TMP/f1.before" || fail "restore --at before-upgrade: not the tagged file"
one_line "restore --at an unknown tag" 1 "no snapshot is tagged 'no-such-tag'" \
	"$VAULTCTL" restore "$MNT" tree/f1 --at no-such-tag --to "$VF_TMP/nothing"
[ ! -e "$VF_TMP/nothing" ] || fail "restore --at an unknown tag wrote something"
one_line "restore --at a tag with a slash" 1 "or a snapshot tag" \
	"$VAULTCTL" restore "$MNT" tree/f1 --at a/b --to "$VF_TMP/nothing"
# a user with no role sees no tagged view
if setpriv --reuid 5502 --regid 5502 --clear-groups cat "$MNT/.snapshots/before-upgrade/tree/f1" >/dev/null 2>&1; then
	fail "a user with no role read a tagged snapshot"
fi

# ---- progress ------------------------------------------------------------------
# piped: nothing extra on stderr
"$VAULTCTL" check "$MNT" --read-data >"$VF_TMP/ck.out" 2>"$VF_TMP/ck.err" || fail "check failed"
[ ! -s "$VF_TMP/ck.err" ] || fail "check piped wrote to stderr: $(cat -v "$VF_TMP/ck.err")"
# a terminal: the line, redrawn with \r, erased at the end
script -qec "$VAULTCTL check $MNT --read-data" /dev/null >"$VF_TMP/ck.tty" || fail "check on a pty failed"
"$PYTHON" - "$VF_TMP/ck.tty" <<'EOF' || fail "check on a terminal: $(cat -v "$VF_TMP/ck.tty")"
import re, sys
t = open(sys.argv[1], "rb").read().decode()
assert re.search(r"\rcheck: \d+/\d+ chunks, [0-9.]+ [KMG]?i?B/[0-9.]+ [KMG]?i?B, .*ETA [^\r]*\x1b\[K", t), t
# erased before the result, which starts the line
assert "\r\x1b[Kcheck: ok" in t, repr(t)
EOF
script -qec "$VAULTCTL check $MNT --read-data --no-progress" /dev/null >"$VF_TMP/ck.tty2" || fail "check --no-progress on a pty failed"
grep -q "chunks," "$VF_TMP/ck.tty2" && fail "check --no-progress drew progress: $(cat -v "$VF_TMP/ck.tty2")"
"$VAULTCTL" check "$MNT" --read-data --progress >/dev/null 2>"$VF_TMP/ck.forced" || fail "check --progress failed"
grep -q "check: .* chunks" "$VF_TMP/ck.forced" || fail "check --progress piped drew nothing"
# JSON events, one per line on stderr
check_events() {
	"$PYTHON" - "$@" <<'EOF'
import json, sys
path, what = sys.argv[1], sys.argv[2]
ev = [json.loads(l) for l in open(path).read().splitlines()]
assert ev, "no events"
for e in ev:
    assert e["progress"] == what, e
    assert e["items"] <= (e["items_total"] or e["items"]), e
assert ev[-1]["done"] is True and all(not e["done"] for e in ev[:-1]), ev
last = ev[-1]
if len(sys.argv) > 3:
    assert last["items"] == last["items_total"] == int(sys.argv[3]), last
print(len(ev), last["items"], last["bytes"])
EOF
}
"$VAULTCTL" check "$MNT" --read-data --json --progress >"$VF_TMP/ck.json" 2>"$VF_TMP/ck.ev" || fail "check --json --progress failed"
nchunks=$(json_field chunks <"$VF_TMP/ck.json")
log "check events: $(check_events "$VF_TMP/ck.ev" check "$nchunks")" || fail "check events: $(cat "$VF_TMP/ck.ev")"
"$VAULTCTL" gc "$MNT" --json --progress >/dev/null 2>"$VF_TMP/gc.ev" || fail "gc --json --progress failed"
log "gc events: $(check_events "$VF_TMP/gc.ev" gc)" || fail "gc events: $(cat "$VF_TMP/gc.ev")"
"$VAULTCTL" prune "$MNT" --json --progress >/dev/null 2>"$VF_TMP/prune.ev" || fail "prune --json --progress failed"
check_events "$VF_TMP/prune.ev" prune >/dev/null || fail "prune events: $(cat "$VF_TMP/prune.ev")"
# restore runs in vaultctl: 60 files of the tagged tree
"$VAULTCTL" restore "$MNT" tree --at before-upgrade --to "$VF_TMP/tree.out" --json --progress \
	>/dev/null 2>"$VF_TMP/rs.ev" || fail "restore --progress failed"
log "restore events: $(check_events "$VF_TMP/rs.ev" restore 60)" || fail "restore events: $(cat "$VF_TMP/rs.ev")"
script -qec "$VAULTCTL restore $MNT tree --at before-upgrade --to $VF_TMP/tree.tty" /dev/null >"$VF_TMP/rs.tty" ||
	fail "restore on a pty failed: $(cat -v "$VF_TMP/rs.tty")"
grep -q $'\rrestore: [0-9]*/60 files' "$VF_TMP/rs.tty" || fail "restore on a terminal: $(cat -v "$VF_TMP/rs.tty")"
"$VAULTCTL" restore "$MNT" tree --at before-upgrade --to "$VF_TMP/tree.pipe" >/dev/null 2>"$VF_TMP/rs.err" ||
	fail "restore piped failed"
[ ! -s "$VF_TMP/rs.err" ] || fail "restore piped wrote to stderr: $(cat -v "$VF_TMP/rs.err")"
# refused before any work: no role, and a stolen Operator's gc
out=$(setpriv --reuid 5502 --regid 5502 --clear-groups "$VAULTCTL" check "$MNT" --read-data --progress 2>&1) &&
	fail "a user with no role ran check"
case $out in *chunks*) fail "a user with no role saw check progress: $out" ;; esac
out=$(setpriv --reuid 5501 --regid 5501 --clear-groups "$VAULTCTL" gc "$MNT" --progress --json 2>&1) &&
	fail "an Operator ran gc"
case $out in *'"progress"'*) fail "an Operator saw gc progress: $out" ;; esac

# ---- remount ------------------------------------------------------------------------
mnt_opts() { awk -v m="$MNT" '$5 == m { print $6 }' /proc/self/mountinfo; }
# not root: refused, nothing changes
rc=0
setpriv --reuid 5501 --regid 5501 --clear-groups "$MOUNT_VAULTFS" "$VAULT" "$MNT" -o remount,ro \
	>/dev/null 2>"$VF_TMP/rm.err" || rc=$?
assert_eq 32 "$rc" "remount by a user (exit)"
assert_eq 1 "$(wc -l <"$VF_TMP/rm.err")" "remount by a user: one line"
case $(mnt_opts) in rw,*) ;; *) fail "a user's remount changed the mount: $(mnt_opts)" ;; esac
one_line "remount of a directory that is not a vaultfs mount" 32 "not a vaultfs mount" \
	"$MOUNT_VAULTFS" "$VAULT" "$VF_TMP" -o remount,ro
# mount(8) as an admin types it: it runs /sbin/mount.fuse.vaultfs (make
# install links it), here in a private mount namespace whose /usr/sbin has
# the link; the superblock is shared, so the whole mount turns read-only
SBIN=$(readlink -f /sbin)
mkdir "$VF_TMP/sbin"
ln -s "$MOUNT_VAULTFS" "$VF_TMP/sbin/mount.fuse.vaultfs"
unshare -m --propagation private sh -c \
	"mount --bind '$VF_TMP/sbin' '$SBIN' && mount -o remount,ro '$MNT'" ||
	fail "mount -o remount,ro failed"
if echo x 2>/dev/null >"$MNT/after-ro"; then fail "root wrote through a read-only remount"; fi
if rm "$MNT/big" 2>/dev/null; then fail "root removed a file through a read-only remount"; fi
if setpriv --reuid 5501 --regid 5501 --clear-groups sh -c "echo x >'$MNT/tree/op'" 2>/dev/null; then
	fail "an Operator wrote through a read-only remount"
fi
cmp -s "$MNT/.snapshots/before-upgrade/tree/f1" "$VF_TMP/f1.before" || fail "views after remount,ro"
# back: the helper as mount(8) calls it
"$MOUNT_VAULTFS" "$VAULT" "$MNT" -o rw,nosuid,nodev,relatime,remount -t fuse.vaultfs || fail "remount,rw failed"
case $(mnt_opts) in rw,*) ;; *) fail "not read-write after remount,rw: $(mnt_opts)" ;; esac
echo x >"$MNT/after-rw" || fail "no write after remount,rw"
"$MOUNT_VAULTFS" "$VAULT" "$MNT" -o remount,ro || fail "remount,ro by hand failed"
case $(mnt_opts) in ro,*) ;; *) fail "not read-only after remount,ro: $(mnt_opts)" ;; esac
if echo y 2>/dev/null >"$MNT/after-rw"; then fail "root wrote after remount,ro by hand"; fi
assert_eq x "$(cat "$MNT/after-rw")" "a file after remount,ro"
"$MOUNT_VAULTFS" "$VAULT" "$MNT" -o remount,rw,nosuid,nodev || fail "remount,rw by hand failed"
echo y >"$MNT/after-rw" || fail "no write after the second remount,rw"
vf_umount

# ---- the key hint in the words of each program ---------------------------------------
# a well-formed key file (32 bytes) that is simply not this vault's kind
head -c 32 /dev/urandom >"$VF_TMP/wrong.key"
chmod 600 "$VF_TMP/wrong.key"
one_line "vaultctl with a key file for a platform-key vault" 1 \
	"give none of --passphrase-file, --key-file, --key-command" \
	"$VAULTCTL" status "$VAULT" --keystore "$KS" --key-file "$VF_TMP/wrong.key"
rc=0
"$MOUNT_VAULTFS" "$VAULT" "$MNT" -f -o "keystore=$KS,key_file=$VF_TMP/wrong.key" >/dev/null 2>"$VF_TMP/mnt.err" </dev/null || rc=$?
assert_eq 32 "$rc" "mount.vaultfs with the wrong kind of key (exit)"
grep -q "give none of -o passphrase_file=, key_file=, key_command=" "$VF_TMP/mnt.err" ||
	fail "mount.vaultfs hint: $(cat "$VF_TMP/mnt.err")"
grep -q -- "--key-file\|--passphrase-file" "$VF_TMP/mnt.err" && fail "mount.vaultfs names vaultctl's options: $(cat "$VF_TMP/mnt.err")"
is_mounted "$MNT" && fail "mounted with the wrong kind of key"
exit 0
