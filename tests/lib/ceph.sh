# shellcheck shell=bash
# tests/lib/ceph.sh - a Ceph cluster with radosgw for tests of the S3
# backend (tests/integration/004x-*.sh).
#
# Sourced by a test (after `set -euo pipefail`).  It needs no FUSE, so it
# does not source integration.sh; it gives the same basics:
#   REPO VF_TEST VF_TMP           repository, test name, private temp dir
#   log MSG / fail MSG / skip MSG progress line / exit 1 / exit 77
# and:
#   vf_ceph_up                    bring a cluster up in $VF_TMP/ceph with
#                                 tests/ceph/cluster.sh (torn down by the
#                                 exit trap however the test ends), or
#                                 reuse the running one in $VF_CEPH_DIR
#                                 (left running); then source its env
#                                 (VF_S3_ENDPOINT, VF_S3_HTTP_ENDPOINT,
#                                 VF_S3_CA, VF_S3_CREDENTIALS ...)
#   vf_ceph CMD                   tests/ceph/cluster.sh CMD on that cluster
#                                 (stop-rgw, start-rgw)
# Exits 77 (skip) when not root or the Ceph packages are not installed
# (./demo.sh --deps-only installs them; CI does, so there a skip fails).

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VF_TEST=$(basename "$0" .sh)
CLUSTER_SH=$REPO/tests/ceph/cluster.sh
export LC_ALL=C
unset CEPH_KEYRING

log() { printf '%s: %s\n' "$VF_TEST" "$*" >&2; }
fail() {
	printf 'FAIL %s: %s\n' "$VF_TEST" "$*" >&2
	exit 1
}
skip() {
	printf 'SKIP %s: %s\n' "$VF_TEST" "$*" >&2
	exit 77
}

[ "$(id -u)" = 0 ] || skip "needs root (the Ceph daemons)"
for c in ceph-mon ceph-osd ceph radosgw radosgw-admin openssl curl; do
	command -v "$c" >/dev/null ||
		skip "$c is not installed (./demo.sh --deps-only installs the Ceph packages)"
done

VF_TMP=$(mktemp -d /tmp/vaultfs-"$VF_TEST".XXXXXX)
VF_CEPH_OWN=

vf_ceph_cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	if [ -n "$VF_CEPH_OWN" ]; then
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
			for f in "$VF_CEPH_OWN"/log/*.log; do
				[ -s "$f" ] || continue
				echo "--- tail of $(basename "$f") ---" >&2
				tail -n 15 "$f" >&2
			done
		fi
		"$CLUSTER_SH" down "$VF_CEPH_OWN" >&2
		[ -f "$VF_CEPH_OWN/times" ] && sed 's/^/ceph: /' "$VF_CEPH_OWN/times" >&2
	fi
	# Background jobs of the test (a fake endpoint).
	for f in $(jobs -p); do kill "$f" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf --one-file-system "$VF_TMP"
	exit "$rc"
}
trap vf_ceph_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

vf_ceph_up() {
	if [ -n "${VF_CEPH_DIR:-}" ]; then
		[ -f "$VF_CEPH_DIR/env" ] || fail "VF_CEPH_DIR=$VF_CEPH_DIR has no env file"
		log "reusing the cluster in $VF_CEPH_DIR"
	else
		VF_CEPH_DIR=$VF_TMP/ceph
		VF_CEPH_OWN=$VF_CEPH_DIR
		"$CLUSTER_SH" up "$VF_CEPH_DIR" >/dev/null || fail "cluster bring-up failed"
		log "cluster up in $(sed -n 's/^bringup_s //p' "$VF_CEPH_DIR/times") s"
	fi
	# shellcheck disable=SC1091
	. "$VF_CEPH_DIR/env"
}

vf_ceph() {
	"$CLUSTER_SH" "$1" "$VF_CEPH_DIR"
}
