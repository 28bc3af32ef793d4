#!/usr/bin/env bash
# README command one: the whole delegated-proving flow on this machine, real
# pieces only.
#
#   1. setup (apt + npm pins) and build (gcc flavour);
#   2. the real Ignition CRS slice: $CRS_PATH, else $TEEREX_SHARED/crs (copied
#      to a writable directory: bb writes crs.lock), else the same points
#      downloaded from Aztec's CRS host the way the TypeScript server's image
#      build does (an HTTP Range request), checked against pinned SHA-256s;
#      else it stops. Never a locally generated CRS;
#   3. teerexd in TEE_MODE=nitro-emulated under teerex-init, with the native bb
#      5.0.0 from @aztec/bb.js as a prover bundle (its own loader and libc from
#      Debian 13, built by `teerex bb fetch`) under the pinned policy;
#   4. a Noir Poseidon2 hash chain (400 permutations, ~29.6k gates) compiled
#      and executed (demo/make-circuit.mjs);
#   5. `teerex prove --scheme ultra_honk --require-attestation --root <emulator
#      root>`: attestation verified, input encrypted to the attested key;
#   6. the unmodified `bb verify` on the returned proof, against the CRS;
#   7. a summary; every process it started is stopped on exit.
#
# Environment: DEMO_PERMS (400), DEMO_WORK (a fresh temp dir), DEMO_SKIP_SETUP=1,
# DEMO_SKIP_BUILD=1 (with DEMO_BUILD_DIR, default build/gcc), CRS_PATH, TEEREX_SHARED (../shared), DEMO_PORT (free port).
# Exit status: 0 proof verified; 1 a step failed (the message says which).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PERMS=${DEMO_PERMS:-400}
SHARED=${TEEREX_SHARED:-$ROOT/../shared}
WORK=${DEMO_WORK:-$(mktemp -d /tmp/teerex-demo.XXXXXX)}
mkdir -p "$WORK"
[ -n "${DEMO_WORK:-}" ] || chmod 755 "$WORK" # bb runs sandboxed as uid 65534 and reads its bundle here
BUILD=${DEMO_BUILD_DIR:-$ROOT/build/gcc}
BB=$ROOT/demo/node_modules/@aztec/bb.js/build/amd64-linux/bb
G1_POINTS=32769
G1_SHA256=d769ac6c98f8fab858a7e9967f2b7f181d8ad9fdcdf55438c915696febf0e99c
G2_SHA256=01797bfc4de5a96f0e516a9ea4537d18786dc30cb991aca4274c95822b69c32f
CRS_HOST=https://crs.aztec-cdn.foundation

