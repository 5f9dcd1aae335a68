#!/usr/bin/env bash
# tests/run.sh - run the test suite; `make check` calls it after building.
#
#   tests/run.sh                 unit binaries, fuzz corpora, CLI golden
#                                tests, the layering check (tests/layers.sh),
#                                integration tests
#   tests/run.sh unit            unit binaries, fuzz corpora, CLI golden
#                                tests and the layering check (as any
#                                user: no root, no FUSE)
#   tests/run.sh integration [PATTERN...]
#                                integration tests only (those whose name
#                                contains one of the PATTERNs, if given)
#
# One line per test: "PASS unit/t-crypto:round_trip", "FAIL integration/
# 0003-posix", "SKIP ..."; a failing test's output tail follows its line.
# The last line is exactly "N passed, N failed" (", N skipped" when some
# were).  Exit status 1 when anything failed.  With CI=true a skipped
# integration test counts as a failure (CI has FUSE; docs/testing.md).
# Full output of every test is kept in build/test-logs/.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1
B=build
LOGS=$B/test-logs
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
INTEGRATION_TIMEOUT=${INTEGRATION_TIMEOUT:-600}

mode=${1:-all}
[ $# -gt 0 ] && shift
case $mode in
all | unit | integration) ;;
*)
	echo "usage: tests/run.sh [all | unit | integration [PATTERN...]]" >&2
	exit 2
	;;
esac

mkdir -p "$LOGS"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npass=0 nfail=0 nskip=0

pass() {
	echo "PASS $1"
	npass=$((npass + 1))
}
failed() {
	echo "FAIL $1${2:+ ($2)}"
	nfail=$((nfail + 1))
}
skipped() {
	echo "SKIP $1${2:+ ($2)}"
	nskip=$((nskip + 1))
}
# tail_of FILE: the last lines of a log, indented under the FAIL line.
tail_of() {
	[ -s "$1" ] || return 0
	tail -n "${2:-40}" "$1" | sed 's/^/    | /'
}
exit_reason() {
	case $1 in
	124) echo "timed out" ;;
	126) echo "could not be run" ;;
	127) echo "not found" ;;
	137) echo "killed (timeout or SIGKILL)" ;;
	1[2-9][0-9]) echo "crashed: signal $(($1 - 128))" ;;
	*) echo "exit status $1" ;;
	esac
}

run_unit() {
	local bin name out err rc nf np line
	local bins=("$B"/tests/t-*)
	if [ ! -e "${bins[0]}" ]; then
		failed "unit" "no unit test binaries in $B/tests (run make)"
		return
	fi
	for bin in "${bins[@]}"; do
		[ -x "$bin" ] || continue
		name=$(basename "$bin")
		out=$work/out
		err=$work/err
		rc=0
		# The braces take bash's own "Segmentation fault" notice too.
		{ timeout -k 5 "$UNIT_TIMEOUT" "$bin" >"$out" 2>"$err" </dev/null; } 2>/dev/null || rc=$?
		cat "$out" "$err" >"$LOGS/unit-$name.log"
		np=0 nf=0
		while IFS= read -r line; do
			case $line in
			"PASS "*)
				pass "unit/$name:${line#PASS }"
				np=$((np + 1))
				;;
			"FAIL "*)
				failed "unit/$name:${line#FAIL }"
				nf=$((nf + 1))
				;;
			esac
		done <"$out"
		if [ "$rc" -ge 124 ] || { [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; }; then
			failed "unit/$name" "$(exit_reason "$rc") after $np passed"
			nf=$((nf + 1))
		elif [ "$np" -eq 0 ] && [ "$nf" -eq 0 ]; then
			failed "unit/$name" "printed no PASS/FAIL lines"
			nf=$((nf + 1))
		fi
		[ "$nf" -eq 0 ] || tail_of "$err"
	done
}

