// The prover sandbox through teerexd: a hostile prover (hostile_bb.c) runs as
// bb and tries every escape while another request's prover is running; its
// proof carries its report. Every attempt must be denied, teerexd must keep
// serving, and a following normal proof must work. Also: a prover killed by
// the seccomp filter is logged as such, a prover that leaves a process behind
// leaves nothing, a client that hangs up kills its sandboxed prover, the
// layers without seccomp still hold, and a non-root teerexd runs degraded in
// standard mode but refuses TEE_MODE=nitro.
import { writeFileSync, mkdirSync, chmodSync, existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { prove, encryptFor, fetchAttestation } from '../../interop/sdk/sdk-client.mjs';
import { check, summary, startServer, tempDir, cleanup, sleep, fakeCrsAt, TEEREXD, SRC, BUILD } from '../teerexd/lib.mjs';
import { decodeReport, proverPids, MODULUS, needSandbox, installHostile } from './lib-sandbox.mjs';

needSandbox();
const root = tempDir('sandbox');
const versions = `${root}/versions`, work = `${root}/work`, crs = `${root}/crs`;
mkdirSync(work);
mkdirSync(crs);
fakeCrsAt(crs); // what teerexd's start-up check wants; the hostile prover only tries to write it
const MODES = { attack: 'attack', sleeper: 'sleep:4', seccomp: 'seccomp', orphan: 'orphan', ok: 'ok', hang: 'sleep:60' };
const hintsDir = installHostile(root, MODES);
const marker = `MARKER-${randomBytes(12).toString('hex')}`;
const abstractName = `teerex-hostile-${process.pid}`;
let abstractHits = 0;
const abstract = net.createServer((s) => { abstractHits++; s.destroy(); }).listen(`\0${abstractName}`);

const tcpPorts = (srv) => [...srv.ports.public, ...srv.ports.admin].filter((p) => p > 0);
const t0 = Date.now();
const phase = (what) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${what}`);
const hints = (srv, extra = '') => {
  const lines = [`teerexd_pid ${srv.proc.pid}`, `unix_socket ${root}/pub.sock`,
    `abstract_socket ${abstractName}`, `other_dir ${work}`, `marker ${marker}`,
    'memory_target_mb 2048', 'fork_target 1000',
    ...tcpPorts(srv).map((p) => `tcp_port ${p}`)];
  writeFileSync(`${hintsDir}/hostile.conf`, lines.join('\n') + '\n' + extra);
};
const env = {
  BB_BINARY_PATH: `${versions}/ok/bb`, BB_VERSIONS_DIR: versions, PROVE_WORK_DIR: work,
  LISTEN: `tcp:127.0.0.1:0,unix:${root}/pub.sock`, ADMIN_LISTEN: 'tcp:127.0.0.1:0',
  PROVE_CONCURRENCY: '2', RATE_LIMIT_MAX: '0', PROVER_MEMORY_LIMIT: '1g', PROVER_MAX_FILE_SIZE: '16m',
  PROVER_MAX_PROCS: '256', CRS_PATH: crs, PROVER_SANDBOX_RO_PATHS: hintsDir,
};
const chonkShaped = (r) => {
  if (r.status !== 200) return false;
  const p = Buffer.from(r.body.proof, 'base64');
  const n = p.readUInt32BE(0);
  if (n < 1935 || p.length !== 4 + 32 * n) return false;
  for (let i = 0; i < n; i++) if (BigInt('0x' + p.subarray(4 + 32 * i, 36 + 32 * i).toString('hex')) >= MODULUS) return false;
  return true;
};
const alive = (srv) => !srv.exited;
const INFO = new Set(['identity', 'environment', 'cwd', 'input', 'orphan']);

// ---- 1. the full sandbox ----
phase('full sandbox');
const s = await startServer(env);
try {
  hints(s);
  const versionsBefore = await fetch(`${s.adminUrl}/admin/versions`).then((x) => x.json());
  const other = prove(s.url, Buffer.from(`${marker} another user's private input`), { version: 'sleeper' });
  await sleep(500);
  const r = await prove(s.url, Buffer.from('hostile input'), { version: 'attack' });
  check(r.status === 200 && chonkShaped(r), 'the hostile prover still returns a chonk-shaped proof', r.status);
  const report = r.status === 200 ? decodeReport(r.body.proof) : {};
  console.log(Object.entries(report).map(([k, v]) => `  ${k} ${v}`).join('\n'));
  const attempts = Object.keys(report).filter((k) => !INFO.has(k));
  check(attempts.length >= 30, 'the hostile prover made its attempts', attempts.length);
  for (const k of attempts) check(report[k].startsWith('DENIED'), `denied: ${k}`, report[k]);
  for (const k of ['proc_mem', 'proc_environ', 'ptrace_attach', 'kill_teerexd', 'unix_socket',
    'abstract_socket', 'write_own_dir', 'write_etc', 'write_crs', 'read_other_request', 'fork_bomb', 'memory_hog']) {
    check(k in report, `attempted: ${k}`);
  }
  for (const p of tcpPorts(s)) check(`tcp_${p}` in report, `attempted TCP port ${p}`);
  check(/SIGSYS/.test(report.ptrace_attach || ''), 'ptrace killed by the seccomp filter', report.ptrace_attach);
  check(/Uid: 65534 65534 65534 65534;/.test(report.identity) && /CapEff: 0000000000000000;/.test(report.identity) &&
    /CapBnd: 0000000000000000;/.test(report.identity) && /NoNewPrivs: 1;/.test(report.identity) &&
    /Seccomp: 2;/.test(report.identity) && /^DENIED pid 1 /.test(report.identity) &&
    /oom_score_adj 1000;/.test(report.identity),
  'uid 65534, no capabilities, no_new_privs, seccomp, PID 1 of its namespace, OOM victim first', report.identity);
  check(/^DENIED PATH;HOME;TMPDIR;CRS_PATH; /.test(report.environment), 'environment: PATH, HOME, TMPDIR, CRS_PATH only',
    report.environment);
  check(/^DENIED \/job /.test(report.cwd), 'works in /job', report.cwd);
  check(/held (\d+) MiB/.test(report.memory_hog) && Number(report.memory_hog.match(/held (\d+)/)[1]) < 1024,
    'memory capped by PROVER_MEMORY_LIMIT', report.memory_hog);
  check(abstractHits === 0, 'no connection reached the abstract unix socket');
  const o = await other;
  check(o.status === 200, 'the concurrent request finished', o.status);
  check(alive(s) && (await fetch(`${s.url}/health`)).status === 200, 'teerexd alive and serving');
  const versionsAfter = await fetch(`${s.adminUrl}/admin/versions`).then((x) => x.json());
  check(JSON.stringify(versionsAfter) === JSON.stringify(versionsBefore), 'admin API untouched');
  check(!existsSync(`${versions}/attack/pwned`) && readdirSync(work).length === 0, 'nothing written on the host');

  phase('attack done');
  // a prover killed by the filter: a clear log line and error
  const k = await prove(s.url, Buffer.from('x'), { version: 'seccomp' });
  check(k.status === 500 && /system call filter/.test(k.body.detail), 'seccomp kill -> 500 naming the filter', k.body);
  await sleep(100);
  check(s.logs.some((l) => l.event === 'prover_killed_by_filter'), 'prover_killed_by_filter logged');
  check(s.logs.some((l) => l.event === 'prove_failed' && l.error === 'SANDBOX_KILLED'), 'prove_failed SANDBOX_KILLED');

  // a process left behind dies with the prover's PID namespace
  const orphan = await prove(s.url, Buffer.from('x'), { version: 'orphan' });
  check(orphan.status === 200, 'orphan mode proves', orphan.status);
  await sleep(300);
  check(proverPids(`${versions}/orphan/bb`).length === 0, 'no process of that prover left');

  // a client that hangs up: its sandboxed prover dies
  const att = await fetchAttestation(s.url);
  const enc = await encryptFor(att.publicKey, Buffer.from('hang'));
  const ctl = new AbortController();
  const pending = fetch(`${s.url}/prove`, { method: 'POST', signal: ctl.signal,
    headers: { 'Content-Type': 'application/json', 'x-aztec-version': 'hang' },
    body: JSON.stringify({ data: enc.toString('base64') }) }).catch(() => 'aborted');
  let pids = [];
  for (let i = 0; i < 50 && pids.length === 0; i++) { await sleep(100); pids = proverPids(`${versions}/hang/bb`); }
  check(pids.length === 1, 'the hanging prover runs', pids);
  ctl.abort();
  await pending;
  let gone = false;
  for (let i = 0; i < 40 && !gone; i++) { await sleep(100); gone = proverPids(`${versions}/hang/bb`).length === 0; }
  check(gone, 'client gone -> its prover killed');

  const plain = Buffer.from('a normal input \x00\x01\xff');
  const n = await prove(s.url, plain);
  check(n.status === 200 && chonkShaped(n), 'a following normal proof works', n.status);
  const got = n.status === 200 ? decodeReport(n.body.proof).input : '';
  check(got.startsWith(`DENIED ${plain.length} bytes ${plain.toString('hex')} `), 'bb got exactly the decrypted bytes', got);
} finally {
  const ex = await s.stop();
  check(ex && ex.code === 0, 'teerexd exit 0', ex);
}

