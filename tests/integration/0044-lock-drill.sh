#!/usr/bin/env bash
# 0044-lock-drill: root on the protected machine fails to destroy the
# backups of a remote vault whose bucket has Object Lock.  As root: rm -rf
# of everything through the mount (and a sync, so the store's newest
# checkpoint is the empty tree); then, with the vault's own credentials
# and curl --aws-sigv4: delete every object version, delete with the
# governance bypass, shorten a retention, replace the lock configuration,
# delete the bucket -- every one refused by the store; overwrite every
# object and hide every key behind a delete marker -- allowed (new
# versions), and harmless: a locked vault reads the versions it wrote.
# Then the daemon started 15 days ahead purges nothing early.  Finally
# `vaultctl recover --at <before the attack>` on a fresh directory gives
# back every file byte-identical, and its history.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"
vf_need_faketime
vf_need_ceph

vf_lock_bucket "vf0044-$$-$RANDOM"

# ---- a remote vault with a history ------------------------------------------
vf_init "${KEYOPT[@]}" --store "$URL" "${STOREOPT[@]}"
vf_mount "key_file=$VF_TMP/key"
cp -a /usr/include/linux "$MNT/linux"
echo "first" >"$MNT/notes"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync failed"
echo "second" >"$MNT/notes"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync failed"
"$VAULTCTL" status "$MNT" | grep -q "object lock:    COMPLIANCE, 21d from each upload" ||
	fail "status does not show the lock: $("$VAULTCTL" status "$MNT")"
cp -a "$MNT/." "$VF_TMP/ref"
rm -rf "$VF_TMP/ref/.snapshots" "$VF_TMP/ref/.versions" "$VF_TMP/ref/.softdeleted"
sleep 1.1
BEFORE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1

# ---- the attack: root on the host ---------------------------------------------
rm -rf "${MNT:?}"/linux "$MNT/notes"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync after rm -rf failed"
vf_umount
s3_versions vault >"$VF_TMP/versions"
n=$(wc -l <"$VF_TMP/versions")
[ "$n" -ge 5 ] || fail "only $n object versions in the bucket"
refused=0
while read -r key vid; do
	code=$(s3curl DELETE "/$key?versionId=$vid")
	[ "$code" = 403 ] && refused=$((refused + 1))
done <"$VF_TMP/versions"
assert_eq "$n" "$refused" "object versions whose delete the store refused"
read -r key vid <"$VF_TMP/versions"
code=$(s3curl DELETE "/$key?versionId=$vid" -H "x-amz-bypass-governance-retention: true")
assert_eq 403 "$code" "delete with the governance bypass"
soon=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
code=$(s3curl PUT "/$key?retention=&versionId=$vid" --data-binary \
	"<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>COMPLIANCE</Mode><RetainUntilDate>$soon</RetainUntilDate></Retention>")
assert_eq 403 "$code" "shortening a retention"
code=$(s3curl PUT "/$key?retention=&versionId=$vid" --data-binary \
	"<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>GOVERNANCE</Mode><RetainUntilDate>$soon</RetainUntilDate></Retention>")
assert_eq 403 "$code" "turning COMPLIANCE into GOVERNANCE"
code=$(s3curl PUT "?object-lock=" --data-binary \
	'<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>')
log "replacing the lock configuration: HTTP $code (existing versions keep their retention)"
code=$(s3curl DELETE "")
case $code in 403 | 409) ;; *) fail "deleting the bucket gave HTTP $code" ;; esac
# allowed, and harmless: new versions and delete markers
while read -r key vid; do
	s3curl PUT "/$key" --data-binary "ransom" >/dev/null
	s3curl DELETE "/$key" >/dev/null
done <"$VF_TMP/versions"
# a forged "newest" checkpoint, and a time object for it
s3curl PUT "/vault/c/ffffffffffffffff" --data-binary "ransom" >/dev/null
s3curl PUT "/vault/c/ffffffffffffffff.t" --data-binary "012345678901234567890123456789012345678901234567" >/dev/null
# still refused after all that
read -r key vid <"$VF_TMP/versions"
assert_eq 403 "$(s3curl DELETE "/$key?versionId=$vid")" "delete of a version after the replacements"
log "$n versions: every delete refused; overwrites and delete markers added"

