#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Who waits for whom flat out (docs/BENCHMARKS.md, "Issue 14, session 10 (h14cpu)").
#   bench/poll/switches.sh BUILD_DIR N SECONDS [pipe | RESTOCKD]...
# One bench_poll_server of N devices (from BUILD_DIR); for each poller in
# turn (pipe: the pipelined C poller; else a restockd binary on run.sh's
# flat-out config, warm), over SECONDS: reads/s (counted by the server) and,
# per read, the voluntary (slept: waited for the other side) and
# involuntary (preempted) context switches of the poller and of the server,
# from /proc/PID/task/*/status, with the 1-minute load.
set -eu
BUILD=${1:?usage: switches.sh BUILD_DIR N SECONDS [pipe | RESTOCKD]...}
N=${2:?usage: switches.sh BUILD_DIR N SECONDS [pipe | RESTOCKD]...}
SECS=${3:?usage: switches.sh BUILD_DIR N SECONDS [pipe | RESTOCKD]...}
shift 3
. "$(dirname "$0")/common.sh"
bench_init /tmp/restock-bench-switches-XXXXXX
bench_server "$N"

switches() {
  cat /proc/"$1"/task/*/status |
    awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {n += $2} END {print v, n}'
}

for W in "$@"; do
  if [ "$W" = pipe ]; then
    "$BUILD/bench/poll/bench_poll" pipe "$TMP/ports" $((SECS + 2)) > /dev/null &
    P=$!
    sleep 1
  else
    rm -rf "$TMP/flat"
    bench_config "$TMP/flat" 0ms "full: 0, empty: 65535"
    bench_daemon "$W" "$TMP/flat"
    P=$D_PID
  fi
  a=$(served); p0=$(switches "$P"); s0=$(switches "$SRV_PID")
  sleep "$SECS"
  b=$(served); p1=$(switches "$P"); s1=$(switches "$SRV_PID")
  echo "$W $p0 $p1 $s0 $s1 $((b - a)) $SECS $(cut -d' ' -f1 /proc/loadavg)" |
    awk '{r = $10; printf "%s reads_per_s %.0f poller_slept_per_read %.3f poller_preempted_per_read %.3f server_slept_per_read %.3f server_preempted_per_read %.3f load %s\n",
          $1, r / $11, ($4 - $2) / r, ($5 - $3) / r, ($8 - $6) / r, ($9 - $7) / r, $12}'
  if [ "$W" = pipe ]; then wait "$P"; else bench_stop_daemon; fi
done
