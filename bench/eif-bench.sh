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
# CPU seconds (user+sys) are printed too: wall time on a shared machine
# mostly measures the other tenants.
t0=$(date +%s.%N)
c0=$(awk '{print $16 + $17}' /proc/$$/stat)
SOURCE_DATE_EPOCH=0 "$BIN" build --kernel "$W/bzImage" --cmdline "$W/cmdline" --init "$W/init" \
  --nsm "$W/nsm.ko" --root "$W/root" --cmd /usr/bin/bb --out "$W/x.eif" > /dev/null
t1=$(date +%s.%N)
c1=$(awk '{print $16 + $17}' /proc/$$/stat)
"$BIN" describe "$W/x.eif" > /dev/null
t2=$(date +%s.%N)
c2=$(awk '{print $16 + $17}' /proc/$$/stat)
hz=$(getconf CLK_TCK)
sz=$(stat -c %s "$W/x.eif")
awk -v a="$t0" -v b="$t1" -v c="$t2" -v s="$sz" -v c0="$c0" -v c1="$c1" -v c2="$c2" -v hz="$hz" 'BEGIN {
  mb = s / 1048576; bc = (c1 - c0) / hz; dc = (c2 - c1) / hz
  printf "eif %.1f MiB  build %.2f s wall, %.2f s CPU (%.0f MiB/CPU-s)  describe %.2f s wall, %.2f s CPU (%.0f MiB/CPU-s)\n",
    mb, b - a, bc, mb / (bc > 0 ? bc : 0.01), c - b, dc, mb / (dc > 0 ? dc : 0.01) }'
