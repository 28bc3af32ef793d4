# Helpers of the VM test (sourced by vm_test.sh).
# shellcheck shell=bash
# Variables set here are used by vm_test.sh.
# shellcheck disable=SC2034

: "${TR_BUILD_DIR:?TR_BUILD_DIR is not set (run through ctest)}"
: "${TR_SOURCE_DIR:?TR_SOURCE_DIR is not set (run through ctest)}"
HERE=$TR_SOURCE_DIR/tests/integration/vm
VMDIR=$TR_BUILD_DIR/vm # the images of the `image` phase (a ctest fixture)
STANDIN=$TR_BUILD_DIR/tests/integration/vm/vm-standin-init
TEEREX=$TR_BUILD_DIR/src/teerex/teerex
PROXY=$TR_BUILD_DIR/src/teerex-proxy/teerex-proxy
LOGD=$TR_BUILD_DIR/src/teerex-logd/teerex-logd
TEEREXD=$TR_BUILD_DIR/src/teerexd/teerexd
# The image's default prover, as Dockerfile.enclave takes it: @aztec/bb.js's native bb.
BB_HOST=$TR_SOURCE_DIR/demo/node_modules/@aztec/bb.js/build/amd64-linux/bb
CRS_DIR=${TEEREX_SHARED:-$TR_SOURCE_DIR/../shared}/crs
URL=http://127.0.0.1:4000
W=""
QEMU_PID="" READER_PID="" ACCEL=""
PIDS=()

