#!/usr/bin/env bash
# Installs everything tee-rex-c needs on a fresh Debian 12 machine (as root, or
# with sudo): Debian packages, then the pinned npm packages of tests/interop/
# and demo/. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  clang libclang-rt-14-dev llvm valgrind clang-format
  libssl-dev openssl libcbor-dev libmicrohttpd-dev libjansson-dev libyajl-dev libcurl4-openssl-dev zlib1g-dev
  libarchive-dev liblzma-dev debian-archive-keyring
  libseccomp-dev
  gnupg haproxy wrk cpio shellcheck python3 curl iproute2 util-linux procps hyperfine jq file bc prometheus
  qemu-system-x86 xz-utils
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# node + npm: the machine's own if present (any >= 18), else Debian's.
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "setup: node >= 18 is required (found $(node --version))" >&2
  exit 1
fi

# npm ci only when the lock file changed since the last install.
for dir in tests/interop demo; do
  stamp="$dir/node_modules/.teerex-lock.sha256"
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
done
# Real prover inputs (npm tarballs, Debian 13 runtime) for the bundle tests
# and the demo, cached outside the clone.
bash scripts/cache-bb-inputs.sh
# The VM test's pinned stock kernel (tests/integration/vm/kernel.pin), cached
# outside the clone. Not fatal: without it the vm_boot* tests say why and skip.
SUDO="$SUDO" bash scripts/vm-kernel.sh fetch || true
echo "setup: done"
