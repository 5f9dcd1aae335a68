#!/usr/bin/env bash
# 0041-remote-dir: a remote vault on a directory store (docs/remote-store.md).
# init --store refuses a store that is not empty; a tree copied in is in
# the store after `vaultctl sync`; the vault directory is deleted and
# recovered from the store with the key alone, byte-identical, with its
# history (.snapshots of a time between two syncs) and still shipping;
# `recover --at` gives the earlier state, detached; a wrong key fails in
# one line and leaves nothing; a kill -9 while shipping loses nothing; a
# store that goes away lets writes go on, shows a growing lag, makes
# `sync --timeout 3` fail in one line, and once back is synced and
# recoverable; a header changed by key add and key remove reaches the
# store, and recover opens with a key only a later header held.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

export VAULTFS_ANCHOR_DIR=$VF_TMP/anchors
STORE=$VF_TMP/store
URL=dir:$STORE
SRC=/usr/include/linux
[ -d "$SRC" ] || skip "$SRC is missing (Debian package linux-libc-dev)"
head -c 64 /dev/urandom >"$VF_TMP/key"
head -c 64 /dev/urandom >"$VF_TMP/wrongkey"
chmod 600 "$VF_TMP/key" "$VF_TMP/wrongkey"
KEYOPT=(--key-file "$VF_TMP/key" --keystore "$KS")

# Fails unless CMD... exits 1 (mount.vaultfs: 32) with exactly one line on stderr matching
# PATTERN.
refused() {
	local what=$1 pattern=$2 out rc
	shift 2
	set +e
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	set -e
	local want_rc=1
	[[ " $* " == *" $MOUNT_VAULTFS "* ]] && want_rc=32 # mount(8): mount failed
	[ "$rc" = "$want_rc" ] || fail "$what: exit $rc, expected $want_rc ($out)"
	grep -Eq "$pattern" <<<"$out" || fail "$what: wrong message: $out"
	[ "$(wc -l <<<"$out")" = 1 ] || fail "$what: not one line: $out"
	log "$what: $out"
}

# status JSON field of the store: store_field NAME
store_field() {
	"$VAULTCTL" status "$MNT" --json |
		"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["store"][sys.argv[1]])' "$1"
}

mount_key() { vf_mount "key_file=$VF_TMP/key" "$@"; }

# A recovered copy has the vault's id; while the original exists on this
# machine too, each keeps its outside anchor in a directory of its own (as
# on another machine), or the newer epoch of one would make the other
# look rolled back.
as_copy() {
	VAULT=$VF_TMP/$1
	export VAULTFS_ANCHOR_DIR=$VF_TMP/anchors-$1
}
as_original() {
	VAULT=$SAVED
	export VAULTFS_ANCHOR_DIR=$VF_TMP/anchors
}
SAVED=$VAULT

# recover_into DIR [options]: recover the store into DIR
recover_into() {
	local d=$1
	shift
	"$VAULTCTL" recover "$URL" "$d" "${KEYOPT[@]}" "$@" ||
		fail "recover into $d $* failed"
}

vf_init --key-file "$VF_TMP/key" --store "$URL" --no-lock
[ -f "$STORE/hdr" ] || fail "init did not put the header in the store"
[ "$(stat -c %a "$VAULT/store.conf")" = 600 ] || fail "store.conf is not 0600"
refused "init on a non-empty store" "store is not empty" \
	"$VAULTCTL" init "$VF_TMP/v2" --key-file "$VF_TMP/key" --keystore "$KS" --store "$URL" --no-lock
[ ! -e "$VF_TMP/v2" ] || fail "a refused init left $VF_TMP/v2"
# a failure after the vault was made (the header cannot be stored: a
# directory is in its way) leaves nothing either
mkdir -p "$VF_TMP/store2/hdr"
refused "init when the header cannot be stored" "cannot store the vault header" \
	"$VAULTCTL" init "$VF_TMP/v3" --key-file "$VF_TMP/key" --keystore "$KS" --store "dir:$VF_TMP/store2" --no-lock
[ ! -e "$VF_TMP/v3" ] || fail "a failed init left $VF_TMP/v3"

