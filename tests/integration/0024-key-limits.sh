#!/usr/bin/env bash
# 0024-key-limits: bad key sources and init failures end promptly with one
# line.  --key-file /dev/zero (not a regular file), a key file over 1 MiB,
# an endless --key-command and one that never ends are refused (the last
# after 30 s) instead of spinning at 100 % CPU; a failed init removes the
# directory it made; a directory an interrupted init left (its lock file
# only) or an empty one is accepted by the next init; init refuses a
# world-writable keystore with the line mount would print.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

# refused WHAT MAXSECS WANT command...: exit 1 (mount.vaultfs: 32, a failed
# mount) within MAXSECS, one line on stderr containing WANT.
refused() {
	local what=$1 max=$2 want=$3 rc=0 n
	shift 3
	SECONDS=0
	timeout 90 "$@" </dev/null >"$VF_TMP/out" 2>"$VF_TMP/err" || rc=$?
	[ "$rc" != 124 ] || fail "$what hung (killed after 90 s)"
	# mount(8)'s status for a failed mount is 32; vaultctl's refusal is 1
	local want_rc=1
	[ "$1" = "$MOUNT_VAULTFS" ] && want_rc=32
	assert_eq "$want_rc" "$rc" "exit status of $what ($(cat "$VF_TMP/err"))"
	[ "$SECONDS" -le "$max" ] || fail "$what took $SECONDS s (at most $max)"
	n=$(wc -l <"$VF_TMP/err")
	[ "$n" = 1 ] || { cat "$VF_TMP/err" >&2; fail "$what printed $n lines on stderr"; }
	grep -qF -- "$want" "$VF_TMP/err" || fail "$what: '$(cat "$VF_TMP/err")' does not say '$want'"
	log "$what: $(cat "$VF_TMP/err") (${SECONDS}s)"
}

head -c 32 /dev/urandom >"$VF_TMP/key"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$VF_TMP/bigkey"
chmod 600 "$VF_TMP/key" "$VF_TMP/bigkey"

# ---- key sources ---------------------------------------------------------------
V=$VF_TMP/v
refused "init --key-file /dev/zero" 10 "not a regular file" \
	"$VAULTCTL" init "$V" --key-file /dev/zero --keystore "$KS"
[ ! -e "$V" ] || fail "a failed init left $V"
mkfifo "$VF_TMP/fifo"
refused "init --key-file FIFO" 10 "not a regular file" \
	"$VAULTCTL" init "$V" --key-file "$VF_TMP/fifo" --keystore "$KS"
refused "init --key-file of 2 MiB" 10 "too large" \
	"$VAULTCTL" init "$V" --key-file "$VF_TMP/bigkey" --keystore "$KS"
refused "init --key-command yes" 10 "printed too much" \
	"$VAULTCTL" init "$V" --key-command "yes" --keystore "$KS"
[ ! -e "$V" ] || fail "a failed init left $V"
refused "init --key-command that never ends" 45 "timed out" \
	"$VAULTCTL" init "$V" --key-command "sleep 1000" --keystore "$KS"
[ ! -e "$V" ] || fail "a failed init left $V"
refused "init --key-command that closes its output and keeps running" 45 "timed out" \
	"$VAULTCTL" init "$V" --key-command "cat $VF_TMP/key; exec >&-; sleep 1000" --keystore "$KS"
# a vault with a key file: check and mount refuse /dev/zero the same way
"$VAULTCTL" init "$V" --key-file "$VF_TMP/key" --keystore "$KS" >/dev/null || fail "init with a key file"
refused "check --key-file /dev/zero" 10 "not a regular file" \
	"$VAULTCTL" check "$V" --key-file /dev/zero --keystore "$KS"
refused "mount.vaultfs -o key_file=/dev/zero" 10 "not a regular file" \
	"$MOUNT_VAULTFS" "$V" "$MNT" -o "keystore=$KS,key_file=/dev/zero"
is_mounted "$MNT" && fail "mounted with key_file=/dev/zero"

# ---- failed and interrupted init ---------------------------------------------------
V2=$VF_TMP/v2
refused "init with a failing key command" 10 "exit status 3" \
	"$VAULTCTL" init "$V2" --key-command "exit 3" --keystore "$KS"
[ ! -e "$V2" ] || fail "a failed init left $V2: $(ls -A "$V2")"
mkdir -m 700 "$V2"
refused "init in an empty directory with a failing key command" 10 "exit status 3" \
	"$VAULTCTL" init "$V2" --key-command "exit 3" --keystore "$KS"
assert_eq "" "$(ls -A "$V2")" "what a failed init left in an existing directory"
# killed while its key command runs: only the lock file is left
rc=0
timeout -s KILL 1 "$VAULTCTL" init "$V2" --key-command "sleep 3" --keystore "$KS" </dev/null \
	>/dev/null 2>&1 || rc=$?
[ "$rc" = 137 ] || fail "the init to interrupt was not killed (status $rc)"
log "an interrupted init left: $(ls -A "$V2" | tr '\n' ' ')"
"$VAULTCTL" init "$V2" --key-file "$VF_TMP/key" --keystore "$KS" >/dev/null 2>"$VF_TMP/err" ||
	fail "init after an interrupted init refused: $(cat "$VF_TMP/err")"
"$VAULTCTL" check "$V2" --key-file "$VF_TMP/key" --keystore "$KS" >/dev/null 2>&1 ||
	fail "the vault made after an interrupted init does not check"
# a real vault is still refused
refused "init over a vault" 10 "" "$VAULTCTL" init "$V2" --key-file "$VF_TMP/key" --keystore "$KS"

# ---- a world-writable keystore -------------------------------------------------------
KSW=$VF_TMP/open-keys
mkdir -m 0777 "$KSW"
refused "init with a world-writable keystore" 10 "unsafe permissions on '$KSW'" \
	"$VAULTCTL" init "$VF_TMP/v3" --keystore "$KSW"
[ ! -e "$VF_TMP/v3" ] || fail "init with a world-writable keystore left $VF_TMP/v3"
assert_eq "" "$(ls -A "$KSW")" "keys written to a world-writable keystore"
init_err=$(sed 's/^vaultctl: //' "$VF_TMP/err")
# the line mount prints for the same keystore
vf_init
refused "mount.vaultfs with a world-writable keystore" 10 "unsafe permissions on '$KSW'" \
	"$MOUNT_VAULTFS" "$VAULT" "$MNT" -o "keystore=$KSW"
assert_eq "$(sed 's/^mount.vaultfs: //' "$VF_TMP/err")" "$init_err" "init's and mount's refusal"
