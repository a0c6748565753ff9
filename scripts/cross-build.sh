#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-build the Debian packages for another architecture (default arm64)
# in a throwaway bookworm root, so that the host gets no foreign
# architecture and no :ARCH packages. Inside the root: dpkg
# --add-architecture ARCH, then scripts/build-deb.sh --arch ARCH (which
# installs crossbuild-essential-ARCH and the :ARCH Build-Depends and runs
# dpkg-buildpackage -a ARCH -Pcross,nocheck), then a smoke test of the
# foreign binaries under qemu-user: `restockd --check` on the shipped config
# and on config/examples. Output: out/deb-ARCH/. See docs/cross-build.md.
#
# Usage: scripts/cross-build.sh [ARCH]
# Environment: MIRROR (default: the mirror apt uses, scripts/apt-mirror.sh), KEEP=1
# Needs root and network to the mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/root-common.sh
src=$PWD
arch=${1:-arm64}
case "$arch" in
  arm64) qemu=qemu-aarch64 ;;
  armhf) qemu=qemu-arm ;;
  riscv64) qemu=qemu-riscv64 ;;
  *) qemu="" ;;
esac
root_init cross-build
root_need debootstrap
root_workdir
root_debootstrap "$work/root"
mkdir -p "$work/root/src"
tar -C "$src" --exclude='./build*' --exclude=./out --exclude=./.git --exclude=./debian \
    --exclude=./node_modules -cf - . | tar -C "$work/root/src" -xf -

cat >"$work/inside.sh" <<'INSIDE'
set -euo pipefail
. "$1"
root=$2 arch=$3 qemu=$4
root_mounts "$root"
root_chroot "$root" ARCH="$arch" QEMU="$qemu" bash -euo pipefail -c '
t0=$(date +%s)
dpkg --add-architecture "$ARCH"
apt-get update -q >/dev/null
cd /src
bash scripts/build-deb.sh --arch "$ARCH"
echo "cross-build: build $(( $(date +%s) - t0 )) s"
if [ -n "$QEMU" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-user file >/dev/null
  x=$(mktemp -d)
  dpkg-deb -x out/deb-"$ARCH"/restockd_*_"$ARCH".deb "$x"
  file "$x/usr/sbin/restockd"
  out=$("$QEMU" -L / "$x/usr/sbin/restockd" --check --config "$x/etc/restock")
  echo "$out"
  [ "$out" = "OK: 0 devices, 0 points, 0 consumables, 0 rules" ]
  "$QEMU" -L / "$x/usr/bin/restockctl" --config /src/config/examples check
  echo "cross-build: $ARCH binaries run under $QEMU"
fi
'
INSIDE
rc=0
unshare --mount --fork bash "$work/inside.sh" "$root_common" "$work/root" "$arch" "$qemu" || rc=$?
if [ "$rc" = 0 ]; then
  rm -rf "out/deb-$arch"
  mkdir -p out
  cp -r "$work/root/src/out/deb-$arch" out/
  ls -l "out/deb-$arch"
fi
root_verdict "$rc"
exit "$rc"
