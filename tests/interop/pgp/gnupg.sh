#!/usr/bin/env bash
# GnuPG 2.2 (Debian's gpg) encrypts to our exported public key -> we decrypt
# byte-exact. GnuPG 2.2 writes PKESK v3 + SEIPD v1 (MDC), streamed with partial
# body lengths, compressed by default.
#   bash gnupg.sh PATH/TO/pgp_tool
set -euo pipefail
tool=${1:?usage: gnupg.sh PATH/TO/pgp_tool}
if ! command -v gpg >/dev/null; then
  echo "SKIP: gpg not installed"
  exit 77
fi
work=$(mktemp -d)
trap 'gpgconf --homedir "$work/home" --kill all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export GNUPGHOME="$work/home"
mkdir -m 700 "$GNUPGHOME"
"$tool" pubkey >"$work/key.asc"
gpg --batch --quiet --import "$work/key.asc" 2>/dev/null
grep -q '^sub:.*:18:' <<<"$(gpg --batch --with-colons --list-keys TEE-Rex)" || { echo "FAIL: gpg did not import the ECDH subkey"; exit 1; }

passed=0 failed=0
one() { # size, gpg options...
  local size=$1; shift
  head -c "$size" /dev/urandom >"$work/plain"
  # Half the cases compressible, so zip/zlib really deflate.
  if [ $((size % 2)) -eq 1 ]; then head -c "$size" < <(yes TEE-Rex) >"$work/plain"; fi
  gpg --batch --yes --quiet --trust-model always -r TEE-Rex "$@" -o "$work/msg.pgp" -e "$work/plain"
  rm -f "$work/out"
  if out=$("$tool" decrypt "$work/msg.pgp" "$work/out") && cmp -s "$work/plain" "$work/out"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL size=$size opts=$* $out"
  fi
}
for size in 0 1 65535 1048577; do
  for comp in none zip zlib; do
    one "$size" --compress-algo "$comp"
  done
done
for cipher in AES AES192 AES256; do one 5000 --cipher-algo "$cipher"; done
one 4097 --throw-keyids          # wildcard key ID in the PKESK
one 100001 --compress-level 9

# The packet versions we expect from GnuPG 2.2.
gpg --list-packets "$work/msg.pgp" >"$work/packets" 2>/dev/null || true
grep -q 'pubkey enc packet: version 3, algo 18' "$work/packets" && grep -q 'mdc_method: 2' "$work/packets" &&
  passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: unexpected GnuPG packet versions"; }

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
