// Baseline: a bare node:http server sending the same 1 MiB JSON body on every request, from one
// Buffer built at start: the ceiling for "GET 1 MiB" on this machine.
const http = require('node:http');

const body = Buffer.from(JSON.stringify({ data: { key: 'bench/big', value: { blob: 'b'.repeat(1024 * 1024 - 12) } } }));
http
  .createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
