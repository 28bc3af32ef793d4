#!/usr/bin/env bash
# End-to-end POST /prove with curl (issue 13's "Done when"): teerexd in
# standard mode, the instant fake prover of tests/integration/teerexd/fake-bb,
# 1 MiB and 16 MiB prover inputs encrypted once by openpgp.js 6 exactly as the
# SDK does (aeadProtect), then RUNS timed POSTs of the same body per size (one
# untimed warm-up first). Prints per size:
#   - curl's time_total: median, min, max and spread (max/median);
#   - the prover's own share (x-prove-duration-ms, median: the fake hashes its
#     input with sha256sum, so it is not free) and time_total minus it per run;
#   - teerexd's peak RSS growth: VmHWM after the runs minus VmRSS before the
#     first /prove (a fresh teerexd per size), in KiB and as a multiple of the
#     body.
# Not a test; compare figures only within one run (the VM is noisy).
#   bash bench/prove_e2e.sh [BUILD_DIR] [RUNS]    (default build/gcc, 10)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/gcc}
runs=${2:-10}
bin=$build/src/teerexd/teerexd
[ -x "$bin" ] || { echo "no $bin (build it first: bash scripts/build.sh gcc)" >&2; exit 2; }
[ "$runs" -ge 1 ] 2>/dev/null || { echo "RUNS must be a positive number" >&2; exit 2; }
for tool in curl node; do
  command -v "$tool" >/dev/null || { echo "$tool missing (bash scripts/setup.sh)" >&2; exit 2; }
done
[ -d tests/interop/node_modules/openpgp ] || { echo "openpgp.js missing (bash scripts/setup.sh)" >&2; exit 2; }

work=$(mktemp -d /tmp/prove-e2e.XXXXXX)
pid=""
stop() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  fi
}
trap 'stop; rm -rf "$work"' EXIT
# The fake bb writes its logs next to itself: a private copy keeps the tree clean.
# teerexd runs the prover sandboxed as another uid (PROVER_UID, 65534): it must
# reach the binary and may write its logs there.
mkdir "$work/bb-dir"
cp tests/integration/teerexd/fake-bb/bb "$work/bb-dir/bb"
chmod 0755 "$work" "$work/bb-dir/bb"
chmod 1777 "$work/bb-dir"
# The start-up checks want a CRS (readiness.c); the fake prover needs none.
sh tests/integration/fake-crs.sh "$work/crs"
chmod -R a+rX "$work/crs"

kib() { awk -v k="$1" '/^'"$1"':/ {print $2}' "/proc/$pid/status"; }

start() {
  : >"$work/log"
  LISTEN=tcp:127.0.0.1:0 BB_BINARY_PATH="$work/bb-dir/bb" CRS_PATH="$work/crs" RATE_LIMIT_MAX=0 \
    MAX_BODY_BYTES=$((64 << 20)) \
    LOG_LEVEL=info "$bin" 2>"$work/log" &
  pid=$!
  for _ in $(seq 200); do grep -q '"ready"' "$work/log" && break; sleep 0.05; done
  grep -q '"ready"' "$work/log" || { echo "teerexd did not start:" >&2; cat "$work/log" >&2; exit 1; }
  port=$(grep -o '"port":[0-9]*' "$work/log" | head -1 | cut -d: -f2)
  url=http://127.0.0.1:$port
}

# Body {"data":"<base64>"} for MIB MiB of random input, encrypted to the
# running server's attested key with the SDK's openpgp.js settings.
make_body() {
  node --input-type=module -e '
    import { randomBytes } from "node:crypto";
    import { writeFileSync } from "node:fs";
    const [, , lib, url, mib, out] = process.argv; // argv[1] is "-": sdk-client.mjs then stays a library
    const { fetchAttestation, encryptFor } = await import(lib);
    const att = await fetchAttestation(url);
    const enc = await encryptFor(att.publicKey, randomBytes(Number(mib) << 20));
    writeFileSync(out, JSON.stringify({ data: enc.toString("base64") }));
  ' - "$PWD/tests/interop/sdk/sdk-client.mjs" "$url" "$1" "$2"
}

post() {
  curl -sS -o "$work/resp" -D "$work/hdr" -w '%{http_code} %{time_total}\n' \
    -H 'Content-Type: application/json' --data-binary @"$1" "$url/prove"
}

# median/min/max of the numbers on stdin (one per line), in ms with 1 decimal.
stats() {
  sort -g | awk '{v[NR] = $1} END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
    printf "%.1f %.1f %.1f %.2f\n", m, v[1], v[NR], v[NR] / m }'
}

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then dirty="+changes"; fi
echo "== bench/prove_e2e.sh: $bin (commit $commit$dirty), $runs runs per size, $(nproc) CPUs"
printf '%-6s %10s %26s %7s %9s %26s %9s %10s %7s\n' size body_bytes "time_total ms med [min-max]" \
  spread "prover ms" "minus prover med [min-max]" "RSS0 KiB" "growth KiB" "x body"
for mib in 1 16; do
  start
  make_body "$mib" "$work/body.json"
  body_bytes=$(stat -c %s "$work/body.json")
  rss0=$(kib VmRSS)
  read -r code _ < <(post "$work/body.json")
  [ "$code" = 200 ] || { echo "warm-up /prove answered $code: $(head -c 300 "$work/resp")" >&2; exit 1; }
  : >"$work/times"
  : >"$work/prover"
  : >"$work/overhead"
  for _ in $(seq "$runs"); do
    read -r code t < <(post "$work/body.json")
    [ "$code" = 200 ] || { echo "/prove answered $code: $(head -c 300 "$work/resp")" >&2; exit 1; }
    p=$(tr -d '\r' <"$work/hdr" | awk -F': ' 'tolower($1) == "x-prove-duration-ms" {print $2}')
    awk -v t="$t" 'BEGIN {print t * 1000}' >>"$work/times"
    echo "${p:-0}" >>"$work/prover"
    awk -v t="$t" -v p="${p:-0}" 'BEGIN {print t * 1000 - p}' >>"$work/overhead"
  done
  hwm=$(kib VmHWM)
  read -r med min max spread < <(stats <"$work/times")
  read -r pmed _ < <(stats <"$work/prover")
  read -r omed omin omax _ < <(stats <"$work/overhead")
  growth=$((hwm - rss0))
  ratio=$(awk -v g="$growth" -v b="$body_bytes" 'BEGIN {printf "%.2f", g * 1024 / b}')
  printf '%-6s %10s %26s %7s %9s %26s %9s %10s %7s\n' "${mib}MiB" "$body_bytes" "$med [$min-$max]" \
    "$spread" "$pmed" "$omed [$omin-$omax]" "$rss0" "$growth" "$ratio"
  stop
done
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg)"
