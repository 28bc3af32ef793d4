// Streaming /prove (issue 13): teerexd decrypts an SDK-shaped body while it
// arrives. Against a real teerexd with the fake bb (no sandbox, so the fake
// records the sha256 of what it was given): bodies split at awkward places
// over a raw socket, bodies that leave the SDK's shape (fallback), a
// corrupted ciphertext answered only after the whole body, clients that hang
// up mid-body, the plaintext held inside MAX_INFLIGHT_BYTES, and the peak
// memory of a 16 MiB body (about one copy of the input).
import { readFileSync, writeFileSync, readdirSync, mkdirSync, existsSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { encryptFor, fetchAttestation, prove } from '../../interop/sdk/sdk-client.mjs';
import {
  check, summary, startServer, tempDir, installFake, cleanup, sleep, SLOW, VALGRIND, TEEREXD,
} from './lib.mjs';

if (!existsSync(TEEREXD)) { console.log('skip: teerexd not built'); process.exit(77); }

const MiB = 1 << 20;
const root = tempDir('stream');
const bbDir = `${root}/bb`, work = `${root}/work`;
installFake(bbDir);
mkdirSync(work);
const sha = (b) => createHash('sha256').update(b).digest('hex');
const lastInput = () => readFileSync(`${bbDir}/inputs.log`, 'utf8').trim().split('\n')[0];
const base = {
  BB_BINARY_PATH: `${bbDir}/bb`, PROVE_WORK_DIR: work, RATE_LIMIT_MAX: '0', PROVER_SANDBOX_DISABLE: 'all',
  HTTP_HEADER_TIMEOUT: `${20 * SLOW}s`,
  ASAN_OPTIONS: 'detect_leaks=1:halt_on_error=1:quarantine_size_mb=16',
};

// One POST /prove over a raw socket, the body in the given pieces with a
// pause after each (separate reads on the server). Resolves with the status,
// the JSON answer and whether anything came back before the last piece.
function rawProve(port, body, cuts, { gapMs = 40 * SLOW, hangUpAfter = -1, timeoutMs = 30000 * SLOW } = {}) {
  const buf = Buffer.from(body);
  const pieces = [];
  let at = 0;
  for (const c of [...cuts, buf.length]) { pieces.push(buf.subarray(at, c)); at = c; }
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0), early = false, sentAll = false, done = false;
    const finish = (why) => {
      if (done) return;
      done = true;
      s.destroy();
      const text = data.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      let json = null;
      try { json = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)); } catch { /* none */ }
      resolve({ status: m ? Number(m[1]) : 0, json, early, why });
    };
    s.on('data', (d) => { if (!sentAll) early = true; data = Buffer.concat([data, d]); });
    s.on('close', () => finish('closed'));
    s.on('error', () => finish('error'));
    setTimeout(() => finish('timeout'), timeoutMs);
    s.on('connect', async () => {
      s.write(`POST /prove HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${buf.length}\r\nConnection: close\r\n\r\n`);
      for (let i = 0; i < pieces.length; i++) {
        if (done) return;
        if (i === hangUpAfter) { finish('hung up'); return; }
        if (i === pieces.length - 1) sentAll = true;
        s.write(pieces[i]);
        await sleep(gapMs);
      }
    });
  });
}

