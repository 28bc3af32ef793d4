#!/usr/bin/env bash
# deploy/run-enclave.sh against a fake nitro-cli and systemctl: memory sized
# from the EIF (seed lesson 5, E26), allocator.yaml rewritten and the
# allocator restarted only when too small (lesson 6), an old enclave of the
# same name terminated, --debug-mode only when asked with the PCR warning
# (lesson 8), the CID printed (lesson 7).
set -euo pipefail
: "${TR_SOURCE_DIR:?run through ctest}"
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
work=$(mktemp -d /tmp/teerex-runenc.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; echo "== calls"; cat "$work/calls" 2>/dev/null || true; exit 1; }
mkdir -p "$work/bin"
cat > "$work/bin/nitro-cli" <<FAKE
#!/bin/sh
echo "nitro-cli \$*" >> "$work/calls"
case \$1 in
  describe-enclaves) cat "$work/describe" ;;
  terminate-enclave) echo '{"Terminated":true}' ;;
  run-enclave) echo '{"EnclaveName":"teerex","EnclaveID":"i-0-enc1","ProcessID":7,"EnclaveCID":19,"NumberOfCPUs":2,"CPUIDs":[1,3],"MemoryMiB":4096}' ;;
esac
FAKE
printf '#!/bin/sh\necho "systemctl $*" >> "%s/calls"\n' "$work" > "$work/bin/systemctl"
chmod +x "$work/bin/nitro-cli" "$work/bin/systemctl"
export PATH="$work/bin:$PATH" TEEREX_ALLOCATOR_YAML="$work/allocator.yaml"
run() { bash "$TR_SOURCE_DIR/deploy/run-enclave.sh" "$@" > "$work/out" 2>&1 || fail "exit $?: $(cat "$work/out")"; }

# 1. A 100 MiB EIF, allocator at 512 MiB, an old enclave running.
truncate -s 100M "$work/teerex.eif"
printf -- '---\nmemory_mib: 512\ncpu_count: 2\n' > "$work/allocator.yaml"
echo '[{"EnclaveName":"teerex","EnclaveCID":16,"State":"RUNNING"}]' > "$work/describe"
run --eif "$work/teerex.eif" --memory 100
grep -q 'enclave memory 1024 MiB' "$work/out" || fail "100 MiB EIF: 4x+512 rounded is 1024 ($(cat "$work/out"))"
grep -q '^memory_mib: 1024$' "$work/allocator.yaml" || fail "allocator.yaml not raised"
grep -q 'systemctl restart nitro-enclaves-allocator.service' "$work/calls" || fail "allocator not restarted"
grep -q 'terminate-enclave --enclave-name teerex' "$work/calls" || fail "old enclave not terminated"
grep -q -- '--memory 1024 --eif-path' "$work/calls" || fail "run-enclave memory"
! grep -q -- '--debug-mode' "$work/calls" || fail "debug mode without --debug"
grep -q 'CID 19' "$work/out" || fail "CID not printed"

# 2. Allocator already large enough: left alone; --debug warns about PCRs.
: > "$work/calls"
echo '[]' > "$work/describe"
printf -- '---\nmemory_mib: 8192\ncpu_count: 4\n' > "$work/allocator.yaml"
run --eif "$work/teerex.eif" --debug
! grep -q 'systemctl' "$work/calls" || fail "allocator restarted although large enough"
grep -q '^memory_mib: 8192$' "$work/allocator.yaml" || fail "allocator.yaml rewritten"
grep -q -- '--memory 4096 .*--debug-mode' "$work/calls" || fail "default 4096 MiB + --debug-mode"
grep -q 'all-zero PCRs' "$work/out" || fail "no PCR warning in debug mode"
! grep -q terminate "$work/calls" || fail "terminated although none was running"

# 3. The seed's 1.1 GB EIF: at least the 4304 MiB nitro-cli asked for (E26).
truncate -s 1100M "$work/teerex.eif"
run --eif "$work/teerex.eif"
mem=$(sed -n 's/.*enclave memory \([0-9]*\) MiB.*/\1/p' "$work/out")
[ "$mem" -ge 4304 ] || fail "1.1 GB EIF got $mem MiB (< 4304, E26)"
echo "run-enclave.sh: 100 MiB EIF -> 1024 MiB, 1.1 GB EIF -> $mem MiB; allocator handled"
