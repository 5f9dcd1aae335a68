#!/usr/bin/env bash
# 0033-audit-records: the audit log says what happened, in order, and a
# read-only mount writes nothing (issue 11, Low list).
#   - every deletion is a record naming its path (not a count per minute);
#   - an explicit purge says what went (path, size, files); an expired
#     one is a record per item with its path and size;
#   - ids and times go up together, also when a count of denied accesses
#     for a minute is written after later records;
#   - `-o ro`, with reads, refused writes and accesses by a uid with no
#     role, leaves every file of the vault directory as it was (no audit
#     record, no catalog write at all).
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

chmod 0711 "$VF_TMP"
vf_init
vf_mount
chmod 0755 "$MNT"
mkdir -p "$MNT/dir/sub"
printf 'twelve bytes' >"$MNT/dir/sub/f1"
printf 'x' >"$MNT/dir/f2"
head -c 5000 /dev/zero >"$MNT/big"
printf 'gone' >"$MNT/soon"
# a uid with no role is refused (counted per minute, written later)
setpriv --reuid 5301 --regid 5301 --clear-groups ls "$MNT" >/dev/null 2>&1 || true
rm -r "$MNT/dir"
rm "$MNT/big"
"$VAULTCTL" softdelete purge "$MNT" big >/dev/null || fail "purge big"
"$VAULTCTL" audit list "$MNT" --json >"$VF_TMP/a1.json"

"$PYTHON" - "$VF_TMP/a1.json" <<'EOF' || fail "audit records: $(cat "$VF_TMP/a1.json")"
import json, sys
recs = json.load(open(sys.argv[1]))
dels = {(r["target"], r["detail"]) for r in recs if r["action"] == "delete"}
want = {("/dir/sub/f1", "unlink"), ("/dir/sub", "rmdir"),
        ("/dir/f2", "unlink"), ("/dir", "rmdir"), ("/big", "unlink")}
assert want <= dels, ("deletions", dels)
assert not any("count=" in (r["detail"] or "") for r in recs
               if r["action"] == "delete"), "deletions still counted"
p = [r for r in recs if r["action"] == "softdelete purge" or
     (r["target"] or "").endswith("big") and r["action"] != "delete"]
assert p and "size=5000" in p[-1]["detail"] and "files=1" in p[-1]["detail"], ("purge", p)
ids = [r["id"] for r in recs]
ts = [r["time"] for r in recs]
assert ids == sorted(ids) and ts == sorted(ts), ("order", list(zip(ids, ts)))
EOF

# An expired purge: soft delete keeps items 14 days by default, so the vault
# clock moves 15 days (the daemon runs fast, unmounted in between).
rm "$MNT/soon"
vf_umount
vf_need_faketime
vf_pass_days 15
vf_mount maintain=1
for _ in $(seq 1 60); do
	"$VAULTCTL" audit list "$MNT" --json >"$VF_TMP/a2.json"
	grep -q '"expired"' "$VF_TMP/a2.json" && break
	sleep 0.5
done
"$PYTHON" - "$VF_TMP/a2.json" <<'EOF' || fail "expired purge: $(cat "$VF_TMP/a2.json")"
import json, sys
recs = json.load(open(sys.argv[1]))
exp = [r for r in recs if r["action"] == "purge" and r["result"] == "expired"]
names = {r["target"] for r in exp}
assert any(n and n.endswith("soon") for n in names), ("expired purge names", exp)
assert any("size=4" in r["detail"] for r in exp if r["target"].endswith("soon")), exp
ids = [r["id"] for r in recs]; ts = [r["time"] for r in recs]
assert ids == sorted(ids) and ts == sorted(ts), ("order", list(zip(ids, ts)))
EOF
"$VAULTCTL" audit verify "$MNT" >/dev/null || fail "audit verify"
vf_umount

# Read-only: nothing in the vault directory changes.
snap() { (cd "$VAULT" && find . -type f -exec sha256sum {} + | sort); }
before=$(snap)
nbefore=$("$VAULTCTL" audit list "$VAULT" --keystore "$KS" | wc -l)
before=$(snap) # the offline audit list itself writes nothing either
vf_mount ro
cat "$MNT/dir" 2>/dev/null || true
ls -R "$MNT" >/dev/null
cat "$MNT/.softdeleted/"* >/dev/null 2>&1 || true
printf 'no' >"$MNT/new" 2>/dev/null && fail "a write on a read-only mount succeeded"
rm -f "$MNT/missing" 2>/dev/null || true
setpriv --reuid 5301 --regid 5301 --clear-groups ls "$MNT" >/dev/null 2>&1 || true
setpriv --reuid 5301 --regid 5301 --clear-groups "$VAULTCTL" status "$MNT" >/dev/null 2>&1 || true
"$VAULTCTL" status "$MNT" >/dev/null
"$VAULTCTL" audit list "$MNT" >/dev/null
vf_umount
after=$(snap)
[ "$before" = "$after" ] || fail "a read-only mount changed the vault: $(diff <(echo "$before") <(echo "$after"))"
assert_eq "$nbefore" "$("$VAULTCTL" audit list "$VAULT" --keystore "$KS" | wc -l)" "audit records after a read-only mount"
log "ok"
