#!/usr/bin/env bash
# teerex-init in a fresh network namespace (lo down, like a Nitro enclave).
#   init_test.sh health|restart|crashloop|zombies|sigterm|orphans|check|flood|rootfs
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
enter_netns "$@"
phase=${1:?phase}
make_work
[ -x "$INIT_BIN" ] || fail "teerex-init not built at $INIT_BIN"
PORT=4000
URL="http://127.0.0.1:$PORT/health"
pick_server "$PORT"

start_init() { # $1: extra config lines
  { echo "console = $WORK/console"
    echo "stats_file = $WORK/stats.json"
    echo "exit_on_signal = on"
    echo "stop_timeout = 2s"
    echo "workdir = $WORK"
    echo "$SERVER_ENV"
    echo "child = $SERVER_CHILD"
    printf '%s\n' "${1:-}"
  } > "$WORK/init.conf"
  "${VG[@]}" "$INIT_BIN" --config "$WORK/init.conf" > "$WORK/init.log" 2>&1 &
  INIT_PID=$!
  PIDS+=("$INIT_PID")
  wait_http "$URL" 15000 || fail "server did not answer on 127.0.0.1 under teerex-init"
}

case $phase in
health)
  grep -q '<LOOPBACK>' <<<"$(ip -o link show lo)" || fail "lo is not down in the new namespace"
  ! curl -s -m 1 -o /dev/null "$URL" || fail "127.0.0.1 reachable before init"
  printf '#!/bin/sh\npwd > "%s/pwd.out"\nexec sleep 1000\n' "$WORK" > "$WORK/pwd.sh"
  chmod +x "$WORK/pwd.sh"
  t0=$(now_ms)
  start_init "child = pwd $WORK/pwd.sh"
  note "server answered $(( $(now_ms) - t0 )) ms after teerex-init started"
  grep -q 'inet 127.0.0.1/8' <<<"$(ip -o addr show lo)" || fail "127.0.0.1/8 not on lo"
  grep -q 'LOOPBACK,UP' <<<"$(ip -o link show lo)" || fail "lo not up"
  for _ in $(seq 100); do [ -s "$WORK/pwd.out" ] && break; sleep 0.02; done
  [ "$(cat "$WORK/pwd.out" 2>/dev/null)" = "$WORK" ] || fail "child did not start in workdir"
  grep -q '"event":"loopback_verified"' "$WORK/console" || fail "no loopback_verified line"
  ;;
restart)
  # A run of 500 ms counts as stable: every kill restarts after restart_min.
  start_init "stable_after = 500ms"
  for round in 1 2 3; do
    init_stats "$INIT_PID" "$WORK/stats.json"
    pid=$(json_get "$WORK/stats.json" children.server.pid)
    if [ -z "$pid" ] || [ "$pid" -le 0 ]; then fail "no server pid"; fi
    t0=$(now_ms)
    kill -9 "$pid"
    while kill -0 "$pid" 2>/dev/null && [ "$(( $(now_ms) - t0 ))" -lt 1000 ]; do sleep 0.01; done
    # Old listener gone; serving again must take < 1 s.
    wait_http "$URL" 1000 || fail "round $round: not serving again within 1 s of kill -9"
    note "round $round: serving again $(( $(now_ms) - t0 )) ms after kill -9"
    sleep 0.6
  done
  init_stats "$INIT_PID" "$WORK/stats.json"
  [ "$(json_get "$WORK/stats.json" children.server.starts)" = 4 ] || fail "expected 4 starts"
  ;;
crashloop)
  start_init "$(printf 'restart_min = 50ms\nrestart_max = 800ms\nchild = crasher /bin/false')"
  sleep 3.2
  init_stats "$INIT_PID" "$WORK/stats.json"
  starts=$(json_get "$WORK/stats.json" children.crasher.starts)
  backoff=$(json_get "$WORK/stats.json" children.crasher.backoff_ms)
  note "crasher: $starts starts in ~3.2 s, backoff now $backoff ms"
  # 50+100+200+400+800+800... ms: 6-9 starts; without backoff it would be ~60.
  if [ "$starts" -lt 5 ] || [ "$starts" -gt 10 ]; then fail "crash loop starts=$starts, not backed off"; fi
  [ "$backoff" = 800 ] || fail "backoff not capped at 800 ms (is $backoff)"
  wait_http "$URL" 1000 || fail "server stopped answering during the crash loop"
  ;;
