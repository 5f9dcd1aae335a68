#!/usr/bin/env bash
# 0017-immutable: an immutable directory refuses, for root and for other
# uids, every operation that would lose or change a sealed file (EPERM,
# file byte-identical afterwards) while new files can still be added; the
# lock is pending, cancellable, then final after 72 hours on the vault
# clock (vf_pass_days); a retention ends the protection (days passed the
# same way); the immutable vault refuses early purge, weaker retention and
# soft delete off.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

vf_need_faketime
as_user() { setpriv --reuid 4242 --regid 4242 --clear-groups "$@"; }

chmod 0711 "$VF_TMP"
vf_init
vf_mount
# uid 4242 may delete (README.md, Roles), so what refuses it below is immutability
"$VAULTCTL" role grant "$MNT" contributor user:4242 >/dev/null
C=$MNT/contracts

mkdir "$C" "$C/2025"
chmod 0777 "$C"
echo "signed by both parties" >"$C/a.txt"
head -c 3000000 /dev/urandom >"$C/2025/big.bin"
as_user sh -c "echo 'user file' >'$C/user.txt'; chmod 666 '$C/user.txt'"
setfattr -n user.note -v kept "$C/a.txt"
echo outside >"$MNT/outside.txt"
cp -a "$C" "$VF_TMP/before"

"$VAULTCTL" immutable set "$MNT" contracts --lock
getfattr --only-values -n user.vaultfs.immutable "$C" >"$VF_TMP/xa"
grep -q pending "$VF_TMP/xa" || fail "xattr does not show a pending lock: $(cat "$VF_TMP/xa")"
as_user getfattr --only-values -n user.vaultfs.immutable "$C" >/dev/null ||
	fail "another uid cannot read the immutable xattr"

# EPERM and nothing changed, for each of these
refused() { # what, command...
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "$what succeeded inside an immutable directory"
	fi
	case $out in
	*"Operation not permitted"*) ;;
	*) fail "$what: expected EPERM, got: $out" ;;
	esac
}
refused "rm" rm -f "$C/a.txt"
refused "mv away" mv "$C/a.txt" "$MNT/stolen.txt"
refused "mv within" mv "$C/a.txt" "$C/b.txt"
refused "mv over" mv "$MNT/outside.txt" "$C/a.txt"
refused "truncate" truncate -s 0 "$C/a.txt"
refused "> redirect" sh -c "echo evil >'$C/a.txt'"
refused ">> append" sh -c "echo evil >>'$C/a.txt'"
refused "dd conv=notrunc" dd if=/dev/zero of="$C/2025/big.bin" bs=1k count=1 conv=notrunc status=none
refused "fallocate punch" fallocate -p -o 0 -l 4096 "$C/2025/big.bin"
refused "chmod" chmod 0777 "$C/a.txt"
refused "chown" chown 4242 "$C/a.txt"
refused "xattr removal" setfattr -x user.note "$C/a.txt"
refused "xattr set" setfattr -n user.other -v x "$C/a.txt"
refused "immutable xattr removal" setfattr -x user.vaultfs.immutable "$C"
refused "hard link out" ln "$C/a.txt" "$MNT/hl"
refused "hard link in" ln "$MNT/outside.txt" "$C/hl"
refused "mv dir away" mv "$C/2025" "$MNT/2025"
refused "user append" as_user sh -c "echo evil >>'$C/user.txt'"
refused "user rm" as_user rm -f "$C/user.txt"
refused "user truncate" as_user truncate -s 0 "$C/user.txt"
if rm -rf "$C" 2>/dev/null; then
	fail "rm -rf of the immutable directory succeeded"
fi
SAME_TREE_MTIME=0 same_tree "$VF_TMP/before" "$C"
assert_eq kept "$(getfattr --only-values -n user.note "$C/a.txt")" "xattr"
cat "$C/a.txt" >/dev/null || fail "reading a sealed file failed"
stat "$C/2025/big.bin" >/dev/null

# new files can still be added; sealed at their first close
echo "new contract" >"$C/new.txt"
cp "$VF_TMP/before/a.txt" "$C/copy.txt"
mv "$MNT/outside.txt" "$C/moved-in.txt"
refused "rm of a new file" rm -f "$C/new.txt"
refused "rm of a moved-in file" rm -f "$C/moved-in.txt"
mkdir "$C/2026"
echo later >"$C/2026/x"
refused "rm in a new subdirectory" rm -f "$C/2026/x"

# lock life cycle: pending, cancel, lock again, final after 72 h
"$VAULTCTL" immutable list "$MNT" | grep -q "pending" || fail "list: lock not pending"
"$VAULTCTL" immutable unlock "$MNT" contracts
"$VAULTCTL" immutable list "$MNT" | grep -q "pending" && fail "list: lock still pending after unlock"
"$VAULTCTL" immutable lock "$MNT" contracts
"$VAULTCTL" immutable list "$MNT" --json | "$PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
assert len(r) == 1 and r[0]["path"] == "contracts" and r[0]["lock"] == "pending", r'
vf_umount
vf_pass_days 3.1
vf_mount
"$VAULTCTL" immutable list "$MNT" | grep -q "final" || fail "list: lock not final after 73 h"
if "$VAULTCTL" immutable clear "$MNT" contracts 2>"$VF_TMP/err"; then
	fail "clearing a final lock succeeded"
fi
log "refused: $(cat "$VF_TMP/err")"
if "$VAULTCTL" immutable set "$MNT" contracts --days 30 2>"$VF_TMP/err"; then
	fail "shortening a final lock (forever -> 30 days) succeeded"
fi
if "$VAULTCTL" immutable unlock "$MNT" contracts 2>/dev/null; then
	fail "unlocking a final lock succeeded"
fi
refused "rm after the lock became final" rm -f "$C/a.txt"
SAME_TREE_MTIME=0 same_tree "$VF_TMP/before/2025" "$C/2025"
vf_umount

# retention: protected for 1 day after the first close, then deletable
vf_mount
mkdir "$MNT/logs"
"$VAULTCTL" immutable set "$MNT" logs --days 1
echo day0 >"$MNT/logs/l.txt"
refused "rm within the retention" rm -f "$MNT/logs/l.txt"
vf_umount
vf_pass_days 2
vf_mount
rm "$MNT/logs/l.txt" || fail "rm after the retention failed"
assert_eq day0 "$(cat "$MNT/.softdeleted/logs/l.txt")" "deleted file in .softdeleted"
vf_umount

# the immutable vault
vf_mount
"$VAULTCTL" policy set "$MNT" --keep-last 10
"$VAULTCTL" softdelete set "$MNT" --days 30
"$VAULTCTL" immutable vault "$MNT"
echo gone >"$MNT/gone.txt"
rm "$MNT/gone.txt"
for args in "softdelete set --off" "softdelete set --days 20" \
	"policy set --keep-last 5" "softdelete purge gone.txt"; do
	set -- $args
	g=$1 verb=$2
	shift 2
	if "$VAULTCTL" "$g" "$verb" "$MNT" "$@" 2>"$VF_TMP/err"; then
		fail "$args succeeded on an immutable vault"
	fi
	log "refused $args: $(cat "$VF_TMP/err")"
done
"$VAULTCTL" softdelete set "$MNT" --days 40
"$VAULTCTL" policy set "$MNT" --keep-last 20
[ -e "$MNT/.softdeleted/gone.txt" ] || fail "refused purge removed the item"
"$VAULTCTL" immutable vault "$MNT" --off
"$VAULTCTL" softdelete purge "$MNT" gone.txt
vf_umount
log "ok"
