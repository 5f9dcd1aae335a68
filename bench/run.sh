#!/usr/bin/env bash
# vaultfs benchmark: vaultfs side by side with restic, Borg, gocryptfs, bindfs
# and plain cp, in one run, on the same data.  A benchmark, not a test: it
# prints figures and ratios and never fails on a threshold.
#
#   bench/run.sh (as root)               # full run (~600 MB of system files)
#   BENCH_MB=50 bench/run.sh             # quick smoke run
#   BENCH_TMPFS=1 bench/run.sh           # everything on a tmpfs (the stream goal's setting)
#
# See bench/README.md for what each phase measures and the fairness choices.
# Environment:
#   BENCH_DIR      work dir (default /var/tmp/vaultfs-bench); everything lives
#                  on this one filesystem
#   BENCH_TMPFS=1  corpus, vaults, repositories on a tmpfs the script mounts on
#                  BENCH_DIR/tmpfs (sized for the corpus) and unmounts at exit;
#                  results and logs stay in BENCH_DIR
#   BENCH_MB       corpus size in MB (default 600)
#   BENCH_BIG_MB   size of the single big file (default 512; 64 if BENCH_MB<200)
#   BENCH_SMALL_N  number of small files (default 10000; 2000 if BENCH_MB<200)
#   BENCH_SEED     seed of the mutation of version 2 (default 42)
#   BENCH_TOOLS    tools to run (default "local bindfs gocryptfs vaultfs restic borg
#                  vaultctl-backup vaultfs-s3"; vaultctl-backup = `vaultctl backup
#                  SRC MNT/DEST` into a vault of its own, run only when that command
#                  exists; vaultfs-s3 = a remote vault in radosgw on loopback)
#   BENCH_REUSE_DATA=0  regather the corpus even if one of the same size exists
#   BENCH_DROP=0   do not drop the page cache before timed phases
#   VAULTFS_BIN    directory with mount.vaultfs and vaultctl (default <repo>/build)
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need_root run.sh
W=${BENCH_DIR:-/var/tmp/vaultfs-bench}
TMPFS=${BENCH_TMPFS:-0}
MB=${BENCH_MB:-600}
if [ "$MB" -lt 200 ]; then def_big=64 def_small=2000; else def_big=512 def_small=10000; fi
BIG_MB=${BENCH_BIG_MB:-$def_big}
SMALL_N=${BENCH_SMALL_N:-$def_small}
SEED=${BENCH_SEED:-42}
TOOLS=" ${BENCH_TOOLS:-local bindfs gocryptfs vaultfs restic borg vaultctl-backup vaultfs-s3} "
VBIN=${VAULTFS_BIN:-$ROOT/build}
DROP=${BENCH_DROP:-1}
PW=bench-password-not-secret

FS=$W                   # where the data and the tools' directories live
[ "$TMPFS" = 1 ] && FS=$W/tmpfs
DATA=$FS/data           # v1/ v2/ big.bin  (kept between runs, unless on tmpfs)
SRC=$FS/src             # bind mount of data/v1 then data/v2: every tool reads this path
RUN=$FS/run             # per-run tool dirs (recreated each run)
LOG=$W/logs
RES=$W/results.tsv      # raw rows
OUT=$W/results.txt
NOTES=()
note() { NOTES+=("$*"); echo "  note: $*" >&2; }
say() { printf '\n== %s\n' "$*" >&2; }
TMPFS_UP=