zombies)
  # A child whose own children are orphaned every 100 ms.
  printf '#!/bin/sh\nwhile :; do ( sleep 0.05 & ) ; sleep 0.1; done\n' > "$WORK/orphans.sh"
  chmod +x "$WORK/orphans.sh"
  start_init "child = orphans $WORK/orphans.sh"
  sleep 2
  init_stats "$INIT_PID" "$WORK/stats.json"
  reaped=$(json_get "$WORK/stats.json" zombies_reaped)
  note "orphans reaped by teerex-init: $reaped"
  [ "$reaped" -ge 10 ] || fail "only $reaped orphans reaped"
  zombies=0
  for _ in 1 2 3; do
    # shellcheck disable=SC2009 # pgrep cannot select by process state
    zombies=$(ps -o stat= --ppid "$INIT_PID" | grep -c '^Z' || true)
    [ "$zombies" = 0 ] && break
    sleep 0.1
  done
  [ "$zombies" = 0 ] || fail "$zombies zombie children of teerex-init"
  ;;
sigterm)
  printf '#!/bin/sh\ntrap "" TERM\nwhile :; do sleep 0.2; done\n' > "$WORK/stubborn.sh"
  chmod +x "$WORK/stubborn.sh"
  start_init "$(printf 'stop_timeout = 1s\nchild = stubborn %s/stubborn.sh' "$WORK")"
  init_stats "$INIT_PID" "$WORK/stats.json"
  spid=$(json_get "$WORK/stats.json" children.server.pid)
  bpid=$(json_get "$WORK/stats.json" children.stubborn.pid)
  t0=$(now_ms)
  kill -TERM "$INIT_PID"
  rc=0
  wait "$INIT_PID" || rc=$?
  took=$(( $(now_ms) - t0 ))
  note "teerex-init exited $rc after ${took} ms (stop_timeout 1 s)"
  [ "$rc" = 0 ] || fail "exit code $rc"
  [ "$took" -lt 4000 ] || fail "stop took ${took} ms"
  ! kill -0 "$spid" 2>/dev/null || fail "server still running"
  ! kill -0 "$bpid" 2>/dev/null || fail "SIGTERM-ignoring child not killed"
  grep -q '"event":"children_stopped"' "$WORK/console" || fail "no children_stopped line"
  ;;
orphans)
  # teerex-init not PID 1 (as under the AWS init, or here): when it is killed,
  # or exits, its children must not keep running. Production mode (no
  # exit_on_signal): SIGKILL is the only way it goes.
  { echo "console = $WORK/console"
    echo "stats_file = $WORK/stats.json"
    echo "workdir = $WORK"
    echo "$SERVER_ENV"
    echo "child = $SERVER_CHILD"
    echo "child = sleeper /bin/sleep 1000"
  } > "$WORK/init.conf"
  for round in kill exit; do
    if [ "$round" = kill ]; then
      "${VG[@]}" "$INIT_BIN" --config "$WORK/init.conf" > "$WORK/init.log" 2>&1 &
    else
      "${VG[@]}" "$INIT_BIN" --config "$WORK/init.conf" --exit-on-signal --stop-timeout 1s > "$WORK/init.log" 2>&1 &
    fi
    INIT_PID=$!
    PIDS+=("$INIT_PID")
    wait_http "$URL" 15000 || fail "$round: server did not answer under teerex-init"
    init_stats "$INIT_PID" "$WORK/stats.json"
    spid=$(json_get "$WORK/stats.json" children.server.pid)
    lpid=$(json_get "$WORK/stats.json" children.sleeper.pid)
    KILL_AFTER+=("$spid" "$lpid")
    t0=$(now_ms)
    if [ "$round" = kill ]; then kill -9 "$INIT_PID"; else kill -TERM "$INIT_PID"; fi
    wait "$INIT_PID" 2>/dev/null || true
    # Running = exists and is not a zombie (an orphan waits for a far-away reaper).
    running() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${st:0:1}" != Z ]; }
    while { running "$spid" || running "$lpid"; } && [ "$(( $(now_ms) - t0 ))" -lt 3000 ]; do
      sleep 0.02
    done
    ! running "$spid" || fail "$round: teerexd (pid $spid) outlived teerex-init"
    ! running "$lpid" || fail "$round: sleeper (pid $lpid) outlived teerex-init"
    ! curl -s -m 1 -o /dev/null "$URL" || fail "$round: the server still answers"
    note "$round: children gone $(( $(now_ms) - t0 )) ms after teerex-init was signalled"
  done
  ;;
