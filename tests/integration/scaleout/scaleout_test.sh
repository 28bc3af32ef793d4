#!/usr/bin/env bash
# Scale-out: the real haproxy from Debian (deploy/haproxy.cfg, unchanged) on
# loopback in front of 3 teerexd (TEE_MODE=nitro-emulated, one emulator PKI)
# with a fast fake prover; 50 concurrent clients
# (25 SDK-like node clients, 25 C CLIs) from distinct source addresses
# 127.0.0.2..51 so source hashing spreads them.
#   A: every client succeeds, with a proof of *its* input; all 3 instances served.
#   B: 50 clients again; one instance is killed (SIGKILL) mid-run; every client
#      still finishes, and C CLIs mapped to the dead instance did so through
#      their re-attest path ("reattested": true), verifying the new
#      instance's attestation (--require-attestation --root).
# SCALEOUT_BENCH=1 also measures proofs/s through the LB, 3 instances vs 1
# (BENCH_DELAY s per fake proof, default 0.2; BENCH_CLIENTS x BENCH_EACH proofs).
# Needs: haproxy, node + tests/interop/node_modules (openpgp), teerexd, teerex.
set -euo pipefail
B=${TR_BUILD_DIR:?TR_BUILD_DIR unset (run through ctest)}
S=${TR_SOURCE_DIR:?TR_SOURCE_DIR unset (run through ctest)}
TEEREXD=$B/src/teerexd/teerexd
CLI=$B/src/teerex/teerex
NODE_CLIENT=$S/tests/interop/scaleout/client.mjs
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v haproxy >/dev/null || skip "haproxy is not installed (apt-get install haproxy)"
command -v node >/dev/null || skip "node is not installed"
[ -d "$S/tests/interop/node_modules/openpgp" ] || skip "tests/interop/node_modules missing (npm ci)"
[ -x "$TEEREXD" ] || skip "teerexd is not built in $B"
[ -x "$CLI" ] || skip "teerex is not built in $B"

W=$(mktemp -d /tmp/teerex-scaleout.XXXXXX)
chmod 755 "$W" # the fake prover here runs sandboxed, as uid 65534
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$W"; else echo "kept $W"; fi
}
trap cleanup EXIT

# shellcheck source=lb_lib.sh
. "$S/tests/integration/scaleout/lb_lib.sh"
echo 0.05 >"$W/delay"
write_fake_bb "$W/fake-bb" "$W/delay"
sh "$S/tests/integration/fake-crs.sh" "$W/crs" # the start-up check wants one; the fake needs none

P=()
for i in 1 2 3; do P[$i]=$(free_port); done
PL=$(free_port)
PS=$(free_port)
LB_STATS_PORT=$PS
LB=http://127.0.0.1:$PL

start_prover() { # i
  local i=$1
  mkdir -p "$W/work$i"
  env LISTEN="proxy+tcp:127.0.0.1:${P[$i]}" TEE_MODE=nitro-emulated NSM_EMU_DIR="$W/emu" \
    BB_BINARY_PATH="$W/fake-bb" CRS_PATH="$W/crs" \
    PROVE_QUEUE_LIMIT=200 RATE_LIMIT_MAX=0 PROVE_WORK_DIR="$W/work$i" LOG_LEVEL=warn \
    ${TR_VALGRIND_CMD:-} "$TEEREXD" >"$W/teerexd$i.log" 2>&1 &
  PIDS+=($!)
  PROVER_PID[$i]=$!
}
declare -a PROVER_PID
lb() { # addresses of prover1..3
  start_lb "$PL" "$PS" "$1" "$2" "$3" "$W/haproxy.log"
  PIDS+=("$LB_PID")
}

# nitro-emulated: one emulator PKI for the fleet (the first instance makes
# it), so the C CLIs verify every instance's document against root.pem.
mkdir -p "$W/emu"
start_prover 1
for _ in $(seq 200); do [ -f "$W/emu/root.pem" ] && break; sleep 0.05; done
[ -f "$W/emu/root.pem" ] || fail "prover1 made no emulator PKI"
start_prover 2
start_prover 3
ATTEST=(--require-attestation --root "$W/emu/root.pem")
lb "127.0.0.1:${P[1]}" "127.0.0.1:${P[2]}" "127.0.0.1:${P[3]}"
wait_up 3 || { tail -5 "$W"/teerexd*.log "$W/haproxy.log" >&2; fail "the 3 provers did not come up behind haproxy"; }
"$CLI" health "$LB" >/dev/null || fail "teerex health through the LB"

