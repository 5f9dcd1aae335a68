#!/usr/bin/env bash
# 0001-cp-tree: `cp -a /usr/include` and a fixture tree with every kind of
# metadata into the mount; contents and metadata identical before and after
# a remount; `vaultctl check --read-data` passes online and offline.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

SRC=/usr/include
[ -d "$SRC" ] || fail "$SRC is missing (apt-get install libc6-dev)"
make_fixture_tree "$VF_TMP/fixture"

vf_init
vf_mount
log "cp -a $SRC ($(du -sh "$SRC" | cut -f1), $(find "$SRC" | wc -l) entries)"
SECONDS=0
cp -a "$SRC" "$MNT/"
cp -a "$VF_TMP/fixture" "$MNT/fixture"
log "copied in ${SECONDS}s"
same_tree "$SRC" "$MNT/include"
same_tree "$VF_TMP/fixture" "$MNT/fixture"
save_tree "$MNT" before

vf_remount
same_tree "$SRC" "$MNT/include"
same_tree "$VF_TMP/fixture" "$MNT/fixture"
check_tree "$MNT" before

out=$("$VAULTCTL" check "$MNT" --read-data 2>&1) || fail "vaultctl check --read-data $MNT: $out"
log "online check: $out"
"$VAULTCTL" status "$MNT" >"$VF_TMP/status" 2>&1 || fail "vaultctl status $MNT: $(cat "$VF_TMP/status")"
vf_umount

out=$("$VAULTCTL" check "$VAULT" --keystore "$KS" --read-data 2>&1) ||
	fail "vaultctl check --read-data $VAULT (offline): $out"
log "offline check: $out"

# A third mount after the offline check still shows the same tree.
vf_mount
check_tree "$MNT" before
vf_umount
