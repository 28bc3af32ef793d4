// Plaintext does not outlive a crash (issue 14, item 6): teerexd is killed
// with SIGKILL while a prover holds a user's decrypted input. The prover must
// die with it (parent-death signal, PID namespace), no file anywhere may hold
// the input once a restarted teerexd is up, and the restarted server proves.
// With the full sandbox the input never is in a host file at all (a tmpfs only
// the prover's mount namespace sees); without the mount part it is, until the
// restarted teerexd removes what the dead one left.
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { prove } from '../../interop/sdk/sdk-client.mjs';
import { check, summary, startServer, tempDir, cleanup, sleep } from '../teerexd/lib.mjs';
import { proverPids, needSandbox, installHostile } from './lib-sandbox.mjs';

needSandbox();
const root = tempDir('crash');
const versions = `${root}/versions`, work = `${root}/work`;
mkdirSync(work);
const hints = installHostile(root, { hang: 'sleep:120', ok: 'ok' });
const HANG = `${versions}/hang/bb`;

// Files that hold the marker, under the places a server could leave files.
function filesWith(marker) {
  const found = [];
  const walk = (dir, depth) => {
    let entries;
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory() && depth > 0) walk(p, depth - 1);
      else if (e.isFile()) {
        try {
          if (statSync(p).size < (64 << 20) && readFileSync(p).includes(marker)) found.push(p);
        } catch { /* gone meanwhile */ }
      }
    }
  };
  for (const d of [work, '/dev/shm', '/var/tmp', '/run']) walk(d, 4);
  for (const e of readdirSync('/tmp')) if (e.startsWith('teerexd-') && !work.startsWith(`/tmp/${e}/`)) walk(`/tmp/${e}`, 4);
  return found;
}

async function crashRun(label, extraEnv) {
  const env = { BB_BINARY_PATH: `${versions}/ok/bb`, BB_VERSIONS_DIR: versions, PROVE_WORK_DIR: work,
    RATE_LIMIT_MAX: '0', PROVER_SANDBOX_RO_PATHS: hints, ...extraEnv };
  const marker = Buffer.from(`PLAINTEXT-${randomBytes(16).toString('hex')}`);
  const s = await startServer(env);
  const pending = prove(s.url, Buffer.concat([marker, Buffer.from(' a user private input')]), { version: 'hang' })
    .catch(() => 'lost');
  let pids = [];
  for (let i = 0; i < 100 && pids.length === 0; i++) { await sleep(50); pids = proverPids(HANG); }
  check(pids.length === 1, `${label}: the prover runs`, pids);
  const during = filesWith(marker);
  s.proc.kill('SIGKILL');
  await s.exitPromise;
  await pending;
  let orphans = pids;
  for (let i = 0; i < 60 && orphans.length; i++) { await sleep(50); orphans = proverPids(HANG); }
  check(orphans.length === 0, `${label}: no prover outlives teerexd killed with SIGKILL`, orphans);
  const afterCrash = filesWith(marker);
  const s2 = await startServer(env);
  const afterRestart = filesWith(marker);
  check(afterRestart.length === 0, `${label}: no plaintext file once the restarted teerexd is up`, afterRestart);
  const r = await prove(s2.url, Buffer.from('next'), { version: 'ok' });
  check(r.status === 200, `${label}: the restarted server proves`, r.status);
  const ex = await s2.stop();
  check(ex && ex.code === 0, `${label}: exit 0`, ex);
  return { during, afterCrash, restartLogs: s2.logs };
}

// The full sandbox: the input is never in a host file.
const a = await crashRun('full sandbox', {});
check(a.during.length === 0 && a.afterCrash.length === 0, 'full sandbox: the input was in no host file, even mid-proof',
  [a.during, a.afterCrash]);

// No mount namespace: the input sits in a host directory until the restart.
const b = await crashRun('no mount part', { PROVER_SANDBOX_DISABLE: 'mount' });
check(b.during.length === 1 && b.afterCrash.length === 1 && b.afterCrash[0].startsWith(`${work}/teerexd-`),
  'no mount part: the crash left the input in the work directory (the test sees it)', b.afterCrash);
check(b.restartLogs.some((l) => l.event === 'stale_workdirs_removed' && l.count === 1),
  'no mount part: the restarted teerexd removed it', b.restartLogs.filter((l) => /stale/.test(l.event)));

cleanup(root);
process.exit(summary());
