#!/usr/bin/env bash
# 0049-report-metrics: monitoring.  The daemon keeps -o metrics=FILE up
# to date (atomically replaced), in a format promtool accepts, with
# numbers that move: files, FUSE requests by opcode, commit latencies,
# alerts by kind; `vaultctl metrics` prints the same families to a Reader
# and refuses a caller with no role.  `vaultctl report` (Operator) says
# what was deleted today, names the directories that grew (a name with
# <script> and & in it stays text), and its HTML page opens in a real
# headless Chromium with its charts drawn (pixels of the charts' colours
# in the screenshot).  A report written with --out is written by
# vaultctl as its caller, never by the daemon.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

PROMTOOL=$(command -v promtool) ||
	skip "promtool not installed (./demo.sh --deps-only installs Debian's prometheus)"
CHROMIUM=$(command -v chromium) ||
	skip "chromium not installed (./demo.sh --deps-only installs it)"

# wait_for FILE PATTERN SECONDS
wait_for() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# value FILE 'NAME{LABELS}': the sample's value, or "" when absent.
value() {
	awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}

# promtool's verdict on FILE (format and naming conventions).
promcheck() {
	local out
	out=$("$PROMTOOL" check metrics <"$1" 2>&1) ||
		fail "promtool check metrics refuses $(basename "$1"): $out"
	[ -z "$out" ] || fail "promtool check metrics warns on $(basename "$1"): $out"
}

METRICS=$VF_TMP/prom/vaultfs.prom
mkdir -p "$VF_TMP/prom"
vf_init
# maintenance every 2 s: it writes the day's sizes the report draws
vf_mount "metrics=$METRICS" maintain=2

wait_for "$METRICS" '^vaultfs_files ' 5 || fail "no metrics file within 5 s of the mount"
promcheck "$METRICS"
[ "$(value "$METRICS" vaultfs_files)" = 0 ] || fail "a new vault has files: $(cat "$METRICS")"
ls "$VF_TMP/prom" | grep -v '^vaultfs.prom$' &&
	fail "temporary files left next to the metrics file"

# ---- activity ----------------------------------------------------------------
WEIRD='a&b<script>x'
mkdir "$MNT/docs" "$MNT/$WEIRD"
for i in $(seq 1 6); do head -c 20000 /dev/urandom >"$MNT/docs/f$i"; done
for i in $(seq 1 4); do head -c 300000 /dev/urandom >"$MNT/$WEIRD/big$i"; done
echo again >"$MNT/docs/f1"                   # a second version
rm "$MNT/docs/f2" "$MNT/docs/f3" "$MNT/docs/f4"  # three deletions
FILES=7

# ---- vaultctl metrics: as soon as asked --------------------------------------
"$VAULTCTL" metrics "$MNT" >"$VF_TMP/m1" || fail "vaultctl metrics failed"
promcheck "$VF_TMP/m1"
[ "$(value "$VF_TMP/m1" vaultfs_files)" = "$FILES" ] ||
	fail "vaultfs_files is not $FILES: $(grep vaultfs_files "$VF_TMP/m1")"
[ "$(value "$VF_TMP/m1" vaultfs_softdeleted_files)" = 3 ] ||
	fail "vaultfs_softdeleted_files is not 3: $(grep softdeleted "$VF_TMP/m1")"
w=$(value "$VF_TMP/m1" 'vaultfs_fuse_requests_total{op="write"}')
[ -n "$w" ] && [ "$w" -gt 0 ] || fail "no FUSE write request counted: $(grep requests "$VF_TMP/m1")"
u=$(value "$VF_TMP/m1" 'vaultfs_fuse_requests_total{op="unlink"}')
[ "$u" -ge 3 ] || fail "3 unlinks, $u counted"
n=$(value "$VF_TMP/m1" vaultfs_catalog_commit_duration_seconds_count)
inf=$(value "$VF_TMP/m1" 'vaultfs_catalog_commit_duration_seconds_bucket{le="+Inf"}')
[ "$n" -gt 0 ] && [ "$n" = "$inf" ] || fail "commit histogram: count $n, +Inf bucket $inf"
logical=$(value "$VF_TMP/m1" 'vaultfs_data_bytes{kind="logical"}')
[ "$logical" = $((2 * 20000 + 4 * 300000 + 6)) ] || fail "logical bytes $logical"
hist=$(value "$VF_TMP/m1" 'vaultfs_data_bytes{kind="history"}')
[ "$hist" -ge 20000 ] || fail "the overwritten version is not history: $hist"
if grep -q -e docs -e script "$VF_TMP/m1"; then
	fail "metrics name files: $(grep -e docs -e script "$VF_TMP/m1")"
fi

