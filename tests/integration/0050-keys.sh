#!/usr/bin/env bash
# 0050-keys: protectors of the master key (docs/keys.md) on a real mount.
#   - init names the key file and warns; key export writes a recovery key
#     (0600, never over a file); with the keystore key gone the vault
#     mounts with the recovery key as key_file=, and with nothing else;
#   - an Operator and a user with no role can list, add, remove, export or
#     rotate nothing; the last protector cannot be removed;
#   - with a guard attached, removing, exporting, rotating and changing the
#     passphrase need its approval;
#   - after key rotate the old keystore key and the old recovery key no
#     longer open the vault, while a copy of the old header with the old
#     key still does (what an attacker needs; why a leak needs --data);
#   - a flipped byte in any wrapped copy of the header is refused with one
#     line; the audit log records every change and no key material.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

chmod 0711 "$VF_TMP"
export VAULTFS_ANCHOR_DIR=$VF_TMP/anchors
OP_UID=5201
NOBODY_UID=5202
as() { local u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }

# refused WHAT PATTERN command...: exit 1 and PATTERN in the first line of
# stderr; the request code (if any) in $REQ
refused() { refused_req "$@"; }
one_line() { # WHAT: the last refusal said one line
	assert_eq 1 "$(wc -l <"$VF_TMP/err")" "$1: lines on stderr"
}
ids() { "$VAULTCTL" key list "$@" --json | "$PYTHON" -c '
import json, sys
print(" ".join(p["kind"] + ":" + p["id"] for p in json.load(sys.stdin)))'; }
id_of() { # KIND TARGET [opts]: the id of the first protector of KIND
	local k=$1
	shift
	ids "$@" | tr ' ' '\n' | sed -n "s/^$k://p" | head -n 1
}

# ---- init says where the key is and warns ----------------------------------
"$VAULTCTL" init "$VAULT" --keystore "$KS" >"$VF_TMP/init.out" || fail "init failed"
VID=$(sed -n 's/^vault id: //p' "$VF_TMP/init.out")
KEY=$KS/$VID.key
grep -qx "key:      the platform key file $KEY" "$VF_TMP/init.out" ||
	fail "init does not name the key file: $(cat "$VF_TMP/init.out")"
grep -q "^Back up the key now" "$VF_TMP/init.out" || fail "init does not warn"
[ -f "$KEY" ] || fail "no keystore key at $KEY"

vf_mount
make_fixture_tree "$MNT/data" nosocket
save_tree "$MNT/data" before
assert_eq "platform" "$(ids "$MNT" | sed 's/:.*//')" "protectors of a new vault"

# ---- who may: an Operator and a user with no role may do nothing -----------
"$VAULTCTL" role grant "$MNT" operator "user:$OP_UID" >/dev/null
PID0=$(id_of platform "$MNT")
mkdir -m 0777 "$VF_TMP/u"
for u in $OP_UID $NOBODY_UID; do
	for cmd in "key list $MNT" "key add $MNT platform" "key remove $MNT $PID0" \
		"key export $MNT --out $VF_TMP/u/rk" "key rotate $MNT"; do
		# shellcheck disable=SC2086
		refused "uid $u: $cmd" "needs the owner role" as "$u" "$VAULTCTL" $cmd
		one_line "uid $u: $cmd"
	done
	[ ! -e "$VF_TMP/u/rk" ] || fail "a refused export left a file"
	ls "$VF_TMP/u" | grep -q . && fail "a refused export left a temporary file"
done
assert_eq "platform:$PID0" "$(ids "$MNT")" "protectors after the refusals"

# ---- export: a recovery key of its own, 0600, never over a file ------------
"$VAULTCTL" key export "$MNT" --out "$VF_TMP/rk" --words >"$VF_TMP/export.out" ||
	fail "key export failed"
assert_eq "600" "$(stat -c %a "$VF_TMP/rk")" "mode of the recovery key file"
grep -q '^VFRK-' "$VF_TMP/rk" || fail "no key line in the recovery key file"
grep -q "^wrote recovery key [0-9a-f]\{16\} to $VF_TMP/rk" "$VF_TMP/export.out" ||
	fail "export does not say what it wrote: $(cat "$VF_TMP/export.out")"
# the words are the key: typed back into a file (lower case, other breaks)
sed -n '/^  VFRK$/,/^$/p' "$VF_TMP/export.out" | tr 'A-Z' 'a-z' >"$VF_TMP/typed"
grep -q . "$VF_TMP/typed" || fail "--words printed no key: $(cat "$VF_TMP/export.out")"
RID=$(id_of recovery "$MNT")
[ -n "$RID" ] || fail "no recovery protector after export: $(ids "$MNT")"
cp "$VF_TMP/rk" "$VF_TMP/rk.saved"
refused "export over an existing file" "exists" \
	"$VAULTCTL" key export "$MNT" --out "$VF_TMP/rk"
cmp -s "$VF_TMP/rk" "$VF_TMP/rk.saved" || fail "export wrote over an existing file"
assert_eq 2 "$(ids "$MNT" | wc -w)" "protectors after a refused export"

# ---- acceptance: the keystore key gone, the recovery key alone opens -------
vf_umount
mv "$KEY" "$VF_TMP/key.saved"
rc=0
"$MOUNT_VAULTFS" "$VAULT" "$MNT" -o "keystore=$KS" >/dev/null 2>"$VF_TMP/err" || rc=$?
[ "$rc" != 0 ] || fail "the vault mounted without any key"
is_mounted "$MNT" && fail "a refused mount left a mount"
one_line "mount without the keystore key"
vf_mount "key_file=$VF_TMP/rk"
check_tree "$MNT/data" before
vf_umount
# the typed words open it too; one wrong character is caught by the checksum
"$VAULTCTL" status "$VAULT" --key-file "$VF_TMP/typed" >/dev/null ||
	fail "the typed recovery key does not open the vault"
sed '2s/./x/' "$VF_TMP/typed" | sed '2s/^x/y/' >"$VF_TMP/typo"
refused "a typo in the recovery key" "typo" \
	"$VAULTCTL" status "$VAULT" --key-file "$VF_TMP/typo"
one_line "a typo"
mv "$VF_TMP/key.saved" "$KEY"
vf_mount

# ---- add and remove; the last one stays -----------------------------------
head -c 64 /dev/urandom >"$VF_TMP/kf"
"$VAULTCTL" key add "$MNT" key-file "$VF_TMP/kf" >/dev/null || fail "key add key-file failed"
KID=$(id_of key-file "$MNT")
[ -n "$KID" ] || fail "no key-file protector after add"
"$VAULTCTL" key remove "$MNT" "$KID" >/dev/null || fail "key remove failed (no guard)"
[ -z "$(id_of key-file "$MNT")" ] || fail "the key file protector is still there"
refused "remove an unknown id" "no protector" "$VAULTCTL" key remove "$MNT" 0123456789abcdef
mkdir -m 0700 "$VF_TMP/v2"
"$VAULTCTL" init "$VF_TMP/v2/vault" --key-file "$VF_TMP/kf" >/dev/null
ONLY=$(id_of key-file "$VF_TMP/v2/vault" --key-file "$VF_TMP/kf")
refused "remove the last protector" "last" \
	"$VAULTCTL" key remove "$VF_TMP/v2/vault" "$ONLY" --key-file "$VF_TMP/kf"
one_line "remove the last protector"
"$VAULTCTL" status "$VF_TMP/v2/vault" --key-file "$VF_TMP/kf" >/dev/null ||
	fail "the vault whose last protector was kept does not open"

# ---- rotation: old keys stop opening, an old header copy does not -------
cp -a "$VAULT/vault.hdr" "$VF_TMP/old.hdr"
mkdir -m 0700 "$VF_TMP/ks-old"
cp -a "$KEY" "$VF_TMP/ks-old/"
"$VAULTCTL" key rotate "$MNT" >/dev/null 2>"$VF_TMP/err" &&
	fail "rotate without --out succeeded on a vault with a recovery key"
grep -q "give --out FILE" "$VF_TMP/err" || fail "unexpected: $(cat "$VF_TMP/err")"
"$VAULTCTL" key rotate "$MNT" --out "$VF_TMP/rk2" >/dev/null || fail "key rotate failed"
[ -f "$VF_TMP/rk2" ] || fail "rotate wrote no new recovery key"
cmp -s "$KEY" "$VF_TMP/ks-old/$VID.key" && fail "rotate kept the keystore key"
[ ! -e "$KEY.new" ] || fail "rotate left $KEY.new"
echo after-rotate >"$MNT/data/after"
vf_umount
refused "the old keystore key after rotate" "does not open" \
	"$VAULTCTL" status "$VAULT" --keystore "$VF_TMP/ks-old"
one_line "old keystore key"
refused "the old recovery key after rotate" "wrong recovery key" \
	"$VAULTCTL" status "$VAULT" --key-file "$VF_TMP/rk"
"$VAULTCTL" status "$VAULT" --key-file "$VF_TMP/rk2" >/dev/null ||
	fail "the new recovery key does not open the vault"
# what an attacker needs: a copy of the old header AND the old key
cp -a "$VAULT" "$VF_TMP/stolen"
cp "$VF_TMP/old.hdr" "$VF_TMP/stolen/vault.hdr"
"$VAULTCTL" status "$VF_TMP/stolen" --keystore "$VF_TMP/ks-old" >/dev/null ||
	fail "an old header with the old key should still open (docs/keys.md)"
vf_mount
assert_eq after-rotate "$(cat "$MNT/data/after")" "data written after the rotation"

# ---- the guard: remove, export, rotate, passphrase change need approval ---
PUB=$("$VAULTCTL" guard keygen --out "$VF_TMP/guard.key" 2>/dev/null)
"$VAULTCTL" guard attach "$MNT" "$PUB" >/dev/null || fail "guard attach failed"
approve() { "$VAULTCTL" guard approve --key "$VF_TMP/guard.key" "$1" 2>/dev/null; }
before=$(ids "$MNT")
RID2=$(id_of recovery "$MNT")
refused "remove without approval" "approval required" "$VAULTCTL" key remove "$MNT" "$RID2"
[ -n "$REQ" ] || fail "no request code for key remove"
assert_eq "$before" "$(ids "$MNT")" "protectors after a refused remove"
refused "export without approval" "approval required" \
	"$VAULTCTL" key export "$MNT" --out "$VF_TMP/rk3"
[ ! -e "$VF_TMP/rk3" ] || fail "a refused export wrote its file"
refused "rotate without approval" "approval required" \
	"$VAULTCTL" key rotate "$MNT" --out "$VF_TMP/rk3"
[ ! -e "$VF_TMP/rk3" ] || fail "a refused rotate wrote its file"
assert_eq "$before" "$(ids "$MNT")" "protectors after refused changes"
refused "remove without approval, again" "approval required" "$VAULTCTL" key remove "$MNT" "$RID2"
TOK=$(approve "$REQ") || fail "guard approve failed"
"$VAULTCTL" key remove "$MNT" "$RID2" --approval "$TOK" >/dev/null ||
	fail "key remove with the approval failed"
[ -z "$(id_of recovery "$MNT")" ] || fail "the recovery key is still there"
# a passphrase protector, and changing it
printf 'first passphrase\n' >"$VF_TMP/p1"
printf 'second passphrase\n' >"$VF_TMP/p2"
"$VAULTCTL" key add "$MNT" passphrase "$VF_TMP/p1" >/dev/null || fail "key add passphrase failed"
"$VAULTCTL" key list "$MNT" | grep -q "passphrase .* ops=3 mem=256MiB" ||
	fail "key list shows no Argon2id parameters: $("$VAULTCTL" key list "$MNT")"
refused "passphrase change without approval" "approval required" \
	"$VAULTCTL" passphrase change "$MNT" --current-passphrase-file "$VF_TMP/p1" \
	--new-passphrase-file "$VF_TMP/p2"
REQ_PC=$REQ
TOK=$(approve "$REQ_PC")
refused "passphrase change with a wrong current one" "wrong current passphrase" \
	"$VAULTCTL" passphrase change "$MNT" --current-passphrase-file "$VF_TMP/p2" \
	--new-passphrase-file "$VF_TMP/p1" --approval "$TOK"
"$VAULTCTL" passphrase change "$MNT" --current-passphrase-file "$VF_TMP/p1" \
	--new-passphrase-file "$VF_TMP/p2" --approval "$(approve "$REQ_PC")" >/dev/null ||
	fail "passphrase change with the approval failed"
vf_umount
refused "the old passphrase" "wrong passphrase" \
	"$VAULTCTL" status "$VAULT" --passphrase-file "$VF_TMP/p1"
"$VAULTCTL" status "$VAULT" --passphrase-file "$VF_TMP/p2" >/dev/null ||
	fail "the new passphrase does not open the vault"

# ---- tampering: a flipped byte in any wrapped copy ------------------------
"$VAULTCTL" key list "$VAULT" --keystore "$KS" --json >"$VF_TMP/list.json"
n=$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$VF_TMP/list.json")
[ "$n" -ge 2 ] || fail "expected at least two protectors, got $n"
for ((i = 0; i < n; i++)); do
	rm -rf "$VF_TMP/t"
	cp -a "$VAULT" "$VF_TMP/t"
	"$PYTHON" - "$VF_TMP/t/vault.hdr" "$i" <<'EOF'
import sys
p, i = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[36 + 128 * i + 56 + 40] ^= 0x01  # inside entry i's wrapped master key
open(p, "wb").write(b)
EOF
	refused "a flipped byte in wrapped copy $i" "" \
		"$VAULTCTL" status "$VF_TMP/t" --keystore "$KS"
	one_line "flipped byte in copy $i"
done

# ---- the audit log: every change, no key material -------------------------
vf_mount
"$VAULTCTL" audit list "$MNT" >"$VF_TMP/audit"
for what in "key export" "key add" "key remove" "key rotate" "passphrase change"; do
	grep -q "$what" "$VF_TMP/audit" || fail "no '$what' in the audit log"
done
for f in "$VF_TMP/rk" "$VF_TMP/rk2"; do
	k=$(sed -n 's/^VFRK-//p' "$f" | tr -d '-')
	grep -qi "${k:0:20}" "$VF_TMP/audit" && fail "the audit log holds a recovery key"
done
grep -q "second passphrase\|first passphrase" "$VF_TMP/audit" && fail "the audit log holds a passphrase"
"$VAULTCTL" audit verify "$MNT" >/dev/null || fail "audit verify failed"
vf_umount
log "ok"
