#!/usr/bin/env bash
# tests/cli/run.sh - CLI golden tests: every case runs vaultctl (or
# mount.vaultfs) with fixed arguments and compares its stdout, stderr and
# exit status with what tests/cli/*.cases record.  No FUSE, no mount.
#
# A .cases file is a list of cases, one line each of:
#   case NAME              starts a case
#   needs vault            the case uses the vault $T/v (key file $T/key),
#                          made and opened offline by whoever runs this
#                          (its catalog anchor in $T/anchors)
#   prog mount.vaultfs     run build/mount.vaultfs instead of vaultctl
#   run ARGS               the arguments, as shell words ($T is the
#                          temporary directory)
#   exit N                 the exit status
#   out LINE / out         a line of stdout (an empty one)
#   err LINE / err         a line of stderr
#   end                    runs the case
# The temporary directory's name in the output is replaced by $T.
#
# Prints "PASS cli/FILE:NAME" or "FAIL cli/FILE:NAME" (then the difference)
# per case, "SKIP ..." for a skipped one; tests/run.sh counts them.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$REPO/build
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

have_vault=0
export VAULTFS_ANCHOR_DIR=$T/anchors
head -c 32 /dev/urandom >"$T/key"
chmod 600 "$T/key"
"$B/vaultctl" init "$T/v" --key-file "$T/key" >"$T/init.log" 2>&1 &&
	have_vault=1

run_case() {
	local file=$1 name=$2 prog=$3 args=$4 want_rc=$5 needs=$6
	local rc=0 label="cli/$file:$name"

	if [ "$needs" = 1 ] && [ "$have_vault" = 0 ]; then
		echo "FAIL $label (no offline vault: $(head -n 1 "$T/init.log"))"
		return
	fi
	eval "set -- $args"
	(cd "$T" && "$B/$prog" "$@" >"$T/out.raw" 2>"$T/err.raw" </dev/null) || rc=$?
	sed "s|$T|\$T|g" "$T/out.raw" >"$T/out"
	sed "s|$T|\$T|g" "$T/err.raw" >"$T/err"
	if [ "$rc" = "$want_rc" ] && cmp -s "$T/out" "$T/want.out" &&
		cmp -s "$T/err" "$T/want.err"; then
		echo "PASS $label"
		return
	fi
	echo "FAIL $label"
	echo "    | run: $prog $args"
	[ "$rc" = "$want_rc" ] || echo "    | exit $rc, want $want_rc"
	diff -u "$T/want.out" "$T/out" | sed 's/^/    | out /'
	diff -u "$T/want.err" "$T/err" | sed 's/^/    | err /'
}

for cases in "$REPO"/tests/cli/*.cases; do
	file=$(basename "$cases" .cases)
	name="" prog=vaultctl args="" want_rc=0 needs=0
	: >"$T/want.out"
	: >"$T/want.err"
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		"case "*) name=${line#case } ;;
		"needs vault") needs=1 ;;
		"prog "*) prog=${line#prog } ;;
		"run "*) args=${line#run } ;;
		"exit "*) want_rc=${line#exit } ;;
		out) echo >>"$T/want.out" ;;
		"out "*) printf '%s\n' "${line#out }" >>"$T/want.out" ;;
		err) echo >>"$T/want.err" ;;
		"err "*) printf '%s\n' "${line#err }" >>"$T/want.err" ;;
		end)
			run_case "$file" "$name" "$prog" "$args" "$want_rc" "$needs"
			name="" prog=vaultctl args="" want_rc=0 needs=0
			: >"$T/want.out"
			: >"$T/want.err"
			;;
		"" | "#"*) ;;
		*) echo "FAIL cli/$file: bad line: $line" ;;
		esac
	done <"$cases"
done
