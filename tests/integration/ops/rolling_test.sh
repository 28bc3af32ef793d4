#!/usr/bin/env bash
# Rolling restart behind the load balancer loses no proof (issue 14 item 5):
# Debian's haproxy with deploy/haproxy.cfg in front of 3 teerexd
# (nitro-emulated, one emulator PKI, a fake prover taking 0.3 s, one proof at
# a time, so requests queue). C CLIs and SDK-like node clients prove in a
# loop from distinct source addresses while each instance in turn is drained
# with deploy/drain.sh (POST /drain on its ops listener, haproxy sees /ready
# 503 and stops sending, the running and queued proofs finish), stopped with
# SIGTERM, and started again with a new key. Checked: every proof of every
# client arrives and is the proof of its own input; haproxy answered no 5xx
# at all (nothing was lost and retried); every instance had proofs open when
# its drain began and finished them (shutdown_drained left 0, no cancel).
set -euo pipefail
B=${TR_BUILD_DIR:?run through ctest}
S=${TR_SOURCE_DIR:?run through ctest}
TEEREXD=$B/src/teerexd/teerexd
CLI=$B/src/teerex/teerex
NODE_CLIENT=$S/tests/interop/scaleout/client.mjs
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; tail -n 5 "$W"/teerexd*.log "$W/haproxy.log" >&2 2>/dev/null || true; exit 1; }
command -v haproxy >/dev/null || skip "haproxy is not installed"
command -v node >/dev/null || skip "node is not installed"
command -v jq >/dev/null || skip "jq is not installed"
[ -d "$S/tests/interop/node_modules/openpgp" ] || skip "tests/interop/node_modules missing (npm ci)"
for b in "$TEEREXD" "$CLI"; do [ -x "$b" ] || skip "$b not built"; done

W=$(mktemp -d /tmp/teerex-rolling.XXXXXX)
chmod 755 "$W" # the fake prover here runs sandboxed, as uid 65534
PIDS=()
LOOPS=()
declare -a PROVER_PID
cleanup() {
  local p
  touch "$W/stop" # the client loops finish their current proof and end
  for p in "${LOOPS[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$W"; else echo "kept $W"; fi
}
trap cleanup EXIT

# shellcheck source=../scaleout/lb_lib.sh
. "$S/tests/integration/scaleout/lb_lib.sh"
write_fake_bb "$W/fake-bb" 0.3 # sha256(input) twice as the proof, after 0.3 s
sh "$S/tests/integration/fake-crs.sh" "$W/crs" # the start-up check wants one; the fake needs none
declare -a P O
for i in 1 2 3; do P[i]=$(free_port); O[i]=$(free_port); done
PL=$(free_port)
PS=$(free_port)
LB_STATS_PORT=$PS
LB=http://127.0.0.1:$PL

start_prover() { # i
  local i=$1
  mkdir -p "$W/work$i"
  env LISTEN="proxy+tcp:127.0.0.1:${P[$i]}" OPS_LISTEN="tcp:127.0.0.1:${O[$i]}" \
    TEE_MODE=nitro-emulated NSM_EMU_DIR="$W/emu" BB_BINARY_PATH="$W/fake-bb" CRS_PATH="$W/crs" \
    PROVE_CONCURRENCY=1 PROVE_QUEUE_LIMIT=200 RATE_LIMIT_MAX=0 PROVE_WORK_DIR="$W/work$i" \
    "$TEEREXD" >>"$W/teerexd$i.log" 2>&1 &
  PIDS+=($!)
  PROVER_PID[i]=$!
}

mkdir -p "$W/emu"
start_prover 1
for _ in $(seq 200); do [ -f "$W/emu/root.pem" ] && break; sleep 0.05; done
[ -f "$W/emu/root.pem" ] || fail "prover1 made no emulator PKI"
start_prover 2
start_prover 3
start_lb "$PL" "$PS" "127.0.0.1:${P[1]}" "127.0.0.1:${P[2]}" "127.0.0.1:${P[3]}" "$W/haproxy.log"
PIDS+=("$LB_PID")
wait_up 3 || fail "the 3 provers did not come up behind haproxy"