const srv = await startServer(base);
const port = srv.ports.public[0];
try {
  const att = await fetchAttestation(srv.url);
  const input = randomBytes(300 * 1024);
  const enc = await encryptFor(att.publicKey, input);
  const b64 = enc.toString('base64');
  const body = `{"data":"${b64}"}`;
  const L = body.length;

  // ---- 1. The SDK's shape split at every awkward place ----
  const splits = {
    'inside the prefix': [3],
    'between prefix and opening quote': [8],
    'right after the opening quote': [9],
    'inside a base64 quad': [9 + 1002, 9 + 4001],
    'inside the closing quote': [L - 2],
    'between quote and brace': [L - 1],
    'all of them': [3, 8, 9, 11, 9 + 1002, L - 2, L - 1],
  };
  for (const [name, cuts] of Object.entries(splits)) {
    const r = await rawProve(port, body, cuts);
    check(r.status === 200 && typeof r.json?.proof === 'string', `split ${name}: 200 proof`, r);
    check(lastInput() === sha(input), `split ${name}: bb got the exact plaintext`);
  }
  // Many small pieces (one per TCP segment of 700 bytes, no pause).
  const many = Array.from({ length: Math.floor(L / 700) }, (_, i) => (i + 1) * 700);
  let r = await rawProve(port, body, many, { gapMs: 0 });
  check(r.status === 200 && lastInput() === sha(input), '700-byte pieces: 200, exact plaintext', r.status);

  // ---- 2. Other shapes fall back to the buffered path, same answers ----
  const shapes = {
    'blanks around': `{ "data" : "${b64}" }\n`,
    'member before data': `{"client":"x","data":"${b64}"}`,
    'member after data': `{"data":"${b64}","client":{"name":"x","n":[1,2]}}`,
    'blanks after the brace': `{"data":"${b64}"}  \r\n`,
    'PHP escapes \\/': `{"data":"${b64.replaceAll('/', '\\/')}"}`,
    'a later data member wins': `{"data":"AAAA","data":"${b64}"}`,
  };
  for (const [name, b] of Object.entries(shapes)) {
    r = await rawProve(port, b, [5, 9, 13, b.length - 2]);
    check(r.status === 200 && lastInput() === sha(input), `${name}: 200, exact plaintext`, r);
  }
  const verdicts = [
    ['missing brace', `{"data":"${b64}"`, 'Malformed request body'],
    ['garbage after', `{"data":"${b64}"} x`, 'Malformed request body'],
    ['later data not a string', `{"data":"${b64}","data":5}`, 'Invalid request body: expected { data: string }'],
    ['later data not base64', `{"data":"${b64}","data":"!!"}`, 'Failed to decrypt request payload'],
    ['newline inside data', `{"data":"${b64.slice(0, 400)}\\n${b64.slice(400)}"}`, 'Failed to decrypt request payload'],
  ];
  for (const [name, b, error] of verdicts) {
    r = await rawProve(port, b, [9, 200, b.length - 2]);
    check(r.status === 400 && r.json?.error === error, `${name}: 400 "${error}"`, r);
  }

  // ---- 3. A corrupted ciphertext: 400 only after the whole body, after the JSON verdict ----
  const bad = Buffer.from(enc);
  bad[Math.floor(bad.length / 3)] ^= 0x20;
  const badBody = `{"data":"${bad.toString('base64')}"}`;
  const fails = srv.logs.filter((l) => l.event === 'decrypt_failed').length;
  r = await rawProve(port, badBody, [Math.floor(badBody.length * 0.8)], { gapMs: 600 * SLOW });
  check(r.status === 400 && r.json?.error === 'Failed to decrypt request payload',
    'corrupted ciphertext: 400 "Failed to decrypt request payload"', r);
  check(!r.early, 'corrupted ciphertext: nothing answered before the last byte');
  await sleep(100);
  check(srv.logs.filter((l) => l.event === 'decrypt_failed').length === fails + 1, 'corrupted ciphertext: one decrypt_failed log');
  r = await rawProve(port, badBody.slice(0, -1), [9000]);
  check(r.status === 400 && r.json?.error === 'Malformed request body',
    'corrupted ciphertext in broken JSON: the JSON verdict wins (400 Malformed)', r);
  const metrics = await fetch(`${srv.url}/metrics`).then((x) => x.text());
  check(/decrypt/.test(metrics), '/metrics still answers');

  // ---- 4. Clients that hang up mid-body: nothing left behind ----
  const big = await encryptFor(att.publicKey, randomBytes(2 * MiB));
  const bigBody = `{"data":"${big.toString('base64')}"}`;
  for (let i = 0; i < 4; i++) {
    const cut = [9 + 1 + i * 7, Math.floor(bigBody.length / 2) + i, bigBody.length - 1];
    r = await rawProve(port, bigBody, cut, { hangUpAfter: [1, 2, 3, 2][i], gapMs: 50 * SLOW });
    check(r.why === 'hung up', `hang-up ${i}: the client left mid-body`);
  }
  await sleep(300 * SLOW);
  const p = await prove(srv.url, Buffer.from('after the hang-ups'));
  check(p.status === 200, 'a normal SDK proof after the hang-ups', p.status);
  check(readdirSync(work).length === 0, 'no work directory left');
} finally {
  const ex = await srv.stop();
  check(ex && ex.code === 0, 'server exit 0 (ASan: no leak report)', ex);
}

