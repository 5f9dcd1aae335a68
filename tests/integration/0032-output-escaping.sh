#!/usr/bin/env bash
# 0032-output-escaping: file names are bytes, and whoever can name a file
# must not be able to drive the terminal of the administrator who lists it
# (issue 11, Low list).  Names with a C1 control (U+009B, CSI), bidi
# overrides (U+202E, U+2066), an escape sequence, a newline, a backslash
# and bytes that are not UTF-8 are deleted, tagged, made immutable and
# purged; `softdelete list`, `snapshots`, `immutable list`, `audit list`
# and the purge's own line never put those bytes on stdout (they show
# \xNN, \uNNNN and \\ instead), and --json is valid UTF-8 whose *_bytes
# fields give back the exact bytes.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

vf_init
vf_mount

NAMES=(
	$'c1\xc2\x9b31mx'      # U+009B: CSI on a terminal that honours C1
	$'rlo\xe2\x80\xaetxt.exe' # U+202E RIGHT-TO-LEFT OVERRIDE
	$'lri\xe2\x81\xa6y'    # U+2066 LEFT-TO-RIGHT ISOLATE
	$'esc\x1b[2Jz'         # ESC [2J: clear screen
	$'nl\nforged line'
	$'bad\xff\xfeend'      # not UTF-8
	'back\slash'
)
WANT=(
	'c1\u009b31mx'
	'rlo\u202etxt.exe'
	'lri\u2066y'
	'esc\x1b[2Jz'
	'nl\x0aforged line'
	'bad\xff\xfeend'
	'back\\slash'
)
for n in "${NAMES[@]}"; do
	printf 'data\n' >"$MNT/$n"
	mkdir "$MNT/d-$n"
done
for n in "${NAMES[@]}"; do
	rm "$MNT/$n"
done
"$VAULTCTL" immutable set "$MNT" "d-${NAMES[1]}" --days 1 >/dev/null ||
	fail "immutable set on a bidi name"
"$VAULTCTL" snapshot "$MNT" --tag "${NAMES[0]}" >/dev/null || fail "snapshot --tag with CSI"
"$VAULTCTL" snapshot "$MNT" --tag "${NAMES[5]}" >/dev/null || fail "snapshot --tag with bad bytes"
sleep 1.1 # a snapshot point is listed once it is a second old

# safe FILE: FILE is UTF-8 without any C0 but tab and newline, DEL, C1
# or bidi control.
safe() {
	"$PYTHON" - "$1" <<'EOF'
import sys
b = open(sys.argv[1], "rb").read()
try:
    t = b.decode("utf-8")
except UnicodeDecodeError as e:
    sys.exit("not UTF-8: %s" % e)
bad = set(range(0x20)) - {9, 10} | set(range(0x7f, 0xa0)) | {0x61c, 0x200e, 0x200f} \
    | set(range(0x202a, 0x202f)) | set(range(0x2066, 0x206a))
hit = sorted({hex(ord(c)) for c in t if ord(c) in bad})
if hit:
    sys.exit("raw control characters on stdout: %s" % hit)
EOF
}

"$VAULTCTL" softdelete list "$MNT" -H >"$VF_TMP/sd"
safe "$VF_TMP/sd" || fail "softdelete list: $(cat -v "$VF_TMP/sd")"
for w in "${WANT[@]}"; do
	grep -qF "$w" "$VF_TMP/sd" || fail "softdelete list does not show '$w': $(cat -v "$VF_TMP/sd")"
done
assert_eq "${#NAMES[@]}" "$(wc -l <"$VF_TMP/sd")" "one line per deleted item"

"$VAULTCTL" snapshots "$MNT" >"$VF_TMP/snaps"
safe "$VF_TMP/snaps" || fail "snapshots: $(cat -v "$VF_TMP/snaps")"
grep -qF "${WANT[0]}" "$VF_TMP/snaps" || fail "snapshots: no '${WANT[0]}': $(cat -v "$VF_TMP/snaps")"
grep -qF "${WANT[5]}" "$VF_TMP/snaps" || fail "snapshots: no '${WANT[5]}': $(cat -v "$VF_TMP/snaps")"

"$VAULTCTL" immutable list "$MNT" >"$VF_TMP/imm"
safe "$VF_TMP/imm" || fail "immutable list: $(cat -v "$VF_TMP/imm")"
grep -qF "d-${WANT[1]}" "$VF_TMP/imm" || fail "immutable list: $(cat -v "$VF_TMP/imm")"

"$VAULTCTL" softdelete purge "$MNT" "${NAMES[3]}" >"$VF_TMP/purge" || fail "purge of an ESC name"
safe "$VF_TMP/purge" || fail "purge output: $(cat -v "$VF_TMP/purge")"
grep -qF "${WANT[3]}" "$VF_TMP/purge" || fail "purge output: $(cat -v "$VF_TMP/purge")"

"$VAULTCTL" audit list "$MNT" >"$VF_TMP/audit"
safe "$VF_TMP/audit" || fail "audit list: $(cat -v "$VF_TMP/audit")"
grep -qF "${WANT[3]}" "$VF_TMP/audit" || fail "audit list does not name the purged item: $(cat -v "$VF_TMP/audit")"

# JSON: valid UTF-8 (json.loads of bytes is strict), no stray byte passing
# for a real character, and *_bytes giving back the exact names.
"$VAULTCTL" softdelete list "$MNT" --json >"$VF_TMP/sd.json"
"$VAULTCTL" snapshots "$MNT" --json >"$VF_TMP/snaps.json"
"$VAULTCTL" audit list "$MNT" --json >"$VF_TMP/audit.json"
"$PYTHON" - "$VF_TMP" "${NAMES[@]}" <<'EOF' || fail "JSON output does not round-trip the names"
import base64, json, os, sys
d = sys.argv[1]
names = [os.fsencode(n) for n in sys.argv[2:]]

def load(f):
    raw = open(os.path.join(d, f), "rb").read()
    raw.decode("utf-8")  # strict: raises on invalid UTF-8
    return json.loads(raw)

def exact(o, key):
    if key + "_bytes" in o:
        b = base64.b64decode(o[key + "_bytes"], validate=True)
        assert "\ufffd" in o[key], o  # the text form says it is not exact
        return b
    return o[key].encode("utf-8")

sd = load("sd.json")
got = {exact(o, "path").rsplit(b"/", 1)[-1] for o in sd}
want = set(names) - {names[3]}  # names[3] was purged
assert got == want, (got, want)
bad = [o for o in sd if "_bytes" in "".join(o)]
assert len(bad) == 1 and "\u00ff" not in bad[0]["path"], bad  # no Latin-1 reading
tags = {exact(o, "tag") for o in load("snaps.json") if o.get("tag")}
assert {names[0], names[5]} <= tags, tags
audit = load("audit.json")
assert any(exact(o, "target").endswith(names[3]) for o in audit if o.get("target")), audit
EOF

vf_umount
log "ok"