# Clients: C CLIs 127.0.0.10..17 and node clients 127.0.0.40..47, each in a
# loop until $W/stop, one line per proof (ok or failed) in its own file.
N_CLI=8
cli_loop() { # k
  local k=$1 n=0 addr=127.0.0.$((9 + $1)) h
  while [ ! -f "$W/stop" ]; do
    n=$((n + 1))
    head -c $((500 + k * 31 + n)) /dev/urandom >"$W/in-$k"
    if TEEREX_LOCAL_ADDRESS=$addr "$CLI" prove --url "$LB" --input "$W/in-$k" --out "$W/out-$k" \
      --require-attestation --root "$W/emu/root.pem" --json >"$W/cli-$k.json" 2>"$W/cli-$k.err"; then
      h=$(sha256sum <"$W/in-$k" | cut -c1-64)
      if [ "$(od -An -tx1 -v "$W/out-$k" | tr -d ' \n')" = "00000002$h$h" ]; then
        echo "ok $(jq -r .reattested "$W/cli-$k.json")" >>"$W/results-cli-$k"
      else
        echo "failed wrong-proof" >>"$W/results-cli-$k"
      fi
    else
      { echo "failed $(tr -d '\n' <"$W/cli-$k.json") $(tail -n 3 "$W/cli-$k.err" | tr '\n' ' ')"; } >>"$W/results-cli-$k"
    fi
  done
}
node_loop() {
  while [ ! -f "$W/stop" ]; do
    node "$NODE_CLIENT" --url "$LB" --first-addr 127.0.0.40 --count 8 >>"$W/node.out" 2>&1 ||
      echo "node round failed" >>"$W/node-failures"
  done
}
for k in $(seq 1 "$N_CLI"); do cli_loop "$k" & LOOPS+=($!); done
node_loop & LOOPS+=($!)
sleep 2

for i in 1 2 3; do
  "$S/deploy/drain.sh" --ops "http://127.0.0.1:${O[$i]}" --settle 3 --timeout 120 \
    -- kill -TERM "${PROVER_PID[$i]}" >"$W/drain$i.log" 2>&1 || { cat "$W/drain$i.log" >&2; fail "drain of prover$i failed"; }
  [ "$(status_of "prover$i")" != UP ] || fail "haproxy still sends to prover$i after its drain"
  rc=0
  wait "${PROVER_PID[$i]}" || rc=$?
  [ "$rc" = 0 ] || fail "prover$i exited $rc after SIGTERM"
  open=$(jq -r 'select(.event=="drain_started") | .state | fromjson | .open' "$W/drain$i.log")
  waited=$(jq -r 'select(.event=="drained") | .waited_s' "$W/drain$i.log")
  grep -q '"event":"shutdown_drained".*"left":0' "$W/teerexd$i.log" || fail "prover$i did not finish its accepted proofs"
  if grep -q '"event":"shutdown_cancel"' "$W/teerexd$i.log"; then fail "prover$i cancelled proofs"; fi
  echo "prover$i: drained ($open proofs open when the drain began, idle after ${waited} s), stopped; restarting"
  echo "$open" >>"$W/open-at-drain"
  start_prover "$i"
  wait_up 3 || fail "prover$i did not come back behind haproxy"
  sleep 1
done
touch "$W/stop"
for p in "${LOOPS[@]}"; do wait "$p" 2>/dev/null || true; done
LOOPS=()

ok=$(cat "$W"/results-cli-* | grep -c '^ok' || true)
bad=$(cat "$W"/results-cli-* | grep -c '^failed' || true)
reatt=$(cat "$W"/results-cli-* | grep -c '^ok 1' || true)
node_ok=$(grep -c '"ok":true' "$W/node.out" || true)
node_bad=$(grep -c '"ok":false' "$W/node.out" || true)
# httplog: client [date] frontend backend/server timers STATUS bytes ...
fivexx=$(awk '$6 ~ /^5[0-9][0-9]$/' "$W/haproxy.log" | wc -l)
echo "proofs: C CLI $ok ok ($reatt after a re-attestation), $bad failed; node $node_ok ok, $node_bad failed;" \
  "haproxy 5xx: $fivexx; open at each drain: $(tr '\n' ' ' <"$W/open-at-drain")"
[ "$bad" = 0 ] || { grep -h '^failed' "$W"/results-cli-* >&2; fail "$bad C CLI proofs lost"; }
if [ "$node_bad" != 0 ] || [ -f "$W/node-failures" ]; then
  grep '"ok":false' "$W/node.out" >&2
  fail "node client proofs lost"
fi
[ "$fivexx" = 0 ] || { awk '$6 ~ /^5/' "$W/haproxy.log" >&2; fail "haproxy answered 5xx during the rolling restart"; }
if [ "$ok" -le "$N_CLI" ] || [ "$node_ok" -le 8 ]; then fail "too few proofs to mean anything ($ok, $node_ok)"; fi
[ "$(awk '$1 > 0' "$W/open-at-drain" | wc -l)" -ge 1 ] || fail "no instance had proofs open when drained: the test proves nothing"
echo "rolling restart: ok"
