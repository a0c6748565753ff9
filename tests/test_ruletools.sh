#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# restockctl test-rules and replay as an operator runs them:
#   test_ruletools.sh RESTOCKCTL SOURCE_DIR
# 1. a test file whose expectation is wrong exits 1 and prints expected
#    against got; a malformed test file exits 2 with file:line:column;
# 2. replay of a generated CSV is byte-identical on two runs, with
#    predictions every --every and order events;
# 3. replay of a CSV with bad rows exits 2 naming each bad line;
# 4. every YAML example of docs/rules.md loads: rules pass `restockctl
#    check` in an example plant, the test-file example passes test-rules,
#    and each worked example shows the rules its directory runs in CI.
set -u
CTL=$1
SRC=$2
EX=$SRC/docs/examples/rules
. "$(dirname "$0")/testcheck.sh"

# ---- 1. a failing rule test ------------------------------------------------
sed -e "s|config: plant|config: $EX/water-filter/plant|" \
    -e "s|rule_files: \[rules.yaml\]|rule_files: [$EX/water-filter/rules.yaml]|" \
    -e 's/at: 25h/at: 24h/' "$EX/water-filter/test.yaml" > "$T/wrong.yaml"
"$CTL" test-rules "$T/wrong.yaml" > "$T/wrong.out" 2> "$T/wrong.err"
rc=$?
check "wrong expectation exits 1" test "$rc" -eq 1
check "names the failed case" has "$T/wrong.out" "FAIL $T/wrong.yaml: a pack is ordered when 30 litres are left"
check "prints expected" has "$T/wrong.out" "expected: at 1d       kitchen-tap/cartridge  sku BR-MAXTRA-3  quantity 3  rule cartridge-low  [$T/wrong.yaml:15:9]"
check "prints got" has "$T/wrong.out" "got: at 1d1h     kitchen-tap/cartridge  sku BR-MAXTRA-3  quantity 3  rule cartridge-low"
check "other cases pass" has "$T/wrong.out" "PASS $T/wrong.yaml: nothing while the cartridge is fresh"
check "summary line" has "$T/wrong.out" "test-rules: 2 passed, 1 failed"

# an order where none is expected is reported as unexpected
sed -e 's/level_pct <= 20/level_pct <= 95/' "$EX/water-filter/rules.yaml" > "$T/eager.yaml"
sed -e "s|config: plant|config: $EX/water-filter/plant|" \
    -e "s|rule_files: \[rules.yaml\]|rule_files: [$T/eager.yaml]|" \
    "$EX/water-filter/test.yaml" > "$T/eager-test.yaml"
"$CTL" test-rules "$T/eager-test.yaml" > "$T/eager.out" 2>&1
rc=$?
check "eager rule exits 1" test "$rc" -eq 1
check "unexpected line" has "$T/eager.out" "unexpected: at 3h       kitchen-tap/cartridge  sku BR-MAXTRA-3  quantity 3  rule cartridge-low"

# a malformed test file: exit 2, file:line:column, key path, what was expected
cat > "$T/bad.yaml" <<YAML
config: $EX/water-filter/plant
tests:
  - name: bad
    interval: 1h
    series:
      - consumable: kitchen-tap/cartridge
        values: 0+5x40 banana
    orderz: []
YAML
"$CTL" test-rules "$T/bad.yaml" > "$T/bad.out" 2> "$T/bad.err"
rc=$?
check "malformed test file exits 2" test "$rc" -eq 2
check "bad series token" has "$T/bad.err" "$T/bad.yaml:7:24: tests[0].series[0].values: 'banana' is not a sample"
check "unknown key" has "$T/bad.err" "$T/bad.yaml:8:5: tests[0]: unknown key 'orderz' (did you mean 'orders'?)"
# a dangling consumable is named with a suggestion
sed -e 's/banana//' -e 's/orderz/orders/' -e 's|consumable: kitchen-tap/cartridge|consumable: kitchen-tap/cartrige|' \
    "$T/bad.yaml" > "$T/dangling.yaml"
"$CTL" test-rules "$T/dangling.yaml" > /dev/null 2> "$T/dangling.err"
rc=$?
check "dangling consumable exits 2" test "$rc" -eq 2
check "dangling consumable message" has "$T/dangling.err" "$T/dangling.yaml:6:9: tests[0].series[0]: no consumable 'kitchen-tap/cartrige' in the plant (did you mean 'kitchen-tap/cartridge'?)"

