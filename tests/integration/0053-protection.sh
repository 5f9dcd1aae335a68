#!/usr/bin/env bash
# 0053-protection: stop protection (docs/protection.md).  A no-role uid,
# an Operator and a Contributor cannot stop or resume.  `stop --retain`:
# root through the mount gets EROFS from create, write, truncate, rename,
# unlink, mkdir, symlink, link, setxattr and chmod; reads, .snapshots and
# .softdeleted read fine; undelete out of .softdeleted is refused; the
# state survives a remount, shows in status (text and --json) and
# posture, and is audited; with days passing, the daemon still purges a
# soft-deleted item that came due, and prune runs; `resume` brings
# writing back.  With a guard attached, `stop --delete` without an
# approval is refused and changes nothing; approved, every live file is
# soft-deleted but those of an immutable directory (the output says so),
# writes are refused, and after `resume` the Owner undeletes.  A 3000-file
# tree: `stop --delete` killed with -9 halfway; after the remount the
# vault is still stopped and the daemon finishes the deletion.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"
vf_need_faketime
command -v setfattr >/dev/null || skip "setfattr is not installed (Debian package attr)"

# erofs WHAT command...: fails with "Read-only file system"
erofs() {
	local what=$1 rc=0 out
	shift
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" != 0 ] || fail "$what succeeded while protection is stopped"
	case $out in *"Read-only file system"*) ;; *) fail "$what: not EROFS: $out" ;; esac
}

# pj KEY: the protection object of status --json, one field
pj() {
	"$VAULTCTL" status "$MNT" --json |
		"$PYTHON" -c 'import json,sys; v=json.load(sys.stdin)["protection"][sys.argv[1]]; print(v if not isinstance(v, bool) else str(v).lower())' "$1"
}

U_NONE=5053 U_OP=5054 U_CONTRIB=5055 U_OWNER=5056
as() { local u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }

chmod 0711 "$VF_TMP"
vf_init
vf_mount
chmod 0777 "$MNT"
for g in "operator user:$U_OP" "contributor user:$U_CONTRIB" "owner user:$U_OWNER"; do
	set -- $g
	"$VAULTCTL" role grant "$MNT" "$1" "$2" >/dev/null || fail "role grant $g"
done
mkdir -p "$MNT/docs/sub" "$MNT/keep"
for i in 1 2 3; do
	echo "document $i" >"$MNT/docs/d$i.txt"
	echo "nested $i" >"$MNT/docs/sub/n$i.txt"
	echo "kept $i" >"$MNT/keep/k$i.txt"
done
echo "soon gone" >"$MNT/docs/gone.txt"
rm "$MNT/docs/gone.txt"
chmod -R a+rwX "$MNT/docs" "$MNT/keep"
"$VAULTCTL" immutable set "$MNT" keep >/dev/null || fail "immutable set keep"
SUM=$(cat "$MNT/docs/d1.txt" "$MNT/docs/sub/n2.txt" | sha256sum)
sleep 1.1
T0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1

# ---- nobody but the Owner ----------------------------------------------------
refused "stop by a no-role uid" "needs the owner role" as $U_NONE "$VAULTCTL" protection stop "$MNT" --retain
refused "stop by an Operator" "needs the owner role" as $U_OP "$VAULTCTL" protection stop "$MNT" --retain
refused "stop by a Contributor" "needs the owner role" as $U_CONTRIB "$VAULTCTL" protection stop "$MNT" --retain
refused "stop --delete by a Contributor" "needs the owner role" as $U_CONTRIB "$VAULTCTL" protection stop "$MNT" --delete
refused "resume when not stopped" "not stopped" "$VAULTCTL" protection resume "$MNT"
rc=0; "$VAULTCTL" protection stop "$MNT" >/dev/null 2>&1 || rc=$?
assert_eq 2 "$rc" "stop without --retain or --delete (usage)"
assert_eq on "$(pj state)" "state before any stop"

# ---- stop --retain -------------------------------------------------------------
"$VAULTCTL" protection stop "$MNT" --retain | grep -q "protection stopped (retain)" || fail "stop --retain"
assert_eq stopped-retain "$(pj state)" "state after stop --retain"
"$VAULTCTL" status "$MNT" | grep -q "^protection: *stopped (retain) since" || fail "status does not show the stop: $("$VAULTCTL" status "$MNT")"
"$VAULTCTL" posture "$MNT" | grep -q "protection stopped" || fail "posture does not name the stop: $("$VAULTCTL" posture "$MNT")"
"$VAULTCTL" posture "$MNT" --json | grep -q '"protection_stopped"' || fail "posture --json does not name the stop"
refused "stop twice" "stopped already" "$VAULTCTL" protection stop "$MNT" --retain
for u in $U_NONE $U_OP $U_CONTRIB; do
	refused "resume by uid $u" "needs the owner role" as $u "$VAULTCTL" protection resume "$MNT"
