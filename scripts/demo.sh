#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's first command: install what is needed, build, then run the
# simulated demo plant (restock-sim: devices + sandbox shop) and restockd on
# it at --time-scale 10080 (one simulated week per real minute) until Ctrl-C.
#
# Nothing is written outside this checkout: config/demo is copied to
# out/demo/ with its state paths pointed there, and started afresh each run.
#
# Options: --time-scale N (default 10080), --no-build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scale=10080
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --time-scale) scale=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "usage: $0 [--time-scale N] [--no-build]" >&2; exit 2 ;;
  esac
done

if [ "$build" = 1 ]; then
  scripts/deps.sh demo
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target restockd restockctl restock-sim
fi

demo=$root/out/demo
state=$demo/state
rm -rf "$demo"
mkdir -p "$state/mail"
cp -r config/demo "$demo/config"
find "$demo/config" -name '*.yaml' -exec sed -i "s#/var/lib/restock#$state#g" {} +
cfg=$demo/config/restock

# The demo's fixed loopback ports: say which one is taken rather than fail later.
for p in 18080 18480 15020 15021 15022; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "demo: port $p on 127.0.0.1 is in use (another demo running?); stop it first" >&2
    exit 1
  fi
done

build/restockd --check --config "$cfg"
build/restock-sim --check --config "$demo/config/sim.yaml"

# The plant as a plant manager reads it: per part the shelf now and at most,
# the days it stood worn out with no spare (stockouts). The narration keeps
# restock-sim's /sim/devices in $demo/plant.json (Ctrl-C stops restock-sim
# too, so the summary at the end reads the last copy).
plant_fetch() {
  /usr/bin/python3 - "$demo/plant.json" <<'PY' 2>/dev/null || true
import os, sys, urllib.request
data = urllib.request.urlopen("http://127.0.0.1:18480/sim/devices", timeout=2).read()
with open(sys.argv[1] + ".tmp", "wb") as f:
    f.write(data)
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
PY
}
plant_summary() {
  /usr/bin/python3 - "$demo/plant.json" <<'PY' 2>/dev/null || echo "demo: (no plant summary yet)"
import json, sys
d = json.load(open(sys.argv[1]))
ks = [(dev["id"] + "/" + k["id"], k) for dev in d["devices"] for k in dev["consumables"]]
empty = [(n, k) for n, k in ks if k["stockouts"]]
print("plant at %s (simulated):" % d["sim_time"])
print("  %-32s %5s %5s %6s %6s %9s" % ("part", "shelf", "max", "fitted", "early", "days empty"))
for n, k in ks:
    print("  %-32s %5d %5d %6d %6d %9.1f" % (n, k["shelf"], k["shelf_max"], k["replacements"],
                                              k["early_deliveries"], k["empty_seconds"] / 86400))
if empty:
    print("  %d part(s) ran empty with no spare: %s" % (len(empty), ", ".join(
        "%s %.1f days" % (n, k["empty_seconds"] / 86400) for n, k in empty)))
else:
    print("  no part ran empty")
PY
}

pids=()
stop() { # exit code
  trap - INT TERM EXIT
  echo
  plant_summary
  echo "demo: stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "demo: stopped; state and logs are in $demo"
  exit "${1:-0}"
}
trap 'stop 0' INT TERM
trap 'stop $?' EXIT

build/restock-sim --config "$demo/config/sim.yaml" --time-scale "$scale" \
  >"$demo/sim.out" 2>"$demo/sim.log" &
pids+=($!)
for _ in $(seq 100); do
  grep -q "shop listening" "$demo/sim.out" 2>/dev/null && break
  sleep 0.1
done
if ! grep -q "shop listening" "$demo/sim.out"; then
  echo "demo: restock-sim did not start:" >&2
  tail -n 20 "$demo/sim.log" >&2
  stop 1
fi

build/restockd --config "$cfg" --time-scale "$scale" 2>"$demo/restockd.log" &
pids+=($!)

cat <<MSG

restock demo is running (time x$scale: a simulated week per real minute).

  status page    http://127.0.0.1:18080/
  JSON API       http://127.0.0.1:18080/api/v1/status
  metrics        http://127.0.0.1:18080/metrics
  approval mails $state/mail/   (each holds the approval link)
  logs           $demo/restockd.log, $demo/sim.log
  CLI            build/restockctl --config $cfg orders
                 build/restockctl --url http://127.0.0.1:18080 status

