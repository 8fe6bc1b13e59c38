// npm run bench: KV's throughput and latency next to what a user could pick instead, in one run, as
// ratios: node:http and Express hello-worlds, the obvious Express + ioredis service, a bare node:http
// server sending 1 MiB, and etcd and webdis when on PATH. Same client for every target (wrk where
// installed), interleaved rounds, medians with min–max; then Redis calls per request (MONITOR), GC
// share and allocation per request (bench/probe.js), latency at a fixed rate, a JSON scanner
// micro-benchmark and Redis memory per key; and export / import against list + GET and PUT per key
// (bench/lib/transfer.js, a Node client); watch fan-out latency to 1,000 streams, PUT with the change
// log on vs off, and the log's Redis memory (bench/lib/watch.js). Checks issues 12, 13 and 14's targets; writes
// bench/results/<stamp>.{md,json,svg}.
//
// BENCH_DURATION (s per run, default 8), BENCH_ROUNDS (3), BENCH_CONNECTIONS (50), BENCH_MEMORY_KEYS,
// BENCH_EXPORT_KEYS (100000), BENCH_WATCHERS (1000), BENCH_LOG_CHANGES (20000).

'use strict';

const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const Redis = require('ioredis');
const { throughputClient, runAutocannon } = require('./lib/load');
const { onPath, startNode, startEtcd, startWebdis, stopAll } = require('./lib/processes');
const { WORKLOADS, VALUE_250 } = require('./lib/workloads');
const { jsonMicroBenchmark } = require('./lib/json-micro');
const { exportImportComparison } = require('./lib/transfer');
const { watchLatency, changeLogMemory } = require('./lib/watch');
const { checkTargets, markdown, svgChart } = require('./lib/report');

const ROOT = path.join(__dirname, '..');
const DURATION = Number(process.env.BENCH_DURATION || 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 50);
const MEMORY_KEYS = Number(process.env.BENCH_MEMORY_KEYS || 100_000);
const EXPORT_KEYS = Number(process.env.BENCH_EXPORT_KEYS || 100_000);
const WATCHERS = Number(process.env.BENCH_WATCHERS || 1000);
const WATCH_CHANGES = 20;
const LOG_CHANGES = Number(process.env.BENCH_LOG_CHANGES || 20_000);
// Requests per MONITOR pass; 1 MiB workloads take fewer, or the pass would outlast the timed runs.
const MONITOR_REQUESTS = 400;
const MONITOR_REQUESTS_BIG = 40;
const API_KEY = 'kv_benchmark_key_0123456789abcdefghij';
// The export / import comparison makes its fresh accounts through the admin API.
const ADMIN_TOKEN = 'kv_benchmark_admin_0123456789abcdef';
const PREFIX = `kvbench-${process.pid}`;
// A database of the bench's own, so MONITOR counts only its traffic while tests share the server.
const REDIS_DB = 15;
const REDIS_URL = (() => {
  const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
  url.pathname = `/${REDIS_DB}`;
  return url.toString();
})();

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Sends a probe message to a server started with bench/probe.js and waits for its answer. */
function probe(target, message, answer) {
  return new Promise((resolve) => {
    const onMessage = (reply) => {
      if (reply?.probe !== answer) return;
      target.child.off('message', onMessage);
      resolve(reply);
    };
    target.child.on('message', onMessage);
    target.child.send({ probe: message });
  });
}

/**
 * Commands the service sends Redis per request, and all commands run (Lua's included), from
 * MONITOR over a short separate pass; only the bench's database is counted.
 */
/**
 * MONITOR on a plain socket: ioredis's monitor mode can lose track of its command queue when
 * monitored lines arrive in the same packet as MONITOR's +OK ("Command queue state error"), which
 * happens when other clients are busy. Calls `onCommand(database, source, args)` per line.
 */
