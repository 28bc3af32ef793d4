// Issue 14 items 7 and 8 on a real teerexd: refused options and their exit
// codes (as --help states them), /metrics that promtool accepts after traffic
// of every kind, nitro-emulated named as such in /health and in the logs
// (the SDK-facing /attestation mode stays "nitro"), and `teerex health --json`
// giving available_versions as an array.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { prove } from '../../interop/sdk/sdk-client.mjs';
import {
  check, summary, startServer, tempDir, installFake, cleanup, TEEREXD, BUILD, SLOW,
} from '../teerexd/lib.mjs';

if (!existsSync(TEEREXD)) { console.log('skip: teerexd not built'); process.exit(77); }
const TEEREX = `${BUILD}/src/teerex/teerex`;
const root = tempDir('truths');
const work = `${root}/work`, verDir = `${root}/versions`;
mkdirSync(work);
const def = installFake(`${root}/default`);
installFake(`${verDir}/1.2.3`);
const base = { BB_BINARY_PATH: def, BB_VERSIONS_DIR: verDir, PROVE_WORK_DIR: work, RATE_LIMIT_MAX: '0' };

// ---- exit codes and refused options (--help is the contract) ----
const help = spawnSync(TEEREXD, ['--help'], { encoding: 'utf8' });
check(help.status === 0 && /2 usage or configuration error/.test(help.stdout), '--help states exit 2 for configuration errors');
for (const [what, env, args] of [
  ['--BOGUS=1', {}, ['--BOGUS=1']],
  ['--PORTT=4000 (typo)', {}, ['--PORTT=4000']],
  ['TEE_MODE=bogus', { TEE_MODE: 'bogus' }, []],
  ['--TEE_MODE=Nitro', {}, ['--TEE_MODE=Nitro']],
  ['a bare word', {}, ['serve']],
]) {
  const r = spawnSync(TEEREXD, args, { encoding: 'utf8', env: { PATH: process.env.PATH, ...base, ...env }, timeout: 20000 * SLOW });
  check(r.status === 2, `${what}: exit 2`, { status: r.status, stderr: r.stderr.slice(-300) });
  check(/unknown argument|TEE_MODE must be/.test(r.stderr), `${what}: says why`, r.stderr.slice(-300));
}

// ---- nitro-emulated: /health and the logs say so; /attestation keeps "nitro" ----
const srv = await startServer({ ...base, TEE_MODE: 'nitro-emulated', NSM_EMU_DIR: `${root}/emu` });
try {
  const h = await (await fetch(`${srv.url}/health`)).json();
  check(h.tee_mode === 'nitro-emulated', '/health tee_mode nitro-emulated', h);
  const ready = srv.logs.find((l) => l.event === 'ready');
  check(ready && ready.tee_mode === 'nitro-emulated', 'ready log tee_mode nitro-emulated', ready);
  check(!srv.logs.some((l) => l.tee_mode === 'nitro'), 'no log line claims tee_mode nitro');
  const a = await (await fetch(`${srv.url}/attestation`)).json();
  check(a.mode === 'nitro', '/attestation mode stays "nitro" (the SDK contract)', a.mode);

  // ---- teerex health --json: available_versions is an array ----
  const hj = spawnSync(TEEREX, ['health', srv.url, '--json'], { encoding: 'utf8' });
  let o = null;
  try { o = JSON.parse(hj.stdout); } catch { /* checked below */ }
  check(hj.status === 0 && o && Array.isArray(o.available_versions) &&
    // BB_BINARY_PATH is listed as the version "default" (docs/PROTOCOL-EXT.md)
    JSON.stringify(o.available_versions) === '["1.2.3","default"]' && o.server_status === 'ok',
  'teerex health --json: available_versions ["1.2.3","default"]', hj.stdout);

  // ---- traffic of every kind, then promtool check metrics ----
  const post = (body, headers = {}) => fetch(`${srv.url}/prove`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
  await post('not json');
  await post('{"data":"AAAA"}');
  await fetch(`${srv.url}/nowhere`);
  const pr = await prove(srv.url, Buffer.from('input'), { version: '1.2.3' });
  check(pr.status === 200, 'a proof (histogram and counters have samples)', pr.status);
  await fetch(`${srv.url}/health`, { method: 'OPTIONS' });
  const m = await (await fetch(`${srv.url}/metrics`)).text();
  for (const name of ['teerexd_decrypt_failures_total', 'teerexd_prover_failures_total',
    'teerexd_rate_limited_total', 'teerexd_queue_full_total', 'teerexd_requests_total']) {
    check(new RegExp(`^# HELP ${name} \\S`, 'm').test(m), `HELP for ${name}`);
  }
  const pt = spawnSync('promtool', ['check', 'metrics'], { input: m, encoding: 'utf8' });
  check(!pt.error, 'promtool is installed (scripts/setup.sh: Debian package prometheus)', pt.error?.message);
  check(pt.status === 0 && `${pt.stdout}${pt.stderr}`.trim() === '', 'promtool check metrics: no problem', `${pt.stdout}${pt.stderr}`);
} finally {
  const ex = await srv.stop();
  check(ex && ex.code === 0, 'server exit 0', ex);
}
writeFileSync(`${root}/.done`, '');
cleanup(root);
process.exit(summary());
