#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# scripts/version.sh is where the version is read: it prints CMakeLists.txt's
# project(VERSION) (the one the build gives the programs, EXPECTED), refuses a
# changelog whose newest entry names another (exit 1, both named) and a
# CMakeLists.txt without one; and no other script parses CMakeLists.txt's
# version or the changelog's on its own (build-deb.sh and check_pkg_docs.sh
# did, each its own way).
#   check_version.sh SOURCE_DIR EXPECTED
set -u
SRC=$1
EXP=$2
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/restock-version.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
out=$(sh "$SRC/scripts/version.sh" "$SRC")
rc=$?
if [ "$rc" != 0 ] || [ "$out" != "$EXP" ]; then
  echo "version.sh on the tree: '$out' (exit $rc), expected '$EXP' (exit 0)"
  fail=1
fi
# a copy whose changelog names another version
mkdir -p "$tmp/packaging/debian"
cp "$SRC/CMakeLists.txt" "$tmp/"
sed '1s/^restockd ([^)]*)/restockd (9.9.9)/' "$SRC/packaging/debian/changelog" \
  >"$tmp/packaging/debian/changelog"
out=$(sh "$SRC/scripts/version.sh" "$tmp" 2>"$tmp/err")
rc=$?
if [ "$rc" != 1 ] || ! grep -q "'$EXP'.*'9.9.9'" "$tmp/err"; then
  echo "version.sh with a changelog naming 9.9.9: exit $rc, said '$(cat "$tmp/err")'"
  fail=1
fi
# a CMakeLists.txt without a version
echo 'project(restock LANGUAGES C)' >"$tmp/CMakeLists.txt"
out=$(sh "$SRC/scripts/version.sh" "$tmp" 2>"$tmp/err")
rc=$?
if [ "$rc" != 1 ] || [ -n "$out" ] || ! grep -q 'no project(restock VERSION' "$tmp/err"; then
  echo "version.sh without a project VERSION: exit $rc, printed '$out', said '$(cat "$tmp/err")'"
  fail=1
fi
# parsed in one place only
for f in "$SRC"/scripts/*.sh "$SRC"/tests/*.sh; do
  case "$f" in */scripts/version.sh | */tests/check_version.sh) continue ;; esac
  if grep -q 'project(restock VERSION' "$f" || grep -q "restockd (\\\\(" "$f"; then
    echo "$(basename "$f") parses the version itself: use scripts/version.sh"
    fail=1
  fi
done
[ "$fail" = 0 ] && echo "pkg_version_script: scripts/version.sh reads version $EXP; no other script parses it"
exit "$fail"