say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }
die() { printf '\033[1;31mdemo: FAILED:\033[0m %s\n' "$*" >&2; exit 1; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. setup and build ----
if [ "${DEMO_SKIP_SETUP:-0}" != 1 ]; then
  say "setup: bash scripts/setup.sh"
  bash scripts/setup.sh
fi
if [ "${DEMO_SKIP_BUILD:-0}" != 1 ]; then
  say "build: bash scripts/build.sh gcc"
  nice bash scripts/build.sh gcc >"$WORK/build.log" 2>&1 || {
    tail -30 "$WORK/build.log" >&2
    die "build failed (log: $WORK/build.log)"
  }
fi
[ -x "$BB" ] || die "no native bb at $BB (run scripts/setup.sh)"
BB_VERSION=$("$BB" --version)
[ -x "$BUILD/src/teerex/teerex" ] || die "no teerex CLI in $BUILD (build failed?)"

# ---- 2. the CRS ----
crs_ok() { # DIR: enough real points with the pinned hashes of the slice
  local d=$1
  [ -f "$d/bn254_g1.dat" ] && [ -f "$d/bn254_g2.dat" ] || return 1
  [ "$(sha256sum <"$d/bn254_g2.dat" | cut -d' ' -f1)" = "$G2_SHA256" ] || return 1
  local size; size=$(stat -c %s "$d/bn254_g1.dat")
  [ "$size" -ge $((G1_POINTS * 64)) ] || return 1
  [ "$(head -c $((G1_POINTS * 64)) "$d/bn254_g1.dat" | sha256sum | cut -d' ' -f1)" = "$G1_SHA256" ]
}
CRS=$WORK/crs
mkdir -p "$CRS"
if [ -n "${CRS_PATH:-}" ]; then
  crs_ok "$CRS_PATH" || die "CRS_PATH=$CRS_PATH does not hold the Ignition points (hash check failed)"
  cp "$CRS_PATH/bn254_g1.dat" "$CRS_PATH/bn254_g2.dat" "$CRS/"
  CRS_SOURCE="\$CRS_PATH ($CRS_PATH)"
elif crs_ok "$SHARED/crs"; then
  cp "$SHARED/crs/bn254_g1.dat" "$SHARED/crs/bn254_g2.dat" "$CRS/"
  CRS_SOURCE="$SHARED/crs (copied to $CRS)"
else
  say "no CRS_PATH and no $SHARED/crs: downloading $G1_POINTS points from $CRS_HOST"
  if curl -fsSL --max-time 300 -H "Range: bytes=0-$((G1_POINTS * 64 - 1))" "$CRS_HOST/g1.dat" \
       -o "$CRS/bn254_g1.dat" &&
     curl -fsSL --max-time 60 "$CRS_HOST/g2.dat" -o "$CRS/bn254_g2.dat" &&
     crs_ok "$CRS"; then
    CRS_SOURCE="downloaded from $CRS_HOST (hashes checked)"
  else
    die "no CRS: set CRS_PATH to a directory with the Aztec Ignition bn254_g1.dat (>= $G1_POINTS points) and bn254_g2.dat, or provide ../shared/crs; the download from $CRS_HOST failed. A locally generated CRS is never used."
  fi
fi
say "CRS: $CRS_SOURCE"

# ---- 3. the circuit ----
say "circuit: Poseidon2 hash chain, $PERMS permutations (noir_wasm + noir_js)"
t=$(date +%s%N)
node demo/make-circuit.mjs --perms "$PERMS" --out "$WORK/circuit" >"$WORK/circuit.out" 2>"$WORK/circuit.err" ||
  { cat "$WORK/circuit.err" >&2; die "circuit compilation/execution failed"; }
CIRCUIT_MS=$(ms_since "$t")
GATES=$("$BB" gates -b "$WORK/circuit/program.json" 2>/dev/null |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=s.match(/"circuit_size":\s*(\d+)/);console.log(m?m[1]:"?")})')
say "circuit: $GATES gates, made in ${CIRCUIT_MS} ms"

# ---- 4. the server ----
PORT=${DEMO_PORT:-$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}
URL=http://127.0.0.1:$PORT
MODE=nitro-emulated
EMU=$WORK/nsm-emu
mkdir -p "$EMU" "$WORK/prove-work"
TEEREXD=$BUILD/src/teerexd/teerexd
INIT=$BUILD/src/teerex-init/teerex-init
[ -x "$TEEREXD" ] || die "no teerexd in $BUILD: the server did not build"
# The prover is a bundle (docs/PROTOCOL-EXT.md "Prover bundles"): bb 5.0.0
# from the npm tarball setup cached (checked against the registry's
# integrity) with Debian 13's loader and libc, built by `teerex bb fetch`.
# The server runs it as its default under the pinned policy (only the
# bundles of its allow-list run, as in production); the attestation reports
# its digest, and the client pins the digest and the policy.
if [ -n "${TEEREX_CACHE:-}" ]; then CACHE=$TEEREX_CACHE
elif [ "$(id -u)" = 0 ]; then CACHE=/var/cache/teerex
else CACHE=$HOME/.cache/teerex; fi
TGZ=$CACHE/npm/aztec-bb.js-5.0.0.tgz
if [ ! -s "$TGZ" ] || [ ! -d "$CACHE/debs" ]; then
  die "no cached bb 5.0.0 / Debian runtime in $CACHE (run scripts/setup.sh)"
