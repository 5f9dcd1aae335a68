#!/usr/bin/env bash
# bench/smallfiles.sh - the daemon's own counters for a `cp -a` of small
# files into a fresh vault: FUSE requests, catalog transactions, sealed
# catalog bytes and daemon CPU time, each per file, plus context switches
# per request.  Counters and CPU time do not depend on the load of the
# machine, so this is the figure to compare before and after a change to
# the small-file path (bench/run.sh gives the wall-clock view).
#
#   bench/smallfiles.sh [SRC] [-o mount options]   (as root)
#
# SRC defaults to /usr/include.  Needs root (FUSE).  Prints one block of
# figures on stdout; leaves nothing behind.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
need_root smallfiles.sh
BIN=${VAULTFS_BIN:-$ROOT/build}
SRC=${1:-/usr/include}
shift || true
OPTS=
if [ "${1:-}" = -o ]; then OPTS=,$2; fi
W=$(mktemp -d /var/tmp/vf-small.XXXXXX)
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		fusermount3 -u "$W/mnt" 2>/dev/null || kill "$PID"
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT
mkdir "$W/mnt"
"$BIN/vaultctl" init "$W/vault" --keystore "$W/keys" >/dev/null
mkfifo "$W/ready"
VAULTFS_READY_FD=9 "$BIN/mount.vaultfs" "$W/vault" "$W/mnt" -f \
	-o "keystore=$W/keys,stats=$W/stats$OPTS" 9>"$W/ready" </dev/null \
	>"$W/log" 2>&1 &
PID=$!
read -r -t 30 line <"$W/ready" || true
[ "${line:-}" = ok ] || { cat "$W/log" >&2; echo "mount failed" >&2; exit 1; }

# Daemon CPU (utime+stime of all threads, clock ticks) and context
# switches (all threads) before and after the copy.
cpu() { proc_cpu_ticks "$PID"; }
ctxt() { cat /proc/$PID/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'; }
c0=$(cpu); x0=$(ctxt); t0=$(date +%s.%N)
cp -a "$SRC" "$W/mnt/copy"
sync -f "$W/mnt"
c1=$(cpu); x1=$(ctxt); t1=$(date +%s.%N)
files=$(find "$SRC" -type f | wc -l)
bytes=$(find "$SRC" -type f -printf '%s\n' | awk '{n += $1} END {print n}')
fusermount3 -u "$W/mnt"
wait "$PID"
PID=
hz=$(getconf CLK_TCK)
awk -v files="$files" -v bytes="$bytes" -v cpu=$((c1 - c0)) -v hz="$hz" \
    -v ctx=$((x1 - x0)) -v wall="$(echo "$t1 - $t0" | bc)" -v src="$SRC" '
	{ v[$1] = $2 }
	END {
		printf "source            %s: %d files, %.1f MB\n", src, files, bytes / 1e6
		printf "requests/file     %.2f", v["total"] / files
		n = split("lookup getattr setattr create write flush release getxattr setxattr", op, " ")
		sep = " ("
		for (i = 1; i <= n; i++) if (v[op[i]] > 0) { printf "%s%s %.2f", sep, op[i], v[op[i]] / files; sep = ", " }
		printf ")\n"
		printf "transactions/file %.2f\n", v["transactions"] / files
		printf "sealed KB/file    %.1f (WAL %.1f, checkpoints %.1f)\n", (v["sealed_wal_bytes"] + v["sealed_db_bytes"]) / files / 1024, v["sealed_wal_bytes"] / files / 1024, v["sealed_db_bytes"] / files / 1024
		printf "daemon CPU ms/file %.3f\n", cpu * 1000 / hz / files
		printf "ctx switches/req  %.2f\n", ctx / v["total"]
		printf "wall s            %.1f (noisy on a shared machine)\n", wall
	}' "$W/stats"
