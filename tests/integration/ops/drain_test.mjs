// One teerexd and its operations listener (issue 14 items 3, 4, 5):
//  A. OPS_LISTEN serves /health /ready /metrics /drain; the public listener
//     no longer serves /metrics; promtool accepts the ops /metrics;
//  B. POST /drain: /ready 503 "draining", /health still 200; a client that
//     attested before is still served; GET /drain says idle; DELETE undoes it;
//  C. SIGTERM with one proof running and two queued: all three are proven
//     (SHUTDOWN_GRACE covers queued proofs), then exit 0;
//  D. SIGTERM with a grace shorter than the work: the rest is cancelled with
//     503 "shutting down", exit 0 in time;
//  E. PROVE_TIMEOUT is a deadline from arrival: a prover that runs past it is
//     killed and the client hears why (500, detail "timeout") in time.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { prove } from '../../interop/sdk/sdk-client.mjs';
import {
  check, summary, startServer, tempDir, installFake, cleanup, sleep, TEEREXD, SLOW,
} from '../teerexd/lib.mjs';

if (!existsSync(TEEREXD)) { console.log('skip: teerexd not built'); process.exit(77); }
const root = tempDir('drain');
const work = `${root}/work`;
mkdirSync(work);
const bb = installFake(`${root}/bb`);
const mode = (m) => writeFileSync(`${root}/bb/mode`, m);
const base = { BB_BINARY_PATH: bb, PROVE_WORK_DIR: work, RATE_LIMIT_MAX: '0', OPS_LISTEN: 'tcp:127.0.0.1:0' };
const get = async (url, opts) => { const r = await fetch(url, opts); return { status: r.status, body: await r.json().catch(() => null) }; };

// ---- A and B ----
let srv = await startServer(base);
try {
  check(srv.opsUrl, 'the ops listener is announced', srv.ports);
  const h = await get(`${srv.opsUrl}/health`);
  check(h.status === 200 && h.body.status === 'ok' && Array.isArray(h.body.reasons), 'ops /health ok', h);
  const rd = await get(`${srv.opsUrl}/ready`);
  check(rd.status === 200 && rd.body.ready === true, 'ops /ready 200', rd);
  const pub = await fetch(`${srv.url}/metrics`);
  check(pub.status === 404, 'public /metrics is 404 with an ops listener', pub.status);
  const pr = await get(`${srv.url}/ready`);
  check(pr.status === 200, 'public /ready 200 (balancers check it)', pr.status);
  const m = await (await fetch(`${srv.opsUrl}/metrics`)).text();
  check(/^teerexd_ready 1$/m.test(m) && /^teerexd_draining 0$/m.test(m), 'ready/draining gauges', m.slice(-400));
  const pt = spawnSync('promtool', ['check', 'metrics'], { input: m, encoding: 'utf8' });
  check(pt.status === 0 && `${pt.stdout}${pt.stderr}`.trim() === '', 'promtool accepts the ops /metrics', `${pt.stdout}${pt.stderr}`);
  const nf = await fetch(`${srv.opsUrl}/attestation`);
  check(nf.status === 404, 'no public API on the ops listener', nf.status);

  const d = await get(`${srv.opsUrl}/drain`, { method: 'POST' });
  check(d.status === 200 && d.body.draining === true && d.body.idle === true, 'POST /drain', d);
  check(srv.logs.some((l) => l.event === 'drain_started'), 'drain_started logged');
  const r2 = await get(`${srv.url}/ready`);
  check(r2.status === 503 && r2.body.status === 'draining', '/ready 503 while draining', r2);
  const h2 = await get(`${srv.url}/health`);
  check(h2.status === 200 && h2.body.status === 'draining' && h2.body.draining === true,
    '/health stays 200, says draining', h2);
  const p = await prove(srv.url, Buffer.from('while draining'));
  check(p.status === 200, 'a client that attested is still served while draining', p.status);
  // The request counts as open until the server is done with its connection
  // (just after the client has the answer).
  let d2 = await get(`${srv.opsUrl}/drain`);
  for (let i = 0; i < 40 * SLOW && !d2.body.idle; i++) {
    await sleep(50);
    d2 = await get(`${srv.opsUrl}/drain`);
  }
  check(d2.body.idle === true && d2.body.open === 0, 'GET /drain: idle once the proof is done', d2.body);
  const d3 = await get(`${srv.opsUrl}/drain`, { method: 'DELETE' });
  const r3 = await get(`${srv.opsUrl}/ready`);
  check(d3.body.draining === false && r3.status === 200, 'DELETE /drain: ready again', r3);
} finally {
  await srv.stop();
}

