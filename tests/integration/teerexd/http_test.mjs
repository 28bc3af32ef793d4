// teerexd HTTP behaviour: every error path of PROTOCOL.md, body limit, slow
// client, 200 concurrent connections, queue full, rate limit, X-Forwarded-For
// trust, PROXY v1/v2, admin API isolation and upload, client disconnects,
// SIGHUP rescan, SIGTERM drain, start-up failures.
import { writeFileSync, readFileSync, readdirSync, mkdirSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { prove, encryptFor, fetchAttestation } from '../../interop/sdk/sdk-client.mjs';
import {
  check, summary, startServer, tempDir, installFake, cleanup, rawExchange, statusOf, sleep,
  bundleDigest, SLOW, VALGRIND, TEEREXD,
} from './lib.mjs';

if (!existsSync(TEEREXD)) { console.log('skip: teerexd not built'); process.exit(77); }

const root = tempDir('http');
const bbDir = `${root}/default`, verDir = `${root}/versions`, work = `${root}/work`;
installFake(bbDir);
mkdirSync(verDir);
mkdirSync(work);
const base = { BB_BINARY_PATH: `${bbDir}/bb`, BB_VERSIONS_DIR: verDir, PROVE_WORK_DIR: work };
const j = async (r) => ({ status: r.status, headers: r.headers, body: await r.json().catch(() => null) });
const post = (url, body, headers = {}) =>
  fetch(`${url}/prove`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body }).then(j);
const pidAlive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

// ---- A. error paths, CORS, request ids, admin isolation, limits ----
const a = await startServer({ ...base, ADMIN_LISTEN: 'tcp:127.0.0.1:0', MAX_BODY_BYTES: '4096',
  HTTP_HEADER_TIMEOUT: `${1000 * SLOW}ms`, RATE_LIMIT_MAX: '0' });
