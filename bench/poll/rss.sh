#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Where restockd's RSS goes (docs/BENCHMARKS.md, "Where the RSS goes").
#   bench/poll/rss.sh BUILD_DIR [DEVICES] [WAIT_S]      (default 500 15)
# restockd over DEVICES Modbus TCP devices x 10 points x 10 consumables of
# one bench_poll_server, polled every second (the configuration of run.sh's
# "at 1 s" measurement); after WAIT_S seconds prints VmRSS, its anonymous
# and file-backed parts, the Pss and clean/dirty split of
# /proc/PID/smaps_rollup, and the RSS of each mapping of 100 kB or more from
# /proc/PID/smaps. Then the same for restockd with no device at all (the
# floor: the program and its shared libraries).
set -eu
. "$(dirname "$0")/common.sh"
bench_mem_init rss "$@"

# report DIR WAIT LABEL: run restockd on DIR for WAIT s, print its memory
report() {
  bench_start "$BUILD/restockd" "$1"
  sleep "$2"
  echo "== $3"
  grep -E 'VmRSS|RssAnon|RssFile|Threads' "/proc/$D_PID/status"
  # Pss shares each library page among the processes mapping it; Private_Dirty
  # is what this process alone holds (heap, relocated library data)
  grep -E '^(Pss|Shared_Clean|Private_Clean|Private_Dirty):' "/proc/$D_PID/smaps_rollup" |
    tr -s ' ' | tr '\n' ' '
  echo
  awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6; if(name == "") name = "[anon]" }
       /^Rss:/ { rss[name] += $2 }
       END { for(n in rss) if(rss[n] >= 100) printf "%8d kB %s\n", rss[n], n }' \
    "/proc/$D_PID/smaps" | sort -rn
  bench_stop_daemon
}

bench_mem_plant "$TMP/full"
report "$TMP/full" "$WAIT" "$N devices, $((N * 10)) consumables, after $WAIT s"
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=""
rm -f "$TMP/ports"
bench_config "$TMP/idle" 1s "full: 0, empty: 65535"
report "$TMP/idle" 3 "no device (the program and its libraries)"
