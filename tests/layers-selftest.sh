#!/usr/bin/env bash
# tests/layers-selftest.sh - shows that tests/layers.sh catches what it is
# for: on a copy of core/, fs/ and tools/ it must pass as the tree is, then
# fail (exit 1, with the expected line) after
#   1. a back-include: core/ns.c includes trash.h (a higher layer), and
#   2. a circle inside one layer: core/immut.c includes trash.h while
#      core/trash.c includes immut.h,
# and accept core/admin.c and core/admin.h (the administrative gate) at
# the top of core.  Prints what went wrong and exits 1 otherwise.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CHECK=$REPO/tests/layers.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0

fresh() {
	rm -rf "$tmp/t"
	mkdir -p "$tmp/t"
	cp -r "$REPO/core" "$REPO/fs" "$REPO/tools" "$tmp/t/"
}
# expect RC PATTERN WHAT: runs the check on the copy
expect() {
	local out rc=0
	out=$("$CHECK" "$tmp/t" 2>&1) || rc=$?
	if [ "$rc" != "$1" ] || ! grep -q -- "$2" <<<"$out"; then
		echo "layers.sh on $3: exit $rc (want $1), output:"
		sed 's/^/    | /' <<<"$out"
		bad=1
	fi
}

fresh
expect 0 '' "the tree as it is"

fresh
echo '#include "trash.h"' >>"$tmp/t/core/ns.c"
expect 1 '^core/ns.c includes trash.h of a higher layer$' "a back-include"

fresh
grep -q '#include "immut.h"' "$tmp/t/core/trash.c" ||
	echo '#include "immut.h"' >>"$tmp/t/core/trash.c"
echo '#include "trash.h"' >>"$tmp/t/core/immut.c"
expect 1 '^circle: .*immut.*trash\|^circle: .*trash.*immut' "a circle"

fresh
printf '#include "trash.h"\n#include "gc.h"\n' >"$tmp/t/core/admin.h"
printf '#include "admin.h"\n#include "immut.h"\n#include "authz.h"\n' >"$tmp/t/core/admin.c"
echo '#include "admin.h"' >>"$tmp/t/tools/vaultctl.c"
expect 0 '' "core/admin.[ch] at the top of core"

fresh
echo '#include "admin.h"' >>"$tmp/t/core/trash.c"
: >"$tmp/t/core/admin.h"
expect 1 '^core/trash.c includes admin.h of a higher layer$' "a feature including admin.h"

fresh
: >"$tmp/t/core/newthing.c"
expect 1 '^core/newthing.c is in no layer' "a file with no layer"

exit $bad