try {
  let r = await post(a.url, 'not json');
  check(r.status === 400 && r.body.error === 'Malformed request body', 'not JSON -> 400 Malformed', r.body);
  check(typeof r.body.requestId === 'string' && r.body.requestId === r.headers.get('x-request-id'),
    'error body carries the request id');
  for (const b of ['{}', '{"data":5}', '[1]', '{"data":null}', '']) {
    r = await post(a.url, b);
    check(r.status === 400 && r.body.error === 'Invalid request body: expected { data: string }',
      `shape ${JSON.stringify(b)} -> 400 Invalid`, r.body);
  }
  r = await post(a.url, JSON.stringify({ data: Buffer.from('not an openpgp message').toString('base64') }));
  check(r.status === 400 && r.body.error === 'Failed to decrypt request payload', 'garbage -> 400 decrypt', r.body);
  r = await post(a.url, JSON.stringify({ data: '!!!' }));
  check(r.status === 400 && r.body.error === 'Failed to decrypt request payload', 'bad base64 -> 400 decrypt');
  r = await post(a.url, JSON.stringify({ data: 'x'.repeat(5000) }));
  check(r.status === 413 && /too large/.test(r.body.error), 'body over MAX_BODY_BYTES -> 413 JSON', r.body);
  // chunked body over the limit: answered while reading
  const chunked = await rawExchange(a.ports.public[0], [
    'POST /prove HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    ...Array.from({ length: 8 }, () => `400\r\n${'a'.repeat(1024)}\r\n`), '0\r\n\r\n'], { timeoutMs: 3000 * SLOW });
  check(statusOf(chunked.data) === 413, 'chunked body over the limit -> 413', chunked.data.slice(0, 200));
  const huge = await rawExchange(a.ports.public[0], [
    'POST /prove HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{"data":"'],
  { timeoutMs: 3000 * SLOW });
  check(statusOf(huge.data) === 413, 'Content-Length over the limit -> 413 before the body', huge.data.slice(0, 100));
  r = await fetch(`${a.url}/nope`).then(j);
  check(r.status === 404 && r.body.error === 'Not found', 'unknown path -> 404');
  r = await fetch(`${a.url}/prove`).then(j);
  check(r.status === 404, 'GET /prove -> 404');
  r = await fetch(`${a.url}/attestation`, { method: 'DELETE' }).then(j);
  check(r.status === 404, 'DELETE /attestation -> 404');
  const o = await fetch(`${a.url}/anything`, { method: 'OPTIONS' });
  check(o.status === 204 && o.headers.get('access-control-allow-origin') === '*' &&
    o.headers.get('access-control-allow-methods') === 'GET, POST, OPTIONS' &&
    o.headers.get('access-control-allow-headers') === 'Content-Type, X-Request-Id, X-Aztec-Version' &&
    o.headers.get('access-control-expose-headers') === 'X-Request-Id, X-Prove-Duration-Ms, X-Decrypt-Duration-Ms',
  'OPTIONS -> 204 with CORS headers');
  const h = await fetch(`${a.url}/health`, { headers: { 'X-Request-Id': 'abc-123' } });
  const hb = await h.json();
  check(h.status === 200 && hb.status === 'ok' && hb.api_version === 1 && Array.isArray(hb.available_versions),
    '/health fields', hb);
  check(h.headers.get('x-request-id') === 'abc-123', 'X-Request-Id echoed');
  const h2 = await fetch(`${a.url}/health`, { headers: { 'X-Request-Id': 'bad id with spaces' } }).catch(() => null);
  const genId = h2 ? h2.headers.get('x-request-id') : '';
  check(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(genId || ''),
    'new UUID v4 when none (or a bad one) is given', genId);
  const att = await fetchAttestation(a.url);
  check(att.mode === 'standard' && /^-----BEGIN PGP PUBLIC KEY BLOCK-----/.test(att.publicKey), '/attestation standard');
  for (const p of ['/public-key', '/encryption-public-key']) {
    const k = await fetch(`${a.url}${p}`).then((x) => x.json());
    check(k.publicKey === att.publicKey, `${p} is the same key`);
  }
  r = await fetch(`${a.url}/attestation?nonce=zz`).then(j);
  check(r.status === 400, 'bad nonce hex -> 400');
  r = await fetch(`${a.url}/attestation?nonce=${'ab'.repeat(513)}`).then(j);
  check(r.status === 400, 'nonce over 512 bytes -> 400');
  r = await fetch(`${a.url}/attestation?nonce=${'ab'.repeat(512)}`).then(j);
  check(r.status === 200, 'nonce of 512 bytes ok');

  // admin API only on the admin listener
  for (const [m, p] of [['POST', '/upload-bb'], ['GET', '/admin/versions']]) {
    r = await fetch(`${a.url}${p}`, { method: m, headers: { 'x-bb-version': '1.0.0' }, body: m === 'POST' ? 'x' : undefined }).then(j);
    check(r.status === 404, `${m} ${p} not on the public listener`, r.status);
  }
  const blob = Buffer.from(readFileSync(`${bbDir}/bb`));
  for (const bad of ['../x', '..', 'a/b', '']) {
    r = await fetch(`${a.adminUrl}/upload-bb`, { method: 'POST', headers: { 'x-bb-version': bad }, body: blob }).then(j);
    check(r.status === 400, `upload version ${JSON.stringify(bad)} -> 400`, r.body);
  }
  check(!existsSync(`${root}/x`) && readdirSync(verDir).length === 0, 'nothing written for bad versions');
  r = await fetch(`${a.adminUrl}/upload-bb`, { method: 'POST', headers: { 'x-bb-version': '7.7.7' }, body: blob }).then(j);
  const want = bundleDigest(`${bbDir}/bb`); // a raw binary upload is a one-file bundle
  check(r.status === 200 && r.body.version === '7.7.7' && r.body.sha256 === want, 'upload ok with its digest', r.body);
  check((readFileSync(`${verDir}/7.7.7/bb`).equals(blob)), 'uploaded binary stored');
  const { statSync } = await import('node:fs');
  check((statSync(`${verDir}/7.7.7/bb`).mode & 0o777) === 0o755, 'uploaded binary is 0755');
  check(readdirSync(`${verDir}/7.7.7`).length === 1, 'no temp file left');
  const av = await fetch(`${a.adminUrl}/admin/versions`).then((x) => x.json());
  check(av.versions.some((v) => v.version === '7.7.7' && v.sha256 === want), '/admin/versions lists it');
  const hv = await fetch(`${a.url}/health`).then((x) => x.json());
  check(hv.available_versions.includes('7.7.7'), '/health lists the upload');
  const pr = await prove(a.url, Buffer.from('in'), { version: '7.7.7' });
  check(pr.status === 200 && pr.headers['x-prover-version'] === '7.7.7', 'prove with the uploaded version', pr.headers);

  // slow loris: a header dribbled byte by byte is cut at HTTP_HEADER_TIMEOUT, others are served
  const head = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200) + '\r\n\r\n';
  const t0 = Date.now();
  const slow = rawExchange(a.ports.public[0], head.split(''), { gapMs: 50, timeoutMs: 8000 * SLOW });
  await sleep(200);
  const t1 = Date.now();
  const fast = await fetch(`${a.url}/health`);
  check(fast.status === 200 && Date.now() - t1 < 1000 * SLOW, 'others served during a dribble');
  const sres = await slow;
  check(sres.closed && statusOf(sres.data) === 0 && Date.now() - t0 < 4000 * SLOW, 'dribbled header cut off',
    { ms: Date.now() - t0, data: sres.data.slice(0, 60) });

  // 200 concurrent connections
  const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });
  const get = () => new Promise((res) => {
    http.get(`${a.url}/health`, { agent }, (resp) => { resp.resume(); resp.on('end', () => res(resp.statusCode)); })
      .on('error', () => res(0));
  });
  const codes = await Promise.all(Array.from({ length: 200 }, get));
  check(codes.every((c) => c === 200), '200 concurrent connections all 200', codes.filter((c) => c !== 200).length);
  agent.destroy();
} finally {
  const ex = await a.stop();
  check(ex && ex.code === 0, 'server A exit 0', ex);
}