Within about three minutes: predictions move; the low inks go out in one
batched, auto-approved order; the bearing order waits for your approval with
its mail. Open the link from the mail in a browser and press Approve (or run
'build/restockctl --config $cfg orders approve ID'), then watch it ship and
arrive on the shelf; a spare is fitted when the installed part is worn out.
A part that runs empty with no spare is called out (a stockout); every
simulated four weeks, and at Ctrl-C, a plant summary shows each part's shelf
and days empty (also at http://127.0.0.1:18480/sim/devices).

MSG

# Narrate what happens: order state changes and new approval mails.
declare -A seen_state=()
declare -A seen_mail=()
while true; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      # Ctrl-C reaches the whole process group: a clean exit is that stop.
      if wait "$pid" 2>/dev/null; then
        stop 0
      fi
      echo "demo: a process failed; last log lines:" >&2
      tail -n 15 "$demo/restockd.log" "$demo/sim.log" >&2
      stop 1
    fi
  done
  if out=$(build/restockctl --config "$cfg" orders list --json 2>/dev/null); then
    while IFS=$'\t' read -r id st sup total; do
      [ -n "$id" ] || continue
      if [ "${seen_state[$id]:-}" != "$st" ]; then
        seen_state[$id]=$st
        printf '%s  order %s (%s, %s EUR): %s\n' "$(date +%T)" "$id" "$sup" "$total" "$st"
      fi
    done < <(printf '%s' "$out" | /usr/bin/python3 -c '
import json, sys
for o in json.load(sys.stdin).get("orders", []):
    print("\t".join([o["id"], o["state"], o["supplier"], o["total"]]))' 2>/dev/null)
  fi
  for m in "$state"/mail/*; do
    [ -f "$m" ] || continue
    if [ -z "${seen_mail[$m]:-}" ]; then
      seen_mail[$m]=1
      # the mail is MIME (quoted-printable): read subject and link as a mail client would
      said=$(/usr/bin/python3 - "$m" <<'PY' 2>/dev/null || true
import email, re, sys
from email import policy
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
body = msg.get_body(preferencelist=("plain",))
m = re.search(r"https?://\S+/approve/[A-Za-z0-9_-]+", body.get_content() if body else "")
subject = re.sub(r"^\[[^]]*\] *", "", str(msg["subject"] or ""))
print(subject + ("\n          open " + m.group(0) if m else ""))
PY
)
      printf '%s  mail: %s\n' "$(date +%T)" "$said"
    fi
  done
  # the plant: stockouts start and end (restock-sim's log)
  # (each log read once: a line written between a count and a second read was
  # printed twice)
  lines=$(grep -E "no spare is on the shelf|a spare arrived after" "$demo/sim.log" 2>/dev/null || true)
  n=$(printf '%s' "$lines" | grep -c '' || true)
  if [ "${n:-0}" -gt "${stockout_lines:-0}" ]; then
    printf '%s\n' "$lines" |
      tail -n +"$(( ${stockout_lines:-0} + 1 ))" |
      sed -e 's/^<[0-9]>sim: //' -e "s/^/$(date +%T)  STOCKOUT: /" -e 's/STOCKOUT: \(.*spare arrived\)/back in stock: \1/'
    stockout_lines=$n
  fi
  # a plant summary every four simulated weeks
  plant_fetch
  now=$(date +%s)
  if [ $(( now - ${last_summary:=$now} )) -ge $(( 4 * 604800 / scale + 1 )) ]; then
    plant_summary
    last_summary=$now
  fi
  lines=$(grep "replacement detected" "$demo/restockd.log" 2>/dev/null || true)
  n=$(printf '%s' "$lines" | grep -c '' || true)
  if [ "${n:-0}" -gt "${replacements:-0}" ]; then
    printf '%s\n' "$lines" | tail -n +"$(( ${replacements:-0} + 1 ))" |
      sed -e 's/^<[0-9]>//' -e "s/^/$(date +%T)  /"
    replacements=$n
  fi
  sleep 2
done
