#!/usr/bin/env bash
# EC2 user-data for Amazon Linux 2023 on a Nitro-Enclaves-enabled instance
# (e.g. m5.xlarge with --enclave-options Enabled=true): installs nitro-cli and
# Docker, builds the reproducible EIF from the given source ref
# (deploy/build-eif.sh: deploy/make-eif.sh in a Debian 12 build container;
# Docker is only the build environment, the image is make-eif.sh's), installs
# the systemd units and starts the enclave and the proxy. The pcrs.json it
# publishes (/var/lib/teerex/pcrs.json, with build-env.txt) is what anyone
# rebuilds from the same commit and inputs (docs/VERIFY.md). Set the
# variables below (or export them in a wrapper) before use.
set -euo pipefail
TEEREX_REPO=${TEEREX_REPO:-https://github.com/OWNER/tee-rex-c.git}
TEEREX_REF=${TEEREX_REF:-main}
TEEREX_CRS_URL=${TEEREX_CRS_URL:-}      # tarball with bn254_g1.dat, bn254_g2.dat
TEEREX_CPUS=${TEEREX_CPUS:-2}
exec > >(tee -a /var/log/teerex-user-data.log) 2>&1

dnf install -y aws-nitro-enclaves-cli aws-nitro-enclaves-cli-devel docker git jq tar gzip
usermod -aG ne,docker ec2-user || true
systemctl enable --now docker
systemctl enable nitro-enclaves-allocator.service

install -d -m 0755 /var/lib/teerex /var/lib/teerex/crs
if [ ! -d /var/lib/teerex/src/.git ]; then
  git clone --branch "$TEEREX_REF" --depth 1 "$TEEREX_REPO" /var/lib/teerex/src
fi
if [ -n "$TEEREX_CRS_URL" ]; then
  curl -fsSL "$TEEREX_CRS_URL" | tar -xz -C /var/lib/teerex/crs
fi

cd /var/lib/teerex/src
deploy/build-eif.sh --crs /var/lib/teerex/crs --out /var/lib/teerex/out
install -m 0644 /var/lib/teerex/out/teerex.eif /var/lib/teerex/teerex.eif
install -m 0644 /var/lib/teerex/out/pcrs.json /var/lib/teerex/pcrs.json
install -m 0644 /var/lib/teerex/out/build-env.txt /var/lib/teerex/build-env.txt
install -m 0755 /var/lib/teerex/out/teerex-proxy /usr/local/bin/teerex-proxy
install -m 0755 /var/lib/teerex/out/teerex-logd /usr/local/bin/teerex-logd
# The provisioning service: the image build's Debian packages and bundles of
# the allowed versions, so that what it sends is what the pinned image allows.
install -d -m 0755 /var/lib/teerex/debs /var/lib/teerex-provision/bundles
install -m 0644 /var/lib/teerex/out/debs/*.deb /var/lib/teerex/debs/
cp -n /var/lib/teerex/out/provision-store/*.tar /var/lib/teerex/out/provision-store/*.digest \
  /var/lib/teerex-provision/bundles/ 2>/dev/null || true
install -m 0755 deploy/run-enclave.sh /usr/local/bin/teerex-run-enclave
install -m 0755 deploy/drain.sh /usr/local/bin/teerex-drain
install -m 0644 deploy/teerex-enclave.service deploy/teerex-proxy.service \
  deploy/teerex-logd.service deploy/teerex-ops-proxy.service \
  deploy/teerex-provision-container.service deploy/teerex-provision-relay.service /etc/systemd/system/
printf 'TEEREX_CPUS=%s\n' "$TEEREX_CPUS" > /etc/default/teerex
systemctl daemon-reload
systemctl enable --now teerex-logd.service teerex-provision-container.service \
  teerex-provision-relay.service teerex-enclave.service teerex-proxy.service teerex-ops-proxy.service
echo "teerex: PCRs for clients in /var/lib/teerex/pcrs.json (inputs: /var/lib/teerex/build-env.txt):"
cat /var/lib/teerex/pcrs.json
