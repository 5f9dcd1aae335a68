#!/usr/bin/env bash
# 0058-gc-vacuum-remote: gc gives a catalog's free pages back (VACUUM) on a
# remote vault without breaking what the store holds.  A directory of files
# with large xattrs fills the catalog; once it is purged, gc vacuums; the
# rounds after it still ship (a full checkpoint or a segment on the
# vacuumed state), the vault reopens under its anchor, check passes, and
# recover gives the last state byte-identical.  Directory store.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

export VAULTFS_ANCHOR_DIR=$VF_TMP/anchors
STORE=$VF_TMP/store
URL=dir:$STORE
head -c 64 /dev/urandom >"$VF_TMP/key"
chmod 600 "$VF_TMP/key"
KEYOPT=(--key-file "$VF_TMP/key" --keystore "$KS")
SAVED=$VAULT
NPAD=2000

store_field() {
	"$VAULTCTL" status "$MNT" --json |
		"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["store"][sys.argv[1]])' "$1"
}
gc_field() {
	"$PYTHON" -c 'import json,sys; print(str(json.load(open(sys.argv[1]))[sys.argv[2]]).lower())' "$@"
}
mount_key() { vf_mount "key_file=$VF_TMP/key" "$@"; }

vf_init --key-file "$VF_TMP/key" --store "$URL" --no-lock
mount_key
"$VAULTCTL" softdelete set "$MNT" --off >/dev/null || fail "softdelete set --off failed"
mkdir -p "$MNT/keep" "$MNT/pad" "$VF_TMP/ref/keep"
make_fixture_tree "$VF_TMP/ref/keep/tree" nosocket
cp -a "$VF_TMP/ref/keep/tree" "$MNT/keep/"
pad=$(head -c 2400 /dev/urandom | base64 -w0)
for i in $(seq 1 "$NPAD"); do
	echo "$i" >"$MNT/pad/f$i"
	setfattr -n user.pad -v "0s$pad" "$MNT/pad/f$i"
done
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync after the fill failed"
rm -r "$MNT/pad"
"$VAULTCTL" gc "$MNT" --json >"$VF_TMP/gc.json" || fail "gc failed"
log "gc: $(cat "$VF_TMP/gc.json")"
assert_eq true "$(gc_field "$VF_TMP/gc.json" vacuumed)" "gc vacuumed the catalog"
before=$(gc_field "$VF_TMP/gc.json" catalog_before)
after=$(gc_field "$VF_TMP/gc.json" catalog_after)
[ "$after" -lt "$before" ] || fail "catalog did not shrink: $before -> $after"

# rounds on the vacuumed catalog: a change, a sync, another change, a sync
# (mtimes are not compared below: the step files are written twice)
for i in 1 2; do
	for d in "$MNT" "$VF_TMP/ref"; do
		echo "after vacuum $i" >"$d/keep/step$i"
	done
	"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync $i after the vacuum failed"
	log "sync $i: checkpoint $(store_field checkpoint), $(store_field segments_shipped) segments"
done
vf_umount
"$VAULTCTL" check "$VAULT" "${KEYOPT[@]}" >/dev/null || fail "check after the vacuum failed"
mount_key
SAME_TREE_MTIME=0 same_tree "$VF_TMP/ref/keep" "$MNT/keep"
[ ! -e "$MNT/pad" ] || fail "pad is back"
vf_umount

VAULT=$VF_TMP/rec
VAULTFS_ANCHOR_DIR=$VF_TMP/anchors-rec "$VAULTCTL" recover "$URL" "$VAULT" "${KEYOPT[@]}" >"$VF_TMP/rec.out" ||
	fail "recover failed: $(cat "$VF_TMP/rec.out")"
log "$(tr '\n' ' ' <"$VF_TMP/rec.out")"
VAULTFS_ANCHOR_DIR=$VF_TMP/anchors-rec mount_key ro
SAME_TREE_MTIME=0 same_tree "$VF_TMP/ref/keep" "$MNT/keep"
[ ! -e "$MNT/pad" ] || fail "pad is in the recovered vault"
vf_umount
VAULT=$SAVED
