# SPDX-License-Identifier: Apache-2.0
# What bench/poll's scripts (run.sh, ratio.sh, flat.sh, prof.sh, flash.sh, rss.sh, peak.sh, inuse.sh) share; sourced, not run.
#   bench_mem_init NAME BUILD_DIR [DEVICES] [WAIT_S]
#                          rss.sh's, peak.sh's and inuse.sh's arguments: BUILD, N (500),
#                          WAIT (15); bench_init /tmp/restock-bench-NAME-XXXXXX
#   bench_mem_plant DIR    bench_server $N and bench_config DIR: every device
#                          polled every second, levels over the register's range
#   bench_init TEMPLATE    TMP from mktemp -d TEMPLATE; kills the server and
#                          restockd ($SRV_PID, $D_PID) and removes TMP on exit;
#                          HZ, the clock ticks per second
#   free_port              a free TCP port on 127.0.0.1
#   bench_server ARGS...   start bench_poll_server ARGS in the background
#                          ($SRV_PID), wait for it, its ports in $TMP/ports
#   bench_config DIR INTERVAL LEVEL [EXTRA]
#                          restock.yaml in DIR (HTTP: its status address) and,
#                          when $TMP/ports exists, devices.d/bench.yaml: every
#                          port a device polled every INTERVAL with 10 holding
#                          registers and 10 consumables {EXTRA level: {LEVEL}};
#                          BENCH_DISTINCT=1: each device's point ids its own
#   bench_start RESTOCKD DIR
#                          start RESTOCKD --config DIR ($D_PID, log $TMP/d.log)
#   bench_daemon RESTOCKD DIR
#                          start RESTOCKD --config DIR ($D_PID) and wait until
#                          it is warm: all $N devices answered once (asked
#                          through /api/v1/devices at $HTTP; each consumable's
#                          first reading loads its state and history from the
#                          store), then 2 s more; WARM: seconds to warm
#   bench_stop_daemon      SIGTERM restockd and wait for it
#   served                 the server's count of answered requests (SIGUSR1)
#   cpu_ticks PID          CPU time of PID in 1/HZ s, from schedstat (ns): every thread of it

bench_init() {
  TMP=$(mktemp -d "$1")
  SRV_PID=""
  D_PID=""
  HZ=$(getconf CLK_TCK)
  trap bench_cleanup EXIT INT TERM
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

bench_mem_init() {
  BUILD=${2:?usage: $1.sh BUILD_DIR [DEVICES] [WAIT_S]}
  N=${3:-500}
  WAIT=${4:-15}
  bench_init "/tmp/restock-bench-$1-XXXXXX"
}

bench_mem_plant() {
  bench_server "$N"
  bench_config "$1" 1s "full: 0, empty: 65535"
}

bench_cleanup() {
  [ -n "$D_PID" ] && kill "$D_PID" 2>/dev/null || true
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null || true
  rm -rf "$TMP"
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_server() {
  # a server started before in this script left "ready" in srv.out: gone
  # before the wait below looks (the new one's redirect truncates it only
  # once its process runs; a 2 000-port server then got an empty ports file)
  rm -f "$TMP/srv.out" "$TMP/ports"
  "$BUILD/bench/poll/bench_poll_server" "$@" > "$TMP/srv.out" &
  SRV_PID=$!
  while ! grep -q ready "$TMP/srv.out" 2>/dev/null; do sleep 0.1; done
  head -n 1 "$TMP/srv.out" > "$TMP/ports"
}

bench_config() {
  mkdir -p "$1/devices.d"
  HTTP="127.0.0.1:$(free_port)"
  cat > "$1/restock.yaml" <<EOT
gateway: {id: bench}
storage: {path: $1/restock.db}
http: {listen: "$HTTP"}
orders: {currency: EUR}
suppliers:
  - {id: acme, name: "ACME"}
catalog:
  - {sku: PART-1, supplier: acme, unit_price: "1.00", currency: EUR, pack_size: 1, lead_time: 5d}
EOT
  [ -f "$TMP/ports" ] || return 0
  awk -v interval="$2" -v level="$3" -v extra="${4:-}" -v distinct="${BENCH_DISTINCT:-0}" '
    NR == 1 {
      print "devices:"
      for(i = 2; i <= NF; i++) {
        printf "  - id: dev-%d\n    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d}\n", i - 2, $i
        printf "    poll_interval: %s\n    points:\n", interval
        # BENCH_DISTINCT=1: point ids of their own per device ("p3-17"), so
        # no two devices have equal point lists (the loader shares equal ones)
        sfx = distinct ? sprintf("-%d", i - 2) : ""
        for(p = 0; p < 10; p++)
          printf "      - {id: p%d%s, register: holding, address: %d, type: uint16}\n", p, sfx, p
        print "    consumables:"
        for(p = 0; p < 10; p++)
          printf "      - {id: c%d, sku: PART-1, %slevel: {point: p%d%s, %s}}\n", p, extra, p, sfx, level
      }
    }' "$TMP/ports" > "$1/devices.d/bench.yaml"
}

bench_start() {
  "$1" --config "$2" --log-level error > "$TMP/d.log" 2>&1 &
  D_PID=$!
}

bench_daemon() {
  bench_start "$1" "$2"
  t0=$(date +%s.%N)
  while :; do
    kill -0 "$D_PID" 2>/dev/null || { echo "restockd died:" >&2; cat "$TMP/d.log" >&2; exit 1; }
    n=$(curl -s "http://$HTTP/api/v1/devices" | grep -o '"last_success": *"' | wc -l)
    [ "$n" -ge "$N" ] && break
    sleep 0.5
  done
  WARM=$(echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
  sleep 2
}

bench_stop_daemon() {
  kill -TERM "$D_PID"
  wait "$D_PID" 2>/dev/null || true
  D_PID=""
}

served() {
  n0=$(grep -c served "$TMP/srv.out" || true)
  kill -USR1 "$SRV_PID"
  while [ "$(grep -c served "$TMP/srv.out" || true)" -le "$n0" ]; do sleep 0.02; done
  grep served "$TMP/srv.out" | tail -n 1 | awk '{print $2}'
}

cpu_ticks() { cat /proc/"$1"/task/*/schedstat | awk -v hz="$HZ" '{t += $1} END {printf "%.4f", t * hz / 1e9}'; }
