#!/usr/bin/env bash
# 0052-ssh-guard: guards with OpenSSH keys, and a quorum of guards, on a
# real mount.  A guard holder's ssh-keygen Ed25519 key is attached; it
# approves `softdelete set --off` by signing the request vaultctl printed
# with `ssh-keygen -Y sign -n vaultfs`.  Signatures in another namespace,
# over another request, by a key that is not attached, and truncated or
# garbled armor are refused with one line and change nothing.  With
# `--quorum 2`, one approval (or two copies of it) is refused and two
# guards' approvals pass, once; changing the guards needs the quorum.  A
# user with no role cannot attach guards.  (An sk key signature without
# user presence is crafted in tests/unit/t-sshsig.c: no hardware key here.)
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

command -v ssh-keygen >/dev/null || skip "ssh-keygen is not installed"
chmod 0711 "$VF_TMP"
vf_init
vf_mount

# refused WHAT PATTERN command...: exit 1, one line (and a request line at
# most) on stderr with PATTERN in the first; the request code in $REQ
VF_REFUSED_PREFIX="vaultctl: "
refused() {
	refused_req "$@"
	[ -n "$REQ" ] || assert_eq 1 "$(wc -l <"$VF_TMP/err")" "$1: stderr lines"
}

# ---- the guard holders: ssh-keygen keys, each in a directory of its own
# ("another machine"; ssh-keygen wants a passwd entry, so it runs as root)
G1=$VF_TMP/g1 G2=$VF_TMP/g2 OUT=$VF_TMP/outsider
for dir in "$G1" "$G2" "$OUT"; do
	mkdir -m 0700 "$dir"
	ssh-keygen -q -t ed25519 -N '' -C "guard ${dir##*/}" -f "$dir/id_ed25519"
done
as_uid() { local uid=$1; shift; setpriv --reuid "$uid" --regid "$uid" --clear-groups "$@"; }
# sign UID DIR NAMESPACE FILE: what a guard holder runs on the request file
sign() {
	ssh-keygen -Y sign -n "$3" -f "$2/id_ed25519" "$4" 2>/dev/null ||
		fail "ssh-keygen -Y sign failed"
}
# approval DIR UID NAME [NAMESPACE]: the request $REQ saved as the guard
# holder does, signed; prints the approval (request line + signature)
approval() {
	local dir=$1 uid=$2 name=$3 ns=${4:-vaultfs}
	printf '%s\n' "$REQ" >"$dir/$name"
	rm -f "$dir/$name.sig"
	sign "$uid" "$dir" "$ns" "$dir/$name"
	cat "$dir/$name" "$dir/$name.sig"
}

# ---- no role: a stolen uid without a role attaches nothing ---------------------
refused "guard attach by a user with no role" "needs the owner role" \
	as_uid 5201 "$VAULTCTL" guard attach "$MNT" "$(cat "$G1/id_ed25519.pub")"

# ---- one OpenSSH guard ----------------------------------------------------------
refused "attach a public key of another type" "is not a guard public key" \
	"$VAULTCTL" guard attach "$MNT" "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x"
"$VAULTCTL" guard attach "$MNT" "$(cat "$G1/id_ed25519.pub")" >/dev/null ||
	fail "attaching an ssh-ed25519 key failed"
"$VAULTCTL" guard show "$MNT" --json | "$PYTHON" -c '
import json, sys
g = json.load(sys.stdin)
want = " ".join(open(sys.argv[1]).read().split()[:2])
assert g["attached"] and g["quorum"] == 1 and g["public_key"] == want, g' "$G1/id_ed25519.pub"

state() { "$VAULTCTL" softdelete show "$MNT" --json; "$VAULTCTL" guard show "$MNT"; }
state >"$VF_TMP/state.before"
unchanged() { state | diff -u "$VF_TMP/state.before" - || fail "$1 changed the vault"; }

refused "softdelete set --off without approval" "approval required: ask the guard holder to sign the request with ssh-keygen -Y sign -n vaultfs" \
	"$VAULTCTL" softdelete set "$MNT" --off
REQ_A=$REQ
[ -n "$REQ_A" ] || fail "no request code"
# a second request for the same change: a different nonce
refused "softdelete set --off, second request" "approval required" \
	"$VAULTCTL" softdelete set "$MNT" --off
REQ_B=$REQ

