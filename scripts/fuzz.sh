#!/usr/bin/env bash
# Runs libFuzzer targets (clang, ASan+UBSan) for a given time each.
#   scripts/fuzz.sh [SECONDS] [TARGET...]   default: 60 s, every target
# New inputs go to build/fuzz/corpus/<target>/ (the committed seeds in
# tests/fuzz/corpus/<target>/ are read, not modified); crashes to build/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
bash scripts/build.sh fuzz >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/*_fuzz.c; do b=$(basename "$f" _fuzz.c); targets+=("$b"); done
fi
for t in "${targets[@]}"; do
  work="build/fuzz/corpus/$t"
  mkdir -p "$work"
  echo "=== fuzz $t for ${secs}s"
  (cd build/fuzz && "./tests/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
      -artifact_prefix="$PWD/crash-$t-" "$PWD/corpus/$t" "../../tests/fuzz/corpus/$t") 2>&1 |
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|SUMMARY)' || true
done
