#!/usr/bin/env bash
# 0016-softdelete: rm -r lands in .softdeleted as a tree, byte-identical,
# with a purge time 14 days out; undelete by mv and by vaultctl; purge only
# after 14 days on the vault clock (vf_pass_days), by the daemon's timer and
# by offline gc; settings refused out of range; always-on pending, then
# final.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

vf_need_faketime
days_from_now() { # ISO time -> whole days from now (rounded)
	"$PYTHON" -c '
import sys, datetime
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
print(round((t - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 86400))' "$1"
}

vf_init
vf_mount
SD=$MNT/.softdeleted

# ---- rm -r of a tree ----------------------------------------------------------
make_fixture_tree "$MNT/proj" nosocket
mkdir -p "$MNT/proj/nested/deeper/deepest"
ln -s ../../sub "$MNT/proj/nested/deeper/up"
head -c $((100 * 1024 * 1024)) /dev/urandom >"$MNT/proj/nested/big"
cp -a "$MNT/proj" "$VF_TMP/proj-before"
before=$(vault_bytes)
rm -r "$MNT/proj"
[ ! -e "$MNT/proj" ] || fail "proj still in the live tree"
ls -a "$MNT" | grep -q softdeleted && fail ".softdeleted is listed in the root"
[ -d "$SD/proj" ] || fail "proj is not under .softdeleted"
SAME_TREE_MTIME=0 same_tree "$VF_TMP/proj-before" "$SD/proj"
cmp "$VF_TMP/proj-before/nested/big" "$SD/proj/nested/big" ||
	fail "the 100 MB file differs"
purge=$(getfattr --only-values -n user.vaultfs.purge_at "$SD/proj")
assert_eq 14 "$(days_from_now "$purge")" "days until purge (xattr)"
"$VAULTCTL" softdelete list "$MNT" >"$VF_TMP/list"
cat "$VF_TMP/list" >&2
head -n 1 "$VF_TMP/list" | grep -q "^SIZE  *DELETED  *PURGE  *DAYS  *PATH$" ||
	fail "softdelete list has no header"
grep -Eq "^[0-9.]+ MiB +[-0-9T:Z]+ +[-0-9T:Z]+ +14 +proj/$" "$VF_TMP/list" ||
	fail "softdelete list does not show proj/ with its size and 14 days"
"$VAULTCTL" softdelete list "$MNT" -H -p | grep -Eq $'^[0-9]{9,}\t[^\t]+\t[^\t]+\t14\tproj/$' ||
	fail "softdelete list -H -p: $("$VAULTCTL" softdelete list "$MNT" -H -p)"
"$VAULTCTL" softdelete list "$MNT" --json >"$VF_TMP/list.json"
"$PYTHON" - "$VF_TMP/list.json" "$purge" <<'EOF' || fail "softdelete list --json disagrees"
import json, sys
items = json.load(open(sys.argv[1]))
p = [i for i in items if i["path"] == "proj"]
assert len(p) == 1, items
assert p[0]["purge_at"] == sys.argv[2], p
assert p[0]["type"] == "dir" and p[0]["days_left"] == 14, p
assert p[0]["size"] >= 100 * 1024 * 1024, p
EOF
# deleting does not free space; df counts soft-deleted bytes as used
[ "$(vault_bytes)" -ge "$before" ] || fail "the vault shrank on rm"

# ---- undelete ------------------------------------------------------------------
mkdir "$MNT/proj"
echo live >"$MNT/proj/a.txt"
mv "$SD/proj/nested/big" "$MNT/proj/big"
cmp "$VF_TMP/proj-before/nested/big" "$MNT/proj/big" || fail "mv-undeleted file differs"
[ ! -e "$SD/proj/nested/big" ] || fail "undeleted file still in .softdeleted"
echo "still writable" >>"$MNT/proj/big"
if mv -T "$SD/proj/sub" "$MNT/proj" 2>"$VF_TMP/err"; then
	fail "undelete over a live directory succeeded"
fi
if out=$("$VAULTCTL" undelete "$MNT" proj/sub/hard-c --to proj/a.txt 2>&1); then
	fail "vaultctl undelete over a live file succeeded"
fi
log "refused: $out"
case $out in *exists*) ;; *) fail "undelete refusal does not say why: $out" ;; esac
assert_eq live "$(cat "$MNT/proj/a.txt")" "live file after refused undelete"
if out=$("$VAULTCTL" undelete "$MNT" proj/sub --to nodir/sub 2>&1); then
	fail "undelete into a missing directory succeeded"
