#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The heap bytes restockd has in use (docs/BENCHMARKS.md, "Session 9 (h14dev)"):
#   bench/poll/inuse.sh BUILD_DIR [DEVICES] [WAIT_S]      (default 500 15)
# rss.sh's configuration (BENCH_DISTINCT=1 too); after WAIT_S seconds prints
# VmRSS and RssAnon, then glibc's malloc_stats() "in use bytes" (chunks with
# their headers), called in the running process with gdb: unlike the RSS it
# does not move with which heap pages are touched or trimmed, so a change of a
# few tens of kB shows in one run. Needs gdb and ptrace of one's own processes.
set -eu
. "$(dirname "$0")/common.sh"
bench_mem_init inuse "$@"
bench_mem_plant "$TMP/full"
bench_start "$BUILD/restockd" "$TMP/full"
sleep "$WAIT"
grep -E 'VmRSS|RssAnon' "/proc/$D_PID/status" | tr -s ' \t' ' ' | tr '\n' ' '
echo
# malloc_stats() writes to restockd's stderr, which is $TMP/d.log
gdb -p "$D_PID" -batch -ex 'call (void)malloc_stats()' > /dev/null 2>&1 ||
  { echo "gdb could not attach to restockd" >&2; exit 1; }
sleep 0.2
grep -E 'in use bytes' "$TMP/d.log" | tail -n 1 | tr -s ' '
bench_stop_daemon
