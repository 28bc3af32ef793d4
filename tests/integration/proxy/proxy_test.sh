#!/usr/bin/env bash
# teerex-proxy in a fresh network namespace, TCP <-> TCP: the vsock target
# runs over the test transport (--vsock-over-tcp: CID c -> 127.0.0.c), with
# a fake nitro-cli on PATH whose CID changes like a restarted enclave's.
#   proxy_test.sh follow|load|cap|teerexd|errors|stall
set -euo pipefail
# shellcheck source=../init/lib.sh
. "$(dirname "$0")/../init/lib.sh"
enter_netns "$@"
phase=${1:?phase}
make_work
[ -x "$PROXY_BIN" ] || fail "teerex-proxy not built at $PROXY_BIN"
command -v node >/dev/null || skip "node not installed"
ip link set lo up
ip addr add 10.9.8.7/32 dev lo # a non-loopback client address

# Fake nitro-cli: prints describe-enclaves JSON with the CID in $WORK/cid
# and counts its calls.
mkdir -p "$WORK/bin"
cat > "$WORK/bin/nitro-cli" <<FAKE
#!/bin/sh
[ "\$1" = describe-enclaves ] || exit 2
echo x >> "$WORK/nitro-calls"
printf '[{"EnclaveName":"teerex","EnclaveID":"i-0-enc1","ProcessID":1,"EnclaveCID":%s,"NumberOfCPUs":2,"CPUIDs":[1,3],"MemoryMiB":4096,"State":"RUNNING","Flags":"NONE"}]\n' "\$(cat "$WORK/cid")"
FAKE
chmod +x "$WORK/bin/nitro-cli"
export PATH="$WORK/bin:$PATH"

start_echo() { # CID [HOLD]
  rm -f "$WORK/echo.log.ready"
  node "$HERE_PROXY/echo_server.js" "127.0.0.$1" 5000 "$WORK/echo.log" "${2:-0}" > "$WORK/echo$1.log" 2>&1 &
  ECHO_PID=$!
  PIDS+=("$ECHO_PID")
  for _ in $(seq 200); do [ -f "$WORK/echo.log.ready" ] && return 0; sleep 0.02; done
  fail "echo server on 127.0.0.$1 did not start"
}

start_proxy() { # extra args
  "${VG[@]}" "$PROXY_BIN" --listen tcp:0.0.0.0:4000 --target vsock:auto:5000 --enclave-name teerex \
    --vsock-over-tcp --status tcp:127.0.0.1:4001 "$@" > "$WORK/proxy.log" 2>&1 &
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
  for _ in $(seq 200); do
    curl -s -m 1 -o /dev/null http://127.0.0.1:4001/ && return 0
    sleep 0.02
  done
  fail "teerex-proxy did not start"
}

status() { curl -s -m 2 http://127.0.0.1:4001/; }
st() { status | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }

# One request through the proxy from 10.9.8.7; prints the echoed reply.
roundtrip() {
  node -e 'const s=require("net").connect({port:4000,host:"127.0.0.1",localAddress:"10.9.8.7"},()=>s.end(process.argv[1]));
    let r="";s.on("data",d=>r+=d);s.on("end",()=>{console.log(r);process.exit(0)});s.on("error",e=>{console.log("ERR "+e.message);process.exit(0)})' "$1"
}

case $phase in
follow)
  echo 16 > "$WORK/cid"
  start_echo 16
  start_proxy
  [ "$(roundtrip hello16)" = hello16 ] || fail "no echo via CID 16"
  grep -q '^src=10.9.8.7:' "$WORK/echo.log" || fail "PROXY v2 source is not the client: $(cat "$WORK/echo.log")"
  [ "$(st cid)" = 16 ] || fail "status cid != 16"
  # "Restart the enclave": new CID 17, old one gone.
  kill -9 "$ECHO_PID"; wait "$ECHO_PID" 2>/dev/null || true
  echo 17 > "$WORK/cid"
  start_echo 17
  [ "$(roundtrip hello17)" = hello17 ] || fail "proxy did not follow the CID change"
  [ "$(st cid)" = 17 ] || fail "status cid != 17"
  [ "$(st connect_failures)" -ge 1 ] || fail "the failed connect to CID 16 was not counted"
  calls=$(wc -l < "$WORK/nitro-calls")
  note "nitro-cli called $calls times; status: $(status)"
  [ "$calls" -le 3 ] || fail "nitro-cli called $calls times for 2 connections"
  # SIGUSR1 logs counters; SIGTERM exits 0.
  kill -USR1 "$PROXY_PID"; sleep 0.3
  grep -q '"event":"counters"' "$WORK/proxy.log" || fail "no counters on SIGUSR1"
  kill -TERM "$PROXY_PID"
  rc=0; wait "$PROXY_PID" || rc=$?
  [ "$rc" = 0 ] || fail "teerex-proxy exit $rc on SIGTERM"
  grep -q '"event":"stopped"' "$WORK/proxy.log" || fail "no stopped line"
  ;;
