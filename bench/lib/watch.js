// Watch (GET /kv/watch, Server-Sent Events) and the change log behind it, for issue 14:
//   watchLatency: on one KV target (one process), a fresh account, `watchers` streams open at once
//     from this process (node:http, a keep-alive agent with a socket per stream), then `changes`
//     PUTs of one key, one after the other; for every stream, the time from just before the PUT is
//     sent to the arrival of its `event: set` of the version written.
//   changeLogMemory: Redis memory of the change log, through the store itself (dist/): bytes per
//     retained change (MEMORY USAGE of the log stream / XLEN) and an idle account's keys with the
//     log and without it.

'use strict';

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const OPEN_PARALLEL = 100; // streams being opened at a time
const DELIVERY_TIMEOUT_MS = 5000; // how long a change may take to reach every stream before it counts as missed
const WARMUP_TIMEOUT_MS = 10_000;
const GAP_MS = 50; // between one change reaching every stream and the next PUT

/** One request over `agent`; resolves { status, headers, body (string) }. */
function request(agent, url, { method = 'GET', path: urlPath, headers = {}, body }) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${urlPath}`, { method, agent, headers: body === undefined ? headers : { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** "Max open files" (soft) of a process, from /proc/<pid>/limits; null when unreadable. */
function openFilesLimit(pid) {
  try {
    const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return match ? { soft: match[1], hard: match[2] } : null;
  } catch {
    return null;
  }
}

/** Open file descriptors of a process (entries of /proc/<pid>/fd); null when unreadable. */
function openFiles(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

const rss = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  } catch {
    return null;
  }
};

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null);
const sleep = (msec) => new Promise((resolve) => setTimeout(resolve, msec));

/**
 * One SSE stream: parses events as they come (blocks separated by a blank line; `id:`, `event:`,
 * `data:` lines) and notes the arrival time of each `set` by version.
 */
function openStream(agent, url, headers, onSet) {
  return new Promise((resolve) => {
    const stream = { status: null, error: null, ended: false, arrivals: new Map(), events: 0, req: null, res: null, body: '' };
    let buffer = '';
    const req = http.request(`${url}/kv/watch`, { agent, headers: { ...headers, Accept: 'text/event-stream' } }, (res) => {
      stream.status = res.statusCode;
      stream.res = res;
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        res.on('data', (chunk) => {
          if (stream.body.length < 300) stream.body += chunk;
        });
        res.on('end', () => resolve(stream));
        return;
      }
      resolve(stream);
      res.on('data', (chunk) => {
        const now = performance.now();
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (event === 'set' && data) {
            stream.events++;
            try {
              const { version } = JSON.parse(data);
              if (!stream.arrivals.has(version)) {
                stream.arrivals.set(version, now);
                onSet(version);
              }
            } catch {
              stream.error = stream.error || `unparsable data: ${data.slice(0, 100)}`;
            }
          }
        }
      });
      res.on('end', () => {
        stream.ended = true;
      });
      res.on('error', (error) => {
        stream.error = stream.error || error.message;
      });
    });
    stream.req = req;
    req.on('error', (error) => {
      stream.error = stream.error || error.message;
      resolve(stream);
    });
    req.end();
  });
}

/**
 * The watch fan-out on one target ({ name, url, child }); returns the figures. `cleanup(accountId)`
 * (optional) frees the store afterwards.
 */
async function watchLatency(target, { adminToken, watchers = 1000, changes = 20, log = () => {}, cleanup }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  // One socket per stream: a stream holds its socket for as long as it is open.
  const streamAgent = new http.Agent({ keepAlive: true, maxSockets: watchers + 10, maxFreeSockets: 10 });
  const streams = [];
  let accountId = null;
  const anomalies = [];
  const note = (what) => {
    if (anomalies.length < 20) anomalies.push(what);
  };
  const pid = target.child.pid;
  const fds = { clientLimit: openFilesLimit(process.pid), serverLimit: openFilesLimit(pid), clientBefore: openFiles(process.pid), serverBefore: openFiles(pid) };
  try {
    const res = await request(agent, target.url, {
      method: 'POST',
      path: '/admin/accounts',
      headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'bench-watch', limits: { maxKeys: 1000, readsPerSecond: 1_000_000, writesPerSecond: 1_000_000 } }),
    });
    if (res.status !== 201) throw new Error(`${target.name}: POST /admin/accounts: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    const { account, apiKey } = JSON.parse(res.body).data;
    accountId = account.id;
    const headers = { Authorization: `Bearer ${apiKey.key}` };
    // One request with the new key first, so the streams open with credentials the server has
    // checked already (a burst of checks of a key it has not seen yet, from one address, queues on
    // the failed-auth throttle's slots: see the report).
    const usage = await request(agent, target.url, { path: '/kv/usage', headers });
    if (usage.status !== 200) note(`GET /kv/usage with the new key: HTTP ${usage.status} ${usage.body.slice(0, 200)}`);

    // Someone waiting for a version: resolved when every stream has it.
    let waiter = null;
    const onSet = (version) => {
      if (waiter && waiter.version === version && ++waiter.count >= waiter.needed) waiter.resolve();
    };
    const rssBefore = rss(pid);
    let start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: OPEN_PARALLEL }, async () => {
        while (next < watchers) {
          next++;
          streams.push(await openStream(streamAgent, target.url, headers, onSet));
        }
      }),
    );
    const openSeconds = (performance.now() - start) / 1000;
    const open = streams.filter((s) => s.status === 200);
    for (const s of streams.filter((x) => x.status !== 200)) note(`open: ${s.status === null ? s.error : `HTTP ${s.status} ${s.body.slice(0, 200)}`}`);
    log(`${target.name}: ${open.length} of ${watchers} watch streams open in ${openSeconds.toFixed(2)} s`);
    fds.clientOpen = openFiles(process.pid);
    fds.serverOpen = openFiles(pid);
    const rssOpen = rss(pid);
    if (!open.length) throw new Error(`${target.name}: no watch stream opened (${anomalies[0] || 'no answer'})`);

    /** PUTs the key; resolves { version, sentAt, putMs, reached } once every open stream has the event (or the timeout). */
    const change = async (timeoutMs) => {
      let count = 0;
      const sentAt = performance.now();
      const put = await request(agent, target.url, { method: 'PUT', path: '/kv/items/watch%2Fkey', headers: { ...headers, 'Content-Type': 'application/json' }, body: `{"value":{"at":${Date.now()},"pad":"${'x'.repeat(200)}"}}` });
      const putMs = performance.now() - sentAt;
      if (put.status !== 200 && put.status !== 201) throw new Error(`${target.name}: PUT: HTTP ${put.status} ${put.body.slice(0, 300)}`);
      const { version } = JSON.parse(put.body).data;
      count = open.filter((s) => s.arrivals.has(version)).length;
      if (count < open.length) {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          waiter = { version, count, needed: open.length, resolve: () => (clearTimeout(timer), resolve()) };
        });
        waiter = null;
      }
      return { version, sentAt, putMs, reached: open.filter((s) => s.arrivals.has(version)).length };
    };

    // A first change, not measured: every stream has started following the log once it has this one.
    const warmup = await change(WARMUP_TIMEOUT_MS);
    if (warmup.reached < open.length) note(`warm-up change: reached ${warmup.reached} of ${open.length} streams within ${WARMUP_TIMEOUT_MS} ms`);
    await sleep(GAP_MS);

    const latencies = [];
    const perChange = [];
    const missedBy = new Set();
    let missed = 0;
    for (let i = 0; i < changes; i++) {
      const c = await change(DELIVERY_TIMEOUT_MS);
      const these = [];
      for (let s = 0; s < open.length; s++) {
        const at = open[s].arrivals.get(c.version);
        if (at === undefined) {
          missed++;
          missedBy.add(s);
        } else these.push(at - c.sentAt);
      }
      these.sort((a, b) => a - b);
      latencies.push(...these);
      perChange.push({ version: c.version, putMs: c.putMs, reached: c.reached, first: these[0] ?? null, median: percentile(these, 50), last: these[these.length - 1] ?? null });
      await sleep(GAP_MS);
    }
    latencies.sort((a, b) => a - b);
    const broken = open.filter((s) => s.ended || s.error);
    for (const s of broken.slice(0, 5)) note(`stream ${s.ended ? 'ended by the server' : 'failed'}${s.error ? `: ${s.error}` : ''}`);
    if (missed) note(`${missed} deliveries missed (not within ${DELIVERY_TIMEOUT_MS} ms) by ${missedBy.size} streams`);
    const result = {
      target: target.name,
      watchers,
      open: open.length,
      openSeconds,
      changes,
      deliveries: latencies.length,
      expected: changes * open.length,
      missed,
      missedStreams: missedBy.size,
      brokenStreams: broken.length,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? null,
      putMsMedian: percentile(perChange.map((c) => c.putMs).sort((a, b) => a - b), 50),
      lastMedian: percentile(perChange.map((c) => c.last).filter((x) => x !== null).sort((a, b) => a - b), 50),
      warmupReached: warmup.reached,
      rss: { before: rssBefore, open: rssOpen },
      fds,
      perChange,
      anomalies,
    };
    log(`${target.name}: watch delivery over ${latencies.length} of ${result.expected}: p50 ${result.p50?.toFixed(1)} ms, p99 ${result.p99?.toFixed(1)} ms, max ${result.max?.toFixed(1)} ms; ${missed} missed`);
    return result;
  } catch (error) {
    // What went wrong before (streams refused, …) goes with the error into the report.
    error.anomalies = anomalies;
    error.open = streams.filter((x) => x.status === 200).length;
    throw error;
  } finally {
    for (const s of streams) {
      s.res?.destroy();
      s.req?.destroy();
    }
    streamAgent.destroy();
    agent.destroy();
    if (cleanup && accountId) {
      // Let the server see the streams close (it releases their leases) before the account's keys go.
      await sleep(500);
      await cleanup(accountId).catch(() => undefined);
    }
  }
}