# ---------------------------------------------------------------- cleanup
MOUNTS=()        # mountpoints we mounted (unmounted in reverse on exit)
declare -A FPID  # mountpoint -> pid of the foreground daemon (under /usr/bin/time)
CUR_PID=
cleanup() {
	set +e
	local i m
	if [ -n "$CUR_PID" ]; then
		kill -TERM -- "-$CUR_PID" 2>/dev/null; sleep 0.5; kill -KILL -- "-$CUR_PID" 2>/dev/null
	fi
	for ((i=${#MOUNTS[@]}-1; i>=0; i--)); do
		m=${MOUNTS[i]}
		if mountpoint -q "$m"; then
			fusermount3 -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		fi
	done
	for m in "${!FPID[@]}"; do
		kill "${FPID[$m]}" 2>/dev/null
	done
	mountpoint -q "$SRC" && umount "$SRC"
	[ -n "${CEPH_UP:-}" ] && "$ROOT/tests/ceph/cluster.sh" down "$CEPH_UP" >/dev/null 2>&1
	wait 2>/dev/null
	[ -n "$TMPFS_UP" ] && { umount "$TMPFS_UP" || umount -l "$TMPFS_UP"; rmdir "$TMPFS_UP"; }
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$W"
rm -rf "$LOG"; mkdir -p "$LOG"
if [ "$TMPFS" = 1 ]; then
	# sized for the corpus: v1 and every tool's copy of it (~8x), the big
	# file in the mount-based tools and data/ (~5x), headroom
	mkdir -p "$FS"
	if mountpoint -q "$FS"; then echo "run.sh: $FS is already a mount point" >&2; exit 1; fi
	mount -t tmpfs -o "size=$((MB * 10 + BIG_MB * 6 + 1024))m,mode=0755" bench-tmpfs "$FS"
	TMPFS_UP=$FS
fi
mkdir -p "$DATA" "$SRC"
rm -rf "$RUN"; mkdir -p "$RUN"
: > "$RES"

has() { case "$TOOLS" in *" $1 "*) return 0;; esac; return 1; }
need() { # tool binary...
	local t=$1; shift
	has "$t" || return 1
	local b
	for b in "$@"; do
		if ! command -v "$b" >/dev/null 2>&1 && [ ! -x "$b" ]; then
			note "$t skipped: $b not found"
			TOOLS=${TOOLS/ $t / }
			return 1
		fi
	done
}

drop_caches() {
	sync
	if [ "$DROP" = 1 ]; then
		echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || { note "cannot drop caches (not root / no /proc/sys/vm/drop_caches): figures are warm-cache"; DROP=0; }
	fi
}

fnum() { awk -v x="$1" 'BEGIN{ if (x == "" || x == "-") print "-"; else printf "%.2f", x }'; }
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN{ printf "%.3f", a - b }'; }

# ------------------------------------------------------------- measuring
# record TOOL PHASE SECONDS BYTES FILES RSS_KIB STATUS [NOTE]
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "${8:-}" >> "$RES"; }

# timed TOOL PHASE BYTES FILES -- cmd...
# Drops caches, runs cmd under /usr/bin/time, then sync (counted in the time:
# every tool's writes have to reach the disk).  Sets T (s), T_CMD, RSS (KiB), OK.
timed() {
	local tool=$1 phase=$2 bytes=$3 files=$4; shift 5
	local tf=$LOG/time.tmp lf=$LOG/$tool.$phase.log
	drop_caches
	local c="$*"; echo "  $tool $phase: ${c%%$'\n'*}" >&2
	local t0 t1 t2 rc=0
	t0=$(now)
	# own process group, in the background, so an interrupt reaches the trap
	# at once and the cleanup can stop the whole command before unmounting
	setsid /usr/bin/time -f '%e %M' -o "$tf" "$@" >>"$lf" 2>&1 &
	CUR_PID=$!
	wait "$CUR_PID" || rc=$?
	CUR_PID=
	t1=$(now)
	sync
	t2=$(now)
	T_CMD=$(sub "$t1" "$t0"); T=$(sub "$t2" "$t0")
	RSS=$(tail -n1 "$tf" 2>/dev/null | awk '{print $2}'); RSS=${RSS:--}
	local rssf=$RSS
	# for a FUSE tool the interesting memory is the daemon's: filled in at unmount
	[ -n "${DAEMON_UP[$tool]:-}" ] && rssf="daemon?"
	if [ $rc = 0 ]; then
		OK=1
		record "$tool" "$phase" "$T" "$bytes" "$files" "$rssf" ok "cmd ${T_CMD}s + sync"
	else
		OK=0
		record "$tool" "$phase" "$T" "$bytes" "$files" "$rssf" FAIL "exit $rc, see $lf"
		note "$tool $phase FAILED (exit $rc): $(tail -n3 "$lf" | tr '\n' ' ')"
	fi
	printf '    %s s (cmd %s s) rss %s KiB%s\n' "$T" "$T_CMD" "$RSS" "$([ $OK = 1 ] || echo '  FAILED')" >&2
	[ $OK = 1 ]
}

# -------------------------------------------------------- FUSE daemons
# Every daemon runs in the foreground under /usr/bin/time in the background so
# its peak RSS is known at exit; VmHWM is also read just before unmount.
declare -A PEAK   # tool -> max peak RSS KiB over all its mounts
declare -A DAEMON_UP  # tool -> 1 while its daemon is mounted
peak() { local t=$1 v=$2; [[ $v =~ ^[0-9]+$ ]] || return 0; if [ "${PEAK[$t]:-0}" -lt "$v" ]; then PEAK[$t]=$v; fi; }

# fuse_start TOOL MNT READY_PATH -- cmd...   (cmd must stay in the foreground)
fuse_start() {
	local tool=$1 mnt=$2 ready=$3; shift 4
	mkdir -p "$mnt"
	/usr/bin/time -f '%M' -o "$LOG/rss.$tool.$(basename "$mnt")" "$@" >>"$LOG/$tool.daemon.log" 2>&1 &
	local pid=$! i
	FPID[$mnt]=$pid
	MOUNTS+=("$mnt")
	DAEMON_UP[$tool]=1
	for ((i=0; i<600; i++)); do
		if mountpoint -q "$mnt" && { [ -z "$ready" ] || [ -e "$ready" ]; }; then return 0; fi
		if ! kill -0 "$pid" 2>/dev/null; then
			note "$tool: mount of $mnt failed: $(tail -n2 "$LOG/$tool.daemon.log" | tr '\n' ' ')"
			unset "FPID[$mnt]"; return 1
		fi
		sleep 0.1
	done
	note "$tool: $mnt not ready after 60 s"
	return 1
}

daemon_pid() { # child of /usr/bin/time
	pgrep -P "$1" | head -n1
}

# fuse_stop TOOL MNT  -> sets T_UMOUNT (unmount + daemon exit) and D_CPU_US
# (the daemon's utime + stime over the whole mount, read just before the
# unmount; - if unknown)
fuse_stop() {
	local tool=$1 mnt=$2 pid=${FPID[$2]:-} dp hwm=0 t0 m ticks
	T_UMOUNT=- D_CPU_US=-
	unset "DAEMON_UP[$tool]"
	[ -n "$pid" ] || { mountpoint -q "$mnt" && fusermount3 -u "$mnt"; return 0; }
	dp=$(daemon_pid "$pid")
	if [ -n "$dp" ]; then
		hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$dp/status" 2>/dev/null || true)
		peak "$tool" "$hwm"
		ticks=$(proc_cpu_ticks "$dp")
		[ -z "$ticks" ] || D_CPU_US=$(ticks_to_us "$ticks")
	fi
	t0=$(now)
	fusermount3 -u "$mnt" 2>>"$LOG/$tool.daemon.log" || umount "$mnt" 2>>"$LOG/$tool.daemon.log" || true
	local rc=0
	wait "$pid" || rc=$?
	T_UMOUNT=$(sub "$(now)" "$t0")
	unset "FPID[$mnt]"
	m=$(tail -n1 "$LOG/rss.$tool.$(basename "$mnt")" 2>/dev/null || true)
	peak "$tool" "$m"
	[[ $m =~ ^[0-9]+$ ]] && [ "$m" -gt "${hwm:-0}" ] && hwm=$m
	[[ $hwm =~ ^[0-9]+$ ]] || hwm=-
	# rows timed while this daemon was up get its peak RSS for this mount
	awk -F'\t' -v OFS='\t' -v t="$tool" -v h="$hwm" '$1 == t && $6 == "daemon?" { $6 = h } { print }' "$RES" > "$RES.tmp" && mv "$RES.tmp" "$RES"
	[ $rc = 0 ] || note "$tool daemon for $mnt exited with status $rc"
	return 0
}

# Tool-specific mounts ----------------------------------------------------
V_VAULT=$RUN/vaultfs/vault V_KS=$RUN/vaultfs/keystore V_MNT=$RUN/vaultfs/mnt
V_N=0; V_STATS=
vaultfs_mount() { # [stats-tag]
	V_N=$((V_N+1))
	V_STATS=$LOG/vaultfs.stats.${1:-m$V_N}
	rm -f "$V_STATS"
	fuse_start vaultfs "$V_MNT" "" -- "$VBIN/mount.vaultfs" "$V_VAULT" "$V_MNT" -o "keystore=$V_KS,stats=$V_STATS" -f
}
vaultfs_umount() { fuse_stop vaultfs "$V_MNT"; }

# vaultctl backup SRC MNT/DEST: the native ingest path, into a vault of its own
VB_VAULT=$RUN/vaultctl-backup/vault VB_KS=$RUN/vaultctl-backup/keystore VB_MNT=$RUN/vaultctl-backup/mnt
VB_BUILT=0
vb_mount() { fuse_start vaultctl-backup "$VB_MNT" "" -- "$VBIN/mount.vaultfs" "$VB_VAULT" "$VB_MNT" -o "keystore=$VB_KS" -f; }
vb_run() { # phase bytes files: one `vaultctl backup` of $SRC, or a "not built" row
	if [ "$VB_BUILT" != 1 ]; then
		record vaultctl-backup "$1" - "$2" "$3" - "not built" "vaultctl backup --help does not exit 0 in this build"
		return 0
	fi
	vb_mount || { note "vaultctl-backup: cannot mount, $1 skipped"; return 0; }
	timed vaultctl-backup "$1" "$2" "$3" -- "$VBIN/vaultctl" backup "$SRC" "$VB_MNT/data" || true
	fuse_stop vaultctl-backup "$VB_MNT"
	[ "$T_UMOUNT" = - ] || record vaultctl-backup "umount-after-$1" "$T_UMOUNT" 0 0 - ok "unmount incl. flush"
}

G_CIPHER=$RUN/gocryptfs/cipher G_MNT=$RUN/gocryptfs/mnt
gocryptfs_mount() { fuse_start gocryptfs "$G_MNT" "" -- gocryptfs -fg -q -passfile "$RUN/pw" "$G_CIPHER" "$G_MNT"; }
gocryptfs_umount() { fuse_stop gocryptfs "$G_MNT"; }

B_BACK=$RUN/bindfs/back B_MNT=$RUN/bindfs/mnt
bindfs_mount() { fuse_start bindfs "$B_MNT" "" -- bindfs -f "$B_BACK" "$B_MNT"; }
bindfs_umount() { fuse_stop bindfs "$B_MNT"; }

L_DIR=$RUN/local/dir
local_mount() { mkdir -p "$L_DIR"; }
local_umount() { T_UMOUNT=- D_CPU_US=-; }

target_dir() { # tool -> directory the tree is copied into
	case $1 in
	vaultfs) echo "$V_MNT";; gocryptfs) echo "$G_MNT";; bindfs) echo "$B_MNT";; local) echo "$L_DIR";;
	esac
}

