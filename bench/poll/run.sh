#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Polling benchmark (docs/BENCHMARKS.md, "Polling (bench/poll)").
#   bench/poll/run.sh BUILD_DIR [DEVICES] [SECONDS]
# 1. a many-port libmodbus server (one process, one thread) on 127.0.0.1
# 2. restock's polling path flat out (poll_interval 10ms) vs a raw libmodbus loop
# 3. the real restockd at poll_interval 1s: CPU % and RSS from /proc
set -eu
BUILD=${1:?usage: run.sh BUILD_DIR [DEVICES] [SECONDS]}
N=${2:-500}
SECS=${3:-10}
BASE=${BENCH_POLL_BASEPORT:-21000}
TMP=$(mktemp -d /tmp/restock-bench-poll-XXXXXX)
SRV_PID=""
D_PID=""
cleanup() {
  [ -n "$D_PID" ] && kill "$D_PID" 2>/dev/null || true
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

config() { # DIR INTERVAL
  mkdir -p "$1/devices.d"
  printf 'gateway: {id: bench}\nstorage: {path: %s/restock.db}\n' "$1" > "$1/restock.yaml"
  {
    echo "devices:"
    i=0
    while [ "$i" -lt "$N" ]; do
      echo "  - id: dev-$i"
      echo "    transport: {type: modbus-tcp, host: 127.0.0.1, port: $((BASE + i))}"
      echo "    poll_interval: $2"
      echo "    points:"
      p=0
      while [ "$p" -lt 10 ]; do
        echo "      - {id: p$p, register: holding, address: $p, type: uint16}"
        p=$((p + 1))
      done
      i=$((i + 1))
    done
  } > "$1/devices.d/bench.yaml"
}

"$BUILD/bench/poll/bench_poll_server" "$BASE" "$N" > "$TMP/srv.out" &
SRV_PID=$!
while ! grep -q ready "$TMP/srv.out" 2>/dev/null; do sleep 0.1; done

config "$TMP/flat" 10ms
echo "devices: $N x 10 points, $SECS s each"
R=$("$BUILD/bench/poll/bench_poll" flat "$TMP/flat" "$SECS")
echo "$R"
B=$("$BUILD/bench/poll/bench_poll" raw "$BASE" "$N" "$SECS")
echo "$B"
echo "$R $B" | awk '{printf "ratio restock/raw polls/s: %.2f\n", $3 / $14}'

config "$TMP/daemon" 1s
"$BUILD/restockd" --config "$TMP/daemon" --log-level error &
D_PID=$!
sleep 5
HZ=$(getconf CLK_TCK)
t0=$(awk '{print $14 + $15}' "/proc/$D_PID/stat")
sleep "$SECS"
t1=$(awk '{print $14 + $15}' "/proc/$D_PID/stat")
RSS=$(awk '/VmRSS/ {print $2}' "/proc/$D_PID/status")
THR=$(awk '/Threads/ {print $2}' "/proc/$D_PID/status")
echo "restockd poll_interval 1s: cpu% $(echo "$t0 $t1 $HZ $SECS" | awk '{printf "%.1f", 100 * ($2 - $1) / $3 / $4}') rss_kb $RSS threads $THR"
kill -TERM "$D_PID"
wait "$D_PID" || true
D_PID=""
