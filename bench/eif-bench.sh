#!/usr/bin/env bash
# teerex-eif throughput: build and describe an EIF whose customer ramdisk
# holds a bb-sized binary (SIZE_MB, default 100) plus the CRS when present.
#   bench/eif-bench.sh [BUILD_DIR] [SIZE_MB]
set -euo pipefail
BUILD=${1:-build/gcc}
SIZE_MB=${2:-100}
BIN=$BUILD/src/teerex-eif/teerex-eif
[ -x "$BIN" ] || { echo "build teerex-eif first ($BIN)"; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
head -c $((8 << 20)) /dev/urandom > "$W/bzImage"
printf 'console=ttyS0' > "$W/cmdline"
head -c $((1 << 20)) /dev/urandom > "$W/init"
head -c 65536 /dev/urandom > "$W/nsm.ko"
mkdir -p "$W/root/usr/bin"
head -c $((SIZE_MB << 20)) /dev/urandom > "$W/root/usr/bin/bb"
chmod 755 "$W/root/usr/bin/bb"
crs=${TEEREX_SHARED:-/work/shared}/crs
[ -d "$crs" ] && { mkdir -p "$W/root/crs"; cp "$crs"/*.dat "$W/root/crs/"; }
sync
t0=$(date +%s.%N)
SOURCE_DATE_EPOCH=0 "$BIN" build --kernel "$W/bzImage" --cmdline "$W/cmdline" --init "$W/init" \
  --nsm "$W/nsm.ko" --root "$W/root" --cmd /usr/bin/bb --out "$W/x.eif" > /dev/null
t1=$(date +%s.%N)
"$BIN" describe "$W/x.eif" > /dev/null
t2=$(date +%s.%N)
sz=$(stat -c %s "$W/x.eif")
awk -v a="$t0" -v b="$t1" -v c="$t2" -v s="$sz" 'BEGIN {
  mb = s / 1048576
  printf "eif %.1f MiB  build %.2f s (%.0f MiB/s)  describe %.2f s (%.0f MiB/s)\n", mb, b - a, mb / (b - a), c - b, mb / (c - b) }'
