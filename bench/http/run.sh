#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# HTTP benchmark (docs/BENCHMARKS.md, "HTTP (bench/http)").
#   bench/http/run.sh [BUILD_DIR]        (default: build-bench-http in the source tree)
# Environment: BENCH_HTTP_SECONDS (wrk run length, default 10),
#              BENCH_HTTP_MILLION (requests of the RSS run, default 1000000),
#              BENCH_HTTP_ROUNDS (alternating rounds, default 3; the median counts).
# 1. restock's HTTP server (bench_http_server: 1,000 consumables, its own
#    epoll loop), and a bare libmicrohttpd server answering the same bytes
#    the same way (one thread, external epoll) and in MHD's internal-thread
#    mode
# 2. `wrk -t2 -c32 -d10s --latency` on /api/v1/status of each, one server at
#    a time, ROUNDS times in turn
# 3. RSS of restock's server before and after a million more requests (run
#    lengths computed from the measured rate, at most 120 s of wrk)
# 4. a decision over the API shows in the very next /api/v1/status
# Everything listens on 127.0.0.1 only; every process is bounded in time.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-bench-http}
SECS=${BENCH_HTTP_SECONDS:-10}
MILLION=${BENCH_HTTP_MILLION:-1000000}
ROUNDS=${BENCH_HTTP_ROUNDS:-3}
TMP=$(mktemp -d /tmp/restock-bench-http-run-XXXXXX)
PIDS=""

