// An independent verifier of Nitro attestation documents, written the way
// the TypeScript SDK checks them: cbor-x for CBOR, @peculiar/x509 for the
// certificates, WebCrypto for ES384. It shares no code with lib/attest, so
// agreeing with it is evidence, not tautology.
//
//   import { verifyDocument } from './verify.mjs';
//   const doc = await verifyDocument(bytes, { rootPem, at, maxAgeMs, nonce, pcrs });
// Throws an Error whose .code is one of the SDK's classes (INVALID_COSE,
// INVALID_DOCUMENT, CHAIN_FAILED, SIGNATURE_FAILED, EXPIRED, PCR_MISMATCH,
// NONCE_MISMATCH, MISSING_KEY).
import './reflect-shim.mjs';
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Decoder, Encoder, Tag } from 'cbor-x';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({ useRecords: false, variableMapSize: true });

export class AttestError extends Error {
  constructor(code, message) { super(`${code}: ${message}`); this.code = code; }
}
const fail = (code, msg) => { throw new AttestError(code, msg); };

const get = (m, k) => (m instanceof Map ? m.get(k) : m?.[k]);
const isBytes = (v) => v instanceof Uint8Array;

export const AWS_ROOT_SHA256 =
  '641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b';

export async function verifyDocument(bytes, opts = {}) {
  const at = opts.at ?? new Date();
  const maxAgeMs = opts.maxAgeMs ?? 5 * 60 * 1000;
  let cose;
  try { cose = decoder.decode(bytes); } catch (e) { fail('INVALID_COSE', `CBOR: ${e.message}`); }
  if (cose instanceof Tag) {
    if (cose.tag !== 18) fail('INVALID_COSE', `tag ${cose.tag}`);
    cose = cose.value;
  }
  if (!Array.isArray(cose) || cose.length !== 4) fail('INVALID_COSE', 'not a 4-element array');
  const [prot, , payload, sig] = cose;
  if (!isBytes(prot) || !isBytes(payload) || !isBytes(sig)) fail('INVALID_COSE', 'field types');
  let hdr;
  try { hdr = decoder.decode(prot); } catch { fail('INVALID_COSE', 'protected header'); }
  if (get(hdr, 1) !== -35) fail('INVALID_COSE', `alg ${get(hdr, 1)} is not ES384`);
  if (sig.length !== 96) fail('INVALID_COSE', 'signature length');

  let doc;
  try { doc = decoder.decode(payload); } catch { fail('INVALID_DOCUMENT', 'payload CBOR'); }
  const moduleId = get(doc, 'module_id');
  let timestamp = get(doc, 'timestamp');
  if (typeof timestamp === 'bigint' && timestamp <= BigInt(Number.MAX_SAFE_INTEGER)) timestamp = Number(timestamp);
  const pcrs = get(doc, 'pcrs');
  const certificate = get(doc, 'certificate');
  const cabundle = get(doc, 'cabundle');
  if (typeof moduleId !== 'string' || !moduleId) fail('INVALID_DOCUMENT', 'module_id');
  if (get(doc, 'digest') !== 'SHA384') fail('INVALID_DOCUMENT', 'digest');
  if (typeof timestamp !== 'number' || timestamp <= 0) fail('INVALID_DOCUMENT', 'timestamp');
  if (!(pcrs instanceof Map)) fail('INVALID_DOCUMENT', 'pcrs');
  if (!isBytes(certificate)) fail('INVALID_DOCUMENT', 'certificate');
  const opt = (k) => {
    const v = get(doc, k);
    if (v === undefined || v === null) return null;
    if (!isBytes(v)) fail('INVALID_DOCUMENT', k);
    return v.length ? Buffer.from(v) : null;
  };
  const publicKey = opt('public_key'), userData = opt('user_data'), nonce = opt('nonce');

  // chain: root (pinned) = cabundle[0] -> cabundle[1..] -> leaf
  if (!Array.isArray(cabundle) || cabundle.length === 0) fail('CHAIN_FAILED', 'no cabundle');
  const root = new x509.X509Certificate(opts.rootPem ?? readFileSync(opts.rootPath));
  const rootFp = Buffer.from(await webcrypto.subtle.digest('SHA-256', root.rawData)).toString('hex');
  if (!opts.rootPem && !opts.rootPath) fail('CHAIN_FAILED', 'no root');
  if (opts.requireAwsRoot && rootFp !== AWS_ROOT_SHA256) fail('CHAIN_FAILED', 'root fingerprint');
  if (!Buffer.from(cabundle[0]).equals(Buffer.from(root.rawData))) fail('CHAIN_FAILED', 'cabundle[0] is not the root');
  let chain;
  try {
    chain = [root, ...cabundle.slice(1).map((c) => new x509.X509Certificate(c)),
      new x509.X509Certificate(certificate)];
  } catch (e) { fail('CHAIN_FAILED', `certificate: ${e.message}`); }
  for (let i = 0; i < chain.length; i++) {
    const c = chain[i];
    const issuer = chain[Math.max(0, i - 1)];
    const ok = await c.verify({ publicKey: issuer.publicKey, signatureOnly: true }).catch(() => false);
    if (!ok) fail('CHAIN_FAILED', `signature of certificate ${i}`);
    if (i < chain.length - 1) {
      const bc = c.getExtension(x509.BasicConstraintsExtension);
      if (!bc || !bc.ca) fail('CHAIN_FAILED', `certificate ${i} is not a CA`);
    }
    if (at < c.notBefore || at > c.notAfter) fail('EXPIRED', `certificate ${i} not valid at ${at.toISOString()}`);
  }

  // ES384 over Sig_structure; WebCrypto takes the raw r||s form
  const tbs = encoder.encode(['Signature1', Buffer.from(prot), Buffer.alloc(0), Buffer.from(payload)]);
  const leaf = chain[chain.length - 1];
  const key = await webcrypto.subtle.importKey('spki', leaf.publicKey.rawData,
    { name: 'ECDSA', namedCurve: 'P-384' }, false, ['verify']);
  const good = await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-384' }, key, sig, tbs);
  if (!good) fail('SIGNATURE_FAILED', 'ES384');

  if (Math.abs(at.getTime() - timestamp) > maxAgeMs + 30000 && !opts.atDoc) fail('EXPIRED', 'too old');
  if (opts.nonce !== undefined) {
    const want = Buffer.from(opts.nonce);
    if (!nonce || !nonce.equals(want)) fail('NONCE_MISMATCH', 'nonce');
  }
  for (const [i, hex] of Object.entries(opts.pcrs ?? {})) {
    const v = pcrs.get(Number(i));
    if (!v || Buffer.from(v).toString('hex') !== hex.toLowerCase()) fail('PCR_MISMATCH', `PCR${i}`);
  }
  if (opts.requireKey && !publicKey) fail('MISSING_KEY', 'public_key');
  const pcrHex = {};
  for (const [i, v] of pcrs) pcrHex[i] = Buffer.from(v).toString('hex');
  return { moduleId, timestamp, pcrs: pcrHex, publicKey, userData, nonce,
    cabundle: cabundle.length, leafSubject: leaf.subject };
}
