#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Check the built Debian packages (run scripts/build-deb.sh first):
#   1. lintian on out/deb/*.changes (all binary packages): fails on any
#      error, and on any warning whose tag is not in
#      packaging/lintian-allow.txt (each entry there must give a reason);
#   2. systemd-analyze security --offline=true on packaging/restockd.service:
#      fails if the exposure score is above 2.0.
# Usage: scripts/pkg-check.sh [DIR-WITH-.changes] (default out/deb)
# Installs lintian if it is missing (apt-get, as root or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-out/deb}
allow=packaging/lintian-allow.txt
unit=${PKG_CHECK_UNIT:-packaging/restockd.service}   # override: for testing this script
max_score=2.0
start=$(date +%s)
fail=0

if ! dpkg-query -W -f='${Status}' lintian 2>/dev/null | grep -q 'install ok installed'; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends lintian
fi

shopt -s nullglob
changes=("$dir"/*.changes)
if [ ${#changes[@]} -ne 1 ]; then
  echo "pkg-check: expected one .changes in $dir, found ${#changes[@]} (run scripts/build-deb.sh)" >&2
  exit 2
fi

# --- the allow-list: "TAG  # reason", reason required ---
declare -A allowed=()
declare -A seen=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  case "$line" in ''|'#'*) continue ;; esac
  tag=${line%%#*}
  tag=${tag//[[:space:]]/}
  reason=""
  [[ "$line" == *'#'* ]] && reason=${line#*#}
  reason=${reason#"${reason%%[![:space:]]*}"}
  if [ -z "$tag" ] || [ -z "$reason" ]; then
    echo "pkg-check: $allow:$lineno: expected 'TAG  # reason'" >&2
    fail=1
    continue
  fi
  allowed[$tag]=1
done <"$allow"

# --- lintian ---
echo "== lintian ${changes[0]}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# lintian exits non-zero on errors; we judge its output ourselves.
lintian --info --display-info --pedantic --display-experimental --tag-display-limit 0 \
  "${changes[0]}" >"$out" 2>&1 || true
errors=0 warnings=0 accepted=0 notes=0
while IFS= read -r line; do
  case "$line" in
    E:*)
      echo "$line"; errors=$((errors + 1)) ;;
    W:*)
      # "W: package: tag [context]"
      tag=$(echo "$line" | awk '{print $3}')
      if [ -n "${allowed[$tag]:-}" ]; then
        echo "$line   (allowed)"; accepted=$((accepted + 1)); seen[$tag]=1
      else
        echo "$line   (NOT in $allow)"; warnings=$((warnings + 1))
      fi ;;
    I:*|P:*|X:*|O:*)
      tag=$(echo "$line" | awk '{print $3}')
      [ -n "${allowed[$tag]:-}" ] && seen[$tag]=1
      echo "$line"; notes=$((notes + 1)) ;;
    N:*|'') ;;
    *) echo "lintian: $line" ;;
  esac
done <"$out"
for tag in "${!allowed[@]}"; do
  [ -n "${seen[$tag]:-}" ] || echo "note: allowed tag '$tag' did not occur (stale entry in $allow?)"
done
echo "lintian: $errors errors, $warnings warnings not allowed, $accepted allowed warnings, $notes info/pedantic"
if [ "$errors" -gt 0 ] || [ "$warnings" -gt 0 ]; then
  fail=1
fi

# --- systemd hardening score ---
echo "== systemd-analyze security --offline=true $unit"
sa=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || true
score=$(printf '%s\n' "$sa" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' | tail -n1)
if [ -z "$score" ]; then
  printf '%s\n' "$sa" | tail -n 20
  echo "pkg-check: no exposure score from systemd-analyze" >&2
  fail=1
else
  printf '%s\n' "$sa" | grep '✗' || true
  printf '%s\n' "$sa" | tail -n1
  if awk -v s="$score" -v m="$max_score" 'BEGIN { exit !(s > m) }'; then
    echo "pkg-check: exposure $score is above $max_score" >&2
    fail=1
  fi
fi

echo "pkg-check: $([ "$fail" = 0 ] && echo OK || echo FAILED) in $(($(date +%s) - start)) s"
exit "$fail"
