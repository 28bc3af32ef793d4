// Shared helpers of the teerexd tests: start a server (under
// $TR_VALGRIND_CMD when TR_VALGRIND=1), raw sockets, checks that count.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  mkdtempSync, mkdirSync, copyFileSync, chmodSync, rmSync, existsSync, readFileSync, readdirSync, lstatSync,
  openSync, ftruncateSync, closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';

export const BUILD = process.env.TR_BUILD_DIR;
export const SRC = process.env.TR_SOURCE_DIR;
export const TEEREXD = process.env.TEEREXD || `${BUILD}/src/teerexd/teerexd`;
export const VALGRIND = process.env.TR_VALGRIND === '1';
export const SLOW = VALGRIND ? 8 : 1; // time scale under valgrind
export const FAKE_BB = `${SRC}/tests/integration/teerexd/fake-bb/bb`;

let passed = 0, failed = 0;
export function check(cond, what, extra) {
  if (cond) passed++;
  else {
    failed++;
    console.error(`FAIL ${what}${extra !== undefined ? ': ' + JSON.stringify(extra).slice(0, 400) : ''}`);
  }
}
export function summary() {
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// World-traversable (0755): the prover runs sandboxed as uid 65534 and must
// reach its binary (and, without the mount part, its work directory) here.
export function tempDir(tag) {
  const d = mkdtempSync(path.join(tmpdir(), `teerexd-${tag}-`));
  chmodSync(d, 0o755);
  return d;
}

// A fake bb installed as BB_VERSIONS_DIR/<version>/bb (or as a default binary dir).
export function installFake(dir) {
  mkdirSync(dir, { recursive: true });
  copyFileSync(FAKE_BB, `${dir}/bb`);
  chmodSync(`${dir}/bb`, 0o755);
  return `${dir}/bb`;
}

// The bundle digest of docs/PROTOCOL-EXT.md, computed independently of
// lib/bundle: SHA-256 of "teerex-bundle-v1\n" + "<755|644> <sha256> <path>\n"
// per file sorted by path. path: a bundle directory or a single executable.
export function bundleDigest(path) {
  const files = [];
  if (lstatSync(path).isFile()) {
    files.push(['bb', path]);
  } else {
    for (const n of readdirSync(path)) {
      if (n === 'lib') for (const l of readdirSync(`${path}/lib`)) files.push([`lib/${l}`, `${path}/lib/${l}`]);
      else files.push([n, `${path}/${n}`]);
    }
  }
  files.sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
  let m = 'teerex-bundle-v1\n';
  for (const [rel, full] of files) {
    const mode = lstatSync(full).mode & 0o100 ? '755' : '644';
    m += `${mode} ${createHash('sha256').update(readFileSync(full)).digest('hex')} ${rel}\n`;
  }
  return createHash('sha256').update(m).digest('hex');
}

// A CRS the start-up checks accept, for fake provers that need none: sparse
// files of the sizes chonk asks for (2^19 BN254, 2^16 Grumpkin points). Never
// a CRS for a real bb (its points are zeros). Made once, removed at exit.
export function fakeCrsAt(dir) {
  mkdirSync(dir, { recursive: true });
  const sized = (name, bytes) => { const fd = openSync(`${dir}/${name}`, 'w'); ftruncateSync(fd, bytes); closeSync(fd); };
  sized('bn254_g1.dat', 64 * 2 ** 19);
  sized('bn254_g2.dat', 128);
  sized('grumpkin_g1_v2.flat.dat', 64 * 2 ** 16);
  return dir;
}
let crsDir = null;
export function fakeCrs() {
  if (crsDir) return crsDir;
  crsDir = fakeCrsAt(mkdtempSync(path.join(tmpdir(), 'teerexd-fake-crs-')));
  process.on('exit', () => rmSync(crsDir, { recursive: true, force: true }));
  return crsDir;
}

// wrap: a command prefix (e.g. setpriv ... --) that runs teerexd.
export async function startServer(env, { expectExit = false, wrap = [] } = {}) {
  const fullEnv = {
    PATH: process.env.PATH,
    LISTEN: 'tcp:127.0.0.1:0',
    LOG_LEVEL: 'info',
    CRS_PATH: fakeCrs(),
    ...env,
  };
  let cmd = TEEREXD, args = [];
  if (VALGRIND && process.env.TR_VALGRIND_CMD) {
    const parts = process.env.TR_VALGRIND_CMD.split(' ').filter(Boolean);
    cmd = parts[0];
    args = [...parts.slice(1), TEEREXD];
  }
  if (wrap.length) {
    args = [...wrap.slice(1), cmd, ...args];
    cmd = wrap[0];
  }
  const proc = spawn(cmd, args, { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const srv = { proc, logs: [], stderr: '', ports: { public: [], admin: [], ops: [] }, exited: null };
  let buf = '';
  proc.stderr.on('data', (d) => {
    srv.stderr += d.toString();
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const o = JSON.parse(line);
        srv.logs.push(o);
        if (o.event === 'listening') (o.admin ? srv.ports.admin : o.ops ? srv.ports.ops : srv.ports.public).push(o.port);
      } catch { /* valgrind or plain text */ }
    }
  });
  proc.stdout.on('data', () => {});
  srv.exitPromise = new Promise((res) => proc.on('exit', (code, sig) => { srv.exited = { code, sig }; res(srv.exited); }));
  if (expectExit) {
    await Promise.race([srv.exitPromise, sleep(20000 * SLOW)]);
    return srv;
  }
  const t0 = Date.now();
  while (!srv.logs.some((l) => l.event === 'ready')) {
    if (srv.exited) throw new Error(`teerexd exited early: ${srv.stderr}`);
    if (Date.now() - t0 > 30000 * SLOW) throw new Error(`teerexd not ready: ${srv.stderr}`);
    await sleep(20);
  }
  srv.url = `http://127.0.0.1:${srv.ports.public[0]}`;
  if (srv.ports.admin.length) srv.adminUrl = `http://127.0.0.1:${srv.ports.admin[0]}`;
  if (srv.ports.ops.length) srv.opsUrl = `http://127.0.0.1:${srv.ports.ops[0]}`;
  srv.stop = async (sig = 'SIGTERM') => {
    if (!srv.exited) proc.kill(sig);
    const r = await Promise.race([srv.exitPromise, sleep(30000 * SLOW).then(() => null)]);
    if (!r) { proc.kill('SIGKILL'); await srv.exitPromise; }
    return srv.exited;
  };
  return srv;
}

// Sends raw bytes, returns everything the server answered until it closed
// (or timeoutMs passed): {data, closed}.
export function rawExchange(port, chunks, { timeoutMs = 5000, gapMs = 0 } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0), done = false;
    const finish = (closed) => { if (!done) { done = true; s.destroy(); resolve({ data: data.toString('latin1'), closed }); } };
    s.on('data', (d) => { data = Buffer.concat([data, d]); });
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    setTimeout(() => finish(false), timeoutMs);
    s.on('connect', async () => {
      for (const c of chunks) {
        if (done) return;
        s.write(c);
        if (gapMs) await sleep(gapMs);
      }
    });
  });
}

export function statusOf(raw) {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return m ? Number(m[1]) : 0;
}

export function cleanup(dir) {
  if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}

// The ultra_honk input container (docs/PROTOCOL-EXT.md).
export function container(entries) {
  const parts = [Buffer.from('TRXC'), Buffer.from([1, entries.length])];
  for (const [name, data] of entries) {
    const n = Buffer.from(name);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    parts.push(Buffer.from([n.length]), n, len, data);
  }
  return Buffer.concat(parts);
}
