#!/usr/bin/env bash
# 0019-guard-audit: multi-user authorization (README.md, The guard) end to end on a real
# mount: a guard key is made and attached; a critical operation without a
# token fails with a request code; the guard holder approves it offline, as
# another user on "another machine" (no vault, no mount); the retry with
# --approval works once; forged, expired, other-operation and
# other-parameter tokens are refused with their one-line reasons and change
# nothing; role grants of Contributor, replacing and detaching the guard
# need approval too.  The audit log (README.md, Audit log) tells the story and verifies.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

chmod 0711 "$VF_TMP"
vf_init
vf_mount

# refused WHAT PATTERN command...: exit 1, "vaultctl: " and PATTERN in the
# first line of stderr; the request code (if any) in $REQ
VF_REFUSED_PREFIX="vaultctl: "
refused() { refused_req "$@"; }
# needs_request WHAT command...: refused for want of an approval: two lines,
# the reason naming the command to run, then "request: CODE"
needs_request() {
	local what=$1
	shift
	refused "$what" "approval required: ask the guard holder to run: vaultctl guard approve --key FILE vfreq2:" "$@"
	[ -n "$REQ" ] || fail "$what: no request line in: $(cat "$VF_TMP/err")"
	assert_eq 2 "$(wc -l <"$VF_TMP/err")" "$what: stderr lines"
	case $REQ in vfreq2:*) ;; *) fail "$what: bad request code '$REQ'" ;; esac
	grep -qF "$REQ" <(head -n 1 "$VF_TMP/err") || fail "$what: the reason does not name the request"
}

# ---- the guard holder's side: a key made as another user, on "another
# machine" (a directory of its own; no vault, no mount, no root) -----------
GUARD_UID=5100
GH=$VF_TMP/guard-holder
mkdir -m 0700 "$GH"
chown "$GUARD_UID:$GUARD_UID" "$GH"
as_guard() { setpriv --reuid $GUARD_UID --regid $GUARD_UID --clear-groups "$@"; }
PUB=$(as_guard "$VAULTCTL" guard keygen --out "$GH/guard.key" 2>/dev/null) || fail "guard keygen failed"
case $PUB in vfguard1:*) ;; *) fail "keygen printed '$PUB', not a public key" ;; esac
assert_eq "600 $GUARD_UID" "$(stat -c '%a %u' "$GH/guard.key")" "guard key file mode and owner"
if as_guard "$VAULTCTL" guard keygen --out "$GH/guard.key" 2>/dev/null; then
	fail "keygen overwrote an existing key file"
fi
# a second key: what a forger without the guard's key has
"$VAULTCTL" guard keygen --out "$VF_TMP/forger.key" >/dev/null 2>&1
approve() { # REQUEST [args...]: the token on stdout, the summary kept
	as_guard "$VAULTCTL" guard approve --key "$GH/guard.key" "$@" 2>"$GH.summary"
}

# ---- arming the vault -----------------------------------------------------------
"$VAULTCTL" guard show "$MNT" | grep -q "none" || fail "a new vault has a guard"
refused "attach a malformed key" "is not a guard public key" \
	"$VAULTCTL" guard attach "$MNT" vfguard1:garbage
"$VAULTCTL" guard attach "$MNT" "$PUB" >/dev/null || fail "guard attach failed"
"$VAULTCTL" guard show "$MNT" --json | "$PYTHON" -c '
import json, sys
g = json.load(sys.stdin)
assert g["attached"] and g["public_key"] == sys.argv[1] and len(g["fingerprint"]) == 16, g' "$PUB"
FPR=$("$VAULTCTL" guard show "$MNT" --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')

# what must not change while tokens are refused
echo keep >"$MNT/keep.txt"
rm "$MNT/keep.txt"
echo keep2 >"$MNT/keep2.txt"
rm "$MNT/keep2.txt"
"$VAULTCTL" softdelete set "$MNT" --days 30 >/dev/null # longer: not critical
state() { "$VAULTCTL" softdelete show "$MNT" --json; ls "$MNT/.softdeleted"; "$VAULTCTL" role list "$MNT"; }
state >"$VF_TMP/state.before"
unchanged() { state | diff -u "$VF_TMP/state.before" - || fail "$1 changed the vault"; }

# ---- the approve flow -------------------------------------------------------------
needs_request "softdelete set --off without a token" "$VAULTCTL" softdelete set "$MNT" --off
REQ_OFF=$REQ
unchanged "a refused --off"
TOK=$(approve "$REQ_OFF") || fail "guard approve failed: $(cat "$GH.summary")"
case $TOK in vftok2:*) ;; *) fail "approve printed '$TOK', not a token" ;; esac
grep -q "softdelete.off" "$GH.summary" || fail "the summary does not name the operation: $(cat "$GH.summary")"
"$VAULTCTL" softdelete set "$MNT" --off --approval "$TOK" >/dev/null ||
	fail "softdelete set --off with the approval failed"
