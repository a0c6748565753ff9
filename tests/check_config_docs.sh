#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The YAML examples of docs/configuration.md load as a user would copy them:
#   check_config_docs.sh RESTOCKD SOURCE_DIR
# - the restock.yaml sections (gateway, http, storage, commerce, mail, orders,
#   catalog, suppliers, calendar), put together into one restock.yaml with the secret
#   files they name made (0600), pass `restockd --check`;
# - each rules example passes in the example plant (config/examples) with no
#   warning but "matches no consumable" (an example is not a rule to warn on).
# The devices example (with its `[...]` placeholders) and the one-line
# fragments (transport, points, level, for ...) are not whole files.
set -u
RESTOCKD=$1
SRC=$2
. "$(dirname "$0")/testcheck.sh"

awk -v dir="$T" '
  /^```yaml/ { n++; f = sprintf("%s/block-%02d.yaml", dir, n); printf "" > f; inb = 1; next }
  /^```/ { inb = 0; next }
  inb { print > f }
' "$SRC/docs/configuration.md"

mkdir -p "$T/cfg/devices.d" "$T/cfg/rules.d"
nsec=0
nrules=0
for b in "$T"/block-*.yaml; do
  first=$(sed -n '1{s/:.*//;p;}' "$b")
  case "$first" in
  gateway|http|storage|commerce|mail|orders|catalog|suppliers|calendar)
    nsec=$((nsec + 1))
    # absolute /etc/restock/NAME secrets become files of this test's config dir
    sed -e "s#/etc/restock/#$T/cfg/#g" "$b" >> "$T/cfg/restock.yaml"
    ;;
  rules)
    nrules=$((nrules + 1))
    d="$b.d"
    cp -r "$SRC/config/examples" "$d"
    rm -f "$d"/rules.d/*.yaml
    cp "$b" "$d/rules.d/doc.yaml"
    "$RESTOCKD" --check --config "$d" > "$b.out" 2> "$b.err"
    rc=$?
    check "configuration.md $(basename "$b"): rules load in the example plant (exit $rc)" \
      test "$rc" -eq 0
    if grep -v 'matches no consumable' "$b.err" | grep -q .; then cat "$b.err"; fi
    check "configuration.md $(basename "$b"): no error and no warning but 'matches no consumable'" \
      sh -c "! grep -v 'matches no consumable' '$b.err' | grep -q ."
    ;;
  esac
done
for s in $(grep -o "$T/cfg/[A-Za-z0-9_.-]*" "$T/cfg/restock.yaml" | sort -u); do
  echo "secret" > "$s"
  chmod 0600 "$s"
done
"$RESTOCKD" --check --config "$T/cfg" > "$T/cfg.out" 2> "$T/cfg.err"
rc=$?
[ "$rc" -eq 0 ] || cat "$T/cfg.err"
check "configuration.md's restock.yaml sections ($nsec) together pass restockd --check (exit $rc)" \
  test "$rc" -eq 0
check "configuration.md shows all nine restock.yaml sections (found $nsec)" test "$nsec" -eq 9
check "configuration.md has rules examples (found $nrules)" test "$nrules" -ge 2

check_end config_docs_examples
