#!/usr/bin/env bash
# 0020-daemon-fds: the daemon keeps nothing its caller left it.  Started
# under `flock LOCK mount.vaultfs ...` (flock passes the locked descriptor
# on) and with an extra descriptor open, the serving process holds neither:
# once mount.vaultfs has returned, `flock -n LOCK` succeeds, /proc/PID/fd
# lists only stdio, /dev/fuse and its own files, no signal is ignored or
# blocked, and the umask is 077.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

vf_init
LOCK=$VF_TMP/lock
: >"$LOCK"
printf 'inherited\n' >"$VF_TMP/inherited"

# Daemonizing, as mount(8) runs it: flock holds LOCK on the descriptor it
# hands to mount.vaultfs; fd 7 is one more inherited file; SIGPIPE ignored
# and SIGUSR1 blocked by the caller.
rc=0
(
	trap '' PIPE
	exec 7<"$VF_TMP/inherited"
	exec flock "$LOCK" "$PYTHON" -c '
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
os.execv(sys.argv[1], sys.argv[1:])
' "$MOUNT_VAULTFS" "$VAULT" "$MNT" -o "keystore=$KS"
) </dev/null >"$VF_TMP/out" 2>"$VF_TMP/err" || rc=$?
[ "$rc" = 0 ] || fail "mount.vaultfs under flock failed ($rc): $(cat "$VF_TMP/err")"
is_mounted "$MNT" || fail "$MNT is not mounted"
DPID=
for d in /proc/[0-9]*; do
	if { tr "\\0" " " <"$d/cmdline"; } 2>/dev/null | grep -qF "$MOUNT_VAULTFS $VAULT $MNT"; then
		DPID=${d#/proc/}
	fi
done
[ -n "$DPID" ] || fail "no mount.vaultfs process serving $MNT"

flock -n "$LOCK" true || fail "the daemon still holds the caller's flock on $LOCK"
log "flock -n after mount: free"
bad=0
for f in /proc/"$DPID"/fd/*; do
	t=$(readlink "$f" || true)
	case $t in
	"$LOCK" | "$VF_TMP/inherited") log "inherited descriptor $(basename "$f") -> $t"; bad=1 ;;
	esac
done
[ "$bad" = 0 ] || fail "the daemon kept descriptors its caller left it"
blk=$(awk '/^SigBlk:/ { print $2 }' "/proc/$DPID/status")
# SIGUSR1 (bit 10) must not stay blocked by the caller's say (libfuse
# itself ignores SIGPIPE, so the ignored set says nothing here).
[ $((0x$blk & (1 << 9))) = 0 ] || fail "SIGUSR1 still blocked in the daemon (SigBlk $blk)"
assert_eq 0077 "$(awk '/^Umask:/ { print $2 }' "/proc/$DPID/status")" "daemon umask"
echo hello >"$MNT/f"
cmp <(echo hello) "$MNT/f" || fail "the mount does not work"
fusermount3 -u "$MNT" || fail "unmount failed"
for i in $(seq 1 100); do pid_running "$DPID" || break; sleep 0.1; done
pid_running "$DPID" && fail "daemon $DPID did not exit after unmount"

# Foreground (-f) the same: only the readiness fd is kept.
exec 7<"$VF_TMP/inherited"
vf_mount
exec 7<&-
for f in /proc/"$VF_PID"/fd/*; do
	t=$(readlink "$f" || true)
	[ "$t" != "$VF_TMP/inherited" ] || fail "the -f daemon kept inherited fd $(basename "$f")"
done
vf_umount
