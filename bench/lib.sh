# shellcheck shell=bash
# bench/lib.sh - helpers shared by bench/run.sh and bench/smallfiles.sh.
# Sourced, not run.  Nothing here mounts or starts anything.

# need_root SCRIPT: the benchmarks mount FUSE filesystems (and run.sh
# bind-mounts the corpus and writes drop_caches).
need_root() {
	[ "$(id -u)" = 0 ] && return 0
	echo "$1: must run as root (FUSE mounts)" >&2
	exit 1
}

# proc_cpu_ticks PID: utime + stime of the whole process (every thread), in
# clock ticks (getconf CLK_TCK); empty when the process is gone.  The
# command name, field 2, may hold spaces: count from the closing paren.
proc_cpu_ticks() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	awk '{ print $12 + $13 }' <<<"$s"
}

# ticks_to_us TICKS
ticks_to_us() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%d", t * 1000000 / hz }'; }

# stats_get FILE KEY: one counter of a `-o stats=FILE` file (mount.vaultfs(8),
# written when the daemon stops); empty when absent.
stats_get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# stats_sum FILE PREFIX: the sum of the counters whose name starts with
# PREFIX (sealed_: WAL and checkpoint page images; cpu_: user + sys us).
stats_sum() { awk -v p="$2" 'index($1, p) == 1 { n += $2 } END { printf "%d", n }' "$1"; }

# vault_parts DIR: "CATALOG PACKS OTHER" bytes of a vault directory:
# catalog = catalog.db, its WAL and anything else named catalog* (a local
# vault keeps no catalog segments: a remote one ships them to its store);
# packs = packs/; other = the rest (vault.hdr, lock, anchors, spool).
vault_parts() {
	find "$1" -type f -printf '%s\t%P\n' | awk -F'\t' '
		$2 ~ /^packs\// { p += $1; next }
		$2 ~ /^catalog/ { c += $1; next }
		{ o += $1 }
		END { printf "%d %d %d\n", c, p, o }'
}
