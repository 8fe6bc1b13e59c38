// Redis faults under load, against the service as a process on a Redis of the test's own (AOF,
// fsync always): killed, hung past the timeout, restarted from its AOF, and its script cache
// flushed. Every request ends within KV_REDIS_TIMEOUT_MS plus a margin, as a success or a 503
// with the whole envelope; the service heals without a restart; no write is lost or applied twice.

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { startRedisOnFreePort, startRedisServer, startService, stopProcess, type ServiceProcess } from '../helpers/processes';
import { describeRedis } from '../helpers/redis';
import { backoff } from '../helpers/retry';
import { waitFor } from '../helpers/wait';

const TIMEOUT_MS = 1000;
/** What a request may take beyond KV_REDIS_TIMEOUT_MS before it counts as hanging. */
const MARGIN_MS = 250;
/** The client gives up on a request after this long (and counts it as hanging). */
const ABORT_MS = 8000;
const CLIENTS = 6;
const UNAVAILABLE = 'The store cannot be reached; retry later.';

interface Sample {
  op: string;
  status: number;
  ms: number;
  body: unknown;
  etag: string | null;
  retryAfter: string | null;
  contentType: string | null;
}

/** Each client's own counter (CAS increments) and own key (unconditional writes of unique values). */
interface ClientState {
  counter: string;
  key: string;
  /** Increments acknowledged (200), and increments whose outcome is unknown (503, no answer). */
  acked: number;
  unknown: number;
  /** Every unconditional write in order: its value, and its version when acknowledged. */
  writes: { value: string; version?: string }[];
}

