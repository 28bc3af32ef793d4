#!/usr/bin/env bash
# Starts the enclave: sizes its memory from the EIF, makes sure the allocator
# has enough, terminates an older enclave of the same name, prints the CID.
#   deploy/run-enclave.sh [--eif FILE] [--name NAME] [--cpus N] [--memory MIB] [--debug] [--watch]
#                         [--print-memory | --print-boot-floor]
# Env: TEEREX_EIF, TEEREX_ENCLAVE_NAME, TEEREX_CPUS, TEEREX_MEMORY_MIB, TEEREX_DEBUG=1.
# --debug attaches a console (nitro-cli console) but the attestation document
# then carries all-zero PCRs: clients pinning PCRs will (rightly) refuse it.
# --watch stays in the foreground (teerex-enclave.service) and exits 1 when
# the enclave is gone from `nitro-cli describe-enclaves` or stops answering
# TEEREX_HEALTH_URL (default http://127.0.0.1:4000/health, through the proxy)
# TEEREX_WATCH_FAILURES times in a row (3) every TEEREX_WATCH_INTERVAL seconds
# (10), after TEEREX_WATCH_START_GRACE seconds to boot (180); it terminates an
# unresponsive enclave first, so systemd's restart starts a fresh one. A
# teerexd that answers "not_ready" or "draining" is alive: logged, not
# restarted. SIGTERM terminates the enclave and exits 0. Events are JSON lines.
# --print-memory prints the memory it would give the enclave (MiB) and exits;
# --print-boot-floor the part of it an image needs just to boot (no nitro-cli).
# Exit codes: 0 running (or stopped by SIGTERM under --watch), 1 failed or
# enclave lost, 2 usage.
set -euo pipefail
eif=${TEEREX_EIF:-/var/lib/teerex/teerex.eif}
name=${TEEREX_ENCLAVE_NAME:-teerex}
cpus=${TEEREX_CPUS:-2}
memory=${TEEREX_MEMORY_MIB:-4096} # bb needs room to prove; raised to the EIF minimum when lower
debug=${TEEREX_DEBUG:-0}
allocator=${TEEREX_ALLOCATOR_YAML:-/etc/nitro_enclaves/allocator.yaml}
watch=0
print=""
while [ $# -gt 0 ]; do
  case $1 in
    --eif) eif=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --debug) debug=1; shift ;;
    --watch) watch=1; shift ;;
    --print-memory) print=memory; shift ;;
    --print-boot-floor) print=floor; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "run-enclave: unknown argument $1" >&2; exit 2 ;;
  esac
done
die() { echo "run-enclave: $*" >&2; exit 1; }
[ -f "$eif" ] || die "no EIF at $eif (deploy/build-eif.sh)"

# Seed lesson 5 (E26): nitro-cli wants at least ~4x the EIF size (a 1.1 GB
# EIF needed 4304 MiB). Booting needs room to unpack the ramdisks into memory:
# measured by the VM test (vm_boot_memory, bench/RESULTS.md), the smallest
# memory that boots and serves is 96 MiB for a 26 MiB EIF (no bb) and
# 224 MiB for a 65 MiB EIF (with bb), ~3.3 x EIF + 10 MiB; below it the
# unpacking fails ("Initramfs unpacking failed: write error"). Boot floor:
# 4 x EIF + 32 MiB (covers both, and nitro-cli's ~4x). Then 512 MiB for
# teerexd and bb's working set, rounded up to 256 MiB, unless a larger
# amount is asked for (the default, 4096, is sized for chonk proofs).
eif_mib=$(( ( $(stat -c %s "$eif") + 1048575 ) / 1048576 ))
boot_floor=$(( eif_mib * 4 + 32 ))
min_mib=$(( ( (boot_floor + 512) + 255 ) / 256 * 256 ))
if [ "$print" = floor ]; then echo "$boot_floor"; exit 0; fi
if [ "$print" = memory ]; then
  if [ -z "$memory" ] || [ "$memory" -lt "$min_mib" ]; then memory=$min_mib; fi
  echo "$memory"
  exit 0
fi
if [ -z "$memory" ] || [ "$memory" -lt "$min_mib" ]; then
  [ -z "$memory" ] || echo "run-enclave: memory $memory MiB is below the minimum for a ${eif_mib} MiB EIF; using $min_mib"
  memory=$min_mib
fi
echo "EIF ${eif_mib} MiB -> enclave memory ${memory} MiB, ${cpus} vCPUs"