load)
  echo 16 > "$WORK/cid"
  start_echo 16 500 # no echo until 500 connections are open at once
  start_proxy --max-conns-per-addr 1024 # all 500 come from 127.0.0.1
  ulimit -n 8192 2>/dev/null || true
  out=$(node "$HERE_PROXY/load_client.js" 127.0.0.1 4000 500 1 262144) || fail "load: $out"
  note "500 concurrent connections: $out"
  sleep 0.2
  peak=$(cat "$WORK/echo.log.peak")
  note "peak concurrent connections at the backend: $peak; proxy: $(status)"
  [ "$peak" -ge 500 ] || fail "only $peak connections were open at once"
  [ "$(grep -c '^src=127.0.0.1:' "$WORK/echo.log")" = 500 ] || fail "not 500 PROXY headers"
  mv "$WORK/echo.log" "$WORK/echo-500.txt" # keep dump_logs short
  [ "$(st errors)" = 0 ] || fail "proxy counted errors"
  # Large transfer one way after half-close of the other (16 MiB).
  kill "$ECHO_PID"; wait "$ECHO_PID" 2>/dev/null || true
  start_echo 16
  out=$(node "$HERE_PROXY/load_client.js" 127.0.0.1 4000 1 16777216 16777216) || fail "16 MiB: $out"
  note "16 MiB round trip: $out"
  echo "$out" > "$TR_BUILD_DIR/runtime-proxy-16m.json"
  ;;
cap)
  echo 16 > "$WORK/cid"
  start_echo 16
  start_proxy --max-conns 5 --max-conns-per-addr 5 # one client address here
  out=$(node "$HERE_PROXY/load_client.js" 127.0.0.1 4000 40 1000 5000) || fail "cap: $out"
  [ "$(st cap_waits)" -ge 1 ] || fail "connection cap never reached"
  sleep 0.2
  peak=$(cat "$WORK/echo.log.peak")
  [ "$peak" -le 5 ] || fail "backend saw $peak connections with --max-conns 5"
  note "40 clients through --max-conns 5: $out, backend peak $peak"
  # Idle timeout: a silent connection is closed.
  "$PROXY_BIN" --listen tcp:127.0.0.1:4002 --target tcp:127.0.0.16:5000 --idle-timeout 500ms \
    > "$WORK/proxy2.log" 2>&1 &
  PIDS+=("$!")
  sleep 0.3
  t0=$(now_ms)
  node -e 'const s=require("net").connect(4002,"127.0.0.1");s.on("close",()=>process.exit(0));setTimeout(()=>process.exit(1),5000)' ||
    fail "idle connection not closed"
  took=$(( $(now_ms) - t0 ))
  note "idle connection closed after $took ms (idle timeout 500 ms)"
  [ "$took" -ge 400 ] || fail "closed too early"
  ;;