fi
[ ! -e "$MNT/nodir" ] || fail "undelete created a missing parent directory"
"$VAULTCTL" undelete "$MNT" proj/sub --to proj/sub
SAME_TREE_MTIME=0 same_tree "$VF_TMP/proj-before/sub" "$MNT/proj/sub"
[ ! -e "$SD/proj/sub" ] || fail "vaultctl-undeleted dir still in .softdeleted"

# ---- purge: nothing at 12 days, everything at 15 ---------------------------------
rm -r "$MNT/proj"
ls "$SD" >"$VF_TMP/sd-names"
grep -q '^proj@' "$VF_TMP/sd-names" || fail "second deletion of proj has no @time name"
vf_umount
full=$(vault_bytes)
vf_pass_days 12
vf_mount maintain=1
sleep 3
[ -d "$SD/proj" ] || fail "purged at 12 days"
vf_umount
vf_pass_days 3
vf_mount maintain=1
# Items past their time are hidden at once, before the timer has purged
# them: wait for the purge itself (the packs going away), not only for an
# empty listing, or the unmount may come before the first timer run.
for _ in $(seq 1 60); do
	[ -z "$(ls -A "$SD")" ] &&
		[ "$(vault_bytes)" -lt $((full - 100 * 1024 * 1024)) ] && break
	sleep 0.5
done
[ -z "$(ls -A "$SD")" ] || fail "not purged at 15 days: $(ls "$SD")"
vf_umount
after=$(vault_bytes)
log "vault $full -> $after bytes after purge"
[ "$after" -lt $((full - 100 * 1024 * 1024)) ] ||
	fail "the vault did not shrink after the purge ($full -> $after)"

# offline: gc purges what is due
vf_mount
echo doomed >"$MNT/doomed"
rm "$MNT/doomed"
vf_umount
"$VAULTCTL" gc "$VAULT" --keystore "$KS" >/dev/null
vf_mount
[ -e "$SD/doomed" ] || fail "offline gc purged early"
vf_umount
vf_pass_days 15
"$VAULTCTL" gc "$VAULT" --keystore "$KS" >/dev/null
vf_mount
[ ! -e "$SD/doomed" ] || fail "offline gc at 15 days did not purge"
"$VAULTCTL" check "$MNT" --read-data >/dev/null || fail "check after purges"

# ---- settings ---------------------------------------------------------------------
for bad in 13 181 0 -1 abc; do
	if "$VAULTCTL" softdelete set "$MNT" --days "$bad" 2>"$VF_TMP/err"; then
		fail "--days $bad accepted"
	fi
	[ "$(wc -l <"$VF_TMP/err")" = 1 ] || fail "--days $bad: not a one-line error"
done
"$VAULTCTL" softdelete set "$MNT" --days 30
"$VAULTCTL" softdelete show "$MNT" | grep -q 30 || fail "retention 30 not shown"
"$VAULTCTL" softdelete set "$MNT" --always-on
"$VAULTCTL" softdelete show "$MNT" | grep -qi pending || fail "always-on not pending"
"$VAULTCTL" softdelete set "$MNT" --cancel-always-on
"$VAULTCTL" softdelete set "$MNT" --always-on
echo x >"$MNT/f"
rm "$MNT/f"
vf_umount
vf_pass_days 3.1
vf_mount
"$VAULTCTL" softdelete show "$MNT" | grep -qi final || fail "always-on not final after 73 h"
for args in "--off" "--days 20" "--cancel-always-on"; do
	# shellcheck disable=SC2086
	if "$VAULTCTL" softdelete set "$MNT" $args 2>"$VF_TMP/err"; then
		fail "softdelete set $args accepted after always-on became final"
	fi
	log "refused $args: $(cat "$VF_TMP/err")"
done
if "$VAULTCTL" softdelete purge "$MNT" f 2>"$VF_TMP/err"; then
	fail "early purge accepted after always-on became final"
fi
[ -e "$SD/f" ] || fail "refused purge removed the item"
"$VAULTCTL" softdelete show "$MNT" | grep -q 30 || fail "retention changed by refused calls"
vf_umount
log "ok"
