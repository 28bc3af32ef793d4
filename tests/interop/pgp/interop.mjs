// OpenPGP interop between lib/pgp (through pgp_tool) and openpgp.js 6.
//   node interop.mjs PATH/TO/pgp_tool
// 1. openpgp.js readKey accepts our armored keys (fixed and freshly generated)
//    and encrypt to them yields PKESK v6 + SEIPD v2.
// 2. openpgp.js encrypts -> we decrypt byte-exact: 0 B, 1 B, 65535 B,
//    1 MiB + 1, 16 MiB; uncompressed, zlib, zip; aeadProtect true and false
//    (the key announces SEIPDv2, so "false" still gives v2; SEIPD v1 comes from
//    a session key without AEAD, as for keys without the SEIPDv2 feature);
//    every AES size x OCB/GCM x small and default chunks; streamed input
//    (partial body lengths); text literal.
// 3. we encrypt -> openpgp.js decrypts byte-exact, same sizes, and the
//    packets are PKESK v6 + SEIPD v2 AES-256-OCB.
// Under the ASan flavour (TR_SANITIZE in the tool path is not visible, so
// env TR_PGP_SMALL=1 or a build dir containing "asan") the 16 MiB cases
// shrink to 4 MiB + 3 to stay cheap.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setup } from './harness.mjs';

const { openpgp, tool, dir, check, run, finish } = await setup('interop');
const small = process.env.TR_PGP_SMALL === '1' || /asan|valgrind/.test(tool);
const BIG = small ? 4 * 1024 * 1024 + 3 : 16 * 1024 * 1024;
const SIZES = [0, 1, 65535, 1024 * 1024 + 1, BIG];



// Compressible but not trivial: a repeating pattern with a random seasoning.
function payload(n, compressible) {
  if (!compressible) return new Uint8Array(randomBytes(n));
  const b = new Uint8Array(n);
  const salt = randomBytes(64);
  for (let i = 0; i < n; i++) b[i] = (i % 251) ^ salt[(i >> 12) % 64];
  return b;
}

function weDecrypt(msg, plain, what) {
  const inF = path.join(dir, 'in.pgp'), outF = path.join(dir, 'out.bin');
  fs.writeFileSync(inF, msg);
  fs.rmSync(outF, { force: true });
  const r = run(['decrypt', inF, outF]);
  const got = r.code === 0 ? fs.readFileSync(outF) : null;
  check(got !== null && Buffer.compare(got, Buffer.from(plain)) === 0,
    `we decrypt ${what}: ${r.code === 0 ? 'bytes differ' : r.out + ' ' + r.err}`);
}

function packetVersions(message) {
  return message.packets.map(p => `${p.constructor.tag}:${p.version}`).join(',');
}

const ourArmored = run(['pubkey']).out + '\n';
const ourKey = await openpgp.readKey({ armoredKey: ourArmored });
check(ourKey.getUserIDs()[0] === 'TEE-Rex', 'user ID is TEE-Rex');

// 1. our keys are accepted and announce SEIPD v2.
for (const which of ['fixed', 'random']) {
  const armored = which === 'fixed' ? ourArmored : run(['pubkey', 'random']).out + '\n';
  const key = await openpgp.readKey({ armoredKey: armored });
  const encKey = await key.getEncryptionKey();
  check(encKey.getAlgorithmInfo().algorithm === 'ecdh' &&
        encKey.getAlgorithmInfo().curve === 'curve25519Legacy', `${which}: ECDH cv25519 subkey`);
  // openpgp.js picks its own preferred AEAD (default GCM) when the key
  // announces it; both of ours are AES-256.
  for (const [aeadProtect, pref] of [[true, 'gcm'], [false, 'gcm'], [true, 'ocb']]) {
    const enc = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: new Uint8Array([1, 2, 3]) }),
      encryptionKeys: key, format: 'binary',
      config: { aeadProtect, preferredAEADAlgorithm: openpgp.enums.aead[pref] } });
    const m = await openpgp.readMessage({ binaryMessage: enc });
    const seipd = m.packets[1];
    check(packetVersions(m) === '1:6,18:2' && seipd.cipherAlgorithm === openpgp.enums.symmetric.aes256 &&
          seipd.aeadAlgorithm === openpgp.enums.aead[pref],
      `${which} key, aeadProtect=${aeadProtect} ${pref}: PKESK v6 + SEIPD v2 AES-256 (got ${packetVersions(m)})`);
    if (which === 'fixed') weDecrypt(enc, new Uint8Array([1, 2, 3]), `check message ${pref}`);
  }
}

