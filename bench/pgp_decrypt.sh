#!/usr/bin/env bash
# Decrypt throughput of lib/pgp for a 16 MiB openpgp.js message
# (PKESK v6 + SEIPD v2 AES-256-OCB, openpgp.js default 256 KiB chunks,
# uncompressed) against `openssl speed -evp aes-256-ocb` on the same machine,
# in one go. Not a test.
#   bash bench/pgp_decrypt.sh [BUILD_DIR]     (default build/gcc; needs pgp_tool)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/gcc}
tool=$build/tests/interop/pgp/pgp_tool
[ -x "$tool" ] || { echo "build $tool first: cmake --build $build --target pgp_tool" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tool" pubkey >"$work/key.asc"
node tests/interop/pgp/bench_encrypt.mjs "$work/key.asc" "$work/msg.pgp"
echo "== lib/pgp: pgp_decrypt of a 16 MiB openpgp.js message (in memory, best of 7)"
ours=$("$tool" bench "$work/msg.pgp" 7)
echo "$ours"
echo "== openssl speed -evp aes-256-ocb -bytes 16384 -seconds 3 (encrypt, then -decrypt)"
ossl=$(openssl speed -evp aes-256-ocb -bytes 16384 -seconds 3 2>/dev/null | tail -1)
ossl_dec=$(openssl speed -decrypt -evp aes-256-ocb -bytes 16384 -seconds 3 2>/dev/null | tail -1)
echo "$ossl"
echo "$ossl_dec (decrypt)"
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
# The last column is kB/s (1000 bytes) for 16 KiB blocks.
raw_kbs=$(echo "$ossl" | awk '{print $NF}' | tr -d k)
raw_dec_kbs=$(echo "$ossl_dec" | awk '{print $NF}' | tr -d k)
best=$(echo "$ours" | sed -E 's/.*best_mib_s=([0-9.]+).*/\1/')
touch_s=$(echo "$ours" | sed -E 's/.*first_touch_s=([0-9.]+).*/\1/')
awk -v best="$best" -v raw="$raw_kbs" -v rawd="$raw_dec_kbs" -v touch="$touch_s" 'BEGIN {
  raw_mib = raw * 1000 / 1048576; rawd_mib = rawd * 1000 / 1048576;
  printf "raw cipher %.1f MiB/s (decrypt %.1f MiB/s), pgp_decrypt %.1f MiB/s = %.0f %% of raw\n",
    raw_mib, rawd_mib, best, 100 * best / raw_mib;
  printf "first touch of a fresh 16 MiB mapping alone: %.1f ms (%.1f MiB/s)\n", touch * 1000, 16 / touch }'