fi
"$BUILD/src/teerex/teerex" bb fetch 5.0.0 --tarball "$TGZ" --debs "$CACHE/debs" \
  --out "$WORK/bb-versions" --quiet >"$WORK/bundle.json" 2>"$WORK/bundle.err" ||
  { cat "$WORK/bundle.err" "$WORK/bundle.json" >&2; die "teerex bb fetch 5.0.0 failed"; }
BB_SHA256=$("$BUILD/src/teerex/teerex" bb digest "$WORK/bb-versions/5.0.0")
echo "5.0.0 $BB_SHA256" > "$WORK/bb-allowed"
say "prover: bundle bb 5.0.0 (bb + Debian 13 loader and libc), digest $BB_SHA256"
# The emulator's PCR0 is the SHA-384 of the teerexd binary (a stand-in for
# the enclave image measurement); the client pins it with --pcr 0=...
PCR0_EXPECTED=$(sha384sum <"$TEEREXD" | cut -c1-96)
SERVER_ENV=(LISTEN="tcp:127.0.0.1:$PORT" TEE_MODE="$MODE" NSM_EMU_DIR="$EMU" NSM_EMU_PCR0_FILE="$TEEREXD"
  BB_VERSIONS_DIR="$WORK/bb-versions" BB_DEFAULT_VERSION=5.0.0 BB_POLICY=pinned
  BB_ALLOWED_FILE="$WORK/bb-allowed" CRS_PATH="$CRS" PROVE_SCHEMES=ultra_honk
  PROVE_WORK_DIR="$WORK/prove-work" LOG_LEVEL=info)
start_server() {
  [ -x "$INIT" ] || die "no teerex-init in $BUILD: the supervisor did not build"
  local args=(--no-loopback --console stderr --exit-on-signal) kv
  for kv in "${SERVER_ENV[@]}"; do args+=(--env "$kv"); done
  env "${SERVER_ENV[@]}" "$INIT" "${args[@]}" -- "$TEEREXD" >"$WORK/server.log" 2>&1 &
  SUPERVISOR="teerex-init"
  PIDS+=($!)
}
wait_health() {
  for _ in $(seq 100); do
    "$BUILD/src/teerex/teerex" health "$URL" >/dev/null 2>&1 && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || return 1
    grep -q '"tee_mode_unavailable"' "$WORK/server.log" 2>/dev/null && return 1
    sleep 0.1
  done
  return 1
}
say "server: teerexd TEE_MODE=$MODE on $URL"
start_server
# No fallback: the demo proves with attestation or fails.
wait_health || { tail -20 "$WORK/server.log" >&2; die "teerexd did not start in $MODE mode (log: $WORK/server.log)"; }

# ---- 5. prove through the CLI ----
PROVE_ARGS=(prove --url "$URL" --input "$WORK/circuit" --scheme ultra_honk --aztec-version 5.0.0
  --out "$WORK/proof.bin" --json)
[ -f "$EMU/root.pem" ] || die "the NSM emulator wrote no root.pem in $EMU"
PROVE_ARGS+=(--require-attestation --root "$EMU/root.pem" --pcr "0=$PCR0_EXPECTED"
  --expect-bb "5.0.0=$BB_SHA256" --require-pinned)
say "prove: teerex ${PROVE_ARGS[*]}"
t=$(date +%s%N)
set +e
"$BUILD/src/teerex/teerex" "${PROVE_ARGS[@]}" >"$WORK/prove.json" 2>"$WORK/prove.err"
rc=$?
set -e
CLIENT_MS=$(ms_since "$t")
cat "$WORK/prove.err" >&2
[ $rc -eq 0 ] || { cat "$WORK/prove.json" >&2; die "teerex prove exited $rc"; }