done

# root through the mount: every write path
erofs "create" touch "$MNT/docs/new.txt"
erofs "write" sh -c "echo more >>'$MNT/docs/d1.txt'"
erofs "overwrite" sh -c "echo other >'$MNT/docs/d2.txt'"
erofs "truncate" truncate -s 0 "$MNT/docs/d1.txt"
erofs "rename" mv "$MNT/docs/d1.txt" "$MNT/docs/moved.txt"
erofs "unlink" rm -f "$MNT/docs/d3.txt"
erofs "rmdir" rmdir "$MNT/docs/sub"
erofs "mkdir" mkdir "$MNT/docs/newdir"
erofs "symlink" ln -s d1.txt "$MNT/docs/link"
erofs "link" ln "$MNT/docs/d1.txt" "$MNT/docs/hard"
erofs "setxattr" setfattr -n user.x -v y "$MNT/docs/d1.txt"
erofs "chmod" chmod 600 "$MNT/docs/d1.txt"
erofs "chown" chown 1:1 "$MNT/docs/d1.txt"
erofs "touch -m" touch -m -d @0 "$MNT/docs/d1.txt"
erofs "undelete by mv" mv "$MNT/.softdeleted/docs/gone.txt" "$MNT/docs/gone.txt"
rc=0; "$VAULTCTL" undelete "$MNT" docs/gone.txt >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "vaultctl undelete while stopped: exit $rc"
erofs "Operator write" as $U_OP sh -c "echo x >'$MNT/docs/op.txt'"
# reads, history and the soft-delete area are fine
assert_eq "$SUM" "$(cat "$MNT/docs/d1.txt" "$MNT/docs/sub/n2.txt" | sha256sum)" "reads while stopped"
assert_eq "$SUM" "$(cat "$MNT/.snapshots/$T0/docs/d1.txt" "$MNT/.snapshots/$T0/docs/sub/n2.txt" | sha256sum)" ".snapshots while stopped"
grep -q "soon gone" "$MNT/.softdeleted/docs/gone.txt" || fail ".softdeleted unreadable while stopped"
[ ! -e "$MNT/docs/new.txt" ] && [ ! -e "$MNT/docs/newdir" ] || fail "something was made while stopped"
"$VAULTCTL" prune "$MNT" >/dev/null || fail "prune refused while stopped"

# the state survives a remount; days pass: the due purge still happens
vf_umount
vf_mount_fast maintain=1
erofs "create after the remount" touch "$MNT/docs/new.txt"
vf_wait_gone "$MNT/.softdeleted/docs/gone.txt" 20 || fail "a soft-deleted item that came due was not purged while stopped"
vf_umount
vf_mount
assert_eq stopped-retain "$(pj state)" "state after the remounts"
as $U_OWNER "$VAULTCTL" protection resume "$MNT" | grep -q "protection resumed" || fail "resume by the Owner uid"
assert_eq on "$(pj state)" "state after resume"
echo "after resume" >"$MNT/docs/new.txt" || fail "write after resume"
rm "$MNT/docs/new.txt"

