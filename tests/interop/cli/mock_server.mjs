#!/usr/bin/env node
// A scripted tee-rex server for the C CLI's tests (tests/integration/cli/):
// real openpgp.js 6 keys and decryption (so every proof also checks that our
// encryption interoperates), and misbehaviours on demand.
//
//   node mock_server.mjs PORTFILE    -> listens on 127.0.0.1:0, writes the port
//
// The scenario is the first path segment of the base URL the client uses:
// http://127.0.0.1:PORT/<scenario>-<id>/attestation ... (id separates state).
//   ok          standard mode; the proof is sha256(plaintext) twice
//   flaky       the first POST /prove answers 503, then ok
//   flakyattest the first GET /attestation answers 502 (not JSON), then ok
//   down        every POST /prove answers 500
//   rotate      the key changes after the first /attestation (a restart):
//               the first POST gets `400 Failed to decrypt`, ok after re-attest
//   rotate2     the key changes after every /attestation: always 400
//   garbage     /attestation answers non-JSON
//   badmode     /attestation mode "sgx"
//   nodoc       mode nitro without attestationDocument
//   badproof    a proof whose header count does not match its length
//   toobig      a 400 error body with control characters
//   uh          ultra_honk: checks x-prover-scheme and the TRXC container,
//               answers proof + vk + publicInputs
//   unhealthy   /health says status "degraded"
//   swapkey     relays the attestation of 127.0.0.1:$MOCK_UPSTREAM_PORT with
//               its own key as publicKey (the attested key differs)
// Each request is logged to stdout as a JSON line.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import * as openpgp from 'openpgp';

const state = new Map();
async function newKey() {
  // teerexd's key shape: v4 EdDSALegacy + ECDH Curve25519 ("ecc" in
  // openpgp.js 6; its "curve25519" makes RFC 9580 Ed25519/X25519 keys).
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'mock' }], format: 'object',
  });
  return { priv: privateKey, armored: publicKey.armor() };
}
async function st(id) {
  if (!state.has(id)) state.set(id, { key: await newKey(), attests: 0, proves: 0 });
  return state.get(id);
}

function send(res, status, obj, headers = {}) {
  const body = typeof obj === 'string' ? obj : JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'mock-req', ...headers });
  res.end(body);
}

function parseContainer(buf) {
  // "TRXC", u8 version, u8 count, { u8 name_len, name, u32be size, bytes }
  if (buf.subarray(0, 4).toString() !== 'TRXC' || buf[4] !== 1) throw new Error('not TRXC v1');
  const n = buf[5];
  let off = 6;
  const out = {};
  for (let i = 0; i < n; i++) {
    const nl = buf[off]; off += 1;
    const name = buf.subarray(off, off + nl).toString(); off += nl;
    const size = buf.readUInt32BE(off); off += 4;
    out[name] = buf.subarray(off, off + size); off += size;
  }
  if (off !== buf.length) throw new Error('trailing bytes');
  return out;
}

async function handle(req, res, body) {
  const m = req.url.match(/^\/([a-z0-9]+)(-[A-Za-z0-9]+)?(\/[a-z-]+)(\?.*)?$/);
  if (!m) return send(res, 404, { error: 'Not found' });
  const [, scenario, idPart = '', path] = m;
  const s = await st(scenario + idPart);
  console.log(JSON.stringify({ scenario, id: idPart, method: req.method, path, xscheme: req.headers['x-prover-scheme'] || null }));
  if (req.method === 'GET' && path === '/health') {
    return send(res, 200, { status: scenario === 'unhealthy' ? 'degraded' : 'ok', api_version: 1, available_versions: ['5.0.0'] });
  }
  if (req.method === 'GET' && path === '/attestation') {
    s.attests++;
    if (scenario === 'flakyattest' && s.attests === 1) return send(res, 502, '<html>bad gateway</html>');
    if ((scenario === 'rotate' && s.attests === 1) || scenario === 'rotate2') {
      // Serve the current key, then "restart" with a new one.
      const served = s.key.armored;
      s.key = await newKey();
      return send(res, 200, { mode: 'standard', publicKey: served });
    }
    if (scenario === 'swapkey') {
      // A man in the middle: the upstream's genuine (nitro) attestation, but
      // its own key as the JSON publicKey. Upstream: ?upstream=PORT in the id.
      const port = process.env.MOCK_UPSTREAM_PORT;
      const q = new URL(req.url, 'http://x').search;
      const up = await fetch(`http://127.0.0.1:${port}/attestation${q}`).then((r) => r.json());
      return send(res, 200, { ...up, publicKey: s.key.armored });
    }
    if (scenario === 'garbage') return send(res, 200, '<html>not json');
    if (scenario === 'badmode') return send(res, 200, { mode: 'sgx', publicKey: s.key.armored });
    if (scenario === 'nodoc') return send(res, 200, { mode: 'nitro', publicKey: s.key.armored });
    if (!/^[0-9a-f]{64}$/.test(new URL(req.url, 'http://x').searchParams.get('nonce') || '')) {
      return send(res, 400, { error: 'expected a 32-byte hex nonce' });
    }
    return send(res, 200, { mode: 'standard', publicKey: s.key.armored });
  }
  if (req.method === 'POST' && path === '/prove') {
    s.proves++;
    if (scenario === 'flaky' && s.proves === 1) return send(res, 503, { error: 'busy', requestId: 'r' });
    if (scenario === 'down') return send(res, 500, { error: 'prover failed', requestId: 'r' });
    if (scenario === 'toobig') return send(res, 400, { error: 'bad\u001b[31m\nthing', requestId: 'r' });
    let plain;
    try {
      const data = JSON.parse(body.toString()).data;
      const message = await openpgp.readMessage({ binaryMessage: Buffer.from(data, 'base64') });
      const { data: d } = await openpgp.decrypt({ message, decryptionKeys: s.key.priv, format: 'binary' });
      plain = Buffer.from(d);
    } catch {
      return send(res, 400, { error: 'Failed to decrypt request payload', requestId: 'r' });
    }
    const h = createHash('sha256').update(plain).digest();
    if (scenario === 'badproof') {
      return send(res, 200, { proof: Buffer.concat([Buffer.from([0, 0, 0, 3]), h, h]).toString('base64') });
    }
    const proof = Buffer.concat([Buffer.from([0, 0, 0, 2]), h, h]).toString('base64');
    if (scenario === 'uh') {
      if (req.headers['x-prover-scheme'] !== 'ultra_honk') return send(res, 400, { error: 'no scheme header' });
      let c;
      try { c = parseContainer(plain); } catch (e) { return send(res, 400, { error: String(e.message) }); }
      const ph = createHash('sha256').update(c['program.json']).digest();
      const wh = createHash('sha256').update(c['witness.gz']).digest();
      return send(res, 200, {
        proof: Buffer.concat([Buffer.from([0, 0, 0, 2]), ph, wh]).toString('base64'),
        vk: Buffer.from('mock-vk').toString('base64'),
        publicInputs: Buffer.alloc(32, 7).toString('base64'),
      }, { 'x-decrypt-duration-ms': '3', 'x-prove-duration-ms': '42' });
    }
    return send(res, 200, { proof }, { 'x-decrypt-duration-ms': '1', 'x-prove-duration-ms': '2' });
  }
  return send(res, 404, { error: 'Not found' });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => handle(req, res, Buffer.concat(chunks)).catch((e) => send(res, 500, { error: String(e) })));
});
server.listen(0, '127.0.0.1', () => writeFileSync(process.argv[2], String(server.address().port)));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
