// Helpers of the attack suite (issue 16): peak-memory probes, the check
// every attack ends with (server alive, /health 200, a normal SDK-like proof
// still succeeds), raw sockets that hold a connection, hostile OpenPGP inputs.
// Servers come from ../teerexd/lib.mjs; the SDK-like client is
// tests/interop/sdk/sdk-client.mjs (openpgp.js 6, aeadProtect, fetch).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { prove } from '../../interop/sdk/sdk-client.mjs';
import { check, sleep, SRC } from '../teerexd/lib.mjs';

const MiB = 1 << 20;
export { MiB };

// openpgp.js from tests/interop/node_modules (this directory has none).
export async function openpgpLib() {
  const req = createRequire(`${SRC}/tests/interop/sdk/sdk-client.mjs`);
  return import(pathToFileURL(req.resolve('openpgp')).href);
}

// ASan keeps freed blocks in a quarantine (256 MB by default) that would
// count as resident memory; a small one keeps RSS readings about the server.
export const MEASURED_ENV = {
  ASAN_OPTIONS: 'detect_leaks=1:halt_on_error=1:quarantine_size_mb=16',
};

function kb(pid, field) {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

// Runs fn and returns how far the server's resident memory rose above what it
// held before: the peak (VmHWM, reset through clear_refs) minus VmRSS at the
// start. Not timing-sensitive: the kernel records the peak.
export async function peakGrowth(pid, fn) {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const base = kb(pid, 'VmRSS');
  const result = await fn();
  const peak = kb(pid, 'VmHWM');
  return { growth: peak - base, base, peak, result };
}

export const mib = (b) => `${(b / MiB).toFixed(1)} MiB`;

// What every attack ends with.
export async function stillServes(srv, label) {
  check(srv.exited === null, `${label}: server still running`, srv.exited);
  const h = await fetch(`${srv.url}/health`).catch((e) => ({ status: `error ${e.message}` }));
  check(h.status === 200, `${label}: /health 200 afterwards`, h.status);
  const p = await prove(srv.url, Buffer.from(`a normal input after ${label}`)).catch((e) => ({
    status: `error ${e.message}`,
  }));
  check(p.status === 200 && typeof p.body.proof === 'string', `${label}: a normal proof succeeds afterwards`,
    p.status === 200 ? 'ok' : p.body || p.status);
}

// A socket that sends `head`, then `piece` every `everyMs` until closed by
// the server or stopped; resolves {closedAfterMs, data} when it ends.
export function dribble(port, head, piece, everyMs, { maxMs = 10000, host = '127.0.0.1' } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(port, host);
    let data = '', done = false, timer;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      s.destroy();
      resolve({ closed, closedAfterMs: Date.now() - t0, data });
    };
    s.on('data', (d) => { data += d.toString('latin1'); });
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    s.on('connect', () => {
      s.write(head);
      timer = setInterval(() => { if (!done) s.write(piece); }, everyMs);
    });
    setTimeout(() => finish(false), maxMs);
  });
}

// A request body that is valid JSON with a data member but anything but the
// SDK's exact shape: `pad` first (nBytes of `[{},{},...]`), then data.
export function paddedBody(nBytes, dataB64) {
  const unit = '{},';
  const count = Math.max(1, Math.floor((nBytes - 16) / unit.length));
  const arr = `[${unit.repeat(count - 1)}{}]`;
  return dataB64 === undefined ? arr : `{"pad":${arr},"data":"${dataB64}"}`;
}

// An OpenPGP message (openpgp.js, aeadProtect) whose literal data sits under
// `levels` nested compressed packets, each first inflating padBytes of zeros
// (a Padding packet): tens of KB that inflate to levels x padBytes.
export async function nestedBomb(armoredKey, levels, padBytes) {
  const openpgp = await openpgpLib();
  const { PacketList, CompressedDataPacket, LiteralDataPacket, PaddingPacket, Message, enums } = openpgp;
  const list = (a) => { const l = new PacketList(); l.push(...a); return l; };
  const pad = () => { const p = new PaddingPacket(); p.padding = new Uint8Array(padBytes); return p; };
  let inner = new LiteralDataPacket();
  inner.setBytes(new TextEncoder().encode('bomb'), enums.literal.binary);
  for (let i = 0; i < levels; i++) {
    const c = new CompressedDataPacket();
    c.algorithm = enums.compression.zlib;
    c.packets = list([pad(), inner]);
    inner = c;
  }
  const enc = await openpgp.encrypt({
    message: new Message(list([inner])),
    encryptionKeys: await openpgp.readKey({ armoredKey }),
    format: 'binary',
    config: { aeadProtect: true },
  });
  return Buffer.from(enc);
}

export const statusLine = (raw) => {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
  return m ? Number(m[1]) : 0;
};

export { sleep };
