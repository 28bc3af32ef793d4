#!/usr/bin/env bash
# teerex-eif end to end on synthetic inputs: PCRs against openssl/sha384sum
# over the section bytes, CRC against Python's zlib, describe round trip,
# GNU cpio listing/extraction, byte-identical rebuilds, which PCRs one byte
# of teerexd moves, signing (PCR8), and malformed EIFs.
set -euo pipefail
BUILD=${TR_BUILD_DIR:?TR_BUILD_DIR not set}
BIN=$BUILD/src/teerex-eif/teerex-eif
# The system interpreter: a version-manager shim on PATH can cost seconds per call.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "SKIP: python3 not installed"; exit 77; }
for tool in cpio openssl sha384sum; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -x "$BIN" ] || { echo "FAIL: $BIN not built"; exit 1; }
EIF=("$BIN")
if [ "${TR_VALGRIND:-0}" = 1 ] && [ -n "${TR_VALGRIND_CMD:-}" ]; then
  read -r -a vg <<<"$TR_VALGRIND_CMD"
  EIF=("${vg[@]}" "$BIN")
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# --- synthetic inputs (AWS's blobs are not needed) ---
"$PY" -c "import hashlib; open('bzImage','wb').write(b''.join(hashlib.sha256(b'%d' % i).digest() for i in range(9375)))"
printf 'reboot=k panic=30 pci=off nomodules console=ttyS0 i8042.noaux\n' > cmdline
printf 'reboot=k panic=30 pci=off nomodules console=ttyS0 i8042.noaux' > cmdline.trimmed
printf '#!aws-init\n%s' "$(head -c 4000 /dev/zero | tr '\0' 'i')" > init
printf 'nsm-module' > nsm.ko
mkdir -p root/etc root/usr/lib
printf 'name=teerex\n' > root/etc/teerex.conf
chmod 0640 root/etc/teerex.conf
printf 'lib' > root/usr/lib/libx.so.1
ln -s libx.so.1 root/usr/lib/libx.so
printf 'teerex-init-binary' > teerex-init
"$PY" -c "open('teerexd','wb').write(bytes(range(256))*40)"
printf 'crs-points' > crs.dat

build() { # build OUT.eif [extra args...]
  local out=$1; shift
  SOURCE_DATE_EPOCH=1700000000 "${EIF[@]}" build --kernel bzImage --cmdline cmdline --init init \
    --nsm nsm.ko --root root --file teerex-init:/teerex-init:0755 \
    --file teerexd:/usr/bin/teerexd:0755 --file crs.dat:/crs/points.dat:0644 \
    --cmd "/teerex-init --config /etc/teerex.conf" --env TEE_PORT=80 --env LOG=info \
    --out "$out" --pcrs-json "${out%.eif}.pcrs.json" "$@" >"${out%.eif}.stdout"
}

# Independent reader (Python, not our parser): sections of an EIF.
cat > sections.py <<'PY'
import json, struct, sys, zlib
d = open(sys.argv[1], 'rb').read()
assert d[:4] == b'.eif'
version, flags, mem, cpus, _, n = struct.unpack('>HHQQHH', d[4:28])
offs = struct.unpack('>32Q', d[28:284]); sizes = struct.unpack('>32Q', d[284:540])
crc = struct.unpack('>I', d[544:548])[0]
secs = []
for i in range(n):
    t, f, s = struct.unpack('>HHQ', d[offs[i]:offs[i] + 12])
    assert s == sizes[i]
    secs.append({'type': t, 'start': offs[i] + 12, 'size': s})
out = sys.argv[2]
names = {1: 'kernel', 2: 'cmdline', 3: 'ramdisk', 4: 'signature', 5: 'metadata'}
k = {}
for s in secs:
    nm = names[s['type']]
    k[nm] = k.get(nm, 0) + 1
    open('%s.%s%d' % (out, nm, k[nm]), 'wb').write(d[s['start']:s['start'] + s['size']])
json.dump({'version': version, 'n': n, 'crc': crc, 'zlib_crc': zlib.crc32(d[:544] + d[548:]),
           'types': [s['type'] for s in secs]}, open(out + '.json', 'w'))
PY
jget() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }
extend() { # extend FILES... : SHA-384(48 zero bytes || SHA-384(cat FILES))
  { head -c 48 /dev/zero; cat "$@" | openssl dgst -sha384 -binary; } | sha384sum | cut -d' ' -f1
}

# --- build, independent PCRs and CRC ---
check "build exits 0" build a.eif
"$PY" sections.py a.eif A
check "sections: kernel, cmdline, metadata, 2 ramdisks" \
  test "$(jget A.json "['types']")" = "[1, 2, 5, 3, 3]"