errors)
  # No enclave of that name: clients are closed, the proxy stays up.
  echo 16 > "$WORK/cid"
  start_proxy --enclave-name other --connect-timeout 300ms
  r=$(roundtrip x)
  [ "$r" = "" ] || [ "${r#ERR}" != "$r" ] || fail "expected the client to be closed, got: $r"
  [ "$(st resolve_failures)" -ge 1 ] || fail "lookup failure not counted"
  # Connect timeout: a target that never answers SYN (blackholed address).
  "$PROXY_BIN" --listen tcp:127.0.0.1:4003 --target tcp:192.0.2.1:9 --connect-timeout 300ms \
    > "$WORK/proxy3.log" 2>&1 &
  PIDS+=("$!")
  sleep 0.3
  t0=$(now_ms)
  r=$(node -e 'const s=require("net").connect(4003,"127.0.0.1",()=>s.write("x"));s.on("close",()=>process.exit(0));s.on("error",()=>{});setTimeout(()=>process.exit(1),5000)' && echo closed)
  took=$(( $(now_ms) - t0 ))
  [ "$r" = closed ] || fail "connect timeout did not close the client"
  note "unreachable target: client closed after $took ms (2 attempts x 300 ms)"
  # Usage errors exit 2, a missing vsock transport exits 1 with its code.
  rc=0; "$PROXY_BIN" --listen tcp:127.0.0.1:1 --target vsock:auto:5000 2>/dev/null || rc=$?
  [ "$rc" = 2 ] || fail "auto without --enclave-name exited $rc"
  rc=0; "$PROXY_BIN" --listen tcp:127.0.0.1:1 --target bogus:1 2>/dev/null || rc=$?
  [ "$rc" = 2 ] || fail "bad target exited $rc"
  # A real vsock target: either the kernel has no vsock (exit 1 with its
  # code) or the connect fails (nothing listens on CID 16 here) and the
  # client is closed while the proxy stays up.
  rc=0
  "${VG[@]}" "$PROXY_BIN" --listen tcp:127.0.0.1:4004 --target vsock:16:5000 \
    --status tcp:127.0.0.1:4005 --connect-timeout 300ms > "$WORK/vs.log" 2>&1 &
  vs=$!
  PIDS+=("$vs")
  sleep 0.4
  if grep -q RT_VSOCK_UNAVAILABLE "$WORK/vs.log"; then
    wait "$vs" || rc=$?
    [ "$rc" = 1 ] || fail "no vsock: exit $rc"
    note "no vsock transport here: reported as RT_VSOCK_UNAVAILABLE, exit 1"
  else
    r=$(node -e 'const s=require("net").connect(4004,"127.0.0.1",()=>s.write("x"));s.on("close",()=>process.exit(0));s.on("error",()=>{});setTimeout(()=>process.exit(1),5000)' && echo closed)
    [ "$r" = closed ] || fail "vsock connect failure did not close the client"
    f=$(curl -s -m 2 http://127.0.0.1:4005/ | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).connect_failures + JSON.parse(s).connect_timeouts))')
    [ "$f" -ge 1 ] || fail "vsock connect failure not counted"
    grep -q '"cid":16' "$WORK/vs.log" || fail "fixed CID not logged"
    note "vsock:16:5000 unreachable: client closed, $f failed attempts counted"
    kill -TERM "$vs"
    wait "$vs" || rc=$?
    [ "$rc" = 0 ] || fail "vsock proxy exit $rc on SIGTERM"
  fi
  # The reverse direction (inside an enclave): listen on vsock, relay to TCP.
  "${VG[@]}" "$PROXY_BIN" --listen vsock:any:6000 --target tcp:127.0.0.1:4000 \
    > "$WORK/rev.log" 2>&1 &
  rev=$!
  PIDS+=("$rev")
  sleep 0.4
  if grep -q RT_VSOCK_UNAVAILABLE "$WORK/rev.log"; then
    note "vsock listener: RT_VSOCK_UNAVAILABLE reported"
  else
    grep -q '"listen":"vsock:4294967295:6000"' "$WORK/rev.log" || fail "vsock listener: $(cat "$WORK/rev.log")"
    kill -TERM "$rev"
    rc=0; wait "$rev" || rc=$?
    [ "$rc" = 0 ] || fail "vsock listener exit $rc"
    note "vsock:any:6000 listener up and stopped cleanly"
  fi
  grep -q 'vsock:auto' <<<"$("$PROXY_BIN" --help)" || fail "--help"
  ;;
stall)
  # A target that never reads, says "bye" and half-closes; the client sends
  # 8 MiB (more than the buffers on the way hold), reads "bye" and closes.
  # Bytes wait for the target: the proxy must sleep under back-pressure
  # (no busy loop on a full pipe or a finished peer) until the idle timeout
  # closes the connection and counts it.
  node -e 'const s=require("net").createServer({allowHalfOpen:true},(c)=>{c.pause();c.end("bye")});
    s.listen(5000,"127.0.0.16",()=>require("fs").writeFileSync(process.argv[1],"1"))' "$WORK/stall.ready" &
  PIDS+=("$!")
  for _ in $(seq 200); do [ -f "$WORK/stall.ready" ] && break; sleep 0.02; done
  echo 16 > "$WORK/cid"
  start_proxy --idle-timeout 3s
  node -e 'const s=require("net").connect(4000,"127.0.0.1",()=>{s.write(Buffer.alloc(8<<20));s.end()});
    let r="";s.on("data",(d)=>r+=d);s.on("end",()=>{console.log(r);s.destroy()});s.on("error",()=>{})' > "$WORK/stall.out"
  [ "$(cat "$WORK/stall.out")" = bye ] || fail "client did not get the target's reply"
  ticks() { awk '{print $14 + $15}' "/proc/$PROXY_PID/stat"; }
  t0=$(ticks); sleep 2; t1=$(ticks)
  note "proxy CPU while a finished client waits on a stalled target: $(( t1 - t0 )) ticks in 2 s"
  [ "$(st active)" = 1 ] || fail "the stalled connection is not open"
  [ $(( t1 - t0 )) -le 20 ] || fail "proxy spins: $(( t1 - t0 )) ticks of CPU in 2 s"
  sleep 2
  [ "$(st active)" = 0 ] || fail "idle timeout did not close the stalled connection"
  [ "$(st idle_timeouts)" = 1 ] || fail "idle timeout not counted"
  ;;