skip() { echo "SKIP: $*"; exit 77; }
fail() {
  echo "FAIL: $*"
  if [ -n "${CONSOLE_LOG:-}" ] && [ -f "$CONSOLE_LOG" ]; then
    echo "== console (last 40 lines)"
    tail -n 40 "$CONSOLE_LOG"
  fi
  exit 1
}
note() { echo "-- $*"; }
now_ms() { date +%s%3N; }
mib_of() { echo $(( ($(stat -c %s "$1") + 1048575) / 1048576 )); }
jfield() { node -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$1" "$2"; }
# record KEY VALUE: a figure for bench/RESULTS.md ($VMDIR/figures.txt).
record() {
  touch "$VMDIR/figures.txt"
  grep -v "^$1 " "$VMDIR/figures.txt" > "$VMDIR/figures.tmp" || true
  echo "$1 $2" >> "$VMDIR/figures.tmp"
  mv "$VMDIR/figures.tmp" "$VMDIR/figures.txt"
}

limits_note() {
  echo "NOTE: this VM has no vsock (no vhost-vsock on this host) and no real NSM (no /dev/nsm):"
  echo "NOTE: the image's vsock listener is only seen to be up; attestation comes from the NSM"
  echo "NOTE: emulator (test PKI in the test-only ramdisk) reporting this EIF's PCRs."
}

# Re-executes the calling script in new network and mount namespaces, so
# the forwarded ports (127.0.0.1:4000, 4001, 7000 -> the guest's test-only 8000, 8001, 7000) cannot clash.
enter_netns() {
  if [ -z "${TR_IN_NETNS:-}" ]; then
    [ "$(id -u)" = 0 ] || skip "needs root for unshare -n"
    unshare -n -m true 2>/dev/null || skip "unshare -n -m not permitted here"
    TR_IN_NETNS=1 exec unshare -n -m --propagation private bash "$0" "$@"
  fi
}

make_work() {
  W=$(mktemp -d /tmp/teerex-vm.XXXXXX)
  trap cleanup EXIT
}

stop_vm() {
  if [ -n "$QEMU_PID" ]; then
    kill -TERM "$QEMU_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
    QEMU_PID=""
  fi
  if [ -n "$READER_PID" ]; then
    kill -CONT "$READER_PID" 2>/dev/null || true
    kill -TERM "$READER_PID" 2>/dev/null || true
    wait "$READER_PID" 2>/dev/null || true
    READER_PID=""
  fi
  exec 8>&- 2>/dev/null || true
}

cleanup() {
  local p
  stop_vm
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${TR_KEEP_WORK:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}

# Splits an EIF into its sections (an independent reader: Python's struct).
split_eif() { # EIF DIR
  mkdir -p "$2"
  /usr/bin/python3 - "$1" "$2" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
n = struct.unpack('>H', d[26:28])[0]
offs = struct.unpack('>32Q', d[28:284])
names = {1: 'kernel', 2: 'cmdline', 3: 'ramdisk', 4: 'signature', 5: 'metadata'}
k = 0
for i in range(n):
    t, _, size = struct.unpack('>HHQ', d[offs[i]:offs[i] + 12])
    name = names[t]
    if t == 3:
        k += 1
        name += str(k)
    open('%s/%s' % (sys.argv[2], name), 'wb').write(d[offs[i] + 12:offs[i] + 12 + size])
PY
}

# KVM where it can boot Linux, else TCG. This machine has /dev/kvm, but KVM
# stops the guest at once with an internal error (nested, no vmx/svm), so a
# short boot of the kernel and the stand-in init (no NIC) decides, once per
# fixture: KVM only when the init's first line appears.
probe_accel() {
  local out=$W/probe.log pid end
  echo tcg > "$VMDIR/accel"
  if ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
    note "no usable /dev/kvm: TCG with -cpu max"
    return
  fi
  qemu-system-x86_64 -M q35 -accel kvm -cpu host -smp 1 -m 256 -nodefaults -no-user-config \
    -display none -monitor none -no-reboot -serial "file:$out" -kernel "$VMDIR/bb/sections/kernel" \
    -initrd "$VMDIR/bb/sections/ramdisk1" -append "$(cat "$VMDIR/bb/sections/cmdline")" \
    > "$W/probe.qemu" 2>&1 &
  pid=$!
  end=$(( $(now_ms) + 15000 )) # KVM reaches init in ~2 s; TCG here in ~5 s
  while [ "$(now_ms)" -lt "$end" ] && kill -0 "$pid" 2>/dev/null; do
    grep -q -a vm-standin-init "$out" 2>/dev/null && break
    grep -q -E 'KVM internal error|entry failed|EFER=' "$W/probe.qemu" && break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if grep -q -a vm-standin-init "$out" 2>/dev/null; then
    echo kvm > "$VMDIR/accel"
    note "KVM boots Linux here: -accel kvm -cpu host"
  else
    note "KVM cannot boot Linux here ($(grep -m1 -o -E 'KVM internal error[^.]*|entry failed[^.]*|EFER=' "$W/probe.qemu" || echo "no init line within 15 s")): TCG with -cpu max"
  fi
}

# --- the `image` phase -------------------------------------------------------
build_images() {
  command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (scripts/setup.sh)"
  local kdir
  kdir=$(bash "$TR_SOURCE_DIR/scripts/vm-kernel.sh" dir 2>&1) || skip "$kdir"
  [ -x "$STANDIN" ] || fail "the stand-in init was not built ($STANDIN)"
  [ -x "$BB_HOST" ] || skip "no bb at $BB_HOST (scripts/setup.sh)"
  [ -f "$CRS_DIR/bn254_g1.dat" ] || skip "no CRS in $CRS_DIR"
  rm -rf "$VMDIR"
  mkdir -p "$VMDIR/blobs"
  # The blobs nitro-cli would give make-eif.sh, with the substitutions.
  install -m 0644 "$kdir/vmlinuz" "$VMDIR/blobs/bzImage"
  install -m 0644 "$HERE/cmdline" "$VMDIR/blobs/cmdline"
  install -m 0755 "$STANDIN" "$VMDIR/blobs/init"
  install -m 0644 "$kdir/nsm.ko" "$VMDIR/blobs/nsm.ko"
  local t0 v
  t0=$(now_ms)
  bash "$TR_SOURCE_DIR/deploy/make-eif.sh" --blobs "$VMDIR/blobs" --bb "$BB_HOST" --crs "$CRS_DIR" \
    --out "$VMDIR/bb" > "$VMDIR/make-eif-bb.log" 2>&1 ||
    { cat "$VMDIR/make-eif-bb.log"; fail "deploy/make-eif.sh (with bb) failed"; }
  note "make-eif.sh with bb: $(( $(now_ms) - t0 )) ms"
  t0=$(now_ms)
  bash "$TR_SOURCE_DIR/deploy/make-eif.sh" --blobs "$VMDIR/blobs" --out "$VMDIR/nobb" \
    > "$VMDIR/make-eif-nobb.log" 2>&1 ||
    { cat "$VMDIR/make-eif-nobb.log"; fail "deploy/make-eif.sh (without bb) failed"; }
  note "make-eif.sh without bb: $(( $(now_ms) - t0 )) ms"
  for v in bb nobb; do
    split_eif "$VMDIR/$v/teerex.eif" "$VMDIR/$v/sections"
    note "$v: EIF $(stat -c %s "$VMDIR/$v/teerex.eif") bytes; kernel $(stat -c %s "$VMDIR/$v/sections/kernel"), bootstrap ramdisk $(stat -c %s "$VMDIR/$v/sections/ramdisk1"), customer ramdisk $(stat -c %s "$VMDIR/$v/sections/ramdisk2") bytes"
    record "eif_bytes_$v" "$(stat -c %s "$VMDIR/$v/teerex.eif")"
    record "ramdisk1_bytes_$v" "$(stat -c %s "$VMDIR/$v/sections/ramdisk1")"
    record "ramdisk2_bytes_$v" "$(stat -c %s "$VMDIR/$v/sections/ramdisk2")"
  done
  W=$(mktemp -d /tmp/teerex-vm.XXXXXX)
  trap 'rm -rf "$W"' EXIT
  probe_accel
  # make-eif.sh --env: replaces the image's line of that name (and says so),
  # adds a new name; the staged config keeps one line per name and passes
  # teerex-init --check; PCR2 moves. (teerex-eif and teerex-init refuse a
  # repeated name themselves: eif_build_test, init_check.)
  bash "$TR_SOURCE_DIR/deploy/make-eif.sh" --blobs "$VMDIR/blobs" --out "$W/env" \
    --env LISTEN=proxy+vsock:any:5000 --env VM_TEST_NEW=1 > "$W/env.log" 2>&1 ||
    { cat "$W/env.log"; fail "make-eif.sh --env"; }
  grep -q "^make-eif: --env LISTEN=proxy+vsock:any:5000 replaces the image's 'env = LISTEN=" "$W/env.log" ||
    { cat "$W/env.log"; fail "make-eif.sh did not say which LISTEN it replaced"; }
  grep -q "^make-eif: --env VM_TEST_NEW=1 added" "$W/env.log" || fail "make-eif.sh did not say it added VM_TEST_NEW"
  conf=$W/env/rootfs/etc/teerex-init.conf
  [ "$(grep -c -E '^[[:space:]]*env[[:space:]]*=[[:space:]]*LISTEN=' "$conf")" = 1 ] ||
    fail "the staged teerex-init.conf has not exactly one LISTEN"
  grep -q -x 'env = LISTEN=proxy+vsock:any:5000' "$conf" || fail "LISTEN not replaced"
  grep -q '"env":\[[^]]*"VM_TEST_NEW"' "$W/env/init-check.json" || fail "init-check.json lacks VM_TEST_NEW"
  [ "$(jq -r .PCR2 "$W/env/pcrs.json")" != "$(jq -r .PCR2 "$VMDIR/nobb/pcrs.json")" ] ||
    fail "--env did not change PCR2"
  note "make-eif.sh --env: LISTEN replaced (said), VM_TEST_NEW added, one line per name, PCR2 moved"

  record kernel_bytes "$(stat -c %s "$VMDIR/bb/sections/kernel")"
  record kernel "$(head -n 20 "$kdir/pin" | sed -n 's/^package=//p')"
  cp -r "$kdir/modules" "$kdir/modules.order" "$VMDIR/"
}

load_images() {
  IMG_BB=$VMDIR/bb
  IMG_NOBB=$VMDIR/nobb
  if [ ! -f "$IMG_BB/teerex.eif" ] || [ ! -f "$IMG_NOBB/teerex.eif" ]; then
    skip "no images in $VMDIR (the vm_boot_image fixture was skipped or failed)"
  fi
  PCR0=$(jq -r .PCR0 "$IMG_BB/pcrs.json")
  PCR2=$(jq -r .PCR2 "$IMG_BB/pcrs.json")
  PCR0_NOBB=$(jq -r .PCR0 "$IMG_NOBB/pcrs.json")
  PCR2_NOBB=$(jq -r .PCR2 "$IMG_NOBB/pcrs.json")
  # The image's own configuration, read back from the EIF's customer ramdisk.
  IMAGE_CONF=$W/image-teerex-init.conf
  (cd "$W" && cpio -i --quiet --to-stdout rootfs/etc/teerex-init.conf < "$IMG_BB/sections/ramdisk2") > "$IMAGE_CONF"
  IMAGE_LISTEN=$(sed -n 's/^[[:space:]]*env[[:space:]]*=[[:space:]]*LISTEN=//p' "$IMAGE_CONF")
  [ -n "$IMAGE_LISTEN" ] || fail "the image's teerex-init.conf sets no LISTEN"
  [[ "$IMAGE_LISTEN" == *vsock* ]] || fail "the image's LISTEN ($IMAGE_LISTEN) has no vsock listener"
}

# The NSM emulator's test PKI, made on the host (the verifier's root must not
# come from the server): teerexd in nitro-emulated mode creates it at start.
make_pki() {
  mkdir -p "$W/pki"
  chmod 0700 "$W/pki"
  env TEE_MODE=nitro-emulated NSM_EMU_DIR="$W/pki" LISTEN=tcp:127.0.0.1:4999 "$TEEREXD" \
    > "$W/pki.log" 2>&1 &
  local pid=$!
  for _ in $(seq 200); do [ -f "$W/pki/root.pem" ] && break; sleep 0.05; done
  sleep 0.2
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [ -f "$W/pki/root.pem" ] || { cat "$W/pki.log"; fail "no emulator PKI"; }
  rm -f "$W/pki/.lock"
}

# The test-only extra ramdisk for image IMG.
make_test_ramdisk() { # IMG OUT.cpio
  local r=$W/test-ramdisk
  rm -rf "$r"
  mkdir -p "$r/vm-test/modules" "$r/rootfs/vm-test"
  cp "$VMDIR/modules/"*.ko "$r/vm-test/modules/"
  cp "$VMDIR/modules.order" "$r/vm-test/"
  echo "eth0 10.0.2.15 24" > "$r/vm-test/net"
  echo 7000 > "$r/vm-test/agent"
  # teerex-init options appended to the image's command: the image's own
  # listeners plus a test-only TCP one (plain, and PROXY v2 for teerex-proxy),
  # the NSM emulator in place of /dev/nsm, and request logging.
  printf '%s\n' --env "LISTEN=$IMAGE_LISTEN,tcp:0.0.0.0:8000,proxy+tcp:0.0.0.0:8001" \
    --env TEE_MODE=nitro-emulated --env NSM_EMU_DIR=/vm-test/nsm-emu \
    --env NSM_EMU_PCRS=/vm-test/pcrs --env LOG_LEVEL=debug > "$r/vm-test/cmd-append"
  # The production log channel with a TCP stand-in for vsock (this host has
  # no vhost-vsock): the image's log_forward (vsock:3:5001) replaced by the
  # guest address that QEMU forwards to the host's teerex-logd (LOGD_PORT).
  if [ -n "${LOGD_PORT:-}" ]; then
    printf '%s\n' --log-forward tcp:10.0.2.100:5001 >> "$r/vm-test/cmd-append"
  fi
  cp -r "$W/pki" "$r/rootfs/vm-test/nsm-emu"
  chmod 0700 "$r/rootfs/vm-test/nsm-emu"
  {
    echo "0 $(jq -r .PCR0 "$1/pcrs.json")"
    echo "1 $(jq -r .PCR1 "$1/pcrs.json")"
    echo "2 $(jq -r .PCR2 "$1/pcrs.json")"
  } > "$r/rootfs/vm-test/pcrs"
  (cd "$r" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$2"
}

# KVM where it can boot Linux, else TCG (this machine: /dev/kvm exists, but
# KVM stops the guest with an internal error; TCG needs -cpu max for bb).
qemu_accel_args() {
  if [ "$ACCEL" = kvm ]; then echo "-accel kvm -cpu host"; else echo "-accel tcg,thread=multi -cpu max"; fi
}

start_qemu() { # IMG MEM_MIB
  local img=$1 mem=$2
  make_test_ramdisk "$img" "$W/test.cpio"
  cat "$img/sections/ramdisk1" "$img/sections/ramdisk2" "$W/test.cpio" > "$W/initrd"
  CONSOLE_LOG=$W/console-$(date +%s%N).log
  rm -f "$W/con.in" "$W/con.out"
  mkfifo "$W/con.in" "$W/con.out"
  cat "$W/con.out" > "$CONSOLE_LOG" &
  READER_PID=$!
  exec 8<> "$W/con.in"
  local fwd=""
  [ -z "${LOGD_PORT:-}" ] || fwd=",guestfwd=tcp:10.0.2.100:5001-tcp:127.0.0.1:$LOGD_PORT"
  # shellcheck disable=SC2046 # the accelerator arguments are words
  qemu-system-x86_64 -M q35 $(qemu_accel_args) -smp 2 -m "$mem" \
    -nodefaults -no-user-config -display none -monitor none -no-reboot \
    -chardev pipe,id=con,path="$W/con" -serial chardev:con \
    -kernel "$img/sections/kernel" -initrd "$W/initrd" -append "$(cat "$img/sections/cmdline")" \
    -netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:4000-:8000,hostfwd=tcp:127.0.0.1:4001-:8001,hostfwd=tcp:127.0.0.1:7000-:7000"$fwd" \
    -device virtio-net-pci,netdev=n0,romfile= > "$W/qemu.log" 2>&1 &
  QEMU_PID=$!
}

health_ok() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$URL/health")" = 200 ]; }
wait_health() { # TIMEOUT_MS
  local end=$(( $(now_ms) + $1 ))
  while [ "$(now_ms)" -lt "$end" ]; do health_ok && return 0; sleep 0.02; done
  return 1
}
console_has() { grep -q -- "$1" "$CONSOLE_LOG"; }
wait_file_has_n() { # FILE PATTERN N TIMEOUT_MS: N matching lines
  local end=$(( $(now_ms) + $4 )) n
  while [ "$(now_ms)" -lt "$end" ]; do
    n=$(grep -a -c -- "$2" "$1" 2>/dev/null) || true
    [ "${n:-0}" -ge "$3" ] && return 0
    sleep 0.1
  done
  return 1
}
wait_file_has() { wait_file_has_n "$1" "$2" 1 "$3"; } # FILE PATTERN TIMEOUT_MS
wait_console() { wait_file_has "$CONSOLE_LOG" "$1" "$2"; } # PATTERN TIMEOUT_MS
# A guest kernel that crashes (an oops, not a shortage: "Fatal exception",
# "BUG:", "general protection") is shown and the boot tried once more: under
# TCG on a loaded host this happened once in ~40 boots, at a memory that
# booted before and after.
KERNEL_CRASH='Fatal exception|BUG: |general protection|Oops'
BOOT_FAILURE='Kernel panic|Out of memory|oom-kill|FATAL|Initramfs unpacking failed|No working init|exited with code|killed by signal'

# Boots IMG with MEM MiB until /health answers; LAST_FAILURE says why not.
try_boot() { # IMG MEM TIMEOUT_MS
  local t0 end
  LAST_FAILURE=""
  [ -n "$ACCEL" ] || ACCEL=$(cat "$VMDIR/accel" 2>/dev/null || echo tcg)
  t0=$(now_ms)
  start_qemu "$1" "$2"
  end=$(( t0 + $3 ))
  while [ "$(now_ms)" -lt "$end" ]; do
    if health_ok; then BOOT_MS=$(( $(now_ms) - t0 )); return 0; fi
    if ! kill -0 "$QEMU_PID" 2>/dev/null; then LAST_FAILURE="QEMU exited"; break; fi
    if grep -q -E "$BOOT_FAILURE" "$CONSOLE_LOG"; then
      sleep 0.5
      LAST_FAILURE=$(grep -m1 -o -E "($BOOT_FAILURE).{0,60}" "$CONSOLE_LOG")
      break
    fi
    sleep 0.05
  done
  [ -n "$LAST_FAILURE" ] || LAST_FAILURE="no /health within $3 ms"
  return 1
}

boot_vm() { # IMG MEM
  try_boot "$1" "$2" 240000 && return 0
  if grep -q -a -E "$KERNEL_CRASH" "$CONSOLE_LOG"; then
    echo "== guest kernel crash, console before it:"
    grep -a -v '"ts"' "$CONSOLE_LOG" | grep -a -B 30 -m 1 -E "$KERNEL_CRASH" | tail -n 40
    note "booting once more"
    stop_vm
    try_boot "$1" "$2" 240000 && return 0
  fi
  fail "the image did not boot and serve with $2 MiB: $LAST_FAILURE"
}

boots_at() { # IMG MEM -> 0 when it boots and serves (a crash: once more)
  local ok=1 try
  for try in 1 2; do
    if try_boot "$1" "$2" 240000; then ok=0; fi
    note "$(basename "$1") at $2 MiB: $([ $ok = 0 ] && echo "serves after ${BOOT_MS} ms" || echo "fails: $LAST_FAILURE")"
    if [ $ok = 1 ] && [ "$try" = 1 ] && grep -q -a -E "$KERNEL_CRASH" "$CONSOLE_LOG"; then
      echo "== guest kernel crash (not a memory shortage), console before it:"
      grep -a -v '"ts"' "$CONSOLE_LOG" | grep -a -B 30 -m 1 -E "$KERNEL_CRASH" | tail -n 40
      note "trying $2 MiB once more"
      stop_vm
      continue
    fi
    break
  done
  stop_vm
  return $ok
}

agent() { # COMMAND: the VM's test-only agent (port 7000, forwarded)
  local out
  exec 9<> /dev/tcp/127.0.0.1/7000 || fail "cannot reach the VM's agent"
  printf '%s\n' "$1" >&9
  out=$(cat <&9)
  exec 9>&-
  echo "${out% }"
}

stop_console_reader() { kill -STOP "$READER_PID"; }
resume_console_reader() { kill -CONT "$READER_PID"; }