check "CRC-32 equals python zlib.crc32" test "$(jget A.json "['crc']")" = "$(jget A.json "['zlib_crc']")"
check "kernel section is the kernel file" cmp -s A.kernel1 bzImage
check "cmdline section is the cmdline file, trimmed as nitro-cli does" cmp -s A.cmdline1 cmdline.trimmed
check "PCR0 = openssl extend(kernel|cmdline|ramdisks)" \
  test "$(jget a.pcrs.json "['PCR0']")" = "$(extend bzImage cmdline.trimmed A.ramdisk1 A.ramdisk2)"
check "PCR1 = extend(kernel|cmdline|bootstrap ramdisk)" \
  test "$(jget a.pcrs.json "['PCR1']")" = "$(extend bzImage cmdline.trimmed A.ramdisk1)"
check "PCR2 = extend(customer ramdisk)" \
  test "$(jget a.pcrs.json "['PCR2']")" = "$(extend A.ramdisk2)"
check "build stdout carries the same Measurements" \
  test "$(jget a.stdout "['Measurements']['PCR0']")" = "$(jget a.pcrs.json "['PCR0']")"
check "metadata BuildTime from SOURCE_DATE_EPOCH" \
  test "$(jget A.metadata1 "['BuildMetadata']['BuildTime']")" = "2023-11-14T22:13:20+00:00"

# --- describe round trip ---
"${EIF[@]}" describe --json a.eif > a.describe.json
for p in PCR0 PCR1 PCR2; do
  check "describe $p = build $p" \
    test "$(jget a.describe.json "['Measurements']['$p']")" = "$(jget a.pcrs.json "['$p']")"
done
check "describe sizes = section sizes" test "$(jget a.describe.json "['Sections'][0]['Size']")" = 300000
check "describe CRC" test "$(jget a.describe.json "['Crc32']")" = "$(printf '0x%08x' "$(jget A.json "['crc']")")"
check "describe text mode" bash -c "'$BIN' describe a.eif | grep -q '^PCR2 $(jget a.pcrs.json "['PCR2']")'"

# --- GNU cpio ---
cpio -itv < A.ramdisk1 > boot.list 2>/dev/null
check "bootstrap ramdisk: dev/ init nsm.ko, root-owned, 0755" \
  bash -c "awk '{print \$1, \$3, \$4, \$NF}' boot.list | tr '\n' ';' | grep -qx 'drwxr-xr-x root root dev;-rwxr-xr-x root root init;-rwxr-xr-x root root nsm.ko;'"
mkdir x1 x2
(cd x1 && cpio -idm --quiet < ../A.ramdisk1)
(cd x2 && cpio -idm --quiet < ../A.ramdisk2)
check "bootstrap extracts init and nsm.ko byte-exact" bash -c "cmp -s x1/init init && cmp -s x1/nsm.ko nsm.ko"
check "customer tree" bash -c "cd x2 && find . | sort | tr '\n' ' ' | grep -qx '. ./cmd ./env ./rootfs ./rootfs/crs ./rootfs/crs/points.dat ./rootfs/dev ./rootfs/etc ./rootfs/etc/teerex.conf ./rootfs/proc ./rootfs/run ./rootfs/sys ./rootfs/teerex-init ./rootfs/tmp ./rootfs/usr ./rootfs/usr/bin ./rootfs/usr/bin/teerexd ./rootfs/usr/lib ./rootfs/usr/lib/libx.so ./rootfs/usr/lib/libx.so.1 ./rootfs/var '"
check "customer files byte-exact" bash -c "cmp -s x2/rootfs/usr/bin/teerexd teerexd && cmp -s x2/rootfs/teerex-init teerex-init && cmp -s x2/rootfs/crs/points.dat crs.dat"
check "modes kept" test "$(stat -c %a x2/rootfs/teerex-init x2/rootfs/etc/teerex.conf x2/rootfs/crs/points.dat x2/cmd | tr '\n' ' ')" = "755 640 644 644 "
check "symlink kept" test "$(readlink x2/rootfs/usr/lib/libx.so)" = libx.so.1
check "mtimes fixed at 0" test "$(stat -c %Y x2/rootfs/usr/bin/teerexd)" = 0
check "cmd: one argv element per line" test "$(cat x2/cmd)" = "$(printf '/teerex-init\n--config\n/etc/teerex.conf')"
check "env: K=V lines" test "$(cat x2/env)" = "$(printf 'TEE_PORT=80\nLOG=info')"
check "customer ramdisk listing sorted" bash -c "cpio -it --quiet < A.ramdisk2 > l && sort -c l"

# --- reproducibility and what one byte moves ---
build b.eif
check "two builds from the same inputs are byte-identical" cmp -s a.eif b.eif
"$PY" -c "d=bytearray(open('teerexd','rb').read()); d[5000]^=1; open('teerexd','wb').write(d)"
build c.eif
for p in PCR0 PCR2; do
  check "one byte of teerexd changes $p" test "$(jget a.pcrs.json "['$p']")" != "$(jget c.pcrs.json "['$p']")"
done
check "one byte of teerexd keeps PCR1" test "$(jget a.pcrs.json "['PCR1']")" = "$(jget c.pcrs.json "['PCR1']")"
"$PY" -c "d=bytearray(open('teerexd','rb').read()); d[5000]^=1; open('teerexd','wb').write(d)"

