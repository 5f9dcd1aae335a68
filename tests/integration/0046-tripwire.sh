#!/usr/bin/env bash
# 0046-tripwire: the ransomware tripwire (docs/tripwire.md).  A tree of
# 200 ordinary files (text, some gzip files), some soft-deleted; an
# Operator uid then encrypts each file in place with openssl and renames
# it to .locked.  The tripwire fires within the first few dozen files
# (the count is printed): a critical alert reaches alert_command, the
# audit log has the firing, .snapshots/tripwire-<time> holds the tree as
# it was, byte for byte, and purges, prune and gc are frozen.  The freeze
# survives kill -9 and a remount; nobody but the Owner may lift it, root
# writing through the mount cannot, a catalog copied back from before the
# firing does not open; with the guard attached, release needs its
# approval.  With the daemon's clock going a day per second, a purge that
# came due purges nothing while frozen, and does after the release.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"
vf_need_faketime
command -v openssl >/dev/null || skip "openssl is not installed"

HOOK_OUT=$VF_TMP/hook.out
cat >"$VF_TMP/hook.sh" <<HOOK
#!/bin/sh
cat >>"$HOOK_OUT"
echo >>"$HOOK_OUT"
HOOK
chmod 755 "$VF_TMP/hook.sh"

# wait_for FILE PATTERN SECONDS
wait_for() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

frozen() { "$VAULTCTL" tripwire status "$1" --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["frozen"])'; }

U_OP=5046 U_NONE=5047 U_CONTRIB=5048
as() { local u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }

chmod 0711 "$VF_TMP"
vf_init
vf_mount "alert_command=$VF_TMP/hook.sh"
chmod 0755 "$MNT"
for g in "operator user:$U_OP" "contributor user:$U_CONTRIB"; do
	set -- $g
	"$VAULTCTL" role grant "$MNT" "$1" "$2" >/dev/null || fail "role grant $g"
done
"$VAULTCTL" tripwire status "$MNT" | grep -q "sensitivity:  medium" ||
	fail "a new vault's tripwire is not at medium: $("$VAULTCTL" tripwire status "$MNT")"
frozen "$MNT" | grep -qx False || fail "frozen before anything happened"

# ---- the tree: 200 files, text and gzip; some soft-deleted ------------------
"$PYTHON" - "$MNT/docs" <<'PY'
import gzip, os, random, sys
random.seed(46)
words = ("invoice report meeting budget quarter customer order "
         "delivery project plan review draft final contract notes").split()
root = sys.argv[1]
for d in range(10):
    os.makedirs(os.path.join(root, "d%d" % d))
for i in range(200):
    text = "\n".join(" ".join(random.choice(words) for _ in range(12))
                     for _ in range(random.randint(20, 200))) + "\n"
    p = os.path.join(root, "d%d" % (i % 10), "f%03d" % i)
    if i % 10 == 9:
        with gzip.open(p + ".txt.gz", "wb") as f:
            f.write(text.encode())
    else:
        with open(p + ".txt", "w") as f:
            f.write(text)
