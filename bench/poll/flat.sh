#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A/B of restockd builds flat out (docs/BENCHMARKS.md, "Polling (bench/poll)").
#   bench/poll/flat.sh N SECONDS BUILD_DIR...
# One bench_poll_server of N devices (from the first BUILD_DIR); for each
# BUILD_DIR in turn, restockd over them polled continuously (poll_interval
# 0ms, as run.sh's flat-out run), warm (every device answered once, then
# 2 s), then over SECONDS: reads/s (counted by the server), CPU % (from
# /proc/PID/task/*/schedstat) and CPU µs per read, with the 1-minute load.
# Give builds twice or more, interleaved: on a busy host one build's figure
# varies by ±15 % from run to run.
set -eu
N=${1:?usage: flat.sh N SECONDS BUILD_DIR...}
SECS=${2:?usage: flat.sh N SECONDS BUILD_DIR...}
shift 2
BUILD=${1:?usage: flat.sh N SECONDS BUILD_DIR...}
. "$(dirname "$0")/common.sh"
bench_init /tmp/restock-bench-flat-XXXXXX
bench_server "$N"

for B in "$@"; do
  rm -rf "$TMP/flat"
  bench_config "$TMP/flat" 0ms "full: 0, empty: 65535"
  bench_daemon "$B/restockd" "$TMP/flat"
  a=$(served); c0=$(cpu_ticks "$D_PID"); sleep "$SECS"; b=$(served); c1=$(cpu_ticks "$D_PID")
  echo "$B $a $b $SECS $c0 $c1 $HZ $(cut -d' ' -f1 /proc/loadavg)" |
    awk '{r = ($3 - $2) / $4; cpu = ($6 - $5) / $7 / $4;
          printf "%s reads_per_s %.0f cpu_pct %.1f us_per_read %.2f load %s\n", $1, r, 100 * cpu, 1e6 * cpu / r, $8}'
  bench_stop_daemon
done