# ---- 6. the unmodified bb verifies the proof ----
say "verify: bb verify -p proof.bin.bb/proof -k proof.bin.bb/vk -i proof.bin.bb/public_inputs -c CRS"
t=$(date +%s%N)
"$BB" verify -p "$WORK/proof.bin.bb/proof" -k "$WORK/proof.bin.bb/vk" \
  -i "$WORK/proof.bin.bb/public_inputs" -c "$CRS" >"$WORK/verify.log" 2>&1 ||
  { cat "$WORK/verify.log" >&2; die "bb verify REJECTED the proof"; }
VERIFY_MS=$(ms_since "$t")
# The public input is the chain's result computed by noir_js: same value?
EXPECTED=$(node -e 'console.log(require(process.argv[1]).result.replace(/^0x/,"").padStart(64,"0"))' "$WORK/circuit/circuit.json")
GOT=$(od -An -tx1 -v "$WORK/proof.bin.bb/public_inputs" | tr -d ' \n')
[ "$GOT" = "$EXPECTED" ] || die "public input $GOT differs from the circuit's result $EXPECTED"

# ---- 7. summary ----
node - "$WORK/prove.json" "$MODE" "$SUPERVISOR" "$BB_VERSION" "$GATES" "$CIRCUIT_MS" "$CLIENT_MS" "$VERIFY_MS" "$CRS_SOURCE" "$WORK/server.log" <<'EOF'
const [file, mode, sup, bbv, gates, circuitMs, clientMs, verifyMs, crs, log] = process.argv.slice(2);
const r = JSON.parse(require('fs').readFileSync(file, 'utf8'));
// teerexd's start-up line about the prover sandbox (docs/THREAT-MODEL.md)
let sbx = null;
for (const l of require('fs').readFileSync(log, 'utf8').split('\n')) {
  const i = l.indexOf('{"ts"');
  if (i >= 0 && l.includes('"event":"sandbox"')) { try { sbx = JSON.parse(l.slice(i)); } catch { /* not JSON */ } }
}
const sandbox = !sbx ? 'NOT REPORTED' : `${sbx.active || 'none'} (uid ${sbx.uid}${sbx.unavailable ? `; unavailable: ${sbx.unavailable}` : ''}${sbx.disabled ? `; disabled: ${sbx.disabled}` : ''})`;
const f = (x) => (x === undefined || x < 0 ? '-' : `${Math.round(x)} ms`);
const lines = [
  '',
  '=== tee-rex-c demo: proof verified by bb ===',
  `server        teerexd, TEE_MODE=${mode}, supervisor ${sup}, prover bb ${bbv} as a bundle (Debian 13 loader + libc), policy pinned`,
  `attestation   ${r.mode === 'nitro' ? `verified against the emulator root in ${r.attestation_verify_ms.toFixed(1)} ms (module ${r.module_id}); PCR0, the bb 5.0.0 bundle digest and the pinned policy checked` : 'NONE (standard mode)'}`,
  `PCR0          ${r.pcr0 || '-'}${r.pcr0 ? ' (emulated: SHA-384 of the teerexd binary)' : ''}`,
  `circuit       Poseidon2 chain, ${gates} gates (compile+execute ${circuitMs} ms)`,
  `phases        fetch-attestation ${f(r.phases['fetch-attestation'])}, encrypt ${f(r.phases.encrypt)}, transmit ${f(r.phases.transmit)}, proving ${f(r.phases.proving)}, receive ${f(r.phases.receive)}`,
  `server side   decrypt ${f(r.server_decrypt_ms)}, bb prove ${f(r.server_prove_ms)} (client total ${clientMs} ms: ${r.server_prove_ms >= 0 ? Math.round(100 * r.server_prove_ms / clientMs) : '?'}% in bb)`,
  `bb sandbox    ${sandbox}`,
  `proof         ${r.proof_bytes} bytes (${r.proof_fields} fields) -> ${r.out}`,
  `bb files      ${r.bb_dir}/{proof,vk,public_inputs}`,
  `bb verify     OK in ${verifyMs} ms against the Ignition CRS (${crs})`,
  '',
];
console.log(lines.join('\n'));
EOF
say "work directory: $WORK (server log: $WORK/server.log)"
