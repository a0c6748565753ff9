#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Polling benchmark (docs/BENCHMARKS.md, "Polling (bench/poll)").
#   bench/poll/run.sh BUILD_DIR [SECONDS] [DEVICE COUNTS...]    (default: 10 s; 50 500 2000)
# For each device count N, against one many-port libmodbus server (one
# process, one thread; ports chosen by the kernel) serving N devices with
# 10 holding registers each:
#   1. flat out: a raw libmodbus loop (one thread), the pipelined C poller,
#      and the whole restockd (N devices x 10 points x 10 consumables,
#      poll_interval 0ms: continuously, the store on disk): requests answered per second,
#      counted by the server for all three alike;
#   2. at poll_interval 1s: the CPU of the raw loop, the pipelined poller and
#      restockd (from /proc/PID/task/*/schedstat, ns), restockd's RSS and threads, and its
#      CPU per reading (the cost that must not grow with N).
# restockd is measured once warm: every device answered once (asked through
# /api/v1/devices), then 2 s; the warm-up time of the 1 s run is reported.
# Prints one line per measurement, then a summary table.
set -eu
BUILD=${1:?usage: run.sh BUILD_DIR [SECONDS] [DEVICE COUNTS...]}
SECS=${2:-10}
shift 2 2>/dev/null || shift $#
COUNTS=${*:-50 500 2000}
. "$(dirname "$0")/common.sh"
bench_init /tmp/restock-bench-poll-XXXXXX

# config DIR INTERVAL: restockd over the server's devices (sets HTTP)
config() { bench_config "$1" "$2" "full: 0, empty: 65535"; }

SUMMARY="$TMP/summary"
: > "$SUMMARY"
for N in $COUNTS; do
  bench_server "$N"
  echo "== $N devices, $((N * 10)) consumables, $SECS s per measurement"

  RAW=$("$BUILD/bench/poll/bench_poll" raw "$TMP/ports" "$SECS")
  echo "$RAW"
  PIPE=$("$BUILD/bench/poll/bench_poll" pipe "$TMP/ports" "$SECS")
  echo "$PIPE"

  rm -rf "$TMP/flat" && config "$TMP/flat" 0ms
  bench_daemon "$BUILD/restockd" "$TMP/flat"
  a=$(served); c0=$(cpu_ticks "$D_PID"); sleep "$SECS"; b=$(served); c1=$(cpu_ticks "$D_PID")
  DFLAT=$(echo "$a $b $SECS $c0 $c1 $HZ" | awk '{printf "%.0f %.1f", ($2 - $1) / $3, 100 * ($5 - $4) / $6 / $3}')
  echo "restockd flat out: reads_per_s ${DFLAT% *} cpu_pct ${DFLAT#* } (warm after $WARM s)"
  bench_stop_daemon

  RAW1=$("$BUILD/bench/poll/bench_poll" raw "$TMP/ports" "$SECS" 1000)
  echo "$RAW1 (1 s interval)"
  PIPE1=$("$BUILD/bench/poll/bench_poll" pipe "$TMP/ports" "$SECS" 1000)
  echo "$PIPE1 (1 s interval)"

  rm -rf "$TMP/slow" && config "$TMP/slow" 1s
  bench_daemon "$BUILD/restockd" "$TMP/slow"
  a=$(served); c0=$(cpu_ticks "$D_PID"); sleep "$SECS"; b=$(served); c1=$(cpu_ticks "$D_PID")
  RSS=$(awk '/VmRSS/ {print $2}' "/proc/$D_PID/status")
  THR=$(awk '/Threads/ {print $2}' "/proc/$D_PID/status")
  D1=$(echo "$a $b $SECS $c0 $c1 $HZ" | awk '{r = ($2 - $1) / $3; c = ($5 - $4) / $6; printf "%.0f %.2f %.1f", r, 100 * c / $3, 1e6 * c / ($2 - $1) / 10}')
  set -- $D1
  echo "restockd at 1 s: reads_per_s $1 cpu_pct $2 us_per_reading $3 rss_kb $RSS threads $THR (warm after $WARM s)"
  bench_stop_daemon
  echo "$N $RAW | $PIPE | $DFLAT | $RAW1 | $PIPE1 | $D1 $RSS $THR $WARM" >> "$SUMMARY"

  kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=""
done

echo
echo "| devices | consumables | raw libmodbus reads/s | pipelined reads/s | restockd reads/s | restockd / pipelined | restockd / raw | flat out, CPU µs per read: pipelined | restockd | CPU % at 1 s: raw | pipelined | restockd | restockd / raw per read | restockd µs per reading | RSS MB | threads | warm-up s |"
# CPU at 1 s, restockd / raw: per read (raw holds at most 1,000 devices, and a
# 10 s window holds 9, 10 or 11 rounds of devices polled in step)
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
awk -F'|' '{
  split($1, a, " "); split($2, p, " "); split($3, d, " "); split($4, r1, " "); split($5, p1, " "); split($6, d1, " ")
  n = a[1]; raw = a[10]; pipe = p[9]; dfl = d[1]; rawc = r1[13]; pipec = p1[13]
  # CPU per read flat out (what a busy host does not change much): the
  # pipelined poller cpu_s / reads, restockd cpu % / reads per s
  pipeus = p[5] > 0 ? 1e6 * p[11] / p[5] : 0; dus = dfl > 0 ? 1e4 * d[2] / dfl : 0
  printf "| %d | %d | %d | %d | %d | %.2f | %.2f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %d | %.1f |\n", n, 10 * n, raw, pipe, dfl, dfl / pipe, dfl / raw, pipeus, dus, rawc, pipec, d1[2], (rawc > 0 && d1[1] > 0 ? (d1[2] / d1[1]) / (rawc / r1[9]) : 0), d1[3], d1[4] / 1024, d1[5], d1[6]
}' "$SUMMARY"
