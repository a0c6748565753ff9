#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Print the Debian mirror this machine's apt already uses (the first URIs: of
# a deb822 .sources file, else the first `deb` line of sources.list), so that
# debootstrap fetches from the same place apt-get does. Exit 1 if none.
set -euo pipefail
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  uri=$(awk 'tolower($1) == "uris:" { print $2; exit }' "$f")
  case "$uri" in
    http://*/debian|https://*/debian|http://*/debian/|https://*/debian/) echo "${uri%/}"; exit 0 ;;
  esac
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  uri=$(awk '$1 == "deb" { for(i = 2; i <= NF; i++) if($i ~ /^https?:\/\//) { print $i; exit } }' "$f")
  case "$uri" in
    http*/debian|http*/debian/) echo "${uri%/}"; exit 0 ;;
  esac
done
echo "apt-mirror: no Debian mirror found in /etc/apt (set MIRROR=URL)" >&2
exit 1
