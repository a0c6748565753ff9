#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The device half of restock-sim's config: every error of a bad file, in
# position order, as file:line:column: key.path: message (exit 2); --check
# on a good file names its devices and consumables (exit 0) and opens no port.
# usage: test_sim_config.sh PATH/TO/restock-sim FIXTURE_DIR
set -u
SIM=$1
FIX=$2
. "$(dirname "$0")/testcheck.sh"

cd "$FIX" || exit 1
"$SIM" --config bad-devices.yaml >"$T/out" 2>"$T/err"
rc=$?
check "bad-devices: exit $rc, expected 2" test "$rc" = 2
check "bad-devices: stderr differs from bad-devices.expected" diff -u bad-devices.expected "$T/err"

cd "$T" || exit 1
cat >good.yaml <<'YAML'
devices:
  - id: press-01
    transport: {type: modbus-tcp, port: 1}
    points:
      - {id: dp, register: holding, address: 100, scale: 0.01}
      - {id: btn, register: coil, address: 0}
    consumables:
      - {id: filter, point: dp, sku: HF-1, profile: {kind: clogging, full: 0.2, empty: 3.5, life: 10d}}
    buttons:
      - {point: btn, every: 3d, hold: 2h}
  - id: press-02
    transport: {type: modbus-tcp, port: 1, unit_id: 2}
    points: [{id: dp, register: holding, address: 100}]
YAML
"$SIM" --config good.yaml --check >"$T/out" 2>"$T/err"
rc=$?
check "check: exit $rc, expected 0" test "$rc" = 0
check "check: names its devices" has "$T/out" 'OK: no shop, 2 devices, 1 consumables'

# two devices with one unit id on one port; one CoAP port twice
cat >clash.yaml <<'YAML'
devices:
  - {id: a, transport: {type: modbus-tcp, port: 1502}, points: [{id: x, register: coil, address: 0}]}
  - {id: b, transport: {type: modbus-tcp, port: 1502}, points: [{id: x, register: coil, address: 0}]}
  - {id: c, transport: {type: coap, port: 5683}, points: [{id: x, path: /x}]}
  - {id: d, transport: {type: coap, port: 5683}, points: [{id: x, path: /x}]}
YAML
cat >clash.expected <<'EOF2'
clash.yaml:3:24: devices[1]: unit id 1 on port 1502 is already device 'a' (several devices on one port need distinct unit ids)
clash.yaml:5:24: devices[3]: CoAP port 5683 is already served by device 'c' (one device per CoAP port)
EOF2
"$SIM" --config clash.yaml --check >"$T/out" 2>"$T/err"
rc=$?
check "clash: exit $rc, expected 2" test "$rc" = 2
check "clash: stderr differs from clash.expected" diff -u clash.expected "$T/err"

# a port in use is named, exit 1
cat >busy.yaml <<'YAML'
devices:
  - {id: a, transport: {type: modbus-tcp, port: 0}, points: [{id: x, register: coil, address: 0}]}
YAML
"$SIM" --config busy.yaml >"$T/busy.out" 2>"$T/busy.err" &
pid=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'listening' "$T/busy.out"; do sleep 0.1; i=$((i + 1)); done
port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\) unit.*/\1/p' "$T/busy.out")
sed "s/port: 0/port: $port/" busy.yaml >busy2.yaml
"$SIM" --config busy2.yaml >"$T/out" 2>"$T/err"
rc=$?
kill "$pid"
wait "$pid"
check "port in use: exit $rc, expected 1" test "$rc" = 1
check "port in use: named" has "$T/err" "cannot listen on 127.0.0.1:$port (tcp): Address already in use"

check_end sim_config

