// Our client encrypts to an RFC 9580 native Curve25519 key, the kind the
// TypeScript reference server makes with openpgp.js 6 generateKey({type:
// "curve25519"}): v4 Ed25519 (27) primary + X25519 (25) subkey.
//   node x25519.mjs PATH/TO/pgp_tool
// 1. pgp_tool encrypt (pgp_pubkey_parse_armored + pgp_encrypt) to the armored
//    public key -> openpgp.js decrypts byte-exact: 0 B, 1 B, 65535 B,
//    1 MiB + 1; the packets are PKESK v6 (algorithm 25) + SEIPD v2 AES-256-OCB.
// 2. openpgp.js rejects our message with a flipped byte in the wrapped
//    session key, in the SEIPD v2 salt, in the last chunk and in the final tag.
// 3. the key parser rejects the key when a self-signature or the binding is
//    tampered with, and a second fresh key (random ephemeral per message)
//    works too.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setup } from './harness.mjs';

const { openpgp, tool, dir, check, run, finish } = await setup('x25519');



function packetVersions(message) {
  return message.packets.map(p => `${p.constructor.tag}:${p.version}`).join(',');
}

async function weEncrypt(keyFile, plain) {
  const inF = path.join(dir, 'plain.bin'), outF = path.join(dir, 'ours.pgp');
  fs.writeFileSync(inF, plain);
  fs.rmSync(outF, { force: true });
  const r = run(['encrypt', keyFile, inF, outF]);
  return r.code === 0 ? { msg: fs.readFileSync(outF) } : { err: `${r.out} ${r.err}` };
}

async function theyDecrypt(bytes, privateKey) {
  try {
    const message = await openpgp.readMessage({ binaryMessage: bytes });
    const { data } = await openpgp.decrypt({ message, decryptionKeys: privateKey, format: 'binary' });
    return { data: Buffer.from(data) };
  } catch (e) {
    return { error: e.message };
  }
}

const keys = [];
for (const name of ['reference server', 'second']) {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'curve25519', userIDs: [{ name }], format: 'object' });
  check(publicKey.keyPacket.version === 4 &&
        publicKey.keyPacket.algorithm === openpgp.enums.publicKey.ed25519 &&
        publicKey.subkeys[0].keyPacket.algorithm === openpgp.enums.publicKey.x25519,
    `${name}: openpgp.js made a v4 Ed25519 + X25519 key`);
  const f = path.join(dir, `key${keys.length}.asc`);
  fs.writeFileSync(f, publicKey.armor());
  keys.push({ name, privateKey, publicKey, f });
}

// 1. byte-exact round trips.
const SIZES = [0, 1, 65535, 1024 * 1024 + 1];
let sample = null;
for (const [i, k] of keys.entries()) {
  for (const size of i === 0 ? SIZES : [0, 1000]) {
    const plain = Buffer.from(randomBytes(size));
    const r = await weEncrypt(k.f, plain);
    check(!r.err, `${k.name}: we encrypt size=${size}: ${r.err}`);
    if (r.err) continue;
    const m = await openpgp.readMessage({ binaryMessage: r.msg });
    const [pkesk, seipd] = m.packets;
    check(packetVersions(m) === '1:6,18:2' &&
          pkesk.publicKeyAlgorithm === openpgp.enums.publicKey.x25519 &&
          seipd.cipherAlgorithm === openpgp.enums.symmetric.aes256 &&
          seipd.aeadAlgorithm === openpgp.enums.aead.ocb,
      `${k.name} size=${size}: PKESK v6 X25519 + SEIPD v2 AES-256-OCB (${packetVersions(m)})`);
    const d = await theyDecrypt(r.msg, k.privateKey);
    check(d.data && Buffer.compare(d.data, plain) === 0,
      `${k.name}: openpgp.js decrypts ours size=${size}: ${d.error || 'bytes differ'}`);
    if (i === 0 && size === 65535) sample = { msg: r.msg, plain };
  }
  // Encrypted to one key, not decryptable with the other.
  if (i === 1) {
    const r = await weEncrypt(keys[0].f, Buffer.from('x'));
    const d = await theyDecrypt(r.msg, keys[1].privateKey);
    check(d.error !== undefined, 'a message to the first key does not open with the second');
  }
}

// 2. tampering: openpgp.js must reject.
if (sample) {
  const { msg } = sample;
  // New-format header: tag octet then a one- or two-octet length here.
  const pkLen = msg[1] < 192 ? msg[1] : ((msg[1] - 192) << 8) + msg[2] + 192;
  const pkHdr = msg[1] < 192 ? 2 : 3;
  const pkBody = pkHdr, sOff = pkHdr + pkLen;
  // PKESK v6 body: 6, 21, 4, fpr[20], algo, eph[32], size, wrapped.
  const cases = [
    ['ephemeral key', pkBody + 23 + 5],
    ['wrapped session key', pkBody + 23 + 32 + 1 + 3],
    ['SEIPD salt', sOff + 3 + 4 + 10],
    ['last chunk', msg.length - 16 - 16 - 5],
    ['final tag', msg.length - 1],
  ];
  for (const [what, off] of cases) {
    const t = Buffer.from(msg);
    t[off] ^= 0x01;
    const d = await theyDecrypt(t, keys[0].privateKey);
    check(d.error !== undefined, `openpgp.js rejects a flipped byte in the ${what} (offset ${off})`);
  }
  const d = await theyDecrypt(Buffer.from(msg), keys[0].privateKey);
  check(d.data && Buffer.compare(d.data, sample.plain) === 0, 'the untampered sample still decrypts');
  const tr = await theyDecrypt(msg.subarray(0, msg.length - 7), keys[0].privateKey);
  check(tr.error !== undefined, 'openpgp.js rejects a truncated message');
}

// 3. our parser verifies the Ed25519 (27) self-signatures.
{
  const bin = Buffer.from(keys[0].publicKey.write());
  const packets = [];
  for (let off = 0; off < bin.length;) {
    const tag = bin[off] & 0x3f;
    const b0 = bin[off + 1];
    let len, n;
    if (b0 < 192) { len = b0; n = 1; } else if (b0 < 224) { len = ((b0 - 192) << 8) + bin[off + 2] + 192; n = 2; } else { len = bin.readUInt32BE(off + 2); n = 5; }
    packets.push({ tag, off, end: off + 1 + n + len });
    off += 1 + n + len;
  }
  const tags = packets.map(p => p.tag).join(',');
  check(tags === '6,13,2,14,2', `key layout primary,uid,cert,subkey,binding (${tags})`);
  const tamper = async (off, want, what) => {
    const t = Buffer.from(bin);
    t[off] ^= 0x01;
    const armored = openpgp.armor(openpgp.enums.armor.publicKey, t);
    const f = path.join(dir, 'tampered.asc');
    fs.writeFileSync(f, armored);
    fs.writeFileSync(path.join(dir, 'plain.bin'), 'x');
    const r = run(['encrypt', f, path.join(dir, 'plain.bin'), path.join(dir, 'x.pgp')]);
    check(r.code === 1 && r.out === `ERR ${want}`, `${what}: refused with ${want} (got ${r.out})`);
  };
  if (packets.length === 5) {
    await tamper(packets[2].end - 1, 'PGP_BAD_SIGNATURE', 'certification signature');
    await tamper(packets[4].end - 1, 'PGP_BAD_SIGNATURE', 'binding signature');
    await tamper(packets[3].end - 1, 'PGP_BAD_SIGNATURE', 'X25519 subkey material');
    await tamper(packets[1].end - 1, 'PGP_BAD_SIGNATURE', 'user ID');
  }
}

finish();
