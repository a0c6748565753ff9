#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Run `restockd --check` on one config fixture and compare with what it must print.
#   run_fixtures.sh RESTOCKD invalid|valid FIXTURE_DIR
# The fixture is copied to a temporary dir first (tests never write into the
# source tree). Optional files in the fixture:
#   setup.sh        run inside the copy (generated content, modes, symlinks)
#   expected        exact stderr (required; may be empty)
#   expected_stdout exact stdout (valid fixtures; invalid ones must print nothing)
#   run-as-nobody   when running as root, run the check as uid/gid 65534 so
#                   that file permissions apply (root reads everything)
# A check still running after 45 s hung (a hang guard, never a measure of
# speed: how long a check takes is printed, not judged).
set -u
restockd=$1 mode=$2 fixture=$3
tmp=$(mktemp -d)
trap 'chmod -R u+rwX "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
cp -a "$fixture" "$tmp/cfg"
rm -f "$tmp/cfg/expected" "$tmp/cfg/expected_stdout" "$tmp/cfg/setup.sh" \
      "$tmp/cfg/run-as-nobody"

runner=()
if [ -f "$fixture/run-as-nobody" ] && [ "$(id -u)" = 0 ]; then
  chmod 755 "$tmp"
  chmod -R a+rX "$tmp/cfg"
  cp "$restockd" "$tmp/restockd"
  chmod 755 "$tmp/restockd"
  restockd="$tmp/restockd"
  runner=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
if [ -f "$fixture/setup.sh" ]; then
  (cd "$tmp/cfg" && bash "$fixture/setup.sh") || { echo "setup.sh failed"; exit 1; }
fi
limit=45

start=$(date +%s%N)
timeout "$limit" "${runner[@]}" "$restockd" --check --config "$tmp/cfg" \
  >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
end=$(date +%s%N)
fail=0
if [ "$rc" = 124 ]; then
  echo "FAIL: the check hung (still running after ${limit}s)"
  exit 1
fi
want_rc=2
[ "$mode" = valid ] && want_rc=0
if [ "$rc" != "$want_rc" ]; then
  echo "FAIL: exit code $rc, expected $want_rc"
  fail=1
fi
if ! diff -u "$fixture/expected" "$tmp/stderr"; then
  echo "FAIL: stderr differs from $fixture/expected"
  fail=1
fi
if [ -f "$fixture/expected_stdout" ]; then
  want_out="$fixture/expected_stdout"
else
  want_out=/dev/null
fi
if ! diff -u "$want_out" "$tmp/stdout"; then
  echo "FAIL: stdout differs"
  fail=1
fi
echo "check took $(( (end - start) / 1000000 )) ms"
exit $fail
