#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# How long restockd takes to stop on SIGTERM (docs/BENCHMARKS.md, "Stopping";
# docs/operations.md says within 3 s whatever the peers do).
#   bench/stop/run.sh BUILD_DIR [RUNS] [DEVICES]     (default: 5 runs, 500 devices)
# Seconds from SIGTERM to the exit, RUNS times each, median and largest of:
#   idle       restockd with no device, shop or mail (the baseline);
#   devices    DEVICES Modbus TCP devices x 10 points x 10 consumables polled
#              flat out (bench/poll's server and config), warm: the stop saves
#              every changed predictor state;
#   in-flight  tests/test_nonblocking.py's case sigterm: an order POST and an
#              approval mail on the wire to peers that never answer, a device
#              polled every 200 ms (that test checks the exit code and the
#              database; this script only reads the time it prints).
# Needs BUILD_DIR built with its tests (ctl_seed) and bench/poll.
set -eu
BUILD=${1:?usage: run.sh BUILD_DIR [RUNS] [DEVICES]}
RUNS=${2:-5}
N=${3:-500}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
. "$HERE/../poll/common.sh"
bench_init /tmp/restock-bench-stop-XXXXXX

# stop_time: SIGTERM restockd ($D_PID) and print the seconds until it exited
stop_time() {
  t0=$(date +%s.%N)
  kill -TERM "$D_PID"
  rc=0
  wait "$D_PID" || rc=$?
  t1=$(date +%s.%N)
  D_PID=""
  [ "$rc" -eq 0 ] || { echo "restockd exited $rc" >&2; exit 1; }
  echo "$t0 $t1" | awk '{printf "%.3f\n", $2 - $1}'
}

# summary NAME: median and largest of the times in $TMP/NAME
summary() {
  sort -n "$TMP/$1" | awk -v name="$1" '{t[NR] = $1} END {
    printf "%-10s runs %d median %.3f s max %.3f s\n", name, NR,
           NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2, t[NR]}'
}

: > "$TMP/idle"
: > "$TMP/devices"
: > "$TMP/in-flight"
i=0
while [ "$i" -lt "$RUNS" ]; do
  rm -rf "$TMP/idle.d" && bench_config "$TMP/idle.d" 1s "full: 0, empty: 65535"
  "$BUILD/restockd" --config "$TMP/idle.d" --log-level error > "$TMP/d.log" 2>&1 &
  D_PID=$!
  until curl -sf "http://$HTTP/healthz" > /dev/null; do
    kill -0 "$D_PID" 2>/dev/null || { echo "restockd died:" >&2; cat "$TMP/d.log" >&2; exit 1; }
    sleep 0.1
  done
  stop_time >> "$TMP/idle"
  i=$((i + 1))
done
echo "$(summary idle)"

bench_server "$N"
i=0
while [ "$i" -lt "$RUNS" ]; do
  rm -rf "$TMP/dev.d" && bench_config "$TMP/dev.d" 0ms "full: 0, empty: 65535"
  bench_daemon "$BUILD/restockd" "$TMP/dev.d"
  stop_time >> "$TMP/devices"
  i=$((i + 1))
done
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=""
echo "$(summary devices) ($N devices, $((N * 10)) consumables, flat out)"

i=0
while [ "$i" -lt "$RUNS" ]; do
  /usr/bin/python3 "$SRC/tests/test_nonblocking.py" sigterm "$BUILD/restockd" \
    "$BUILD/restockctl" "$BUILD/tests/ctl_seed" "$SRC/tests/peers" > "$TMP/nb.out" 2>&1 ||
    { echo "test_nonblocking.py sigterm failed:" >&2; cat "$TMP/nb.out" >&2; exit 1; }
  awk '/^stop: / {print $2}' "$TMP/nb.out" >> "$TMP/in-flight"
  i=$((i + 1))
done
echo "$(summary in-flight) (an order POST and a mail on the wire, peers that never answer)"
