#!/usr/bin/env bash
# Decrypt throughput of lib/pgp for a 16 MiB openpgp.js message
# (PKESK v6 + SEIPD v2 AES-256-OCB, openpgp.js default 256 KiB chunks,
# uncompressed) against `openssl speed -evp aes-256-ocb` on the same machine,
# in one go. Two paths: pgp_decrypt of the binary message, and the /prove
# body path (pgp_stream_update_b64 of its base64 text in 64 KiB pieces:
# base64 decoding, framing and decryption as the body arrives). Not a test.
#   bash bench/pgp_decrypt.sh [BUILD_DIR] [RUNS]   (default build/gcc, 15; needs pgp_tool)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/gcc}
runs=${2:-15}
tool=$build/tests/interop/pgp/pgp_tool
[ -x "$tool" ] || { echo "build $tool first: cmake --build $build --target pgp_tool" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tool" pubkey >"$work/key.asc"
node tests/interop/pgp/bench_encrypt.mjs "$work/key.asc" "$work/msg.pgp"
echo "== lib/pgp: pgp_decrypt of a 16 MiB openpgp.js message (in memory, $runs runs)"
ours=$("$tool" bench "$work/msg.pgp" "$runs")
echo "$ours"
echo "== lib/pgp: pgp_stream_update_b64 of its base64 text in 64 KiB pieces ($runs runs)"
ours_b64=$("$tool" bench "$work/msg.pgp" "$runs" b64)
echo "$ours_b64"
echo "== openssl speed -evp aes-256-ocb -bytes 16384 -seconds 3 (encrypt, then -decrypt)"
ossl=$(openssl speed -evp aes-256-ocb -bytes 16384 -seconds 3 2>/dev/null | tail -1)
ossl_dec=$(openssl speed -decrypt -evp aes-256-ocb -bytes 16384 -seconds 3 2>/dev/null | tail -1)
echo "$ossl"
echo "$ossl_dec (decrypt)"
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
# The last column is kB/s (1000 bytes) for 16 KiB blocks.
raw_kbs=$(echo "$ossl" | awk '{print $NF}' | tr -d k)
raw_dec_kbs=$(echo "$ossl_dec" | awk '{print $NF}' | tr -d k)
field() { echo "$1" | sed -E "s/.* $2=([0-9.]+).*/\1/"; }
# CPU time (user + system) is compared with openssl speed, which divides by
# CPU time too; wall time is shown beside it (it swings with the load).
report() { # NAME LINE
  awk -v name="$1" -v best="$(field "$2" cpu_best_mib_s)" -v med="$(field "$2" cpu_median_mib_s)" \
    -v wbest="$(field "$2" best_mib_s)" -v wmed="$(field "$2" median_mib_s)" \
    -v w="$(field "$2" cpu_worst_s)" -v m="$(field "$2" cpu_median_s)" -v raw="$raw_kbs" 'BEGIN {
    raw_mib = raw * 1000 / 1048576;
    printf "%s: CPU time best %.1f MiB/s = %.0f %% of raw, median %.1f MiB/s = %.0f %% (worst/median %.2f); wall best %.1f, median %.1f MiB/s\n",
      name, best, 100 * best / raw_mib, med, 100 * med / raw_mib, w / m, wbest, wmed }'
}
awk -v raw="$raw_kbs" -v rawd="$raw_dec_kbs" 'BEGIN {
  printf "raw cipher %.1f MiB/s (decrypt %.1f MiB/s)\n", raw * 1000 / 1048576, rawd * 1000 / 1048576 }'
report pgp_decrypt "$ours"
report "base64 stream" "$ours_b64"
awk -v touch="$(field "$ours" first_touch_s)" 'BEGIN {
  printf "first touch of a fresh 16 MiB mapping alone: %.1f ms (%.1f MiB/s)\n", touch * 1000, 16 / touch }'