# ---- 2. replay is deterministic -------------------------------------------
# two weeks of hourly ink levels with a wobble, a refill of black on day 5,
# CRLF line ends and quoted fields, written by this test
awk 'BEGIN {
  printf "time,device,point,value\r\n";
  t0 = 1767571200;
  for(i = 0; i < 336; i++) {
    c = 100 - i * 0.4 + 0.3 * sin(i * 1.7);
    k = (i < 120 ? 100 - i * 0.7 : 100 - (i - 120) * 0.7) + 0.2 * sin(i * 2.3);
    if(c < 0) c = 0;
    if(k < 0) k = 0;
    printf "%d,printer-2f,cyan,%.2f\r\n", t0 + i * 3600, c;
    printf "\"%d\",\"printer-2f\",\"black\",\"%.2f\"\r\n", t0 + i * 3600, k;
  }
}' > "$T/ink.csv"
"$CTL" replay --config "$EX/ink/plant" --readings "$T/ink.csv" --every 6h > "$T/r1.out" 2> "$T/r1.err"
rc1=$?
"$CTL" replay --config "$EX/ink/plant" --readings "$T/ink.csv" --every 6h > "$T/r2.out" 2> "$T/r2.err"
rc2=$?
check "replay exits 0" test "$rc1" -eq 0 -a "$rc2" -eq 0
check "replay output is byte-identical" cmp -s "$T/r1.out" "$T/r2.out"
# 336 hours from 00:00: ticks at 0h, 6h, ..., 330h = 56 ticks, two consumables
n=$(grep -c '"event":"prediction"' "$T/r1.out")
check "a prediction per consumable every 6h (got $n)" test "$n" -eq 112
check "first prediction" has "$T/r1.out" '{"time":"2026-01-05T00:00:00Z","event":"prediction","consumable":"printer-2f/ink-cyan","level_pct":'
check "an order event" has "$T/r1.out" '"event":"order","id":"R-2026'
check "deterministic order id" has "$T/r1.out" '-REPLAY","state":"draft","supplier":"printshop","lines":[{"consumable":"printer-2f/ink-'
# the plant calendar of the config (restock.yaml calendar.closed): a prediction made
# before a planned 3-day closure that the part outlasts gets 3 more days_left
cp -r "$EX/ink/plant" "$T/calplant"
printf 'calendar:\n  closed:\n    - {from: 2026-01-10, to: 2026-01-12, name: stocktaking}\n' \
  >> "$T/calplant/restock.yaml"
"$CTL" replay --config "$T/calplant" --readings "$T/ink.csv" --every 6h > "$T/rc.out" 2> "$T/rc.err"
rc=$?
check "replay with a calendar exits 0" test "$rc" -eq 0
dl() { grep '"time":"2026-01-06T00:00:00Z","event":"prediction","consumable":"printer-2f/ink-cyan"' "$1" |
  sed 's/.*"days_left":\([0-9.]*\),.*/\1/'; }
d0=$(dl "$T/r1.out")
d1=$(dl "$T/rc.out")
check "the closure ahead adds its 3 days to days_left ($d0 -> $d1)" \
  awk -v a="$d0" -v b="$d1" 'BEGIN { exit !(a > 4 && b - a > 2.995 && b - a < 3.005) }'
# --every changes the prediction cadence only
"$CTL" replay --config "$EX/ink/plant" --readings "$T/ink.csv" --every 1d > "$T/r3.out" 2>&1
n=$(grep -c '"event":"prediction"' "$T/r3.out")
check "--every 1d gives 14 ticks x 2 (got $n)" test "$n" -eq 28
# a cartridge swapped with no spare on the books: the core's warning reaches the
# operator as a command's line ("restockctl: warning: ..."), not the journal's "<4>"
awk 'BEGIN { printf "time,device,point,value\n";
  for(i = 0; i < 96; i++) printf "%d,printer-2f,cyan,%.2f\n", 1767571200 + i * 3600, i < 48 ? 60 - i * 0.4 : 100 - (i - 48) * 0.4; }' > "$T/fit.csv"
"$CTL" replay --config "$EX/ink/plant" --readings "$T/fit.csv" --every 1d > /dev/null 2> "$T/fit.err"
check "an unexpected fit is warned about as restockctl's own line" has "$T/fit.err" \
  "restockctl: warning: consumable printer-2f/ink-cyan: unknown_part_fitted: a part was fitted with no spare on the books"
check "no journal priority prefix on restockctl's stderr" sh -c "! grep -q '^<[0-7]>' '$T/fit.err'"

