#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite: install what is needed, build, run every ctest test
# normally and again under AddressSanitizer + UndefinedBehaviorSanitizer,
# run each libFuzzer target for a bounded time, then build the Debian
# package and check it (lintian, systemd-analyze security, an install and
# purge in a throwaway root).
#
# Environment:
#   RESTOCK_FUZZ_SECONDS   seconds for the config loader fuzzer (default 60);
#                          the other fuzzers get a third of it; 0 skips fuzzing
#   RESTOCK_SKIP_ASAN=1    skip the sanitizer pass (quicker local runs)
#   RESTOCK_SKIP_PACKAGE=1 skip building and checking the Debian package
#   JOBS                   parallel build jobs (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${JOBS:-$(nproc)}
fuzz_s=${RESTOCK_FUZZ_SECONDS:-60}

scripts/deps.sh test

passed=0
failed=0
run_ctest() { # dir label
  local dir=$1 label=$2 log rc=0
  log=$(mktemp)
  echo "== ctest ($label)"
  ctest --test-dir "$dir" --output-on-failure -j2 --timeout 300 2>&1 | tee "$log" || rc=$?
  local total fails
  total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$log" | tail -n1)
  fails=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n1)
  rm -f "$log"
  if [ -z "$total" ]; then
    echo "ctest ($label) printed no summary" >&2
    failed=$((failed + 1))
    return 0
  fi
  passed=$((passed + total - fails))
  failed=$((failed + fails))
  if [ "$rc" -ne 0 ] && [ "$fails" -eq 0 ]; then
    failed=$((failed + 1))
  fi
}

echo "== build (release with debug info)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
run_ctest build normal

if [ "${RESTOCK_SKIP_ASAN:-0}" != 1 ]; then
  echo "== build (ASan + UBSan)"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRESTOCK_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest build-asan "asan+ubsan"
fi

if [ "$fuzz_s" -gt 0 ]; then
  echo "== fuzz (libFuzzer, clang)"
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DRESTOCK_FUZZ=ON -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-fuzz -j"$jobs"
  for f in build-fuzz/tests/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    secs=$((fuzz_s / 3))
    [ "$name" = fuzz_config ] && secs=$fuzz_s
    [ "$secs" -lt 5 ] && secs=5
    work=$(mktemp -d)
    seeds=()
    [ -d "tests/fuzz/corpus/${name#fuzz_}" ] && seeds+=("tests/fuzz/corpus/${name#fuzz_}")
    [ "$name" = fuzz_config ] && seeds+=(tests/fixtures/invalid tests/fixtures/valid config/examples)
    # libFuzzer takes directories of files; give it the fixture files flat.
    for s in "${seeds[@]}"; do
      find "$s" -type f -size -64k -exec cp -t "$work" {} + 2>/dev/null || true
    done
    echo "-- $name for ${secs}s"
    if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
        -artifact_prefix="$work/" "$work" >"$work/log" 2>&1; then
      passed=$((passed + 1))
      echo "$name: no crash ($(grep -c . "$work/log") log lines)"
    else
      failed=$((failed + 1))
      echo "$name: FAILED"; tail -n 40 "$work/log"
      mkdir -p "$root/build-fuzz/crashes" && cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$root/build-fuzz/crashes/" 2>/dev/null || true
    fi
    rm -rf "$work"
  done
fi

if [ "${RESTOCK_SKIP_PACKAGE:-0}" != 1 ]; then
  # The suite ran twice above: the package build itself skips it (nocheck).
  for step in "scripts/build-deb.sh --nocheck" "scripts/pkg-check.sh" "scripts/install-test.sh"; do
    echo "== $step"
    if $step; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      echo "$step: FAILED"
      break
    fi
  done
fi

echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