check)
  grep -q 'never exits' <<<"$("$INIT_BIN" --help)" || fail "--help"
  # env: a name twice in one file is an error naming the line; --env after
  # --config overrides it, and teerex-init says so at start.
  printf 'child = a /bin/true\nenv = LISTEN=a\nenv = LISTEN=b\n' > "$WORK/dup.conf"
  rc=0; err=$("$INIT_BIN" --check --config "$WORK/dup.conf" 2>&1) || rc=$?
  [ "$rc" = 2 ] || fail "duplicate env name in a file exited $rc"
  grep -q 'line 3.*RT_CONFIG_DUPLICATE' <<<"$err" || fail "duplicate env: $err"
  printf 'child = a /bin/true\nenv = LISTEN=a\nenv = MODE=x\n' > "$WORK/env.conf"
  out=$("$INIT_BIN" --check --config "$WORK/env.conf" --env LISTEN=b) || fail "--env override --check"
  grep -q '"env":\["LISTEN","MODE"\]' <<<"$out" || fail "--check env list: $out"
  # shellcheck disable=SC2016 # $LISTEN belongs to the generated script
  printf '#!/bin/sh\necho "LISTEN=$LISTEN" > %s/env.out\n' "$WORK" > "$WORK/env.sh"
  chmod +x "$WORK/env.sh"
  "$INIT_BIN" --config "$WORK/env.conf" --env LISTEN=b --no-loopback --exit-on-signal \
    --console "$WORK/env.console" -- "$WORK/env.sh" > /dev/null 2>&1 &
  epid=$!
  PIDS+=("$epid")
  for _ in $(seq 100); do [ -s "$WORK/env.out" ] && break; sleep 0.02; done
  kill -TERM "$epid"; wait "$epid" || true
  [ "$(cat "$WORK/env.out" 2>/dev/null)" = LISTEN=b ] || fail "--env did not override the file"
  grep -q '"event":"env_override".*"name":"LISTEN"' "$WORK/env.console" || fail "no env_override line"
  printf 'child = a /bin/true\nconsole = off\n' > "$WORK/ok.conf"
  out=$("$INIT_BIN" --check --config "$WORK/ok.conf") || fail "--check on a valid file"
  grep -q '"ok":true' <<<"$out" || fail "--check output: $out"
  printf 'child = a /bin/true\nconsole_buffer = 12\n' > "$WORK/bad.conf"
  rc=0; err=$("$INIT_BIN" --check --config "$WORK/bad.conf" 2>&1) || rc=$?
  [ "$rc" = 2 ] || fail "--check on a bad file exited $rc"
  grep -q 'line 2' <<<"$err" || fail "error does not name line 2: $err"
  grep -q 'RT_CONFIG_VALUE' <<<"$err" || fail "error does not name the code: $err"
  rc=0; "$INIT_BIN" --check --no-such-key 1 2>/dev/null || rc=$?
  [ "$rc" = 2 ] || fail "unknown option exited $rc"
  rc=0; "$INIT_BIN" --check 2>/dev/null || rc=$?
  [ "$rc" = 2 ] || fail "no child: exited $rc"
  grep -q '"name":"sleep"' <<<"$("$INIT_BIN" --check --workdir /app --console off -- /bin/sleep 1)" ||
    fail "argv child"
  # Loopback failure is reported, not ignored: without CAP_NET_ADMIN.
  if command -v setpriv >/dev/null; then
    rc=0
    setpriv --inh-caps=-all --bounding-set=-all "$INIT_BIN" --console stderr --exit-on-signal \
      -- /bin/true > "$WORK/nocap.log" 2>&1 || rc=$?
    [ "$rc" = 1 ] || fail "loopback failure without CAP_NET_ADMIN exited $rc"
    grep -q 'RT_NETLINK' "$WORK/nocap.log" || fail "netlink error not reported"
    # Outside test mode the same failure must not end the "enclave".
    setpriv --inh-caps=-all --bounding-set=-all "$INIT_BIN" --console stderr \
      -- /bin/true > "$WORK/nocap2.log" 2>&1 &
    stay=$!
    PIDS+=("$stay")
    sleep 1
    kill -0 "$stay" 2>/dev/null || fail "teerex-init exited after a set-up failure outside test mode"
    grep -q 'RT_NETLINK' "$WORK/nocap2.log" || fail "netlink error not reported (production mode)"
    kill -9 "$stay"
  fi
  ;;
