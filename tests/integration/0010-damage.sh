#!/usr/bin/env bash
# 0010-damage: bit rot or tampering in a pack is found and contained
# (docs/threat-model.md, Integrity): reading a damaged file fails with EIO
# while every other file
# stays readable; `vaultctl check` (online and offline, with and without
# --read-data) exits 1 naming exactly the damaged file; the daemon stays up.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

vf_init
vf_mount
# Random (incompressible) files of one chunk each, so one flipped byte
# damages exactly one file.
for i in 1 2 3 4 5 6; do
	head -c 300000 /dev/urandom >"$VF_TMP/f$i"
	cp "$VF_TMP/f$i" "$MNT/f$i"
done
vf_umount

# Flip one byte in the middle of the first entry's blob of the pack that
# holds them; find which file it was by reading them all back.
pack=$(find "$VAULT/packs" -name '*.pack' -size +1M | head -n 1)
[ -n "$pack" ] || fail "no pack file found"
size=$(stat -c %s "$pack")
off=$((8 + 12 + 1000))
printf '\xff' | dd of="$pack" bs=1 seek=$off conv=notrunc status=none
log "flipped byte $off of $(basename "$pack") ($size bytes)"

vf_mount
bad=()
for i in 1 2 3 4 5 6; do
	if cmp -s "$VF_TMP/f$i" "$MNT/f$i"; then
		continue
	fi
	err=$(cat "$MNT/f$i" 2>&1 >/dev/null || true)
	case $err in
	*"Input/output error"*) bad+=("f$i") ;;
	*) fail "f$i differs but reading it gave '$err', not EIO" ;;
	esac
done
assert_eq "${#bad[@]}" 1 "number of damaged files"
log "damaged: ${bad[0]}"

set +e
out=$("$VAULTCTL" check "$MNT" 2>&1)
rc=$?
set -e
assert_eq "$rc" 1 "check exit status (online)"
grep -q "damaged: /${bad[0]}:" <<<"$out" || fail "online check did not name /${bad[0]}: $out"
[ "$(grep -c '^damaged:' <<<"$out")" = 1 ] || fail "check named more than the damaged file: $out"
vf_umount

for data in "" --read-data; do
	set +e
	out=$("$VAULTCTL" check "$VAULT" --keystore "$KS" $data 2>&1)
	rc=$?
	set -e
	assert_eq "$rc" 1 "check $data exit status (offline)"
	grep -q "damaged: /${bad[0]}:" <<<"$out" || fail "offline check $data did not name /${bad[0]}: $out"
done