// ---- B. queue: concurrency 1, limit 1; disconnects; timeout ----
// B and C read bb's pid from its pid.log and watch its host work directory:
// they run without the sandbox (its host-directory path); the sandboxed
// kills are in tests/integration/sandbox.
const unboxed = { PROVER_SANDBOX_DISABLE: 'all' };
writeFileSync(`${bbDir}/mode`, `sleep:${2 * SLOW}`);
const b = await startServer({ ...base, ...unboxed, PROVE_CONCURRENCY: '1', PROVE_QUEUE_LIMIT: '1',
  RATE_LIMIT_MAX: '0', RETRY_AFTER: '17' });
try {
  const p1 = prove(b.url, Buffer.from('one'));
  await sleep(600 * SLOW);
  const p2 = prove(b.url, Buffer.from('two'));
  await sleep(600 * SLOW);
  const r3 = await prove(b.url, Buffer.from('three'));
  check(r3.status === 503 && r3.headers['retry-after'] === '17' && /queue is full/.test(r3.body.error),
    'queue full -> 503 + Retry-After', r3);
  const [r1, r2] = await Promise.all([p1, p2]);
  check(r1.status === 200 && r2.status === 200, 'running and queued requests both finish', [r1.status, r2.status]);
  const m = await (await fetch(`${b.url}/metrics`)).text();
  check(/teerexd_queue_full_total 1/.test(m) && /teerexd_prove_duration_seconds_count 2/.test(m), 'queue metrics', m);

  // disconnect while proving: bb's group killed, dir removed
  writeFileSync(`${bbDir}/mode`, 'sleep:30');
  const att = await fetchAttestation(b.url);
  const enc = await encryptFor(att.publicKey, Buffer.from('gone'));
  const ctl = new AbortController();
  const pending = fetch(`${b.url}/prove`, { method: 'POST', signal: ctl.signal,
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ data: enc.toString('base64') }) }).catch(() => 'aborted');
  await sleep(800 * SLOW);
  const bbPid = Number(readFileSync(`${bbDir}/pid.log`, 'utf8'));
  check(pidAlive(bbPid) && readdirSync(work).length === 1, 'bb running with its dir', bbPid);
  ctl.abort();
  await pending;
  await sleep(1000 * SLOW);
  check(!pidAlive(bbPid), 'bb killed after the client left');
  check(readdirSync(work).length === 0, 'work dir removed after the client left');
  check(b.logs.some((l) => l.event === 'client_gone_while_proving'), 'logged client_gone_while_proving');

  // disconnect while queued: dropped from the queue
  writeFileSync(`${bbDir}/mode`, `sleep:${2 * SLOW}`);
  const q1 = prove(b.url, Buffer.from('first'));
  await sleep(600 * SLOW);
  const c2 = new AbortController();
  const q2 = fetch(`${b.url}/prove`, { method: 'POST', signal: c2.signal,
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ data: enc.toString('base64') }) }).catch(() => 'aborted');
  await sleep(400 * SLOW);
  c2.abort();
  await q2;
  await sleep(600 * SLOW);
  const hq = await fetch(`${b.url}/health`).then((x) => x.json());
  check(hq.queue.waiting === 0, 'a client that left is dropped from the queue', hq.queue);
  check((await q1).status === 200, 'the running proof still finishes');
} finally {
  const ex = await b.stop();
  check(ex && ex.code === 0, 'server B exit 0', ex);
}