flood)
  # The console is a FIFO this script holds open and never reads: after
  # 64 KiB it is full, like the 4 KB console that killed the TS enclave.
  mkfifo "$WORK/console"
  exec 9<>"$WORK/console"
  # shellcheck disable=SC2016 # $i belongs to the generated script
  # The count is replaced atomically (rename): a reader never sees it empty.
  printf '#!/bin/sh\ni=0\nwhile :; do cat %s/chunk; i=$((i+1)); echo $i > %s/spam.tmp; mv %s/spam.tmp %s/spam.count; sleep 0.02; done\n' \
    "$WORK" "$WORK" "$WORK" "$WORK" > "$WORK/spam.sh"
  chmod +x "$WORK/spam.sh"
  node -e 'let s="";for(let i=0;i<500;i++)s+=JSON.stringify({event:"spam",i,pad:"y".repeat(60)})+"\n";process.stdout.write(s)' > "$WORK/chunk"
  # Baseline: the same server without teerex-init, its log to /dev/null.
  ip link set lo up
  if [ "$SERVER_KIND" = teerexd ]; then
    # exec: $! must be teerexd itself, or cleanup kills only a subshell and
    # leaves teerexd running (it did, on 127.0.0.1:4100, after every run).
    (cd "$WORK" && PORT=4100 LISTEN=tcp:127.0.0.1:4100 TEE_MODE=standard exec "$TEEREXD_BIN" > /dev/null 2>&1) &
  else
    PORT=4100 node "$HERE_INIT/fake_server.js" > /dev/null 2>&1 &
  fi
  PIDS+=("$!")
  wait_http "http://127.0.0.1:4100/health" 15000 || fail "baseline server"
  base=$(node "$HERE_INIT/latency.js" "http://127.0.0.1:4100/health" 5 20)
  note "baseline (no init, log to /dev/null): $base"
  start_init "$(printf 'console_buffer = 65536\nchild = spam %s/spam.sh' "$WORK")"
  c0=$(cat "$WORK/spam.count")
  flood=$(node "$HERE_INIT/latency.js" "$URL" 60 20)
  c1=$(cat "$WORK/spam.count")
  note "60 s with an undrained console: $flood"
  init_stats "$INIT_PID" "$WORK/stats.json"
  dropped=$(json_get "$WORK/stats.json" console_lines_dropped)
  lines=$(json_get "$WORK/stats.json" console_lines_in)
  note "console: $lines lines in, $dropped dropped; spammer wrote $(( (c1 - c0) * 500 )) lines meanwhile"
  [ "$dropped" -gt 0 ] || fail "no dropped lines counted"
  # Blocked on a full pipe it would manage 2 rounds (64 KiB); 100 = 50 000 lines.
  [ "$(( c1 - c0 ))" -ge 100 ] || fail "the logging child was blocked ($((c1 - c0)) rounds in 60 s)"
  fj() { node -e 'const o=JSON.parse(process.argv[1]);console.log(o[process.argv[2]])' "$1" "$2"; }
  [ "$(fj "$flood" fail)" = 0 ] || fail "requests failed under an undrained console"
  bp99=$(fj "$base" p99); fp99=$(fj "$flood" p99); fmax=$(fj "$flood" max)
  # "No added latency": p99 within 3x baseline + 20 ms; no request near a
  # blocking stall (1 s).
  node -e 'const [b,f,m]=process.argv.slice(1).map(Number); process.exit(f <= 3*b+20 && m < 1000 ? 0 : 1)' \
    "$bp99" "$fp99" "$fmax" || fail "latency grew: baseline p99 $bp99 ms, flooded p99 $fp99 ms, max $fmax ms"
  echo "{\"baseline\":$base,\"flooded\":$flood,\"dropped\":$dropped,\"lines_in\":$lines}" > "${TR_BUILD_DIR}/runtime-flood-figures.json"
  ;;