// ---- 2. without seccomp (and no_new_privs): the other layers still hold ----
phase('without seccomp');
const s2 = await startServer({ ...env, PROVER_SANDBOX_DISABLE: 'seccomp,nnp' });
try {
  hints(s2);
  check(s2.logs.some((l) => l.event === 'sandbox_parts_disabled' && l.parts === 'nnp,seccomp'), 'disabled parts logged');
  const r = await prove(s2.url, Buffer.from('hostile input'), { version: 'attack' });
  const report = r.status === 200 ? decodeReport(r.body.proof) : {};
  for (const k of ['proc_mem', 'proc_environ', 'ptrace_attach', 'process_vm_readv', 'kill_teerexd', 'unix_socket',
    'abstract_socket', 'write_own_dir', 'write_etc', 'write_root', 'setuid0', 'mount', 'bpf', 'read_other_request',
    'fork_bomb', 'memory_hog', 'file_size', ...tcpPorts(s2).map((p) => `tcp_${p}`)]) {
    check((report[k] || '').startsWith('DENIED'), `without seccomp, still denied: ${k}`, report[k]);
  }
  check(/Network is unreachable|Connection refused/.test(report[`tcp_${s2.ports.admin[0]}`] || ''),
    'the admin port is unreachable from the empty network namespace', report[`tcp_${s2.ports.admin[0]}`]);
  check(alive(s2), 'teerexd alive');
} finally {
  await s2.stop();
}

