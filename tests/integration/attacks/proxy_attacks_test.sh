#!/usr/bin/env bash
# Attack suite, teerex-proxy (issue 16 items 3 and 9): in a fresh network
# namespace, teerex-proxy in front of real teerexd instances (PROXY v2, the
# vsock test transport: CID c -> 127.0.0.c), attacked by
#   A. silent connections that teerexd closes at its head timeout: the proxy
#      must close their client side promptly, not hold every slot;
#   B. one address opening every connection: the per-address cap leaves room;
#   C. a nitro-cli that takes 3 s: relayed bytes and the status endpoint keep
#      moving while the CID is looked up;
#   D. silent connections to --status: closed after its timeout.
# After each: teerexd alive, /health 200 and a normal SDK-like proof, both
# through the proxy.
set -euo pipefail
# shellcheck source=../init/lib.sh
. "$(dirname "$0")/../init/lib.sh"
enter_netns "$@"
make_work
[ -x "$PROXY_BIN" ] || fail "teerex-proxy not built at $PROXY_BIN"
[ -x "$TEEREXD_BIN" ] || skip "teerexd not built"
command -v node >/dev/null || skip "node not installed"
[ "${TR_VALGRIND:-0}" = 1 ] && skip "timing-bounded attacks are not run under valgrind"
HERE="$TR_SOURCE_DIR/tests/integration/attacks"
SDK="$TR_SOURCE_DIR/tests/interop/sdk/sdk-client.mjs"
[ -d "$TR_SOURCE_DIR/tests/interop/node_modules/openpgp" ] || skip "openpgp.js not installed (scripts/setup.sh)"
ip link set lo up
ip addr add 10.9.8.7/32 dev lo # the attacker
ip addr add 10.9.8.8/32 dev lo # someone else

# Fake nitro-cli: two enclaves; sleeps 3 s while $WORK/slow exists.
mkdir -p "$WORK/bin" "$WORK/bb" "$WORK/work"
cat > "$WORK/bin/nitro-cli" <<FAKE
#!/bin/sh
[ "\$1" = describe-enclaves ] || exit 2
[ -f "$WORK/slow" ] && sleep 3
printf '[{"EnclaveName":"teerex","EnclaveCID":16,"State":"RUNNING"},{"EnclaveName":"echo","EnclaveCID":18,"State":"RUNNING"}]\n'
FAKE
chmod +x "$WORK/bin/nitro-cli"
export PATH="$WORK/bin:$PATH"
cp "$TR_SOURCE_DIR/tests/integration/teerexd/fake-bb/bb" "$WORK/bb/bb"
sh "$TR_SOURCE_DIR/tests/integration/fake-crs.sh" "$WORK/crs" # start-up check; the fake needs none
chmod +x "$WORK/bb/bb"

start_teerexd() { # IP HEAD_TIMEOUT
  (cd "$WORK" && LISTEN="proxy+tcp:$1:5000" HTTP_HEADER_TIMEOUT="$2" RATE_LIMIT_MAX=0 \
    BB_BINARY_PATH="$WORK/bb/bb" PROVE_WORK_DIR="$WORK/work" CRS_PATH="$WORK/crs" \
    exec "$TEEREXD_BIN" > "$WORK/teerexd-$1.log" 2>&1) &
  PIDS+=("$!")
}
start_proxy() { # NAME LISTEN_PORT STATUS_PORT ARGS...
  local name=$1 lp=$2 sp=$3
  shift 3
  "$PROXY_BIN" --listen "tcp:0.0.0.0:$lp" --status "tcp:127.0.0.1:$sp" "$@" \
    > "$WORK/proxy-$name.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 200); do
    curl -s -m 1 -o /dev/null "http://127.0.0.1:$sp/" && return 0
    sleep 0.02
  done
  fail "teerex-proxy $name did not start"
}
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
status() { curl -s -m 2 "http://127.0.0.1:$1/"; }

