#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Instructions per read of a warm restockd polled flat out (docs/BENCHMARKS.md,
# "Polling (bench/poll)"): the figure a busy host does not move.
#   bench/poll/prof.sh BUILD_DIR N SECONDS OUT RESTOCKD...
# One bench_poll_server of N devices (from BUILD_DIR); for each RESTOCKD in
# turn, restockd on run.sh's flat-out config (with `timeout: 60s` per device:
# under valgrind a reply waits longer than the default 1 s) under
# valgrind --tool=callgrind --instr-atstart=no, warm (every device answered,
# then 2 s), then instructions counted over SECONDS (callgrind_control -i)
# and reads counted by the server. Prints
#   RESTOCKD reads R instructions I per_read I/R
# and leaves the profiles in OUT.<name>.<pid>* (callgrind_annotate them).
# At 2 000 devices the warm-up under valgrind takes many minutes: use 500.
set -eu
BUILD=${1:?usage: prof.sh BUILD_DIR N SECONDS OUT RESTOCKD...}
N=${2:?usage: prof.sh BUILD_DIR N SECONDS OUT RESTOCKD...}
SECS=${3:?usage: prof.sh BUILD_DIR N SECONDS OUT RESTOCKD...}
OUT=${4:?usage: prof.sh BUILD_DIR N SECONDS OUT RESTOCKD...}
shift 4
. "$(dirname "$0")/common.sh"
bench_init /tmp/restock-bench-prof-XXXXXX
bench_server "$N"

for R in "$@"; do
  rm -rf "$TMP/flat"
  bench_config "$TMP/flat" 0ms "full: 0, empty: 65535"
  sed -i 's/^    poll_interval: 0ms$/    poll_interval: 0ms\n    timeout: 60s/' "$TMP/flat/devices.d/bench.yaml"
  tag=$(echo "$R" | tr / _)
  valgrind --tool=callgrind --instr-atstart=no --dump-instr=no \
    --callgrind-out-file="$OUT.$tag.%p" "$R" --config "$TMP/flat" --log-level error \
    > "$TMP/d.log" 2>&1 &
  D_PID=$!
  while :; do
    kill -0 "$D_PID" 2>/dev/null || { echo "restockd died:" >&2; cat "$TMP/d.log" >&2; exit 1; }
    n=$(curl -s -m 10 "http://$HTTP/api/v1/devices" | grep -o '"last_success": *"' | wc -l)
    [ "$n" -ge "$N" ] && break
    sleep 1
  done
  sleep 2
  callgrind_control -i on "$D_PID" > /dev/null
  a=$(served); sleep "$SECS"; b=$(served)
  callgrind_control -i off "$D_PID" > /dev/null
  callgrind_control -d "$D_PID" > /dev/null
  pid=$D_PID
  bench_stop_daemon
  tot=$(cat "$OUT.$tag.$pid"* | awk '/^totals:/ {s += $2} END {print s + 0}')
  echo "$R reads $((b - a)) instructions $tot" |
    awk '{printf "%s reads %d instructions %d per_read %.0f\n", $1, $3, $5, $5 / $3}'
done
