#!/usr/bin/env bash
set -euo pipefail
. "$(dirname "$0")/../lib/integration.sh"
make_fixture_tree "$VF_TMP/fixture" acl
vf_init
vf_mount
"$VAULTCTL" backup "$VF_TMP/fixture" "$MNT/dest" || fail "backup rc $?"
same_tree "$VF_TMP/fixture" "$MNT/dest"
"$VAULTCTL" backup "$VF_TMP/fixture" "$MNT/dest"
vf_umount
