#!/usr/bin/env bash
# 0060-guard-key-passphrase: a guard key file sealed under a passphrase
# (docs/guard.md, Protecting the guard key): keygen --passphrase-file
# writes a "vaultfs-guard-key-2" file whose public key is attached as any
# other; a critical operation is refused without a token; approve without
# the passphrase (no terminal), with a wrong one, or with a copy whose
# sealed bytes were altered fails with one line; with the passphrase file
# the token works.  A user with no role cannot use a token of a key of its
# own.  guard passphrase changes and removes the passphrase.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

chmod 0711 "$VF_TMP"
vf_init
vf_mount

# one_line WHAT PATTERN command...: exit 1 and exactly one line on stderr
# holding PATTERN
one_line() {
	local what=$1 pat=$2 rc=0
	shift 2
	"$@" >"$VF_TMP/out" 2>"$VF_TMP/err" </dev/null || rc=$?
	assert_eq 1 "$rc" "exit status of $what ($(cat "$VF_TMP/err"))"
	assert_eq 1 "$(wc -l <"$VF_TMP/err")" "$what: stderr lines ($(cat "$VF_TMP/err"))"
	grep -qF -- "$pat" "$VF_TMP/err" || fail "$what: expected '$pat', got: $(cat "$VF_TMP/err")"
	[ ! -s "$VF_TMP/out" ] || fail "$what printed: $(cat "$VF_TMP/out")"
	log "$what: $(cut -c1-150 "$VF_TMP/err")"
}

# ---- the guard holder, as another user with a directory of its own --------
GUARD_UID=5100
GH=$VF_TMP/guard-holder
mkdir -m 0700 "$GH"
printf 'pass phrase one\n' >"$GH/pass"
printf 'pass phrase One\n' >"$GH/wrong"
printf 'pass phrase two\n' >"$GH/pass2"
chmod 0600 "$GH"/pass*  "$GH/wrong"
chown -R "$GUARD_UID:$GUARD_UID" "$GH"
as_guard() { setpriv --reuid $GUARD_UID --regid $GUARD_UID --clear-groups "$@"; }
KEY=$GH/guard.key
PUB=$(as_guard "$VAULTCTL" guard keygen --out "$KEY" --passphrase-file "$GH/pass" 2>/dev/null) ||
	fail "guard keygen --passphrase-file failed"
case $PUB in vfguard1:*) assert_eq 52 "${#PUB}" "public key length" ;;
*) fail "keygen printed '$PUB', not a public key" ;; esac
assert_eq "600 $GUARD_UID" "$(stat -c '%a %u' "$KEY")" "key file mode and owner"
case $(head -c 20 "$KEY") in "vaultfs-guard-key-2 ") ;; *) fail "not a protected key file: $(head -c 20 "$KEY")" ;; esac

"$VAULTCTL" guard attach "$MNT" "$PUB" >/dev/null || fail "guard attach failed"
"$VAULTCTL" softdelete show "$MNT" --json | grep -q '"on":true' || fail "soft delete is not on"
needs_req() {
	"$VAULTCTL" softdelete set "$MNT" --off >/dev/null 2>"$VF_TMP/err" &&
		fail "softdelete set --off without a token worked"
	REQ=$(sed -n 's/^request: //p' "$VF_TMP/err")
	case $REQ in vfreq2:*) ;; *) fail "no request code in: $(cat "$VF_TMP/err")" ;; esac
}
needs_req

# ---- approving needs the passphrase ------------------------------------------
one_line "approve with no passphrase and no terminal" "give it in a file" \
	as_guard setsid -w "$VAULTCTL" guard approve --key "$KEY" "$REQ"
one_line "approve with a wrong passphrase" "wrong passphrase for guard key file" \
	as_guard "$VAULTCTL" guard approve --key "$KEY" --passphrase-file "$GH/wrong" "$REQ"
# a copy with one byte of the sealed key changed (a base64 digit in the
# middle of the ciphertext)
as_guard "$PYTHON" -c '
import os, sys
t = open(sys.argv[1]).read()
i = 20 + 43 + 60
t = t[:i] + ("A" if t[i] != "A" else "B") + t[i + 1:]
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, t.encode())' "$KEY" "$GH/altered.key"
one_line "approve with an altered copy" "wrong passphrase for guard key file" \
	as_guard "$VAULTCTL" guard approve --key "$GH/altered.key" --passphrase-file "$GH/pass" "$REQ"
"$VAULTCTL" softdelete show "$MNT" --json | grep -q '"on":true' || fail "soft delete went off"

TOK=$(as_guard "$VAULTCTL" guard approve --key "$KEY" --passphrase-file "$GH/pass" "$REQ" 2>/dev/null) ||
	fail "approve with the passphrase file failed"
case $TOK in vftok2:*) ;; *) fail "approve printed '$TOK', not a token" ;; esac
"$VAULTCTL" softdelete set "$MNT" --off --approval "$TOK" >/dev/null ||
	fail "softdelete set --off with the approval failed"
"$VAULTCTL" softdelete show "$MNT" --json | grep -q '"on":false' || fail "soft delete is still on"
"$VAULTCTL" softdelete set "$MNT" --on >/dev/null

# ---- a user with no role and a key of its own ------------------------------------
NOROLE=5201
NR=$VF_TMP/norole
mkdir -m 0700 "$NR"
chown "$NOROLE:$NOROLE" "$NR"
as_norole() { setpriv --reuid $NOROLE --regid $NOROLE --clear-groups "$@"; }
as_norole "$VAULTCTL" guard keygen --out "$NR/own.key" >/dev/null 2>&1
needs_req
OWN=$(as_norole "$VAULTCTL" guard approve --key "$NR/own.key" "$REQ" 2>/dev/null)
if as_norole "$VAULTCTL" softdelete set "$MNT" --off --approval "$OWN" >/dev/null 2>&1; then
	fail "a user with no role turned soft delete off with its own token"
fi
one_line "the owner with a token of a key not attached" "does not verify" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$OWN"
"$VAULTCTL" softdelete show "$MNT" --json | grep -q '"on":true' || fail "soft delete went off"

# ---- changing and removing the passphrase ------------------------------------------
as_guard "$VAULTCTL" guard passphrase "$KEY" --passphrase-file "$GH/pass" \
	--new-passphrase-file "$GH/pass2" >/dev/null || fail "guard passphrase (change) failed"
assert_eq "600 $GUARD_UID" "$(stat -c '%a %u' "$KEY")" "key file mode and owner after the change"
[ ! -e "$KEY.new" ] || fail "a temporary file was left"
one_line "approve with the old passphrase" "wrong passphrase for guard key file" \
	as_guard "$VAULTCTL" guard approve --key "$KEY" --passphrase-file "$GH/pass" "$REQ"
as_guard "$VAULTCTL" guard passphrase "$KEY" --passphrase-file "$GH/pass2" --remove >/dev/null ||
	fail "guard passphrase --remove failed"
case $(head -c 20 "$KEY") in "vaultfs-guard-key-1 ") ;; *) fail "the passphrase was not removed" ;; esac
TOK=$(as_guard setsid -w "$VAULTCTL" guard approve --key "$KEY" "$REQ" 2>/dev/null </dev/null) ||
	fail "approve with the unprotected key failed"
"$VAULTCTL" softdelete set "$MNT" --off --approval "$TOK" >/dev/null ||
	fail "the token of the same key, unprotected, does not work"
vf_umount
log "ok"