# What every attack ends with: alive, /health 200 and a proof, via the proxy.
still_serves() { # PORT FROM LABEL
  local code
  # 5 s: a slot that frees only when the attacker gives up (20-30 s) does not count
  code=$(curl -s -m 5 --interface "$2" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/health" || true)
  [ "$code" = 200 ] || fail "$3: /health through the proxy from $2: $code"
  echo "normal prover input after $3" > "$WORK/input"
  local r
  r=$(node "$SDK" "http://127.0.0.1:$1" "$WORK/input")
  [ "$(json status <<<"$r")" = 200 ] || fail "$3: normal proof through the proxy: $r"
  note "$3: teerexd alive, /health 200 and a proof through the proxy"
}

start_teerexd 127.0.0.16 1s  # closes silent connections after 1 s
start_teerexd 127.0.0.17 30s # keeps them
wait_http http://127.0.0.16:5000/health 1 || true # (PROXY-only listener: no plain answer)
sleep 0.5
start_proxy a 4000 4001 --target vsock:auto:5000 --vsock-over-tcp --enclave-name teerex \
  --max-conns 20 --max-conns-per-addr 20
still_serves 4000 127.0.0.1 "start"

# ---- A. half-open: teerexd closed them, the proxy must not keep them ----
# The attacker never closes its side: the slots are free only if the proxy
# closes the connections itself once teerexd has.
before=$(json accepted <<<"$(status 4001)")
node "$HERE/sockets.mjs" hold 127.0.0.1 4000 20 10.9.8.7 30000 > "$WORK/a-held.json" &
KILL_AFTER+=("$!")
t0=$(now_ms)
while [ "$(json accepted <<<"$(status 4001)")" -lt $(( before + 20 )) ]; do
  [ $(( $(now_ms) - t0 )) -lt 10000 ] || fail "A: the 20 connections never arrived: $(status 4001)"
  sleep 0.05
done
t0=$(now_ms)
while [ "$(json active <<<"$(status 4001)")" != 0 ] && [ $(( $(now_ms) - t0 )) -lt 8000 ]; do sleep 0.1; done
took=$(( $(now_ms) - t0 ))
note "A: 20 half-open connections (max-conns 20), teerexd's head timeout 1 s: slots free $took ms after the last arrived; $(status 4001)"
[ "$(json active <<<"$(status 4001)")" = 0 ] || fail "A: the proxy holds connections whose target had closed"
[ "$(json target_closed <<<"$(status 4001)")" -ge 20 ] || fail "A: target_closed not counted"
still_serves 4000 10.9.8.8 "A (half-open lock-up)"

# ---- B. one address, every slot: the per-address cap (20 / 8 = 2) ----
start_proxy b 4002 4003 --target tcp:127.0.0.17:5000 --max-conns 20
out=$(node "$HERE/sockets.mjs" hold 127.0.0.1 4002 20 10.9.8.7 2500)
note "B: 20 connections from one address (max-conns 20, default per-address cap 2): $out"
[ "$(json open <<<"$out")" -le 2 ] || fail "B: one address holds more than its share: $out"
[ "$(json addr_cap_rejects <<<"$(status 4003)")" -ge 18 ] || fail "B: rejects not counted: $(status 4003)"
node "$HERE/sockets.mjs" hold 127.0.0.1 4002 2 10.9.8.7 20000 > "$WORK/b-held.json" &
KILL_AFTER+=("$!")
sleep 0.5
still_serves 4002 10.9.8.8 "B (per-address cap)"

# ---- C. a slow nitro-cli does not stall the relay loop ----
node -e 'const net=require("net");const srv=net.createServer((c)=>c.pipe(c));
  process.on("SIGUSR2",()=>srv.close());srv.listen(5000,"127.0.0.18",()=>console.log("ready"))' \
  > "$WORK/echo18.log" 2>&1 &
ECHO=$!
PIDS+=("$ECHO")
for _ in $(seq 100); do grep -q ready "$WORK/echo18.log" && break; sleep 0.05; done
start_proxy c 4004 4005 --target vsock:auto:5000 --vsock-over-tcp --enclave-name echo \
  --proxy-protocol off --connect-timeout 5s
node "$HERE/sockets.mjs" rtt 127.0.0.1 4004 6000 "$WORK/rtt.ready" > "$WORK/rtt.json" &
RTT=$!
for _ in $(seq 200); do [ -f "$WORK/rtt.ready" ] && break; sleep 0.05; done
[ -f "$WORK/rtt.ready" ] || fail "C: no echo through the proxy"
touch "$WORK/slow"
kill -USR2 "$ECHO" # stops accepting; the open connection stays
# A new client: its connect is refused, so the CID is looked up again (3 s).
node -e 'const s=require("net").connect(4004,"127.0.0.1");s.on("error",()=>{});s.on("close",()=>process.exit(0));setTimeout(()=>process.exit(0),6000)' &
NEWC=$!
sleep 0.3
t0=$(now_ms)
status 4005 > /dev/null || fail "C: status endpoint did not answer during the lookup"
took=$(( $(now_ms) - t0 ))
wait "$RTT"
out=$(cat "$WORK/rtt.json")
note "C: during a 3 s nitro-cli lookup: status answered in $took ms; echo round trips: $out"
# (the lookup takes 3 s: a loop that waited for it would stall that long)
[ "$took" -lt 2000 ] || fail "C: status took $took ms during the lookup"
[ "$(json worstMs <<<"$out")" -lt 2000 ] || fail "C: a relayed connection stalled during the lookup: $out"
wait "$NEWC" || true
rm -f "$WORK/slow"
[ "$(json resolves <<<"$(status 4005)")" -ge 2 ] || fail "C: no second lookup happened"

# ---- D. --status connections time out ----
out=$(node "$HERE/sockets.mjs" hold 127.0.0.1 4001 20 127.0.0.1 5000)
note "D: 20 silent connections to --status: $out"
[ "$(json closed <<<"$out")" = 20 ] || fail "D: status connections never time out: $out"
[ "$(json lastClosedMs <<<"$out")" -lt 4500 ] || fail "D: closed too late: $out"
status 4001 > /dev/null || fail "D: status endpoint gone"
still_serves 4000 10.9.8.8 "D (status connections)"
note "PASS proxy attacks"