cleanup() {
  for p in $PIDS; do
    kill "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# wrk (Debian package wrk), installed once
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: wrk is missing (apt-get install wrk needs root)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
for tool in curl cmake; do
  command -v "$tool" >/dev/null 2>&1 || { echo "run.sh: $tool is missing" >&2; exit 1; }
done

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD" -j2 --target bench_http_server bench_mhd_baseline >/dev/null
SRV="$BUILD/bench/http/bench_http_server"
BASE="$BUILD/bench/http/bench_mhd_baseline"

# start NAME CMD...: run CMD in the background (output in $TMP/NAME.out),
# wait for its "ready PORT ..." line; sets NAME_PID and NAME_PORT
start() {
  name=$1
  shift
  "$@" > "$TMP/$name.out" 2> "$TMP/$name.err" &
  pid=$!
  PIDS="$PIDS $pid"
  i=0
  while ! grep -q '^ready ' "$TMP/$name.out"; do
    i=$((i + 1))
    if [ "$i" -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
      echo "run.sh: $1 did not start:" >&2
      cat "$TMP/$name.err" >&2
      exit 1
    fi
    sleep 0.1
  done
  eval "${name}_PID=$pid"
  eval "${name}_PORT=$(awk '/^ready / {print $2; exit}' "$TMP/$name.out")"
}

rss_kb() {
  awk '/^VmRSS/ {print $2}' "/proc/$1/status"
}

# bench NAME URL SECONDS: wrk into $TMP/NAME.wrk; prints "req/s p50 p99 requests errors"
bench() {
  timeout $(($3 + 30)) wrk -t2 -c32 -d"$3"s --latency "$2" > "$TMP/$1.wrk"
  awk '
    /Requests\/sec:/ {rps = $2}
    /^ +50%/ {p50 = $2}
    /^ +99%/ {p99 = $2}
    /requests in/ {n = $1}
    /Non-2xx/ {err += $NF}
    /Socket errors/ {err += 1}
    END {printf "%s %s %s %s %d\n", rps, p50, p99, n, err}
  ' "$TMP/$1.wrk"
}

# median LINES: the line of median req/s among the (odd number of) lines
median() {
  sort -g | awk '{l[NR] = $0} END {print l[int((NR + 1) / 2)]}'
}

# 1. the three servers; the baselines serve the very bytes restock serves
start restock "$SRV" 0 900
URL="http://127.0.0.1:$restock_PORT/api/v1/status"
curl -sf --noproxy '*' -o "$TMP/status.json" "$URL"
BYTES=$(wc -c < "$TMP/status.json")
NCONS=$(grep -o '"level_pct":' "$TMP/status.json" | wc -l)
echo "restock /api/v1/status: $BYTES bytes, $NCONS consumables"
start epoll "$BASE" epoll 0 "$TMP/status.json" 900
start thread "$BASE" thread 0 "$TMP/status.json" 900
RSS0=$(rss_kb "$restock_PID")

# 2. ROUNDS rounds of wrk, one server at a time, alternating (the host may be
# shared: the median of each is reported)
: > "$TMP/r" ; : > "$TMP/b" ; : > "$TMP/t"
k=0
while [ "$k" -lt "$ROUNDS" ]; do
  bench restock "$URL" "$SECS" >> "$TMP/r"
  bench epoll "http://127.0.0.1:$epoll_PORT/api/v1/status" "$SECS" >> "$TMP/b"
  bench thread "http://127.0.0.1:$thread_PORT/api/v1/status" "$SECS" >> "$TMP/t"
  k=$((k + 1))
done
R=$(median < "$TMP/r")
B=$(median < "$TMP/b")
T=$(median < "$TMP/t")
kill -TERM "$epoll_PID" "$thread_PID"

# 3. RSS of restock's server before and after MILLION more requests (at most 120 s of wrk)
RSS1=$(rss_kb "$restock_PID")
done_n=0
spent=0
rate=$(echo "$R" | awk '{print $1}')
while [ "$done_n" -lt "$MILLION" ] && [ "$spent" -lt 120 ]; do
  d=$(echo "$rate $MILLION $done_n $spent" | awk '{d = int(($2 - $3) / $1 + 1); if(d > 120 - $4) d = 120 - $4; if(d < 1) d = 1; print d}')
  M=$(bench million "$URL" "$d")
  done_n=$((done_n + $(echo "$M" | awk '{print $4}')))
  rate=$(echo "$M" | awk '{print ($1 > 1) ? $1 : 1}')
  spent=$((spent + d))
done
RSS2=$(rss_kb "$restock_PID")

# 4. the cache is not stale after a decision: approve the pending order over
# the API, the very next /api/v1/status must show it approved
OID=$(grep -o '{"id":"[^"]*","state":"pending_approval"' "$TMP/status.json" | head -n 1 | cut -d'"' -f4)
curl -sf --noproxy '*' -o /dev/null "$URL"
curl -sf --noproxy '*' -o /dev/null -u 'admin:correct horse' -X POST \
  "http://127.0.0.1:$restock_PORT/api/v1/orders/$OID/approve"
if curl -sf --noproxy '*' "$URL" | grep -q "{\"id\":\"$OID\",\"state\":\"approved\""; then
  FRESH="approved order $OID shows in the next /api/v1/status: yes"
else
  FRESH="approved order $OID shows in the next /api/v1/status: NO (stale cache)"
fi
kill -TERM "$restock_PID"
wait || true
PIDS=""

echo "wrk -t2 -c32 -d${SECS}s --latency, median of $ROUNDS alternating rounds, $(nproc) CPUs"
printf '%-34s %10s %9s %9s %9s %7s\n' server req/s p50 p99 requests errors
echo "$R" | awk '{printf "%-34s %10s %9s %9s %9s %7s\n", "restock (epoll loop, 1 thread)", $1, $2, $3, $4, $5}'
echo "$B" | awk '{printf "%-34s %10s %9s %9s %9s %7s\n", "bare MHD (epoll loop, 1 thread)", $1, $2, $3, $4, $5}'
echo "$T" | awk '{printf "%-34s %10s %9s %9s %9s %7s\n", "bare MHD (internal epoll thread)", $1, $2, $3, $4, $5}'
echo "all rounds (req/s): restock $(awk '{printf " %s", $1}' "$TMP/r"); bare epoll $(awk '{printf " %s", $1}' "$TMP/b"); bare thread $(awk '{printf " %s", $1}' "$TMP/t")"
echo "$R $B" | awk '{r = $1 / $6; printf "ratio restock / bare MHD (epoll loop): %.2f (goal >= 0.7: %s)\n", r, (r >= 0.7) ? "met" : "missed"}'
echo "$R $T" | awk '{printf "ratio restock / bare MHD (internal thread): %.2f\n", $1 / $6}'
echo "RSS run: $done_n requests in $spent s of wrk"
echo "restock VmRSS: at start $RSS0 kB, after the timed rounds $RSS1 kB, after $done_n more requests $RSS2 kB (growth $((RSS2 - RSS1)) kB)"
echo "$FRESH"