# Seed lesson 6: the allocator must reserve at least that much; rewrite its
# config and restart it only when it does not.
cur_mem=$(awk -F: '/^memory_mib/{gsub(/ /,"",$2); print $2}' "$allocator" 2>/dev/null || true)
cur_cpu=$(awk -F: '/^cpu_count/{gsub(/ /,"",$2); print $2}' "$allocator" 2>/dev/null || true)
if [ "${cur_mem:-0}" -lt "$memory" ] || [ "${cur_cpu:-0}" -lt "$cpus" ]; then
  echo "allocator has memory_mib=${cur_mem:-unset} cpu_count=${cur_cpu:-unset}; setting $memory/$cpus"
  tmp=$(mktemp)
  printf -- '---\nmemory_mib: %s\ncpu_count: %s\n' "$memory" "$cpus" > "$tmp"
  install -m 0644 "$tmp" "$allocator"
  rm -f "$tmp"
  systemctl restart nitro-enclaves-allocator.service ||
    die "allocator restart failed: not enough free memory/CPUs on this instance?"
fi

# One enclave per name: an old one (and its CID) goes first.
if nitro-cli describe-enclaves | jq -e --arg n "$name" '.[] | select(.EnclaveName == $n)' >/dev/null; then
  echo "terminating the running enclave $name"
  nitro-cli terminate-enclave --enclave-name "$name" >/dev/null
fi

args=(run-enclave --enclave-name "$name" --cpu-count "$cpus" --memory "$memory" --eif-path "$eif")
if [ "$debug" = 1 ]; then
  echo "WARNING: debug mode: console readable with 'nitro-cli console --enclave-name $name'," >&2
  echo "WARNING: and every attestation document carries all-zero PCRs (not for production)." >&2
  args+=(--debug-mode)
fi
out=$(nitro-cli "${args[@]}") || die "nitro-cli run-enclave failed: $out"
cid=$(echo "$out" | jq -r '.EnclaveCID')
echo "enclave $name running, CID $cid (teerex-proxy --target vsock:auto:5000 finds it by name)"
[ "$watch" = 1 ] || exit 0

# --- the watch: is the enclave still there, and does it answer? ---------------
interval=${TEEREX_WATCH_INTERVAL:-10}
max_fails=${TEEREX_WATCH_FAILURES:-3}
grace=${TEEREX_WATCH_START_GRACE:-180}
health_url=${TEEREX_HEALTH_URL:-http://127.0.0.1:4000/health}
jlog() { # level event [key value]...
  local level=$1 event=$2
  shift 2
  jq -nc --arg level "$level" --arg event "$event" --args \
    '{level: $level, component: "teerex-enclave-watch", event: $event}
     + ([$ARGS.positional | _nwise(2) | {(.[0]): .[1]}] | add // {})' "$@"
}
stop() {
  jlog info stopping enclave "$name"
  nitro-cli terminate-enclave --enclave-name "$name" >/dev/null 2>&1 || true
  exit 0
}
trap stop TERM INT
started=$(date +%s)
fails=0
seen_ok=0
last_status=
jlog info watching enclave "$name" health_url "$health_url" interval_s "$interval"
while :; do
  sleep "$interval" &
  wait $! || true
  state=$(nitro-cli describe-enclaves 2>/dev/null |
    jq -r --arg n "$name" '[.[] | select(.EnclaveName == $n)][0].State // "GONE"' 2>/dev/null || echo UNKNOWN)
  if [ "$state" != RUNNING ]; then
    jlog error enclave_lost enclave "$name" state "$state" detail "exiting so that systemd starts a new enclave"
    exit 1
  fi
  if body=$(curl -fsS -m 5 "$health_url" 2>&1); then
    fails=0
    seen_ok=1
    status=$(jq -r '.status // "?"' <<<"$body" 2>/dev/null || echo "?")
    if [ "$status" != "$last_status" ]; then
      reasons=$(jq -c '.reasons // []' <<<"$body" 2>/dev/null || echo '[]')
      jlog "$([ "$status" = ok ] && echo info || echo warn)" health_status enclave "$name" status "$status" reasons "$reasons"
      last_status=$status
    fi
    continue
  fi
  if [ "$seen_ok" = 0 ] && [ $(( $(date +%s) - started )) -lt "$grace" ]; then
    continue # still booting
  fi
  fails=$((fails + 1))
  jlog warn health_failed enclave "$name" failures "$fails" of "$max_fails" error "$body"
  if [ "$fails" -ge "$max_fails" ]; then
    jlog error enclave_unresponsive enclave "$name" detail "terminating it; systemd starts a new one"
    nitro-cli terminate-enclave --enclave-name "$name" >/dev/null 2>&1 || true
    exit 1
  fi
done
