// Regenerates the committed fuzz seed corpora from interop outputs (not a
// test; run by hand after changing the fixed key or the formats):
//   node make_seeds.mjs PATH/TO/pgp_tool
// pgp_message: messages openpgp.js and GnuPG encrypted to the fixed key.
// pgp_inner:   decrypted message bodies (literal, compressed, signed shape).
// pgp_armor:   armored keys from us, openpgp.js and GnuPG, and a message.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import * as openpgp from 'openpgp';

const tool = process.argv[2];
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../fuzz/corpus');
const out = (target, name, bytes) => {
  fs.mkdirSync(path.join(root, target), { recursive: true });
  fs.writeFileSync(path.join(root, target, name), bytes);
};
const ours = spawnSync(tool, ['pubkey'], { encoding: 'utf8' }).stdout;
const key = await openpgp.readKey({ armoredKey: ours });
const text = new TextEncoder().encode('TEE-Rex fuzz seed: prover input bytes 0123456789\n'.repeat(3));
const sk = n => new Uint8Array(n).map((_, i) => i * 7 + 1);

async function enc(name, opts, data = text) {
  const m = await openpgp.encrypt({ message: await openpgp.createMessage({ binary: data }),
    encryptionKeys: key, format: 'binary', ...opts });
  out('pgp_message', name, m);
}
await enc('v2_gcm_default', {});
await enc('v2_ocb_chunk0', { sessionKey: { data: sk(32), algorithm: 'aes256', aeadAlgorithm: 'ocb' }, config: { aeadChunkSizeByte: 0 } });
await enc('v2_aes128_gcm', { sessionKey: { data: sk(16), algorithm: 'aes128', aeadAlgorithm: 'gcm' } });
await enc('v2_empty', {}, new Uint8Array(0));
await enc('v2_zlib', { config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib } });
await enc('v1_aes256', { sessionKey: { data: sk(32), algorithm: 'aes256' } });
await enc('v1_aes192_zip', { sessionKey: { data: sk(24), algorithm: 'aes192' },
  config: { preferredCompressionAlgorithm: openpgp.enums.compression.zip } });
await enc('v2_with_password', { passwords: ['pw'] });
{
  const data = new Uint8Array(3000).map((_, i) => i % 13);
  const stream = new ReadableStream({ start(c) { c.enqueue(data.subarray(0, 1500)); c.enqueue(data.subarray(1500)); c.close(); } });
  const m = await openpgp.encrypt({ message: await openpgp.createMessage({ binary: stream }), encryptionKeys: key, format: 'binary' });
  const chunks = [];
  for await (const c of m) chunks.push(c);
  out('pgp_message', 'v2_streamed_partial', Buffer.concat(chunks));
}

// GnuPG 2.2: v3 PKESK + SEIPD v1, partial lengths, compressed.
{
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'seed-gpg-'));
  const env = { ...process.env, GNUPGHOME: home };
  const g = (...a) => spawnSync('gpg', ['--batch', '--quiet', '--yes', ...a], { env, input: a.includes('-e') ? text : undefined });
  fs.writeFileSync(path.join(home, 'k.asc'), ours);
  g('--import', path.join(home, 'k.asc'));
  for (const comp of ['zip', 'zlib', 'none']) {
    g('--trust-model', 'always', '-r', 'TEE-Rex', '--compress-algo', comp, '-o', path.join(home, 'm.pgp'), '-e');
    out('pgp_message', `gnupg_v1_${comp}`, fs.readFileSync(path.join(home, 'm.pgp')));
  }
  g('--quick-gen-key', '--passphrase', '', 'gnupg seed', 'future-default', 'default', 'never');
  out('pgp_armor', 'gnupg_cv25519_key', spawnSync('gpg', ['--batch', '--armor', '--export', 'gnupg seed'], { env }).stdout);
  spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
  fs.rmSync(home, { recursive: true, force: true });
}

// Armored keys and a message.
out('pgp_armor', 'ours_fixed', ours);
out('pgp_armor', 'ours_random', spawnSync(tool, ['pubkey', 'random'], { encoding: 'utf8' }).stdout);
out('pgp_armor', 'openpgpjs_ecc', (await openpgp.generateKey({ type: 'ecc', userIDs: [{ name: 'a' }], format: 'armored' })).publicKey);
out('pgp_armor', 'openpgpjs_curve25519_v4', (await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'b' }] })).publicKey);
out('pgp_armor', 'message', await openpgp.encrypt({ message: await openpgp.createMessage({ text: 'hi' }), encryptionKeys: key }));

// Inner (decrypted) message bodies, framed by hand.
const hdr = (tag, len) => len < 192 ? Buffer.from([0xc0 | tag, len])
  : Buffer.from([0xc0 | tag, 0xff, len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255]);
const pkt = (tag, body) => Buffer.concat([hdr(tag, body.length), body]);
const literal = data => pkt(11, Buffer.concat([Buffer.from([0x62, 4]), Buffer.from('name'), Buffer.alloc(4), Buffer.from(data)]));
out('pgp_inner', 'literal', literal(text));
out('pgp_inner', 'literal_empty', literal(new Uint8Array(0)));
out('pgp_inner', 'zlib', pkt(8, Buffer.concat([Buffer.from([2]), zlib.deflateSync(literal(text))])));
out('pgp_inner', 'zip', pkt(8, Buffer.concat([Buffer.from([1]), zlib.deflateRawSync(literal(text))])));
out('pgp_inner', 'uncompressed', pkt(8, Buffer.concat([Buffer.from([0]), literal(text)])));
out('pgp_inner', 'nested_zlib', pkt(8, Buffer.concat([Buffer.from([2]),
  zlib.deflateSync(pkt(8, Buffer.concat([Buffer.from([1]), zlib.deflateRawSync(literal(text))])))])));
out('pgp_inner', 'signed_shape', Buffer.concat([pkt(4, Buffer.from([3, 0, 8, 22, 1, 2, 3, 4, 5, 6, 7, 8, 1])),
  literal(text), pkt(2, Buffer.alloc(20, 1))]));
{
  // Partial lengths: 512 + 512 + rest, old-format header variant.
  const body = Buffer.concat([Buffer.from([0x62, 0]), Buffer.alloc(4), Buffer.alloc(1500, 0x41)]);
  out('pgp_inner', 'literal_partial', Buffer.concat([Buffer.from([0xcb, 0xe9]), body.subarray(0, 512),
    Buffer.from([0xe9]), body.subarray(512, 1024), hdr(11, body.length - 1024).subarray(1), body.subarray(1024)]));
  out('pgp_inner', 'literal_old_indeterminate', Buffer.concat([Buffer.from([0x80 | (11 << 2) | 3]), body]));
}
console.log('seeds written under', root);