# ---- an alert is counted -----------------------------------------------------
PUB=$("$VAULTCTL" guard keygen --out "$VF_TMP/guard.key" 2>/dev/null) || fail "guard keygen failed"
"$VAULTCTL" guard attach "$MNT" "$PUB" >/dev/null || fail "guard attach failed"
"$VAULTCTL" softdelete set "$MNT" --off >/dev/null 2>&1 &&
	fail "soft delete turned off without an approval"
for i in $(seq 1 30); do
	"$VAULTCTL" metrics "$MNT" >"$VF_TMP/m2"
	[ "$(value "$VF_TMP/m2" 'vaultfs_alerts_total{kind="denied"}')" -ge 1 ] && break
	sleep 0.2
done
[ "$(value "$VF_TMP/m2" 'vaultfs_alerts_total{kind="denied"}')" -ge 1 ] ||
	fail "the denied alert is not counted: $(grep alerts "$VF_TMP/m2")"
[ "$(value "$VF_TMP/m2" vaultfs_posture_level)" = 2 ] ||
	fail "soft delete on and a guard grade Good (2): $(grep posture "$VF_TMP/m2")"

# ---- the file follows within one period (15 s) -------------------------------
for i in $(seq 1 250); do
	[ "$(value "$METRICS" vaultfs_files)" = "$FILES" ] &&
		[ "$(value "$METRICS" 'vaultfs_alerts_total{kind="denied"}')" -ge 1 ] && break
	sleep 0.1
done
[ "$(value "$METRICS" vaultfs_files)" = "$FILES" ] ||
	fail "the metrics file did not follow within 25 s: $(grep files "$METRICS")"
promcheck "$METRICS"
grep -q '^vaultfs_last_success_timestamp_seconds{task="maintenance"} ' "$METRICS" ||
	fail "no last maintenance time in the file"
diff <(grep '^# TYPE' "$METRICS") <(grep '^# TYPE' "$VF_TMP/m2") ||
	fail "vaultctl metrics and the file have other families"
[ "$(stat -c %a "$METRICS")" = 644 ] || fail "metrics file mode $(stat -c %a "$METRICS")"

# ---- who may -----------------------------------------------------------------
chmod 0711 "$VF_TMP"
mkdir "$VF_TMP/op"
chown 5049:5049 "$VF_TMP/op"
"$VAULTCTL" role grant "$MNT" reader user:5048 >/dev/null || fail "role grant reader"
"$VAULTCTL" role grant "$MNT" operator user:5049 >/dev/null || fail "role grant operator"
as() { local u=$1; shift; setpriv --reuid "$u" --regid "$u" --clear-groups "$@"; }
if out=$(as 5047 "$VAULTCTL" metrics "$MNT" 2>&1); then
	fail "a caller with no role read the metrics: $out"
fi
echo "$out" | grep -q "needs the reader role" || fail "unexpected refusal: $out"
as 5048 "$VAULTCTL" metrics "$MNT" | grep -q '^vaultfs_files ' || fail "a reader cannot read the metrics"
for u in 5047 5048; do
	if out=$(as $u "$VAULTCTL" report "$MNT" 2>&1); then
		fail "uid $u (below operator) got the report: $out"
	fi
	echo "$out" | grep -q "report needs the operator role" || fail "unexpected refusal for $u: $out"
done

# ---- bad input: one line, nothing written ------------------------------------
for bad in "--format pdf" "--since yesterday" "--since 0"; do
	# shellcheck disable=SC2086
	if out=$("$VAULTCTL" report "$MNT" $bad --out "$VF_TMP/bad.html" 2>&1); then
		fail "report $bad was taken"
	fi
	[ "$(echo "$out" | grep -c "^vaultctl: ")" = 1 ] || fail "report $bad: not one line: $out"
done
ls "$VF_TMP" | grep -q '^bad\.html' && fail "a refused report left a file"

# ---- report: text and JSON ---------------------------------------------------
"$VAULTCTL" report "$MNT" >"$VF_TMP/r.txt" || fail "report (text) failed"
for s in "^report: " "^posture:  Good" "^by day (UTC)" "^alerts:  .*denied [1-9]" "^top directories by growth"; do
	grep -q "$s" "$VF_TMP/r.txt" || fail "text report has no '$s': $(cat "$VF_TMP/r.txt")"
done
today=$(date -u +%Y-%m-%d)
grep -E "^  $today .* 3 +0\$" "$VF_TMP/r.txt" >/dev/null ||
	fail "today's line does not say 3 deleted, 0 restored: $(grep "$today" "$VF_TMP/r.txt")"
