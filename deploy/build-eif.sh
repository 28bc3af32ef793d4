#!/usr/bin/env bash
# Builds the enclave image for deployment on the EC2 parent: deploy/make-eif.sh
# (the reproducible, Docker-free image) run inside a Debian 12 build container
# (Dockerfile.enclave), with nitro-cli's blobs, the CRS and the prover bundles
# (`teerex bb fetch`: bb from npm + Debian 13 runtime): BB_VERSION baked in as
# the default, BB_ALLOW_VERSIONS only on the image's pinned allow-list for
# the parent's provisioning service to bring on demand.
# The PCRs it writes are what anyone gets from the same commit and the same
# inputs (blobs, bb, CRS, the Debian packages in build-env.txt): docs/VERIFY.md.
#   deploy/build-eif.sh [--crs DIR] [--blobs DIR] [--out DIR]
#                       [--bb-version V (5.0.0)] [--allow-versions "V ..." (4.1.2)]
# Writes OUT/teerex.eif, OUT/pcrs.json ({"PCR0":..,"PCR1":..,"PCR2":..}),
# OUT/build-env.txt, OUT/rootfs.manifest, OUT/binaries.sha256,
# OUT/init-check.json, OUT/teerex-proxy, OUT/teerex-logd (static, for the parent),
# OUT/debs/ (the Debian packages of every bundle: the parent's provisioning
# service builds from them, so its digests are the allow-list's),
# OUT/provision-store/ (VERSION.tar + VERSION.digest of the allowed versions,
# ready for that service), and the Docker image teerex-provision (the service).
# Exit codes: 0 ok, 1 a build step failed, 2 usage.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
crs=${TEEREX_CRS_DIR:-/var/lib/teerex/crs}
blobs=${TEEREX_BLOBS_DIR:-/usr/share/nitro_enclaves/blobs/x86_64}
out=$src/out/enclave
tag=teerex-eif-out:$$
bbv=5.0.0
allow_versions=4.1.2
while [ $# -gt 0 ]; do
  case $1 in
    --crs) crs=$2; shift 2 ;;
    --blobs) blobs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --bb-version) bbv=$2; shift 2 ;;
    --allow-versions) allow_versions=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "build-eif: unknown argument $1" >&2; exit 2 ;;
  esac
done
die() { echo "build-eif: $*" >&2; exit 1; }
for tool in docker jq git; do
  command -v "$tool" >/dev/null || die "$tool is not installed (see deploy/user-data.sh)"
done
[ -f "$crs/bn254_g1.dat" ] || die "no CRS in $crs (bn254_g1.dat, bn254_g2.dat)"
for f in cmdline init nsm.ko; do
  [ -f "$blobs/$f" ] || die "no $blobs/$f (install aws-nitro-enclaves-cli, or --blobs DIR)"
done
mkdir -p "$out"

# A clean build context: the committed tree (git archive HEAD), the CRS and
# the blobs. Uncommitted changes are not built: commit first.
ctx=$(mktemp -d /tmp/teerex-ctx.XXXXXX)
cid=""
trap 'rm -rf "$ctx"; [ -z "$cid" ] || docker rm "$cid" >/dev/null 2>&1 || true' EXIT
git -C "$src" archive --format=tar HEAD | tar -x -C "$ctx"
mkdir -p "$ctx/deploy/crs" "$ctx/deploy/blobs"
cp "$crs/bn254_g1.dat" "$crs/bn254_g2.dat" "$ctx/deploy/crs/"
[ -f "$blobs/bzImage" ] || die "no $blobs/bzImage"
cp "$blobs/bzImage" "$blobs/cmdline" "$blobs/init" "$blobs/nsm.ko" "$ctx/deploy/blobs/"
epoch=$(git -C "$src" log -1 --format=%ct)
echo "== make-eif.sh in Debian 12 (Dockerfile.enclave) from $(git -C "$src" rev-parse --short HEAD)"
docker build -f "$ctx/deploy/Dockerfile.enclave" --target out -t "$tag" \
  --build-arg SOURCE_DATE_EPOCH="$epoch" --build-arg BB_VERSION="$bbv" \
  --build-arg BB_ALLOW_VERSIONS="$allow_versions" "$ctx"
echo "== the provisioning service image (teerex-provision)"
docker build -f "$ctx/deploy/Dockerfile.enclave" --target provision -t teerex-provision \
  --build-arg BB_VERSION="$bbv" --build-arg BB_ALLOW_VERSIONS="$allow_versions" "$ctx"
cid=$(docker create "$tag" /none)
for f in teerex.eif pcrs.json build-env.txt rootfs.manifest rootfs-sizes.txt binaries.sha256 \
         init-check.json teerex-proxy teerex-logd; do
  docker cp "$cid:/out/$f" "$out/$f"
done
rm -rf "$out/debs" "$out/provision-store"
docker cp "$cid:/out/debs" "$out/debs"
docker cp "$cid:/out/provision-store" "$out/provision-store"
docker rm "$cid" >/dev/null
cid=""
docker image rm "$tag" >/dev/null 2>&1 || true
jq -e '.PCR0 | test("^[0-9a-f]{96}$")' "$out/pcrs.json" >/dev/null || die "no PCR0 in pcrs.json"
# The container had no .git: the commit is known here.
sed -i "s/^commit: .*/commit: $(git -C "$src" rev-parse HEAD)/" "$out/build-env.txt"
cat "$out/rootfs-sizes.txt"
echo "EIF: $out/teerex.eif ($(( $(stat -c %s "$out/teerex.eif") / 1048576 )) MiB)"
echo "PCRs for clients (publish pcrs.json with build-env.txt; pin PCR0, or PCR2 for our code alone):"
cat "$out/pcrs.json"
