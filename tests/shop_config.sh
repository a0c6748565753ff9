#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# restock-sim's command line and config errors: every error of the file, in
# position order, as file:line:column: key.path: message; exit 2 on a bad
# config or usage, 0 for --check on a good one.
# usage: shop_config.sh PATH/TO/restock-sim
set -u
SIM=$1
T=$(mktemp -d /tmp/rs-shopcfg-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

check() { # name expected-exit expected-stderr-file -- args...
  name=$1 want=$2 exp=$3
  shift 4
  "$SIM" "$@" >"$T/out" 2>"$T/err"
  got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL $name: exit $got, expected $want"; cat "$T/err"; fails=$((fails + 1)); return
  fi
  if [ -n "$exp" ] && ! diff -u "$exp" "$T/err"; then
    echo "FAIL $name: stderr differs"; fails=$((fails + 1)); return
  fi
  echo "ok $name"
}

cd "$T" || exit 1

cat >bad.yaml <<'EOF'
shop:
  listen: 127.0.0.1:99999
  db: shop.db
  procesing_delay: 1s
  products:
    - {sku: FLT-100, unit_price: "42.505", currency: EUR}
    - {sku: FLT-100, unit_price: "1.00", currency: EUR, available: yes}
    - {sku: X, unit_price: "1", currency: eur, lead_time_days: "3"}
  pace: {ship_after: 1.5h}
  auth: {type: bearer, token_file: open.token}
  faults:
    error: {probability: 2, status: 200}
    rate_limit: {retry_after: 1500ms, form: date}
    drop: {requests: [orders_post, product]}
devices: []
EOF
printf 'tok\n' >open.token
chmod 0644 open.token
cat >bad.expected <<EOF
bad.yaml:2:11: shop.listen: port '99999' is out of range (expected 0 to 65535; 0 picks a free port)
bad.yaml:4:3: shop.procesing_delay: unknown key (did you mean 'processing_delay'?)
bad.yaml:6:34: shop.products[0].unit_price: '42.505' is not an amount in EUR: 3 decimals (expected at most 2)
bad.yaml:7:13: shop.products[1].sku: duplicate SKU 'FLT-100' (first defined at bad.yaml:6:13)
bad.yaml:7:68: shop.products[1].available: 'yes' is not a boolean (expected true or false; yes, no, on, off and capitalised forms are not accepted)
bad.yaml:8:43: shop.products[2].currency: 'eur' is not a known ISO 4217 currency (did you mean 'EUR'?)
bad.yaml:8:64: shop.products[2].lead_time_days: '3' is quoted (drop the quotes: numbers are written plain)
bad.yaml:9:22: shop.pace.ship_after: '1.5h' is not a duration: fractions are not allowed (write whole units like 1h30m)
bad.yaml:10:36: shop.auth.token_file: 'open.token' is world-readable (secrets must not be: chmod o-r it)
bad.yaml:12:26: shop.faults.error.probability: '2' is out of range (expected a probability from 0 to 1)
bad.yaml:12:37: shop.faults.error.status: '200' is out of range (expected 400 to 599)
bad.yaml:13:31: shop.faults.rate_limit.retry_after: '1500ms' is not whole seconds (Retry-After counts seconds)
bad.yaml:13:45: shop.faults.rate_limit.form: 'date' is not valid (expected one of: seconds, http-date)
bad.yaml:14:36: shop.faults.drop.requests[1]: 'product' is not valid (did you mean 'products'?)
EOF
check bad-config 2 bad.expected -- --config bad.yaml

printf 'shop:\n  db: a.db\n  db: b.db\n  products: []\n' >dup.yaml
printf 'dup.yaml:3:3: shop.db: duplicate key '"'"'db'"'"' (first defined at dup.yaml:2:3)\n' >dup.expected
check duplicate-key 2 dup.expected -- --config dup.yaml

printf 'shop: &a\n  db: x\n' >anchor.yaml
printf 'anchor.yaml:1:7: shop: anchor '"'"'&a'"'"' is not allowed (write the value out in full)\nanchor.yaml:1:7: shop.products: required key is missing\n' >anchor.expected
check anchor 2 anchor.expected -- --config anchor.yaml

printf 'shop:\n  db: x\n  products: [\n' >syntax.yaml
check syntax-error 2 "" -- --config syntax.yaml
grep -q '^syntax.yaml:[0-9]*:[0-9]*: YAML syntax error' "$T/err" || { echo "FAIL syntax message"; cat "$T/err"; fails=$((fails + 1)); }

printf 'missing.yaml: cannot read: No such file or directory\n' >missing.expected
check missing-file 2 missing.expected -- --config missing.yaml

printf 'shop:\n  db: x.db\n  products:\n    - {sku: A, unit_price: "1.00", currency: EUR}\n' >good.yaml
check check-ok 0 "" -- --config good.yaml --check
grep -qx 'OK: shop with 1 products' "$T/out" || { echo "FAIL check output"; cat "$T/out"; fails=$((fails + 1)); }
[ ! -e x.db ] || { echo "FAIL --check created the database"; fails=$((fails + 1)); }

printf 'devices: []\n' >devonly.yaml
check devices-only-check 0 "" -- --config devonly.yaml --check
check devices-only-run 1 "" -- --config devonly.yaml
grep -q 'nothing to run' "$T/err" || { echo "FAIL devices-only message"; cat "$T/err"; fails=$((fails + 1)); }

check bad-time-scale 2 "" -- --config good.yaml --time-scale fast
check no-config 2 "" --
check extra-arg 2 "" -- --config good.yaml extra

if [ "$fails" -ne 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "all ok"
