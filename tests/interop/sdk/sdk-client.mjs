// An SDK-like tee-rex client on openpgp.js 6 (config.aeadProtect = true):
// the same calls and headers as the TypeScript SDK. Used by the teerexd
// integration tests as a library and as a CLI:
//   node sdk-client.mjs URL INPUT_FILE [--version V] [--scheme S] [--out FILE]
// prints one JSON line {status, headers, body} of the /prove response.
import * as openpgp from 'openpgp';
import { readFileSync, writeFileSync } from 'node:fs';

export async function fetchAttestation(url, nonceHex) {
  const q = nonceHex ? `?nonce=${nonceHex}` : '';
  const r = await fetch(`${url}/attestation${q}`);
  if (r.status !== 200) throw new Error(`attestation status ${r.status}`);
  return r.json();
}

export async function encryptFor(armoredKey, bytes) {
  const publicKey = await openpgp.readKey({ armoredKey });
  const message = await openpgp.createMessage({ binary: bytes });
  const enc = await openpgp.encrypt({
    message,
    encryptionKeys: publicKey,
    format: 'binary',
    config: { aeadProtect: true },
  });
  return Buffer.from(enc);
}

export async function prove(url, input, { version, scheme, requestId } = {}) {
  const att = await fetchAttestation(url);
  const enc = await encryptFor(att.publicKey, input);
  const headers = { 'Content-Type': 'application/json' };
  if (version !== undefined) headers['x-aztec-version'] = version;
  if (scheme !== undefined) headers['x-prover-scheme'] = scheme;
  if (requestId !== undefined) headers['X-Request-Id'] = requestId;
  const r = await fetch(`${url}/prove`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ data: enc.toString('base64') }),
  });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, headers: Object.fromEntries(r.headers.entries()), body };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, file, ...rest] = process.argv.slice(2);
  const opts = {};
  let out;
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] === '--version') opts.version = rest[i + 1];
    else if (rest[i] === '--scheme') opts.scheme = rest[i + 1];
    else if (rest[i] === '--out') out = rest[i + 1];
    else if (rest[i] === '--request-id') opts.requestId = rest[i + 1];
  }
  const res = await prove(url, readFileSync(file), opts);
  if (out && res.status === 200) writeFileSync(out, Buffer.from(res.body.proof, 'base64'));
  console.log(JSON.stringify(res));
}
