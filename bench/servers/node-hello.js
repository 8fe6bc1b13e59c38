// Baseline: a bare node:http server answering a fixed JSON body.
const http = require('node:http');

const body = JSON.stringify({ hello: 'world' });
http
  .createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
