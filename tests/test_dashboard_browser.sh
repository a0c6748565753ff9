#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The dashboard at plant scale in a real browser (ctest dashboard_browser):
# installs what it needs when missing, like test_approve_browser.sh
# (Debian's chromium and nodejs/npm with apt-get as root; playwright-core and
# axe-core, pinned in tests/browser/package-lock.json, with npm ci, which
# never downloads a browser), then runs tests/browser/dashboard.mjs on
# dash_plant's 1,000 consumables.
#
#   test_dashboard_browser.sh DASH_PLANT_BINARY OUTDIR
#
# Exit 77 (skipped) when RESTOCK_SKIP_BROWSER is set, or when something is
# missing and this is not root. OUTDIR gets the screenshots and figures.json
# (page weight, time to first byte, render times).
set -eu
bin=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
t0=$(date +%s)

if [ -n "${RESTOCK_SKIP_BROWSER:-}" ]; then
  echo "dashboard_browser: skipped (RESTOCK_SKIP_BROWSER is set)"
  exit 77
fi

need=""
[ -x /usr/bin/chromium ] || need="$need chromium"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
if [ -n "$need" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "dashboard_browser: skipped (missing:$need; install them or run as root)"
    exit 77
  fi
  echo "dashboard_browser: installing$need from Debian"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need ||
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need; }
fi

if [ ! -f "$here/browser/node_modules/playwright-core/package.json" ] ||
   [ ! -f "$here/browser/node_modules/axe-core/axe.min.js" ]; then
  echo "dashboard_browser: npm ci in $here/browser"
  (cd "$here/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund)
fi

PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 node "$here/browser/dashboard.mjs" "$bin" "$out"
echo "dashboard_browser: $(($(date +%s) - t0)) s in all"
