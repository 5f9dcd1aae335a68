#!/usr/bin/env bash
# 0042-remote-ceph: a remote vault in an S3 bucket on a real Ceph cluster
# (radosgw over HTTPS with the cluster's own CA; tests/ceph/cluster.sh).
# The README's walk-through as a test: init --store, mount, copy a tree,
# sync; the vault directory is lost (rm -rf); recover on an empty
# directory gives the tree byte-identical with its history (.snapshots of
# a time before the last edits).  radosgw stopped in the middle of a copy:
# writes go on, status shows the lag, sync fails in one line; radosgw
# back: sync succeeds, nothing lost.  With a small cache (-o cache_size=)
# evicted packs come back from the store on read.  A pack object
# overwritten or deleted in the bucket is named by check --read-data.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

vf_need_ceph
CLUSTER_SH=$REPO/tests/ceph/cluster.sh
BUCKET=vf0042-$$-$RANDOM
URL=s3://$BUCKET/vault
STOREOPT=(--endpoint "$VF_S3_ENDPOINT" --credentials "$VF_S3_CREDENTIALS" --ca-file "$VF_S3_CA")
# No Object Lock here (--no-lock): reads take the current version, so an
# object overwritten in the bucket is seen (and named by check).  A
# locked vault reads the versions it wrote: 0044.
VF_S3_URL=s3://$BUCKET "$S3PROBE" mkbucket >/dev/null || fail "cannot create bucket $BUCKET"
s3() { VF_S3_URL=$URL "$S3PROBE" "$@"; }

head -c 32 /dev/urandom >"$VF_TMP/key"
chmod 600 "$VF_TMP/key"
KEYOPT=(--key-file "$VF_TMP/key")
mount_key() { vf_mount "key_file=$VF_TMP/key" "$@"; }
store_field() {
	"$VAULTCTL" status "$MNT" --json |
		"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["store"][sys.argv[1]])' "$1"
}

SRC=/usr/include/linux
# a bucket without Object Lock is refused unless --no-lock is given
if out=$("$VAULTCTL" init "$VF_TMP/refused" --keystore "$KS" "${KEYOPT[@]}" --store "$URL" "${STOREOPT[@]}" 2>&1); then
	fail "init accepted a bucket without Object Lock"
fi
echo "$out" | grep -q "has no Object Lock" || fail "unexpected refusal: $out"
[ ! -e "$VF_TMP/refused" ] || fail "a refused init left a directory"
vf_init "${KEYOPT[@]}" --store "$URL" "${STOREOPT[@]}" --no-lock
mount_key
start=$(date +%s.%N)
cp -a "$SRC" "$MNT/linux"
t1=$(date +%s.%N)
"$VAULTCTL" sync "$MNT" >"$VF_TMP/sync1" || fail "sync after the copy failed"
t2=$(date +%s.%N)
log "copy $(echo "$t1 - $start" | bc) s, sync $(echo "$t2 - $t1" | bc) s: $(cat "$VF_TMP/sync1")"
[ "$(store_field lag_ms)" = 0 ] || fail "lag after sync is not 0"
sleep 1.1
BEFORE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1
cp -a "$MNT/linux" "$VF_TMP/before"
echo "edited" >>"$MNT/linux/fs.h"
rm "$MNT/linux/kd.h"
mkdir "$MNT/new" && echo new >"$MNT/new/file"

# ---- radosgw stopped in the middle of a copy ----------------------------
"$CLUSTER_SH" stop-rgw "$VF_CEPH_DIR" >/dev/null || fail "stop-rgw failed"
cp -a /usr/include/sound "$MNT/sound" || fail "writes failed while the store was down"
if out=$("$VAULTCTL" sync "$MNT" --timeout 3 2>&1); then
	fail "sync succeeded with radosgw stopped"
fi
[ "$(echo "$out" | wc -l)" = 1 ] || fail "sync failure is not one line: $out"
log "sync with the store down: $out"
sleep 1
lag=$(store_field lag_ms)
[ "$lag" -gt 0 ] || fail "no lag shown while the store is down"
"$CLUSTER_SH" start-rgw "$VF_CEPH_DIR" >/dev/null || fail "start-rgw failed"
"$VAULTCTL" sync "$MNT" --timeout 120 >/dev/null || fail "sync after radosgw came back failed"
[ "$(store_field lag_ms)" = 0 ] || fail "lag after the store came back is not 0"
cp -a "$MNT/." "$VF_TMP/ref"
rm -rf "$VF_TMP/ref/.snapshots" "$VF_TMP/ref/.versions" "$VF_TMP/ref/.softdeleted" 2>/dev/null || true
vf_umount

# ---- the vault directory is lost; recover with the key alone ---------------
rm -rf "$VAULT"
t0=$(date +%s.%N)
"$VAULTCTL" recover "$URL" "$VAULT" "${KEYOPT[@]}" "${STOREOPT[@]}" >"$VF_TMP/recover.out" ||
	fail "recover failed: $(cat "$VF_TMP/recover.out")"
log "recover $(echo "$(date +%s.%N) - $t0" | bc) s: $(tail -n 1 "$VF_TMP/recover.out")"
# a small cache: packs beyond 1 MiB are evicted once shipped, read back
# from the store
mount_key cache_size=1M
diff -r "$VF_TMP/ref/linux" "$MNT/linux" || fail "recovered tree differs"
diff -r "$VF_TMP/ref/sound" "$MNT/sound" || fail "recovered sound tree differs"
diff -r "$VF_TMP/before" "$MNT/.snapshots/$BEFORE/linux" ||
	fail ".snapshots/$BEFORE differs from the tree before the edits"
vf_umount
n_local=$(find "$VAULT/packs" -name '*.pack' | wc -l)
log "local packs after a cache_size=1M mount: $n_local"

# ---- a pack object overwritten, then deleted, in the bucket -----------------
victim=$(s3 list p/ 2>/dev/null | awk 'NR == 1 { print $1 }')
[ -n "$victim" ] || fail "no pack object listed in the bucket"
# make sure there is a local copy to compare with
mount_key
cat "$MNT"/linux/*.h >/dev/null
vf_umount
printf 'tampered' >"$VF_TMP/junk"
s3 putfile "$victim" "$VF_TMP/junk" >/dev/null || fail "cannot overwrite $victim"
if out=$("$VAULTCTL" check "$VAULT" "${KEYOPT[@]}" --read-data 2>&1); then
	fail "check passed with $victim overwritten in the store"
fi
echo "$out" | grep -q "store object $victim" || fail "check does not name the tampered object: $out"
s3 rm "$victim" >/dev/null || fail "cannot delete $victim"
if out=$("$VAULTCTL" check "$VAULT" "${KEYOPT[@]}" 2>&1); then
	fail "check passed with $victim missing from the store"
fi
echo "$out" | grep -q "store object $victim: missing from the store" ||
	fail "check does not name the missing object: $out"
