#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# restock's version, read in one place: CMakeLists.txt's project(VERSION)
# (restockd --version, the status API, the man pages), which the newest
# packaging/debian/changelog entry must name too (the package's version, so
# dpkg tells an upgrade from a downgrade). scripts/build-deb.sh and
# tests/check_pkg_docs.sh (ctest pkg_docs_links) both use it.
#   scripts/version.sh [SOURCE_DIR]     (default: this script's tree)
# Prints CMakeLists.txt's version on stdout (when it has one) and exits 0
# when the changelog names the same; else says what differs on stderr and
# exits 1.
set -u
src=${1:-$(dirname "$0")/..}
ver=$(sed -n 's/^project(restock VERSION \([0-9][0-9.]*\)[ )].*/\1/p' "$src/CMakeLists.txt" 2>/dev/null)
chver=$(sed -n '1s/^restockd (\([^)]*\)).*/\1/p' "$src/packaging/debian/changelog" 2>/dev/null)
if [ -z "$ver" ]; then
  echo "version.sh: $src/CMakeLists.txt has no project(restock VERSION X.Y.Z ...) line" >&2
  exit 1
fi
echo "$ver"
if [ "$ver" != "$chver" ]; then
  echo "version.sh: CMakeLists.txt says version '$ver' but packaging/debian/changelog's newest entry is '$chver': add a changelog entry for the new version" >&2
  exit 1
fi
exit 0