// 2. openpgp.js -> us.
const comps = [
  ['none', openpgp.enums.compression.uncompressed],
  ['zlib', openpgp.enums.compression.zlib],
  ['zip', openpgp.enums.compression.zip],
];
for (const size of SIZES) {
  for (const [cname, calgo] of comps) {
    if (size === BIG && cname === 'zip') continue; // zlib covers deflate at this size
    const plain = payload(size, cname !== 'none');
    for (const aeadProtect of [true, false]) {
      // 16 MiB: compressed only once (GCM); uncompressed with GCM and OCB.
      if (size === BIG && cname !== 'none' && !aeadProtect) continue;
      const enc = await openpgp.encrypt({
        message: await openpgp.createMessage({ binary: plain }), encryptionKeys: ourKey,
        format: 'binary', config: { aeadProtect, preferredCompressionAlgorithm: calgo,
          preferredAEADAlgorithm: aeadProtect ? openpgp.enums.aead.gcm : openpgp.enums.aead.ocb } });
      weDecrypt(enc, plain, `v2 size=${size} ${cname} aeadProtect=${aeadProtect} (${aeadProtect ? 'gcm' : 'ocb'})`);
    }
    // SEIPD v1 (+ PKESK v3): a session key without an AEAD mode.
    if (size === BIG && cname !== 'none') continue;
    const enc1 = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: plain }), encryptionKeys: ourKey, format: 'binary',
      sessionKey: { data: new Uint8Array(randomBytes(32)), algorithm: 'aes256' },
      config: { aeadProtect: false, preferredCompressionAlgorithm: calgo } });
    const m1 = await openpgp.readMessage({ binaryMessage: enc1 });
    check(packetVersions(m1) === '1:3,18:1', `v1 message shape (${packetVersions(m1)})`);
    weDecrypt(enc1, plain, `v1 size=${size} ${cname}`);
  }
}

// Every AES size with OCB and GCM, 64-byte and default chunks; v1 per AES size.
const plainSmall = payload(70000, false);
for (const algorithm of ['aes128', 'aes192', 'aes256']) {
  const keyLen = { aes128: 16, aes192: 24, aes256: 32 }[algorithm];
  for (const aeadAlgorithm of ['ocb', 'gcm']) {
    for (const chunk of [0, 12]) {
      const enc = await openpgp.encrypt({
        message: await openpgp.createMessage({ binary: plainSmall }), encryptionKeys: ourKey,
        format: 'binary', sessionKey: { data: new Uint8Array(randomBytes(keyLen)), algorithm, aeadAlgorithm },
        config: { aeadChunkSizeByte: chunk } });
      weDecrypt(enc, plainSmall, `${algorithm}-${aeadAlgorithm} chunk=${chunk}`);
    }
  }
  const enc1 = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: plainSmall }), encryptionKeys: ourKey,
    format: 'binary', sessionKey: { data: new Uint8Array(randomBytes(keyLen)), algorithm } });
  weDecrypt(enc1, plainSmall, `${algorithm} v1`);
}