"$VAULTCTL" report "$MNT" --format json --since 7d >"$VF_TMP/r.json" || fail "report (json) failed"
"$PYTHON" - "$VF_TMP/r.json" "$today" "$WEIRD" "$FILES" <<'PY' || fail "JSON report: $(cat "$VF_TMP/r.json")"
import json, sys
r = json.load(open(sys.argv[1]))
today, weird, files = sys.argv[2], sys.argv[3], int(sys.argv[4])
d = r["days"][-1]
assert d["day"] == today, d
assert len(r["days"]) in (7, 8), len(r["days"])
assert d["deleted_files"] == 3, d
assert d["restored_files"] == 0, d
assert d["changed_files"] >= files + 3, d
assert d["recovery_points"] >= 1, d
assert d["logical_bytes"] == r["now"]["logical_bytes"], d
assert r["now"]["files"] == files, r["now"]
assert r["alerts"]["by_kind"]["denied"] >= 1, r["alerts"]
assert r["alerts"]["latest"][0]["kind"] == "denied", r["alerts"]
assert r["posture"]["posture"] == "Good", r["posture"]
top = r["top_directories"]
assert top[0]["path"] == "/" + weird and top[0]["files"] == 4, top
assert top[0]["bytes"] == 4 * 300000, top
assert any(t["path"] == "/docs" for t in top), top
PY

# ---- report: HTML, written as its caller, in a real browser ------------------
as 5049 "$VAULTCTL" report "$MNT" --format html --out "$VF_TMP/op/report.html" ||
	fail "report --format html --out failed"
H=$VF_TMP/op/report.html
[ "$(stat -c %u "$H")" = 5049 ] || fail "the report file belongs to uid $(stat -c %u "$H"), not its caller"
ls "$VF_TMP/op" | grep -v '^report.html$' && fail "temporary files left next to the report"
grep -q 'a&amp;b&lt;script&gt;x' "$H" || fail "the directory name is not escaped in the page"
if grep -qi -e '<script' -e 'src=' -e 'href=' -e 'url(' -e '@import' "$H"; then
	fail "the page has a script or loads something: $(grep -i -e '<script' -e 'src=' -e 'href=' -e 'url(' "$H")"
fi
CH=(env HOME="$VF_TMP/chrome" timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu
	--user-data-dir="$VF_TMP/chrome/ud" --window-size=412,2400 --hide-scrollbars)
mkdir -p "$VF_TMP/chrome"
"${CH[@]}" --dump-dom "file://$H" >"$VF_TMP/dom.html" 2>"$VF_TMP/chrome.log" ||
	fail "chromium --dump-dom failed: $(tail -n 3 "$VF_TMP/chrome.log")"
"${CH[@]}" --screenshot="$VF_TMP/shot.png" "file://$H" >>"$VF_TMP/chrome.log" 2>&1 ||
	fail "chromium --screenshot failed: $(tail -n 3 "$VF_TMP/chrome.log")"
"$PYTHON" - "$VF_TMP/dom.html" "$VF_TMP/shot.png" <<'PY' || fail "the charts are not drawn"
import re, struct, sys, zlib
dom = open(sys.argv[1], encoding="utf-8").read()
# the browser parsed the page: four charts, bars, lines and dots survived
for chart in ("sizes", "points", "activity", "dirs"):
    assert re.search(r'<svg id="%s"' % chart, dom), "chart %s missing from the DOM" % chart
assert len(re.findall(r'<rect class="bar"', dom)) >= 5, "too few bars"
assert '<polyline class="series"' in dom and '<circle class="dot"' in dom, "no line chart"
assert "<script" not in dom.lower(), "a script element in the DOM"

def png_rgb(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    assert depth == 8 and ctype in (2, 6), (depth, ctype)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for y in range(h):
        f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(bytes(line)); prev = line
    return w, h, bpp, rows

w, h, bpp, rows = png_rgb(sys.argv[2])
count = {}
colours = {"logical": (0x1f, 0x77, 0xb4), "points": (0x94, 0x67, 0xbd),
           "changed": (0x17, 0xbe, 0xcf), "deleted": (0xe3, 0x77, 0xc2),
           "dirs": (0x8c, 0x56, 0x4b)}
distinct = set()
for row in rows:
    for x in range(0, w * bpp, bpp):
        px = tuple(row[x:x + 3])
        distinct.add(px)
        for k, c in colours.items():
            if all(abs(px[j] - c[j]) <= 6 for j in range(3)):
                count[k] = count.get(k, 0) + 1
assert len(distinct) > 20, "a blank screenshot"
for k in colours:
    assert count.get(k, 0) >= 20, "%s: %d pixels of its colour (%s)" % (k, count.get(k, 0), count)
print("pixels per chart colour:", count, file=sys.stderr)
PY

vf_umount