"$VAULTCTL" softdelete show "$MNT" --json | grep -q '"on":false' || fail "soft delete is still on"
"$VAULTCTL" softdelete set "$MNT" --on >/dev/null # turning it on needs nothing
refused "the same token again" "approval was already used" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$TOK"
unchanged "a reused token"

# ---- tokens that must not work ---------------------------------------------------
needs_request "softdelete set --off, second request" "$VAULTCTL" softdelete set "$MNT" --off
REQ_OFF=$REQ
# forged: signed by another key
FORGED=$("$VAULTCTL" guard approve --key "$VF_TMP/forger.key" "$REQ_OFF" 2>/dev/null)
refused "a token of another key" "does not verify" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$FORGED"
# forged: a valid token with one character changed in its signature
GOOD=$(approve "$REQ_OFF")
BAD=$(printf '%s' "$GOOD" | "$PYTHON" -c '
import sys
t = sys.stdin.read()
i = len(t) - 5
print(t[:i] + ("A" if t[i] != "A" else "B") + t[i + 1:])')
refused "a token with a changed signature" "does not verify" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$BAD"
refused "garbage as a token" "malformed" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "vftok2:not-a-token"
# expired
SHORT=$(approve "$REQ_OFF" --ttl 1s)
sleep 2
refused "an expired token" "approval expired" \
	"$VAULTCTL" softdelete set "$MNT" --off --approval "$SHORT"
# another operation: the --off approval for a purge
refused "a token for another operation" "approval is for operation softdelete.off, not softdelete.purge" \
	"$VAULTCTL" softdelete purge "$MNT" keep.txt --approval "$GOOD"
# other parameters: the approval to purge keep.txt used for keep2.txt
needs_request "softdelete purge without a token" "$VAULTCTL" softdelete purge "$MNT" keep.txt
TOK_PURGE=$(approve "$REQ")
refused "a token for other parameters" "approval is for other parameters" \
	"$VAULTCTL" softdelete purge "$MNT" keep2.txt --approval "$TOK_PURGE"
# and shorter days than approved
needs_request "a shorter retention" "$VAULTCTL" softdelete set "$MNT" --days 20
TOK_DAYS=$(approve "$REQ")
refused "a days token for other days" "approval is for other parameters" \
	"$VAULTCTL" softdelete set "$MNT" --days 14 --approval "$TOK_DAYS"
unchanged "refused tokens"
# the good ones still work, each once
"$VAULTCTL" softdelete set "$MNT" --off --approval "$GOOD" >/dev/null || fail "the good --off token failed"
"$VAULTCTL" softdelete set "$MNT" --on >/dev/null
"$VAULTCTL" softdelete purge "$MNT" keep.txt --approval "$TOK_PURGE" >/dev/null || fail "the purge token failed"
# (listed, not looked up: the kernel may still hold the purged name's
# entry from the listings above)
ls "$MNT/.softdeleted" | grep -qx keep.txt && fail "the approved purge left the item"
ls "$MNT/.softdeleted" | grep -qx keep2.txt || fail "the other item was purged"
"$VAULTCTL" softdelete set "$MNT" --days 20 --approval "$TOK_DAYS" >/dev/null || fail "the days token failed"
"$VAULTCTL" softdelete show "$MNT" --json | grep -q '"days":20' || fail "retention is not 20 days"
rc=0
as_guard "$VAULTCTL" guard approve --key "$GH/guard.key" "$REQ" --ttl 90d 2>/dev/null || rc=$?
assert_eq 2 "$rc" "exit status of a --ttl over 30 days"

# ---- other critical operations ----------------------------------------------------
"$VAULTCTL" role grant "$MNT" operator user:1234 >/dev/null || fail "an operator grant needs no approval"
needs_request "a contributor grant" "$VAULTCTL" role grant "$MNT" contributor user:1234
T=$(approve "$REQ")
refused "a grant token for another uid" "other parameters" \
	"$VAULTCTL" role grant "$MNT" contributor user:1235 --approval "$T"
"$VAULTCTL" role grant "$MNT" contributor user:1234 --approval "$T" >/dev/null || fail "the approved grant failed"
"$VAULTCTL" role list "$MNT" | grep -qx "user:1234	contributor" || fail "the approved grant is missing"
mkdir "$MNT/sealed"
"$VAULTCTL" immutable set "$MNT" sealed >/dev/null
needs_request "immutable clear" "$VAULTCTL" immutable clear "$MNT" /sealed
T=$(approve "$REQ")
"$VAULTCTL" immutable clear "$MNT" sealed --approval "$T" >/dev/null || fail "the approved clear failed"
"$VAULTCTL" policy set "$MNT" --keep-last 100 --approval bogus 2>/dev/null &&
	fail "a weaker policy with a bogus token succeeded"
needs_request "a weaker retention policy" "$VAULTCTL" policy set "$MNT" --keep-last 100
T=$(approve "$REQ")
"$VAULTCTL" policy set "$MNT" --keep-last 100 --approval "$T" >/dev/null || fail "the approved policy failed"
"$VAULTCTL" policy set "$MNT" --keep-last 200 >/dev/null || fail "a stronger policy needed an approval"
# replacing and detaching the guard
NEWPUB=$("$VAULTCTL" guard keygen --out "$VF_TMP/new.key" 2>/dev/null)
needs_request "replacing the guard" "$VAULTCTL" guard attach "$MNT" "$NEWPUB"
T=$(approve "$REQ")
"$VAULTCTL" guard attach "$MNT" "$NEWPUB" --approval "$T" >/dev/null || fail "the approved replacement failed"
needs_request "detaching the guard" "$VAULTCTL" guard detach "$MNT"
REQ_DETACH=$REQ
T=$(approve "$REQ_DETACH")
refused "the old guard's token" "does not verify" \
	"$VAULTCTL" guard detach "$MNT" --approval "$T"
T=$("$VAULTCTL" guard approve --key "$VF_TMP/new.key" "$REQ_DETACH" 2>/dev/null)
"$VAULTCTL" guard detach "$MNT" --approval "$T" >/dev/null || fail "the approved detach failed"
"$VAULTCTL" guard show "$MNT" | grep -q none || fail "the guard is still attached"
"$VAULTCTL" softdelete set "$MNT" --off >/dev/null || fail "without a guard --off needs no approval"
"$VAULTCTL" softdelete set "$MNT" --on >/dev/null

# ---- the audit log tells the story and verifies ---------------------------------
vf_remount
"$VAULTCTL" audit list "$MNT" >"$VF_TMP/audit"
"$VAULTCTL" audit list "$MNT" --json >"$VF_TMP/audit.json"
"$PYTHON" - "$VF_TMP/audit.json" "$FPR" <<'EOF' || fail "the audit log does not tell the story (above)"
import json, sys
recs = json.load(open(sys.argv[1]))
fpr = sys.argv[2]
ids = [r["id"] for r in recs]
assert ids == list(range(1, len(recs) + 1)), "ids are not 1..N"
def find(action, target=None, result=None, detail=None):
    return [r for r in recs if r["action"] == action
            and (target is None or r["target"] == target)
            and (result is None or r["result"] == result)
            and (detail is None or detail in (r["detail"] or ""))]
def need(n, *a, **k):
    got = find(*a, **k)
    if len(got) < n:
        sys.exit("want %d x %r %r, got %d" % (n, a, k, len(got)))
need(1, "mount")
need(1, "unmount")
need(1, "guard attach", target=fpr, result="ok")
need(2, "approval", "softdelete.off", "requested")
need(2, "approval", "softdelete.off", "allowed", "approved by guard " + fpr)
for why in ("already used", "does not verify", "malformed", "expired",
            "for operation softdelete.off", "other parameters"):
    need(1, "approval", result="refused", detail=why)
need(1, "softdelete set", result="ok", detail="off")
need(1, "softdelete purge", "keep.txt", "ok")
need(1, "role grant", "user:1234", "ok", "role=contributor")
need(1, "immutable clear", "sealed", "ok")
need(1, "policy set", result="ok", detail="keep-last=100")
need(1, "guard detach", result="ok")
need(1, "approval", "softdelete.off", "allowed", "no guard attached")
# every approval decision of a refused operation is followed by no change
for r in recs:
    assert r["uid"] == 0 or r["uid"] is None, r
EOF
grep -q "	approval	softdelete.off	requested	" "$VF_TMP/audit" || fail "text audit list lacks the request"
"$VAULTCTL" audit list "$MNT" --since 2099-01-01T00:00:00Z | wc -l | grep -qx 0 ||
	fail "audit list --since the future listed records"
[ "$("$VAULTCTL" audit list "$MNT" --since 1h | wc -l)" = "$(wc -l <"$VF_TMP/audit")" ] ||
	fail "audit list --since 1h missed records"
rc=0
"$VAULTCTL" audit list "$MNT" --since yesterday 2>/dev/null || rc=$?
assert_eq 2 "$rc" "exit status of a bad --since"
"$VAULTCTL" audit verify "$MNT" >"$VF_TMP/verify" || fail "audit verify failed: $(cat "$VF_TMP/verify")"
grep -q intact "$VF_TMP/verify" || fail "audit verify said: $(cat "$VF_TMP/verify")"
"$VAULTCTL" audit verify "$MNT" --json | grep -q '"ok":true' || fail "audit verify --json"
# a reader may read the log; an unknown uid may not
"$VAULTCTL" role grant "$MNT" reader user:5200 >/dev/null
setpriv --reuid 5200 --regid 5200 --clear-groups "$VAULTCTL" audit verify "$MNT" >/dev/null ||
	fail "a reader cannot verify the audit log"
if setpriv --reuid 5201 --regid 5201 --clear-groups "$VAULTCTL" audit list "$MNT" 2>/dev/null; then
	fail "a uid with no role listed the audit log"
fi
vf_umount
# offline too
"$VAULTCTL" audit verify "$VAULT" --keystore "$KS" >/dev/null || fail "offline audit verify failed"
log "ok"
