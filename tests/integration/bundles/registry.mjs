// A local npm registry for the bundle tests: serves @aztec/bb.js version
// documents and tarballs from the cache scripts/cache-bb-inputs.sh filled
// (with the integrity the real registry published), so no test touches the
// network. It counts requests, and can serve broken releases on purpose:
//   extra: { 'V': { tgz: Buffer, integrity?: 'sha512-...' } }
import http from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, createReadStream, statSync } from 'node:fs';

export const CACHE = process.env.TEEREX_CACHE ||
  (process.getuid && process.getuid() === 0 ? '/var/cache/teerex' : `${process.env.HOME}/.cache/teerex`);

export const sri = (buf) => `sha512-${createHash('sha512').update(buf).digest('base64')}`;

export function cachedTarball(v) {
  const tgz = `${CACHE}/npm/aztec-bb.js-${v}.tgz`;
  return existsSync(tgz) && existsSync(`${tgz}.integrity`) ? tgz : null;
}

export async function startRegistry({ versions = [], extra = {}, delayMs = 0 } = {}) {
  const hits = {};
  const count = (k) => { hits[k] = (hits[k] || 0) + 1; };
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url);
    const doc = /^\/@aztec\/bb\.js\/([^/]+)$/.exec(url);
    const tar = /^\/@aztec\/bb\.js\/-\/bb\.js-(.+)\.tgz$/.exec(url);
    const port = server.address().port;
    const send = () => {
      if (doc) {
        const v = doc[1];
        count(`doc:${v}`);
        let integrity = null;
        if (extra[v]) integrity = extra[v].integrity || sri(extra[v].tgz);
        else if (versions.includes(v) && cachedTarball(v)) integrity = readFileSync(`${cachedTarball(v)}.integrity`, 'utf8').trim();
        if (!integrity) { res.writeHead(404); res.end(); return; }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ name: '@aztec/bb.js', version: v,
          dist: { integrity, tarball: `http://127.0.0.1:${port}/@aztec/bb.js/-/bb.js-${v}.tgz` } }));
        return;
      }
      if (tar) {
        const v = tar[1];
        count(`tgz:${v}`);
        if (extra[v]) { res.writeHead(200); res.end(extra[v].tgz); return; }
        const f = versions.includes(v) ? cachedTarball(v) : null;
        if (!f) { res.writeHead(404); res.end(); return; }
        res.writeHead(200, { 'content-length': statSync(f).size });
        createReadStream(f).pipe(res);
        return;
      }
      res.writeHead(404);
      res.end();
    };
    if (delayMs) setTimeout(send, delayMs); else send();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    hits,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}