describeRedis('Redis faults under load', () => {
  let dir: string;
  let port: number;
  let redis: ChildProcess;
  let service: ServiceProcess;
  let base: string;
  let headers: Record<string, string>;
  let samples: Sample[] = [];
  let faults = 0;
  const apiKey = `kv_${randomBytes(24).toString('base64url')}`;
  const prefix = `kvtest-faults-${randomBytes(6).toString('hex')}`;

  async function call(op: string, method: string, target: string, init: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Sample> {
    const started = performance.now();
    let sample: Sample;
    try {
      const res = await fetch(`${base}${target}`, {
        method,
        headers: { ...headers, ...init.headers },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.timeout(ABORT_MS),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // Kept as text: the check below reports it.
      }
      sample = {
        op,
        status: res.status,
        ms: performance.now() - started,
        body,
        etag: res.headers.get('etag'),
        retryAfter: res.headers.get('retry-after'),
        contentType: res.headers.get('content-type'),
      };
    } catch (error) {
      sample = { op, status: 0, ms: performance.now() - started, body: String(error), etag: null, retryAfter: null, contentType: null };
    }
    samples.push(sample);
    return sample;
  }

  function newClient(name: string): ClientState {
    return { counter: `counter-${name}`, key: `key-${name}`, acked: 0, unknown: 0, writes: [] };
  }

  /** One round of a client: a CAS increment of its counter, a unique write of its key, a read. */
  async function round(client: ClientState, seq: number): Promise<boolean> {
    let failed = false;
    const read = await call('get', 'GET', `/kv/items/${client.counter}`);
    if (read.status === 200) {
      const value = (read.body as { data: { value: number } }).data.value;
      const cas = await call('cas', 'PUT', `/kv/items/${client.counter}`, { body: { value: value + 1 }, headers: { 'If-Match': read.etag! } });
      if (cas.status === 200) client.acked++;
      else if (cas.status !== 412) {
        client.unknown++;
        failed = true;
      }
    } else failed = true;
    const value = `${client.key}#${seq}`;
    const write = await call('put', 'PUT', `/kv/items/${client.key}`, { body: { value } });
    if (write.status === 200 || write.status === 201) {
      client.writes.push({ value, version: (write.body as { data: { version: string } }).data.version });
    } else {
      client.writes.push({ value });
      failed = true;
    }
    if ((await call('get', 'GET', `/kv/items/${client.key}`)).status !== 200) failed = true;
    return failed;
  }

  /** Runs every client's rounds until `until()` holds, backing off with jitter after a failed round. */
  async function runLoad(clients: ClientState[], until: () => boolean): Promise<void> {
    await Promise.all(
      clients.map(async (client) => {
        for (let seq = client.writes.length, failures = 0; !until(); seq++) {
          if (await round(client, seq)) await backoff(failures++, { baseMs: 20, maxMs: 200 });
          else failures = 0;
        }
      }),
    );
  }

  async function createCounters(clients: ClientState[]): Promise<void> {
    for (const client of clients) {
      const created = await call('setup', 'PUT', `/kv/items/${client.counter}`, { body: { value: 0 } });
      expect(created.status).toBe(201);
    }
  }

  /**
   * Every answer is a success or a 503 with the whole envelope and Retry-After, and comes within
   * the timeout plus the margin; returns what does not hold, one line each.
   */
  function violations(of: Sample[]): string[] {
    const found: string[] = [];
    for (const s of of) {
      const where = `${s.op} ${s.status} after ${Math.round(s.ms)} ms`;
      if (s.ms > TIMEOUT_MS + MARGIN_MS) found.push(`${where}: slower than ${TIMEOUT_MS} + ${MARGIN_MS} ms`);
      if (s.status === 503) {
        const envelope = JSON.stringify(s.body) === JSON.stringify({ error: { code: 'unavailable', message: UNAVAILABLE } });
        if (!envelope) found.push(`${where}: body ${JSON.stringify(s.body).slice(0, 200)}`);
        if (!/^application\/json/.test(s.contentType ?? '')) found.push(`${where}: content-type ${s.contentType}`);
        if (!/^[1-9]\d*$/.test(s.retryAfter ?? '')) found.push(`${where}: Retry-After ${s.retryAfter}`);
      } else if (![200, 201, 204, 404, 412].includes(s.status)) {
        found.push(`${where}: ${JSON.stringify(s.body).slice(0, 200)}`);
      }
    }
    return found;
  }

  /**
   * After the load and recovery: no acknowledged increment lost, none applied twice (every
   * increment beyond the acknowledged ones is one whose answer was lost, applied at most once).
   * Each key holds either its last acknowledged write, with that write's version, or a write whose
   * answer was lost: an older acknowledged value, or a newer version, would be a write applied twice.
   */
  async function expectConsistent(clients: ClientState[]): Promise<void> {
    for (const client of clients) {
      const counter = await call('verify', 'GET', `/kv/items/${client.counter}`);
      expect(counter.status).toBe(200);
      const final = (counter.body as { data: { value: number } }).data.value;
      const bounds = { counter: client.counter, acked: client.acked, unknown: client.unknown };
      expect({ ...bounds, final, within: final >= client.acked && final <= client.acked + client.unknown }).toEqual({ ...bounds, final, within: true });

      const key = await call('verify', 'GET', `/kv/items/${client.key}`);
      const acked = client.writes.filter((write) => write.version !== undefined);
      if (acked.length === 0 && key.status === 404) continue;
      expect(key.status).toBe(200);
      const { value, version } = (key.body as { data: { value: string; version: string } }).data;
      const match = client.writes.find((write) => write.value === value);
      const last = acked[acked.length - 1];
      const expected = match?.version === undefined ? { value, version } : { value: last?.value, version: last?.version };
      expect({ key: client.key, known: match !== undefined, value, version }).toEqual({ key: client.key, known: true, ...expected });
    }
  }

  function figures(name: string, extra: Record<string, unknown> = {}): void {
    const byStatus: Record<number, number> = {};
    for (const s of samples) byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    const failed = samples.filter((s) => s.status === 503 || s.status === 0);
    const maxFailedMs = failed.length > 0 ? Math.round(Math.max(...failed.map((s) => s.ms))) : 0;
    const maxMs = samples.length > 0 ? Math.round(Math.max(...samples.map((s) => s.ms))) : 0;
    console.log(`[faults] ${name}: ${JSON.stringify({ faults, requests: samples.length, byStatus, maxFailedMs, maxMs, ...extra })}`);
  }

  async function waitReady(): Promise<number> {
    const started = Date.now();
    await waitFor(async () => (await call('readyz', 'GET', '/readyz')).status === 200, { what: '/readyz to answer 200', timeoutMs: 15_000 });
    return Date.now() - started;
  }

  /** The Redis of this file, started again on its port and AOF directory if it is not running. */
  async function ensureRedis(): Promise<void> {
    if (redis && redis.exitCode === null && redis.signalCode === null) return;
    redis = await startRedisServer(port, dir);
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-faults-'));
    ({ child: redis, port } = await startRedisOnFreePort(dir));
    service = await startService({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      KV_REDIS_PREFIX: prefix,
      KV_REDIS_TIMEOUT_MS: String(TIMEOUT_MS),
      KV_BOOTSTRAP_API_KEY: apiKey,
      // The load is one account's: its rate limits are not what is tested here.
      KV_READS_PER_SECOND: '1000000',
      KV_WRITES_PER_SECOND: '1000000',
    });
    base = service.url;
    headers = { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' };
    await waitReady();
  }, 30_000);

  beforeEach(async () => {
    await ensureRedis();
    await waitReady();
    samples = [];
    faults = 0;
  });

  afterAll(async () => {
    if (redis) {
      redis.kill('SIGCONT');
      await stopProcess(redis);
    }
    if (service) await stopProcess(service.child);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 at once while Redis is killed under load, and recovers by itself when it is back', async () => {
    const clients = Array.from({ length: CLIENTS }, (_, i) => newClient(`killed-${i}`));
    await createCounters(clients);
    samples = [];
    let phase: 'before' | 'down' | 'after' = 'before';
    let phaseEnds = Date.now() + 400;
    const load = runLoad(clients, () => phase === 'after' && Date.now() > phaseEnds);

    await new Promise((resolve) => setTimeout(resolve, 400));
    await stopProcess(redis, 'SIGKILL');
    faults++;
    phase = 'down';
    const downFrom = samples.length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const downTo = samples.length;
    redis = await startRedisServer(port, dir);
    const recoveryMs = await waitReady();
    phase = 'after';
    phaseEnds = Date.now() + 500;
    await load;

    const during = samples.slice(downFrom, downTo);
    figures('Redis killed under load', { during: during.length, recoveryMs });
    expect(violations(samples)).toEqual([]);
    // While Redis is gone, requests are answered (503), and after it is back they succeed again.
    expect(during.filter((s) => s.status === 503).length).toBeGreaterThan(0);
    const tail = samples.slice(-CLIENTS);
    expect(tail.map((s) => s.status).filter((status) => status >= 500)).toEqual([]);
    await expectConsistent(clients);
  }, 30_000);

  it('answers every request with 503 within the timeout while Redis hangs, and applies nothing twice once it wakes', async () => {
    const clients = Array.from({ length: CLIENTS }, (_, i) => newClient(`hung-${i}`));
    await createCounters(clients);
    const first = await call('setup', 'GET', `/kv/items/${clients[0].counter}`);
    samples = [];

    redis.kill('SIGSTOP');
    faults++;
    let single: Sample;
    let burst: Sample[];
    let loadSamples: Sample[];
    try {
      // A single conditional write.
      single = await call('cas', 'PUT', `/kv/items/${clients[0].counter}`, { body: { value: 1 }, headers: { 'If-Match': first.etag! } });
      if (single.status === 200) clients[0].acked++;
      else clients[0].unknown++;
      // A burst of concurrent requests of every kind.
      burst = await Promise.all([
        ...clients.map((client) => call('get', 'GET', `/kv/items/${client.key}`)),
        ...clients.map((client, i) => {
          const value = `${client.key}#burst-${i}`;
          client.writes.push({ value });
          return call('put', 'PUT', `/kv/items/${client.key}`, { body: { value } });
        }),
        call('list', 'GET', '/kv/items?prefix=key-'),
        call('usage', 'GET', '/kv/usage'),
        call('delete', 'DELETE', '/kv/items/absent-key'),
      ]);
      // Mixed load from every client for 2.5 s.
      const from = samples.length;
      const ends = Date.now() + 2500;
      await runLoad(clients, () => Date.now() > ends);
      loadSamples = samples.slice(from);
    } finally {
      redis.kill('SIGCONT');
    }
    const recoveryMs = await waitReady();
    // Everything works again.
    const after = samples.length;
    const ends = Date.now() + 500;
    await runLoad(clients, () => Date.now() > ends);
    const afterSamples = samples.slice(after);

    const ms = (list: Sample[]) => list.map((s) => Math.round(s.ms));
    figures('Redis hung (SIGSTOP) past the timeout', {
      singleMs: Math.round(single.ms),
      burstMaxMs: Math.max(...ms(burst)),
      loadMaxMs: Math.max(0, ...ms(loadSamples)),
      loadRequests: loadSamples.length,
      recoveryMs,
    });
    expect(single.status).toBe(503);
    expect(burst.map((s) => s.status)).toEqual(burst.map(() => 503));
    expect(loadSamples.filter((s) => s.status !== 503).map((s) => `${s.op} ${s.status}`)).toEqual([]);
    expect(violations(samples)).toEqual([]);
    expect(afterSamples.filter((s) => s.status >= 500).map((s) => `${s.op} ${s.status}`)).toEqual([]);
    expect(afterSamples.length).toBeGreaterThan(0);
    await expectConsistent(clients);
  }, 40_000);

  it('keeps every write acknowledged before Redis restarts from its AOF, and recovers by itself', async () => {
    const acked = new Map<string, { value: string; version: string }>();
    let stop = false;
    let sent = 0;
    const writers = Array.from({ length: CLIENTS }, async (_, writer) => {
      for (let i = 0, failures = 0; !stop; i++) {
        const key = `aof-${writer}-${i}`;
        const value = `${key}:${randomBytes(4).toString('hex')}`;
        sent++;
        const res = await call('put', 'PUT', `/kv/items/${key}`, { body: { value }, headers: { 'If-None-Match': '*' } });
        if (res.status === 201) {
          acked.set(key, { value, version: (res.body as { data: { version: string } }).data.version });
          failures = 0;
        } else await backoff(failures++, { baseMs: 20, maxMs: 200 });
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const ackedBeforeKill = acked.size;
    // kill -9: only what the AOF holds survives. Writers keep going through the restart.
    await stopProcess(redis, 'SIGKILL');
    faults++;
    redis = await startRedisServer(port, dir);
    const recoveryMs = await waitReady();
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    await Promise.all(writers);

    figures('Redis restarted from its AOF', { writesSent: sent, acked: acked.size, ackedBeforeKill, recoveryMs });
    expect(ackedBeforeKill).toBeGreaterThan(0);
    expect(violations(samples)).toEqual([]);
    const missing: string[] = [];
    for (const [key, { value, version }] of acked) {
      const res = await call('verify', 'GET', `/kv/items/${key}`);
      const data = (res.body as { data?: { value: string; version: string } }).data;
      if (res.status !== 200 || data?.value !== value || data.version !== version) missing.push(`${key}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    expect(missing).toEqual([]);
  }, 30_000);

  it('keeps serving, with nothing applied twice, while the script cache is flushed under load', async () => {
    const clients = Array.from({ length: CLIENTS }, (_, i) => newClient(`flush-${i}`));
    await createCounters(clients);
    samples = [];
    const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await admin.connect();
      let stop = false;
      const load = runLoad(clients, () => stop);
      const ends = Date.now() + 2000;
      while (Date.now() < ends) {
        await admin.script('FLUSH');
        faults++;
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
      }
      stop = true;
      await load;
    } finally {
      await admin.quit().catch(() => admin.disconnect());
    }

    figures('SCRIPT FLUSH under load');
    expect(samples.filter((s) => ![200, 201, 404, 412].includes(s.status)).map((s) => `${s.op} ${s.status} ${JSON.stringify(s.body)}`)).toEqual([]);
    expect(violations(samples)).toEqual([]);
    expect(clients.reduce((sum, client) => sum + client.acked, 0)).toBeGreaterThan(0);
    await expectConsistent(clients);
  }, 30_000);
});
