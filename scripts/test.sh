#!/usr/bin/env bash
# README command two: installs everything, builds, and runs the whole suite
# three times: gcc -Werror (unit, interop, integration, fuzz-corpus replay),
# clang ASan+UBSan (the same tests), and valgrind (tests labelled valgrind).
# Prints one closing line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

total_pass=0
total_fail=0
status=0
run_suite() { # flavour, ctest args...
  local flavour=$1; shift
  echo "=== $flavour: build"
  bash scripts/build.sh "$flavour"
  echo "=== $flavour: test"
  local log="build/$flavour/ctest.log"
  set +e
  (cd "build/$flavour" && ctest --output-on-failure -j2 "$@") 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  local line pass fail
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1 || true)
  if [ -z "$line" ]; then
    echo "=== $flavour: ctest printed no summary" >&2
    status=1
    total_fail=$((total_fail + 1))
    return
  fi
  fail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+)/\1/')
  pass=$(( $(echo "$line" | sed -E 's/.* out of ([0-9]+)/\1/') - fail ))
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
  [ "$rc" -eq 0 ] || status=1
}

run_suite gcc
run_suite asan
run_suite valgrind -L valgrind

echo "suites: gcc, asan (ASan+UBSan), valgrind"
echo "${total_pass} passed, ${total_fail} failed"
exit $status
