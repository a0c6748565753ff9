#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the restockd Debian package: copy the working tree (without build
# dirs, out/ and .git) to a scratch dir, put packaging/debian there as
# debian/, and run `dpkg-buildpackage -us -uc -b`. The .deb, .changes and
# .buildinfo land in out/deb/ (or out/deb-ARCH/ for a cross build).
#
# Usage: scripts/build-deb.sh [--nocheck] [--arch ARCH]
#   --nocheck    do not run the test suite (sets DEB_BUILD_OPTIONS=nocheck
#                and the nocheck build profile)
#   --arch ARCH  cross-build for ARCH (e.g. arm64); implies --nocheck and the
#                cross profile. Needs `dpkg --add-architecture ARCH` and the
#                ARCH -dev packages (docs/cross-build.md)
# Environment:
#   KEEP=1       keep the scratch dir (its path is printed)
#   JOBS         parallel jobs (default: nproc)
# Installs what it needs (debhelper, dpkg-dev, the Build-Depends) with
# apt-get, only what is missing. Run as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

nocheck=0
arch=""
while [ $# -gt 0 ]; do
  case "$1" in
    --nocheck) nocheck=1 ;;
    --arch) arch=${2:?--arch needs an architecture}; shift ;;
    *) echo "usage: $0 [--nocheck] [--arch ARCH]" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$arch" ] && nocheck=1

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "build-deb: run as root" >&2; exit 1; }
  sudo=sudo
fi

need_pkgs() { # package... : install those not installed
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "build-deb: installing ${missing[*]}"
    $sudo apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

start=$(date +%s)
need_pkgs build-essential dpkg-dev debhelper fakeroot

scratch=$(mktemp -d "${TMPDIR:-/tmp}/restock-deb.XXXXXX")
if [ "${KEEP:-0}" != 1 ]; then
  trap 'rm -rf "$scratch"' EXIT
fi
# The version is CMakeLists.txt's project(VERSION); packaging/debian/changelog's
# newest entry must name the same one (scripts/version.sh reads and checks both,
# for tests/check_pkg_docs.sh too).
if ! version=$(sh "$root/scripts/version.sh" "$root"); then
  echo "build-deb: no package of an unclear version (see above)" >&2
  exit 1
fi
src=$scratch/restockd-$version
mkdir -p "$src"
# The working tree as it is (uncommitted files included), minus build output.
tar -C "$root" --exclude='./build*' --exclude=./out --exclude=./.git \
    --exclude=./debian --exclude='./tests/fuzz/corpus-*' --exclude='./tests/fuzz/crash-*' \
    --exclude=./node_modules -cf - . | tar -C "$src" -xf -
cp -a "$root/packaging/debian" "$src/debian"

profiles=()
opts="${DEB_BUILD_OPTIONS:-}"
opts="$opts parallel=${JOBS:-$(nproc)}"
if [ "$nocheck" = 1 ]; then
  opts="$opts nocheck"
  profiles+=(nocheck)
fi
archargs=()
if [ -n "$arch" ]; then
  profiles+=(cross)
  archargs=(-a "$arch")
  need_pkgs "crossbuild-essential-$arch"
fi
profile_csv=$(IFS=,; echo "${profiles[*]:-}")

# Build-Depends: install only if dpkg-checkbuilddeps finds something missing.
cd "$src"
cbd_args=()
[ -n "$profile_csv" ] && cbd_args+=(-P "$profile_csv")
[ -n "$arch" ] && cbd_args+=(-a "$arch")
if ! dpkg-checkbuilddeps "${cbd_args[@]}" >/dev/null 2>&1; then
  echo "build-deb: installing Build-Depends"
  bd_args=()
  [ -n "$profile_csv" ] && bd_args+=(--build-profiles "$profile_csv")
  [ -n "$arch" ] && bd_args+=(--host-architecture "$arch")
  $sudo apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q --no-install-recommends \
    "${bd_args[@]}" "$src"
fi

bp_args=(-us -uc -b "${archargs[@]}")
[ -n "$profile_csv" ] && bp_args+=("-P$profile_csv")
echo "build-deb: dpkg-buildpackage ${bp_args[*]} (DEB_BUILD_OPTIONS=${opts# })"
DEB_BUILD_OPTIONS="${opts# }" dpkg-buildpackage "${bp_args[@]}"

outdir=$root/out/deb${arch:+-$arch}
mkdir -p "$outdir"
rm -f "$outdir"/*.deb "$outdir"/*.ddeb "$outdir"/*.changes "$outdir"/*.buildinfo
cp "$scratch"/*.deb "$scratch"/*.changes "$scratch"/*.buildinfo "$outdir"/
cp "$scratch"/*.ddeb "$outdir"/ 2>/dev/null || true
[ "${KEEP:-0}" = 1 ] && echo "build-deb: scratch kept in $scratch"
echo "build-deb: done in $(($(date +%s) - start)) s:"
ls -l "$outdir"