# 1. Copy, sync; edits between two syncs.
mount_key
start=$(date +%s.%N)
cp -a "$SRC" "$MNT/linux"
t1=$(date +%s.%N)
"$VAULTCTL" sync "$MNT" >"$VF_TMP/sync1.out" || fail "sync after the copy failed"
t2=$(date +%s.%N)
log "copy $(echo "$t1 - $start" | bc) s, sync $(echo "$t2 - $t1" | bc) s ($(cat "$VF_TMP/sync1.out"))"
log "checkpoint $(store_field checkpoint_bytes) bytes, round $(store_field checkpoint_ms) ms, shipped $(store_field bytes_shipped) bytes"
"$VAULTCTL" status "$MNT" | grep -q "^store: *$URL\$" || fail "status does not name the store"
[ "$(store_field lag_ms)" = 0 ] || fail "lag after sync is not 0"
# a sync with nothing new returns at once
"$VAULTCTL" sync "$MNT" >"$VF_TMP/sync-idle.out" || fail "idle sync failed"
log "idle sync: $(cat "$VF_TMP/sync-idle.out")"
sleep 1.1
BEFORE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1
cp -a "$SRC" "$VF_TMP/ref"
for d in "$MNT/linux" "$VF_TMP/ref"; do
	echo "edited after $BEFORE" >"$d/edited-file"
	echo "appended" >>"$d/types.h"
	rm "$d/stddef.h"
	mkdir "$d/newdir"
	echo x >"$d/newdir/x"
done
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync after the edits failed"
# measured: the size of a checkpoint after a second sync
log "after edits: checkpoint $(store_field checkpoint_bytes) bytes, catalog $("$VAULTCTL" status "$MNT" --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["catalog_bytes"])') bytes"
vf_umount
"$VAULTCTL" status "$VAULT" "${KEYOPT[@]}" >"$VF_TMP/status-offline.out" || fail "offline status failed"
grep -q "^store: *$URL\$" "$VF_TMP/status-offline.out" || fail "offline status does not name the store"
grep -q "^shipping: *no" "$VF_TMP/status-offline.out" || fail "offline status does not say it is not shipping"

# 2. The vault directory is lost; recover it from the store with the key.
rm -rf "$VAULT"
recover_into "$VAULT" >"$VF_TMP/recover.out"
log "$(cat "$VF_TMP/recover.out")"
[ -f "$VAULT/store.conf" ] || fail "a full recover did not keep the store"
"$VAULTCTL" check "$VAULT" "${KEYOPT[@]}" --read-data >/dev/null || fail "check of the recovered vault failed"
mount_key
diff -r "$VF_TMP/ref" "$MNT/linux" || fail "recovered tree differs"
diff -r "$SRC" "$MNT/.snapshots/$BEFORE/linux" || fail ".snapshots/$BEFORE differs from the tree before the edits"
seq_before=$(store_field checkpoint)
echo after-recover >"$MNT/after-recover"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync of the recovered vault failed"
seq_after=$(store_field checkpoint)
[ "$seq_after" -gt "$seq_before" ] || fail "the recovered vault does not continue the sequence ($seq_before -> $seq_after)"
vf_umount
# The anchors written by recover still refuse a rollback: an older
# checkpoint from the store copied over the catalog.
cp "$VAULT/catalog.db" "$VF_TMP/current.db"
cp "$STORE/c/0000000000000001" "$VAULT/catalog.db"
rm -f "$VAULT/catalog.db-wal"
refused "mount of an older checkpoint after recovery" "catalog of vault .* went back" \
	timeout 30 "$MOUNT_VAULTFS" "$VAULT" "$MNT" -f -o "keystore=$KS,key_file=$VF_TMP/key"
is_mounted "$MNT" && fail "an older checkpoint was mounted"
cp "$VF_TMP/current.db" "$VAULT/catalog.db"

# 3. --at: the state of the first sync, detached from the store.
as_copy at
recover_into "$VAULT" --at "$BEFORE" >"$VF_TMP/at.out"
grep -q detached "$VF_TMP/at.out" || fail "recover --at does not say it is detached"
[ ! -e "$VAULT/store.conf" ] || fail "recover --at kept the store"
mount_key
diff -r "$SRC" "$MNT/linux" || fail "recover --at $BEFORE is not the earlier state"
[ ! -e "$MNT/after-recover" ] || fail "recover --at shows later files"
"$VAULTCTL" status "$MNT" | grep -q "^store:" && fail "a detached vault shows a store"
vf_umount
as_original

# 4. A wrong key fails in one line and leaves nothing.
refused "recover with a wrong key" "wrong key" \
	"$VAULTCTL" recover "$URL" "$VF_TMP/wk" --key-file "$VF_TMP/wrongkey" --keystore "$KS"
[ ! -e "$VF_TMP/wk" ] || fail "a recover with a wrong key left $VF_TMP/wk"
mkdir "$VF_TMP/full"
touch "$VF_TMP/full/x"
refused "recover into a non-empty directory" "not empty" \
	"$VAULTCTL" recover "$URL" "$VF_TMP/full" "${KEYOPT[@]}"
# a store that lost a pack: refused in one line, nothing left
cp -a "$STORE" "$VF_TMP/store-lost"
rm "$(find "$VF_TMP/store-lost/p" -type f | head -n 1)"
refused "recover from a store that lost a pack" "cannot fetch pack" \
	"$VAULTCTL" recover "dir:$VF_TMP/store-lost" "$VF_TMP/lost" "${KEYOPT[@]}"