REQ=$REQ_A
GOOD=$(approval "$G1" 5101 req-a)
OTHER_NS=$(approval "$G1" 5101 req-a-git git)
OUTSIDER=$(approval "$OUT" 5103 req-a-out)
REQ=$REQ_B
GOOD_B=$(approval "$G1" 5101 req-b)
# the signature of request A presented with request B
SWAPPED=$(printf '%s\n' "$REQ_B"; cat "$G1/req-a.sig")
TRUNC=$(printf '%s\n' "$REQ_A"; head -n 3 "$G1/req-a.sig")
GARBLED=$(printf '%s\n' "$REQ_A"; sed '2s/^\(.\{20\}\)./\1%/' "$G1/req-a.sig")
FLIPPED=$(printf '%s\n' "$REQ_A"; "$PYTHON" -c '
import sys
lines = open(sys.argv[1]).read().split("\n")
l = lines[3]
lines[3] = l[:10] + ("A" if l[10] != "A" else "B") + l[11:]
print("\n".join(lines), end="")' "$G1/req-a.sig")

refused "a signature in namespace git" "namespace 'git', not 'vaultfs'" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$OTHER_NS"
refused "a signature over another request" "does not verify" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$SWAPPED"
refused "a signature by a key not attached" "not an attached guard" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$OUTSIDER"
refused "a truncated armor" "is malformed" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$TRUNC"
refused "a garbled armor" "is malformed" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$GARBLED"
refused "a signature with a changed byte" "does not verify" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$FLIPPED"
unchanged "refused ssh approvals"

# the good one works, once
"$VAULTCTL" softdelete set "$MNT" --off --approval "$GOOD" >/dev/null ||
	fail "softdelete set --off with the ssh approval failed: $(cat "$VF_TMP/err")"
"$VAULTCTL" softdelete show "$MNT" --json | grep -q '"on":false' || fail "soft delete is still on"
"$VAULTCTL" softdelete set "$MNT" --on >/dev/null
refused "the same ssh approval again" "approval was already used" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$GOOD"

# ---- a quorum of two ---------------------------------------------------------------
refused "a quorum larger than the keys" "quorum 3 is not between 1 and the 2" \
	"$VAULTCTL" guard attach "$MNT" "$(cat "$G1/id_ed25519.pub")" "$(cat "$G2/id_ed25519.pub")" --quorum 3
# changing the guards is critical: the current guard (quorum 1) approves
refused "attach two guards without approval" "approval required" \
	"$VAULTCTL" guard attach "$MNT" "$(cat "$G1/id_ed25519.pub")" "$(cat "$G2/id_ed25519.pub")" --quorum 2
GA=$(approval "$G1" 5101 req-attach)
"$VAULTCTL" guard attach "$MNT" "$(cat "$G1/id_ed25519.pub")" "$(cat "$G2/id_ed25519.pub")" \
	--quorum 2 --approval "$GA" >/dev/null || fail "attaching two guards with approval failed: $(cat "$VF_TMP/err")"
"$VAULTCTL" guard show "$MNT" --json | grep -q '"quorum":2' || fail "quorum is not 2"

refused "softdelete set --off under quorum 2" "approval required from 2 of the 2 guards" \
	"$VAULTCTL" softdelete set "$MNT" --off
A1=$(approval "$G1" 5101 req-q1)
A2=$(approval "$G2" 5102 req-q2)
refused "one approval of two needed" "approved by 1 of the 2 guards needed" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$A1"
refused "two copies of one guard's approval" "approved by 1 of the 2 guards needed" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$A1" --approval "$A1"
refused "a second approval for another request" "for another request" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$A1" --approval "$GOOD_B"
"$VAULTCTL" softdelete show "$MNT" --json | grep -q '"on":true' || fail "soft delete went off"
"$VAULTCTL" softdelete set "$MNT" --off --approval "$A1" --approval "$A2" >/dev/null ||
	fail "two guards' approvals were refused: $(cat "$VF_TMP/err")"
"$VAULTCTL" softdelete show "$MNT" --json | grep -q '"on":false' || fail "soft delete is still on"
"$VAULTCTL" softdelete set "$MNT" --on >/dev/null
refused "two approvals used again" "approval was already used" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$A2" --approval "$A1"

# detaching needs the quorum too
refused "detach without approval" "approval required from 2" \
	"$VAULTCTL" guard detach "$MNT"
D1=$(approval "$G1" 5101 req-d1)
D2=$(approval "$G2" 5102 req-d2)
refused "detach with one approval" "approved by 1 of the 2" \
	"$VAULTCTL" guard detach "$MNT" --approval "$D1"
"$VAULTCTL" guard detach "$MNT" --approval "$D2" --approval "$D1" >/dev/null ||
	fail "detach with two approvals failed"

# the story in the audit log and the alerts
"$VAULTCTL" audit list "$MNT" >"$VF_TMP/audit"
grep -q "	approval	softdelete.off	refused	.*namespace 'git'" "$VF_TMP/audit" ||
	fail "the audit log lacks the refused namespace"
grep -q "	approval	softdelete.off	allowed	.*approved by guards [0-9a-f]*,[0-9a-f]*" "$VF_TMP/audit" ||
	fail "the audit log lacks the quorum approval"
# alerts are written by the daemon's alert thread, a moment after the refusal
for ((i = 0; i < 100; i++)); do
	"$VAULTCTL" alerts list "$MNT" >"$VF_TMP/alerts"
	grep -q "refused (bad approval)" "$VF_TMP/alerts" && break
	sleep 0.1
done
grep -q "refused (bad approval)" "$VF_TMP/alerts" ||
	fail "no alert for the refused approvals: $(cat "$VF_TMP/alerts")"
"$VAULTCTL" audit verify "$MNT" >/dev/null || fail "audit verify failed"
vf_umount
log "ok"
