// Prints the C fixture of tests/unit/pgp/pgp_x25519_test.c (not a test; run
// by hand to regenerate): an openpgp.js 6 generateKey({type: "curve25519"})
// key (v4 Ed25519 + X25519, what the TypeScript reference server makes), the
// X25519 secret of its subkey, and a PKESK v6 openpgp.js wrote to it for a
// known session key.
//   node make_x25519_fixture.mjs > fixture.txt
import * as openpgp from 'openpgp';

const hex = b => Buffer.from(b).toString('hex');
const cstr = (name, s) => `static const char ${name}[] =\n` +
  s.trimEnd().split('\n').map(l => `    "${l}\\n"`).join('\n') + ';';
const carr = (name, b) => {
  const h = hex(b).match(/.{1,2}/g).map(x => `0x${x}`);
  const rows = [];
  for (let i = 0; i < h.length; i += 12) rows.push('    ' + h.slice(i, i + 12).join(', ') + ',');
  return `static const uint8_t ${name}[${b.length}] = {\n${rows.join('\n')}\n};`;
};

const { privateKey, publicKey } = await openpgp.generateKey({
  type: 'curve25519', userIDs: [{ name: 'reference' }], format: 'object',
  date: new Date(1700000000 * 1000) });
const sub = privateKey.subkeys[0].keyPacket;
const sessionKey = new Uint8Array(32).map((_, i) => i * 5 + 3);
const msg = await openpgp.encrypt({
  message: await openpgp.createMessage({ binary: new Uint8Array([1, 2, 3]) }),
  encryptionKeys: publicKey, format: 'binary',
  sessionKey: { data: sessionKey, algorithm: 'aes256', aeadAlgorithm: 'ocb' },
  config: { aeadProtect: true } });
const m = await openpgp.readMessage({ binaryMessage: msg });
const pkesk = m.packets[0].write();

console.log(cstr('REF_KEY', publicKey.armor()));
console.log(carr('REF_PRIMARY_FPR', Buffer.from(publicKey.getFingerprint(), 'hex')));
console.log(carr('REF_SUB_FPR', Buffer.from(publicKey.subkeys[0].getFingerprint(), 'hex')));
console.log(carr('REF_SUB_PUB', sub.publicParams.A));
console.log(carr('REF_SUB_SECRET', sub.privateParams.k));
console.log(carr('REF_PKESK_BODY', pkesk));
console.log(carr('REF_SESSION_KEY', sessionKey));
