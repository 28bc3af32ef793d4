#!/usr/bin/env bash
# Builds the enclave image with Docker, converts it to an EIF with nitro-cli,
# and writes the PCRs clients pin.
#   deploy/build-eif.sh [--crs DIR] [--out DIR] [--tag TAG]
# Writes OUT/teerex.eif, OUT/pcrs.json ({"PCR0":..,"PCR1":..,"PCR2":..}),
# OUT/build-enclave.json (nitro-cli's full output), OUT/teerex-proxy, OUT/teerex-logd.
# Exit codes: 0 ok, 1 a build step failed, 2 usage.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
crs=${TEEREX_CRS_DIR:-/var/lib/teerex/crs}
out=$src/out/enclave
tag=teerex-enclave:latest
while [ $# -gt 0 ]; do
  case $1 in
    --crs) crs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "build-eif: unknown argument $1" >&2; exit 2 ;;
  esac
done
die() { echo "build-eif: $*" >&2; exit 1; }
for tool in docker nitro-cli jq git; do
  command -v "$tool" >/dev/null || die "$tool is not installed (see deploy/user-data.sh)"
done
[ -f "$crs/bn254_g1.dat" ] || die "no CRS in $crs (bn254_g1.dat, bn254_g2.dat)"
mkdir -p "$out"

# Seed lesson 4: nitro-cli build-enclave fails with E51 without this.
export NITRO_CLI_ARTIFACTS=${NITRO_CLI_ARTIFACTS:-/var/lib/teerex/nitro-artifacts}
mkdir -p "$NITRO_CLI_ARTIFACTS"

# A clean build context: the committed tree (git archive HEAD) plus the CRS.
# Uncommitted changes are not built: commit first.
ctx=$(mktemp -d /tmp/teerex-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
git -C "$src" archive --format=tar HEAD | tar -x -C "$ctx"
mkdir -p "$ctx/deploy/crs"
cp "$crs/bn254_g1.dat" "$crs/bn254_g2.dat" "$ctx/deploy/crs/"
echo "== docker build (enclave image) from $(git -C "$src" rev-parse --short HEAD)"
docker build -f "$ctx/deploy/Dockerfile.enclave" --target enclave -t "$tag" "$ctx"
echo "== docker build (host tools: static teerex-proxy, teerex-logd)"
docker build -f "$ctx/deploy/Dockerfile.enclave" --target host-tools -t teerex-host-tools "$ctx"
cid=$(docker create teerex-host-tools /teerex-proxy)
docker cp "$cid:/teerex-proxy" "$out/teerex-proxy"
docker cp "$cid:/teerex-logd" "$out/teerex-logd"
docker rm "$cid" >/dev/null
size=$(docker image inspect "$tag" --format '{{.Size}}')
echo "enclave image $tag: $(( size / 1048576 )) MiB (the TypeScript server's EIF was ~1.1 GB)"

echo "== nitro-cli build-enclave"
nitro-cli build-enclave --docker-uri "$tag" --output-file "$out/teerex.eif" \
  > "$out/build-enclave.json" || die "nitro-cli build-enclave failed (see above)"
jq '.Measurements | {PCR0, PCR1, PCR2}' "$out/build-enclave.json" > "$out/pcrs.json"
jq -e '.PCR0 | test("^[0-9a-f]{96}$")' "$out/pcrs.json" >/dev/null ||
  die "no PCR0 in nitro-cli output"
echo "EIF: $out/teerex.eif ($(( $(stat -c %s "$out/teerex.eif") / 1048576 )) MiB)"
echo "PCRs for clients (pin PCR0, and PCR1/PCR2 when the kernel is pinned too):"
cat "$out/pcrs.json"