function monitorRedis(onCommand) {
  const url = new URL(REDIS_URL);
  const socket = net.connect(Number(url.port || 6379), url.hostname);
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\r\n')) !== -1) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      // +1733140800.123456 [15 127.0.0.1:43802] "evalsha" "…" …   ("[15 lua]" inside a script)
      const match = /^\+\d+\.\d+ \[(\d+) ([^\]]+)\] (.*)$/.exec(line);
      if (!match) continue;
      const args = [...match[3].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((arg) => arg[1]);
      onCommand(Number(match[1]), match[2] === 'lua' ? 'lua' : 'client', args);
    }
  });
  socket.on('error', () => undefined);
  const ready = new Promise((resolve) => socket.once('connect', resolve)).then(() => {
    if (url.password) socket.write(`AUTH ${url.username ? `${decodeURIComponent(url.username)} ` : ''}${decodeURIComponent(url.password)}\r\n`);
    socket.write('MONITOR\r\n');
  });
  return { ready, close: () => socket.destroy() };
}

async function redisCallsPerRequest(url, spec) {
  let sent = 0;
  let run = 0;
  // The rate-limit counters' periodic synchronisation (EVALSHA addRateLimitHits on a `…:rl:…`
  // key): once per limiter and account every KV_RATE_LIMIT_SYNC_MS, not once per request.
  let syncSent = 0;
  const monitor = monitorRedis((database, source, args) => {
    if (database !== REDIS_DB) return;
    run++;
    if (source === 'lua') return;
    sent++;
    if (args.some((arg) => arg.includes(':rl:'))) syncSent++;
  });
  await monitor.ready;
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = Date.now();
  const result = await runAutocannon(url, spec, { amount: spec.big ? MONITOR_REQUESTS_BIG : MONITOR_REQUESTS, connections: 4 });
  const seconds = (Date.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 200));
  monitor.close();
  const requests = Math.max(1, result.requests);
  return {
    sent: sent / requests,
    run: run / requests,
    // What each request itself sends; the synchronisation is reported per second of the pass.
    requestPath: (sent - syncSent) / requests,
    syncPerSecond: syncSent / seconds,
    requestsPerSecond: requests / seconds,
  };
}

async function deleteKeys(redis, pattern) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** Redis memory per 250-byte item, written through the store itself (its script and key layout). */
async function memoryPerKey(redis) {
  const { RedisStore } = require(path.join(ROOT, 'dist', 'store', 'redis', 'redis-store.js'));
  const { loadConfig } = require(path.join(ROOT, 'dist', 'config.js'));
  const prefix = `${PREFIX}-mem`;
  const { redis: connection } = loadConfig({ REDIS_URL }).store;
  const store = new RedisStore({ connection, prefix, commandTimeoutMs: 10_000 });
  await store.ready();
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
  const before = await usedMemory();
  for (let i = 0; i < MEMORY_KEYS; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, MEMORY_KEYS - i) }, (_, j) =>
        store.setItem('acc_memory', `user/${String(i + j).padStart(8, '0')}`, { value: VALUE_250, condition: { kind: 'none' }, maxKeys: 10_000_000 }),
      ),
    );
  }
  const after = await usedMemory();
  let usage = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', '0');
    for (const [, bytes] of await pipeline.exec()) usage += Number(bytes) || 0;
    cursor = next;
  } while (cursor !== '0');
  await store.close();
  await deleteKeys(redis, `${prefix}*`);
  return { keys: MEMORY_KEYS, valueBytes: Buffer.byteLength(VALUE_250), bytesPerKey: (after - before) / MEMORY_KEYS, memoryUsagePerKey: usage / MEMORY_KEYS };
}