rootfs)
  # The enclave's root file system exactly as deploy/stage-rootfs.sh stages
  # it (what Dockerfile.enclave copies into the image), booted with chroot in
  # this namespace: /teerex-init --config /etc/teerex-init.conf, no shell,
  # no /dev, lo down. Only TEE_MODE (no /dev/nsm here) and the listener
  # (no vsock peer) are overridden on the command line.
  [ "$SERVER_KIND" = teerexd ] || skip "teerexd not built"
  bb="$TR_SOURCE_DIR/demo/node_modules/@aztec/bb.js/build/amd64-linux/bb"
  [ -x "$bb" ] || skip "no bb binary at $bb"
  [ -f "$TEEREX_SHARED/crs/bn254_g1.dat" ] || skip "no CRS in $TEEREX_SHARED/crs"
  command -v file >/dev/null || skip "file(1) not installed"
  bash "$TR_SOURCE_DIR/deploy/stage-rootfs.sh" --build "$TR_BUILD_DIR" --bb "$bb" \
    --crs "$TEEREX_SHARED/crs" --out "$WORK/rootfs" | tee "$WORK/sizes.txt"
  [ ! -e "$WORK/rootfs/bin/sh" ] || fail "a shell in the image"
  # The AWS init mounts /proc before it runs the entrypoint; so do we
  # (sanitizer runtimes of the asan flavour read their options there).
  mount -t proc proc "$WORK/rootfs/proc"
  # and devtmpfs on /dev: bb's stdin is /dev/null (only that node here, bound:
  # a devtmpfs would be the host's, and the cleanup's rm -rf would reach it).
  touch "$WORK/rootfs/dev/null"
  mount --bind /dev/null "$WORK/rootfs/dev/null"
  chroot "$WORK/rootfs" /teerex-init --check --config /etc/teerex-init.conf > /dev/null ||
    fail "shipped teerex-init.conf does not pass --check"
  # The staged CRS is the 2^15-point slice: ultra_honk only (chonk needs 2^19).
  chroot "$WORK/rootfs" /teerex-init --config /etc/teerex-init.conf --env TEE_MODE=standard \
    --env LISTEN=tcp:127.0.0.1:$PORT --env PROVE_SCHEMES=ultra_honk --exit-on-signal --stop-timeout 2s \
    --console /tmp/console --stats-file /tmp/stats.json > "$WORK/init.log" 2>&1 &
  INIT_PID=$!
  PIDS+=("$INIT_PID")
  wait_http "$URL" 30000 || fail "teerexd in the staged rootfs did not answer /health"
  grep -q '"status":"ok"' <<<"$(curl -s "$URL")" || fail "/health body"
  kill -TERM "$INIT_PID"
  rc=0; wait "$INIT_PID" || rc=$?
  [ "$rc" = 0 ] || fail "init exit $rc"
  grep -q '"event":"loopback_verified"' "$WORK/rootfs/tmp/console" || fail "no loopback line"
  cp "$WORK/sizes.txt" "$TR_BUILD_DIR/runtime-rootfs-sizes.txt"
  ;;
*) fail "unknown phase $phase" ;;
esac
note "PASS $phase"