/** MEMORY USAGE (all samples) of every key matching `pattern`: [{ key, type, bytes }]. */
async function keysMemory(redis, pattern) {
  const found = [];
  let cursor = '0';
  do {
    const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    for (const key of keys) found.push({ key, type: await redis.type(key), bytes: Number(await redis.memory('USAGE', key, 'SAMPLES', '0')) || 0 });
    cursor = nextCursor;
  } while (cursor !== '0');
  return found.sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * The change log's Redis memory, written through the store (`root`/dist): `changes` PUTs of
 * `value` over `keyCount` keys into one account, then MEMORY USAGE of its log / XLEN; an idle
 * account (one write) with the log and, from a store with `changeLog: false`, without it.
 */
async function changeLogMemory(redis, { root, redisUrl, prefix, value, changes = 20_000, keyCount = 1000 }) {
  const { RedisStore } = require(path.join(root, 'dist', 'store', 'redis', 'redis-store.js'));
  const { loadConfig } = require(path.join(root, 'dist', 'config.js'));
  const { redis: connection } = loadConfig({ REDIS_URL: redisUrl }).store;
  const write = { value, condition: { kind: 'none' }, maxKeys: 10_000_000 };
  const withLog = new RedisStore({ connection, prefix: `${prefix}-on`, commandTimeoutMs: 10_000 });
  const withoutLog = new RedisStore({ connection, prefix: `${prefix}-of`, commandTimeoutMs: 10_000, changeLog: false });
  try {
    await withLog.ready();
    await withoutLog.ready();
    const busy = 'acc_logmem';
    for (let i = 0; i < changes; i += 500) {
      await Promise.all(Array.from({ length: Math.min(500, changes - i) }, (_, j) => withLog.setItem(busy, `user/${String((i + j) % keyCount).padStart(6, '0')}`, write)));
    }
    const logKey = withLog.keys.changeLog(busy);
    const logBytes = Number(await redis.memory('USAGE', logKey, 'SAMPLES', '0')) || 0;
    const entries = Number(await redis.xlen(logKey));
    const busyPttl = Number(await redis.pttl(logKey));

    const idle = async (store, p) => {
      await store.setItem('acc_idle', 'user/000001', write);
      const keys = await keysMemory(redis, `${p}:{acc_idle}:*`);
      const logPttl = store === withLog ? Number(await redis.pttl(store.keys.changeLog('acc_idle'))) : null;
      const strip = `${p}:{acc_idle}:`;
      return { keys: keys.map((k) => ({ ...k, key: k.key.startsWith(strip) ? k.key.slice(strip.length) : k.key })), bytes: keys.reduce((sum, k) => sum + k.bytes, 0), logPttl };
    };
    const idleWithLog = await idle(withLog, `${prefix}-on`);
    const idleWithoutLog = await idle(withoutLog, `${prefix}-of`);
    return {
      changes,
      keyCount,
      valueBytes: Buffer.byteLength(value),
      log: { entries, bytes: logBytes, bytesPerEntry: entries ? logBytes / entries : null, pttl: busyPttl },
      idleWithLog,
      idleWithoutLog,
    };
  } finally {
    await withLog.close().catch(() => undefined);
    await withoutLog.close().catch(() => undefined);
  }
}

module.exports = { watchLatency, changeLogMemory };
