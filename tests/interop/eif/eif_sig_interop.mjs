// An independent reader of what `teerex-eif build --sign-key/--sign-cert`
// writes: the EIF layout parsed here in JS, PCR0/PCR8 recomputed with
// node:crypto, the signature section and its COSE_Sign1 decoded with cbor-x,
// and the ES384 signature checked over a Sig_structure that cbor-x encodes.
// It shares no code with lib/eif, so agreeing with it is evidence.
//   TR_BUILD_DIR=build/gcc node tests/interop/eif/eif_sig_interop.mjs
import { createHash, createPublicKey, verify, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder, Encoder } from 'cbor-x';

const bin = join(process.env.TR_BUILD_DIR ?? 'build/gcc', 'src/teerex-eif/teerex-eif');
const w = mkdtempSync(join(tmpdir(), 'eif-interop-'));
let fails = 0;
const check = (what, ok) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) fails++; };
const sha384 = (...parts) => { const h = createHash('sha384'); for (const p of parts) h.update(p); return h.digest(); };
const extend = (...parts) => sha384(Buffer.alloc(48), sha384(...parts));
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({ useRecords: false });
const bytesOf = (a) => Buffer.from(a); // serde_cbor's Vec<u8>: an array of uints

try {
  const f = (n, data) => { writeFileSync(join(w, n), data); return join(w, n); };
  const kernel = f('bzImage', createHash('sha512').update('k').digest().toString('hex').repeat(300));
  const cmdline = f('cmdline', 'console=ttyS0');
  const init = f('init', 'aws-init');
  const nsm = f('nsm.ko', 'nsm');
  const app = f('teerexd', 'teerexd-binary');
  execFileSync('openssl', ['ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', join(w, 'key.pem')]);
  execFileSync('openssl', ['req', '-new', '-x509', '-key', join(w, 'key.pem'), '-out', join(w, 'cert.pem'),
    '-days', '30', '-subj', '/CN=eif-interop']);
  execFileSync(bin, ['build', '--kernel', kernel, '--cmdline', cmdline, '--init', init, '--nsm', nsm,
    '--file', `${app}:/usr/bin/teerexd:0755`, '--cmd', '/usr/bin/teerexd', '--out', join(w, 's.eif'),
    '--pcrs-json', join(w, 'pcrs.json'), '--sign-key', join(w, 'key.pem'), '--sign-cert', join(w, 'cert.pem')],
  { stdio: ['ignore', 'ignore', 'inherit'] });

  const d = readFileSync(join(w, 's.eif'));
  const pcrs = JSON.parse(readFileSync(join(w, 'pcrs.json'), 'utf8'));
  check('magic .eif, version 4', d.subarray(0, 4).toString() === '.eif' && d.readUInt16BE(4) === 4);
  const n = d.readUInt16BE(26);
  const sections = [];
  for (let i = 0; i < n; i++) {
    const off = Number(d.readBigUInt64BE(28 + 8 * i));
    const size = Number(d.readBigUInt64BE(284 + 8 * i));
    sections.push({ type: d.readUInt16BE(off), data: d.subarray(off + 12, off + 12 + size) });
  }
  check('sections kernel, cmdline, metadata, ramdisk, ramdisk, signature',
    sections.map((s) => s.type).join() === '1,2,5,3,3,4');
  const measured = sections.filter((s) => s.type === 1 || s.type === 2 || s.type === 3).map((s) => s.data);
  const pcr0 = extend(...measured);
  check('PCR0 recomputed in JS', pcr0.toString('hex') === pcrs.PCR0);

  const list = decoder.decode(sections[5].data);
  check('signature section is a list of one entry', Array.isArray(list) && list.length === 1 && list[0] instanceof Map);
  const entry = list[0];
  check('entry keys in serde order', [...entry.keys()].join() === 'signing_certificate,signature');
  const certPem = bytesOf(entry.get('signing_certificate'));
  check('signing_certificate is the PEM given', certPem.equals(readFileSync(join(w, 'cert.pem'))));
  const cert = new X509Certificate(certPem);
  check('PCR8 = extend(SHA-384(DER))', extend(cert.raw).toString('hex') === pcrs.PCR8);

  const cose = decoder.decode(bytesOf(entry.get('signature')));
  check('COSE_Sign1: untagged array of 4', Array.isArray(cose) && cose.length === 4);
  const [prot, unprot, payload, sig] = cose;
  const protMap = decoder.decode(prot);
  check('protected header {1: -35} (ES384)', protMap instanceof Map && protMap.size === 1 && protMap.get(1) === -35);
  check('unprotected header empty', unprot instanceof Map ? unprot.size === 0 : Object.keys(unprot).length === 0);
  const info = decoder.decode(payload);
  check('payload {register_index: 0, register_value: PCR0}', info instanceof Map &&
    info.get('register_index') === 0 && bytesOf(info.get('register_value')).equals(pcr0));
  const tbs = encoder.encode(['Signature1', Buffer.from(prot), Buffer.alloc(0), Buffer.from(payload)]);
  const key = createPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' }));
  check('ES384 signature verifies', verify('sha384', tbs, { key, dsaEncoding: 'ieee-p1363' }, sig));
  const bad = Buffer.from(sig); bad[5] ^= 1;
  check('a flipped signature bit does not verify', !verify('sha384', tbs, { key, dsaEncoding: 'ieee-p1363' }, bad));
} catch (e) {
  console.log(`FAIL ${e.stack}`);
  fails++;
} finally {
  rmSync(w, { recursive: true, force: true });
}
console.log(`${fails} failed`);
process.exit(fails ? 1 : 0);
