#!/usr/bin/env bash
# 0023-trash-names: every deleted item is listed, in .softdeleted and by
# `softdelete list`, under a name of its own that reaches it.  A second
# deletion of a 250-byte name (name@<time> would pass 255 bytes), one at the
# end of a path near 4095 bytes, and the second deletion of doc next to a
# deleted file literally called doc@<time> (which used to shadow it) are all
# listed, with distinct names, and each reads back its own content.
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"

vf_init
vf_mount
# list_paths PREFIX: the paths softdelete list --json gives under PREFIX
list_paths() {
	"$VAULTCTL" softdelete list "$MNT" --json | "$PYTHON" -c '
import json, sys
for it in json.load(sys.stdin):
    if it["path"].startswith(sys.argv[1]):
        print(it["path"])' "$1"
}
# contents DIR: the sorted contents of the files in DIR (one line each)
contents() { (cd "$1" && for f in *; do cat -- "$f"; done) | sort | tr '\n' ' '; }

# ---- doc@<time> shadowing ---------------------------------------------------
mkdir "$MNT/s"
echo "doc one" >"$MNT/s/doc"
rm "$MNT/s/doc"
sleep 1.1
echo "doc two" >"$MNT/s/doc"
rm "$MNT/s/doc"
second=$(ls "$MNT/.softdeleted/s" | grep '^doc@')
[ -n "$second" ] || fail "no doc@<time> for the second deletion of doc"
echo "literal" >"$MNT/s/$second"
rm "$MNT/s/$second"
ls -A "$MNT/.softdeleted/s" >"$VF_TMP/names"
log "names in .softdeleted/s: $(tr '\n' ' ' <"$VF_TMP/names")"
assert_eq 3 "$(sort -u "$VF_TMP/names" | wc -l)" "distinct names in .softdeleted/s"
assert_eq "doc one doc two literal " "$(contents "$MNT/.softdeleted/s")" "contents of .softdeleted/s"
list_paths s/ >"$VF_TMP/paths"
assert_eq 3 "$(sort -u "$VF_TMP/paths" | wc -l)" "distinct items under s/ in softdelete list"
while IFS= read -r p; do cat "$MNT/.softdeleted/$p"; done <"$VF_TMP/paths" | sort >"$VF_TMP/got"
assert_eq "doc one
doc two
literal" "$(cat "$VF_TMP/got")" "contents reached by the listed paths"
# undelete of the second doc by its listed name brings back "doc two"
name2=$(cd "$MNT/.softdeleted/s" && grep -lx "doc two" -- * )
mv "$MNT/.softdeleted/s/$name2" "$MNT/s/doc2" || fail "undelete of $name2 failed"
assert_eq "doc two" "$(cat "$MNT/s/doc2")" "the undeleted second doc"

# ---- a 250-byte name deleted twice ------------------------------------------
L=$(printf 'n%.0s' $(seq 1 250))
mkdir "$MNT/l"
echo "long one" >"$MNT/l/$L"
rm "$MNT/l/$L"
echo "long two" >"$MNT/l/$L"
rm "$MNT/l/$L"
assert_eq 2 "$(ls -A "$MNT/.softdeleted/l" | wc -l)" "entries in .softdeleted/l"
assert_eq "long one long two " "$(contents "$MNT/.softdeleted/l")" "contents of .softdeleted/l"
assert_eq 2 "$(list_paths l/ | wc -l)" "items under l/ in softdelete list"
for n in $(ls -A "$MNT/.softdeleted/l"); do
	[ "${#n}" -le 255 ] || fail "a name of ${#n} bytes in .softdeleted/l"
done

# ---- a path of 4086 bytes, its file deleted twice ---------------------------
# 16 directories of 245 bytes and a 150-byte file name: 4086 bytes, and
# 4107 with @<time> after the second one.
C=$(printf 'c%.0s' $(seq 1 243))
F=$(printf 'f%.0s' $(seq 1 150))
comp() { printf '%s%02d' "$C" "$1"; }
(
	cd "$MNT"
	for i in $(seq 1 16); do mkdir "$(comp $i)" && cd "$(comp $i)"; done
	echo "deep one" >"$F"
	rm "$F"
	echo "deep two" >"$F"
	rm "$F"
) || fail "cannot build the deep path"
n=$(list_paths "$(comp 1)/" | grep -c "/$F" || true)
assert_eq 2 "$n" "items at the end of the deep path in softdelete list"
got=$(
	cd "$MNT/.softdeleted"
	for i in $(seq 1 16); do cd "$(comp $i)"; done
	ls -A | wc -l
	contents .
)
assert_eq "2
deep one deep two " "$got" "the deep container: its entries and their contents"
vf_umount
