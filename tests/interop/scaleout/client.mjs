#!/usr/bin/env node
// SDK-like clients for the scale-out test: what the TypeScript tee-rex SDK
// does on the wire (GET /attestation, openpgp.js 6 encrypt with aeadProtect,
// POST /prove {data}, 2 retries on network errors and 5xx), plus the re-attest
// the C CLI does on `400 Failed to decrypt` (a load balancer moved us to
// another instance, which has another key).
//
//   node client.mjs --url URL --first-addr 127.0.0.2 --count N [--input-size BYTES]
//
// Runs N clients concurrently, client i connecting from first-addr + i (so
// haproxy's source hashing spreads them), each proving one random input.
// The fake prover of the test returns sha256(input) twice as the proof, so a
// client checks that *its* input was decrypted and proven.
// Prints one JSON line per client and a summary line; exit 0 iff all succeeded.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import * as openpgp from 'openpgp';

function args() {
  const a = { url: '', firstAddr: '127.0.0.2', count: 1, inputSize: 4096 };
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) {
    if (v[i] === '--url') a.url = v[i + 1];
    else if (v[i] === '--first-addr') a.firstAddr = v[i + 1];
    else if (v[i] === '--count') a.count = +v[i + 1];
    else if (v[i] === '--input-size') a.inputSize = +v[i + 1];
    else throw new Error(`unknown argument ${v[i]}`);
  }
  if (!a.url || !(a.count > 0)) throw new Error('--url and --count are required');
  return a;
}

function addrPlus(base, k) {
  const p = base.split('.').map(Number);
  let n = ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3] + k;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function request(url, { method = 'GET', body, localAddress, timeoutMs = 300000 }) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method, localAddress,
      agent: false,
      headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {},
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

async function attest(url, localAddress) {
  const r = await request(`${url}/attestation`, { localAddress, timeoutMs: 30000 });
  if (r.status !== 200) throw new Error(`attestation HTTP ${r.status}`);
  const j = JSON.parse(r.body);
  // The LB is the subject here: like an SDK configured without attestation
  // checks, this client takes publicKey as served (the C CLIs of the same
  // test verify every document).
  return openpgp.readKey({ armoredKey: j.publicKey });
}

async function encrypt(key, input) {
  const msg = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: input }),
    encryptionKeys: key, format: 'binary', config: { aeadProtect: true },
  });
  return JSON.stringify({ data: Buffer.from(msg).toString('base64') });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function oneClient(url, localAddress, inputSize) {
  const t0 = Date.now();
  const input = randomBytes(inputSize);
  const digest = createHash('sha256').update(input).digest();
  let key = await attest(url, localAddress);
  let body = await encrypt(key, input);
  let retries = 0, reattested = false, attempts = 0;
  for (;;) {
    attempts++;
    let r;
    try {
      r = await request(`${url}/prove`, { method: 'POST', body, localAddress });
    } catch (e) {
      if (retries === 2) throw e;
      retries++; await sleep(1000 * retries); continue;
    }
    if (r.status === 200) {
      const proof = Buffer.from(JSON.parse(r.body).proof, 'base64');
      const want = Buffer.concat([Buffer.from([0, 0, 0, 2]), digest, digest]);
      if (!proof.equals(want)) throw new Error('proof does not match this input');
      return { ok: true, addr: localAddress, ms: Date.now() - t0, attempts, reattested };
    }
    let err = '';
    try { err = JSON.parse(r.body).error || ''; } catch { /* not JSON */ }
    if (r.status >= 500) {
      if (retries === 2) throw new Error(`HTTP ${r.status} ${err}`);
      retries++; await sleep(1000 * retries); continue;
    }
    if (r.status === 400 && err.startsWith('Failed to decrypt') && !reattested) {
      reattested = true;
      key = await attest(url, localAddress);
      body = await encrypt(key, input);
      continue;
    }
    throw new Error(`HTTP ${r.status} ${err}`);
  }
}

const a = args();
const results = await Promise.all(Array.from({ length: a.count }, (_, i) => {
  const addr = addrPlus(a.firstAddr, i);
  return oneClient(a.url, addr, a.inputSize).catch((e) => ({ ok: false, addr, error: String(e.message || e) }));
}));
for (const r of results) console.log(JSON.stringify(r));
const ok = results.filter((r) => r.ok).length;
console.log(JSON.stringify({ summary: true, ok, failed: results.length - ok,
  reattested: results.filter((r) => r.reattested).length }));
process.exit(ok === results.length ? 0 : 1);
