#!/usr/bin/env bash
# Seeds of production size for the fuzz targets whose inputs are large: a
# /prove body near the 50 MiB limit, long streamed OpenPGP messages, an EIF of
# tens of MiB. Too big to commit (tests/fuzz/corpus/ stays small), so
# scripts/fuzz.sh makes them here at run time, once per output directory.
#   tests/fuzz/big_seeds.sh TARGET OUTDIR     (exit 0 and no OUTDIR: none for TARGET)
# Needs node with tests/interop/node_modules (openpgp.js), and the fuzz build's
# pgp_tool and teerex-eif (build/fuzz).
# The node -e programs are JavaScript in single quotes (template literals).
# shellcheck disable=SC2016
set -euo pipefail
t=$1
out=$(realpath -m "$2")
root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/build/fuzz"
case $t in http_body | pgp_message | eif_image) ;; *) exit 0 ;; esac
[ -f "$out/.complete" ] && exit 0
rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MiB=$((1 << 20))

case $t in
http_body)
  # The SDK's exact shape just under 50 MiB; the same data behind 8 MiB of
  # padding members; 8 MiB of nesting.
  node -e '
    const fs = require("fs"), crypto = require("crypto");
    const [dir, MiB] = [process.argv[1], 1 << 20];
    const b64 = crypto.randomBytes(36 * MiB).toString("base64");
    fs.writeFileSync(`${dir}/exact_48mib`, `{"data":"${b64}"}`);
    const half = b64.slice(0, 32 * MiB);
    fs.writeFileSync(`${dir}/padded_40mib`, `{"pad":[${"{},".repeat(8 * MiB / 3)}{}],"data":"${half}"}`);
    fs.writeFileSync(`${dir}/nested_8mib`, "[".repeat(4 * MiB) + "]".repeat(4 * MiB));
  ' "$out"
  ;;
pgp_message)
  # openpgp.js 6 streaming 24 MiB to the fuzz target's fixed key (partial
  # lengths, ~100 AEAD chunks of SEIPD v2) and 32 MiB compressed; GnuPG 2.2
  # streaming 24 MiB from a pipe (SEIPD v1 + MDC, partial lengths).
  "$build/tests/interop/pgp/pgp_tool" pubkey > "$tmp/key.asc"
  (cd "$root/tests/interop" && node --input-type=module -e '
    import * as openpgp from "openpgp";
    import fs from "node:fs";
    import crypto from "node:crypto";
    const [keyFile, dir] = process.argv.slice(1);
    const key = await openpgp.readKey({ armoredKey: fs.readFileSync(keyFile, "utf8") });
    const MiB = 1 << 20;
    const data = crypto.randomBytes(24 * MiB);
    async function streamed(name, opts, bytes) {
      const stream = new ReadableStream({ start(c) {
        for (let i = 0; i < bytes.length; i += MiB) c.enqueue(bytes.subarray(i, i + MiB));
        c.close(); } });
      const m = await openpgp.encrypt({ message: await openpgp.createMessage({ binary: stream }),
        encryptionKeys: key, format: "binary", ...opts });
      const parts = [];
      for await (const p of m) parts.push(p);
      fs.writeFileSync(`${dir}/${name}`, Buffer.concat(parts));
    }
    await streamed("streamed_v2_24mib", { config: { aeadProtect: true } }, data);
    await streamed("zlib_32mib", { config: { aeadProtect: true,
      preferredCompressionAlgorithm: openpgp.enums.compression.zlib } }, Buffer.alloc(32 * MiB, 0x5a));
  ' "$tmp/key.asc" "$out")
  export GNUPGHOME="$tmp/gnupg"
  mkdir -m 0700 "$GNUPGHOME"
  gpg --batch --quiet --import "$tmp/key.asc" 2>/dev/null
  head -c $((24 * MiB)) /dev/urandom |
    gpg --batch --quiet --trust-model always -r TEE-Rex --compress-algo none -e \
      > "$out/gnupg_streamed_v1_24mib"
  ;;
eif_image)
  # An EIF the size of ours (a prover of ~40 MiB in the root file system),
  # unsigned and signed.
  head -c $((8 * MiB)) /dev/urandom > "$tmp/kernel"
  echo "console=ttyS0" > "$tmp/cmdline"
  head -c 4096 /dev/urandom > "$tmp/init"
  head -c 65536 /dev/urandom > "$tmp/nsm.ko"
  head -c $((40 * MiB)) /dev/urandom > "$tmp/bb"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -days 1 \
    -subj /CN=fuzz -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
  args=(--kernel "$tmp/kernel" --cmdline "$tmp/cmdline" --init "$tmp/init" --nsm "$tmp/nsm.ko"
        --file "$tmp/bb:app/bb:0755" --cmd /app/bb)
  "$build/src/teerex-eif/teerex-eif" build "${args[@]}" --out "$out/unsigned_48mib.eif" > /dev/null
  "$build/src/teerex-eif/teerex-eif" build "${args[@]}" --sign-key "$tmp/key.pem" \
    --sign-cert "$tmp/cert.pem" --out "$out/signed_48mib.eif" > /dev/null
  ;;
esac
touch "$out/.complete"