PY
for i in 0 1 2 3 4; do rm "$MNT/docs/d$i/f00$i.txt"; done
[ -e "$MNT/.softdeleted/docs/d0/f000.txt" ] || fail "f000.txt is not in .softdeleted"
chown -R "$U_OP:$U_OP" "$MNT/docs"
(cd "$MNT/docs" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$VF_TMP/before.sums"
assert_eq 195 "$(wc -l <"$VF_TMP/before.sums")" "files before the attack"
# the guard, so that release is a critical operation
PUB=$("$VAULTCTL" guard keygen --out "$VF_TMP/guard.key" 2>/dev/null) || fail "guard keygen failed"
"$VAULTCTL" guard attach "$MNT" "$PUB" >/dev/null || fail "guard attach failed"
vf_umount
cp "$VAULT/catalog.db" "$VF_TMP/before.db"
vf_mount "alert_command=$VF_TMP/hook.sh"
# recovery points are seconds: the burst starts in a later one
sleep 1

# ---- the attack, as an Operator ----------------------------------------------
mkdir "$VF_TMP/atk" && chown "$U_OP" "$VF_TMP/atk"
cat >"$VF_TMP/attack.sh" <<'ATTACK'
#!/bin/bash
set -e
cd "$1"
n=0
for f in $(find . -type f -name '*.txt*' | sort); do
	openssl enc -aes-256-cbc -pbkdf2 -pass pass:ransom -in "$f" -out "$2/x"
	cat "$2/x" >"$f"
	mv "$f" "$f.locked"
	n=$((n + 1))
done
echo "$n"
ATTACK
chmod 755 "$VF_TMP/attack.sh"
n=$(as "$U_OP" "$VF_TMP/attack.sh" "$MNT/docs" "$VF_TMP/atk") || fail "the attack script failed"
assert_eq 195 "$n" "files the attack encrypted"

wait_for "$HOOK_OUT" '"kind":"tripwire"' 5 || fail "no tripwire alert reached the hook: $(cat "$HOOK_OUT" 2>/dev/null)"
grep '"kind":"tripwire"' "$HOOK_OUT" | "$PYTHON" -c "
import json, sys
a = json.loads(sys.stdin.readline())
assert a['severity'] == 'critical', a
assert a['uid'] == $U_OP, a
" || fail "the tripwire alert is not critical or not the attacker's: $(cat "$HOOK_OUT")"
[ "$(frozen "$MNT")" = True ] || fail "not frozen after the attack"
"$VAULTCTL" audit list "$MNT" >"$VF_TMP/audit"
line=$(grep -m 1 "	tripwire	tripwire-.*	fired	" "$VF_TMP/audit") || fail "no audit record of the firing: $(tail "$VF_TMP/audit")"
files=$(sed -n 's/.* \([0-9]*\) overwrites by random-looking content.*/\1/p' <<<"$line")
[ -n "$files" ] && [ "$files" -le 36 ] || fail "fired after $files files, not within three dozen: $line"
log "fired after $files files of 195 (the audit record: $line)"

# the snapshot point holds the tree as it was, byte for byte
snap=$("$VAULTCTL" snapshots "$MNT" | awk '$2 ~ /^tripwire-/ { print $1 }')
[ -n "$snap" ] || fail "no tripwire- snapshot: $("$VAULTCTL" snapshots "$MNT")"
"$VAULTCTL" tripwire status "$MNT" | grep -q "snapshot:     .snapshots/$snap (tagged tripwire-$snap)" ||
	fail "status does not name the snapshot $snap: $("$VAULTCTL" tripwire status "$MNT")"
(cd "$MNT/.snapshots/$snap/docs" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$VF_TMP/snap.sums"
cmp -s "$VF_TMP/before.sums" "$VF_TMP/snap.sums" ||
	fail "the snapshot $snap differs from the tree before the attack: $(diff "$VF_TMP/before.sums" "$VF_TMP/snap.sums" | head)"
"$VAULTCTL" tripwire status "$MNT" | grep -q "frozen by tripwire since" || fail "tripwire status does not say frozen"
"$VAULTCTL" status "$MNT" | grep -q "^maintenance:    frozen by tripwire since" ||
	fail "status does not say frozen: $("$VAULTCTL" status "$MNT")"

# ---- frozen: purges, prune and gc refuse ------------------------------------
refused "prune while frozen" "frozen by the tripwire since" "$VAULTCTL" prune "$MNT"
refused "gc while frozen" "frozen by the tripwire since" "$VAULTCTL" gc "$MNT"
refused "softdelete purge while frozen" "frozen by the tripwire since" \
	"$VAULTCTL" softdelete purge "$MNT" docs/d0/f000.txt

# ---- who may lift it ----------------------------------------------------------
refused "release by an Operator" "needs the owner role" as "$U_OP" "$VAULTCTL" tripwire release "$MNT"
refused "release by a Contributor" "needs the owner role" as "$U_CONTRIB" "$VAULTCTL" tripwire release "$MNT"
refused "release by no role" "needs the owner role" as "$U_NONE" "$VAULTCTL" tripwire release "$MNT"
refused "weakening by an Operator" "needs the owner role" as "$U_OP" "$VAULTCTL" tripwire set "$MNT" --sensitivity off
refused "an exemption by an Operator" "needs the owner role" as "$U_OP" "$VAULTCTL" tripwire mark-false-positive "$MNT" --uid "$U_OP"
# root writing through the mount: files, and the view trees, change nothing
echo x >"$MNT/trip.frozen"
rm "$MNT/trip.frozen"
rm -rf "$MNT/docs/d9"
touch "$MNT/.snapshots/x" 2>/dev/null && fail "wrote into .snapshots"
[ "$(frozen "$MNT")" = True ] || fail "writes through the mount lifted the freeze"

# ---- it survives kill -9 and a remount; an old catalog does not open ----------
vf_kill9
vf_mount
[ "$(frozen "$MNT")" = True ] || fail "the freeze did not survive kill -9"
vf_umount
cp "$VAULT/catalog.db" "$VF_TMP/after.db"
cp "$VF_TMP/before.db" "$VAULT/catalog.db"
if timeout 30 "$MOUNT_VAULTFS" "$VAULT" "$MNT" -f -o "keystore=$KS" >"$VF_TMP/old.out" 2>&1; then
	fail "the catalog from before the firing opened"
fi
is_mounted "$MNT" && fail "mounted a catalog from before the firing"
log "an old catalog copied back: $(head -n 1 "$VF_TMP/old.out")"
cp "$VF_TMP/after.db" "$VAULT/catalog.db"

# ---- days pass: nothing purged while frozen; release needs the guard -----------
vf_mount_fast maintain=1 "alert_command=$VF_TMP/hook.sh"
sleep 17 # 17 days on the vault clock: the 14-day soft delete came due
[ -e "$MNT/.softdeleted/docs/d0/f000.txt" ] || fail "a soft-deleted item was purged while frozen: $(find "$MNT/.softdeleted" | head)"
grep -q "maintenance.*frozen by the tripwire" "$VF_LOG" || fail "the daemon's maintenance does not say it is frozen: $(tail "$VF_LOG")"
refused "release without an approval" "approval required" "$VAULTCTL" tripwire release "$MNT"
REQ=$("$VAULTCTL" tripwire release "$MNT" 2>&1 | grep -o 'vfreq2:[^ ]*' | head -n 1) || true
[ -n "$REQ" ] || fail "no request code printed"
TOK=$("$VAULTCTL" guard approve --key "$VF_TMP/guard.key" "$REQ" --ttl 30d 2>/dev/null) || fail "guard approve failed"
"$VAULTCTL" tripwire release "$MNT" --approval "$TOK" | grep -q "tripwire released" || fail "release with the approval failed"
[ "$(frozen "$MNT")" = False ] || fail "still frozen after the release"
vf_wait_gone "$MNT/.softdeleted/docs/d0/f000.txt" 20 || fail "the due purge did not happen after the release"
vf_umount
"$VAULTCTL" audit list "$VAULT" --keystore "$KS" | grep -q "approval	tripwire.release	allowed" ||
	fail "no approval record of the release"
log "ok"
