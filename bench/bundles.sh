#!/usr/bin/env bash
# Prover bundles: what provisioning a version costs, and what running bb
# through its bundled loader costs at start-up (bench/RESULTS.md, "Prover
# bundles"). Uses the inputs scripts/cache-bb-inputs.sh cached; no network
# unless --network is given.
#
#   bash bench/bundles.sh BUILD [RUNS] [--network]
#
#  1. fetch: `teerex bb fetch 4.1.2` from the cached tarball (--tarball:
#     integrity check, extraction, Debian runtime, loader closure, --version,
#     archive) — hyperfine, RUNS runs; with --network also from the real npm
#     registry with a cold cache (one download per run);
#  2. upload: `teerex bb upload` of that bundle (56 MB) to a teerexd admin
#     listener over a unix socket (digest, staging, extraction, swap) — hyperfine;
#  3. on demand: the first /prove for a version teerexd lacks, through `teerex
#     bb serve` with its store cold (build included) and warm (transfer and
#     install only), from teerexd's bb_provision_done log (RUNS fresh servers);
#  4. start-up: `bb --version` of 5.0.0 directly vs through its bundled loader,
#     and of 4.1.2 through its loader (it cannot run directly on Debian 12) —
#     hyperfine, medians and spread.
set -euo pipefail
BUILD=${1:?usage: bench/bundles.sh BUILD [RUNS] [--network]}
RUNS=${2:-5}
NET=${3:-}
BUILD=$(cd "$BUILD" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
TEEREX=$BUILD/src/teerex/teerex
TEEREXD=$BUILD/src/teerexd/teerexd
if [ -z "${TEEREX_CACHE:-}" ]; then
  if [ "$(id -u)" = 0 ]; then TEEREX_CACHE=/var/cache/teerex; else TEEREX_CACHE=$HOME/.cache/teerex; fi
fi
for f in "$TEEREX" "$TEEREXD" "$TEEREX_CACHE/npm/aztec-bb.js-4.1.2.tgz" "$TEEREX_CACHE/npm/aztec-bb.js-5.0.0.tgz"; do
  [ -e "$f" ] || { echo "bundles.sh: missing $f (build, scripts/setup.sh)" >&2; exit 1; }
done
command -v hyperfine >/dev/null || { echo "bundles.sh: hyperfine missing" >&2; exit 1; }
W=$(mktemp -d /tmp/teerex-bench-bundles.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
DEBS=$TEEREX_CACHE/debs
echo "# bench/bundles.sh $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) runs $RUNS"

summ() { # hyperfine json -> "median ms (min-max, spread max/median)"
  # shellcheck disable=SC2016 # JavaScript template literals, not shell
  node -e 'const r=require(process.argv[1]).results;for(const x of r){const t=[...x.times].sort((a,b)=>a-b);const m=x.median*1e3;console.log(`${x.command.slice(0,60).padEnd(60)} median ${m.toFixed(1)} ms (min ${(t[0]*1e3).toFixed(1)}, max ${(t[t.length-1]*1e3).toFixed(1)}, spread ${(t[t.length-1]/x.median).toFixed(2)}) n=${t.length}`)}' "$1"
}

echo "## 1. teerex bb fetch 4.1.2 (cached tarball)"
hyperfine -N --runs "$RUNS" --warmup 1 --prepare "rm -rf $W/f" --export-json "$W/fetch.json" \
  "$TEEREX bb fetch 4.1.2 --tarball $TEEREX_CACHE/npm/aztec-bb.js-4.1.2.tgz --debs $DEBS --out $W/f --quiet" >/dev/null
summ "$W/fetch.json"
if [ "$NET" = --network ]; then
  echo "## 1b. teerex bb fetch 4.1.2 from registry.npmjs.org, cold cache (54 MB download each run)"
  hyperfine -N --runs "$RUNS" --prepare "rm -rf $W/f $W/c" --export-json "$W/fetchnet.json" \
    "$TEEREX bb fetch 4.1.2 --cache $W/c --debs $DEBS --out $W/f --quiet" >/dev/null
  summ "$W/fetchnet.json"
fi
rm -rf "$W/f"
"$TEEREX" bb fetch 4.1.2 --tarball "$TEEREX_CACHE/npm/aztec-bb.js-4.1.2.tgz" --debs "$DEBS" --out "$W/b" --quiet >/dev/null
"$TEEREX" bb fetch 5.0.0 --tarball "$TEEREX_CACHE/npm/aztec-bb.js-5.0.0.tgz" --debs "$DEBS" --out "$W/b" --quiet >/dev/null
echo "bundle 4.1.2: $(du -sb "$W/b/4.1.2" | cut -f1) bytes, digest $("$TEEREX" bb digest "$W/b/4.1.2")"

echo "## 2. teerex bb upload 4.1.2 over a unix socket (teerexd admin listener)"
mkdir -p "$W/v"
env LISTEN=tcp:127.0.0.1:0 ADMIN_LISTEN="unix:$W/admin.sock" BB_VERSIONS_DIR="$W/v" LOG_LEVEL=warn \
  BB_BINARY_PATH="$SRC/tests/integration/teerexd/fake-bb/bb" "$TEEREXD" 2>"$W/teerexd.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$W/admin.sock" ] && break; sleep 0.05; done
hyperfine -N --runs "$RUNS" --warmup 1 --export-json "$W/upload.json" \
  "$TEEREX bb upload --to unix:$W/admin.sock 4.1.2 $W/b/4.1.2" >/dev/null
summ "$W/upload.json"

echo "## 3. on demand: first /prove for a missing version (provisioning only, from teerexd's log)"
node "$SRC/bench/bundles_ondemand.mjs" "$BUILD" "$RUNS" "$W" "$DEBS" "$TEEREX_CACHE/npm/aztec-bb.js-4.1.2.tgz"

echo "## 4. bb --version start-up"
B5=$W/b/5.0.0 B4=$W/b/4.1.2
hyperfine -N --runs $((RUNS * 6)) --warmup 3 --export-json "$W/start.json" \
  "$B5/bb --version" \
  "$B5/lib/ld-linux-x86-64.so.2 --inhibit-cache --library-path $B5/lib $B5/bb --version" \
  "$B4/lib/ld-linux-x86-64.so.2 --inhibit-cache --library-path $B4/lib $B4/bb --version" >/dev/null
summ "$W/start.json"
