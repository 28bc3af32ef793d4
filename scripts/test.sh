#!/usr/bin/env bash
# README command two: installs everything, builds, and runs the whole suite
# three times: gcc -Werror (unit, interop, integration, fuzz-corpus replay),
# clang ASan+UBSan (the same tests), and valgrind (tests labelled valgrind).
# Prints one closing line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/setup.sh

# Every process the suite starts carries this mark (environment); those
# started with a clean environment are recognised by their executable,
# which lies in this checkout (build/*, node_modules/*).
TEEREX_SUITE_ID="teerex-suite-$$-$(date +%s%N)"
export TEEREX_SUITE_ID

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

# Processes the suite left behind: marked, or running a program of this
# checkout; this shell and the scan itself excluded.
leftovers() {
  local p pid exe
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = $$ ] && continue
    [ "$pid" = "$BASHPID" ] && continue
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    if [[ "$exe" == "$ROOT"/* ]] ||
       tr '\0' '\n' < "$p/environ" 2>/dev/null | grep -qxF "TEEREX_SUITE_ID=$TEEREX_SUITE_ID"; then
      echo "$pid"
    fi
  done
}
check_leftovers() {
  local left=() pid
  for _ in $(seq 10); do # a process that is on its way out gets 5 s
    mapfile -t left < <(leftovers)
    [ "${#left[@]}" = 0 ] && break
    sleep 0.5
  done
  if [ "${#left[@]}" = 0 ]; then
    echo "=== no process left behind (teerexd, teerex-init, teerex-proxy, qemu, haproxy, bb, ...)"
    total_pass=$((total_pass + 1))
    return
  fi
  echo "=== FAIL: the suite left ${#left[@]} process(es) running:" >&2
  for pid in "${left[@]}"; do
    ps -o pid=,ppid=,etime=,args= -p "$pid" >&2 || true
  done
  for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  total_fail=$((total_fail + 1))
  status=1
}

run_suite gcc
run_suite asan
run_suite valgrind -L valgrind
check_leftovers

echo "suites: gcc, asan (ASan+UBSan), valgrind; leftover-process check"
echo "${total_pass} passed, ${total_fail} failed"
exit $status
