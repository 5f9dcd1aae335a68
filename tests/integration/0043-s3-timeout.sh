#!/usr/bin/env bash
# 0043-s3-timeout: a store that accepts the connection and then never
# answers does not hang the S3 client: the request is aborted by the
# low-speed limit (under 1 KiB/s for 30 s) with -EAGAIN and one line that
# says it timed out.  A fake endpoint (tests/lib/s3-fake.py), no Ceph.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
VF_TEST=$(basename "$0" .sh)
PROBE=$REPO/build/tests/s3probe
fail() {
	printf 'FAIL %s: %s\n' "$VF_TEST" "$*" >&2
	exit 1
}
[ -x "$PROBE" ] || fail "$PROBE is not built (run make)"

VF_TMP=$(mktemp -d /tmp/vaultfs-"$VF_TEST".XXXXXX)
fake_pid=
cleanup() {
	local rc=$?
	[ -z "$fake_pid" ] || kill "$fake_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$VF_TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

/usr/bin/python3 "$REPO/tests/lib/s3-fake.py" "$VF_TMP/port" stall - &
fake_pid=$!
for _ in $(seq 50); do
	[ -s "$VF_TMP/port" ] && break
	sleep 0.1
done
[ -s "$VF_TMP/port" ] || fail "the fake S3 endpoint did not start"

(
	umask 077
	printf '[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n' >"$VF_TMP/cred"
)
VF_S3_ENDPOINT=http://127.0.0.1:$(cat "$VF_TMP/port")
export VF_S3_URL=s3://stall/x VF_S3_ENDPOINT VF_S3_CREDENTIALS=$VF_TMP/cred VF_S3_ALLOW_HTTP=1

SECONDS=0
rc=0
"$PROBE" head probe/x 2>"$VF_TMP/err" || rc=$?
took=$SECONDS
cat "$VF_TMP/err" >&2
[ "$rc" = 11 ] || fail "exit $rc, expected 11 (EAGAIN)"
[ "$(wc -l <"$VF_TMP/err")" = 1 ] || fail "not one line"
grep -q "HEAD probe/x: timed out talking to $VF_S3_ENDPOINT" "$VF_TMP/err" ||
	fail "the line does not say it timed out"
if [ "$took" -lt 29 ] || [ "$took" -gt 45 ]; then
	fail "gave up after ${took}s, expected about 30 s"
fi
echo "timed out after ${took}s" >&2
