// Writes a 16 MiB openpgp.js message (PKESK v6 + SEIPD v2 AES-256-OCB) to the
// armored key in KEY_FILE, for bench/pgp_decrypt.sh:
//   node bench_encrypt.mjs KEY_FILE OUT_FILE [BYTES]
import * as openpgp from 'openpgp';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
const [keyFile, outFile, bytes] = process.argv.slice(2);
const key = await openpgp.readKey({ armoredKey: fs.readFileSync(keyFile, 'utf8') });
const msg = await openpgp.encrypt({
  message: await openpgp.createMessage({ binary: new Uint8Array(randomBytes(Number(bytes || 16 * 1024 * 1024))) }),
  encryptionKeys: key, format: 'binary',
  config: { aeadProtect: true, preferredAEADAlgorithm: openpgp.enums.aead.ocb } });
fs.writeFileSync(outFile, msg);
