# SPDX-License-Identifier: Apache-2.0
# Shared set-up of the shell tests that ctest runs as `sh tests/NAME.sh ARGS`
# (the shell counterpart of tests/testcheck.py); sourced, after the script
# has read its arguments:
#   . "$(dirname "$0")/testcheck.sh"
# It makes $T, a temporary folder (/tmp/restock-NAME-XXXXXX) removed on
# exit, sets the counters pass=0 and fail=0, and defines:
#   check NAME CMD...   runs CMD; counts a pass, or prints "FAILED: NAME"
#   failed NAME         counts a failure, printing "FAILED: NAME"
#   has FILE TEXT       true when FILE holds TEXT; otherwise prints FILE
#   check_end LABEL     prints "LABEL: N passed, M failed"; true when none failed
T=$(mktemp -d "/tmp/restock-$(basename "$0" .sh)-XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
check() { # NAME CMD...
  name=$1
  shift
  if "$@"; then pass=$((pass + 1)); else failed "$name"; fi
}
failed() { # NAME
  echo "FAILED: $1"
  fail=$((fail + 1))
}
has() { grep -qF -- "$2" "$1" || { echo "--- $1 lacks: $2"; cat "$1"; return 1; }; }
check_end() { # LABEL
  echo "$1: $pass passed, $fail failed"
  test "$fail" -eq 0
}