# ---- 3. bad rows -----------------------------------------------------------
printf 'time,device,point,value\n2026-01-05T00:00:00Z,printer-2f,cyan,50\nsoon,printer-2f,cyan,50\n1767571200,printer-2f,magenta,50\n1767571200,printer-2f,cyan,lots\n1767571200,printer-2f,cyan\n"1767571200,printer-2f,cyan,4\n' > "$T/bad.csv"
"$CTL" replay --config "$EX/ink/plant" --readings "$T/bad.csv" > "$T/bad.out" 2> "$T/badcsv.err"
rc=$?
check "bad CSV exits 2" test "$rc" -eq 2
check "bad CSV prints nothing" test ! -s "$T/bad.out"
check "bad time" has "$T/badcsv.err" "$T/bad.csv:3: time 'soon' is neither RFC 3339 (2026-05-01T08:00:00Z) nor Unix seconds"
check "bad point" has "$T/badcsv.err" "$T/bad.csv:4: device printer-2f has no point 'magenta'"
check "bad value" has "$T/badcsv.err" "$T/bad.csv:5: value 'lots' is not a number (decimal, or true/false)"
check "short row" has "$T/badcsv.err" "$T/bad.csv:6: expected 4 fields (time,device,point,value), found 3"
check "open quote" has "$T/badcsv.err" "$T/bad.csv:7: a quoted field is not closed before the end of the file"
printf 'when,device,point,value\n' > "$T/hdr.csv"
"$CTL" replay --config "$EX/ink/plant" --readings "$T/hdr.csv" > /dev/null 2> "$T/hdr.err"
rc=$?
check "bad header exits 2" test "$rc" -eq 2
check "bad header" has "$T/hdr.err" "$T/hdr.csv:1: the header must be time,device,point,value"
"$CTL" replay --config "$EX/ink/plant" > /dev/null 2>&1
rc=$?
check "replay without --readings exits 2" test "$rc" -eq 2

# ---- 4. the YAML examples of docs/rules.md ---------------------------------
# Blocks are numbered in order; a block under a "### N. ...(examples/rules/D/)"
# heading is that worked example's rules.
awk -v dir="$T" '
  /^### [0-9]+\. .*\(examples\/rules\/[a-z-]+\/\)/ {
    ex = $0; sub(/.*\(examples\/rules\//, "", ex); sub(/\/\).*/, "", ex) }
  /^## / { ex = "" }
  /^```yaml/ { n++; f = dir "/docblock-" n ".yaml"; printf "" > f; if(ex != "") print ex > (f ".example"); ex = ""; inb = 1; next }
  /^```/ { inb = 0; next }
  inb { print > f }
' "$SRC/docs/rules.md"
nblocks=0
strip() { sed -e 's/[[:space:]]*#.*$//' -e '/^[[:space:]]*$/d' "$1"; }
for b in "$T"/docblock-*.yaml; do
  nblocks=$((nblocks + 1))
  first=$(sed -n '1{s/:.*//;p;}' "$b")
  case "$first" in
  rules|"- name")
    # a rules file, or a list of rules to put under rules:
    cp -r "$EX/ink/plant" "$b.d"
    mkdir -p "$b.d/rules.d"
    if [ "$first" = rules ]; then cp "$b" "$b.d/rules.d/doc.yaml"; else
      { echo "rules:"; cat "$b"; } > "$b.d/rules.d/doc.yaml"; fi
    "$CTL" --config "$b.d" check > "$b.out" 2> "$b.err"
    rc=$?
    check "docs/rules.md block $(basename "$b") loads (restockctl check exits $rc)" test "$rc" -eq 0
    check "docs/rules.md block $(basename "$b"): no error" sh -c "! grep -v '^warning:' '$b.err' | grep -q ."
    ;;
  config)
    # the test-file format: run it beside the worked example whose plant it names
    cons=$(sed -n 's/^ *- consumable: *\([^ ]*\).*/\1/p' "$b" | head -n 1)
    exdir=$(grep -l -- "$cons" "$EX"/*/test.yaml | head -n 1)
    exdir=${exdir%/test.yaml}
    check "docs/rules.md block $(basename "$b"): an example runs $cons" test -n "$exdir"
    cp -r "$exdir" "$b.d"
    cp "$b" "$b.d/doc-test.yaml"
    "$CTL" test-rules "$b.d/doc-test.yaml" > "$b.out" 2>&1
    rc=$?
    check "docs/rules.md block $(basename "$b") passes test-rules (exit $rc)" test "$rc" -eq 0
    ;;
  *)
    check "docs/rules.md block $(basename "$b") is a rules file or a test file (starts '$first')" false
    ;;
  esac
  if [ -f "$b.example" ]; then
    ex=$(cat "$b.example")
    strip "$b" > "$b.stripped"
    strip "$EX/$ex/rules.yaml" > "$b.file"
    check "docs/rules.md shows examples/rules/$ex/rules.yaml" cmp -s "$b.stripped" "$b.file"
  fi
done
check "docs/rules.md has YAML examples (found $nblocks)" test "$nblocks" -ge 9
nex=$(ls "$T"/docblock-*.yaml.example 2>/dev/null | wc -l)
check "docs/rules.md shows the six worked examples (found $nex)" test "$nex" -eq 6

check_end ruletools
