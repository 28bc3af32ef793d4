#!/usr/bin/env bash
# scripts/demo.sh end to end with a small circuit (DEMO_PERMS, default 8):
# teerexd nitro-emulated under teerex-init with the real bb, teerex prove
# with attestation, PCR0 and bb digest pinned, then the unmodified
# `bb verify` against the real CRS slice. Skips without the prerequisites.
set -euo pipefail
B=${TR_BUILD_DIR:?run through ctest}
S=${TR_SOURCE_DIR:?run through ctest}
SHARED=${TEEREX_SHARED:-$S/../shared}
skip() { echo "SKIP: $*"; exit 77; }
[ -x "$S/demo/node_modules/@aztec/bb.js/build/amd64-linux/bb" ] || skip "no native bb (npm ci in demo/)"
[ -d "$S/demo/node_modules/@noir-lang/noir_wasm" ] || skip "no noir_wasm (npm ci in demo/)"
[ -n "${CRS_PATH:-}" ] || [ -f "$SHARED/crs/bn254_g1.dat" ] || skip "no CRS (CRS_PATH or \$TEEREX_SHARED/crs)"
[ -x "$B/src/teerexd/teerexd" ] && [ -x "$B/src/teerex/teerex" ] || skip "teerexd/teerex not built"
W=$(mktemp -d /tmp/teerex-demo-test.XXXXXX)
trap 'rm -rf "$W"' EXIT
DEMO_PERMS=${DEMO_PERMS:-8} DEMO_SKIP_SETUP=1 DEMO_SKIP_BUILD=1 DEMO_BUILD_DIR="$B" DEMO_WORK="$W" \
  bash "$S/scripts/demo.sh" >"$W/demo.out" 2>&1 || { cat "$W/demo.out"; echo "FAIL: demo"; exit 1; }
cat "$W/demo.out"
grep -q "bb verify     OK" "$W/demo.out" || { echo "FAIL: no bb verify OK line"; exit 1; }
grep -q "^attestation   verified" "$W/demo.out" || { echo "FAIL: demo fell back to standard mode"; exit 1; }
echo "demo_small: ok"