// ---- C. prover timeout kills the group ----
writeFileSync(`${bbDir}/mode`, 'sleep:30');
const c = await startServer({ ...base, ...unboxed, PROVE_TIMEOUT: `${1500 * SLOW}ms`, RATE_LIMIT_MAX: '0' });
try {
  const t0 = Date.now();
  const r = await prove(c.url, Buffer.from('slow'));
  check(r.status === 500 && r.body.error === 'Proof generation failed' && /timeout/.test(r.body.detail),
    'timeout -> 500', r.body);
  check(Date.now() - t0 < 10000 * SLOW, 'timeout honoured');
  const pid = Number(readFileSync(`${bbDir}/pid.log`, 'utf8'));
  check(!pidAlive(pid) && readdirSync(work).length === 0, 'timed-out bb killed, dir removed');
} finally {
  await c.stop();
}
writeFileSync(`${bbDir}/mode`, 'ok');

// ---- D. rate limit and X-Forwarded-For trust ----
const d = await startServer({ ...base, RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW: '1h',
  TRUSTED_PROXIES: '127.0.0.1,10.0.0.0/8' });
const e = await startServer({ ...base, RATE_LIMIT_MAX: '2' });
try {
  const xff = (ip) => ({ 'X-Forwarded-For': `${ip}, 10.0.0.1` });
  const s1 = [];
  for (let i = 0; i < 3; i++) s1.push((await post(d.url, '{}', xff('203.0.113.9'))).status);
  check(JSON.stringify(s1) === '[400,400,429]', 'trusted proxy: third request from one client -> 429', s1);
  const r429 = await post(d.url, '{}', xff('203.0.113.9'));
  check(r429.body.error === 'Too many prove requests, try again later', '429 reference message');
  check((await post(d.url, '{}', xff('203.0.113.10'))).status === 400, 'another client has its own window');
  // A forwarded 127.0.0.1 is a claim, not a loopback peer: limited like anyone.
  const lo = [];
  for (let i = 0; i < 3; i++) lo.push((await post(d.url, '{}', xff('127.0.0.1'))).status);
  check(JSON.stringify(lo) === '[400,400,429]', 'X-Forwarded-For 127.0.0.1 is not exempt', lo);
  const s2 = [];
  for (let i = 0; i < 4; i++) s2.push((await post(e.url, '{}', xff('203.0.113.9'))).status);
  check(s2.every((s) => s === 400), 'untrusted peer: X-Forwarded-For ignored (loopback peer exempt)', s2);
  const m = await (await fetch(`${d.url}/metrics`)).text();
  check(/teerexd_rate_limited_total 3/.test(m), 'rate-limited requests counted', m.match(/rate_limited.*/g));
} finally {
  await d.stop();
  await e.stop();
}

// ---- E. PROXY protocol v1/v2 ----
const f = await startServer({ ...base, LISTEN: 'proxy+tcp:127.0.0.1:0', RATE_LIMIT_MAX: '1',
  HTTP_HEADER_TIMEOUT: `${1000 * SLOW}ms` });
