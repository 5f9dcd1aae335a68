# tests/lib/integration.sh - shared helpers for tests/integration/NNNN-*.sh.
#
# Sourced by each integration test (after `set -euo pipefail`).  It checks
# that the test can run at all (root, a usable /dev/fuse, fusermount3, the
# built binaries; exit 77 with a reason otherwise), makes a private temp
# directory and installs a cleanup trap that unmounts, kills any daemon the
# test started and removes everything, however the test ends.
#
# Variables set for the test:
#   REPO VAULTCTL MOUNT_VAULTFS   repository root and the build/ binaries
#   VF_TMP                        the test's temp directory (removed at exit)
#   VAULT KS MNT                  vault dir, keystore dir, mountpoint (in VF_TMP)
#   VF_PID VF_LOG                 daemon pid and log of the current mount
#
# Functions:
#   vf_init [init args]           vaultctl init "$VAULT" --keystore "$KS" ...
#   vf_mount [opt...]             mount.vaultfs -f in the background, wait for
#                                 its ready line (no sleeping; 30 s timeout)
#   vf_umount                     fusermount3 -u, daemon must exit 0 with a
#                                 clean log
#   vf_kill9                      kill -9 the daemon, detach the dead mount
#   vf_remount [opt...]           vf_umount; vf_mount
#   vf_need_faketime              FAKETIME_LIB, or skip the test
#   vf_need_ceph                  a Ceph cluster with radosgw (its env
#                                 sourced), or skip the test
#   vf_lock_bucket NAME           an Object Lock bucket for a remote vault
#                                 (URL STOREOPT KEYOPT); s3curl METHOD PATH
#                                 and s3_versions PREFIX reach it as the vault
#   vf_mount_at OFFSET [opt...]   vf_mount with the daemon's clock moved
#   vf_at OFFSET command...       a program with its clock moved
#                                 (a start offset moves the vault clock by
#                                 at most an hour: docs/design.md)
#   vf_mount_fast [opt...]        vf_mount with the daemon's clocks (wall
#                                 and monotonic) going a day per second
#   vf_pass_days N [opt...]       N days pass on the vault clock (the
#                                 daemon runs fast for N seconds, unmounted)
#   VF_CLEANUP_CMDS+=("cmd")      run by the exit trap, newest first, after
#                                 unmounting (stop a Ceph cluster)
#   fail MSG / skip MSG           exit 1 / exit 77 with a reason
#   assert_eq WANT GOT [WHAT]     string equality
#   refused WHAT PATTERN cmd...   cmd exits 1 with PATTERN in its output
#   refused_req WHAT PATTERN cmd...  cmd exits 1 with PATTERN in its first
#                                 line on stderr; the request code in $REQ
#   vf_wait_gone PATH SECONDS     PATH disappears within SECONDS, or 1
#   same_tree SRC DST             contents and metadata must match
#                                 (SAME_TREE_NS=0: mtimes in whole seconds;
#                                 SAME_TREE_MTIME=0: mtimes not compared)
#   save_tree DIR NAME            record DIR's state (as same_tree sees it)
#   check_tree DIR NAME           DIR must still be in the recorded state
#   cp_logged SRC DST DONE        cp -a of SRC/d*/ into DST a few files at a
#                                 time, each logged to DONE once copied
#   make_fixture_tree DIR [nosocket] [acl]
#                                 a small tree with every kind of metadata
#   vault_bytes                   du -sb of the vault directory
#   is_mounted DIR                DIR is a mountpoint (per mountinfo; works
#                                 on dead FUSE mounts too)
#   log MSG                       progress line on stderr
#   $PYTHON                       the python3 to run snippets with
#
# Tests run as root; nothing here uses sudo.  File descriptor 9 is used
# internally by vf_mount; tests should not use it.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VAULTCTL=$REPO/build/vaultctl
MOUNT_VAULTFS=$REPO/build/mount.vaultfs
VF_TEST=$(basename "$0" .sh)
export LC_ALL=C
# The system python (a version manager's shim on PATH can take a second per
# start).
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3) || PYTHON=python3

log() { printf '%s: %s\n' "$VF_TEST" "$*" >&2; }
fail() {
	printf 'FAIL %s: %s\n' "$VF_TEST" "$*" >&2
	exit 1
}
skip() {
	printf 'SKIP %s: %s\n' "$VF_TEST" "$*" >&2
	exit 77
}

