#!/usr/bin/env bash
# tests/layers.sh - the layering check: lower layers never include higher
# ones, and the include graph has no circle.
#
#   tests/layers.sh [ROOT]     check ROOT/core, ROOT/fs, ROOT/tools
#                              (ROOT defaults to the repository)
#
# Every `#include "..."` in core/, fs/ and tools/ is an edge from the
# including file's module to the included header's module.  A module is a
# .c file and the .h of the same name, unless the table lists a header on
# its own (vault.h, the public contract, sits low; vault.c, the facade,
# sits high).  Each module gets its layer from LAYERS below, the same table
# as docs/design.md ("Layers"); every file in fs/ and tools/ is in the
# layer of its directory.
#
# Prints one line per violation and exits 1 when there is any:
#   core/x.c includes y.h of a higher layer
#   core/x.c is in no layer (add it to tests/layers.sh and docs/design.md)
#   circle: a -> b -> a
# Prints nothing and exits 0 when the graph is clean.  Needs no root.
set -uo pipefail

ROOT=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# layer  modules (name: core/name.c and core/name.h, and core/name_int.h,
# the module's private header; name.c or name.h: that file alone; dir/:
# every file in that directory)
LAYERS='
0 common banned
1 crypto sshsig chunker policy policy_access acl
2 catvfs catseg pack_io anchor objstore objstore_dir store_open s3 s3_config s3_list pack_cache
3 catalog catalog_q pack protector protector_src.c protector_edit.c protector_int.h protector_kdf.c
4 vault.h vault_int.h
5 ns open_files vclock datakey
6 view view_points
7 buf spool cache pipeline file
8 trash trash_purge immut authz audit guard guard_key.c guard_set.c gc alert trip ship ship_upload protect rotate
9 admin admin_policy admin_security admin_keys facade.h vault.c vault_ns vault_ns_attr vault_ns_delete vault_file xattr check remote store_gc metrics report ingest
10 fs/
11 tools/
'

cd "$ROOT" || exit 2
files=$(find core fs tools -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)

# One line per include: "FILE HEADER".
edges=$(for f in $files; do
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
		while IFS= read -r h; do echo "$f $h"; done
done)

awk -v layers="$LAYERS" -v files="$files" -v edges="$edges" '
function base(p) { sub(/.*\//, "", p); return p }
function dir(p) { return substr(p, 1, index(p, "/")) }
function stem(p) { p = base(p); sub(/\.[ch]$/, "", p); return p }
# the module of a path (core/x.c), or "" when the table has none
function module_of(p,    b, s, d) {
	b = base(p); s = stem(p); d = dir(p)
	if (d == "core/") {
		if ((b) in lay) return b
		if ((s) in lay) return s
		# a private header (admin_int.h) belongs to its module
		if (s ~ /_int$/ && (substr(s, 1, length(s) - 4)) in lay)
			return substr(s, 1, length(s) - 4)
		return ""
	}
	if ((d) in lay) return d s
	return ""
}
function layer_of(m,    d) {
	if (m in lay) return lay[m]
	d = dir(m)
	return lay[d]
}
# resolves an include the way the compiler does for us: the includer`s
# own directory first, then core/, fs/ (-Icore -Ifs)
function resolve(from, h,    c) {
	c = dir(from) h
	if (c in present) return c
	if (("core/" h) in present) return "core/" h
	if (("fs/" h) in present) return "fs/" h
	if (("tools/" h) in present) return "tools/" h
	return ""
}
function visit(m,    i, n, t, path, k) {
	state[m] = 1
	stack[++depth] = m
	n = nsucc[m]
	for (i = 1; i <= n; i++) {
		t = succ[m, i]
		if (state[t] == 1) {
			path = ""
			for (k = 1; k <= depth; k++)
				if (stack[k] == t) break
			for (; k <= depth; k++)
				path = path stack[k] " -> "
			print "circle: " path t
			bad = 1
		} else if (!state[t]) {
			visit(t)
		}
	}
	depth--
	state[m] = 2
}
BEGIN {
	nl = split(layers, L, "\n")
	for (i = 1; i <= nl; i++) {
		nw = split(L[i], w, " ")
		for (j = 2; j <= nw; j++)
			lay[w[j]] = w[1] + 0
	}
	nf = split(files, F, "\n")
	for (i = 1; i <= nf; i++) {
		if (F[i] == "") continue
		present[F[i]] = 1
		if (module_of(F[i]) == "") {
			print F[i] " is in no layer (add it to tests/layers.sh and docs/design.md)"
			bad = 1
		}
	}
	ne = split(edges, E, "\n")
	for (i = 1; i <= ne; i++) {
		if (split(E[i], p, " ") != 2) continue
		from = p[1]; h = p[2]
		to = resolve(from, h)
		if (to == "") continue # not ours (a library header)
		mf = module_of(from); mt = module_of(to)
		if (mf == "" || mt == "") continue
		if (layer_of(mt) > layer_of(mf)) {
			print from " includes " h " of a higher layer"
			bad = 1
		}
		if (mf != mt && !((mf, mt) in seen)) {
			seen[mf, mt] = 1
			succ[mf, ++nsucc[mf]] = mt
			nodes[mf] = 1
		}
	}
	for (m in nodes)
		if (!state[m])
			visit(m)
	exit bad
}'
