#!/usr/bin/env bash
# Runs libFuzzer targets (clang, ASan+UBSan) for a given time each.
#   scripts/fuzz.sh [SECONDS] [TARGET...]   default: 60 s, every target
# New inputs go to build/fuzz/corpus/<target>/ (the committed seeds in
# tests/fuzz/corpus/<target>/ are read, not modified); crashes to build/fuzz/.
# Per-target libFuzzer options (max_len, rss_limit_mb, ...) come from
# tests/fuzz/<target>.options ("name = value" lines, the OSS-Fuzz format);
# targets that read large inputs get large seeds made at run time by
# tests/fuzz/big_seeds.sh into build/fuzz/big-seeds/<target>/ (too big to commit).
# Prints each run's final "DONE" line and stats; exits non-zero when any
# target crashed, leaked, timed out or failed to run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
bash scripts/build.sh fuzz >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/*_fuzz.c; do b=$(basename "$f" _fuzz.c); targets+=("$b"); done
fi
failed=()
for t in "${targets[@]}"; do
  work="build/fuzz/corpus/$t"
  mkdir -p "$work"
  opts=()
  if [ -f "tests/fuzz/$t.options" ]; then
    while IFS='=' read -r k v; do
      k=${k//[[:space:]]/}
      v=${v//[[:space:]]/}
      case $k in '' | \#* | \[*) continue ;; esac
      opts+=("-$k=$v")
    done < "tests/fuzz/$t.options"
  fi
  dirs=("$PWD/$work" "$PWD/tests/fuzz/corpus/$t")
  big="build/fuzz/big-seeds/$t"
  if bash tests/fuzz/big_seeds.sh "$t" "$big" >/dev/null 2>&1 && [ -d "$big" ]; then
    dirs+=("$PWD/$big")
  fi
  echo "=== fuzz $t for ${secs}s ${opts[*]}"
  log="build/fuzz/fuzz-$t.log"
  set +e
  (cd build/fuzz && "./tests/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$PWD/crash-$t-" "${opts[@]}" "${dirs[@]}") > "$log" 2>&1
  rc=$?
  set -e
  # libFuzzer writes "#N<TAB>DONE   cov: ..." (a tab, not a space).
  grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|SUMMARY|INFO: Loaded)' "$log" || true
  if [ "$rc" -ne 0 ]; then
    echo "=== fuzz $t FAILED (exit $rc; log $log)"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ran clean"
