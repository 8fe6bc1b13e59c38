// npm run bench: throughput and latency of KV next to a bare Express and a bare node:http server,
// all in one run, as ratios. Loads every target with the same client (autocannon), same connections
// and duration, interleaved and repeated; reports medians with min–max, Redis commands per request,
// and Redis memory per key. Writes bench/results/<stamp>.{md,json,svg}.

'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');
const Redis = require('ioredis');

const ROOT = path.join(__dirname, '..');
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const DURATION = Number(process.env.BENCH_DURATION || 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 16);
const MEMORY_KEYS = Number(process.env.BENCH_MEMORY_KEYS || 100_000);
const API_KEY = 'kv_benchmark_key_0123456789abcdefghij';
const PREFIX = `kvbench-${process.pid}`;

const VALUE_250 = JSON.stringify({ user: 42, name: 'x'.repeat(200), roles: ['admin', 'ops'], active: true }).padEnd(250, ' ').trim();
const value250 = () => JSON.parse(VALUE_250);
const BIG = { blob: 'b'.repeat(1024 * 1024 - 12) }; // 1 MiB as compact JSON

const freePort = () =>
  new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

async function waitUp(url) {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(url).then((res) => res.status < 500, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not come up`);
}

async function startTarget(target) {
  const port = await freePort();
  const env = { PATH: process.env.PATH, PORT: String(port), ...target.env };
  const child = spawn(process.execPath, [target.script], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  await waitUp(target.kind === 'hello' ? url : `${url}/readyz`);
  return { ...target, child, url };
}

function kvRequest(url, method, key, body, headers = {}) {
  return fetch(`${url}/kv/items/${encodeURIComponent(key)}`, {
    method,
    headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (res) => ({ status: res.status, etag: res.headers.get('etag'), body: await res.text() }));
}

/** The workloads; each returns autocannon options for a KV target (after its own setup). */
const WORKLOADS = {
  'GET hit (250 B)': async (url) => {
    await kvRequest(url, 'PUT', 'bench/hit', { value: value250() });
    return { method: 'GET', path: '/kv/items/bench%2Fhit' };
  },
  'GET revalidate (304)': async (url) => {
    const { etag } = await kvRequest(url, 'PUT', 'bench/etag', { value: value250() });
    return { method: 'GET', path: '/kv/items/bench%2Fetag', headers: { 'If-None-Match': etag }, expect: 304 };
  },
  'GET miss (404)': async () => ({ method: 'GET', path: '/kv/items/bench%2Fmissing', expect: 404 }),
  'PUT replace': async () => ({ method: 'PUT', path: '/kv/items/bench%2Fput', body: JSON.stringify({ value: value250() }) }),
  'PUT create, TTL': async () => {
    let n = 0;
    const run = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    return {
      method: 'PUT',
      body: JSON.stringify({ value: value250(), ttlSeconds: 300 }),
      setupRequest: (req) => ({ ...req, path: `/kv/items/create%2F${run}-${n++}` }),
      expect: 201,
    };
  },
  'CAS (If-Match)': async () => {
    let connection = 0;
    const run = Math.random().toString(36).slice(2, 8);
    return {
      method: 'PUT',
      body: JSON.stringify({ value: value250() }),
      setupRequest: (req, context) => {
        if (context.key === undefined) context.key = `cas%2F${run}-${connection++}`;
        const headers = { ...req.headers };
        if (context.etag) headers['if-match'] = context.etag;
        return { ...req, path: `/kv/items/${context.key}`, headers };
      },
      onResponse: (status, body, context, headers) => {
        const etag = headers && (headers.etag || headers.ETag);
        if (etag) context.etag = etag;
      },
    };
  },
  'list 100 keys': async (url) => {
    await Promise.all(Array.from({ length: 100 }, (_, i) => kvRequest(url, 'PUT', `list/${String(i).padStart(3, '0')}`, { value: i })));
    return { method: 'GET', path: '/kv/items?prefix=list%2F&limit=100' };
  },
  'GET 1 MiB': async (url) => {
    await kvRequest(url, 'PUT', 'bench/big', { value: BIG });
    return { method: 'GET', path: '/kv/items/bench%2Fbig', connections: 4 };
  },
  'PUT 1 MiB': async () => ({ method: 'PUT', path: '/kv/items/bench%2Fbig-put', body: JSON.stringify({ value: BIG }), connections: 4 }),
};

function load(url, options) {
  const { expect = undefined, connections = CONNECTIONS, ...request } = options;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: options.duration ?? DURATION,
        amount: options.amount,
        overallRate: options.overallRate,
        headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json', ...(request.headers || {}) },
        requests: [
          Object.fromEntries(
            Object.entries({
              method: request.method,
              path: request.path,
              body: request.body,
              headers: request.headers,
              setupRequest: request.setupRequest,
              onResponse: request.onResponse,
            }).filter(([, value]) => value !== undefined),
          ),
        ],
        expectBody: undefined,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('error', reject);
    void expect;
  });
}

function summarize(result, expected) {
  const total = result.requests.total;
  const good = expected ? result.statusCodeStats?.[expected]?.count ?? 0 : result['2xx'];
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: result.latency.p99_9 ?? result.latency['p99.9'],
    requests: total,
    unexpected: total - good + result.errors + result.timeouts,
  };
}

/**
 * Commands the service sends Redis per request, counted with MONITOR over a short separate pass
 * (MONITOR slows Redis, so never during the timed runs). Commands run inside Lua scripts show up
 * with source "lua" and are left out: this is what crosses the network.
 */
async function roundTripsPerRequest(url, options) {
  const client = new Redis(REDIS_URL);
  const monitor = await client.monitor();
  let count = 0;
  monitor.on('monitor', (_time, args, source) => {
    if (source !== 'lua') count++;
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const result = await load(url, { ...options, amount: 400, connections: 4 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  monitor.disconnect();
  client.disconnect();
  return count / Math.max(1, result.requests.total);
}

async function commandCount(redis) {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') calls += Number(match[2]);
  }
  return calls;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function memoryPerKey(redis) {
  // Through the store itself, in this process: the same Lua script and layout as the service.
  const { RedisStore } = require(path.join(ROOT, 'dist', 'store', 'redis', 'redis-store.js'));
  const { loadConfig } = require(path.join(ROOT, 'dist', 'config.js'));
  const prefix = `${PREFIX}-mem`;
  // The connection the service would open for this REDIS_URL.
  const { redis: connection } = loadConfig({ REDIS_URL }).store;
  const store = new RedisStore({ connection, prefix, commandTimeoutMs: 10_000 });
  await store.ready();
  const before = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
  const value = VALUE_250;
  for (let i = 0; i < MEMORY_KEYS; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, MEMORY_KEYS - i) }, (_, j) =>
        store.setItem('acc_memory', `user/${String(i + j).padStart(8, '0')}`, {
          value,
          condition: { kind: 'none' },
          maxKeys: 10_000_000,
        }),
      ),
    );
  }
  const after = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
  await store.close();
  await deleteKeys(redis, `${prefix}:*`);
  const perKey = (after - before) / MEMORY_KEYS;
  return { keys: MEMORY_KEYS, valueBytes: Buffer.byteLength(value), bytesPerKey: perKey, overheadPerKey: perKey - Buffer.byteLength(value) };
}

async function deleteKeys(redis, pattern) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

function svgChart(rows, baseline) {
  const width = 900;
  const barHeight = 14;
  const labelWidth = 330;
  const max = Math.max(...rows.map((row) => row.rps), 1);
  const scale = (width - labelWidth - 90) / max;
  const colors = { 'node-hello': '#888', 'express-hello': '#555', 'kv-sqlite': '#2a7', 'kv-redis': '#c33', 'kv-redis-2w': '#36c' };
  const bars = rows
    .map((row, i) => {
      const y = 30 + i * (barHeight + 4);
      const w = Math.max(1, row.rps * scale);
      return (
        `<text x="${labelWidth - 6}" y="${y + 11}" text-anchor="end" font-size="11">${row.target} · ${row.workload}</text>` +
        `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${colors[row.target] || '#999'}"/>` +
        `<text x="${(labelWidth + w + 4).toFixed(1)}" y="${y + 11}" font-size="11">${Math.round(row.rps)}</text>`
      );
    })
    .join('\n');
  const height = 40 + rows.length * (barHeight + 4);
  const line = labelWidth + baseline * scale;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="18" font-size="13" font-weight="bold">Throughput by workload, req/s (median of rounds); line = express-hello</text>