/** What to start: name, kind (which workload entry it takes) and how. */
function targetDefs(dataDir) {
  // KV_WATCHERS_PER_ACCOUNT: the watch section opens 1,000 streams on one account (default cap 100).
  const kvEnv = { KV_BOOTSTRAP_API_KEY: API_KEY, KV_ADMIN_TOKEN: ADMIN_TOKEN, KV_READS_PER_SECOND: '1000000', KV_WRITES_PER_SECOND: '1000000', KV_WATCHERS_PER_ACCOUNT: String(Math.max(2000, WATCHERS + 100)), LOG_LEVEL: 'warn' };
  // The change log off (KV_CHANGE_LOG=off), writes only: what logging every change costs a PUT.
  const noLog = { only: ['PUT replace', 'PUT create, TTL'] };
  const main = path.join(ROOT, 'dist', 'main.js');
  const server = (name) => path.join(__dirname, 'servers', `${name}.js`);
  const probed = { execArgv: ['--require', path.join(__dirname, 'probe.js')], ipc: true };
  return [
    { name: 'node-hello', kind: 'hello', script: server('node-hello') },
    { name: 'express-hello', kind: 'hello', script: server('express-hello') },
    { name: 'node-1mib', kind: 'bare', script: server('node-1mib') },
    { name: 'express-ioredis', kind: 'obvious', script: server('express-ioredis'), readyPath: '/readyz', env: { REDIS_URL, BENCH_PREFIX: `${PREFIX}-obvious`, BENCH_API_KEY: API_KEY } },
    { name: 'kv-sqlite', kind: 'kv', script: main, readyPath: '/readyz', env: { ...kvEnv, KV_DATA_DIR: dataDir }, ...probed },
    { name: 'kv-redis', kind: 'kv', script: main, readyPath: '/readyz', env: { ...kvEnv, REDIS_URL, KV_REDIS_PREFIX: `${PREFIX}-1` }, ...probed },
    // Two workers: GET hit only, the question being whether a second process pays on two cores.
    { name: 'kv-redis-2w', kind: 'kv', only: ['GET hit (250 B)'], script: main, readyPath: '/readyz', env: { ...kvEnv, REDIS_URL, KV_REDIS_PREFIX: `${PREFIX}-2`, KV_WORKERS: '2' } },
    { name: 'kv-redis-nolog', kind: 'kv', ...noLog, script: main, readyPath: '/readyz', env: { ...kvEnv, REDIS_URL, KV_REDIS_PREFIX: `${PREFIX}-3`, KV_CHANGE_LOG: 'off' } },
    { name: 'kv-sqlite-nolog', kind: 'kv', ...noLog, script: main, readyPath: '/readyz', env: { ...kvEnv, KV_DATA_DIR: `${dataDir}-nolog`, KV_CHANGE_LOG: 'off' } },
  ];
}

const started = Date.now();
const log = (line) => console.log(`[${Math.round((Date.now() - started) / 1000)} s] ${line}`);

