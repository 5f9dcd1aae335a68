#!/usr/bin/env bash
# 0040-s3-store: the S3 backend (core/s3.c) against a real radosgw
# (tests/ceph/cluster.sh): a bucket with Object Lock; put, get, get_range,
# head, list and remove; a listing of 1100 objects (two pages); put_fd and
# get_fd of a 40 MiB file with small memory; COMPLIANCE retention; and the
# failures, each one line in the error text with the right errno: a
# missing key (ENOENT), a wrong secret (EACCES), an untrusted certificate,
# plain http without allow_http, a group-readable credentials file, a
# store answering 503 SlowDown (EAGAIN), and radosgw stopped (EAGAIN) and
# started again.
set -euo pipefail
. "$(dirname "$0")/../lib/ceph.sh"

PROBE=$REPO/build/tests/s3probe
[ -x "$PROBE" ] || fail "$PROBE is not built (run make)"

vf_ceph_up
export VF_S3_URL=s3://vf0040-$$-$RANDOM/vault

# expect ERRNO PATTERN COMMAND...: the command exits with ERRNO and prints
# exactly one line on stderr, which matches PATTERN and holds no secret.
expect() {
	local want=$1 pat=$2 rc=0 secret
	shift 2
	"$@" >"$VF_TMP/out" 2>"$VF_TMP/err" || rc=$?
	[ "$rc" = "$want" ] || fail "$*: exit $rc, expected $want: $(cat "$VF_TMP/err")"
	[ "$(wc -l <"$VF_TMP/err")" = 1 ] || fail "$*: not one line: $(cat "$VF_TMP/err")"
	grep -q -- "$pat" "$VF_TMP/err" || fail "$*: '$(cat "$VF_TMP/err")' does not say '$pat'"
	secret=$(sed -n 's/^aws_secret_access_key = //p' "$VF_S3_CREDENTIALS")
	! grep -qF -- "$secret" "$VF_TMP/err" "$VF_TMP/out" || fail "$*: the secret was printed"
	log "$(cat "$VF_TMP/err")"
}

"$PROBE" mkbucket lock
"$PROBE" mkbucket lock >/dev/null || fail "creating one's own bucket again failed"
"$PROBE" basic
"$PROBE" many 1100
# an ASan build's quarantine of freed blocks is capped so the probe's RSS
# budget still means something there (ignored by a plain build)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16" \
	"$PROBE" bigfile 40
"$PROBE" retention
"$PROBE" bench 2 16

expect 2 "HEAD nothing/here: 404" "$PROBE" head nothing/here

# A wrong secret: refused by the store, one line with the S3 code.
(
	umask 077
	sed 's/^\(aws_secret_access_key = \).*/\1wrongwrongwrongwrongwrongwrongwrongwrong/' \
		"$VF_S3_CREDENTIALS" >"$VF_TMP/wrong"
)
VF_S3_CREDENTIALS=$VF_TMP/wrong expect 13 "PUT probe/x: 403 SignatureDoesNotMatch" "$PROBE" put probe/x

# Credentials readable by others are refused before any request.
cp "$VF_S3_CREDENTIALS" "$VF_TMP/loose"
chmod 0644 "$VF_TMP/loose"
VF_S3_CREDENTIALS=$VF_TMP/loose expect 13 "credentials file '$VF_TMP/loose' is accessible by group or others" \
	"$PROBE" head probe/x

# Verification stays on: without the test CA the certificate is refused.
VF_S3_CA='' expect 5 "TLS certificate of $VF_S3_ENDPOINT not trusted" "$PROBE" head probe/x

# Plain http only when allowed.
VF_S3_ENDPOINT=$VF_S3_HTTP_ENDPOINT expect 22 "is plain http" "$PROBE" head probe/x
VF_S3_ENDPOINT=$VF_S3_HTTP_ENDPOINT VF_S3_ALLOW_HTTP=1 expect 2 "HEAD probe/x: 404" "$PROBE" head probe/x

# A store that throttles: 503 SlowDown is transient (a fake endpoint, as
# radosgw does not throttle on demand).
/usr/bin/python3 "$REPO/tests/lib/s3-fake.py" "$VF_TMP/fake.port" 503 SlowDown &
for _ in $(seq 50); do
	[ -s "$VF_TMP/fake.port" ] && break
	sleep 0.1
done
[ -s "$VF_TMP/fake.port" ] || fail "the fake S3 endpoint did not start"
fake=http://127.0.0.1:$(cat "$VF_TMP/fake.port")
VF_S3_ENDPOINT=$fake VF_S3_ALLOW_HTTP=1 expect 11 "PUT probe/x: 503 SlowDown" "$PROBE" put probe/x
VF_S3_ENDPOINT=$fake VF_S3_ALLOW_HTTP=1 expect 11 "HEAD probe/x: 503" "$PROBE" head probe/x

# radosgw down: transient, then back.
vf_ceph stop-rgw
expect 11 "cannot connect to $VF_S3_ENDPOINT: Connection refused" "$PROBE" put probe/x
vf_ceph start-rgw
"$PROBE" put probe/x >/dev/null || fail "put after radosgw restart failed"
out=$("$PROBE" head probe/x)
assert() { [ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"; }
assert "size 5" "$out" "head after restart"
log "ok"
