#!/usr/bin/env bash
# The teerex CLI (prove, health) against a scripted server
# (tests/interop/cli/mock_server.mjs: openpgp.js 6 keys, real decryption):
# exit codes, retries, the re-attest path, --json, the ultra_honk container
# and the bb files. Under the valgrind flavour the CLI runs under valgrind.
set -euo pipefail
B=${TR_BUILD_DIR:?run through ctest}
S=${TR_SOURCE_DIR:?run through ctest}
CLI=$B/src/teerex/teerex
skip() { echo "SKIP: $*"; exit 77; }
command -v node >/dev/null || skip "node is not installed"
[ -d "$S/tests/interop/node_modules/openpgp" ] || skip "tests/interop/node_modules missing (npm ci)"
[ -x "$CLI" ] || skip "teerex is not built"
VG=()
if [ "${TR_VALGRIND:-0}" = 1 ]; then read -r -a VG <<<"$TR_VALGRIND_CMD"; fi

W=$(mktemp -d /tmp/teerex-cli-test.XXXXXX)
chmod 755 "$W" # the fake provers here run sandboxed, as uid 65534
node "$S/tests/interop/cli/mock_server.mjs" "$W/port" >"$W/mock.log" 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true; wait $MOCK 2>/dev/null || true; rm -rf "$W"' EXIT
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
[ -s "$W/port" ] || { cat "$W/mock.log"; echo "FAIL: mock server did not start"; exit 1; }
BASE=http://127.0.0.1:$(cat "$W/port")

