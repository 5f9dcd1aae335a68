#!/usr/bin/env bash
# demo.sh - build vaultfs and mount a demo vault, on a fresh Debian 12.
#
#   ./demo.sh (as root)         install missing packages, build, create the
#                               demo vault (or reuse it), mount it, leave it
#                               mounted
#   ./demo.sh --deps-only       only install the missing build and test
#                               packages (what `make check` needs)
#
# The demo vault lives in /var/lib/vaultfs/demo with its key in the default
# keystore /etc/vaultfs/keys (platform-managed key), and is mounted on
# /mnt/vaultfs-demo.
set -euo pipefail

cd "$(dirname "$0")"
VAULT=/var/lib/vaultfs/demo
MNT=/mnt/vaultfs-demo
# Build: compiler, pkg-config and the six libraries.  Run and test: FUSE,
# rsync, attr (setfattr/getfattr), faketime, python3, binutils (strings),
# openssl and curl (the S3 test cluster's certificate and readiness probe).
PACKAGES=(build-essential pkg-config libfuse3-dev fuse3 libsodium-dev libsqlite3-dev
	libzstd-dev libxxhash-dev libjson-c-dev libcurl4-openssl-dev rsync attr acl
	faketime python3 binutils openssl curl)
# The single-node Ceph cluster with radosgw that tests/ceph/cluster.sh
# brings up for the S3 tests; without Recommends (no mgr, mds, fuse).
CEPH_PACKAGES=(ceph-mon ceph-osd ceph-common radosgw)
# The monitoring test (0047): promtool (in Debian's prometheus) checks the
# metrics format; headless Chromium draws the HTML report.  Without
# Recommends: about 30 s to install both here.
MON_PACKAGES=(prometheus chromium)
# The Debian package (0057): dpkg-buildpackage, debhelper, lintian; bash
# completion's helpers and systemd-analyze for the units.  Without
# Recommends.
PKG_PACKAGES=(dpkg-dev debhelper lintian bash-completion systemd)

die() {
	echo "demo.sh: $*" >&2
	exit 1
}

deps_only=0
case ${1:-} in
"") ;;
--deps-only) deps_only=1 ;;
-h | --help)
	sed -n '2,13s/^# \{0,1\}//p' "$0"
	exit 0
	;;
*) die "unknown option '$1' (try --help)" ;;
esac

root=()
if [ "$(id -u)" != 0 ]; then
	# --deps-only needs root only to install something; the demo always.
	[ "$deps_only" = 1 ] || die "run it as root: ./demo.sh"
	root=(sudo)
fi

# missing_of PKG...: the packages not installed yet, in $missing.
missing_of() {
	local p
	missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
}
updated=0
apt_install() {
	echo "installing: $*"
	if [ "$updated" = 0 ]; then
		"${root[@]}" apt-get update -qq
		updated=1
	fi
	"${root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
missing_of "${PACKAGES[@]}"
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
missing_of "${CEPH_PACKAGES[@]}"
[ ${#missing[@]} -eq 0 ] || apt_install --no-install-recommends "${missing[@]}"
missing_of "${MON_PACKAGES[@]}"
[ ${#missing[@]} -eq 0 ] || apt_install --no-install-recommends "${missing[@]}"
missing_of "${PKG_PACKAGES[@]}"
[ ${#missing[@]} -eq 0 ] || apt_install --no-install-recommends "${missing[@]}"
[ "$deps_only" = 0 ] || exit 0

make -s -j"$(nproc)"

if [ -e "$VAULT/vault.hdr" ]; then
	echo "reusing the demo vault in $VAULT"
else
	mkdir -p "$(dirname "$VAULT")"
	build/vaultctl init "$VAULT"
fi

mkdir -p "$MNT"
if mountpoint -q "$MNT"; then
	echo "$MNT is already mounted"
else
	if awk -v d="$MNT" '$5 == d { f = 1 } END { exit !f }' /proc/self/mountinfo; then
		echo "detaching the stale mount on $MNT (its daemon is gone)"
		fusermount3 -u -z "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	build/mount.vaultfs "$VAULT" "$MNT"
fi

# Only root may use a vault until it grants a role (README.md, Roles): the user who
# ran sudo gets Contributor (create, write, delete into .softdeleted).
if [ -n "${SUDO_UID:-}" ] && [ "$SUDO_UID" != 0 ]; then
	build/vaultctl role grant "$MNT" contributor "user:$SUDO_UID" >/dev/null ||
		echo "demo.sh: could not grant uid $SUDO_UID a role (see above)" >&2
fi

cat <<EOT

vaultfs demo vault $VAULT is mounted on $MNT
(key in the root-only keystore /etc/vaultfs/keys).

  copy files in:   cp -a ~/Documents $MNT/
  look:            ls -la $MNT; df -h $MNT
  history:         ls $MNT/.snapshots; ls $MNT/.versions/<file>
  deleted files:   ls $MNT/.softdeleted; build/vaultctl softdelete list $MNT
  roles:           build/vaultctl role list $MNT
  status:          build/vaultctl status $MNT
  verify:          build/vaultctl check $MNT --read-data
  unmount:         umount $MNT (as root)
  mount again:     ./demo.sh (as root)
EOT
