#!/usr/bin/env bash
# Verification time of a real AWS Nitro attestation document (median of N
# runs of attest_verify, at the document's own time) next to OpenSSL's
# ECDSA P-384 verify speed on the same machine. The floor is 5 verifies:
# the COSE signature plus the 4 chain signatures (root->3 intermediates->leaf).
#   bench/attest_verify.sh [BUILD_DIR] [N]     (default build/gcc, 2000)
# Needs $TEEREX_SHARED/nitro-docs (default ../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/gcc}
n=${2:-2000}
shared=${TEEREX_SHARED:-../shared}
doc="$shared/nitro-docs/2024-01-24_anjuna_attester_full_debug.cose"
[ -f "$doc" ] || { echo "skip: $doc absent"; exit 77; }
for lib in attest cose core; do
  [ -f "$build/lib/$lib/libteerex_$lib.a" ] || { echo "build $build first (teerex_attest)"; exit 2; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O2 -std=gnu11 -Iinclude bench/attest_verify_bench.c \
  "$build/lib/attest/libteerex_attest.a" "$build/lib/cose/libteerex_cose.a" \
  "$build/lib/core/libteerex_core.a" $(pkg-config --libs libcbor jansson libcrypto) -lpthread \
  -o "$out/bench"
echo "== attest_verify on $(basename "$doc") ($(stat -c %s "$doc") bytes)"
"$out/bench" "$doc" "$n"
echo "== openssl speed -seconds 3 ecdsap384"
openssl speed -seconds 3 ecdsap384 2>/dev/null | grep -E "^ *384 bits ecdsa" | tail -1 |
  awk '{ printf "sign %.1f us  verify %.1f us  (%s sign/s, %s verify/s)\n  floor (5 verifies): %.1f us\n", 1e6/$7, 1e6/$8, $7, $8, 5e6/$8 }'