${bars}
<line x1="${line.toFixed(1)}" y1="24" x2="${line.toFixed(1)}" y2="${height - 4}" stroke="#000" stroke-dasharray="4 3"/>
</svg>
`;
}

async function main() {
  const started = Date.now();
  const redis = new Redis(REDIS_URL);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-bench-'));
  const kvEnv = {
    KV_BOOTSTRAP_API_KEY: API_KEY,
    KV_READS_PER_SECOND: '1000000',
    KV_WRITES_PER_SECOND: '1000000',
    LOG_LEVEL: 'warn',
  };
  const targetDefs = [
    { name: 'node-hello', kind: 'hello', script: path.join(__dirname, 'servers', 'node-hello.js') },
    { name: 'express-hello', kind: 'hello', script: path.join(__dirname, 'servers', 'express-hello.js') },
    { name: 'kv-sqlite', kind: 'kv', script: path.join(ROOT, 'dist', 'main.js'), env: { ...kvEnv, KV_DATA_DIR: dataDir } },
    { name: 'kv-redis', kind: 'kv', redis: true, script: path.join(ROOT, 'dist', 'main.js'), env: { ...kvEnv, REDIS_URL, KV_REDIS_PREFIX: `${PREFIX}-1` } },
    {
      name: 'kv-redis-2w',
      kind: 'kv',
      redis: true,
      script: path.join(ROOT, 'dist', 'main.js'),
      env: { ...kvEnv, REDIS_URL, KV_REDIS_PREFIX: `${PREFIX}-2`, KV_WORKERS: '2' },
    },
  ];
  const targets = [];
  try {
    for (const def of targetDefs) targets.push(await startTarget(def));
    console.log(`bench: ${os.cpus().length} cores, Node ${process.version}, ${CONNECTIONS} connections, ${DURATION} s × ${ROUNDS} rounds`);

    // Each workload's setup runs once per KV target; its autocannon options are reused each round.
    const plans = [];
    for (const target of targets) {
      if (target.kind === 'hello') {
        plans.push({ target, workload: 'hello', options: { method: 'GET', path: '/' } });
        continue;
      }
      for (const [workload, setup] of Object.entries(WORKLOADS)) plans.push({ target, workload, options: await setup(target.url) });
    }

    const samples = new Map();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const plan of plans) {
        const before = plan.target.redis ? await commandCount(redis) : 0;
        const result = summarize(await load(plan.target.url, plan.options), plan.options.expect);
        if (plan.target.redis) result.redisCommandsPerRequest = ((await commandCount(redis)) - before) / Math.max(1, result.requests);
        const key = `${plan.target.name}|${plan.workload}`;
        if (!samples.has(key)) samples.set(key, []);
        samples.get(key).push(result);
        process.stdout.write(`round ${round}: ${plan.target.name} ${plan.workload}: ${Math.round(result.rps)} req/s\n`);
      }
    }

    const rows = [...samples.entries()].map(([key, runs]) => {
      const [target, workload] = key.split('|');
      const rps = runs.map((run) => run.rps);
      return {
        target,
        workload,
        rps: median(rps),
        rpsMin: Math.min(...rps),
        rpsMax: Math.max(...rps),
        p50: median(runs.map((run) => run.p50)),
        p99: median(runs.map((run) => run.p99)),
        unexpected: runs.reduce((sum, run) => sum + run.unexpected, 0),
        redisCommandsPerRequest: runs[0].redisCommandsPerRequest === undefined ? null : median(runs.map((run) => run.redisCommandsPerRequest)),
      };
    });
    const expressHello = rows.find((row) => row.target === 'express-hello').rps;
    const nodeHello = rows.find((row) => row.target === 'node-hello').rps;
    for (const row of rows) {
      row.vsExpress = row.rps / expressHello;
      row.vsNode = row.rps / nodeHello;
    }

    for (const plan of plans.filter((p) => p.target.name === 'kv-redis')) {
      const row = rows.find((r) => r.target === 'kv-redis' && r.workload === plan.workload);
      row.redisRoundTripsPerRequest = await roundTripsPerRequest(plan.target.url, plan.options);
    }

    // Fixed rate at the per-account soft limit: latency, not throughput.
    const fixedRate = [];
    for (const target of targets.filter((t) => t.kind === 'kv' && t.name !== 'kv-redis-2w')) {
      const result = await load(target.url, { method: 'GET', path: '/kv/items/bench%2Fhit', overallRate: 1000, connections: 10, duration: 10 });
      const s = summarize(result);
      fixedRate.push({ target: target.name, rate: 1000, achieved: s.rps, p50: s.p50, p99: s.p99, p999: s.p999, unexpected: s.unexpected });
    }

    const memory = await memoryPerKey(redis);
    const seconds = Math.round((Date.now() - started) / 1000);
    const table = [
      '| target | workload | req/s (median, min–max) | p50 ms | p99 ms | × express-hello | × node-hello | Redis calls/req | Redis cmds run/req | unexpected |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...rows.map(
        (row) =>
          `| ${row.target} | ${row.workload} | ${Math.round(row.rps)} (${Math.round(row.rpsMin)}–${Math.round(row.rpsMax)}) | ${row.p50} | ${row.p99} | ` +
          `${row.vsExpress.toFixed(2)} | ${row.vsNode.toFixed(2)} | ${row.redisRoundTripsPerRequest === undefined ? '' : row.redisRoundTripsPerRequest.toFixed(2)} | ` +
          `${row.redisCommandsPerRequest === null ? '' : row.redisCommandsPerRequest.toFixed(2)} | ${row.unexpected} |`,
      ),
    ].join('\n');
    const fixedTable = [
      '| target | rate | achieved req/s | p50 ms | p99 ms | p99.9 ms |',
      '|---|---|---|---|---|---|',
      ...fixedRate.map((r) => `| ${r.target} (GET hit) | ${r.rate}/s | ${Math.round(r.achieved)} | ${r.p50} | ${r.p99} | ${r.p999} |`),
    ].join('\n');
    const twoWorkers = rows.find((r) => r.target === 'kv-redis-2w' && r.workload === 'GET hit (250 B)').rps;
    const oneWorker = rows.find((r) => r.target === 'kv-redis' && r.workload === 'GET hit (250 B)').rps;
    const markdown = [
      `# KV benchmark — ${new Date().toISOString()}`,
      '',
      `Machine: ${os.cpus().length} × ${os.cpus()[0].model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; ` +
        `client (autocannon) on the same machine; ${CONNECTIONS} connections (4 for 1 MiB), ${DURATION} s per run, ${ROUNDS} interleaved rounds; run took ${seconds} s.`,
      '',
      table,
      '',
      'Redis calls/req: commands the service sent (MONITOR, kv-redis, separate pass). Redis cmds run/req: INFO commandstats delta, ' +
        'commands run inside Lua scripts included. unexpected: responses other than the workload expects, errors and timeouts.',
      '',
      `2 workers vs 1 (GET hit, Redis): ${(twoWorkers / oneWorker).toFixed(2)}×`,
      '',
      '## Fixed rate (1,000 req/s, 10 connections, 10 s)',
      '',
      fixedTable,
      '',
      '## Redis memory per key',
      '',
      `${memory.keys} keys of ${memory.valueBytes}-byte values: ${memory.bytesPerKey.toFixed(0)} bytes per key, ${memory.overheadPerKey.toFixed(0)} beyond the value.`,
      '',
    ].join('\n');

    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${stamp}.md`), markdown);
    fs.writeFileSync(
      path.join(dir, `${stamp}.json`),
      JSON.stringify({ date: new Date().toISOString(), cores: os.cpus().length, node: process.version, connections: CONNECTIONS, duration: DURATION, rounds: ROUNDS, rows, fixedRate, memory, seconds }, null, 2),
    );
    fs.writeFileSync(path.join(dir, `${stamp}.svg`), svgChart(rows, expressHello));
    console.log(`\n${markdown}\nwritten: bench/results/${stamp}.{md,json,svg}`);
  } finally {
    for (const target of targets) target.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const target of targets) target.child.kill('SIGKILL');
    await deleteKeys(redis, `${PREFIX}*`).catch(() => undefined);
    await redis.quit();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
