#!/usr/bin/env bash
# 0047-tripwire-ordinary: ordinary work does not fire the tripwire, even
# at its highest sensitivity (docs/tripwire.md, "False positives"):
# copying /usr/include with cp -a, unpacking a tarball twice over itself,
# compiling C files into the vault twice (the second build overwrites
# every object file), a git clone and a git gc, copying compressed files
# over compressed files.  Each workload's highest window score is printed
# (the daemon is remounted between workloads, which starts the windows
# afresh), with the daemon's CPU time for the cp -a.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"
for c in gcc git tar gzip; do
	command -v "$c" >/dev/null || skip "$c is not installed"
done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$VF_PID/stat"; }

# after WORKLOAD: not frozen; prints the highest score, then remounts
after() {
	local j
	j=$("$VAULTCTL" tripwire status "$MNT" --json)
	"$PYTHON" -c 'import json,sys; s=json.loads(sys.argv[1]); assert not s["frozen"], s' "$j" ||
		fail "$1 fired the tripwire: $j"
	log "$1: not fired; highest score $("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["highest_score"])' "$j") (fires at $("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["threshold"])' "$j"))"
	vf_remount
}

vf_init
vf_mount
"$VAULTCTL" tripwire set "$MNT" --sensitivity high >/dev/null || fail "tripwire set --sensitivity high"
"$VAULTCTL" tripwire status "$MNT" | grep -q "sensitivity:  high (fires at score 8)" ||
	fail "not at high: $("$VAULTCTL" tripwire status "$MNT")"

# ---- cp -a /usr/include ------------------------------------------------------------
n=$(find /usr/include -type f | wc -l)
t0=$(cpu_ticks)
cp -a /usr/include "$MNT/include"
sync -f "$MNT"
t1=$(cpu_ticks)
log "cp -a /usr/include ($n files): daemon CPU $(((t1 - t0) * 10)) ms"
after "cp -a /usr/include"

# ---- tar xzf, twice over itself ------------------------------------------------------
tar czf "$VF_TMP/src.tgz" -C /usr/include linux asm-generic
mkdir "$MNT/src"
tar xzf "$VF_TMP/src.tgz" -C "$MNT/src"
tar xzf "$VF_TMP/src.tgz" -C "$MNT/src"
after "tar xzf twice"

# ---- compiling into the vault, twice ------------------------------------------------
mkdir "$MNT/build"
for i in $(seq 1 40); do
	cat >"$MNT/build/m$i.c" <<C
#include <stdio.h>
#include <string.h>
int f$i(const char *s) { return (int)strlen(s) * $i; }
void g$i(void) { printf("module %d: %d\\n", $i, f$i("hello")); }
C
done
echo 'int main(void) { return 0; }' >"$MNT/build/main.c"
for pass in 1 2; do
	for i in $(seq 1 40); do gcc -O2 -g -c -o "$MNT/build/m$i.o" "$MNT/build/m$i.c"; done
	gcc -o "$MNT/build/prog" "$MNT/build/main.c" "$MNT/build"/m*.o
	ar rcs "$MNT/build/libm.a" "$MNT/build"/m*.o
done
after "compiling 40 files twice"

# ---- git clone and gc ---------------------------------------------------------------
repo=$VF_TMP/repo
mkdir "$repo"
cp -a /usr/include/linux "$repo/"
git -C "$repo" init -q
git -C "$repo" -c user.name=t -c user.email=t@t add -A
git -C "$repo" -c user.name=t -c user.email=t@t commit -qm one
echo change >>"$repo/linux/types.h"
git -C "$repo" -c user.name=t -c user.email=t@t commit -qam two
git clone -q --no-local "$repo" "$MNT/clone"
git -C "$MNT/clone" -c gc.auto=0 gc -q
git -C "$MNT/clone" checkout -q HEAD~1
after "git clone --no-local, gc and checkout"

# ---- compressed files over compressed files ----------------------------------------------
mkdir "$MNT/gz"
for i in $(seq 1 40); do head -c 20000 /dev/urandom | base64 | gzip >"$VF_TMP/c$i.gz"; done
cp "$VF_TMP"/c*.gz "$MNT/gz/"
for i in $(seq 1 40); do head -c 20000 /dev/urandom | base64 | gzip >"$VF_TMP/c$i.gz"; done
cp "$VF_TMP"/c*.gz "$MNT/gz/"
after "copying 40 gzip files over 40 gzip files"

vf_umount
log "ok"
