# Shared helpers for the teerex-init / teerex-proxy integration tests
# (sourced). Every test runs in a fresh network namespace (`unshare -n`),
# where lo is down exactly as in a Nitro enclave, and ports cannot clash
# with other tests.
# shellcheck shell=bash
# Variables set here are used by the scripts that source this file.
# shellcheck disable=SC2034

: "${TR_BUILD_DIR:?TR_BUILD_DIR is not set (run through ctest)}"
: "${TR_SOURCE_DIR:?TR_SOURCE_DIR is not set (run through ctest)}"
INIT_BIN="$TR_BUILD_DIR/src/teerex-init/teerex-init"
PROXY_BIN="$TR_BUILD_DIR/src/teerex-proxy/teerex-proxy"
TEEREXD_BIN="$TR_BUILD_DIR/src/teerexd/teerexd"
HERE_INIT="$TR_SOURCE_DIR/tests/integration/init"
HERE_PROXY="$TR_SOURCE_DIR/tests/integration/proxy"

# Under the valgrind flavour (TR_VALGRIND=1) our daemons run under valgrind.
VG=()
if [ "${TR_VALGRIND:-0}" = 1 ] && [ -n "${TR_VALGRIND_CMD:-}" ]; then
  read -r -a VG <<< "$TR_VALGRIND_CMD"
fi

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; dump_logs; exit 1; }
note() { echo "-- $*"; }

dump_logs() {
  for f in "${WORK:-/nonexistent}"/*.log "${WORK:-/nonexistent}"/console; do
    [ -f "$f" ] || continue
    echo "== $f (tail)"
    tail -n 20 "$f"
  done
}

# Re-executes the calling script inside a new network namespace.
enter_netns() {
  if [ -z "${TR_IN_NETNS:-}" ]; then
    [ "$(id -u)" = 0 ] || skip "needs root for unshare -n"
    command -v unshare >/dev/null || skip "unshare not installed"
    unshare -n -m true 2>/dev/null || skip "unshare -n -m not permitted here"
    # A private mount namespace too: the rootfs test mounts /proc in its chroot.
    TR_IN_NETNS=1 exec unshare -n -m --propagation private "$0" "$@"
  fi
}

make_work() {
  WORK=$(mktemp -d /tmp/teerex-rt.XXXXXX)
  PIDS=()
  KILL_AFTER=()
  trap cleanup EXIT
}

# Stops what the test started: SIGTERM first (teerex-init in test mode stops
# its children and exits), SIGKILL after 3 s, then whatever is still left in
# the namespace's process groups started by us.
cleanup() {
  local p i
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for i in $(seq 30); do
    local alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${KILL_AFTER[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if mountpoint -q "$WORK/rootfs/proc" 2>/dev/null; then umount "$WORK/rootfs/proc"; fi
  if mountpoint -q "$WORK/rootfs/dev/null" 2>/dev/null; then umount "$WORK/rootfs/dev/null"; fi
  if [ -n "${TR_KEEP_WORK:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}

# The server under init: teerexd when built, else the node stand-in.
# Sets SERVER_CHILD (a config `child =` value) and SERVER_ENV lines.
pick_server() {
  local port=$1
  if [ -x "$TEEREXD_BIN" ]; then
    SERVER_KIND=teerexd
    SERVER_CHILD="server $TEEREXD_BIN"
  else
    command -v node >/dev/null || skip "neither teerexd nor node available"
    SERVER_KIND=node-stand-in
    SERVER_CHILD="server $(command -v node) $HERE_INIT/fake_server.js"
  fi
  SERVER_ENV="env = PORT=$port
env = HOST=127.0.0.1
env = TEE_MODE=standard
env = LOG_LEVEL=debug
env = LISTEN=tcp:127.0.0.1:$port"
  note "server under init: $SERVER_KIND"
}

now_ms() { date +%s%3N; }

# wait_http URL TIMEOUT_MS -> 0 when a 200 came back in time.
wait_http() {
  local url=$1 limit=$(( $(now_ms) + $2 ))
  while [ "$(now_ms)" -lt "$limit" ]; do
    if [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$url")" = 200 ]; then return 0; fi
    sleep 0.02
  done
  return 1
}

# json_get FILE KEY.PATH -> value (node is used as the JSON reader).
json_get() {
  node -e 'const o=JSON.parse(require("fs").readFileSync(process.argv[1]));
    let v=o; for (const k of process.argv[2].split(".")) v=v==null?undefined:v[k];
    console.log(v===undefined?"":v)' "$1" "$2"
}

# init_stats PID FILE: asks teerex-init for its counters (SIGUSR1).
init_stats() {
  rm -f "$2"
  kill -USR1 "$1"
  local i
  for i in $(seq 100); do [ -s "$2" ] && return 0; sleep 0.02; done
  fail "no stats file from teerex-init"
}
