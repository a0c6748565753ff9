#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 14's flat-out goals over several rounds on a busy host (docs/BENCHMARKS.md,
# "Polling (bench/poll)").
#   bench/poll/ratio.sh BUILD_DIR SECONDS ROUNDS [DEVICE COUNTS...]   (default: 50 500 2000)
# For each device count N, one bench_poll_server of N devices; then ROUNDS
# rounds, each measuring flat out, for SECONDS each and in an order that
# turns by one every round (round 1: raw, pipelined, restockd; round 2:
# pipelined, restockd, raw; ...): the raw libmodbus loop, the pipelined C
# poller and restockd (run.sh's flat-out config, started fresh and warm as
# there: every device answered once, then 2 s). RESTOCKD="A B ..." measures
# more restockd binaries in each round (default: BUILD_DIR/restockd).
# Each line: reads/s counted by the server, CPU µs per read (schedstat for
# restockd, getrusage for the other two) and the 1-minute load. A round's
# ratios put restockd against the baselines of the same round; the summary
# gives the median over the rounds (and the lowest) of restockd / pipelined
# and restockd / raw, per restockd binary and device count.
set -eu
BUILD=${1:?usage: ratio.sh BUILD_DIR SECONDS ROUNDS [DEVICE COUNTS...]}
SECS=${2:?usage: ratio.sh BUILD_DIR SECONDS ROUNDS [DEVICE COUNTS...]}
ROUNDS=${3:?usage: ratio.sh BUILD_DIR SECONDS ROUNDS [DEVICE COUNTS...]}
shift 3
COUNTS=${*:-50 500 2000}
RESTOCKD=${RESTOCKD:-$BUILD/restockd}
. "$(dirname "$0")/common.sh"
bench_init /tmp/restock-bench-ratio-XXXXXX

load() { cut -d' ' -f1 /proc/loadavg; }

# one measurement: prints "WHAT reads_per_s R us_per_read U load L"
measure() {
  case $1 in
  raw | pipe)
    "$BUILD/bench/poll/bench_poll" "$1" "$TMP/ports" "$SECS" |
      awk -v w="$1" -v l="$(load)" '{printf "%s reads_per_s %.0f us_per_read %.2f load %s\n", w, $9, 1e6 * $11 / $5, l}'
    ;;
  *)
    rm -rf "$TMP/flat"
    bench_config "$TMP/flat" 0ms "full: 0, empty: 65535"
    bench_daemon "$1" "$TMP/flat"
    a=$(served); c0=$(cpu_ticks "$D_PID"); sleep "$SECS"; b=$(served); c1=$(cpu_ticks "$D_PID")
    echo "$1 $a $b $SECS $c0 $c1 $HZ $(load)" |
      awk '{r = ($3 - $2) / $4; printf "%s reads_per_s %.0f us_per_read %.2f load %s\n", $1, r, 1e6 * ($6 - $5) / $7 / ($3 - $2), $8}'
    bench_stop_daemon
    ;;
  esac
}

OUT="$TMP/lines"
: > "$OUT"
for N in $COUNTS; do
  bench_server "$N"
  echo "== $N devices, $ROUNDS rounds of $SECS s each"
  set -- raw pipe $RESTOCKD
  k=$#
  r=1
  while [ "$r" -le "$ROUNDS" ]; do
    # this round's order: the list turned by r - 1
    order=""
    i=0
    for w in "$@"; do
      pos=$(( (i - (r - 1) % k + k) % k ))
      order="$order $pos:$w"
      i=$((i + 1))
    done
    for pw in $(echo "$order" | tr ' ' '\n' | sort -n); do
      line=$(measure "${pw#*:}")
      echo "round $r $line"
      echo "$N $r $line" >> "$OUT"
    done
    r=$((r + 1))
  done
  kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=""
done

echo
echo "| devices | restockd | rounds | restockd / pipelined: median (lowest) | restockd / raw: median (lowest) | reads/s median: raw / pipelined / restockd | CPU µs per read median: pipelined / restockd | load |"
echo "|---|---|---|---|---|---|---|---|"
for N in $COUNTS; do
  for R in $RESTOCKD; do
    awk -v n="$N" -v rd="$R" '
      function median(a, m,   i, j, t) {
        for(i = 1; i <= m; i++) for(j = i + 1; j <= m; j++) if(a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
      }
      $1 == n { w = $3; r = $2; rps[w, r] = $5; us[w, r] = $7; if(!(r in seen)) { seen[r] = 1; nr++ }
                if(lmin == "" || $9 < lmin) lmin = $9; if($9 > lmax) lmax = $9 }
      END {
        m = 0
        for(r = 1; r <= nr; r++) {
          if(rps["pipe", r] <= 0 || rps["raw", r] <= 0) continue
          m++; p[m] = rps[rd, r] / rps["pipe", r]; q[m] = rps[rd, r] / rps["raw", r]
          a1[m] = rps["raw", r]; a2[m] = rps["pipe", r]; a3[m] = rps[rd, r]; u1[m] = us["pipe", r]; u2[m] = us[rd, r]
        }
        if(!m) exit
        pl = p[1]; ql = q[1]
        for(i = 2; i <= m; i++) { if(p[i] < pl) pl = p[i]; if(q[i] < ql) ql = q[i] }
        printf "| %d | %s | %d | %.2f (%.2f) | %.2f (%.2f) | %.0f / %.0f / %.0f | %.2f / %.2f | %s-%s |\n",
          n, rd, m, median(p, m), pl, median(q, m), ql, median(a1, m), median(a2, m), median(a3, m),
          median(u1, m), median(u2, m), lmin, lmax
      }' "$OUT"
  done
done
