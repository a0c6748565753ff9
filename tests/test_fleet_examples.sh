#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The fleet examples (ctest fleet_examples, docs/fleet.md):
#   - packaging/examples/prometheus/restock.rules.yml passes
#     `promtool check rules` and its unit tests `promtool test rules`;
#   - every metric the rules and the Grafana board
#     (packaging/examples/grafana/restock-fleet.json) name is one a running
#     gateway (dash_plant, 40 consumables) exports on /metrics, the board's
#     JSON is well-formed, and its expressions parse as PromQL (promtool);
#   - docs/http-api.md's Metrics table names exactly the families /metrics
#     exports.
# promtool comes from Debian's prometheus package (scripts/deps.sh test);
# without it the test is skipped (77) and says so.
#
#   test_fleet_examples.sh DASH_PLANT_BINARY SOURCE_DIR OUTDIR
set -eu
bin=$1
src=$2
out=$3
ex="$src/packaging/examples"
if ! command -v promtool >/dev/null 2>&1; then
  echo "fleet_examples: skipped (promtool missing: apt-get install prometheus)"
  exit 77
fi
rm -rf "$out"
mkdir -p "$out"
(cd "$ex/prometheus" && promtool check rules restock.rules.yml && promtool test rules restock.rules.test.yml)

"$bin" --serve 120 20 2 >"$out/plant.out" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
i=0
while ! grep -q '^READY' "$out/plant.out" 2>/dev/null; do
  i=$((i + 1))
  if [ $i -gt 600 ] || ! kill -0 $pid 2>/dev/null; then
    echo "fleet_examples: the gateway did not start" >&2
    exit 1
  fi
  sleep 0.1
done
base=$(sed -n 's/^BASE //p' "$out/plant.out")
/usr/bin/python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1] + "/metrics", timeout=30).read().decode())' "$base" >"$out/metrics.txt"
/usr/bin/python3 "$src/tests/check_fleet_examples.py" "$out/metrics.txt" \
  "$ex/prometheus/restock.rules.yml" "$ex/grafana/restock-fleet.json" "$out/grafana-exprs.yml" \
  "$src/docs/http-api.md"
promtool check rules "$out/grafana-exprs.yml"
echo "fleet_examples: OK"
