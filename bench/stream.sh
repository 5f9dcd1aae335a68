#!/usr/bin/env bash
# bench/stream.sh - streaming throughput of one big file through the mount:
# write MB/s (close included) and read MB/s (page cache dropped first) of a
# random and of a compressible file, with the daemon's CPU time and peak
# RSS.  The vault directory is on a tmpfs so the disk is not the limit; the
# source files are in /dev/shm.  No thresholds: it prints figures.
#
#   bench/stream.sh (as root) [MiB] [-o mount options]
#
# MiB defaults to 512.  Needs root (FUSE, tmpfs, drop_caches).  Set
# STREAM_PERF=1 to record a perf profile of the daemon during the random
# write and read (perf.data.write / perf.data.read in the current
# directory).  Leaves nothing else behind.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VAULTFS_BIN:-$ROOT/build}
MIB=${1:-512}
shift || true
OPTS=
if [ "${1:-}" = -o ]; then OPTS=,$2; fi
W=$(mktemp -d /var/tmp/vf-stream.XXXXXX)
PID=
PERFPID=
cleanup() {
	if [ -n "$PERFPID" ]; then kill -INT "$PERFPID" 2>/dev/null || true; fi
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		fusermount3 -u "$W/mnt" 2>/dev/null || kill "$PID"
		wait "$PID" 2>/dev/null || true
	fi
	umount "$W/vault" 2>/dev/null || true
	rm -rf "$W" /dev/shm/vf-stream-rand.$$ /dev/shm/vf-stream-text.$$
}
trap cleanup EXIT
RAND=/dev/shm/vf-stream-rand.$$
TEXT=/dev/shm/vf-stream-text.$$
dd if=/dev/urandom of="$RAND" bs=1M count="$MIB" status=none
# Compressible: what a system holds (text, binaries, images), about 1:3
# with zstd.
tar -C /usr -cf - share lib 2>/dev/null | head -c "$((MIB << 20))" >"$TEXT" || true

mkdir "$W/mnt" "$W/vault"
mount -t tmpfs -o size=$((MIB * 3))m tmpfs "$W/vault"
"$BIN/vaultctl" init "$W/vault/v" --keystore "$W/keys" >/dev/null
mkfifo "$W/ready"
VAULTFS_READY_FD=9 "$BIN/mount.vaultfs" "$W/vault/v" "$W/mnt" -f \
	-o "keystore=$W/keys$OPTS" 9>"$W/ready" </dev/null >"$W/log" 2>&1 &
PID=$!
read -r -t 30 line <"$W/ready" || true
[ "${line:-}" = ok ] || { cat "$W/log" >&2; echo "mount failed" >&2; exit 1; }

hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
perf_on() {
	[ "${STREAM_PERF:-}" = 1 ] || return 0
	perf record -q -e cpu-clock -g -p "$PID" -o "perf.data.$1" \
		>/dev/null 2>&1 &
	PERFPID=$!
	sleep 1
}
perf_off() {
	[ -n "$PERFPID" ] || return 0
	kill -INT "$PERFPID"
	wait "$PERFPID" 2>/dev/null || true
	PERFPID=
}
# One timed step: prints MB/s, the daemon's CPU seconds per GB moved (the
# figure that depends least on the load of the machine) and its CPU use.
timed() {
	local c0 c1 t0 t1
	c0=$(cpu)
	t0=$(date +%s.%N)
	"$@"
	t1=$(date +%s.%N)
	c1=$(cpu)
	awk -v b=$((MIB << 20)) -v t0="$t0" -v t1="$t1" -v c=$((c1 - c0)) \
	    -v hz="$hz" 'BEGIN { w = t1 - t0;
		printf "%6.0f MB/s  daemon CPU %4.2f s/GB, %3.0f%% of a core\n",
		       b / w / 1e6, c / hz / (b / 1e9), c / hz / w * 100 }'
}
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
for kind in rand text; do
	src=$RAND
	[ $kind = text ] && src=$TEXT
	drop
	[ $kind = rand ] && perf_on write
	printf '%-5s write ' $kind
	timed dd if="$src" of="$W/mnt/$kind" bs=1M conv=fsync status=none
	perf_off
	drop
	[ $kind = rand ] && perf_on read
	printf '%-5s read  ' $kind
	timed dd if="$W/mnt/$kind" of=/dev/null bs=1M status=none
	perf_off
	cmp "$src" "$W/mnt/$kind"
done
printf 'stored       %s MiB for %s MiB written\n' \
	"$(du -sm "$W/vault/v" | cut -f1)" $((MIB * 2))
printf 'peak RSS     %s MiB\n' \
	"$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' /proc/$PID/status)"
printf 'load         %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
