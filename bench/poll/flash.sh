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
. "$(dirname "$0")/common.sh"
bench_init /var/tmp/restock-bench-flash-XXXXXX # on disk: tmpfs writes nothing

LEVEL_DAYS=$(echo "$SCALE" | awk '{print 30 / $1}')
bench_server "$N" --level-days "$LEVEL_DAYS"
bench_config "$TMP/cfg" 60s "full: 1000, empty: 0" "spares: 5, "

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
for l in urllib.request.urlopen('http://$HTTP/metrics').read().decode().splitlines():
    if l.startswith('restock_readings_stored_total') or l.startswith('restock_readings_total'):
        print(l)")
CONS=$((N * 10))
echo "devices $N consumables $CONS scale $SCALE simulated_days $DAYS real_s $SECS"
echo "$STORED"
echo "write_bytes $((w1 - w0)) per_consumable_per_day $(echo "$w0 $w1 $CONS $DAYS" | awk '{printf "%.0f", ($2 - $1) / $3 / $4}')"
ls -la "$TMP" | grep restock.db
