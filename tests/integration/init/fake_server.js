// Stand-in for teerexd while it is not built: GET /health -> 200 JSON, one
// JSON log line per request on stdout. On Linux, node writes to a pipe
// synchronously, so a blocked console would stall this server exactly as it
// would stall teerexd.
'use strict';
const http = require('http');
const port = Number(process.env.PORT || 4000);
const host = process.env.HOST || '127.0.0.1';
const srv = http.createServer((req, res) => {
  process.stdout.write(JSON.stringify({ event: 'request', path: req.url,
    client: req.socket.remoteAddress, pad: 'x'.repeat(200) }) + '\n');
  if (req.url === '/health') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"status":"ok"}');
  } else {
    res.writeHead(404);
    res.end();
  }
});
srv.listen(port, host, () => {
  process.stdout.write(JSON.stringify({ event: 'listening', port }) + '\n');
});
process.on('SIGTERM', () => srv.close(() => process.exit(0)));