// ---- 5. The plaintext is inside MAX_INFLIGHT_BYTES until the request ends ----
{
  const srv2 = await startServer({ ...base, MAX_BODY_BYTES: `${2 * MiB}`, MAX_INFLIGHT_BYTES: `${2 * MiB}` });
  try {
    const att = await fetchAttestation(srv2.url);
    const inA = randomBytes(1100 * 1024); // ~1.47 MB of body, its plaintext held while bb runs
    const encA = await encryptFor(att.publicKey, inA);
    writeFileSync(`${bbDir}/mode`, `sleep:${3 * SLOW}`);
    const a = fetch(`${srv2.url}/prove`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ data: encA.toString('base64') }) }).then((x) => x.status);
    const t0 = Date.now();
    while (!srv2.logs.some((l) => l.event === 'prove_start') && Date.now() - t0 < 20000 * SLOW) await sleep(20);
    check(srv2.logs.some((l) => l.event === 'prove_start'), 'first request is proving (its body fully read)');
    const encB = await encryptFor(att.publicKey, randomBytes(600 * 1024));
    const bodyB = JSON.stringify({ data: encB.toString('base64') });
    const rb = await fetch(`${srv2.url}/prove`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: bodyB })
      .then(async (x) => ({ status: x.status, retry: x.headers.get('retry-after') }))
      .catch((e) => ({ status: `fetch failed ${e.message}` }));
    check(rb.status === 503 && rb.retry, 'second body while the first plaintext is proved: 503 + Retry-After', rb);
    check(await a === 200, 'first request: 200');
    writeFileSync(`${bbDir}/mode`, 'ok');
    const again = await fetch(`${srv2.url}/prove`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: bodyB })
      .then((x) => x.status);
    check(again === 200, 'second body once the first ended: 200', again);
  } finally {
    writeFileSync(`${bbDir}/mode`, 'ok');
    const ex = await srv2.stop();
    check(ex && ex.code === 0, 'budget server exit 0', ex);
  }
}

// ---- 6. Peak memory of a 16 MiB input: about one copy, not body + ciphertext + plaintext ----
if (!VALGRIND && !/asan/.test(process.env.TR_BUILD_DIR || '')) {
  const srv3 = await startServer({ ...base, MAX_BODY_BYTES: `${50 * MiB}` });
  try {
    const att = await fetchAttestation(srv3.url);
    const enc = await encryptFor(att.publicKey, randomBytes(16 * MiB));
    const b = `{"data":"${enc.toString('base64')}"}`;
    const kb = (f) => Number(new RegExp(`${f}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${srv3.proc.pid}/status`, 'utf8'))[1]) * 1024;
    writeFileSync(`/proc/${srv3.proc.pid}/clear_refs`, '5');
    const before = kb('VmRSS');
    const r6 = await rawProve(srv3.ports.public[0], b, [], { gapMs: 0 });
    const growth = kb('VmHWM') - before;
    check(r6.status === 200, '16 MiB input: 200', r6.status);
    console.log(`16 MiB input: body ${(b.length / MiB).toFixed(1)} MiB, peak RSS growth ${(growth / MiB).toFixed(1)} MiB (${(growth / b.length).toFixed(2)}x body)`);
    check(growth <= 1.5 * b.length, `16 MiB input: peak growth <= 1.5x the body (${(growth / b.length).toFixed(2)}x)`);
  } finally {
    await srv3.stop();
  }
}
cleanup(root);
process.exit(summary());
