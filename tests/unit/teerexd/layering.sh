#!/usr/bin/env bash
# teerexd's files call downwards only (docs/ARCHITECTURE.md, "The request
# path"): from the symbols each object of teerexd_lib defines and uses, the
# file graph has no cycle, and nothing in the library calls into server.c
# (only main.c does). Usage: layering.sh path/to/libteerexd_lib.a
set -euo pipefail
lib=$1
edges=$(nm -A "$lib" 2>/dev/null | awk '
    { split($1, p, ":"); f = p[2]; sub(/\.c\.o$/, "", f) }
    $(NF - 1) ~ /^[TDBR]$/ { def[$NF] = f }
    $(NF - 1) == "U" { use[f, $NF] = 1 }
    END { for (k in use) { split(k, q, SUBSEP); if ((q[2] in def) && def[q[2]] != q[1]) print q[1], def[q[2]] } }' |
    sort -u)
n=$(printf '%s\n' "$edges" | grep -c . || true)
fail=0
err=$(mktemp)
trap 'rm -f "$err"' EXIT
if [ "$n" -lt 10 ]; then
    echo "FAIL: only $n call edges found in $lib (nm output not understood?)"
    fail=1
fi
if ! printf '%s\n' "$edges" | tsort >/dev/null 2>"$err"; then
    echo "FAIL: teerexd's files call each other in a circle:"
    cat "$err"
    fail=1
fi
up=$(printf '%s\n' "$edges" | awk '$2 == "server"' || true)
if [ -n "$up" ]; then
    echo "FAIL: calls into server.c from the library: $up"
    fail=1
fi
for low in reply request; do
    bad=$(printf '%s\n' "$edges" | awk -v f="$low" '$1 == f && $2 ~ /^(routes|routes_public|routes_prove|admin|ops|server)$/' || true)
    if [ -n "$bad" ]; then
        echo "FAIL: $low.c calls up into a route: $bad"
        fail=1
    fi
done
if [ "$fail" = 0 ]; then
    echo "$n call edges between teerexd's files, no cycle"
    echo "1 passed, 0 failed"
else
    echo "0 passed, 1 failed"
fi
exit "$fail"
