#!/usr/bin/env bash
# deploy/run-enclave.sh --watch (teerex-enclave.service) against a fake
# nitro-cli and a health "URL" that is a file (curl reads file://): a dead
# enclave is noticed (issue 14 item 4) — gone from describe-enclaves, or
# not answering 3 times in a row (then terminated first) — and the watcher
# exits 1 so systemd starts a new one; not_ready and draining are alive; a
# booting enclave gets its grace time; SIGTERM terminates it and exits 0.
set -euo pipefail
: "${TR_SOURCE_DIR:?run through ctest}"
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
work=$(mktemp -d /tmp/teerex-watch.XXXXXX)
W=
trap '[ -z "$W" ] || kill "$W" 2>/dev/null || true; rm -rf "$work"' EXIT
pass=0
fail() { echo "FAIL: $*"; echo "== calls"; cat "$work/calls" 2>/dev/null || true; echo "== out"; cat "$work/out" 2>/dev/null || true; exit 1; }
ok() { pass=$((pass + 1)); echo "-- ok: $*"; }
mkdir -p "$work/bin"
cat > "$work/bin/nitro-cli" <<FAKE
#!/bin/sh
echo "nitro-cli \$*" >> "$work/calls"
case \$1 in
  describe-enclaves) cat "$work/describe" ;;
  terminate-enclave) echo '[]' > "$work/describe"; echo '{"Terminated":true}' ;;
  run-enclave) echo '[{"EnclaveName":"teerex","EnclaveCID":19,"State":"RUNNING"}]' > "$work/describe"
    echo '{"EnclaveName":"teerex","EnclaveCID":19}' ;;
esac
FAKE
chmod +x "$work/bin/nitro-cli"
truncate -s 10M "$work/teerex.eif"
printf -- '---\nmemory_mib: 8192\ncpu_count: 4\n' > "$work/allocator.yaml"
export PATH="$work/bin:$PATH" TEEREX_ALLOCATOR_YAML="$work/allocator.yaml" TEEREX_EIF="$work/teerex.eif"
export TEEREX_WATCH_INTERVAL=0.1 TEEREX_HEALTH_URL="file://$work/health.json"
healthy() { echo "{\"status\":\"$1\",\"reasons\":[${2:-}]}" > "$work/health.json"; }

# start_watch [grace]: a watcher in the background ($W), events in $work/out
start_watch() {
  : > "$work/calls"
  echo '[]' > "$work/describe"
  TEEREX_WATCH_START_GRACE=${1:-30} bash "$TR_SOURCE_DIR/deploy/run-enclave.sh" --watch > "$work/out" 2>&1 &
  W=$!
  for _ in $(seq 100); do grep -q '"event":"watching"' "$work/out" 2>/dev/null && return 0; sleep 0.05; done
  fail "the watcher did not start"
}
# ended CODE SECONDS: the watcher exited with CODE within SECONDS
ended() {
  local rc=0
  for _ in $(seq $(( $2 * 20 ))); do
    kill -0 "$W" 2>/dev/null || { wait "$W" || rc=$?; W=; [ "$rc" = "$1" ]; return; }
    sleep 0.05
  done
  return 1
}
event() { grep -q "\"event\":\"$1\"" "$work/out"; }
# seen REGEX SECONDS: an event line matching REGEX appears in time
seen() {
  for _ in $(seq $(( $2 * 20 ))); do grep -q "$1" "$work/out" && return 0; sleep 0.05; done
  return 1
}

# 1. alive and well, then not_ready and draining: alive, logged, never restarted
healthy ok
start_watch
seen '"event":"health_status".*"status":"ok"' 10 || fail "the healthy enclave was not seen"
sleep 0.5
kill -0 "$W" || fail "watcher exited although the enclave is healthy"
healthy not_ready '"prover default: /app/bb: No such file or directory"'
seen '"event":"health_status".*"status":"not_ready".*No such file' 10 || fail "not_ready and its reason not logged"
healthy draining
seen '"event":"health_status".*"status":"draining"' 10 || fail "draining not logged"
sleep 0.5
kill -0 "$W" || fail "watcher exited on not_ready/draining"
if grep -q terminate "$work/calls"; then fail "a live enclave was terminated"; fi
ok "healthy, not_ready and draining: watched, logged, left alone"

# 2. it stops answering: 3 failures, terminated, exit 1
rm -f "$work/health.json"
ended 1 20 || fail "an unresponsive enclave was not given up on"
event enclave_unresponsive || fail "no enclave_unresponsive event"
[ "$(grep -c '"event":"health_failed"' "$work/out")" = 3 ] || fail "expected 3 health failures before giving up"
grep -q 'terminate-enclave --enclave-name teerex' "$work/calls" || fail "the unresponsive enclave was not terminated"
ok "unresponsive enclave: 3 failures, terminated, exit 1 (systemd restarts)"

# 3. the enclave dies (gone from describe-enclaves): exit 1 at the next look
healthy ok
start_watch
seen '"event":"health_status".*"status":"ok"' 10 || fail "the healthy enclave was not seen"
echo '[]' > "$work/describe"
ended 1 10 || fail "a vanished enclave was not noticed"
grep -q '"event":"enclave_lost".*"state":"GONE"' "$work/out" || fail "no enclave_lost event"
ok "vanished enclave: noticed, exit 1"

# 4. booting: no answer yet is not a failure within the grace time
rm -f "$work/health.json"
start_watch 30
sleep 1
kill -0 "$W" || fail "watcher gave up during the boot grace"
if event health_failed; then fail "a failure was counted during the boot grace"; fi
healthy ok
seen '"event":"health_status".*"status":"ok"' 10 || fail "the enclave coming up was not seen"
kill -0 "$W" || fail "watcher exited after the enclave came up"
ok "booting enclave: grace respected"

# 5. systemctl stop: SIGTERM terminates the enclave, exit 0
kill -TERM "$W"
ended 0 10 || fail "SIGTERM did not end the watcher with 0"
grep -q 'terminate-enclave --enclave-name teerex' "$work/calls" || fail "SIGTERM did not terminate the enclave"
ok "SIGTERM: enclave terminated, exit 0"
if grep -v -q '^{.*}$' <(grep -v '^EIF\|^enclave teerex\|^allocator\|^run-enclave' "$work/out"); then
  fail "a watch event is not a JSON line"
fi
echo "$pass passed, 0 failed"