// ---- 3. chrooted, as under the Nitro init (its root is no mount point, so no
// pivot_root): the tmpfs is moved onto the root instead; all parts still on.
phase('chrooted');
const R = `${root}/chroot`;
mkdirSync(R);
// The checkout and the build may live anywhere (CI clones under its own root):
// bind the top directory of each at the same path inside the chroot.
const tops = [...new Set([TEEREXD, SRC, BUILD, process.cwd()].filter(Boolean)
  .map((p) => `/${p.split('/')[1]}`))].filter((t) => !['/usr', '/tmp', '/dev', '/proc', '/'].includes(t));
const chrootScript = [
  'set -e', `cd ${R}`, 'mkdir usr proc dev tmp',
  'ln -s usr/lib64 lib64 && ln -s usr/lib lib && ln -s usr/bin bin',
  'mount --rbind /usr usr && mount -t proc proc proc && mount --rbind /dev dev',
  'mount --bind /tmp tmp', ...tops.map((t) => `mkdir -p .${t} && mount --rbind ${t} .${t}`),
  `exec chroot ${R} "$@"`].join('\n');
const c = await startServer(env, { wrap: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', chrootScript, 'sh'] });
try {
  hints(c);
  check(c.logs.some((l) => l.event === 'sandbox' && l.unavailable === '' &&
    l.active === 'user,nnp,seccomp,rlimits,pid,net,mount,ipc,uts'), 'chrooted: every part available',
  c.logs.find((l) => l.event === 'sandbox'));
  const r = await prove(c.url, Buffer.from('hostile input'), { version: 'attack' });
  const report = r.status === 200 ? decodeReport(r.body.proof) : {};
  const attempts = Object.keys(report).filter((k) => !INFO.has(k));
  check(attempts.length >= 30 && attempts.every((k) => report[k].startsWith('DENIED')), 'chrooted: every attempt denied',
    attempts.filter((k) => !report[k].startsWith('DENIED')).map((k) => `${k} ${report[k]}`));
  check(/^DENIED \/job /.test(report.cwd || ''), 'chrooted: works in /job', report.cwd);
  check((await prove(c.url, Buffer.from('normal'))).status === 200, 'chrooted: a normal proof');
} finally {
  await c.stop();
}

// ---- 4. not root: standard mode runs degraded (and says so), nitro refuses ----
phase('not root');
const setpriv = spawnSync('setpriv', ['--version']);
if (setpriv.status === 0) {
  const uw = `${root}/work-nobody`;
  mkdirSync(uw);
  chmodSync(uw, 0o777);
  const asNobody = { wrap: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] };
  const d = await startServer({ ...env, PROVE_WORK_DIR: uw, ADMIN_LISTEN: '', LISTEN: 'tcp:127.0.0.1:0' }, asNobody);
  try {
    const missing = d.logs.filter((l) => l.event === 'sandbox_part_unavailable').map((l) => l.part).sort();
    check(JSON.stringify(missing) === JSON.stringify(['ipc', 'mount', 'net', 'pid', 'user', 'uts']),
      'non-root: the namespaces and the uid change are unavailable, and logged', missing);
    check(d.logs.some((l) => l.event === 'sandbox' && l.active === 'nnp,seccomp,rlimits'), 'nnp, seccomp, rlimits still on');
    const r = await prove(d.url, Buffer.from('x'));
    check(r.status === 200, 'standard mode still proves', r.status);
    // PR_SET_DUMPABLE 0: another process of teerexd's own uid cannot read it
    for (const f of ['environ', 'mem']) {
      const peek = spawnSync('head', ['-c', '1', `/proc/${d.proc.pid}/${f}`], { uid: 65534, gid: 65534, encoding: 'utf8' });
      check(peek.status !== 0 && /Permission denied/.test(peek.stderr), `same uid cannot read teerexd's ${f}`, peek.stderr);
    }
  } finally {
    await d.stop();
  }
  const nz = await startServer({ ...env, TEE_MODE: 'nitro', PROVE_WORK_DIR: uw, ADMIN_LISTEN: '',
    LISTEN: 'tcp:127.0.0.1:0' }, { ...asNobody, expectExit: true });
  check(nz.exited && nz.exited.code === 3 && nz.logs.some((l) => l.event === 'sandbox_incomplete'),
    'TEE_MODE=nitro without the full sandbox: refuses to start (exit 3)', nz.exited);
  const nz2 = await startServer({ ...env, TEE_MODE: 'nitro', PROVE_WORK_DIR: uw, ADMIN_LISTEN: '',
    LISTEN: 'tcp:127.0.0.1:0', PROVER_SANDBOX_DISABLE: 'user,pid,net,mount,ipc,uts' }, { ...asNobody, expectExit: true });
  check(!nz2.logs.some((l) => l.event === 'sandbox_incomplete') &&
    nz2.logs.some((l) => l.event === 'sandbox_parts_disabled'), 'an explicit PROVER_SANDBOX_DISABLE lets nitro past the sandbox check');
} else {
  console.log('setpriv missing: non-root checks skipped');
}

phase('done');
abstract.close();
cleanup(root);
process.exit(summary());