# Gate on capabilities, not versions (docs/testing.md lists the skips).
[ "$(id -u)" = 0 ] || skip "needs root (FUSE mounts and chown)"
[ -c /dev/fuse ] || skip "/dev/fuse is missing"
{ exec 8<>/dev/fuse; } 2>/dev/null || skip "/dev/fuse cannot be opened"
exec 8>&-
command -v fusermount3 >/dev/null || skip "fusermount3 is not installed (apt-get install fuse3)"
[ -x "$VAULTCTL" ] || fail "$VAULTCTL is not built (run make)"
[ -x "$MOUNT_VAULTFS" ] || fail "$MOUNT_VAULTFS is not built (run make)"

VF_TMP=$(mktemp -d /tmp/vaultfs-"$VF_TEST".XXXXXX)
VAULT=$VF_TMP/vault
KS=$VF_TMP/keys
MNT=$VF_TMP/mnt
mkdir "$MNT"
VF_PID=
VF_LOG=
VF_NMOUNT=0
VF_MOUNT_ENV=() # extra environment of the next daemon (vf_mount_at)
VF_LOGS=()
VF_EXTRA_MOUNTS=()

is_mounted() {
	local d
	d=$(realpath -m -- "$1")
	awk -v d="$d" '$5 == d { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# A child is finished when /proc says so or it is a zombie (kill -0 still
# succeeds on zombies, so it cannot be used here).
pid_running() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

vf_detach() {
	local d=$1
	is_mounted "$d" || return 0
	fusermount3 -u "$d" 2>/dev/null || fusermount3 -u -z "$d" 2>/dev/null ||
		umount -l "$d" 2>/dev/null || true
}

vf_cleanup() {
	local rc=$? d l
	set +e
	trap - EXIT INT TERM
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for l in "${VF_LOGS[@]}"; do
			[ -s "$l" ] || continue
			echo "--- tail of daemon log $(basename "$l") ---" >&2
			tail -n 30 "$l" >&2
		done
	fi
	cd / || true
	for d in "${VF_EXTRA_MOUNTS[@]}" "$MNT"; do
		vf_detach "$d"
	done
	if [ -n "$VF_PID" ]; then
		kill -9 "$VF_PID" 2>/dev/null
		wait "$VF_PID" 2>/dev/null
	fi
	# Background jobs the test left (copy loops and the like).
	for l in $(jobs -p); do kill -9 "$l" 2>/dev/null; done
	wait 2>/dev/null
	for d in "${VF_EXTRA_MOUNTS[@]}" "$MNT"; do
		is_mounted "$d" && umount -l "$d" 2>/dev/null
	done
	# What the test registered (a Ceph cluster to stop), newest first,
	# after the mounts are gone and before VF_TMP is removed.
	for ((l = ${#VF_CLEANUP_CMDS[@]} - 1; l >= 0; l--)); do
		eval "${VF_CLEANUP_CMDS[l]}" >&2
	done
	rm -rf --one-file-system "$VF_TMP"
	exit "$rc"
}
VF_CLEANUP_CMDS=()
trap vf_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

# vf_wait_gone PATH SECONDS: waits until PATH does not exist (at most
# SECONDS); returns 1 when it is still there.
vf_wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[ -e "$1" ] || return 0
		sleep 0.1
	done
	return 1
}

# refused WHAT PATTERN command...: the command must exit 1 with PATTERN in
# its output (a test may define its own refused instead).
refused() {
	local what=$1 pat=$2 rc=0 out
	shift 2
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" = 1 ] || fail "$what: exit $rc, not 1: $out"
	case $out in *"$pat"*) ;; *) fail "$what: expected '$pat' in: $out" ;; esac
}

# refused_req WHAT PATTERN command...: the command must exit 1 with
# VF_REFUSED_PREFIX (default none) then PATTERN in the first line of its
# stderr, which stays in $VF_TMP/err (stdout in $VF_TMP/out); the request
# code of a refusal for want of an approval ("request: CODE") goes to
# $REQ, empty when there is none.  Logs the first line.
refused_req() {
	local what=$1 pat=$2 rc=0
	shift 2
	"$@" >"$VF_TMP/out" 2>"$VF_TMP/err" || rc=$?
	assert_eq 1 "$rc" "exit status of $what ($(cat "$VF_TMP/err"))"
	case $(head -n 1 "$VF_TMP/err") in
	"${VF_REFUSED_PREFIX:-}"*"$pat"*) ;;
	*) fail "$what: expected '$pat', got: $(cat "$VF_TMP/err")" ;;
	esac
	REQ=$(sed -n 's/^request: //p' "$VF_TMP/err")
	log "$what: $(head -n 1 "$VF_TMP/err" | cut -c1-160)"
}