run_fuzz() {
	local bin name corpus rc
	for bin in "$B"/tests/fuzz-*; do
		[ -x "$bin" ] || continue
		name=${bin##*/fuzz-}
		corpus=tests/fuzz/corpus/$name
		if [ ! -d "$corpus" ]; then
			failed "fuzz/$name" "no corpus in $corpus/"
			continue
		fi
		rc=0
		{ timeout -k 5 "$UNIT_TIMEOUT" "$bin" "$corpus/" >"$LOGS/fuzz-$name.log" 2>&1 </dev/null; } 2>/dev/null || rc=$?
		if [ "$rc" -eq 0 ]; then
			pass "fuzz/$name ($(find "$corpus" -type f | wc -l) inputs)"
		else
			failed "fuzz/$name" "$(exit_reason "$rc")"
			tail_of "$LOGS/fuzz-$name.log"
		fi
	done
}

# CLI golden tests (tests/cli/): no FUSE, no root (an offline vault of the
# user who runs them).
run_cli() {
	local line rc=0
	{ timeout -k 5 "$UNIT_TIMEOUT" tests/cli/run.sh >"$LOGS/cli.log" 2>&1 </dev/null; } 2>/dev/null || rc=$?
	while IFS= read -r line; do
		case $line in
		"PASS "*) pass "${line#PASS }" ;;
		"FAIL "*) failed "${line#FAIL }" ;;
		"SKIP "*) skipped "${line#SKIP }" ;;
		"    | "*) echo "$line" ;;
		esac
	done <"$LOGS/cli.log"
	[ "$rc" -eq 0 ] || failed "cli" "$(exit_reason "$rc")"
}

# The include graph of core/, fs/ and tools/ is layered and has no circle
# (tests/layers.sh), and the check itself catches a back-include.
run_layers() {
	local t rc
	for t in layers layers-selftest; do
		rc=0
		{ timeout -k 5 "$UNIT_TIMEOUT" bash "tests/$t.sh" >"$LOGS/$t.log" 2>&1 </dev/null; } 2>/dev/null || rc=$?
		if [ "$rc" -eq 0 ]; then
			pass "$t"
		else
			failed "$t" "$(exit_reason "$rc")"
			tail_of "$LOGS/$t.log"
		fi
	done
}

run_integration() {
	local t name rc pat ok reason
	for t in tests/integration/[0-9]*.sh; do
		[ -e "$t" ] || continue
		name=$(basename "$t" .sh)
		if [ $# -gt 0 ]; then
			ok=0
			for pat in "$@"; do
				case $name in *"$pat"*) ok=1 ;; esac
			done
			[ "$ok" = 1 ] || continue
		fi
		rc=0
		SECONDS=0
		{ timeout -k 10 "$INTEGRATION_TIMEOUT" bash "$t" >"$LOGS/$name.log" 2>&1 </dev/null; } 2>/dev/null || rc=$?
		case $rc in
		0) pass "integration/$name (${SECONDS}s)" ;;
		77)
			reason=$(grep '^SKIP ' "$LOGS/$name.log" | tail -n 1 | sed 's/^SKIP [^:]*: //')
			if [ "${CI:-}" = true ]; then
				failed "integration/$name" "skipped in CI: ${reason:-no reason given}"
			else
				skipped "integration/$name" "${reason:-no reason given}"
			fi
			;;
		*)
			failed "integration/$name" "$(exit_reason "$rc"), ${SECONDS}s, log: $LOGS/$name.log"
			tail_of "$LOGS/$name.log"
			;;
		esac
	done
}

case $mode in
all)
	run_unit
	run_fuzz
	run_cli
	run_layers
	run_integration
	;;
unit)
	run_unit
	run_fuzz
	run_cli
	run_layers
	;;
integration) run_integration "$@" ;;
esac

summary="$npass passed, $nfail failed"
[ "$nskip" -eq 0 ] || summary+=", $nskip skipped"
echo "$summary"
[ "$nfail" -eq 0 ]
