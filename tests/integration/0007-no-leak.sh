#!/usr/bin/env bash
# 0007-no-leak: nothing of the copied data — file and directory names,
# symlink targets, xattr names and values, contents (compressible text
# included) — can be found in the vault directory or the keystore, while
# mounted or after unmount; the catalog is not a readable SQLite file
# (docs/threat-model.md, Confidentiality).
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

tag=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
NAME=secret-name-$tag-zz.txt
DIRNAME=secret-dir-$tag-qq
LINKTARGET=secret-target-$tag-ll
XNAME=user.secretattr$tag
XVALUE=secret-xattr-value-$tag-vv
TEXT=secret-content-$tag-payload
BINTEXT=$(printf 'bin%s' "$tag")

SRC=$VF_TMP/src
mkdir -p "$SRC/$DIRNAME/inner"
# Compressible text repeated (compression before encryption must not show
# it) and the same text once in a tiny file.
for i in $(seq 1 2000); do echo "$TEXT line $i"; done >"$SRC/$DIRNAME/$NAME"
echo "$TEXT" >"$SRC/$DIRNAME/inner/tiny-$tag.txt"
{ head -c 100000 /dev/urandom; printf '%s' "$BINTEXT"; head -c 100000 /dev/urandom; } >"$SRC/binary-$tag.bin"
ln -s "$LINKTARGET" "$SRC/link-$tag"
setfattr -n "$XNAME" -v "$XVALUE" "$SRC/$DIRNAME/$NAME"
cp -a /usr/include/linux "$SRC/linux"

vf_init
vf_mount
cp -a "$SRC" "$MNT/data"
same_tree "$SRC" "$MNT/data"
# Rename and overwrite once, so that old names and versions exist too.
mv "$MNT/data/$DIRNAME/inner/tiny-$tag.txt" "$MNT/data/$DIRNAME/inner/renamed-$tag.txt"
echo "$TEXT v2" >"$MNT/data/$DIRNAME/inner/renamed-$tag.txt"

# needles: every string that must not appear in the vault.
needles() {
	printf '%s\n' "$NAME" "$DIRNAME" "$LINKTARGET" "${XNAME#user.}" "$XVALUE" "$TEXT" \
		"$BINTEXT" "tiny-$tag" "renamed-$tag" "link-$tag" "binary-$tag" secret- \
		"$tag"
	# Names of the real files copied in that are long enough not to occur
	# by chance in random bytes.
	find "$SRC/linux" -name '*.h' -printf '%f\n' | awk 'length($0) >= 12 && n++ < 300'
	# Lines of real content.
	grep -h -o -E '#define [A-Z_]{12,}' "$SRC"/linux/*.h | awk 'n++ < 300'
}
needles | sort -u >"$VF_TMP/needles"

search() {
	local where=$1 hits
	hits=$(grep -r -a -l -F -f "$VF_TMP/needles" "$VAULT" "$KS" 2>/dev/null || true)
	if [ -n "$hits" ]; then
		for h in $hits; do
			echo "in $h:" >&2
			grep -a -o -F -f "$VF_TMP/needles" "$h" | sort -u | awk 'n++ < 5' >&2
		done
		fail "plain text of the copied data found in the vault ($where)"
	fi
	hits=$(grep -r -a -l -i -F "$tag" "$VAULT" "$KS" 2>/dev/null || true)
	[ -z "$hits" ] || fail "the random tag found (case-insensitive) in $hits ($where)"
	log "no plain text found in $(find "$VAULT" -type f | wc -l) vault files ($where)"
}

sync -f "$MNT"
search "mounted"
vf_umount
search "after unmount"

CAT=$VAULT/catalog.db
[ -f "$CAT" ] || fail "no catalog at $CAT (docs/design.md: vault.hdr, catalog.db, packs/)"
! head -c 16 "$CAT" | grep -qaF 'SQLite format 3' || fail "the catalog is a plain SQLite file"
if strings -n 6 "$CAT" | grep -F -i -e "$tag" -e secret -e include -e /usr -e linux -e CREATE -e TABLE -e INSERT >"$VF_TMP/strings"; then
	awk 'n++ < 10' "$VF_TMP/strings" >&2
	fail "strings in the catalog show paths or schema"
fi
for f in "$VAULT"/*; do
	[ -f "$f" ] || continue
	! head -c 16 "$f" | grep -qaF 'SQLite format 3' || fail "$f is a plain SQLite file"
done
# No file in the vault directory is named after the data.
if find "$VAULT" "$KS" | grep -F -f "$VF_TMP/needles"; then
	fail "vault file names reveal copied names"
fi
