#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install what restock needs to build, test and run its demo on Debian 12.
# Idempotent: installs only the packages that are missing. Run as root or
# with sudo available. Usage: scripts/deps.sh [build|test|demo]
set -euo pipefail

what=${1:-test}

build_pkgs=(build-essential cmake pkg-config libmodbus-dev libcoap3-dev
  libcurl4-openssl-dev libyaml-dev libjansson-dev libmicrohttpd-dev libssl-dev
  libcmocka-dev libsqlite3-dev)
# Real peers the tests talk to, and clang for the libFuzzer targets.
test_pkgs=(libcoap3-bin socat python3 python3-pymodbus python3-serial-asyncio
  python3-aiosmtpd python3-yaml mbpoll clang libclang-rt-14-dev sqlite3 util-linux prometheus
  chromium nodejs npm)
demo_pkgs=(python3)

case "$what" in
  build) pkgs=("${build_pkgs[@]}") ;;
  test) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  demo) pkgs=("${build_pkgs[@]}" "${demo_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|demo]" >&2; exit 2 ;;
esac

# Packages that another install may already provide as a command (a Node.js
# from elsewhere ships its own npm, and Debian's npm would conflict with it).
provided_by_command() {
  case "$1" in
    nodejs) command -v node >/dev/null 2>&1 ;;
    npm) command -v npm >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' &&
     ! provided_by_command "$p"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=sudo
  else
    echo "deps: missing packages (${missing[*]}) and not root; run as root" >&2
    exit 1
  fi
fi

echo "deps: installing ${missing[*]}"
$sudo apt-get update -q
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