N_NODE=25
N_CLI=25
# Runs N_NODE node clients from 127.0.0.2 and N_CLI C CLIs from 127.0.0.(2+N_NODE).
run_clients() { # tag
  local tag=$1 i addr
  node "$NODE_CLIENT" --url "$LB" --first-addr 127.0.0.2 --count "$N_NODE" >"$W/node-$tag.out" 2>&1 &
  local node_pid=$!
  local cli_pids=()
  for i in $(seq 1 "$N_CLI"); do
    addr=127.0.0.$((1 + N_NODE + i))
    head -c $((1000 + i * 37)) /dev/urandom >"$W/in-$tag-$i"
    TEEREX_LOCAL_ADDRESS=$addr "$CLI" prove --url "$LB" --input "$W/in-$tag-$i" "${ATTEST[@]}" \
      --out "$W/proof-$tag-$i" --json >"$W/cli-$tag-$i.json" 2>"$W/cli-$tag-$i.err" &
    cli_pids+=($!)
  done
  if [ -n "${2:-}" ]; then "$2"; fi # mid-run action
  local bad=0
  wait "$node_pid" || { echo "node clients failed:" >&2; grep -v '"ok":true' "$W/node-$tag.out" >&2; bad=1; }
  for i in $(seq 1 "$N_CLI"); do
    if ! wait "${cli_pids[$((i - 1))]}"; then
      echo "C CLI $i failed:" >&2; cat "$W/cli-$tag-$i.json" "$W/cli-$tag-$i.err" >&2; bad=1
      continue
    fi
    # The fake proof is sha256(input) twice: the server proved *this* input.
    h=$(sha256sum <"$W/in-$tag-$i" | cut -c1-64)
    [ "$(od -An -tx1 -v "$W/proof-$tag-$i" | tr -d ' \n')" = "00000002$h$h" ] ||
      { echo "C CLI $i: proof is not sha256(input) twice" >&2; bad=1; }
  done
  return $bad
}

# ---- A: spread ----
t0=$(date +%s%N)
run_clients A || fail "phase A: not every client succeeded"
A_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
declare -a SA
for i in 1 2 3; do SA[$i]=$(served "prover$i"); done
echo "phase A: 50 clients in ${A_MS} ms; connections per instance: ${SA[1]} ${SA[2]} ${SA[3]}"
for i in 1 2 3; do
  [ "${SA[$i]:-0}" -gt 0 ] || fail "phase A: prover$i served nothing: no spreading"
done
[ "$(grep -l '"mode":"nitro"' "$W"/cli-A-*.json | wc -l)" = "$N_CLI" ] ||
  fail "phase A: not every C CLI verified a nitro attestation"

# ---- B: kill one instance mid-run ----
echo 0.4 >"$W/delay"
kill_one() {
  sleep 1.5
  echo "phase B: killing prover2 (pid ${PROVER_PID[2]}) with SIGKILL"
  { kill -KILL "${PROVER_PID[2]}"; wait "${PROVER_PID[2]}"; } 2>/dev/null || true
}
before2=$(served prover2)
run_clients B kill_one || fail "phase B: a client did not finish after the kill"
after2=$(served prover2)
cli_re=$(grep -l '"reattested":true' "$W"/cli-B-*.json 2>/dev/null | wc -l)
node_re=$(node -e 'const l=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n");console.log(JSON.parse(l[l.length-1]).reattested)' "$W/node-B.out")
echo "phase B: all 50 finished; prover2 took $((after2 - before2)) connections before dying;" \
  "re-attested: $cli_re C CLIs, $node_re node clients"
[ $((after2 - before2)) -gt 0 ] || fail "phase B: the killed instance had no traffic (test proves nothing)"
[ "$cli_re" -gt 0 ] || fail "phase B: no C CLI went through the re-attest path"
grep -q '"attempts":' "$W/cli-B-1.json" || fail "phase B: C CLI JSON lacks attempts"

# ---- bench (optional) ----
if [ "${SCALEOUT_BENCH:-0}" = 1 ]; then
  bench() { # label, clients, proofs each
    local label=$1 n=$2 k=$3 t i
    echo "${BENCH_DELAY:-0.2}" >"$W/delay"
    head -c 2048 /dev/urandom >"$W/bench-in"
    t=$(date +%s%N)
    for i in $(seq 1 "$n"); do
      ( for _ in $(seq 1 "$k"); do
          TEEREX_LOCAL_ADDRESS=127.0.1.$i "$CLI" prove --url "$LB" --input "$W/bench-in" "${ATTEST[@]}" \
            --out "$W/bench-out-$i" >/dev/null 2>&1 || echo fail >>"$W/bench-fail"
        done ) &
    done
    wait_jobs
    local ms=$(( ($(date +%s%N) - t) / 1000000 ))
    [ ! -f "$W/bench-fail" ] || fail "bench: $(wc -l <"$W/bench-fail") proofs failed"
    echo "bench $label: $((n * k)) proofs, $n concurrent clients, fake prover ${BENCH_DELAY:-0.2} s: ${ms} ms, $(awk -v p=$((n * k)) -v m="$ms" 'BEGIN{printf "%.2f", p*1000/m}') proofs/s"
  }
  wait_jobs() { local p; for p in $(jobs -p); do [ "$p" = "$LB_PID" ] || is_prover "$p" || wait "$p"; done; }
  is_prover() { local x; for x in "${PROVER_PID[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }
  # 3 instances: bring prover2 back first.
  start_prover 2
  wait_up 3 || fail "bench: prover2 did not come back"
  BENCH_CLIENTS=${BENCH_CLIENTS:-30}
  BENCH_EACH=${BENCH_EACH:-4}
  bench "3 instances" "$BENCH_CLIENTS" "$BENCH_EACH"
  # 1 instance: the same haproxy config, all three entries on prover1.
  kill -TERM "$LB_PID"; wait "$LB_PID" 2>/dev/null || true
  lb "127.0.0.1:${P[1]}" "127.0.0.1:${P[1]}" "127.0.0.1:${P[1]}"
  wait_up 3 || fail "bench: haproxy (1 instance) did not come up"
  bench "1 instance" "$BENCH_CLIENTS" "$BENCH_EACH"
fi
echo "scaleout: ok"