R_REPO=$RUN/restic/repo
export RESTIC_PASSWORD=$PW RESTIC_CACHE_DIR=$RUN/restic/cache
restic_() { restic -r "$R_REPO" --quiet "$@"; }
O_REPO=$RUN/borg/repo
export BORG_PASSPHRASE=$PW BORG_BASE_DIR=$RUN/borg/base BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes

# ------------------------------------------------------------ the data
gather() {
	local dst=$1 budget=$((MB * 1000000)) list=$DATA/list
	say "gathering ~${MB} MB of system files into $dst"
	: > "$list"
	# source directory and its share of the budget (percent)
	local spec="/usr/lib/x86_64-linux-gnu:40 /usr/bin:8 /usr/include:17 /usr/share/doc:14 /usr/share/man:7 /usr/lib/python3:4 /usr/lib/python3.11:3 /usr/share/locale:7"
	local s dir pct
	for s in $spec; do
		dir=${s%:*} pct=${s##*:}
		[ -d "$dir" ] || continue
		# files in path order, taken while they fit in the share (larger ones
		# skipped); symlinks taken too (cost 0).  Only regular files and links.
		find "$dir" -xdev \( -type f -o -type l \) -printf '%s\t%y\t%p\n' 2>/dev/null | sort -t"$(printf '\t')" -k3,3 |
			awk -F'\t' -v b=$((budget * pct / 100)) '
				$2 == "l" { print $3; next }
				$1 > 64*1024*1024 { next }
				s + $1 <= b { s += $1; print $3 }' >> "$list"
	done
	rm -rf "$dst"; mkdir -p "$dst"
	rsync -a --files-from="$list" / "$dst/"
}

mutate() { # v1 v2: v2 = hard-link farm of v1 with ~2% of files changed, some added, some deleted
	local v1=$1 v2=$2
	say "making version 2 (seed $SEED): ~2% files changed, ~0.5% added, ~0.5% deleted"
	rm -rf "$v2"; cp -al "$v1" "$v2"
	local f tmp=$DATA/mut.tmp kind arg n_mod=0 n_add=0 n_del=0
	# unchanged files share inode/mtime/ctime with v1, so a tool that reads $SRC
	# sees exactly what an in-place edit of a live tree would look like.
	while IFS=$'\t' read -r kind arg f; do
		case $kind in
		append|overwrite|prepend)
			cp -p "$v2/$f" "$tmp"
			case $kind in
			append) head -c "$arg" /dev/urandom >> "$tmp";;
			overwrite) head -c 64 /dev/urandom | dd of="$tmp" bs=1 seek="$arg" conv=notrunc status=none;;
			prepend) { head -c 16 /dev/urandom; cat "$v2/$f"; } > "$tmp.2"; mv "$tmp.2" "$tmp";;
			esac
			touch "$tmp"; mv "$tmp" "$v2/$f"; n_mod=$((n_mod+1));;
		delete) rm -f "$v2/$f"; n_del=$((n_del+1));;
		addrand) head -c "$arg" /dev/urandom > "$v2/$f.new"; n_add=$((n_add+1));;
		addcopy) { cat "$v2/$f"; echo "vaultfs-bench $arg"; } > "$v2/$f.copy"; n_add=$((n_add+1));;
		esac
	done < <(cd "$v1" && find . -type f -printf '%s\t%P\n' | sort -t"$(printf '\t')" -k2,2 |
		awk -F'\t' -v seed="$SEED" 'BEGIN { srand(seed) }
			{ r = rand(); k = rand(); sz = $1; p = $2
			  if (r < 0.02) {
				if (k < 0.4) printf "append\t%d\t%s\n", 1 + int(rand() * 8192), p
				else if (k < 0.8) printf "overwrite\t%d\t%s\n", int(sz / 2), p
				else printf "prepend\t0\t%s\n", p
			  } else if (r < 0.025) printf "delete\t0\t%s\n", p
			  else if (r < 0.0275) printf "addrand\t%d\t%s\n", 1 + int(rand() * 65536), p
			  else if (r < 0.03) printf "addcopy\t%d\t%s\n", NR, p }')
	echo "  v2: $n_mod files changed, $n_add added, $n_del deleted" >&2
	echo "$n_mod $n_add $n_del" > "$DATA/v2.changes"
}

