#!/usr/bin/env bash
# Per-request set-up cost of the prover sandbox (bench/sandbox_bench.c): a
# static program that exits at once, spawned plainly and inside the sandbox
# (full, and each group of parts alone). Target: under 5 ms per request.
#   sudo bash bench/sandbox.sh [BUILD_DIR] [N]     (default build/gcc, 300)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/gcc}
n=${2:-300}
[ "$(id -u)" = 0 ] || { echo "run as root (namespaces, another uid)"; exit 77; }
for lib in sandbox core; do
  [ -f "$build/lib/$lib/libteerex_$lib.a" ] || { echo "build $build first (teerex_sandbox)"; exit 2; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
chmod 755 "$out"
printf 'int main(void) { return 0; }\n' | cc -static -O2 -x c - -o "$out/true"
cc -O2 -std=gnu11 -D_GNU_SOURCE -Iinclude bench/sandbox_bench.c "$build/lib/sandbox/libteerex_sandbox.a" \
  "$build/lib/core/libteerex_core.a" $(pkg-config --libs libseccomp jansson libcrypto) -lpthread \
  -o "$out/bench"
echo "== $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$out/bench" "$out/true" "$n"
