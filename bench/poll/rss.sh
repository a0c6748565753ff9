#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Where restockd's RSS goes (docs/BENCHMARKS.md, "Where the RSS goes").
#   bench/poll/rss.sh BUILD_DIR [DEVICES] [WAIT_S]      (default 500 15)
# restockd over DEVICES Modbus TCP devices x 10 points x 10 consumables of
# one bench_poll_server, polled every second (the configuration of run.sh's
# "at 1 s" measurement); after WAIT_S seconds prints VmRSS, its anonymous
# and file-backed parts, and the RSS of each mapping of 100 kB or more from
# /proc/PID/smaps. Then the same for restockd with no device at all (the
# floor: the program and its shared libraries).
set -eu
BUILD=${1:?usage: rss.sh BUILD_DIR [DEVICES] [WAIT_S]}
N=${2:-500}
WAIT=${3:-15}
TMP=$(mktemp -d /tmp/restock-bench-rss-XXXXXX)
SRV_PID=""
D_PID=""
cleanup() {
  [ -n "$D_PID" ] && kill "$D_PID" 2>/dev/null || true
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# config DIR: restock.yaml; devices.d/bench.yaml from $TMP/ports when it exists
config() {
  mkdir -p "$1/devices.d"
  cat > "$1/restock.yaml" <<EOT
gateway: {id: bench}
storage: {path: $1/restock.db}
http: {listen: "127.0.0.1:$(free_port)"}
orders: {currency: EUR}
suppliers:
  - {id: acme, name: "ACME"}
catalog:
  - {sku: PART-1, supplier: acme, unit_price: "1.00", currency: EUR, pack_size: 1, lead_time: 5d}
EOT
  [ -f "$TMP/ports" ] || return 0
  awk '
    NR == 1 {
      print "devices:"
      for(i = 2; i <= NF; i++) {
        printf "  - id: dev-%d\n    transport: {type: modbus-tcp, host: 127.0.0.1, port: %d}\n", i - 2, $i
        printf "    poll_interval: 1s\n    points:\n"
        for(p = 0; p < 10; p++)
          printf "      - {id: p%d, register: holding, address: %d, type: uint16}\n", p, p
        print "    consumables:"
        for(p = 0; p < 10; p++)
          printf "      - {id: c%d, sku: PART-1, level: {point: p%d, full: 0, empty: 65535}}\n", p, p
      }
    }' "$TMP/ports" > "$1/devices.d/bench.yaml"
}

# report DIR WAIT LABEL: run restockd on DIR for WAIT s, print its memory
report() {
  "$BUILD/restockd" --config "$1" --log-level error > "$TMP/d.log" 2>&1 &
  D_PID=$!
  sleep "$2"
  echo "== $3"
  grep -E 'VmRSS|RssAnon|RssFile|Threads' "/proc/$D_PID/status"
  awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6; if(name == "") name = "[anon]" }
       /^Rss:/ { rss[name] += $2 }
       END { for(n in rss) if(rss[n] >= 100) printf "%8d kB %s\n", rss[n], n }' \
    "/proc/$D_PID/smaps" | sort -rn
  kill -TERM "$D_PID"
  wait "$D_PID" 2>/dev/null || true
  D_PID=""
}

"$BUILD/bench/poll/bench_poll_server" "$N" > "$TMP/srv.out" &
SRV_PID=$!
while ! grep -q ready "$TMP/srv.out" 2>/dev/null; do sleep 0.1; done
head -n 1 "$TMP/srv.out" > "$TMP/ports"
config "$TMP/full"
report "$TMP/full" "$WAIT" "$N devices, $((N * 10)) consumables, after $WAIT s"
kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=""
rm -f "$TMP/ports"
config "$TMP/idle"
report "$TMP/idle" 3 "no device (the program and its libraries)"