[ ! -e "$VF_TMP/lost" ] || fail "a failed recover left $VF_TMP/lost"

# 5. kill -9 while shipping: remount, sync, recover.
mount_key
cp -a "$SRC" "$MNT/second"
cp -a "$SRC" "$VF_TMP/ref2"
vf_kill9
mount_key
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync after kill -9 failed"
vf_umount
as_copy k9
recover_into "$VAULT" >/dev/null
mount_key
diff -r "$VF_TMP/ref2" "$MNT/second" || fail "tree written before kill -9 differs after recovery"
vf_umount
as_original

# 6. The store goes away: writes go on, lag grows, sync times out; back:
# sync works and nothing is lost.
mount_key
mv "$STORE" "$STORE.away"
cp -a "$SRC" "$MNT/third"
# new data (the tree above is all deduplicated by now)
head -c 3000000 /dev/urandom >"$VF_TMP/rand"
cp "$VF_TMP/rand" "$MNT/rand-outage"
sleep 1.5
lag1=$(store_field lag_ms)
sleep 2
lag2=$(store_field lag_ms)
[ "$lag2" -gt "$lag1" ] && [ "$lag1" -gt 0 ] || fail "lag does not grow while the store is gone ($lag1, $lag2)"
pending=$(store_field bytes_pending)
[ "$pending" -gt 0 ] || fail "no bytes pending while the store is gone"
log "store gone: lag $lag1 ms then $lag2 ms, $pending bytes pending"
refused "sync while the store is gone" "does not hold everything after 3 s: .*missing" \
	"$VAULTCTL" sync "$MNT" --timeout 3
"$VAULTCTL" status "$MNT" | grep -q "^store error: .*missing" || fail "status does not show the store error"
echo still-writable >"$MNT/during-outage"
mv "$STORE.away" "$STORE"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync after the store came back failed"
[ "$(store_field lag_ms)" = 0 ] || fail "lag is not 0 after the store came back"
vf_umount
as_copy back
recover_into "$VAULT" >/dev/null
mount_key
diff -r "$SRC" "$MNT/third" || fail "tree written during the outage differs after recovery"
[ "$(cat "$MNT/during-outage")" = still-writable ] || fail "file written during the outage lost"
cmp "$VF_TMP/rand" "$MNT/rand-outage" || fail "new data written during the outage differs after recovery"
vf_umount
as_original

# 7. A changed header reaches the store (docs/keys.md): a key file added
# while mounted is in the store as h/<hash> once sync returns, and recover
# opens the vault with it alone; once it is removed again, the store's
# older header still recovers with it (what a leaked key needs a new
# master key for), and the recovered vault has that header's protectors.
head -c 64 /dev/urandom >"$VF_TMP/key2"
chmod 600 "$VF_TMP/key2"
headers() { find "$STORE/h" -type f 2>/dev/null | wc -l; }
# the last key-file protector of TARGET [key options]
last_key_file() {
	"$VAULTCTL" key list "$@" --json | "$PYTHON" -c '
import json, sys
print([p["id"] for p in json.load(sys.stdin) if p["kind"] == "key-file"][-1])'
}
mount_key
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync before key add failed"
n0=$(headers)
"$VAULTCTL" key add "$MNT" key-file "$VF_TMP/key2" >/dev/null || fail "key add on a remote vault failed"
K2=$(last_key_file "$MNT")
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync after key add failed"
[ "$(headers)" -gt "$n0" ] || fail "no new h/ header in the store after key add"
found=0
for f in "$STORE"/h/*; do cmp -s "$f" "$VAULT/vault.hdr" && found=1; done
[ "$found" = 1 ] || fail "the store has no copy of the header after key add"
cmp -s "$STORE/hdr" "$VAULT/vault.hdr" && fail "init's hdr was written again"
"$VAULTCTL" key remove "$MNT" "$K2" >/dev/null || fail "key remove on a remote vault failed"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync after key remove failed"
vf_umount
refused "the removed key file on the vault" "wrong key file" \
	"$VAULTCTL" status "$VAULT" --key-file "$VF_TMP/key2" --keystore "$KS"
as_copy k2
"$VAULTCTL" recover "$URL" "$VAULT" --key-file "$VF_TMP/key2" --keystore "$KS" >/dev/null ||
	fail "recover with the added (then removed) key file failed"
[ "$(last_key_file "$VAULT" --key-file "$VF_TMP/key2" --keystore "$KS")" = "$K2" ] ||
	fail "the vault recovered with the removed key has not the header that held it"
vf_mount "key_file=$VF_TMP/key2"
cmp "$VF_TMP/rand" "$MNT/rand-outage" || fail "data recovered with the added key differs"
vf_umount
as_original
log "store: $(find "$STORE" -type f | wc -l) objects, $(du -sb "$STORE" | cut -f1) bytes"
