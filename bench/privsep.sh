#!/usr/bin/env bash
# The cost of separating the private key from HTTP/JSON parsing (OpenSSH-style
# key holder), see bench/privsep_bench.c and docs/THREAT-MODEL.md.
#   bash bench/privsep.sh [BUILD_DIR] [N]     (default build/gcc, 21)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/gcc}
n=${2:-21}
for lib in pgp core; do
  [ -f "$build/lib/$lib/libteerex_$lib.a" ] || { echo "build $build first (teerex_pgp)"; exit 2; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O2 -std=gnu11 -Iinclude bench/privsep_bench.c "$build/lib/pgp/libteerex_pgp.a" \
  "$build/lib/core/libteerex_core.a" $(pkg-config --libs jansson libcrypto zlib) -lpthread \
  -o "$out/bench"
echo "== $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); median of $n, ms"
"$out/bench" "$n"