try {
  const port = f.ports.public[0];
  const req = 'POST /prove HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}';
  const v2 = (ip, cmd = 0x21) => {
    const h = Buffer.alloc(28);
    Buffer.from([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]).copy(h);
    h[12] = cmd; h[13] = 0x11; h.writeUInt16BE(12, 14);
    Buffer.from(ip.split('.').map(Number)).copy(h, 16);
    Buffer.from([127, 0, 0, 1]).copy(h, 20);
    h.writeUInt16BE(40000, 24); h.writeUInt16BE(4000, 26);
    return h;
  };
  let x = await rawExchange(port, [Buffer.concat([v2('198.51.100.7'), Buffer.from(req)])]);
  check(statusOf(x.data) === 400, 'PROXY v2 + request served', x.data.slice(0, 80));
  x = await rawExchange(port, [Buffer.concat([v2('198.51.100.7'), Buffer.from(req)])]);
  check(statusOf(x.data) === 429, 'PROXY v2 source address is the rate-limit key', x.data.slice(0, 80));
  x = await rawExchange(port, [Buffer.concat([v2('198.51.100.8'), Buffer.from(req)])]);
  check(statusOf(x.data) === 400, 'another PROXY v2 source has its own window');
  x = await rawExchange(port, [`PROXY TCP4 192.0.2.1 127.0.0.1 5555 4000\r\n${req}`]);
  check(statusOf(x.data) === 400, 'PROXY v1 + request served', x.data.slice(0, 80));
  x = await rawExchange(port, [`PROXY TCP4 192.0.2.1 127.0.0.1 5555 4000\r\n${req}`]);
  check(statusOf(x.data) === 429, 'PROXY v1 source address is the rate-limit key');
  x = await rawExchange(port, [`PROXY TCP6 2001:db8::1 ::1 5555 4000\r\n${req}`]);
  check(statusOf(x.data) === 400, 'PROXY v1 TCP6 served');
  for (let i = 0; i < 2; i++) {
    x = await rawExchange(port, [Buffer.concat([v2('0.0.0.0', 0x20), Buffer.from(req)])]);
    check(statusOf(x.data) === 400, 'PROXY v2 LOCAL uses the (loopback, exempt) peer');
  }
  // byte-by-byte v2 header still works
  const parts = [...Buffer.concat([v2('198.51.100.20'), Buffer.from(req)])].map((v) => Buffer.from([v]));
  x = await rawExchange(port, parts, { gapMs: 2 });
  check(statusOf(x.data) === 400, 'PROXY v2 header split in single bytes');
  const bad = [
    ['garbage', [`GET /health HTTP/1.1\r\nHost: x\r\n\r\n`]],
    ['truncated v2', [v2('198.51.100.7').subarray(0, 20)]],
    ['truncated v1', ['PROXY TCP4 192.0.2.1 127.0']],
    ['bad v1 address', [`PROXY TCP4 999.0.2.1 127.0.0.1 5555 4000\r\n${req}`]],
    ['bad v1 port', [`PROXY TCP4 192.0.2.1 127.0.0.1 99999 4000\r\n${req}`]],
    ['v1 too long', [`PROXY TCP4 ${'1'.repeat(120)}\r\n${req}`]],
    ['bad v2 version', [Buffer.concat([Buffer.from(v2('1.2.3.4').map((v, i) => (i === 12 ? 0x31 : v))), Buffer.from(req)])]],
  ];
  for (const [name, chunks] of bad) {
    x = await rawExchange(port, chunks, { timeoutMs: 4000 * SLOW });
    check(x.closed && statusOf(x.data) === 0, `PROXY ${name}: closed without a response`, x.data.slice(0, 80));
  }
  await sleep(300);
  check(f.logs.filter((l) => l.event === 'proxy_header_rejected').length >= bad.length, 'rejections logged',
    f.logs.filter((l) => l.event === 'proxy_header_rejected').map((l) => l.error));
  const ok = await rawExchange(port, [Buffer.concat([v2('198.51.100.30'), Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')])]);
  check(statusOf(ok.data) === 200, 'server still healthy after bad headers');
} finally {
  const ex = await f.stop();
  check(ex && ex.code === 0, 'proxy server exit 0', ex);
}

// ---- F. SIGHUP rescan, SIGTERM drain ----
const g = await startServer({ ...base, RATE_LIMIT_MAX: '0', SHUTDOWN_GRACE: `${10 * SLOW}s` });
try {
  installFake(`${verDir}/8.8.8`);
  g.proc.kill('SIGHUP');
  let seen = false;
  for (let i = 0; i < 50 && !seen; i++) {
    await sleep(100);
    seen = (await fetch(`${g.url}/health`).then((x) => x.json())).available_versions.includes('8.8.8');
  }
  check(seen, 'SIGHUP rescans BB_VERSIONS_DIR');
  writeFileSync(`${bbDir}/mode`, `sleep:${1 * SLOW}`);
  const inflight = prove(g.url, Buffer.from('drain'));
  await sleep(500 * SLOW);
  g.proc.kill('SIGTERM');
  const r = await inflight;
  check(r.status === 200, 'SIGTERM lets the in-flight proof finish', r.status);
  const ex = await g.exitPromise;
  check(ex.code === 0, 'exit 0 after SIGTERM', ex);
} finally {
  await g.stop();
}
writeFileSync(`${bbDir}/mode`, 'ok');

// ---- H. unix-socket listeners (public + admin) ----
const uget = (sock, path, method = 'GET', body) => new Promise((res) => {
  const rq = http.request({ socketPath: sock, path, method, headers: { 'Content-Type': 'application/json' } }, (resp) => {
    let d = '';
    resp.on('data', (c) => { d += c; });
    resp.on('end', () => res({ status: resp.statusCode, body: d }));
  });
  rq.on('error', () => res({ status: 0, body: '' }));
  if (body) rq.write(body);
  rq.end();
});
const pubSock = `${root}/pub.sock`, admSock = `${root}/adm.sock`;
const u = await startServer({ ...base, LISTEN: `unix:${pubSock},tcp:127.0.0.1:0`, ADMIN_LISTEN: `unix:${admSock}`,
  RATE_LIMIT_MAX: '1' });
try {
  check((await uget(pubSock, '/health')).status === 200, 'unix listener serves /health');
  check((await uget(pubSock, '/admin/versions')).status === 404, 'no admin API on the public unix listener');
  check((await uget(admSock, '/admin/versions')).status === 200, 'admin API on the admin unix listener');
  check((await uget(admSock, '/attestation')).status === 404, 'no public API on the admin listener');
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await uget(pubSock, '/prove', 'POST', '{}')).status);
  check(codes.every((x) => x === 400), 'unix-socket clients are local (rate-limit exempt)', codes);
} finally {
  const ex = await u.stop();
  check(ex && ex.code === 0, 'unix server exit 0', ex);
  check(!existsSync(pubSock) && !existsSync(admSock), 'unix sockets removed at exit');
}

// ---- G. start-up failures ----
const n = await startServer({ ...base, TEE_MODE: 'bogus' }, { expectExit: true });
check(n.exited && n.exited.code === 2 && /TEE_MODE must be/.test(n.stderr),
  'unknown TEE_MODE -> exit 2 (a configuration error, as --help says)', n.exited);
if (!existsSync(`${process.env.TR_SOURCE_DIR}/src/teerexd/attest_nitro.c`)) {
  const nn = await startServer({ ...base, TEE_MODE: 'nitro' }, { expectExit: true });
  check(nn.exited && nn.exited.code === 3 && /not available/.test(nn.stderr), 'nitro without provider -> exit 3');
}
const bl = await startServer({ ...base, LISTEN: 'udp:1.2.3.4:5' }, { expectExit: true });
check(bl.exited && bl.exited.code === 4, 'bad LISTEN -> exit 4', bl.exited);
const bp = await startServer({ ...base, PROVE_CONCURRENCY: 'lots' }, { expectExit: true });
check(bp.exited && bp.exited.code === 2, 'bad number -> exit 2', bp.exited);

if (VALGRIND) console.log('(server ran under valgrind)');
cleanup(root);
process.exit(summary());