// ---- C: SIGTERM covers running and queued proofs ----
mode('sleep:1');
srv = await startServer({ ...base, PROVE_CONCURRENCY: '1', SHUTDOWN_GRACE: '60s' });
try {
  const t0 = Date.now();
  const ps = [0, 1, 2].map((i) => prove(srv.url, Buffer.from(`queued ${i}`)));
  let open = 0;
  for (let i = 0; i < 100 * SLOW && open < 3; i++) {
    await sleep(50);
    open = (await get(`${srv.opsUrl}/drain`)).body.open;
  }
  check(open === 3, 'three proofs open (one running, two queued) before SIGTERM', open);
  srv.proc.kill('SIGTERM');
  const rs = await Promise.all(ps);
  check(rs.every((r) => r.status === 200), 'SIGTERM: every accepted proof, queued ones too, proven', rs.map((r) => r.status));
  const ex = await srv.exitPromise;
  check(ex.code === 0, 'exit 0 after the drain', ex);
  const dr = srv.logs.find((l) => l.event === 'shutdown_drained');
  check(dr && dr.open_at_signal === 3 && dr.left === 0, 'shutdown_drained: 3 open at the signal, 0 left', dr);
  check(!srv.logs.some((l) => l.event === 'shutdown_cancel'), 'nothing cancelled');
  console.log(`SIGTERM with 1 running + 2 queued: all proven, exit after ${Date.now() - t0} ms`);
} finally {
  await srv.stop();
}

// ---- D: a grace shorter than the work ----
mode(`sleep:${5 * SLOW}`);
srv = await startServer({ ...base, PROVE_CONCURRENCY: '1', SHUTDOWN_GRACE: '500ms' });
try {
  const ps = [0, 1].map((i) => prove(srv.url, Buffer.from(`cut ${i}`)));
  for (let i = 0; i < 100 * SLOW; i++) {
    await sleep(50);
    if ((await get(`${srv.opsUrl}/drain`)).body.open === 2) break;
  }
  const t0 = Date.now();
  srv.proc.kill('SIGTERM');
  const rs = await Promise.all(ps);
  const ex = await srv.exitPromise;
  const ms = Date.now() - t0;
  check(rs.every((r) => r.status === 503), 'past SHUTDOWN_GRACE: 503 "shutting down" for the rest', rs.map((r) => r.status));
  check(ex.code === 0 && ms < 4000 * SLOW, `exit 0 soon after the grace (${ms} ms)`, ex);
  check(srv.logs.some((l) => l.event === 'shutdown_cancel'), 'shutdown_cancel logged');
} finally {
  await srv.stop();
}

// ---- E: PROVE_TIMEOUT from arrival ----
mode(`sleep:${5 * SLOW}`);
srv = await startServer({ ...base, PROVE_TIMEOUT: `${1000 * SLOW}ms` });
try {
  const t0 = Date.now();
  const r = await prove(srv.url, Buffer.from('slow'));
  const ms = Date.now() - t0;
  check(r.status === 500 && /timeout/.test(r.body?.detail ?? ''), 'past PROVE_TIMEOUT: 500 with the reason', r);
  check(ms < 3000 * SLOW, `answered in ${ms} ms, not after the prover's ${5 * SLOW} s`);
} finally {
  await srv.stop();
}
cleanup(root);
process.exit(summary());