// Streamed input: openpgp.js writes partial body lengths.
for (const size of [600, 65535, 1024 * 1024 + 1]) {
  for (const [cname, calgo] of comps.slice(0, 2)) {
    const plain = payload(size, cname !== 'none');
    const stream = new ReadableStream({
      start(c) {
        for (let off = 0; off < size; off += 10000) c.enqueue(plain.subarray(off, off + 10000));
        c.close();
      } });
    const encStream = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: stream }), encryptionKeys: ourKey,
      format: 'binary', config: { preferredCompressionAlgorithm: calgo } });
    const chunks = [];
    for await (const c of encStream) chunks.push(c);
    const enc = Buffer.concat(chunks);
    check((enc[enc.indexOf(0xd2, 100)] === 0xd2), 'streamed message has a SEIPD packet');
    weDecrypt(enc, plain, `streamed size=${size} ${cname}`);
  }
}

// Text literal (format 'u'): the body comes back as-is (UTF-8, no conversion).
{
  const text = 'héllo\nTEE-Rex\n';
  const enc = await openpgp.encrypt({ message: await openpgp.createMessage({ text }),
    encryptionKeys: ourKey, format: 'binary' });
  weDecrypt(enc, Buffer.from(text.replace(/\n/g, '\r\n'), 'utf8'), 'text literal');
}

// 3. us -> openpgp.js, to a key openpgp.js generated.
const { privateKey, publicKey } = await openpgp.generateKey({
  type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'peer' }], format: 'object' });
const peerF = path.join(dir, 'peer.asc');
fs.writeFileSync(peerF, publicKey.armor());
for (const size of SIZES) {
  const plain = payload(size, false);
  const inF = path.join(dir, 'plain.bin'), outF = path.join(dir, 'ours.pgp');
  fs.writeFileSync(inF, plain);
  const r = run(['encrypt', peerF, inF, outF]);
  check(r.code === 0, `we encrypt size=${size}: ${r.out}`);
  if (r.code !== 0) continue;
  const msg = await openpgp.readMessage({ binaryMessage: fs.readFileSync(outF) });
  const seipd = msg.packets[1];
  check(packetVersions(msg) === '1:6,18:2' && seipd.cipherAlgorithm === openpgp.enums.symmetric.aes256 &&
        seipd.aeadAlgorithm === openpgp.enums.aead.ocb, `our packets PKESK v6 + SEIPD v2 OCB (${packetVersions(msg)})`);
  const { data } = await openpgp.decrypt({ message: msg, decryptionKeys: privateKey, format: 'binary' });
  check(Buffer.compare(Buffer.from(data), Buffer.from(plain)) === 0, `openpgp.js decrypts ours size=${size}`);
  // And our own round trip to our key.
  if (size <= 65535) {
    const ourF = path.join(dir, 'our.asc');
    fs.writeFileSync(ourF, ourArmored);
    const r2 = run(['encrypt', ourF, inF, outF]);
    check(r2.code === 0, 'we encrypt to our key');
    weDecrypt(fs.readFileSync(outF), plain, `our round trip size=${size}`);
  }
}

// A key with the RFC 9580 algorithms (Ed25519/X25519, 27/25), as the
// TypeScript reference server makes: we encrypt to it too (x25519.mjs covers
// sizes and tampering).
{
  const { privateKey: p9580, publicKey: k9580 } = await openpgp.generateKey({
    type: 'curve25519', userIDs: [{ name: 'x' }], format: 'object' });
  const f = path.join(dir, 'k9580.asc');
  fs.writeFileSync(f, k9580.armor());
  fs.writeFileSync(path.join(dir, 'plain.bin'), 'x');
  const r = run(['encrypt', f, path.join(dir, 'plain.bin'), path.join(dir, 'x.pgp')]);
  check(r.code === 0, `we encrypt to a v4 Ed25519/X25519 key (${r.out})`);
  if (r.code === 0) {
    const message = await openpgp.readMessage({ binaryMessage: fs.readFileSync(path.join(dir, 'x.pgp')) });
    const { data } = await openpgp.decrypt({ message, decryptionKeys: p9580, format: 'binary' });
    check(Buffer.from(data).toString() === 'x', 'openpgp.js decrypts ours to an X25519 key');
  }
}

finish();
