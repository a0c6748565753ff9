#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# restockd's peak RSS while it answers its large documents (docs/BENCHMARKS.md,
# "Where the RSS goes").
#   bench/poll/peak.sh BUILD_DIR [DEVICES] [WAIT_S]      (default 500 15)
# restockd over DEVICES Modbus TCP devices x 10 points x 10 consumables of one
# bench_poll_server, polled every second (rss.sh's configuration); after
# WAIT_S seconds prints VmRSS and VmHWM, then GETs each large document once
# and prints its size, VmRSS after it and the peak (VmHWM) during it (the
# peak is reset through /proc/PID/clear_refs 2 s after the GET before).
set -eu
. "$(dirname "$0")/common.sh"
bench_mem_init peak "$@"

kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$D_PID/status"; }

bench_mem_plant "$TMP/full"
bench_start "$BUILD/restockd" "$TMP/full"
sleep "$WAIT"
printf "%-22s %10s  VmRSS %6s kB  VmHWM %6s kB (start-up included)\n" \
  "after ${WAIT} s" "" "$(kb VmRSS)" "$(kb VmHWM)"
for p in /api/v1/consumables /api/v1/status /metrics /api/v1/devices /; do
  sleep 2 # the answer before has let go of its memory (/api/v1/status: a 250 ms cache)
  echo 5 > "/proc/$D_PID/clear_refs"
  curl -s -o "$TMP/out" "http://$HTTP$p"
  printf "%-22s %10s  VmRSS %6s kB  VmHWM %6s kB\n" "GET $p" "$(wc -c < "$TMP/out")B" \
    "$(kb VmRSS)" "$(kb VmHWM)"
done
