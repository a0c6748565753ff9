#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The documents the restockd package ships (packaging/debian/restockd.docs,
# into /usr/share/doc/restockd/) link only to documents it ships too, so no
# link is dead on an installed gateway. Contributors' documents (measurements,
# the code's layout, building) are named below and may stay out of the
# package; the simulator's are in restock-sim's. Also: docs/README.md, the
# index of docs/, lists every page there and no other; docs/HACKING.md's
# table of the tests has a row for every tests/*.cmake fragment; and the
# version is the same in CMakeLists.txt, the changelog and the man pages.
#   check_pkg_docs.sh SOURCE_DIR
set -u
SRC=$1
DEV="BENCHMARKS.md architecture.md HACKING.md cross-build.md simulator.md sandbox-shop.md"
shipped=$(sed -e "s#^docs/##" "$SRC/packaging/debian/restockd.docs" | tr "\n" " ")
fail=0
for doc in $(cat "$SRC/packaging/debian/restockd.docs"); do
  case "$doc" in *.md) ;; *) continue ;; esac
  # ](target) with a .md or .yaml target, without its #anchor; README.md links as docs/NAME
  for t in $(grep -o '](\([A-Za-z0-9_./-]*\)\.\(md\|yaml\)\(#[^)]*\)\?)' "$SRC/$doc" |
             sed -e 's/^](//' -e 's/[#)].*$//' -e 's#^docs/##' -e 's#^\./##' | sort -u); do
    case " $shipped $DEV README.md " in
      *" $t "*) ;;
      *) echo "$doc links to $t, which the package does not ship (add it to packaging/debian/restockd.docs)"
         fail=1 ;;
    esac
  done
done
[ "$fail" = 0 ] && echo "pkg_docs_links: every link of the shipped documents is shipped"
# docs/README.md, the index, names every page in docs/ ("one line each") and
# only pages that are there
idx="$SRC/docs/README.md"
for f in "$SRC"/docs/*.md "$SRC"/docs/*.yaml; do
  b=$(basename "$f")
  [ "$b" = README.md ] && continue
  if ! grep -q "](${b})" "$idx"; then
    echo "docs/README.md does not list docs/$b (one line each: add it to its table)"
    fail=1
  fi
done
for t in $(grep -o '](\([A-Za-z0-9_-]*\)\.\(md\|yaml\))' "$idx" | sed -e 's/^](//' -e 's/)$//'); do
  if [ ! -e "$SRC/docs/$t" ]; then
    echo "docs/README.md lists $t, which is not in docs/"
    fail=1
  fi
done
[ "$fail" = 0 ] && echo "pkg_docs_links: docs/README.md lists every page in docs/"
# docs/HACKING.md's table of the tests has a row for every tests/*.cmake fragment
for f in "$SRC"/tests/*.cmake; do
  b=$(basename "$f")
  if ! grep -q "^| \`$b\` |" "$SRC/docs/HACKING.md"; then
    echo "docs/HACKING.md's table of the tests has no row for tests/$b"
    fail=1
  fi
done
[ "$fail" = 0 ] && echo "pkg_docs_links: docs/HACKING.md has a row for every test fragment"
# One version everywhere: CMakeLists.txt's project(VERSION) (restockd
# --version, the status API), the newest packaging/debian/changelog entry (the
# package's version, so dpkg tells an upgrade from a downgrade) and the man
# pages' headers.
# scripts/version.sh reads both (build-deb.sh uses it too) and says what differs.
ver=$(sh "$SRC/scripts/version.sh" "$SRC") || fail=1
for m in "$SRC"/packaging/man/*.[0-9]; do
  if ! grep -q "^\.TH .* \"restock $ver\"" "$m"; then
    echo "$(basename "$m"): its .TH line does not name \"restock $ver\""
    fail=1
  fi
done
[ "$fail" = 0 ] && echo "pkg_docs_links: version $ver in CMakeLists.txt, the changelog and the man pages"
exit "$fail"