# ---- the daemon 15 days ahead purges nothing early ------------------------------
vf_mount_at +15d "key_file=$VF_TMP/key" maintain=1
sleep 3
[ -e "$MNT/.softdeleted/notes" ] || fail "soft-deleted notes purged by a daemon started 15 days ahead"
# the store's clock: a recovery point made now is stamped with the
# store's day, not the host's, and the disagreement is an alert
echo late >"$MNT/late"
# the store refuses requests signed 15 days ahead: shipping waits (and
# says why); everything stays local until the clock is right
if out=$("$VAULTCTL" sync "$MNT" --timeout 5 2>&1); then
	fail "the store took requests signed 15 days ahead"
fi
echo "$out" | grep -q "RequestTimeTooSkewed" || log "sync at +15 days: $out"
# (within 300 s of the store's time, which may be the next day near
# midnight: compared as seconds, not as a date)
stamp=$(ls "$MNT/.versions/late" | head -n 1)
stamp_s=$(date -u -d "$stamp" +%s) || fail "version name '$stamp' is not a time"
ahead=$((stamp_s - $(date +%s)))
[ "${ahead#-}" -le 400 ] ||
	fail "a version made with the host 15 days ahead is stamped $stamp, $ahead s from now"
"$VAULTCTL" alerts list "$MNT" >"$VF_TMP/alerts"
grep -q "clock.*this host's clock is 12960[0-9][0-9] s ahead of the store's" "$VF_TMP/alerts" ||
	fail "no alert for the host clock ahead of the store's: $(cat "$VF_TMP/alerts")"
vf_umount

# ---- recover on a fresh directory ------------------------------------------------
# the newest checkpoint that is the vault's: after the rm -rf; the forged
# one is skipped
export VAULTFS_ANCHOR_DIR=$VF_TMP/anchors-latest
"$VAULTCTL" recover "$URL" "$VF_TMP/latest" "${KEYOPT[@]}" "${STOREOPT[@]}" >"$VF_TMP/latest.out" ||
	fail "recover of the newest checkpoint failed: $(cat "$VF_TMP/latest.out")"
grep -q "skipped 1 checkpoints that are not this vault's" "$VF_TMP/latest.out" ||
	fail "the forged checkpoint was not skipped: $(cat "$VF_TMP/latest.out")"
# ... and as of before the attack
export VAULTFS_ANCHOR_DIR=$VF_TMP/anchors-new
VAULT=$VF_TMP/recovered
"$VAULTCTL" recover "$URL" "$VAULT" "${KEYOPT[@]}" "${STOREOPT[@]}" --at "$BEFORE" >"$VF_TMP/recover.out" ||
	fail "recover --at failed: $(cat "$VF_TMP/recover.out")"
log "$(tail -n 1 "$VF_TMP/recover.out")"
vf_mount "key_file=$VF_TMP/key"
diff -r "$VF_TMP/ref/linux" "$MNT/linux" || fail "the recovered tree differs"
assert_eq second "$(cat "$MNT/notes")" "notes as of before the attack"
[ "$(ls "$MNT/.versions/notes" | wc -l)" -ge 2 ] || fail "the history of notes was not recovered"
vf_umount

# ---- check names objects the store does not lock -----------------------------------
export VAULTFS_ANCHOR_DIR=$VF_TMP/anchors-latest
"$VAULTCTL" check "$VF_TMP/latest" "${KEYOPT[@]}" --read-data >"$VF_TMP/check.out" 2>&1 ||
	fail "check of a locked vault failed: $(cat "$VF_TMP/check.out")"
# a vault made with --no-lock in a locking bucket, whose store.conf then
# loses "no-lock": its objects are not locked, and check says so
export VAULTFS_ANCHOR_DIR=$VF_TMP/anchors-unlocked
U=$VF_TMP/unlocked
"$VAULTCTL" init "$U" --keystore "$KS" "${KEYOPT[@]}" --store "s3://$BUCKET/unlocked" "${STOREOPT[@]}" --no-lock >/dev/null ||
	fail "init --no-lock failed"
VAULT=$U
vf_mount "key_file=$VF_TMP/key"
echo data >"$MNT/f"
"$VAULTCTL" sync "$MNT" >/dev/null || fail "sync of the unlocked vault failed"
vf_umount
sed -i '/^no-lock /d' "$U/store.conf"
if out=$("$VAULTCTL" check "$U" "${KEYOPT[@]}" 2>&1); then
	fail "check passed on objects the store does not lock"
fi
echo "$out" | grep -q "store object hdr: not locked in the store" ||
	fail "check does not name the unlocked header: $out"
echo "$out" | grep -q "store object p/.*: not locked in the store" ||
	fail "check does not name an unlocked pack: $out"