teerexd)
  [ -x "$TEEREXD_BIN" ] || skip "teerexd not built yet ($TEEREXD_BIN)"
  echo 16 > "$WORK/cid"
  (cd "$WORK" && PORT=5000 LISTEN=proxy+tcp:127.0.0.16:5000 TEE_MODE=standard \
    exec "$TEEREXD_BIN" > "$WORK/teerexd.log" 2>&1) &
  PIDS+=("$!")
  start_proxy
  wait_http http://127.0.0.1:4000/health 10000 || fail "teerexd /health through the proxy"
  # Rate limit: POST /prove is limited per client IP (10 per hour).
  codes=""
  for _ in $(seq 12); do
    codes="$codes $(curl -s -m 10 --interface 10.9.8.7 -o /dev/null -w '%{http_code}' \
      -H 'Content-Type: application/json' -d '{}' http://127.0.0.1:4000/prove)"
  done
  note "POST /prove x12 from 10.9.8.7: $codes"
  grep -q 429 <<<"$codes" || fail "no 429 for one client IP behind the proxy"
  # teerexd saw the address carried by the PROXY v2 header, not the proxy's.
  grep -q '"client":"10.9.8.7"' <<<"$(grep '"event":"rate_limited"' "$WORK/teerexd.log")" ||
    fail "client IP 10.9.8.7 not in teerexd's rate_limited log line"
  n429=$(echo "$codes" | tr ' ' '\n' | grep -c 429 || true)
  [ "$n429" = 2 ] || fail "expected exactly requests 11 and 12 limited (10 per window), got $n429"
  # Another client IP is not limited by the first one's requests.
  ip addr add 10.9.8.8/32 dev lo
  c=$(curl -s -m 10 --interface 10.9.8.8 -o /dev/null -w '%{http_code}' \
      -H 'Content-Type: application/json' -d '{}' http://127.0.0.1:4000/prove)
  [ "$c" != 429 ] || fail "second client IP rate-limited too"
  ;;
*) fail "unknown phase $phase" ;;
esac
note "PASS $phase"
