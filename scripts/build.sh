#!/usr/bin/env bash
# Configures and builds one flavour of the tree into build/<flavour>.
#   gcc      -Wall -Wextra -Werror, RelWithDebInfo (the default)
#   asan     clang, AddressSanitizer + UndefinedBehaviorSanitizer
#   valgrind gcc, unit/fuzz-replay tests and servers run under valgrind
#   fuzz     clang, libFuzzer targets (see scripts/fuzz.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-gcc}
case "$flavour" in
  gcc) args=(-DCMAKE_C_COMPILER=gcc) ;;
  asan) args=(-DCMAKE_C_COMPILER=clang -DTR_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug) ;;
  valgrind) args=(-DCMAKE_C_COMPILER=gcc -DTR_VALGRIND=ON) ;;
  fuzz) args=(-DCMAKE_C_COMPILER=clang -DTR_SANITIZE=ON -DTR_FUZZ=ON) ;;
  *) echo "usage: scripts/build.sh [gcc|asan|valgrind|fuzz]" >&2; exit 2 ;;
esac
cmake -S . -B "build/$flavour" -DTR_WERROR=ON "${args[@]}" >/dev/null
cmake --build "build/$flavour" -j"$(nproc)"
