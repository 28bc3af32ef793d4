#!/usr/bin/env bash
# Caches, outside the clone, the real inputs of the prover-bundle tests and
# the demo (scripts/setup.sh runs it; safe to run again: it fetches only what
# is missing or does not check out):
#   $TEEREX_CACHE/npm/aztec-bb.js-V.tgz (+ .integrity)   @aztec/bb.js 4.1.2 and 5.0.0,
#       via `npm pack`, with the registry's published sha512 integrity
#   $TEEREX_CACHE/debs/*.deb   Debian 13 (trixie) libc6, libstdc++6, libgcc-s1,
#       downloaded by apt with a SEPARATE configuration under
#       $TEEREX_CACHE/apt-trixie (its own sources list, lists and archives):
#       the system's apt sources are never read or changed
# TEEREX_CACHE defaults to /var/cache/teerex (root) or ~/.cache/teerex.
# Tests read the same place and never touch the network.
set -euo pipefail
if [ -z "${TEEREX_CACHE:-}" ]; then
  if [ "$(id -u)" = 0 ]; then TEEREX_CACHE=/var/cache/teerex; else TEEREX_CACHE=$HOME/.cache/teerex; fi
fi
MIRROR=${TEEREX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BB_VERSIONS=(4.1.2 5.0.0)
mkdir -p "$TEEREX_CACHE/npm" "$TEEREX_CACHE/debs"

sri_of() { # FILE -> sha512-<base64>
  printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"
}
for v in "${BB_VERSIONS[@]}"; do
  tgz=$TEEREX_CACHE/npm/aztec-bb.js-$v.tgz
  if [ -s "$tgz" ] && [ -s "$tgz.integrity" ] && [ "$(sri_of "$tgz")" = "$(cat "$tgz.integrity")" ]; then
    continue
  fi
  echo "cache-bb-inputs: npm pack @aztec/bb.js@$v -> $TEEREX_CACHE/npm"
  want=$(npm view "@aztec/bb.js@$v" dist.integrity)
  tmp=$(mktemp -d "$TEEREX_CACHE/npm/.pack-XXXXXX")
  (cd "$tmp" && npm pack "@aztec/bb.js@$v" --loglevel=error >/dev/null)
  got=$(sri_of "$tmp/aztec-bb.js-$v.tgz")
  if [ "$got" != "$want" ]; then
    rm -rf "$tmp"
    echo "cache-bb-inputs: @aztec/bb.js@$v does not match the registry's integrity" >&2
    exit 1
  fi
  mv "$tmp/aztec-bb.js-$v.tgz" "$tgz"
  printf '%s' "$want" > "$tgz.integrity"
  rm -rf "$tmp"
done

have_debs=1
for p in libc6 libstdc++6 libgcc-s1; do
  [ "$(find "$TEEREX_CACHE/debs" -maxdepth 1 -name "${p}_*_amd64.deb" | wc -l)" = 1 ] || have_debs=0
done
if [ "$have_debs" = 0 ]; then
  echo "cache-bb-inputs: trixie libc6 libstdc++6 libgcc-s1 -> $TEEREX_CACHE/debs (separate apt configuration)"
  A=$TEEREX_CACHE/apt-trixie
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/empty"
  : > "$A/status"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" > "$A/sources.list"
  APT=(apt-get -q -o "Dir::Etc::sourcelist=$A/sources.list" -o "Dir::Etc::sourceparts=$A/empty"
    -o "Dir::Etc::preferencesparts=$A/empty" -o "Dir::Etc::preferences=$A/empty/none"
    -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o "Dir::State::status=$A/status"
    -o APT::Architecture=amd64)
  if [ "$(id -u)" = 0 ]; then APT+=(-o APT::Sandbox::User=root); fi
  "${APT[@]}" update >/dev/null
  rm -f "$TEEREX_CACHE/debs"/{libc6,libstdc++6,libgcc-s1}_*.deb
  (cd "$TEEREX_CACHE/debs" && "${APT[@]}" download libc6 libstdc++6 libgcc-s1 >/dev/null)
fi
echo "cache-bb-inputs: $TEEREX_CACHE ready ($(cd "$TEEREX_CACHE" && find npm debs -name '*.tgz' -o -name '*.deb' | LC_ALL=C sort | tr '\n' ' '))"