pass=0 failed=0
check() { # name, expected exit, command...
  local name=$1 want=$2 rc=0
  shift 2
  "$@" >"$W/out" 2>"$W/err" || rc=$?
  if [ "$rc" = "$want" ]; then
    pass=$((pass + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $rc, expected $want"; sed 's/^/  | /' "$W/out" "$W/err"
  fi
}
expect() { # name, condition (shell test on files)
  if eval "$2"; then pass=$((pass + 1)); else failed=$((failed + 1)); echo "FAIL $1: $2"; sed 's/^/  | /' "$W/out" "$W/err"; fi
}
prove() { "${VG[@]}" "$CLI" prove "$@"; }
n=0
url() { n=$((n + 1)); echo "$BASE/$1-t$n"; }
head -c 5000 /dev/urandom >"$W/input"
H=$(sha256sum <"$W/input" | cut -c1-64)
proof_ok() { [ "$(od -An -tx1 -v "$1" | tr -d ' \n')" = "00000002$H$H" ]; }

# usage
check "no args" 2 "$CLI" prove
check "help" 0 "$CLI" prove --help
check "bad url" 2 "$CLI" prove --url ftp://x --input "$W/input"
check "bad pcr" 2 "$CLI" prove --url "$BASE" --input "$W/input" --pcr 0=zz
check "bad pcr index" 2 "$CLI" prove --url "$BASE" --input "$W/input" --pcr "40=$(printf '0%.0s' $(seq 96))"
check "bad expect-bb" 2 "$CLI" prove --url "$BASE" --input "$W/input" --expect-bb ../x=00
check "bad scheme" 2 "$CLI" prove --url "$BASE" --input "$W/input" --scheme plonk
check "bad max-age" 2 "$CLI" prove --url "$BASE" --input "$W/input" --max-age 5parsecs
check "bad version" 2 "$CLI" prove --url "$BASE" --input "$W/input" --aztec-version "../../bin"
check "missing root file" 2 "$CLI" prove --url "$BASE" --input "$W/input" --root /nonexistent
check "missing input" 2 prove --url "$(url ok)" --input /nonexistent
check "uh input not a container" 2 prove --url "$(url uh)" --input "$W/input" --scheme ultra_honk

# success, standard mode: loud warning, proof of this very input
check "ok" 0 prove --url "$(url ok)" --input "$W/input" --out "$W/p1"
expect "ok proof" 'proof_ok "$W/p1"'
expect "standard warning" 'grep -q "STANDARD mode: NO ATTESTATION" "$W/err"'
expect "phases" '(for p in fetch-attestation encrypt transmit proving receive; do grep -q "phase $p" "$W/err" || exit 1; done)'
check "ok json" 0 prove --url "$(url ok)" --input "$W/input" --out "$W/p2" --json
expect "json fields" 'node -e "const j=JSON.parse(require(\"fs\").readFileSync(process.argv[1]));if(!(j.ok&&j.mode===\"standard\"&&j.proof_fields===2&&j.attempts===1&&j.server_prove_ms===2&&j.phases.encrypt>=0&&j.phases.proving>=0))process.exit(1)" "$W/out"'
check "require-attestation refuses standard" 5 prove --url "$(url ok)" --input "$W/input" --out "$W/p3" --require-attestation
expect "refused before sending" '[ ! -e "$W/p3" ]'

# retries and re-attestation
check "flaky: 503 then ok" 0 prove --url "$(url flaky)" --input "$W/input" --out "$W/p4" --json
expect "flaky attempts" 'grep -q "\"attempts\":2" "$W/out" && proof_ok "$W/p4"'
check "flaky attestation: 502 then ok" 0 prove --url "$(url flakyattest)" --input "$W/input" --out "$W/p4b"
expect "flaky attestation retried" 'grep -q "GET /attestation: HTTP 502" "$W/err" && proof_ok "$W/p4b"'
check "down: 500 x3" 4 prove --url "$(url down)" --input "$W/input" --out "$W/p5" --json
expect "down attempts" 'grep -q "\"attempts\":3" "$W/out" && grep -q "prover failed" "$W/out"'
check "rotate: re-attest" 0 prove --url "$(url rotate)" --input "$W/input" --out "$W/p6" --json
expect "rotate reattested" 'grep -q "\"reattested\":true" "$W/out" && proof_ok "$W/p6"'
check "rotate2: re-attest only once" 4 prove --url "$(url rotate2)" --input "$W/input" --out "$W/p7" --json
expect "rotate2 attempts" 'grep -q "\"attempts\":2" "$W/out"'

# malformed answers
check "garbage attestation" 4 prove --url "$(url garbage)" --input "$W/input"
check "unknown mode" 4 prove --url "$(url badmode)" --input "$W/input"
check "nitro without document" 5 prove --url "$(url nodoc)" --input "$W/input"
check "bad proof header" 4 prove --url "$(url badproof)" --input "$W/input" --out "$W/p8"
expect "bad proof not written" '[ ! -e "$W/p8" ]'
check "control chars in error" 4 prove --url "$(url toobig)" --input "$W/input" --json
expect "error sanitised" 'grep -q "bad?\[31m?thing" "$W/out"'
check "unreachable" 3 prove --url "http://127.0.0.1:1" --input "$W/input"

# ultra_honk: a directory is packed into TRXC; bb files are written
mkdir -p "$W/circuit"
head -c 3000 /dev/urandom >"$W/circuit/program.json"
head -c 700 /dev/urandom >"$W/circuit/witness.gz"
check "ultra_honk dir" 0 prove --url "$(url uh)" --input "$W/circuit" --scheme ultra_honk --out "$W/uh.bin"
# shellcheck disable=SC2034 # PH and WH are read by expect's eval
PH=$(sha256sum <"$W/circuit/program.json" | cut -c1-64)
# shellcheck disable=SC2034
WH=$(sha256sum <"$W/circuit/witness.gz" | cut -c1-64)
expect "uh proof" '[ "$(od -An -tx1 -v "$W/uh.bin" | tr -d " \n")" = "00000002$PH$WH" ]'
expect "uh bb proof (no header)" '[ "$(od -An -tx1 -v "$W/uh.bin.bb/proof" | tr -d " \n")" = "$PH$WH" ]'
expect "uh vk" '[ "$(cat "$W/uh.bin.bb/vk")" = mock-vk ] && [ "$(stat -c %s "$W/uh.bin.bb/public_inputs")" = 32 ]'
check "ultra_honk dir missing witness" 2 prove --url "$(url uh)" --input "$W" --scheme ultra_honk
check "chonk refuses a directory" 2 prove --url "$(url ok)" --input "$W/circuit"

# health
check "health ok" 0 "${VG[@]}" "$CLI" health "$(url ok)"
check "health json" 0 "$CLI" health "$(url ok)" --json
expect "health json fields" 'grep -q "\"available_versions\":\[\"5.0.0\"\]" "$W/out"'
check "health unhealthy" 4 "$CLI" health "$(url unhealthy)"
check "health unreachable" 3 "$CLI" health http://127.0.0.1:1
check "health usage" 2 "$CLI" health

# nitro-emulated teerexd (when built): the attestation is verified before
# anything is sent, each failure class has its exit code, and the input is
# encrypted to the attested key. The prover is a fake that returns
# sha256(input) twice.
TEEREXD=$B/src/teerexd/teerexd
if [ -x "$TEEREXD" ]; then
  cat >"$W/fake-bb" <<'FAKE'
#!/bin/sh
[ "${1:-}" = --version ] && { echo "fake-bb 0.0.0"; exit 0; }
in=""; out=""
while [ $# -gt 0 ]; do
  case "$1" in --ivc_inputs_path) in=$2; shift ;; -o) out=$2; shift ;; esac
  shift
done
mkdir -p "$out"
h=$(openssl dgst -sha256 -binary "$in" | od -An -tx1 -v | tr -d ' \n')
printf '%s%s' "$h" "$h" | sed 's/../\\x&/g' | xargs -0 printf > "$out/proof"
FAKE
  chmod +x "$W/fake-bb"
  mkdir -p "$W/emu" "$W/bbv/9.9.9" "$W/bbv/9.9.8"
  sh "$S/tests/integration/fake-crs.sh" "$W/crs" # the start-up check wants one; the fake needs none
  cp "$W/fake-bb" "$W/bbv/9.9.9/bb"
  printf '#!/bin/sh\n[ "$1" = --version ] && { echo 9.9.8; exit 0; }\necho "fake bb: out of memory in sumcheck" >&2\nexit 3\n' >"$W/bbv/9.9.8/bb"
  chmod +x "$W/bbv/9.9.8/bb"
  # The attested digest of a one-file bundle (docs/PROTOCOL-EXT.md, "Prover bundles").
  BBSHA=$(printf 'teerex-bundle-v1\n755 %s bb\n' "$(sha256sum <"$W/fake-bb" | cut -c1-64)" | sha256sum | cut -c1-64)
  NPORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  env LISTEN="tcp:127.0.0.1:$NPORT" TEE_MODE=nitro-emulated NSM_EMU_DIR="$W/emu" NSM_EMU_PCR0_FILE="$W/fake-bb" \
    BB_BINARY_PATH="$W/fake-bb" BB_VERSIONS_DIR="$W/bbv" PROVE_WORK_DIR="$W" CRS_PATH="$W/crs" LOG_LEVEL=warn \
    "${VG[@]}" "$TEEREXD" >"$W/teerexd.log" 2>&1 &
  TD=$!
  for _ in $(seq 600); do "$CLI" health "http://127.0.0.1:$NPORT" >/dev/null 2>&1 && break; sleep 0.1; done
  NURL=http://127.0.0.1:$NPORT
  P0=$(sha384sum <"$W/fake-bb" | cut -c1-96)
  ROOT=(--root "$W/emu/root.pem")
  check "nitro ok" 0 prove --url "$NURL" --input "$W/input" --out "$W/n1" "${ROOT[@]}" \
    --require-attestation --pcr "0=$P0" --expect-bb "9.9.9=$BBSHA" --aztec-version 9.9.9 --json
  expect "nitro proof" 'proof_ok "$W/n1" && grep -q "\"pcr0\":\"$P0\"" "$W/out" && ! grep -q STANDARD "$W/err"'
  expect "pinned: no warning, prover version shown" '! grep -qE "WARNING: (NO PCR PINNED|DEBUG-MODE)" "$W/err" && grep -q "\"prover_version\":\"9.9.9\"" "$W/out"'
  check "nitro: no --pcr" 0 prove --url "$NURL" --input "$W/input" --out "$W/n7" "${ROOT[@]}" --require-attestation
  expect "no --pcr warns loudly" 'grep -q "WARNING: NO PCR PINNED" "$W/err" && grep -q "prover default" "$W/out"'
  check "nitro: prover fails" 4 prove --url "$NURL" --input "$W/input" --out "$W/n8" "${ROOT[@]}" \
    --pcr "0=$P0" --aztec-version 9.9.8
  expect "server detail and prover version shown" 'grep -q "Proof generation failed: the prover exited with an error (exit code 3)" "$W/err" && grep -q "prover 9.9.8" "$W/err" && grep -q "server said: HTTP 500" "$W/err"'
  check "health: tee_mode" 0 curl -sf "$NURL/health"
  expect "health says nitro-emulated" 'grep -q "\"tee_mode\":\"nitro-emulated\"" "$W/out"'
  check "nitro: AWS root only -> chain" 12 prove --url "$NURL" --input "$W/input" --out "$W/n2"
  check "nitro: wrong PCR0" 15 prove --url "$NURL" --input "$W/input" --out "$W/n3" "${ROOT[@]}" \
    --pcr "0=$(printf 'ab%.0s' $(seq 48))"
  check "nitro: bb not attested" 18 prove --url "$NURL" --input "$W/input" --out "$W/n4" "${ROOT[@]}" \
    --expect-bb "9.9.9=$(printf 'cd%.0s' $(seq 32))"
  check "nitro: max-age" 0 prove --url "$NURL" --input "$W/input" --out "$W/n5" "${ROOT[@]}" --max-age 2m
  # A relay that swaps the JSON publicKey for its own: refused (class MISSING_KEY).
  env MOCK_UPSTREAM_PORT="$NPORT" node "$S/tests/interop/cli/mock_server.mjs" "$W/port2" >"$W/mock2.log" 2>&1 &
  MOCK2=$!
  for _ in $(seq 100); do [ -s "$W/port2" ] && break; sleep 0.05; done
  check "nitro: swapped publicKey" 17 prove --url "http://127.0.0.1:$(cat "$W/port2")/swapkey-x" \
    --input "$W/input" --out "$W/n6" "${ROOT[@]}"
  expect "swapped key refused" 'grep -q ATTEST_KEY_MISMATCH "$W/err" && grep -q "\"path\":\"/attestation\"" "$W/mock2.log" && ! grep -q "\"path\":\"/prove\"" "$W/mock2.log"'
  kill "$MOCK2"; wait "$MOCK2" 2>/dev/null || true
  expect "nothing sent on failure" '[ ! -e "$W/n2" ] && [ ! -e "$W/n3" ] && [ ! -e "$W/n4" ] && [ ! -e "$W/n6" ]'
  kill "$TD"; wait "$TD" 2>/dev/null || true
  # A debug-mode enclave (all-zero PCRs, as AWS reports them): refused unless
  # --allow-debug-mode, and then with a loud warning.
  env LISTEN="tcp:127.0.0.1:$NPORT" TEE_MODE=nitro-emulated NSM_EMU_DIR="$W/emu" NSM_EMU_PCRS=/dev/null \
    BB_BINARY_PATH="$W/fake-bb" PROVE_WORK_DIR="$W" CRS_PATH="$W/crs" LOG_LEVEL=warn \
    "${VG[@]}" "$TEEREXD" >"$W/teerexd2.log" 2>&1 &
  TD=$!
  for _ in $(seq 600); do "$CLI" health "$NURL" >/dev/null 2>&1 && break; sleep 0.1; done
  check "debug mode refused" 19 prove --url "$NURL" --input "$W/input" --out "$W/d1" "${ROOT[@]}" --require-attestation
  expect "debug mode: says why, sends nothing" 'grep -q DEBUG_MODE "$W/err" && [ ! -e "$W/d1" ]'
  check "debug mode allowed" 0 prove --url "$NURL" --input "$W/input" --out "$W/d2" "${ROOT[@]}" --allow-debug-mode
  expect "debug mode allowed: loud warning" 'grep -q "WARNING: DEBUG-MODE ENCLAVE" "$W/err" && proof_ok "$W/d2"'
  kill "$TD"; wait "$TD" 2>/dev/null || true
else
  echo "note: teerexd not built: nitro-emulated checks skipped"
fi

echo "$pass passed, $failed failed"
[ "$failed" = 0 ]