# --- signed image: PCR8 = extend(SHA-384(DER of the certificate)) ---
openssl ecparam -name secp384r1 -genkey -noout -out key.pem 2>/dev/null
openssl req -new -x509 -key key.pem -out cert.pem -days 30 -subj /CN=teerex-eif-test 2>/dev/null
openssl x509 -in cert.pem -outform DER -out cert.der
check "signed build" build s.eif --sign-key key.pem --sign-cert cert.pem
"$PY" sections.py s.eif S
check "signature section last" test "$(jget S.json "['types']")" = "[1, 2, 5, 3, 3, 4]"
check "PCR8 = extend(cert DER)" test "$(jget s.pcrs.json "['PCR8']")" = "$(extend cert.der)"
check "signing leaves PCR0..2 alone" test "$(jget s.pcrs.json "['PCR0']")" = "$(jget a.pcrs.json "['PCR0']")"
check "describe verifies the signature" bash -c "'$BIN' describe --json s.eif | grep -q '\"SignatureCheck\": true'"
# A changed kernel byte with a recomputed CRC: structurally valid, signature no longer matches PCR0.
"$PY" - <<'PY'
import struct, zlib
d = bytearray(open('s.eif', 'rb').read())
d[548 + 12 + 10] ^= 1
struct.pack_into('>I', d, 544, zlib.crc32(bytes(d[:544] + d[548:])))
open('s_tampered.eif', 'wb').write(d)
PY
set +e
"${EIF[@]}" describe s_tampered.eif > /dev/null 2> tampered.err; rc=$?
set -e
check "tampered signed image: exit 4, EIF_SIGNATURE_INVALID" \
  bash -c "[ $rc = 4 ] && grep -q EIF_SIGNATURE_INVALID tampered.err"
check "--sign-key without --sign-cert is a usage error" \
  bash -c "'$BIN' build --kernel bzImage --cmdline cmdline --init init --nsm nsm.ko --root root --cmd /x --out z.eif --sign-key key.pem 2>/dev/null; [ \$? = 2 ]"

# --- malformed EIFs ---
"$PY" - <<'PY'
import struct, zlib
d = open('a.eif', 'rb').read()
def fix(b):
    b = bytearray(b); struct.pack_into('>I', b, 544, zlib.crc32(bytes(b[:544] + b[548:]))); return bytes(b)
open('m_truncated.eif', 'wb').write(d[:len(d) // 2])
open('m_short_header.eif', 'wb').write(d[:500])
b = bytearray(d); b[1000] ^= 0xff; open('m_crc.eif', 'wb').write(b)
offs = list(struct.unpack('>32Q', d[28:284]))
b = bytearray(d); struct.pack_into('>Q', b, 28 + 8 * 3, offs[3] - 16); open('m_overlap.eif', 'wb').write(fix(b))
b = bytearray(d); struct.pack_into('>Q', b, 284 + 8 * 4, 1 << 62); struct.pack_into('>Q', b, offs[4] + 4, 1 << 62)
open('m_huge.eif', 'wb').write(fix(b))
open('m_trailing.eif', 'wb').write(fix(d + b'\0' * 7))
b = bytearray(d); b[0:4] = b'ELF\x7f'; open('m_magic.eif', 'wb').write(b)
PY
expect_invalid() { # file error-name
  set +e
  "${EIF[@]}" describe "$1" > /dev/null 2> err.txt; local rc=$?
  set -e
  check "$1 rejected with $2 (exit 3)" bash -c "[ $rc = 3 ] && grep -q '($2)' err.txt"
}
expect_invalid m_truncated.eif EIF_BAD_SIZE
expect_invalid m_short_header.eif EIF_TRUNCATED
expect_invalid m_crc.eif EIF_BAD_CRC
expect_invalid m_overlap.eif EIF_BAD_OFFSET
expect_invalid m_huge.eif EIF_BAD_SIZE
expect_invalid m_trailing.eif EIF_TRAILING
expect_invalid m_magic.eif EIF_BAD_MAGIC
check "describe of a missing file exits 1" bash -c "'$BIN' describe nonexistent.eif 2>/dev/null; [ \$? = 1 ]"
check "--env with one name twice is a usage error (exit 2) naming it" \
  bash -c "'$BIN' build --kernel bzImage --cmdline cmdline --init init --nsm nsm.ko --root root --cmd /x --out z.eif --env LISTEN=a --env LOG=1 --env LISTEN=b 2>dup.err; [ \$? = 2 ] && grep -q 'env LISTEN given twice' dup.err && [ ! -e z.eif ]"
check "build --help exits 0" bash -c "'$BIN' build --help | grep -q SOURCE_DATE_EPOCH"
check "unknown command exits 2" bash -c "'$BIN' frobnicate 2>/dev/null; [ \$? = 2 ]"

echo "$fails failed"
[ "$fails" = 0 ]
