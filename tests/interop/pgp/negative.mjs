// Negative matrix on messages openpgp.js 6 made for our key:
//   node negative.mjs PATH/TO/pgp_tool
// Every byte of a PKESK v6 + SEIPD v2 (AES-256-OCB, 1 KiB chunks) message and
// of a PKESK v3 + SEIPD v1 message is flipped (mask 0x01: the exact error
// code expected for that byte's field; mask 0xFF: must fail, any code), the
// messages are truncated at every length and extended, and whole-message
// cases (wrong recipient, password only, tag 9, EAX, unsupported cipher,
// zip bomb, plaintext over the cap) are checked ("max 0" = unmodified, default cap). pgp_tool batch runs each
// spec in one process and also checks nothing was appended to the output.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setup } from './harness.mjs';

const { openpgp, tool, dir, counts, finish } = await setup('negative');

function runBatch(name, msg, lines) {
  const m = path.join(dir, `${name}.pgp`), s = path.join(dir, `${name}.spec`);
  fs.writeFileSync(m, msg);
  fs.writeFileSync(s, lines.join('\n') + '\n');
  const r = spawnSync(tool, ['batch', m, s], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const out = (r.stdout || '').trim();
  if (r.status === 0) {
    counts.passed++;
    console.log(`${name}: ${out.split('\n').pop()}`);
  } else {
    counts.failed++;
    console.error(`FAIL ${name}:\n${out}\n${r.stderr || ''}`);
  }
}

// New-format length at off: {len, n (octets), partial}.
function newLength(msg, off) {
  const b0 = msg[off];
  if (b0 < 192) return { len: b0, n: 1, partial: false };
  if (b0 < 224) return { len: ((b0 - 192) << 8) + msg[off + 1] + 192, n: 2, partial: false };
  if (b0 === 255) return { len: msg.readUInt32BE(off + 1), n: 5, partial: false };
  return { len: 1 << (b0 & 0x1f), n: 1, partial: true };
}

// Maps every byte of a PKESK + SEIPD message (new-format headers, the SEIPD
// possibly in partial lengths as openpgp.js writes it) to its field:
// L.kind[i] is 'pkhdr' | 'pk' | 'shdr' | 'slen' | 's', L.off[i] the offset
// inside the packet body.
function layout(msg) {
  const kind = [], off = [];
  if ((msg[0] & 0x3f) !== 1) throw new Error('PKESK first');
  const pl = newLength(msg, 1);
  kind.push('pkhdr'); off.push(-1);
  for (let j = 0; j < pl.n; j++) { kind.push('pklen'); off.push(-1); }
  for (let j = 0; j < pl.len; j++) { kind.push('pk'); off.push(j); }
  const sOff = kind.length;
  if ((msg[sOff] & 0x3f) !== 18) throw new Error('SEIPD second');
  kind.push('shdr'); off.push(-1);
  let pos = sOff + 1, body = 0, partial = true;
  while (partial) {
    const l = newLength(msg, pos);
    for (let j = 0; j < l.n; j++) { kind.push('slen'); off.push(-1); }
    for (let j = 0; j < l.len; j++) { kind.push('s'); off.push(body++); }
    pos += l.n + l.len;
    partial = l.partial;
  }
  if (pos !== msg.length) throw new Error('unexpected layout');
  return { kind, off, pkEnd: sOff, sOff, sPartial: newLength(msg, sOff + 1).partial };
}

// Expected code for flipping bit 0 of byte i.
function expectV2(L, i) {
  const k = L.kind[i], b = L.off[i];
  if (k === 'pkhdr') return 'PGP_BAD_HEADER';             // tag 1 -> 0
  if (k === 'pklen' || k === 'slen') return 'ANY';        // lengths
  if (k === 'pk') {
    if (b <= 23) return 'PGP_NOT_FOR_US';                  // version, fpr length, key version, fpr, algo
    if (b <= 26) return 'PGP_BAD_POINT';                   // MPI bit count, 0x40 prefix
    if (b <= 58) return 'PGP_BAD_SESSION_KEY';             // ephemeral point
    if (b === 59) return 'TRUNCATED';                      // wrapped key length
    return 'PGP_BAD_SESSION_KEY';                          // wrapped key
  }
  // tag 18 -> 19: a packet that may not use partial lengths
  if (k === 'shdr') return L.sPartial ? 'PGP_BAD_PARTIAL' : 'PGP_UNEXPECTED_PACKET';
  const s = b;
  if (s === 0) return 'PGP_UNSUPPORTED_VERSION';           // 2 -> 3
  if (s === 1) return 'PGP_BAD_SESSION_KEY';               // AES-256 -> AES-192: key size
  if (s === 3) return 'PGP_BAD_AEAD_TAG,PGP_BAD_CHUNK_SIZE';
  return 'PGP_BAD_AEAD_TAG';                               // aead 2->3, salt, chunks, tags
}

function expectV1(L, i) {
  const k = L.kind[i], b = L.off[i];
  if (k === 'pkhdr') return 'PGP_BAD_HEADER';
  if (k === 'pklen' || k === 'slen') return 'ANY';
  if (k === 'pk') {
    if (b <= 9) return 'PGP_NOT_FOR_US';                   // version, key ID, algo
    if (b <= 12) return 'PGP_BAD_POINT';
    if (b <= 44) return 'PGP_BAD_SESSION_KEY';
    if (b === 45) return 'TRUNCATED';
    return 'PGP_BAD_SESSION_KEY';
  }
  if (k === 'shdr') return L.sPartial ? 'PGP_BAD_PARTIAL' : 'PGP_UNEXPECTED_PACKET';
  if (b === 0) return 'PGP_UNSUPPORTED_VERSION';           // 1 -> 0
  return 'PGP_BAD_MDC';
}

function matrix(msg, expect) {
  const L = layout(msg);
  const lines = [];
  for (let i = 0; i < msg.length; i++) {
    lines.push(`flip ${i} 1 ${expect(L, i)}`);
    lines.push(`flip ${i} 255 ANY`);
  }
  for (let n = 0; n < msg.length; n++)
    lines.push(`trunc ${n} ${n === 0 || n === L.pkEnd ? 'PGP_NO_DATA' : 'TRUNCATED'}`);
  lines.push('append 00 TRAILING');
  lines.push('append ca03504750 TRAILING');                // a marker packet after the data
  lines.push(`flip ${L.sOff} ${0xd2 ^ 0xc9} PGP_SED_REJECTED`); // tag 18 -> 9
  lines.push(`flip ${L.sOff} ${0xd2 ^ 0xd4} PGP_UNEXPECTED_PACKET`); // tag 18 -> 20
  return lines;
}

const key = await openpgp.readKey({ armoredKey: spawnSync(tool, ['pubkey'], { encoding: 'utf8' }).stdout });
const plain = new Uint8Array(randomBytes(3000));
const enc = async (opts) => Buffer.from(await openpgp.encrypt({
  message: await openpgp.createMessage({ binary: opts.plain || plain }), encryptionKeys: opts.keys || key,
  format: 'binary', ...opts.extra }));

const v2 = await enc({ extra: { sessionKey: { data: new Uint8Array(randomBytes(32)), algorithm: 'aes256', aeadAlgorithm: 'ocb' },
  config: { aeadChunkSizeByte: 4 } } });
runBatch('seipd-v2-ocb', v2, matrix(v2, expectV2));
const v2gcm = await enc({ extra: { sessionKey: { data: new Uint8Array(randomBytes(32)), algorithm: 'aes256', aeadAlgorithm: 'gcm' },
  config: { aeadChunkSizeByte: 4 } } });
runBatch('seipd-v2-gcm', v2gcm, matrix(v2gcm, expectV2)); // GCM 3 -> 2 (OCB): tags fail
const v1 = await enc({ extra: { sessionKey: { data: new Uint8Array(randomBytes(32)), algorithm: 'aes256' } } });
runBatch('seipd-v1', v1, matrix(v1, expectV1));

// Whole-message cases.
const { publicKey: other } = await openpgp.generateKey({ type: 'ecc', userIDs: [{ name: 'other' }], format: 'object' });
runBatch('wrong-recipient', await enc({ keys: other }), [`max 0 PGP_NOT_FOR_US`]);
const pw = Buffer.from(await openpgp.encrypt({ message: await openpgp.createMessage({ binary: plain }),
  passwords: ['secret'], format: 'binary' }));
runBatch('password-only', pw, ['max 0 PGP_NOT_FOR_US']);
const eax = await enc({ extra: { sessionKey: { data: new Uint8Array(randomBytes(32)), algorithm: 'aes256', aeadAlgorithm: 'eax' } } });
runBatch('eax', eax, ['max 0 PGP_UNSUPPORTED_AEAD']);
for (const algorithm of ['cast5', 'twofish', 'blowfish', 'tripledes']) {
  let m;
  try {
    m = await enc({ extra: { sessionKey: { data: new Uint8Array(randomBytes(algorithm === 'tripledes' ? 24 : 16)), algorithm } } });
  } catch {
    continue; // openpgp.js build without this cipher
  }
  runBatch(`cipher-${algorithm}`, m, ['max 0 PGP_UNSUPPORTED_CIPHER']);
}
const zeros = new Uint8Array(8 * 1024 * 1024);
const bomb = await enc({ plain: zeros, extra: { config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib } } });
runBatch('zip-bomb', bomb, ['max 1048576 PGP_PLAINTEXT_LIMIT', 'max 8388607 PGP_PLAINTEXT_LIMIT']);
runBatch('over-cap', v2, ['max 2999 PGP_PLAINTEXT_LIMIT', 'max 1 PGP_PLAINTEXT_LIMIT']);

finish();