async function main() {
  const redis = new Redis(REDIS_URL);
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-bench-'));
  const client = throughputClient();
  const targets = [];
  let stopping = false;
  // A signal skips the finally below: stop what was started (by PID) before exiting.
  const interrupted = (signal) => {
    stopping = true;
    stopAll(targets).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    for (const def of targetDefs(path.join(tmpDir, 'sqlite'))) targets.push(await startNode(def));
    // A target that ends before stopAll is worth knowing about (its stderr is this process's).
    for (const target of targets) {
      target.child.once('exit', (code, signal) => {
        if (!stopping) log(`${target.name} (pid ${target.child.pid}) exited early: code ${code}, signal ${signal}`);
      });
    }
    log('servers up');
    const etcd = onPath('etcd');
    if (etcd) targets.push(await startEtcd(etcd, tmpDir));
    const webdis = onPath('webdis');
    if (webdis) targets.push(await startWebdis(webdis, tmpDir, REDIS_URL));
    const loadAverage = os.loadavg().map((n) => n.toFixed(1)).join(' / ');
    console.log(`bench: ${client.name}, ${CONNECTIONS} connections, ${DURATION} s × ${ROUNDS} rounds; targets: ${targets.map((t) => t.name).join(', ')}`);

    // Each workload is seeded once per target; its spec is reused every round.
    const plans = [];
    for (const target of targets) {
      if (target.kind === 'hello') {
        plans.push({ target, workload: 'hello', spec: { method: 'GET', path: '/' } });
        continue;
      }
      for (const [workload, kinds] of Object.entries(WORKLOADS)) {
        if (!kinds[target.kind] || (target.only && !target.only.includes(workload))) continue;
        plans.push({ target, workload, spec: await kinds[target.kind]({ url: target.url, apiKey: API_KEY, adminToken: ADMIN_TOKEN, redis, prefix: PREFIX }) });
      }
    }
    // A log-off target's runs go right after the same workload on its log-on counterpart, so each
    // pair runs back to back in every round (same machine state) rather than minutes apart.
    for (const plan of plans.filter((p) => p.target.name.endsWith('-nolog'))) {
      plans.splice(plans.indexOf(plan), 1);
      const counterpart = plans.findIndex((p) => p.target.name === plan.target.name.slice(0, -'-nolog'.length) && p.workload === plan.workload);
      plans.splice(counterpart === -1 ? plans.length : counterpart + 1, 0, plan);
    }
    log('seeded');

    const samples = new Map();
    const probes = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const plan of plans) {
        // GC and allocation over the last round's run of each workload, when the server is warm.
        const probing = round === ROUNDS && plan.target.ipc;
        if (probing) await probe(plan.target, 'start', 'started');
        const result = await client.run(plan.target.url, plan.spec, { connections: CONNECTIONS, duration: DURATION, tmpDir });
        if (probing) probes.push({ target: plan.target.name, workload: plan.workload, ...(await probe(plan.target, 'stop', 'result')) });
        const key = `${plan.target.name}|${plan.workload}`;
        if (!samples.has(key)) samples.set(key, []);
        samples.get(key).push(result);
        log(`round ${round}: ${plan.target.name} ${plan.workload}: ${Math.round(result.rps)} req/s, p99 ${result.p99} ms, ${result.unexpected} unexpected`);
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
        p999: median(runs.map((run) => run.p999)),
        unexpected: runs.reduce((sum, run) => sum + run.unexpected, 0),
        // What the unexpected were, summed over rounds (wrk: status > 399, connect, read, write, timeout).
        errors: runs.reduce((sum, run) => {
          for (const [kind, n] of Object.entries(run.errors || {})) sum[kind] = (sum[kind] || 0) + n;
          return sum;
        }, {}),
        bytesPerResponse: median(runs.map((run) => run.bytesPerResponse)),
      };
    });

    log('Redis calls per request (MONITOR)…');
    const monitor = [];
    for (const plan of plans.filter((p) => p.target.name === 'kv-redis' || p.target.name === 'express-ioredis')) {
      const calls = await redisCallsPerRequest(plan.target.url, plan.spec);
      monitor.push({ target: plan.target.name, workload: plan.workload, ...calls });
      const r = rows.find((x) => x.target === plan.target.name && x.workload === plan.workload);
      r.redisCallsPerRequest = calls.requestPath;
    }

    log('fixed rate…');
    const fixedRate = [];
    for (const name of ['kv-sqlite', 'kv-redis', 'express-hello', 'node-hello']) {
      const plan = plans.find((p) => p.target.name === name && (p.workload === 'GET hit (250 B)' || p.workload === 'hello'));
      const result = await runAutocannon(plan.target.url, plan.spec, { overallRate: 1000, connections: 10, duration: 10 });
      fixedRate.push({ target: name, ...result });
    }

    // Fresh accounts on each store; on Redis their keys are deleted afterwards (the store's layout:
    // `<prefix>:{<account>}…`), on SQLite the data directory goes with the run's temporary directory.
    const transfer = [];
    for (const name of ['kv-redis', 'kv-sqlite']) {
      const target = targets.find((t) => t.name === name);
      log(`export and import, ${EXPORT_KEYS} keys: ${name}…`);
      const cleanup = name === 'kv-redis' ? (accountId) => deleteKeys(redis, `${target.env.KV_REDIS_PREFIX}:{${accountId}}*`) : undefined;
      try {
        transfer.push(await exportImportComparison(target, { adminToken: ADMIN_TOKEN, keys: EXPORT_KEYS, concurrency: CONNECTIONS, log, cleanup }));
      } catch (error) {
        // Reported (the checks show n/a) rather than losing the whole run.
        const state = target.child.exitCode !== null || target.child.signalCode !== null ? ` (the server had exited: code ${target.child.exitCode}, signal ${target.child.signalCode})` : '';
        log(`export and import on ${name} failed: ${error.message}${state}`);
        transfer.push({ target: name, keys: EXPORT_KEYS, error: `${error.message}${state}` });
      }
    }

    // Watch fan-out: WATCHERS streams on one account of one KV process, from this process.
    const watch = [];
    for (const name of ['kv-redis', 'kv-sqlite']) {
      const target = targets.find((t) => t.name === name);
      log(`watch, ${WATCHERS} streams: ${name}…`);
      const cleanup = name === 'kv-redis' ? (accountId) => deleteKeys(redis, `${target.env.KV_REDIS_PREFIX}:{${accountId}}*`) : undefined;
      try {
        watch.push(await watchLatency(target, { adminToken: ADMIN_TOKEN, watchers: WATCHERS, changes: WATCH_CHANGES, log, cleanup }));
      } catch (error) {
        const state = target.child.exitCode !== null || target.child.signalCode !== null ? ` (the server had exited: code ${target.child.exitCode}, signal ${target.child.signalCode})` : '';
        log(`watch on ${name} failed: ${error.message}${state}`);
        watch.push({ target: name, watchers: WATCHERS, error: `${error.message}${state}`, open: error.open, anomalies: error.anomalies || [] });
      }
    }

    log('JSON micro-benchmark…');
    const json = jsonMicroBenchmark();
    log('Redis memory per key…');
    const memory = await memoryPerKey(redis);
    log(`Redis memory of the change log, ${LOG_CHANGES} changes…`);
    let logMemory;
    try {
      logMemory = await changeLogMemory(redis, { root: ROOT, redisUrl: REDIS_URL, prefix: `${PREFIX}-logmem`, value: VALUE_250, changes: LOG_CHANGES });
    } catch (error) {
      log(`change log memory failed: ${error.message}`);
      logMemory = { error: error.message };
    }

    const peers = rows.filter((r) => r.target === 'etcd' || r.target === 'webdis');
    const meta = {
      date: new Date().toISOString(),
      cores: os.cpus().length,
      cpu: os.cpus()[0].model,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      client: client.name,
      connections: CONNECTIONS,
      duration: DURATION,
      rounds: ROUNDS,
      monitorRequests: `${MONITOR_REQUESTS} (${MONITOR_REQUESTS_BIG} for 1 MiB)`,
      exportKeys: EXPORT_KEYS,
      watchers: WATCHERS,
      fdLimit: (/^Max open files\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8')) || [])[1],
      redisDb: REDIS_DB,
      loadAverage,
      seconds: Math.round((Date.now() - started) / 1000),
    };
    const result = { meta, rows, fixedRate, probes, monitor, json, memory, peers, transfer, watch, logMemory };
    result.targets = checkTargets(result);
    const text = markdown(result);
    const stamp = meta.date.replace(/[:.]/g, '-');
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${stamp}.md`), text);
    fs.writeFileSync(path.join(dir, `${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
    fs.writeFileSync(path.join(dir, `${stamp}.svg`), svgChart(rows, rows.find((r) => r.target === 'express-hello').rps));
    console.log(`\n${text}\nwritten: bench/results/${stamp}.{md,json,svg}`);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    stopping = true;
    await stopAll(targets);
    await deleteKeys(redis, `${PREFIX}*`).catch(() => undefined);
    await redis.quit();
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
