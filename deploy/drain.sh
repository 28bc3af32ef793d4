#!/usr/bin/env bash
# Drains one teerexd through its operations listener, then (optionally) runs
# the command that stops or restarts it, then (optionally) waits until the
# new instance is ready: a restart that loses no proof.
#   deploy/drain.sh [--ops URL] [--settle S] [--timeout S] [--ready-url URL]
#                   [--ready-timeout S] [-- COMMAND ARGS...]
#   --ops URL         teerexd's OPS_LISTEN as the parent reaches it
#                     (default http://127.0.0.1:9464, teerex-ops-proxy.service)
#   --settle S        after POST /drain, seconds for the balancer to notice
#                     /ready = 503 and stop sending new clients (3; HAProxy
#                     with `inter 1s fall 2` needs 2)
#   --timeout S       longest wait for the accepted proofs, running and queued,
#                     to finish (300: PROVE_TIMEOUT 280 s bounds every one)
#   -- COMMAND        run once idle, e.g. nitro-cli terminate-enclave
#                     --enclave-name teerex, or systemctl restart teerex-enclave
#   --ready-url URL   after COMMAND, wait until URL (a /ready) answers 200
#   --ready-timeout S for that (300)
# Why: `nitro-cli terminate-enclave` sends teerexd no signal, so without a
# drain every proof running or queued in the enclave is lost. POST /drain
# turns /ready to 503 (balancers stop sending new clients) while the proofs
# already accepted, and those of clients that attested here before, finish.
# Events are JSON lines on stdout. Exit codes: 0 drained (and COMMAND ran and
# the new instance is ready), 1 not idle in time (drain left on, COMMAND not
# run) or COMMAND failed or not ready in time, 2 usage, 3 ops listener
# unreachable.
set -euo pipefail
ops=http://127.0.0.1:9464
settle=3
timeout=300
ready_url=
ready_timeout=300
while [ $# -gt 0 ]; do
  case $1 in
    --ops) ops=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --ready-url) ready_url=$2; shift 2 ;;
    --ready-timeout) ready_timeout=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "drain: unknown argument $1" >&2; exit 2 ;;
  esac
done
jlog() { # level event [key value]...
  local level=$1 event=$2
  shift 2
  jq -nc --arg level "$level" --arg event "$event" --args \
    '{level: $level, component: "teerex-drain", event: $event}
     + ([$ARGS.positional | _nwise(2) | {(.[0]): .[1]}] | add // {})' "$@"
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(now)
state=$(curl -fsS -m 10 -X POST "$ops/drain") || { jlog error ops_unreachable ops "$ops"; exit 3; }
jlog info drain_started ops "$ops" state "$state"
sleep "$settle"
deadline=$(( $(date +%s) + timeout ))
idle_seen=0
while :; do
  state=$(curl -fsS -m 10 "$ops/drain" 2>/dev/null || echo '{}')
  if [ "$(jq -r '.idle // false' <<<"$state")" = true ]; then
    idle_seen=$((idle_seen + 1))
    # twice in a row, 0.5 s apart: a request that just arrived is counted
    [ "$idle_seen" -ge 2 ] && break
  else
    idle_seen=0
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    jlog error drain_timeout ops "$ops" state "$state" waited_s "$(elapsed "$t0")" \
      detail "still busy; drain left on, command not run"
    exit 1
  fi
  sleep 0.5
done
jlog info drained ops "$ops" waited_s "$(elapsed "$t0")"
[ $# -gt 0 ] || exit 0
if ! "$@"; then
  jlog error command_failed command "$*"
  exit 1
fi
jlog info command_done command "$*"
[ -n "$ready_url" ] || exit 0
t1=$(now)
deadline=$(( $(date +%s) + ready_timeout ))
until curl -fsS -m 5 -o /dev/null "$ready_url" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    jlog error not_ready url "$ready_url" waited_s "$(elapsed "$t1")"
    exit 1
  fi
  sleep 0.5
done
jlog info ready url "$ready_url" waited_s "$(elapsed "$t1")"