vault_bytes() {
	du -sb "$VAULT" | cut -f1
}

# cp_logged SRC DST DONE: cp -a the files of SRC's directories d*/ into
# DST/d*/ a few at a time (one cp per file would make a test slow on
# process creation), appending each file's path relative to SRC to DONE
# once its cp has returned; stops quietly at the first failure (the
# daemon killed under it).  Run it in the background, in a subshell.
cp_logged() {
	local dst=$2 done=$3 d i files batch
	cd "$1" || return 0
	for d in d*; do
		mkdir "$dst/$d" 2>/dev/null || return 0
		files=("$d"/*)
		for ((i = 0; i < ${#files[@]}; i += 8)); do
			batch=("${files[@]:i:8}")
			cp -a "${batch[@]}" "$dst/$d/" 2>/dev/null || return 0
			printf '%s\n' "${batch[@]}" >>"$done"
		done
	done
}

vf_init() {
	"$VAULTCTL" init "$VAULT" --keystore "$KS" "$@" ||
		fail "vaultctl init $VAULT $* failed"
}

# vf_mount [opt...]: mount $VAULT on $MNT with -f in the background.  The
# daemon writes "ok" to VAULTFS_READY_FD once the mount is live; a daemon that
# dies first closes the fifo and the read returns at once.  Extra arguments
# are -o options appended after keystore=.
vf_mount() {
	local opts="keystore=$KS" o line="" fifo=$VF_TMP/ready.fifo
	for o in "$@"; do opts+=",$o"; done
	[ "$BASHPID" = "$$" ] || fail "vf_mount called in a subshell: the daemon would not be tracked"
	[ -z "$VF_PID" ] || fail "vf_mount: a daemon (pid $VF_PID) is already running"
	VF_NMOUNT=$((VF_NMOUNT + 1))
	VF_LOG=$VF_TMP/daemon.$VF_NMOUNT.log
	VF_LOGS+=("$VF_LOG")
	rm -f "$fifo"
	mkfifo "$fifo"
	env ${VF_MOUNT_ENV[@]+"${VF_MOUNT_ENV[@]}"} VAULTFS_READY_FD=9 \
		"$MOUNT_VAULTFS" "$VAULT" "$MNT" -f -o "$opts" \
		9>"$fifo" </dev/null >"$VF_LOG" 2>&1 &
	VF_PID=$!
	exec 9<"$fifo"
	IFS= read -r -t 30 -u 9 line || true
	exec 9<&-
	rm -f "$fifo"
	if [ "$line" != ok ]; then
		local why="no ready line within 30 s"
		pid_running "$VF_PID" || why="daemon exited before it was ready"
		kill -9 "$VF_PID" 2>/dev/null
		wait "$VF_PID" 2>/dev/null
		VF_PID=
		vf_detach "$MNT"
		fail "mount.vaultfs -o $opts: $why (got '$line')"
	fi
	is_mounted "$MNT" || fail "mount.vaultfs said ok but $MNT is not mounted"
}

vf_check_log() {
	local l=${1:-$VF_LOG}
	if grep -E -n 'ERROR|AddressSanitizer|runtime error|LeakSanitizer' "$l" >&2; then
		fail "daemon log $(basename "$l") has errors (lines above)"
	fi
	return 0
}

# Wait up to $2 seconds (default 60) for child $1 to exit; its status in VF_RC.
vf_wait_pid() {
	local pid=$1 limit=$((${2:-60} * 10)) i=0
	while pid_running "$pid"; do
		i=$((i + 1))
		if [ "$i" -gt "$limit" ]; then
			kill -9 "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
	VF_RC=0
	wait "$pid" || VF_RC=$?
	return 0
}

vf_umount() {
	local i=0 err
	[ "$BASHPID" = "$$" ] || fail "vf_umount called in a subshell: it could not wait for the daemon"
	[ -n "$VF_PID" ] || fail "vf_umount: no daemon running"
	sync -f "$MNT" 2>/dev/null || true
	# EBUSY right after the last close can be a release still in flight.
	until err=$(fusermount3 -u "$MNT" 2>&1); do
		i=$((i + 1))
		[ "$i" -lt 20 ] || fail "fusermount3 -u $MNT: $err"
		sleep 0.25
	done
	local pid=$VF_PID
	VF_PID=
	vf_wait_pid "$pid" 120 || fail "daemon $pid did not exit within 120 s of unmount"
	[ "$VF_RC" = 0 ] || fail "daemon exited with status $VF_RC after a clean unmount"
	is_mounted "$MNT" && fail "$MNT still mounted after unmount"
	vf_check_log
}

# vf_need_ceph: a Ceph cluster with radosgw for the test (tests/ceph/
# cluster.sh up in VF_TMP, stopped by the exit trap), or the running one in
# $VF_CEPH_DIR (left running); its env is sourced (VF_S3_ENDPOINT,
# VF_S3_CA, VF_S3_CREDENTIALS ...); S3PROBE is build/tests/s3probe.  Skips
# (exit 77) when the Ceph packages are missing: CI installs them, so there
# a skip fails.
vf_need_ceph() {
	local c cluster=$REPO/tests/ceph/cluster.sh
	unset CEPH_KEYRING
	for c in ceph-mon ceph-osd ceph radosgw radosgw-admin openssl curl; do
		command -v "$c" >/dev/null ||
			skip "$c is not installed (./demo.sh --deps-only installs the Ceph packages)"
	done
	if [ -n "${VF_CEPH_DIR:-}" ]; then
		log "reusing the cluster in $VF_CEPH_DIR"
	else
		VF_CEPH_DIR=$VF_TMP/ceph
		VF_CLEANUP_CMDS+=("\"$cluster\" down \"$VF_CEPH_DIR\"")
		"$cluster" up "$VF_CEPH_DIR" >/dev/null || fail "cluster bring-up failed"
		log "cluster up in $(sed -n 's/^bringup_s //p' "$VF_CEPH_DIR/times") s"
	fi
	# shellcheck disable=SC1091
	. "$VF_CEPH_DIR/env"
	S3PROBE=$REPO/build/tests/s3probe
}

# vf_lock_bucket NAME: after vf_need_ceph, a bucket NAME with Object Lock
# for a remote vault at URL=s3://NAME/vault; STOREOPT holds the store
# options of vaultctl, KEYOPT a fresh key file.  s3curl and s3_versions
# then reach the bucket with the vault's own credentials (what an
# attacker who owns the host holds).
vf_lock_bucket() {
	BUCKET=$1
	URL=s3://$BUCKET/vault
	STOREOPT=(--endpoint "$VF_S3_ENDPOINT" --credentials "$VF_S3_CREDENTIALS" --ca-file "$VF_S3_CA")
	VF_S3_URL=s3://$BUCKET "$S3PROBE" mkbucket lock >/dev/null || fail "cannot create bucket $BUCKET"
	head -c 32 /dev/urandom >"$VF_TMP/key"
	chmod 600 "$VF_TMP/key"
	KEYOPT=(--key-file "$VF_TMP/key")
	AK=$(sed -n 's/^aws_access_key_id *= *//p' "$VF_S3_CREDENTIALS" | head -n 1)
	SK=$(sed -n 's/^aws_secret_access_key *= *//p' "$VF_S3_CREDENTIALS" | head -n 1)
}

# s3curl METHOD PATH[?QUERY] [curl args]: one request on $BUCKET with the
# vault's own credentials; prints the HTTP status, the body goes to
# $VF_TMP/body.
s3curl() {
	local m=$1 p=$2
	shift 2
	curl -sS -o "$VF_TMP/body" -w '%{http_code}' --cacert "$VF_S3_CA" \
		--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SK" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X "$m" "$@" \
		"$VF_S3_ENDPOINT/$BUCKET$p"
}

# s3_versions PREFIX: "KEY VERSIONID" of every object version under
# PREFIX/ in $BUCKET.
s3_versions() {
	[ "$(s3curl GET "?prefix=$1%2F&versions=")" = 200 ] || fail "cannot list versions: $(cat "$VF_TMP/body")"
	"$PYTHON" - "$VF_TMP/body" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://s3.amazonaws.com/doc/2006-03-01/"}
for v in ET.parse(sys.argv[1]).getroot().findall("s:Version", ns):
    print(v.find("s:Key", ns).text, v.find("s:VersionId", ns).text)
PY
}

# vf_need_faketime: sets FAKETIME_LIB to libfaketime (multi-threaded), or
# skips the test when the Debian package faketime is missing.
vf_need_faketime() {
	local l
	FAKETIME_LIB=
	for l in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 \
		/usr/lib/*/faketime/libfaketimeMT.so.1; do
		[ -e "$l" ] && FAKETIME_LIB=$l && break
	done
	[ -n "$FAKETIME_LIB" ] || skip "libfaketime is not installed (Debian package faketime)"
}

# The environment that moves a program's clock by OFFSET: libfaketime
# preloaded (a sanitizer build's runtime then is not first in the library
# list, which ASan accepts only when told).
faketime_env() {
	FAKETIME_ENV=(LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$1" FAKETIME_DONT_RESET=1
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
}

# vf_at OFFSET command...: runs a program with its clock moved by OFFSET
# (libfaketime syntax, e.g. +15d); call vf_need_faketime first.
vf_at() {
	faketime_env "$1"
	shift
	env "${FAKETIME_ENV[@]}" "$@"
}

# vf_mount_at OFFSET [opt...]: vf_mount with the daemon's clock moved.
vf_mount_at() {
	local offset=$1
	shift
	faketime_env "$offset"
	VF_MOUNT_ENV=("${FAKETIME_ENV[@]}")
	vf_mount "$@"
	VF_MOUNT_ENV=()
}

# vf_mount_fast [opt...]: vf_mount with the daemon's clocks going a day per
# second from now (libfaketime's rate: wall and monotonic alike), which is
# how days pass on the vault clock; a start offset counts at most an hour.
vf_mount_fast() {
	vf_mount_at '+0 x86400' "$@"
}

# vf_pass_days N [opt...]: lets N days (and a little more: the mount and
# unmount themselves take a fraction of a second, each a fraction of a
# day) pass on the vault clock, the vault unmounted before and after.
# Without options the maintenance timer does not run meanwhile (its
# longest interval, 366 days, is 366 s at this rate).
vf_pass_days() {
	local days=$1
	shift
	[ $# -gt 0 ] || set -- maintain=$((366 * 86400))
	vf_mount_fast "$@"
	sleep "$days"
	vf_umount
}

vf_remount() {
	vf_umount
	vf_mount "$@"
}

vf_kill9() {
	[ -n "$VF_PID" ] || fail "vf_kill9: no daemon running"
	kill -9 "$VF_PID"
	wait "$VF_PID" 2>/dev/null || true
	VF_PID=
	fusermount3 -u -z "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	is_mounted "$MNT" && fail "dead mount $MNT could not be detached"
	return 0
}

# tree_manifest DIR: one line per entry, sorted by path:
#   path type mode uid gid mtime size target     (size for non-directories,
#   device numbers for b/c, symlink target for l; the root has no times)
# then "link path -> leader" for every hard-link group inside DIR, so that
# links to files outside DIR do not matter.  SAME_TREE_NS=0 compares mtimes
# in whole seconds (for tools that keep no more).
tree_manifest() {
	local dir=$1 ns=${SAME_TREE_NS:-1}
	(
		cd "$dir"
		find . -mindepth 1 -printf '%P\t%y\t%m\t%U\t%G\t%T@\t%s\t%l\n' |
			awk -F'\t' -v OFS='\t' -v ns="$ns" -v mt="${SAME_TREE_MTIME:-1}" '{
				if (!ns) sub(/\.[0-9]*$/, "", $6)
				if (!mt) $6 = "-"
				if ($2 == "d") $7 = "-"
				print
			}' | sort
		find . -maxdepth 0 -printf 'ROOT\t%y\t%m\t%U\t%G\n'
		find . -mindepth 1 \( -type b -o -type c \) -exec stat -c 'dev %n %t:%T' {} + | sort
		find . -mindepth 1 ! -type d -links +1 -printf '%i\t%P\n' | sort -t$'\t' -k2 |
			awk -F'\t' '{ if ($1 in lead) { print "link " $2 " -> " lead[$1] } else lead[$1] = $2 }' | sort
	)
}

tree_sums() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# tree_xattrs DIR: "path<TAB>name<TAB>value" for every xattr (what
# getfattr -h -d -m - shows), sorted; long values as their length and sha256.
tree_xattrs() {
	"$PYTHON" -c '
import hashlib, os, sys
os.chdir(sys.argv[1])
out = []
for top, dirs, files in os.walk("."):
    for n in [top] + [os.path.join(top, x) for x in dirs + files] if top == "." else [os.path.join(top, x) for x in dirs + files]:
        try:
            names = os.listxattr(n, follow_symlinks=False)
        except OSError as e:
            out.append("%s\tlistxattr failed: %s" % (n, e.strerror)); continue
        for a in names:
            try:
                v = os.getxattr(n, a, follow_symlinks=False)
                v = v.hex() if len(v) <= 64 else "%d bytes sha256 %s" % (len(v), hashlib.sha256(v).hexdigest())
            except OSError as e:
                v = "getxattr failed: " + e.strerror
            out.append("%s\t%s\t%s" % (n, a, v))
print("\n".join(sorted(out)))
' "$1"
}

# same_tree SRC DST: contents (sha256), metadata and xattrs must be identical.
same_tree() {
	local src=$1 dst=$2 what d=$VF_TMP/same_tree
	mkdir -p "$d"
	[ -d "$src" ] || fail "same_tree: $src is not a directory"
	[ -d "$dst" ] || fail "same_tree: $dst is not a directory"
	for what in manifest sums xattrs; do
		"tree_$what" "$src" >"$d/src.$what" || fail "same_tree: $what of $src failed"
		"tree_$what" "$dst" >"$d/dst.$what" || fail "same_tree: $what of $dst failed"
		if ! diff -u "$d/src.$what" "$d/dst.$what" >"$d/diff.$what"; then
			head -n 40 "$d/diff.$what" >&2
			fail "same_tree $src $dst: $what differ ($(grep -c '^[-+][^-+]' "$d/diff.$what") lines)"
		fi
	done
	log "same_tree $src $dst: $(wc -l <"$d/src.sums") files identical"
}

# save_tree DIR NAME / check_tree DIR NAME: the state of a tree (the same
# views same_tree compares) before and after an unmount and mount.
save_tree() {
	local d=$VF_TMP/saved.$2 what
	mkdir -p "$d"
	for what in manifest sums xattrs; do
		"tree_$what" "$1" >"$d/$what" || fail "save_tree: $what of $1 failed"
	done
}

check_tree() {
	local d=$VF_TMP/saved.$2 what
	[ -d "$d" ] || fail "check_tree: nothing saved as $2"
	for what in manifest sums xattrs; do
		"tree_$what" "$1" >"$d/$what.now" || fail "check_tree: $what of $1 failed"
		if ! diff -u "$d/$what" "$d/$what.now" >"$d/$what.diff"; then
			head -n 40 "$d/$what.diff" >&2
			fail "$1 changed since save_tree $2: $what differ"
		fi
	done
	log "check_tree $1: same as saved $2 ($(wc -l <"$d/sums") files)"
}

# make_fixture_tree DIR [nosocket] [acl]: every kind of entry and metadata cp -a,
# rsync -aHAX and tar --xattrs keep: sizes from 0 to several chunks, a
# sparse file, odd modes (setuid, setgid, sticky, 0000), foreign owners,
# nanosecond mtimes, relative/absolute/dangling symlinks, hard links within
# the tree, a fifo, device nodes, a socket (tar skips sockets: "nosocket"),
# xattrs in the user and trusted namespaces (binary values too), and names
# with spaces, UTF-8 and 255 bytes; with "acl", POSIX ACLs too.
make_fixture_tree() {
	local d=$1 long o nosocket=0 acl=0
	for o in "${@:2}"; do
		case $o in
		nosocket) nosocket=1 ;;
		acl) acl=1 ;;
		*) fail "make_fixture_tree: unknown flag '$o'" ;;
		esac
	done
	mkdir -p "$d/sub/deeper" "$d/sticky" "$d/setgid" "$d/empty dir"
	: >"$d/empty"
	printf x >"$d/one-byte"
	head -c 4096 /dev/urandom >"$d/4k"
	head -c $((3 * 1024 * 1024 + 17)) /dev/urandom >"$d/sub/3m-random"
	head -c 2000000 < <(yes 'compressible text line for the fixture tree') >"$d/sub/text-2m"
	truncate -s 8M "$d/sparse"
	printf 'middle' | dd of="$d/sparse" bs=1 seek=4194304 conv=notrunc status=none
	printf 'hello\n' >"$d/name with spaces.txt"
	printf 'utf8\n' >"$d/sub/ünïcødé-файл-名前.txt"
	long=$(printf 'L%.0s' $(seq 1 251))
	printf 'long\n' >"$d/sub/$long.txt"
	printf 'linked content\n' >"$d/hard-a"
	ln "$d/hard-a" "$d/hard-b"
	ln "$d/hard-a" "$d/sub/hard-c"
	ln -s hard-a "$d/sym-rel"
	ln -s /etc/hostname "$d/sym-abs"
	ln -s does/not/exist "$d/sym-dangling"
	ln -s sub "$d/sym-dir"
	mkfifo "$d/fifo"
	mknod "$d/chardev" c 1 3
	mknod "$d/blockdev" b 7 200
	if [ "$nosocket" = 0 ]; then
		"$PYTHON" -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$d/socket"
	fi
	printf '#!/bin/sh\n' >"$d/setuid"
	chmod 4755 "$d/setuid"
	printf 'secret\n' >"$d/mode-0000"
	chmod 0000 "$d/mode-0000"
	chmod 0640 "$d/4k"
	chmod 1777 "$d/sticky"
	chmod 2775 "$d/setgid"
	chown 1234:5678 "$d/4k" "$d/setgid"
	chown -h 4321:8765 "$d/sym-rel"
	chown 0:100 "$d/sub/3m-random"
	setfattr -n user.comment -v 'fixture comment' "$d/4k"
	setfattr -n user.binary -v 0x00ff00fe7f "$d/4k"
	setfattr -n user.empty "$d/one-byte"
	setfattr -n user.dir -v 'on a directory' "$d/sub"
	setfattr -n trusted.root-only -v 'trusted value' "$d/sub/3m-random"
	setfattr -h -n trusted.on-link -v 'link xattr' "$d/sym-abs"
	setfattr -n user.big -v "$(head -c 3000 /dev/zero | tr '\0' 'v')" "$d/empty"
	if [ "$acl" = 1 ]; then
		# POSIX ACLs (what setfacl writes; the acl package may be missing):
		# an access ACL granting uid 1000 read, a default ACL on a directory.
		printf 'acl\n' >"$d/acl-file"
		mkdir "$d/acl-dir"
		"$PYTHON" -c '
import os, struct, sys
e = lambda tag, perm, id=0xffffffff: struct.pack("<HHI", tag, perm, id)
acl = struct.pack("<I", 2) + e(1, 6) + e(2, 4, 1000) + e(4, 4) + e(0x10, 4) + e(0x20, 4)
os.setxattr(sys.argv[1], "system.posix_acl_access", acl)
dacl = struct.pack("<I", 2) + e(1, 7) + e(4, 5) + e(8, 5, 100) + e(0x10, 5) + e(0x20, 5)
os.setxattr(sys.argv[2], "system.posix_acl_default", dacl)
' "$d/acl-file" "$d/acl-dir" || fail "cannot set POSIX ACLs in $d"
	fi
	# Times last, deepest first, so that directory mtimes stick.
	find "$d" -depth ! -type d -exec touch -h -d '2001-02-03 04:05:06.123456789' {} +
	touch -h -d '1999-12-31 23:59:59.987654321' "$d/sym-rel" "$d/sub/3m-random"
	touch -d '2038-01-19 03:14:08.5' "$d/one-byte"
	touch -d '1969-12-31 23:59:58' "$d/empty"
	find "$d" -depth -type d -exec touch -d '2010-05-06 07:08:09.000000001' {} +
}
