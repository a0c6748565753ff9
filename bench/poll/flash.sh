#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Flash wear (docs/BENCHMARKS.md, "Bytes written per consumable per day").
#   bench/poll/flash.sh BUILD_DIR [DEVICES] [SCALE] [DAYS]      (default 50 720 1)
# restockd with DEVICES Modbus TCP devices x 10 points x 10 consumables on a
# clock SCALE times faster than real time (--time-scale), polling every 60 s
# of simulated time, with the default deadband (0.5 %) and heartbeat (1 h).
# The server's levels fall from 1000 to 0 per mille over 30 simulated days,
# each register with its own phase and a little noise, then start again (a
# replacement). After one simulated hour of warm-up, the bytes restockd
# makes the kernel write (/proc/PID/io write_bytes: the database, its WAL,
# the log) are counted over DAYS simulated days.
set -eu
BUILD=${1:?usage: flash.sh BUILD_DIR [DEVICES] [SCALE] [DAYS]}
N=${2:-50}
SCALE=${3:-720}
DAYS=${4:-1}
TMP=$(mktemp -d /var/tmp/restock-bench-flash-XXXXXX) # on disk: tmpfs writes nothing
SRV_PID=""
D_PID=""
cleanup() {
  [ -n "$D_PID" ] && kill "$D_PID" 2>/dev/null || true
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

LEVEL_DAYS=$(echo "$SCALE" | awk '{print 30 / $1}')
"$BUILD/bench/poll/bench_poll_server" "$N" --level-days "$LEVEL_DAYS" > "$TMP/srv.out" &
SRV_PID=$!
while ! grep -q ready "$TMP/srv.out" 2>/dev/null; do sleep 0.1; done
head -n 1 "$TMP/srv.out" > "$TMP/ports"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

mkdir -p "$TMP/cfg/devices.d"
cat > "$TMP/cfg/restock.yaml" <<EOF
gateway: {id: bench}
storage: {path: $TMP/restock.db}
http: {listen: "127.0.0.1:$PORT"}
orders: {currency: EUR}
suppliers:
  - {id: acme, name: "ACME"}
catalog:
  - {sku: PART-1, supplier: acme, unit_price: "1.00", currency: EUR, pack_size: 1, lead_time: 5d}
EOF
awk '
  NR == 1 {
    print "devices:"
    for(i = 2; i <= NF; i++) {
      printf "  - id: dev-%d\n    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d}\n", i - 2, $i
      printf "    poll_interval: 60s\n    points:\n"
      for(p = 0; p < 10; p++)
        printf "      - {id: p%d, register: holding, address: %d, type: uint16}\n", p, p
      print "    consumables:"
      for(p = 0; p < 10; p++)
        printf "      - {id: c%d, sku: PART-1, spares: 5, level: {point: p%d, full: 1000, empty: 0}}\n", p, p
    }
  }' "$TMP/ports" > "$TMP/cfg/devices.d/bench.yaml"

"$BUILD/restockd" --config "$TMP/cfg" --time-scale "$SCALE" --log-level notice \
  > "$TMP/d.log" 2>&1 &
D_PID=$!
sleep "$(echo "$SCALE" | awk '{print 3600 / $1 + 2}')"
w0=$(awk '/^write_bytes/ {print $2}' "/proc/$D_PID/io")
SECS=$(echo "$SCALE $DAYS" | awk '{print 86400 * $2 / $1}')
sleep "$SECS"
w1=$(awk '/^write_bytes/ {print $2}' "/proc/$D_PID/io")
STORED=$(/usr/bin/python3 -c "
import urllib.request
for l in urllib.request.urlopen('http://127.0.0.1:$PORT/metrics').read().decode().splitlines():
    if l.startswith('restock_readings_stored_total') or l.startswith('restock_readings_total'):
        print(l)")
CONS=$((N * 10))
echo "devices $N consumables $CONS scale $SCALE simulated_days $DAYS real_s $SECS"
echo "$STORED"
echo "write_bytes $((w1 - w0)) per_consumable_per_day $(echo "$w0 $w1 $CONS $DAYS" | awk '{printf "%.0f", ($2 - $1) / $3 / $4}')"
ls -la "$TMP" | grep restock.db
