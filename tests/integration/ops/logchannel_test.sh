#!/usr/bin/env bash
# The production log channel (issue 14 item 3): teerex-init forwards the JSON
# log lines of teerexd and of itself to teerex-logd over a unix socket (the
# stand-in for vsock:3:PORT), in a fresh network namespace like an enclave.
#  1. init starts before the receiver: lines wait in the ring, then arrive;
#  2. bb's own error text (prove_failed.output_tail) reaches the parent;
#     the plaintext of the request never does, nor raw text a child prints;
#  3. a receiver that stops reading (SIGSTOP) under a flood of lines: teerexd
#     answers as fast as before, init stays responsive, lines are dropped and
#     counted, and once it reads again a log_forward_dropped line says how many;
#  4. a receiver that dies and comes back: init reconnects, lines flow again.
set -euo pipefail
# shellcheck source=../init/lib.sh
. "$(dirname "$0")/../init/lib.sh"
enter_netns "$@"
make_work
LOGD_BIN="$TR_BUILD_DIR/src/teerex-logd/teerex-logd"
for b in "$INIT_BIN" "$LOGD_BIN" "$TEEREXD_BIN"; do [ -x "$b" ] || skip "$b not built"; done
command -v node >/dev/null || skip "node not installed"
[ -d "$TR_SOURCE_DIR/tests/interop/node_modules/openpgp" ] || skip "tests/interop/node_modules missing"
PORT=4000
URL=http://127.0.0.1:$PORT
SOCK=$WORK/log.sock
OUT=$WORK/forwarded.log
LOGD=
pass=0
ok() { pass=$((pass + 1)); note "ok: $*"; }

