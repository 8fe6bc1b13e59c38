// Export and import against their alternatives, on one KV target, with a Node client (node:http,
// keep-alive agent): N keys of ~250 B seeded in a fresh account, then
//   (a) GET /kv/export, streamed and counted (lines, bytes), wall time, while the server's RSS is
//       sampled from /proc/<pid>/status every 50 ms;
//   (b) the alternative: list page by page (limit 1000) + one GET per key, `concurrency` in flight;
//   (d) POST /kv/import?mode=overwrite of (a)'s NDJSON into a second fresh account;
//   (e) the alternative: one PUT per key into a third fresh account, `concurrency` in flight.
// Accounts come from the admin API (the target needs KV_ADMIN_TOKEN).

'use strict';

const fs = require('node:fs');
const http = require('node:http');

const SEED_OPS = 100; // set ops per seeding commit (the commit maximum)
const SEED_PARALLEL = 4;
const LIST_PAGE = 1000;
const RSS_EVERY_MS = 50;

/** ~250 B, distinct per key. */
const seedValue = (i) => JSON.stringify({ user: i, name: 'x'.repeat(200), roles: ['admin', 'ops'], active: true });

/** One request over `agent`; resolves { status, body (Buffer) } or, with onData, { status, bytes }. */
function request(agent, url, { method = 'GET', path, headers = {}, body, onData }) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method, agent, headers: body === undefined ? headers : { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      let bytes = 0;
      res.on('data', (chunk) => {
        bytes += chunk.length;
        if (onData) onData(chunk);
        else chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode, bytes, body: onData ? undefined : Buffer.concat(chunks), complete: res.complete }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs `task(item)` over items from `next()` (null: none left) with `concurrency` in flight. */
async function pool(concurrency, next, task) {
  const worker = async () => {
    for (let item = await next(); item !== null; item = await next()) await task(item);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** The VmRSS of `pid` in bytes. */
const rss = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;

/**
 * The comparison on one target ({ name, url, child }); returns the figures. `cleanup(accountId)`
 * (optional) is called for each account made, at the end, to free the store.
 */
async function exportImportComparison(target, { adminToken, keys, concurrency, log = () => {}, cleanup }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const accounts = [];
  const newAccount = async (name) => {
    const res = await request(agent, target.url, {
      method: 'POST',
      path: '/admin/accounts',
      headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, limits: { maxKeys: Math.max(1_000_000, keys + 1000) } }),
    });
    if (res.status !== 201) throw new Error(`${target.name}: POST /admin/accounts: HTTP ${res.status} ${res.body.toString().slice(0, 300)}`);
    const { account, apiKey } = JSON.parse(res.body).data;
    accounts.push(account.id);
    return { id: account.id, headers: { Authorization: `Bearer ${apiKey.key}` } };
  };
  const json = (account) => ({ ...account.headers, 'Content-Type': 'application/json' });
  const usage = async (account) => {
    const res = await request(agent, target.url, { path: '/kv/usage', headers: account.headers });
    return res.status === 200 ? JSON.parse(res.body).data.keys : `HTTP ${res.status}`;
  };
  const anomalies = [];
  const note = (what) => {
    if (anomalies.length < 20) anomalies.push(what);
  };

  try {
    // Seed: commits of 100 set ops, a few in parallel.
    const source = await newAccount('bench-export');
    let start = process.hrtime.bigint();
    let nextCommit = 0;
    await pool(
      SEED_PARALLEL,
      async () => (nextCommit < keys ? (nextCommit += SEED_OPS) - SEED_OPS : null),
      async (from) => {
        const ops = [];
        for (let i = from; i < Math.min(from + SEED_OPS, keys); i++) ops.push(`{"op":"set","key":"item/${String(i).padStart(8, '0')}","value":${seedValue(i)}}`);
        const res = await request(agent, target.url, { method: 'POST', path: '/kv/items:commit', headers: json(source), body: `{"ops":[${ops.join(',')}]}` });
        if (res.status !== 200) throw new Error(`${target.name}: seeding commit: HTTP ${res.status} ${res.body.toString().slice(0, 300)}`);
      },
    );
    const seedSeconds = seconds(start);
    const seeded = await usage(source);
    log(`${target.name}: seeded ${seeded} keys in ${seedSeconds.toFixed(1)} s`);

    // (a) export, streamed; RSS sampled meanwhile.
    const pid = target.child.pid;
    const rssBefore = rss(pid);
    let rssMax = rssBefore;
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, rss(pid));
    }, RSS_EVERY_MS);
    const chunks = [];
    let lines = 0;
    start = process.hrtime.bigint();
    const exported = await request(agent, target.url, {
      path: '/kv/export',
      headers: source.headers,
      onData: (chunk) => {
        chunks.push(chunk);
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      },
    });
    const exportSeconds = seconds(start);
    clearInterval(sampler);
    rssMax = Math.max(rssMax, rss(pid));
    const rssAfter = rss(pid);
    if (exported.status !== 200 || !exported.complete) note(`export: HTTP ${exported.status}${exported.complete ? '' : ', cut off'}`);
    if (lines !== keys) note(`export: ${lines} lines for ${keys} keys`);
    const ndjson = Buffer.concat(chunks);
    chunks.length = 0;
    log(`${target.name}: export ${lines} lines, ${exported.bytes} B in ${exportSeconds.toFixed(2)} s; RSS +${((rssMax - rssBefore) / 2 ** 20).toFixed(1)} MiB`);

    // (b) list page by page + one GET per key, `concurrency` GETs in flight while the next page is read.
    const queue = [];
    let head = 0;
    let listDone = false;
    let pages = 0;
    let waiting = [];
    const wake = () => {
      const woken = waiting;
      waiting = [];
      for (const resolve of woken) resolve();
    };
    let got = 0;
    let getBytes = 0;
    start = process.hrtime.bigint();
    const lister = (async () => {
      let cursor = null;
      do {
        const res = await request(agent, target.url, { path: `/kv/items?limit=${LIST_PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, headers: source.headers });
        if (res.status !== 200) {
          note(`list: HTTP ${res.status} ${res.body.toString().slice(0, 200)}`);
          break;
        }
        const page = JSON.parse(res.body).data;
        pages++;
        for (const item of page.items) queue.push(item.key);
        cursor = page.nextCursor;
        wake();
      } while (cursor);
    })().finally(() => {
      listDone = true;
      wake();
    });
    await pool(
      concurrency,
      async () => {
        while (head === queue.length && !listDone) await new Promise((resolve) => waiting.push(resolve));
        return head < queue.length ? queue[head++] : null;
      },
      async (key) => {
        const res = await request(agent, target.url, { path: `/kv/items/${encodeURIComponent(key)}`, headers: source.headers });
        if (res.status === 200) got++;
        else note(`GET ${key}: HTTP ${res.status} ${res.body.toString().slice(0, 200)}`);
        getBytes += res.bytes;
      },
    );
    await lister;
    const listGetSeconds = seconds(start);
    if (got !== keys) note(`list + GET: ${got} items for ${keys} keys`);
    log(`${target.name}: list (${pages} pages) + ${got} GETs in ${listGetSeconds.toFixed(2)} s`);

    // (d) import of the export into a fresh account.
    const imported = await newAccount('bench-import');
    start = process.hrtime.bigint();
    const importRes = await request(agent, target.url, { method: 'POST', path: '/kv/import?mode=overwrite', headers: { ...imported.headers, 'Content-Type': 'application/x-ndjson' }, body: ndjson });
    const importSeconds = seconds(start);
    let importResult = null;
    if (importRes.status === 200) importResult = JSON.parse(importRes.body).data;
    else note(`import: HTTP ${importRes.status} ${importRes.body.toString().slice(0, 300)}`);
    if (importResult && importResult.created + importResult.replaced !== keys) note(`import: ${JSON.stringify(importResult).slice(0, 300)}`);
    const importedKeys = await usage(imported);
    log(`${target.name}: import of ${ndjson.length} B in ${importSeconds.toFixed(2)} s: ${JSON.stringify(importResult && { ...importResult, failed: importResult.failed.length })}`);

    // (e) one PUT per key into a third fresh account; bodies built before the clock starts.
    const put = await newAccount('bench-put');
    const puts = ndjson
      .toString('utf8')
      .split('\n')
      .filter((line) => line.length)
      .map((line) => {
        const { key, value } = JSON.parse(line);
        return { path: `/kv/items/${encodeURIComponent(key)}`, body: JSON.stringify({ value }) };
      });
    let created = 0;
    let nextPut = 0;
    start = process.hrtime.bigint();
    await pool(
      concurrency,
      async () => (nextPut < puts.length ? puts[nextPut++] : null),
      async ({ path, body }) => {
        const res = await request(agent, target.url, { method: 'PUT', path, headers: json(put), body });
        if (res.status === 201) created++;
        else note(`PUT ${path}: HTTP ${res.status} ${res.body.toString().slice(0, 200)}`);
      },
    );
    const putSeconds = seconds(start);
    const putKeys = await usage(put);
    log(`${target.name}: ${puts.length} PUTs in ${putSeconds.toFixed(2)} s`);

    return {
      target: target.name,
      keys,
      concurrency,
      seedSeconds,
      seeded,
      export: { seconds: exportSeconds, lines, bytes: exported.bytes, status: exported.status, complete: exported.complete },
      rss: { before: rssBefore, max: rssMax, after: rssAfter, growth: rssMax - rssBefore, everyMs: RSS_EVERY_MS },
      listGet: { seconds: listGetSeconds, pages, items: got, bytes: getBytes },
      import: { seconds: importSeconds, bytes: ndjson.length, status: importRes.status, result: importResult && { ...importResult, failed: importResult.failed.length }, keysAfter: importedKeys },
      putPerKey: { seconds: putSeconds, requests: puts.length, created, keysAfter: putKeys },
      exportSpeedup: listGetSeconds / exportSeconds,
      importSpeedup: putSeconds / importSeconds,
      anomalies,
    };
  } finally {
    agent.destroy();
    if (cleanup) for (const id of accounts) await cleanup(id).catch(() => undefined);
  }
}

module.exports = { exportImportComparison };
