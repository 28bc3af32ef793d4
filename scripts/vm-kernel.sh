#!/usr/bin/env bash
# The pinned stock Debian kernel of the VM test (tests/integration/vm/kernel.pin).
#   scripts/vm-kernel.sh fetch   download with apt, check version and SHA-256,
#                                extract what the test needs (idempotent)
#   scripts/vm-kernel.sh dir     print the extracted directory; exit 1 with
#                                the reason when it is not there
# The cache lies outside the clone: $TEEREX_CACHE, else /var/cache/teerex when
# writable, else ~/.cache/teerex; under it vm-kernel/VERSION/ holds vmlinuz,
# config, nsm.ko, modules/NAME.ko (decompressed), modules.order and pin.
# Exit codes: 0 ok, 1 not available (the message says why), 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."
PIN=tests/integration/vm/kernel.pin
package="" version="" sha256="" nsm_module="" modules=""
while IFS='=' read -r k v; do
  case $k in
    package | version | sha256 | nsm_module | modules) printf -v "$k" '%s' "$v" ;;
  esac
done < <(grep -E '^[a-z0-9_]+=' "$PIN")
if [ -z "$package" ] || [ -z "$version" ] || [ -z "$sha256" ]; then
  echo "vm-kernel: bad $PIN" >&2
  exit 1
fi

cache_root() {
  if [ -n "${TEEREX_CACHE:-}" ]; then echo "$TEEREX_CACHE"; return; fi
  if mkdir -p /var/cache/teerex 2>/dev/null && [ -w /var/cache/teerex ]; then
    echo /var/cache/teerex
  else
    echo "$HOME/.cache/teerex"
  fi
}
DIR=$(cache_root)/vm-kernel/$version

ready() { [ -f "$DIR/pin" ] && cmp -s "$DIR/pin" "$PIN"; }

case ${1:-} in
dir)
  if ready; then echo "$DIR"; exit 0; fi
  echo "vm-kernel: $package $version is not in $DIR (run scripts/setup.sh; see $PIN)" >&2
  exit 1
  ;;
fetch) ;;
*) sed -n '2,11p' "$0" >&2; exit 2 ;;
esac

ready && exit 0
tmp=$(mktemp -d /tmp/teerex-vm-kernel.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp" # apt's download user must be able to write here
download() { (cd "$tmp" && apt-get download -q "$package=$version" >/dev/null 2>"$tmp/apt.err"); }
if ! download; then
  # A fresh machine may have no package lists yet.
  ${SUDO:-} apt-get update -qq >/dev/null 2>&1 || true
  if ! download; then
    echo "vm-kernel: WARNING: apt cannot download $package=$version ($(tail -n 1 "$tmp/apt.err"))." >&2
    echo "vm-kernel: Debian may have dropped it from its archive: pin a current version in $PIN." >&2
    echo "vm-kernel: the VM tests (vm_boot*) will be skipped for this reason." >&2
    exit 1
  fi
fi
deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n 1)
got=$(sha256sum < "$deb" | cut -d' ' -f1)
if [ "$got" != "$sha256" ]; then
  echo "vm-kernel: $deb has SHA-256 $got, the pin says $sha256: refused" >&2
  exit 1
fi
dpkg-deb -x "$deb" "$tmp/x"
kver=${package#linux-image-}
new=$DIR.new
rm -rf "$new"
mkdir -p "$new/modules"
install -m 0644 "$tmp/x/boot/vmlinuz-$kver" "$new/vmlinuz"
install -m 0644 "$tmp/x/boot/config-$kver" "$new/config"
mdir=$tmp/x/lib/modules/$kver
xz -dc "$mdir/$nsm_module" > "$new/nsm.ko"
for m in $modules; do
  name=$(basename "$m" .ko.xz)
  xz -dc "$mdir/$m" > "$new/modules/$name.ko"
  echo "$name" >> "$new/modules.order"
done
cp "$PIN" "$new/pin"
rm -rf "$DIR"
mv "$new" "$DIR"
echo "vm-kernel: $package $version (sha256 checked) in $DIR"