start_logd() {
  "${VG[@]}" "$LOGD_BIN" --listen "unix:$SOCK" --output "$OUT" --max-conns 2 >>"$WORK/logd.log" 2>&1 &
  LOGD=$!
  KILL_AFTER+=("$LOGD")
  for _ in $(seq 100); do [ -S "$SOCK" ] && return 0; sleep 0.05; done
  fail "teerex-logd did not listen"
}
# wait_out PATTERN TIMEOUT_S: the forwarded file gets a line matching PATTERN
wait_out() {
  for _ in $(seq $(( $2 * 20 ))); do
    grep -q -- "$1" "$OUT" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
# median_ms: reads curl time_total values (seconds), prints the median in ms
median_ms() { sort -n | awk '{a[NR]=$1} END {printf "%d", a[int(NR/2)+1]*1000}'; }
health_times() { for _ in $(seq 20); do curl -s -o /dev/null -m 5 -w '%{time_total}\n' "$URL/health"; done; }

# A prover that fails with its own message, and a child that prints raw text
# once, then JSON lines (chatty.sh: a flood while $WORK/flood exists, a mark).
mkdir -p "$WORK/bb"
cp "$TR_SOURCE_DIR/tests/integration/teerexd/fake-bb/bb" "$WORK/bb/bb"
echo fail > "$WORK/bb/mode"
sh "$TR_SOURCE_DIR/tests/integration/fake-crs.sh" "$WORK/crs"
{
  echo "console = off"
  echo "stats_file = $WORK/stats.json"
  echo "exit_on_signal = on"
  echo "stop_timeout = 2s"
  echo "workdir = $WORK"
  echo "log_forward = unix:$SOCK"
  echo "log_forward_buffer = 65536"
  echo "env = LISTEN=tcp:127.0.0.1:$PORT"
  echo "env = BB_BINARY_PATH=$WORK/bb/bb"
  echo "env = PROVE_WORK_DIR=$WORK"
  echo "env = CRS_PATH=$WORK/crs"
  echo "env = RATE_LIMIT_MAX=0"
  echo "child = teerexd $TEEREXD_BIN"
  echo "child = chatty $TR_SOURCE_DIR/tests/integration/ops/chatty.sh $WORK"
} > "$WORK/init.conf"

# 1. init first, the receiver 1 s later
"${VG[@]}" "$INIT_BIN" --config "$WORK/init.conf" > "$WORK/init.log" 2>&1 &
INIT_PID=$!
PIDS+=("$INIT_PID")
wait_http "$URL/health" 15000 || fail "teerexd did not answer under teerex-init"
sleep 1
start_logd
wait_out '"event":"ready"' 10 || fail "teerexd's ready line (logged before the receiver existed) never arrived"
grep -q '"event":"log_forward_down"' "$OUT" || fail "the outage before the receiver started is not reported"
ok "lines from before the receiver started arrive once it listens"

# 2. bb's error text reaches the parent; the plaintext and raw prints never do
SECRET="PLAINTEXT-MARKER-$RANDOM$RANDOM"
printf '%s\n' "import { prove } from '$TR_SOURCE_DIR/tests/interop/sdk/sdk-client.mjs';" \
  "const r = await prove('$URL', Buffer.from('$SECRET'));" "console.log(r.status);" > "$WORK/prove.mjs"
[ "$(node "$WORK/prove.mjs")" = 500 ] || fail "the failing prover did not give a 500"
wait_out '"event":"prove_failed"' 10 || fail "prove_failed did not reach the parent"
grep -q '"event":"prove_failed".*failing on purpose' "$OUT" || fail "bb's own error text is not in prove_failed"
ok "prove_failed with bb's output tail reached the receiver"
wait_out '"event":"log_line_withheld".*"source":"chatty"' 10 || fail "raw child output not reported as withheld"
if grep -q "PLAINTEXT-MARKER" "$OUT"; then fail "plaintext or raw child text left the enclave"; fi
if grep -q -- "-----BEGIN PGP" "$OUT"; then fail "key material in the forwarded log"; fi
ok "no plaintext, no raw text, no key in the forwarded log"

# 3. the receiver stops reading during a flood
base_ms=$(health_times | median_ms)
kill -STOP "$LOGD"
touch "$WORK/flood"
for _ in $(seq 400); do [ -e "$WORK/flood" ] || break; sleep 0.05; done
[ ! -e "$WORK/flood" ] || fail "the chatty child did not get its flood out (init blocked?)"
lat=$(health_times | sort -n)
med_ms=$(median_ms <<<"$lat")
max_ms=$(tail -n 1 <<<"$lat" | awk '{printf "%d", $1*1000}')
note "health latency: receiver reading: median ${base_ms} ms; stopped: median ${med_ms} ms, max ${max_ms} ms"
[ "$max_ms" -lt 1000 ] || fail "teerexd slowed down while the receiver was stopped (max ${max_ms} ms)"
t0=$(now_ms)
init_stats "$INIT_PID" "$WORK/stats.json"
note "init answered SIGUSR1 in $(( $(now_ms) - t0 )) ms while the receiver was stopped"
dropped=$(json_get "$WORK/stats.json" log_forward.lines_dropped)
[ "${dropped:-0}" -gt 0 ] || fail "no line dropped although the receiver stopped reading"
ok "receiver stopped: teerexd and init unaffected, $dropped lines dropped and counted"
kill -CONT "$LOGD"
wait_out '"event":"log_forward_dropped"' 20 || fail "no log_forward_dropped line after the receiver resumed"
echo 1 > "$WORK/mark"
wait_out '"event":"mark","n":"1"' 10 || fail "lines do not flow again after the receiver resumed"
ok "receiver resumed: the drop is reported, lines flow again"
if grep -v -q '^{.*}$' "$OUT"; then fail "a forwarded line is not a whole JSON object"; fi

# 4. the receiver dies and comes back
kill -9 "$LOGD"
wait "$LOGD" 2>/dev/null || true
echo 2 > "$WORK/mark"
sleep 1
start_logd
wait_out '"event":"mark","n":"2"' 40 || fail "init did not reconnect to a restarted receiver"
ok "receiver restarted: init reconnected and delivered the waiting lines"
init_stats "$INIT_PID" "$WORK/stats.json"
[ "$(json_get "$WORK/stats.json" log_forward.connects)" -ge 2 ] || fail "expected 2 connects"
kill -TERM "$LOGD"
wait "$LOGD" 2>/dev/null || true
echo "$pass passed, 0 failed"
