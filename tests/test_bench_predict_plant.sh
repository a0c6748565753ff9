#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Usage: test_bench_predict_plant.sh BENCH_PREDICT
# bench_predict --suite plant on 3 traces a family: every family of the suite
# has its row, every figure is a number in its range (errors >= 0, shares
# 0-100 %, counts within the judged parts), the totals add up, the same seed
# prints the same report and another seed another; the spread of the log
# error near the end is reported with what it implies; a bad suite name is a
# usage error. Not timed (figures: docs/BENCHMARKS.md).
bench=$1
. "$(dirname "$0")/testcheck.sh"

run() { # OUT ARGS...
  out=$1
  shift
  "$bench" --suite plant --traces 3 --no-speed "$@" >"$out" 2>"$out.err"
}

check "runs" run "$T/a" --seed 2
check "says which suite" has "$T/a" "suite plant"
for fam in ink clog water bearing tyre rate-change replacement stuck; do
  check "row $fam" awk -v fam="$fam" '
    function num(x) { return x ~ /^[0-9]+(\.[0-9]+)?%?$/ }
    $1 == fam {
      found++
      if(NF != 17) { print fam ": " NF " fields: " $0; bad = 1 }
      for(i = 2; i <= NF; i++)
        if(!num($i)) { print fam ": field " i " is " $i; bad = 1 }
      for(i = 11; i <= 12; i++) { p = $i; sub(/%/, "", p); if(p + 0 > 100) bad = 1 }
      judged = $17
      if(judged < 1) { print fam ": no judged part"; bad = 1 }
      if($13 > judged || $15 > judged || $16 > judged) { print fam ": more stockouts than parts"; bad = 1 }
      for(i = 2; i <= 7; i++) if($i + 0 <= 0) { print fam ": error " i " not above 0"; bad = 1 }
    }
    END { exit !(found == 1 && !bad) }' "$T/a"
done
# the totals line counts the rows' stockouts and judged parts
check "totals add up" awk '
  $1 ~ /^(ink|clog|water|bearing|tyre|rate-change|replacement|stuck)$/ { so += $13; j += $17 }
  /stockouts [0-9]+ of [0-9]+ judged/ {
    for(i = 1; i <= NF; i++) if($i == "stockouts") { tso = $(i + 1); tj = $(i + 3) }
  }
  /^all: median error/ { all = 1; if($0 ~ /nan|inf/) bad = 1 }
  END { if(so != tso || j != tj) print "rows " so "/" j " vs total " tso "/" tj;
        exit !(all && !bad && so == tso && j == tj && j > 0) }' "$T/a"
# the spread of the log error near the end, and what calibrated bounds that
# wide would do under the rule: a spread >= 0, a share 0-100 %, and the
# spread that 10 % early allows (lead 5 days, handling 0.5, risk 5 %: 0.20)
check "spread near the end" awk '
  /robust sd of/ { for(i = 1; i <= NF; i++) if($i == "of") u = $(i + 1); sub(/:$/, "", u); s = 1 }
  /would fire/ { for(i = 1; i <= NF; i++) if($i == "fire") e = $(i + 1); sub(/%$/, "", e); f = 1 }
  /needs a spread <=/ { n = $NF; sub(/\)$/, "", n) }
  END { if(!(s && f && u ~ /^[0-9.]+$/ && u + 0 >= 0 && e ~ /^[0-9]+$/ && e + 0 <= 100 &&
             n == "0.20")) { print "spread " u " early " e " needs " n; exit 1 } }' "$T/a"
check "same seed, same report" run "$T/b" --seed 2
check "identical" cmp -s "$T/a" "$T/b"
check "another seed" run "$T/c" --seed 3
check "another report" sh -c '! cmp -s "$1" "$2"' sh "$T/a" "$T/c"
check "one family" run "$T/d" --seed 2 --family stuck
check "only that family" sh -c 'test "$(grep -c "^stuck " "$1")" = 1 && ! grep -q "^ink " "$1"' sh "$T/d"
check "bad suite" sh -c '"$1" --suite nosuch --no-speed >/dev/null 2>&1; test $? = 2' sh "$bench"
check_end bench_predict_plant
