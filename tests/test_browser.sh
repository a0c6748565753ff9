#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A real-browser test (ctest approve_browser, dashboard_browser): installs
# what it needs when missing (Debian's chromium and nodejs/npm with apt-get as
# root; playwright-core and axe-core, pinned in tests/browser/package-lock.json,
# into tests/browser/node_modules with npm ci, which never downloads a
# browser), then runs tests/browser/SCRIPT with ARGS (the browser steps both
# scripts share are in tests/browser/common.mjs).
#
#   test_browser.sh NAME SCRIPT [ARGS...]
#     approve_browser approve.mjs TEST_APPROVE_BINARY OUTDIR MIME_CHECK_SCRIPT
#     dashboard_browser dashboard.mjs DASH_PLANT_BINARY OUTDIR
#
# Exit 77 (skipped) when RESTOCK_SKIP_BROWSER is set, or when something is
# missing and this is not root.
set -eu
name=$1
script=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
t0=$(date +%s)

if [ -n "${RESTOCK_SKIP_BROWSER:-}" ]; then
  echo "$name: skipped (RESTOCK_SKIP_BROWSER is set)"
  exit 77
fi

need=""
[ -x /usr/bin/chromium ] || need="$need chromium"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
if [ -n "$need" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "$name: skipped (missing:$need; install them or run as root)"
    exit 77
  fi
  echo "$name: installing$need from Debian"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need ||
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need; }
fi

if [ ! -f "$here/browser/node_modules/playwright-core/package.json" ] ||
   [ ! -f "$here/browser/node_modules/axe-core/axe.min.js" ]; then
  echo "$name: npm ci in $here/browser"
  (cd "$here/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund)
fi

PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 node "$here/browser/$script" "$@"
echo "$name: $(($(date +%s) - t0)) s in all"