# ---- stop --delete: the guard's approval ----------------------------------------
PUB=$("$VAULTCTL" guard keygen --out "$VF_TMP/guard.key" 2>/dev/null) || fail "guard keygen failed"
"$VAULTCTL" guard attach "$MNT" "$PUB" >/dev/null || fail "guard attach failed"
refused "stop --delete without an approval" "approval required" "$VAULTCTL" protection stop "$MNT" --delete
assert_eq on "$(pj state)" "state after a refused stop --delete"
[ -e "$MNT/docs/d1.txt" ] || fail "a refused stop --delete deleted something"
REQ=$("$VAULTCTL" protection stop "$MNT" --delete 2>&1 | grep -o 'vfreq2:[^ ]*' | head -n 1) || true
[ -n "$REQ" ] || fail "no request code printed"
TOK=$("$VAULTCTL" guard approve --key "$VF_TMP/guard.key" "$REQ" --ttl 30d 2>/dev/null) || fail "guard approve failed"
refused "the approval for another operation" "approval" "$VAULTCTL" softdelete set "$MNT" --off --approval "$TOK"
OUT=$("$VAULTCTL" protection stop "$MNT" --delete --approval "$TOK" 2>&1) || fail "stop --delete with the approval: $OUT"
case $OUT in *"6 files soft-deleted"*"3 files in immutable directories not deleted"*) ;; *) fail "stop --delete output: $OUT" ;; esac
assert_eq stopped-delete "$(pj state)" "state after stop --delete"
assert_eq false "$(pj deleting)" "the walk is done"
[ -z "$(ls -A "$MNT/docs" 2>/dev/null)" ] && [ ! -e "$MNT/docs" ] || fail "live files left after stop --delete: $(find "$MNT/docs" 2>&1)"
[ "$(ls "$MNT/keep" | wc -l)" = 3 ] || fail "an immutable directory's files were deleted"
grep -q "document 1" "$MNT/.softdeleted/docs/d1.txt" || fail "d1.txt not in .softdeleted"
grep -q "nested 2" "$MNT/.softdeleted/docs/sub/n2.txt" || fail "sub/n2.txt not in .softdeleted"
erofs "create after --delete" touch "$MNT/new.txt"
refused "stop --delete twice" "stopped with --delete already" "$VAULTCTL" protection stop "$MNT" --delete
"$VAULTCTL" posture "$MNT" | grep -q "^posture:  Poor" || fail "a vault stopped with --delete is not Poor"
"$VAULTCTL" protection resume "$MNT" >/dev/null || fail "resume after --delete"
"$VAULTCTL" undelete "$MNT" docs >/dev/null || fail "undelete of docs after resume"
assert_eq "$SUM" "$(cat "$MNT/docs/d1.txt" "$MNT/docs/sub/n2.txt" | sha256sum)" "undeleted content"
"$VAULTCTL" audit list "$MNT" >"$VF_TMP/audit.txt"
grep -q "approval	protection.stop-delete	allowed" "$VF_TMP/audit.txt" || fail "no approval record of the stop --delete"
grep -q "protection stop.*--delete done" "$VF_TMP/audit.txt" || fail "no record of the end of the walk"
grep -q "protection resume" "$VF_TMP/audit.txt" || fail "no record of the resume"
"$VAULTCTL" guard detach "$MNT" --approval "$("$VAULTCTL" guard approve --key "$VF_TMP/guard.key" \
	"$("$VAULTCTL" guard detach "$MNT" 2>&1 | grep -o 'vfreq2:[^ ]*' | head -n 1)" --ttl 30d 2>/dev/null)" >/dev/null ||
	fail "guard detach"

# ---- kill -9 halfway through a big --delete -----------------------------------
"$PYTHON" - "$MNT/big" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(30):
    os.makedirs(os.path.join(root, "d%02d" % d))
    for i in range(100):
        with open(os.path.join(root, "d%02d" % d, "f%03d" % i), "w") as f:
            f.write("file %d %d\n" % (d, i))
PY
LIVE0=$(find "$MNT" -path "$MNT/.softdeleted" -prune -o -path "$MNT/.snapshots" -prune -o -path "$MNT/.versions" -prune -o -type f -print | wc -l)
"$VAULTCTL" protection stop "$MNT" --delete >"$VF_TMP/big.out" 2>&1 &
STOPPER=$!
# kill the daemon once the walk has made some progress
for _ in $(seq 1 400); do
	n=$(pj deleted_files 2>/dev/null || echo 0)
	[ "$n" -gt 0 ] 2>/dev/null && break
	sleep 0.02
done
D1=$(pj deleted_files 2>/dev/null || echo "?")
vf_kill9
wait "$STOPPER" 2>/dev/null || true
log "killed the daemon with $D1 of $LIVE0 files deleted"
vf_mount
assert_eq stopped-delete "$(pj state)" "state after kill -9 and remount"
erofs "create after the crash" touch "$MNT/x"
for _ in $(seq 1 300); do
	[ "$(pj deleting)" = false ] && break
	sleep 0.1
done
assert_eq false "$(pj deleting)" "the daemon finished the walk"
LIVE=$(find "$MNT" -path "$MNT/.softdeleted" -prune -o -path "$MNT/.snapshots" -prune -o -path "$MNT/.versions" -prune -o -type f -print | wc -l)
assert_eq 3 "$LIVE" "live files after the finished walk (the immutable ones)"
SD=$(find "$MNT/.softdeleted/big" -type f | wc -l)
assert_eq 3000 "$SD" "files of the big tree in .softdeleted"
grep -q "finished" "$VF_LOG" || log "(the walk had finished before the kill)"
vf_umount
"$VAULTCTL" audit verify "$VAULT" --keystore "$KS" >/dev/null || fail "audit verify after the crash"
log "ok"
