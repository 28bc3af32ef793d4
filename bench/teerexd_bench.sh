#!/usr/bin/env bash
# teerexd benchmarks: wrk on /health and /attestation (standard mode), /prove
# overhead with an instant fake prover (1 and 16 MiB), peak RSS, cold start.
#   bash bench/teerexd_bench.sh [BUILD_DIR]     (default build/gcc)
# Needs wrk (Debian package) and node with tests/interop/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/gcc}
bin=$build/src/teerexd/teerexd
[ -x "$bin" ] || { echo "no $bin (build it first)"; exit 2; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk"; exit 2; }
log=$(mktemp)
LISTEN=tcp:127.0.0.1:0 BB_BINARY_PATH=/bin/true RATE_LIMIT_MAX=0 LOG_LEVEL=info "$bin" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '"ready"' "$log" && break; sleep 0.05; done
port=$(grep -o '"port":[0-9]*' "$log" | head -1 | cut -d: -f2)
for path in /health /attestation; do
  for conns in 2 50; do
    echo "=== wrk -t2 -c$conns -d10s --latency http://127.0.0.1:$port$path"
    wrk -t2 -c"$conns" -d10s --latency "http://127.0.0.1:$port$path" | grep -E 'Requests/sec|^ +(50|99)%|Non-2xx|Socket errors'
  done
done
echo "=== peak RSS after wrk: $(grep VmHWM /proc/$pid/status)"
kill $pid; wait $pid 2>/dev/null || true
trap 'rm -f "$log"' EXIT
echo "=== node bench/teerexd_prove_bench.mjs $bin 10"
node bench/teerexd_prove_bench.mjs "$bin" 10