tree_bytes() { find "$1" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%d", s}'; }
tree_files() { find "$1" \( -type f -o -type l \) | wc -l; }

stamp="mb=$MB big=$BIG_MB seed=$SEED v=3"
if [ "${BENCH_REUSE_DATA:-1}" = 1 ] && [ "$(cat "$DATA/.ready" 2>/dev/null)" = "$stamp" ]; then
	say "reusing corpus in $DATA ($stamp)"
else
	rm -f "$DATA/.ready"
	gather "$DATA/v1"
	mutate "$DATA/v1" "$DATA/v2"
	say "making the ${BIG_MB} MiB random file"
	head -c $((BIG_MB * 1048576)) /dev/urandom > "$DATA/big.bin"
	echo "$stamp" > "$DATA/.ready"
fi
V1_BYTES=$(tree_bytes "$DATA/v1") V1_FILES=$(tree_files "$DATA/v1")
V2_BYTES=$(tree_bytes "$DATA/v2") V2_FILES=$(tree_files "$DATA/v2")
V2_CHANGED=$(cat "$DATA/v2.changes")
BIG_BYTES=$((BIG_MB * 1048576))
echo "  v1: $V1_BYTES bytes, $V1_FILES files (+ $(find "$DATA/v1" -type d | wc -l) dirs); v2: $V2_BYTES bytes, $V2_FILES files" >&2

# -------------------------------------------------------- tool set-up
printf '%s\n' "$PW" > "$RUN/pw"; chmod 600 "$RUN/pw"
need local cp || true
need bindfs bindfs || true
need gocryptfs gocryptfs || true
need restic restic || true
need borg borg || true
if has vaultfs; then
	if [ ! -x "$VBIN/mount.vaultfs" ] || [ ! -x "$VBIN/vaultctl" ]; then
		note "vaultfs skipped: $VBIN/mount.vaultfs or $VBIN/vaultctl missing (run make)"
		TOOLS=${TOOLS/ vaultfs / }
	fi
fi
if has vaultfs; then
	# snapshot the binaries: a concurrent `make` must not swap them mid-run
	mkdir -p "$RUN/vaultfs" "$RUN/bin"
	mkdir -p "$RUN/bin/tests"
	cp "$VBIN/mount.vaultfs" "$VBIN/vaultctl" "$RUN/bin/"
	cp "$VBIN/tests/s3probe" "$RUN/bin/tests/" 2>/dev/null || true
	VBIN_ORIG=$VBIN VBIN=$RUN/bin
	VAULTFS_VER="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'), binaries of $(date -r "$VBIN_ORIG/mount.vaultfs" '+%F %T')"
	if ! "$VBIN/vaultctl" init "$V_VAULT" --keystore "$V_KS" >"$LOG/vaultfs.init.log" 2>&1; then
		note "vaultfs skipped: vaultctl init failed: $(tail -n2 "$LOG/vaultfs.init.log" | tr '\n' ' ')"
		TOOLS=${TOOLS/ vaultfs / }
	fi
fi
if has vaultctl-backup; then
	if ! has vaultfs; then
		note "vaultctl-backup skipped: vaultfs is not run"
		TOOLS=${TOOLS/ vaultctl-backup / }
	elif "$VBIN/vaultctl" backup --help >"$LOG/vaultctl-backup.help.log" 2>&1; then
		mkdir -p "$RUN/vaultctl-backup"
		if "$VBIN/vaultctl" init "$VB_VAULT" --keystore "$VB_KS" >"$LOG/vaultctl-backup.init.log" 2>&1; then
			VB_BUILT=1
		else
			note "vaultctl-backup skipped: vaultctl init failed"; TOOLS=${TOOLS/ vaultctl-backup / }
		fi
	else
		note "vaultctl backup: not built in this tree (vaultctl backup --help does not exit 0); its rows say so"
	fi
fi
if has gocryptfs; then
	mkdir -p "$G_CIPHER"
	gocryptfs -init -q -passfile "$RUN/pw" "$G_CIPHER" >"$LOG/gocryptfs.init.log" 2>&1 ||
		{ note "gocryptfs skipped: init failed"; TOOLS=${TOOLS/ gocryptfs / }; }
fi
has bindfs && mkdir -p "$B_BACK"
if has restic; then
	mkdir -p "$RUN/restic"
	restic_ init --repository-version 2 >"$LOG/restic.init.log" 2>&1 ||
		{ note "restic skipped: init failed"; TOOLS=${TOOLS/ restic / }; }
fi
if has borg; then
	mkdir -p "$RUN/borg"
	borg init -e repokey-blake2 "$O_REPO" >"$LOG/borg.init.log" 2>&1 ||
		{ note "borg skipped: init failed"; TOOLS=${TOOLS/ borg / }; }
fi
FUSE_TOOLS=""
for t in local bindfs gocryptfs vaultfs; do has $t && FUSE_TOOLS+=" $t"; done
echo "  tools:$TOOLS" >&2

bind_src() { # v1|v2
	mountpoint -q "$SRC" && umount "$SRC"
	mount --bind "$DATA/$1" "$SRC"
}
du_b() { du -sb "$1" 2>/dev/null | cut -f1; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
# ============================================================ phase 1: ingest
say "phase 1: ingest v1 ($V1_FILES files, $V1_BYTES bytes)"
bind_src v1
for t in $FUSE_TOOLS; do
	${t}_mount ingest || { note "$t: cannot mount, phase 1 skipped"; continue; }
	d=$(target_dir "$t")
	timed "$t" ingest "$V1_BYTES" "$V1_FILES" -- cp -a "$SRC" "$d/data" || true
	${t}_umount
	[ "$T_UMOUNT" = - ] || record "$t" umount-after-ingest "$T_UMOUNT" 0 0 - ok "unmount incl. flush"
	[ "$D_CPU_US" = - ] || record "$t" daemon-cpu - "$D_CPU_US" "$V1_FILES" - ok "ingest mount, /proc/PID/stat utime+stime before unmount"
	[ $t = vaultfs ] && cp "$V_STATS" "$LOG/vaultfs.stats.ingest.saved" 2>/dev/null || true
done
has restic && { timed restic ingest "$V1_BYTES" "$V1_FILES" -- restic -r "$R_REPO" --quiet backup "$SRC" || true; peak restic "$RSS"; }
has borg && { timed borg ingest "$V1_BYTES" "$V1_FILES" -- borg create -C zstd,3 "$O_REPO::v1" "$SRC" || true; peak borg "$RSS"; }
has vaultctl-backup && vb_run ingest "$V1_BYTES" "$V1_FILES"

vault_split() { # phase: where the vault's bytes are (catalog, packs, the rest)
	local c p o tot
	read -r c p o < <(vault_parts "$V_VAULT")
	tot=$((c + p + o))
	record vaultfs "catalog-$1" - "$c" 0 - ok "catalog.db + WAL, $(awk -v a="$c" -v t="$tot" 'BEGIN{printf "%.1f", t ? 100 * a / t : 0}') % of the vault"
	record vaultfs "packs-$1" - "$p" 0 - ok "packs/"
	record vaultfs "other-$1" - "$o" 0 - ok "vault.hdr, lock, anchors"
}
stored() { # phase
	has vaultfs && record vaultfs "stored-$1" - "$(du_b "$V_VAULT")" 0 - ok "du -sb vault dir"
	if [ "$1" != final ]; then
		has vaultfs && vault_split "$1"
		has restic && record restic "stored-$1" - "$(du_b "$R_REPO")" 0 - ok "du -sb repo"
		has borg && record borg "stored-$1" - "$(du_b "$O_REPO")" 0 - ok "du -sb repo"
		has vaultctl-backup && [ "$VB_BUILT" = 1 ] && record vaultctl-backup "stored-$1" - "$(du_b "$VB_VAULT")" 0 - ok "du -sb vault dir"
	fi
	has gocryptfs && record gocryptfs "stored-$1" - "$(du_b "$G_CIPHER")" 0 - ok "du -sb cipher dir"
	has local && record local "stored-$1" - "$(du_b "$L_DIR")" 0 - ok "du -sb copy"
	return 0
}
sync; stored v1

# ===================================================== phase 2: re-ingest v2
say "phase 2: re-ingest v2 (changed/added/deleted: $V2_CHANGED)"
bind_src v2
for t in $FUSE_TOOLS; do
	[ $t = bindfs ] && continue
	${t}_mount reingest || { note "$t: cannot mount, phase 2 skipped"; continue; }
	d=$(target_dir "$t")
	timed "$t" reingest "$V2_BYTES" "$V2_FILES" -- rsync -a --delete "$SRC/" "$d/data/" || true
	${t}_umount
done
has restic && { timed restic reingest "$V2_BYTES" "$V2_FILES" -- restic -r "$R_REPO" --quiet backup "$SRC" || true; peak restic "$RSS"; }
has borg && { timed borg reingest "$V2_BYTES" "$V2_FILES" -- borg create -C zstd,3 "$O_REPO::v2" "$SRC" || true; peak borg "$RSS"; }
has vaultctl-backup && vb_run reingest "$V2_BYTES" "$V2_FILES"
sync; stored v2
# the daemon's maintenance, offline: gc checkpoints the catalog and VACUUMs
# it when a quarter of its pages are free (nothing is pruned: a new vault
# keeps every version).  v2's new random files and deletions look like
# ransomware's copy-and-delete to the tripwire (docs/tripwire.md), which
# may have frozen the vault: gc would be refused, so it is released first.
if has vaultfs; then
	if "$VBIN/vaultctl" tripwire status "$V_VAULT" --keystore "$V_KS" 2>/dev/null | grep -q '^state: *frozen'; then
		note "vaultfs: the tripwire fired during the v2 re-ingest (new random files + deletions); released before gc"
		"$VBIN/vaultctl" tripwire release "$V_VAULT" --keystore "$V_KS" >>"$LOG/vaultfs.gc.log" 2>&1 || true
	fi
	timed vaultfs gc 0 0 -- "$VBIN/vaultctl" gc "$V_VAULT" --keystore "$V_KS" --json || true
	record vaultfs stored-v2-gc - "$(du_b "$V_VAULT")" 0 - ok "du -sb vault dir after vaultctl gc"
	vault_split v2-gc
fi

# ====================================================== phase 3: read-back
say "phase 3: read the v2 tree back"
readtree() { # dir: every file read once, through tar (piped: tar skips reading when writing to /dev/null)
	printf 'tar -C %q -cf - . | cat > /dev/null' "$1"
}
for t in $FUSE_TOOLS; do
	[ $t = bindfs ] && continue
	${t}_mount readback || continue
	d=$(target_dir "$t")
	timed "$t" readback "$V2_BYTES" "$V2_FILES" -- bash -c "$(readtree "$d/data")" || true
	${t}_umount
done
if has restic; then
	R_MNT=$RUN/restic/mnt
	if fuse_start restic-mount "$R_MNT" "$R_MNT/snapshots/latest$SRC" -- restic -r "$R_REPO" mount "$R_MNT"; then
		timed restic-mount readback "$V2_BYTES" "$V2_FILES" -- bash -c "$(readtree "$R_MNT/snapshots/latest$SRC")" || true
		fuse_stop restic-mount "$R_MNT"
	fi
fi
if has borg; then
	O_MNT=$RUN/borg/mnt
	if /usr/bin/python3 -c 'import llfuse' 2>/dev/null || /usr/bin/python3 -c 'import pyfuse3' 2>/dev/null; then
		if fuse_start borg-mount "$O_MNT" "" -- borg mount -f "$O_REPO::v2" "$O_MNT"; then
			timed borg-mount readback "$V2_BYTES" "$V2_FILES" -- bash -c "$(readtree "$O_MNT${SRC}")" || true
			fuse_stop borg-mount "$O_MNT"
		fi
	else
		note "borg mount skipped: no python3-llfuse/pyfuse3"
	fi
fi

# ==================================================== phase 4: small files
say "phase 4: $SMALL_N small files (1-4 KiB): create, stat (cold), delete"
# Files are written by a bash loop (builtin printf, no fork per file) so the
# writer costs the same everywhere; mkdir of 100 dirs of N/100 files.
mkfiles() { # dir
	cat <<EOF
set -e
p=\$(head -c 3100 /dev/urandom | base64 -w0)
mkdir -p '$1'
for ((d=0; d<100; d++)); do
	mkdir '$1'/d\$d
	for ((i=0; i<$SMALL_N/100; i++)); do
		n=\$((1024 + (d * 131 + i * 977) % 3072))
		printf '%s' "\${p:0:\$n}" > '$1'/d\$d/f\$i
	done
done
EOF
}
for t in $FUSE_TOOLS; do
	${t}_mount small || continue
	d=$(target_dir "$t")/small
	timed "$t" small-create "$((SMALL_N * 2560))" "$SMALL_N" -- bash -c "$(mkfiles "$d")" || true
	${t}_umount; ${t}_mount small2 || continue
	timed "$t" small-stat 0 "$SMALL_N" -- bash -c "find '$d' -type f -printf '%s %m %u %T@\n' | wc -l" || true
	if [ "$t" = vaultfs ]; then
		# the same walk through the snapshot view of a second ago (issue
		# 3: at most about twice the live walk)
		sleep 2
		snap=$V_MNT/.snapshots/$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%SZ)/${d#"$V_MNT"/}
		timed "$t" snapshot-stat 0 "$SMALL_N" -- bash -c "find '$snap' -type f -printf '%s %m %u %T@\n' | wc -l" || true
	fi
	timed "$t" small-delete 0 "$SMALL_N" -- rm -rf "$d" || true
	${t}_umount
done

# ==================================================== phase 5: one big file
say "phase 5: one ${BIG_MB} MiB random file: write, read back after remount"
for t in $FUSE_TOOLS; do
	${t}_mount big || continue
	d=$(target_dir "$t")
	timed "$t" big-write "$BIG_BYTES" 1 -- cp "$DATA/big.bin" "$d/big.bin" || true
	${t}_umount; ${t}_mount big2 || continue
	timed "$t" big-read "$BIG_BYTES" 1 -- dd if="$d/big.bin" of=/dev/null bs=1M status=none || true
	${t}_umount
done
sync; stored final

# ============================== phase 6: the remote vault on a Ceph cluster
# A single-node Ceph cluster on loopback (tests/ceph/cluster.sh: memstore
# OSD, radosgw over HTTPS), a remote vault in a bucket: the v1 copy, the
# time until `vaultctl sync` returns after it (everything in the bucket),
# the upload rate over both, and the v1 tree read back with a cold cache
# (every local pack deleted: each one is fetched from radosgw on first
# read).  Not a peer comparison: restic and borg were not given an S3
# repository here.
if has vaultfs-s3; then
	say "phase 6: remote vault in radosgw on loopback"
	CEPH=$RUN/ceph
	if ! command -v radosgw >/dev/null; then
		note "vaultfs-s3 skipped: the Ceph packages are not installed (./demo.sh --deps-only)"
	elif ! "$ROOT/tests/ceph/cluster.sh" up "$CEPH" >"$LOG/ceph-up.log" 2>&1; then
		note "vaultfs-s3 skipped: the Ceph cluster did not come up (see $LOG/ceph-up.log)"
	else
		CEPH_UP=$CEPH
		# shellcheck disable=SC1091
		. "$CEPH/env"
		RV=$RUN/vaultfs-s3 RV_MNT=$RUN/vaultfs-s3/mnt
		mkdir -p "$RV"
		head -c 32 /dev/urandom >"$RV/key"; chmod 600 "$RV/key"
		S3OPT=(--endpoint "$VF_S3_ENDPOINT" --credentials "$VF_S3_CREDENTIALS" --ca-file "$VF_S3_CA")
		VF_S3_URL=s3://bench "$VBIN/tests/s3probe" mkbucket lock >/dev/null
		"$VBIN/vaultctl" init "$RV/vault" --key-file "$RV/key" --store s3://bench/v "${S3OPT[@]}" >/dev/null
		rv_mount() { fuse_start vaultfs-s3 "$RV_MNT" "" -- "$VBIN/mount.vaultfs" "$RV/vault" "$RV_MNT" -o "key_file=$RV/key" -f; }
		if rv_mount; then
			t_up0=$(now)
			timed vaultfs-s3 ingest "$V1_BYTES" "$V1_FILES" -- cp -a "$DATA/v1" "$RV_MNT/data" || true
			timed vaultfs-s3 sync-after-ingest 0 0 -- "$VBIN/vaultctl" sync "$RV_MNT" --timeout 3600 || true
			t_up=$(sub "$(now)" "$t_up0")
			shipped=$("$VBIN/vaultctl" status "$RV_MNT" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["store"]["bytes_shipped"])' 2>/dev/null || echo 0)
			record vaultfs-s3 upload "$t_up" "$shipped" 0 - ok "packs and checkpoints shipped during copy + sync"
			fuse_stop vaultfs-s3 "$RV_MNT"
			find "$RV/vault/packs" -name '*.pack' -delete
			if rv_mount; then
				timed vaultfs-s3 readback-cold "$V1_BYTES" "$V1_FILES" -- bash -c "$(readtree "$RV_MNT/data")" || true
				fuse_stop vaultfs-s3 "$RV_MNT"
			fi
		fi
		"$ROOT/tests/ceph/cluster.sh" down "$CEPH" >>"$LOG/ceph-up.log" 2>&1
		CEPH_UP=
	fi
fi

# ============================================================== report
for t in "${!PEAK[@]}"; do record "$t" peak-rss - 0 0 "${PEAK[$t]}" ok "max over all mounts"; done
STATS=$LOG/vaultfs.stats.ingest.saved
if has vaultfs && [ -s "$STATS" ]; then
	tot=$(stats_get "$STATS" total)
	record vaultfs fuse-requests - "${tot:-0}" "$V1_FILES" - ok "cp -a ingest"
	# the daemon's own counters (docs/performance.md)
	tx=$(stats_get "$STATS" transactions)
	sb=$(stats_sum "$STATS" sealed_)
	cpu=$(stats_sum "$STATS" cpu_)
	[ -z "$tx" ] || record vaultfs catalog-tx - "$tx" "$V1_FILES" - ok "cp -a ingest, catalog transactions"
	[ -z "$tx" ] || record vaultfs sealed-catalog - "$sb" "$V1_FILES" - ok "cp -a ingest, catalog pages sealed"
	[ "$cpu" = 0 ] || record vaultfs daemon-cpu-stats - "$cpu" "$V1_FILES" - ok "cp -a ingest mount incl. unmount, -o stats cpu_user_us+cpu_sys_us"
fi

{
echo "vaultfs benchmark  $(date -u '+%Y-%m-%d %H:%M UTC')  $(uname -r)  $(nproc) CPUs  $(awk '/MemTotal/{printf "%d MiB", $2/1024}' /proc/meminfo)"
echo "load average at start: $LOAD0  at end: $(cut -d' ' -f1-3 /proc/loadavg)  (other work on the machine skews every figure)"
echo "work dir $FS on $(df --output=source,fstype "$FS" | tail -n1 | tr -s ' ')$([ "$TMPFS" = 1 ] && echo " (BENCH_TMPFS=1)")   page cache dropped before each timed phase: $([ "$DROP" = 1 ] && echo yes || echo NO)"
echo "corpus v1: $V1_FILES files, $(fnum "$(awk -v b="$V1_BYTES" 'BEGIN{print b/1e6}')") MB;  v2: $V2_FILES files, $(fnum "$(awk -v b="$V2_BYTES" 'BEGIN{print b/1e6}')") MB (changed added deleted: $V2_CHANGED);  big file ${BIG_MB} MiB;  small files $SMALL_N"
echo "versions: restic $(restic version 2>/dev/null | awk '{print $2}') (repo v2, compression auto) | borg $(borg --version 2>/dev/null | awk '{print $2}') (repokey-blake2, -C zstd,3) | gocryptfs $(gocryptfs -version 2>/dev/null | awk '{print $2}' | tr -d ';') | bindfs $(bindfs --version 2>/dev/null | awk '{print $2; exit}') | vaultfs ${VAULTFS_VER:-not run}"
echo "MB = 10^6 bytes; seconds include a sync after the command; ratio = vaultfs / tool (speed: >1 means vaultfs faster; bytes, RSS, CPU: <1 means vaultfs smaller)"
echo "daemon-cpu: the FUSE daemon's utime+stime over its ingest mount (/proc/PID/stat before unmount), ms per file in the ms/file column"
echo "RSS: peak of the FUSE daemon during that mount (vaultfs, gocryptfs, bindfs, restic/borg mount), else of the command itself"
echo
awk -F'\t' '
	function mbs(b, s) { return (s > 0 && b > 0) ? b / 1e6 / s : 0 }
	{ tool[NR]=$1; ph[NR]=$2; sec[NR]=$3; by[NR]=$4; fi[NR]=$5; rss[NR]=$6; st[NR]=$7; nt[NR]=$8
	  if ($1 == "vaultfs" && $7 == "ok") { vs[$2]=$3; vb[$2]=$4; vf[$2]=$5; vr[$2]=$6 } }
	END {
	  fmt = "%-15s %-20s %9s %9s %10s %9s %9s %7s  %s\n"
	  printf fmt, "tool", "phase", "seconds", "MB/s", "files/s", "ms/file", "RSS MiB", "ratio", "note"
	  for (i = 1; i <= NR; i++) {
		p = ph[i]; s = sec[i]; r = "-"; speed = "-"; fps = "-"; msf = "-"; rm = "-"
		if (rss[i] ~ /^[0-9]+$/) rm = sprintf("%.1f", rss[i] / 1024)
		if (p ~ /^stored/) {
			speed = sprintf("%.1f MB", by[i] / 1e6); s = "-"
			if (p in vb && vb[p] > 0 && by[i] > 0) r = sprintf("%.2f", vb[p] / by[i])
		} else if (p == "fuse-requests") {
			speed = by[i] " req"; fps = sprintf("%.1f/file", fi[i] ? by[i] / fi[i] : 0)
		} else if (p == "catalog-tx") {
			speed = by[i] " tx"; fps = sprintf("%.2f/file", fi[i] ? by[i] / fi[i] : 0)
		} else if (p == "sealed-catalog") {
			speed = sprintf("%.1f MB", by[i] / 1e6); fps = sprintf("%.1fKB/file", fi[i] ? by[i] / 1024 / fi[i] : 0)
		} else if (p ~ /^daemon-cpu/) {
			speed = sprintf("%.1f s", by[i] / 1e6); msf = sprintf("%.3f", fi[i] ? by[i] / 1000 / fi[i] : 0)
			if (p in vb && vb[p] > 0 && by[i] > 0) r = sprintf("%.2f", vb[p] / by[i])
		} else if (p ~ /^(catalog|packs|other)-/) {
			speed = sprintf("%.1f MB", by[i] / 1e6); s = "-"
		} else if (p == "peak-rss") {
			s = "-"; if (vr[p] > 0 && rss[i] > 0) r = sprintf("%.2f", vr[p] / rss[i])
		} else if (s != "-" && s > 0) {
			if (by[i] > 0) speed = sprintf("%.1f", mbs(by[i], s))
			if (fi[i] > 1) { fps = sprintf("%.0f", fi[i] / s); msf = sprintf("%.3f", s * 1000 / fi[i]) }
			if (p in vs && st[i] == "ok" && vs[p] > 0) r = sprintf("%.2f", s / vs[p])
			s = sprintf("%.2f", s)
		}
		if (st[i] != "ok") { speed = st[i]; r = "-" }
		if (p == "umount-after-ingest") { speed = "-"; r = "-" }
		printf fmt, tool[i], p, s, speed, fps, msf, rm, r, nt[i]
	  }
	}' "$RES"
echo
if has vaultfs && [ -s "$STATS" ]; then
	echo
	echo "vaultfs FUSE requests during the cp -a ingest (top opcodes; per file = count / $V1_FILES):"
	awk -v n="$V1_FILES" '$1 == "total" { exit } $2 ~ /^[0-9]+$/ && $2 > 0 { printf "  %-16s %10d  %6.2f/file\n", $1, $2, $2 / n }' "$STATS" | sort -k2,2nr | head -n 15
fi
if [ ${#NOTES[@]} -gt 0 ]; then
	echo
	echo "Notes:"
	printf '  - %s\n' "${NOTES[@]}"
fi
echo
echo "Goals (issue 16): vaultfs, its peers, the goal, the ratio the goal is about, met or missed"
echo "ratio: speed-up over the peer (peer time / vaultfs time), or vaultfs / restic bytes, or vaultfs / the goal for absolute goals; the stream goal is set for tmpfs$([ "$TMPFS" = 1 ] && echo " (this run: tmpfs)" || echo " (this run: disk, BENCH_TMPFS=1 for tmpfs)")"
awk -F'\t' -v tsv="$W/goals.tsv" '
	{ k = $1 "/" $2; ST[k] = $7; if ($7 == "ok") { S[k] = $3; B[k] = $4; F[k] = $5; R[k] = $6 } }
	function has(k) { return (k in S) && S[k] != "-" && S[k] > 0 }
	function mbs(k) { return has(k) ? sprintf("%.0f MB/s", B[k] / 1e6 / S[k]) : (ST[k] == "" ? "n/a" : ST[k]) }
	function msf(k) { return (has(k) && F[k] > 0) ? sprintf("%.3f ms", S[k] * 1000 / F[k]) : (ST[k] == "" ? "n/a" : ST[k]) }
	function mb(k) { return (k in B && B[k] > 0) ? sprintf("%.1f MB", B[k] / 1e6) : "n/a" }
	function per(k, d) { return (k in B && B[k] > 0 && F[k] > 0) ? B[k] / d / F[k] : -1 }
	function speedup(a, b) { return (has(a) && has(b)) ? S[b] / S[a] : -1 }
	function bratio(a, b) { return (B[a] > 0 && B[b] > 0) ? B[a] / B[b] : -1 }
	# row FIGURE VAULTFS PEERS GOAL RATIO(-1: none) OP(>= <=) THRESHOLD
	function row(fig, v, peers, goal, r, op, th,   m, rs) {
		rs = r < 0 ? "n/a" : sprintf("%.2f", r)
		m = r < 0 ? (v == "not built" ? "not built" : (goal == "-" ? "-" : "n/a")) : ((op == ">=" ? r >= th : r <= th) ? "met" : "missed")
		if (goal == "-") rs = "-"
		printf "  %-40s %-14s %-56s %-12s %7s  %s\n", fig, v, peers, goal, rs, m
		printf "%s\t%s\t%s\t%s\t%s\t%s\n", fig, v, peers, goal, rs, m > tsv
	}
	END {
	  printf "  %-40s %-14s %-56s %-12s %7s  %s\n", "figure", "vaultfs", "peers", "goal", "ratio", "met?"
	  row("ingest (cp -a), ms per file", msf("vaultfs/ingest"), "gocryptfs " msf("gocryptfs/ingest") ", bindfs " msf("bindfs/ingest") ", cp " msf("local/ingest"), "-", -1)
	  row("  ... restic backup, borg create", "", "restic " msf("restic/ingest") ", borg " msf("borg/ingest"), "-", -1)
	  row("ingest speed vs gocryptfs", mbs("vaultfs/ingest"), "gocryptfs " mbs("gocryptfs/ingest"), ">= 1.4x", speedup("vaultfs/ingest", "gocryptfs/ingest"), ">=", 1.4)
	  row("ingest speed vs bindfs", mbs("vaultfs/ingest"), "bindfs " mbs("bindfs/ingest"), ">= 2x", speedup("vaultfs/ingest", "bindfs/ingest"), ">=", 2)
	  x = per("vaultfs/fuse-requests", 1); row("FUSE requests per file (cp -a)", x < 0 ? "n/a" : sprintf("%.2f", x), "-", "<= 7", x < 0 ? -1 : x / 7, "<=", 1)
	  x = per("vaultfs/catalog-tx", 1); row("catalog transactions per file", x < 0 ? "n/a" : sprintf("%.2f", x), "-", "<= 1", x, "<=", 1)
	  x = per("vaultfs/sealed-catalog", 1024); row("sealed catalog KB per file", x < 0 ? "n/a" : sprintf("%.1f KB", x), "-", "<= 8 KB", x < 0 ? -1 : x / 8, "<=", 1)
	  x = per("vaultfs/daemon-cpu-stats", 1000); y = per("vaultfs/daemon-cpu", 1000)
	  row("daemon CPU ms per file (ingest mount)", x < 0 ? "n/a" : sprintf("%.3f ms", x), "/proc " (y < 0 ? "n/a" : sprintf("%.3f", y)) "; gocryptfs " (per("gocryptfs/daemon-cpu", 1000) < 0 ? "n/a" : sprintf("%.3f", per("gocryptfs/daemon-cpu", 1000))) ", bindfs " (per("bindfs/daemon-cpu", 1000) < 0 ? "n/a" : sprintf("%.3f", per("bindfs/daemon-cpu", 1000))), "<= 0.15 ms", x < 0 ? -1 : x / 0.15, "<=", 1)
	  x = has("vaultfs/big-write") ? B["vaultfs/big-write"] / 1e6 / S["vaultfs/big-write"] : -1
	  row("big file write MB/s", mbs("vaultfs/big-write"), "gocryptfs " mbs("gocryptfs/big-write") ", bindfs " mbs("bindfs/big-write") ", cp " mbs("local/big-write"), ">= 400 MB/s", x < 0 ? -1 : x / 400, ">=", 1)
	  x = has("vaultfs/big-read") ? B["vaultfs/big-read"] / 1e6 / S["vaultfs/big-read"] : -1
	  row("big file read MB/s (after remount)", mbs("vaultfs/big-read"), "gocryptfs " mbs("gocryptfs/big-read") ", bindfs " mbs("bindfs/big-read") ", cp " mbs("local/big-read"), ">= 600 MB/s", x < 0 ? -1 : x / 600, ">=", 1)
	  row("stored after v1 / restic", mb("vaultfs/stored-v1"), "restic " mb("restic/stored-v1") ", borg " mb("borg/stored-v1"), "<= 1.00", bratio("vaultfs/stored-v1", "restic/stored-v1"), "<=", 1)
	  row("stored after v2 / restic", mb("vaultfs/stored-v2"), "restic " mb("restic/stored-v2") ", borg " mb("borg/stored-v2"), "<= 1.00", bratio("vaultfs/stored-v2", "restic/stored-v2"), "<=", 1)
	  row("  ... after vaultctl gc / restic", mb("vaultfs/stored-v2-gc"), "catalog " mb("vaultfs/catalog-v2-gc") " of it", "<= 1.00", bratio("vaultfs/stored-v2-gc", "restic/stored-v2"), "<=", 1)
	  row("re-ingest v2 (rsync) vs restic", msf("vaultfs/reingest"), "restic " msf("restic/reingest") ", borg " msf("borg/reingest"), ">= 1x", speedup("vaultfs/reingest", "restic/reingest"), ">=", 1)
	  row("read-back vs gocryptfs", mbs("vaultfs/readback"), "gocryptfs " mbs("gocryptfs/readback") ", cp " mbs("local/readback"), ">= 1.2x", speedup("vaultfs/readback", "gocryptfs/readback"), ">=", 1.2)
	  row("read-back vs restic mount", mbs("vaultfs/readback"), "restic mount " mbs("restic-mount/readback") ", borg mount " mbs("borg-mount/readback"), ">= 2x", speedup("vaultfs/readback", "restic-mount/readback"), ">=", 2)
	  x = (has("vaultfs/snapshot-stat") && has("vaultfs/small-stat")) ? S["vaultfs/snapshot-stat"] / S["vaultfs/small-stat"] : -1
	  row("stat walk, snapshot view / live (time)", msf("vaultfs/snapshot-stat"), "live " msf("vaultfs/small-stat") ", gocryptfs " msf("gocryptfs/small-stat"), "<= ~2x", x, "<=", 2)
	  row("vaultctl backup, first (v1) vs restic", ST["vaultctl-backup/ingest"] == "not built" ? "not built" : msf("vaultctl-backup/ingest"), "restic " msf("restic/ingest") ", borg " msf("borg/ingest"), ">= 1.2x", speedup("vaultctl-backup/ingest", "restic/ingest"), ">=", 1.2)
	  row("vaultctl backup, incremental vs restic", ST["vaultctl-backup/reingest"] == "not built" ? "not built" : msf("vaultctl-backup/reingest"), "restic " msf("restic/reingest") ", borg " msf("borg/reingest"), ">= 1x", speedup("vaultctl-backup/reingest", "restic/reingest"), ">=", 1)
	  x = R["vaultfs/peak-rss"] > 0 ? R["vaultfs/peak-rss"] / 1024 : -1
	  row("daemon peak RSS", x < 0 ? "n/a" : sprintf("%.1f MiB", x), "gocryptfs " (R["gocryptfs/peak-rss"] > 0 ? sprintf("%.0f", R["gocryptfs/peak-rss"] / 1024) : "n/a") ", restic " (R["restic/peak-rss"] > 0 ? sprintf("%.0f", R["restic/peak-rss"] / 1024) : "n/a") ", borg " (R["borg/peak-rss"] > 0 ? sprintf("%.0f", R["borg/peak-rss"] / 1024) : "n/a") " MiB", "< 128 MiB", x < 0 ? -1 : x / 128, "<=", 1)
	  if (has("vaultfs-s3/upload"))
		row("remote vault: copy + sync upload", sprintf("%.0f MB/s", B["vaultfs-s3/upload"] / 1e6 / S["vaultfs-s3/upload"]), "cold read-back " mbs("vaultfs-s3/readback-cold"), "-", -1)
	}' "$RES"
echo
echo "raw rows: $RES   logs: $LOG"
} | tee "$OUT"
