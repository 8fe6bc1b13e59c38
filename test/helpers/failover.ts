// Compare-and-swap increments through several API replicas while a Redis primary is killed, with
// the bookkeeping that tells acknowledged, lost and double-applied writes apart.

import { randomPrefix } from './ids';
import { startTwoReplicas, type ServiceReplicas } from './processes';
import { createAccount, type TestAccount } from './client';
import { clusterPrimaryOf, connectionEnv, type RedisGroup } from './redis-groups';
import { backoff } from './retry';
import { sleep, waitFor } from './wait';

/** Two KV processes on `group` under a fresh prefix (see startTwoReplicas): the replicas the load goes through. */
export function startReplicasOn(group: RedisGroup): Promise<ServiceReplicas> {
  return startTwoReplicas({ ...connectionEnv(group.connection), KV_REDIS_PREFIX: randomPrefix() });
}

/** One HTTP exchange, as the load saw it; status 0 is a connection error or a client timeout. */
interface Event {
  at: number;
  status: number;
  replica: number;
}

export interface IncrementReport {
  /** CAS writes answered 200. */
  acked: number;
  /** Distinct values those writes set: each value is written by exactly one successful CAS in a chain. */
  distinctAcked: number;
  /** Acknowledged writes that Redis did not keep (the chain restarted below them after the failover). */
  lost: number;
  /** CAS writes whose outcome the client could not know (503, connection error, timeout). */
  unknown: number;
  /** Increments Redis kept that no client saw acknowledged: each must be one of the unknown ones. */
  appliedUnacked: number;
  /** The counter once the load stopped. */
  finalValue: number;
  /** 412 answers: another client's CAS won; retried with a fresh read. */
  conflicts: number;
  /** Every status other than 200, 201 and 412, by status. */
  failures: Record<number, number>;
  /** Failed requests through each replica, and the last of them (ms after the kill). */
  failuresByReplica: { count: number; lastMs: number }[];
  /** From the first failed request to the last, ms (0 when nothing failed). */
  failureWindowMs: number;
  /** From the kill to the first failed request, ms. */
  firstFailureMs: number;
  /** Failed requests before the kill (there should be none). */
  failuresBeforeKill: number;
  /** From the kill to the first success after the last failure, ms. */
  recoveryMs: number;
  /** Successful requests after the last failure. */
  successesAfterRecovery: number;
  requests: number;
}

export interface IncrementLoad {
  /** Base URLs of the API replicas; requests alternate between them. */
  replicas: string[];
  apiKey: string;
  key: string;
  clients: number;
  /** Steady load before the kill. */
  beforeKillMs: number;
  kill(): Promise<void>;
  /** Load kept up after recovery (this many consecutive successes after the kill). */
  recoveredAfter: number;
  afterRecoveryMs: number;
  /** Hard bound on the whole run. */
  maxMs: number;
}

async function send(url: string, init: RequestInit): Promise<{ status: number; body: unknown; etag: string | null }> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, etag: res.headers.get('etag') };
  } catch {
    return { status: 0, body: null, etag: null };
  }
}

export async function readCounter(baseUrl: string, apiKey: string, key: string): Promise<number> {
  const res = await send(`${baseUrl}/kv/items/${key}`, { headers: { Authorization: `Bearer ${apiKey}` } });
  if (res.status !== 200) throw new Error(`reading the counter failed: ${res.status}`);
  return (res.body as { data: { value: number } }).data.value;
}

/**
 * Runs `clients` loops of read-then-CAS increments on `key` through alternating replicas, kills
 * the primary after `beforeKillMs`, and stops `afterRecoveryMs` after service came back (or at
 * `maxMs`). Every write is If-Match: a retry of a write that did land fails with 412 and cannot
 * apply twice; the report checks that, and counts what was lost.
 */
export async function incrementsThroughFailover(load: IncrementLoad): Promise<IncrementReport> {
  const auth = { Authorization: `Bearer ${load.apiKey}` };
  const path = `/kv/items/${load.key}`;
  const created = await send(`${load.replicas[0]}${path}`, {
    method: 'PUT',
    headers: { ...auth, 'Content-Type': 'application/json', 'If-None-Match': '*' },
    body: JSON.stringify({ value: 0 }),
  });
  if (created.status !== 201) throw new Error(`creating the counter failed: ${created.status}`);

  const started = Date.now();
  const events: Event[] = [];
  const ackedValues: number[] = [];
  let unknown = 0;
  let conflicts = 0;
  let killedAt = Infinity;
  let consecutiveAfterKill = 0;
  let recoveredAt = Infinity;
  let next = 0;
  const done = () => Date.now() - started > load.maxMs || Date.now() - recoveredAt > load.afterRecoveryMs;
  const record = (status: number, replica: number) => {
    const at = Date.now();
    events.push({ at, status, replica });
    if (at < killedAt) return;
    if (status === 200 || status === 201 || status === 412) {
      consecutiveAfterKill++;
      if (consecutiveAfterKill >= load.recoveredAfter && recoveredAt === Infinity) recoveredAt = at;
    } else {
      consecutiveAfterKill = 0;
      recoveredAt = Infinity;
    }
  };

  const client = async () => {
    // Back off with jitter after a failure or a lost race, so the clients do not retry in lockstep.
    for (let setbacks = 0; !done(); ) {
      const replica = next++ % load.replicas.length;
      const base = load.replicas[replica];
      const read = await send(`${base}${path}`, { headers: auth });
      record(read.status, replica);
      if (read.status !== 200) {
        await backoff(setbacks++, { baseMs: 10, maxMs: 100 });
        continue;
      }
      const value = (read.body as { data: { value: number } }).data.value;
      const write = await send(`${base}${path}`, {
        method: 'PUT',
        headers: { ...auth, 'Content-Type': 'application/json', 'If-Match': read.etag! },
        body: JSON.stringify({ value: value + 1 }),
      });
      record(write.status, replica);
      if (write.status === 200) ackedValues.push(value + 1);
      else if (write.status === 412) conflicts++;
      else unknown++;
      if (write.status === 200) setbacks = 0;
      else await backoff(setbacks++, { baseMs: 10, maxMs: 100 });
    }
  };

  const running = Promise.all(Array.from({ length: load.clients }, client));
  await sleep(load.beforeKillMs);
  killedAt = Date.now();
  await load.kill();
  await running;

  // -1 (reported, and failing the check) when the counter cannot be read again within 5 s.
  const finalValue = await waitFor(() => readCounter(load.replicas[0], load.apiKey, load.key), {
    what: 'the counter to be readable',
    timeoutMs: 5000,
    intervalMs: 100,
  }).catch(() => -1);
  const failed = events.filter((event) => ![200, 201, 412].includes(event.status));
  const failures: Record<number, number> = {};
  for (const { status } of failed) failures[status] = (failures[status] ?? 0) + 1;
  const lastFailure = failed.length > 0 ? failed[failed.length - 1].at : killedAt;
  const firstSuccessAfter = events.find((event) => event.at > lastFailure && [200, 201, 412].includes(event.status));
  const distinctAcked = new Set(ackedValues).size;
  return {
    acked: ackedValues.length,
    distinctAcked,
    lost: ackedValues.length - distinctAcked,
    unknown,
    appliedUnacked: finalValue - distinctAcked,
    finalValue,
    conflicts,
    failures,
    failuresByReplica: load.replicas.map((_url, replica) => {
      const own = failed.filter((event) => event.replica === replica);
      return { count: own.length, lastMs: own.length > 0 ? own[own.length - 1].at - killedAt : 0 };
    }),
    failureWindowMs: failed.length > 0 ? lastFailure - failed[0].at : 0,
    firstFailureMs: failed.length > 0 ? failed[0].at - killedAt : 0,
    failuresBeforeKill: failed.filter((event) => event.at < killedAt).length,
    recoveryMs: firstSuccessAfter ? firstSuccessAfter.at - killedAt : Infinity,
    successesAfterRecovery: events.filter((event) => event.at > lastFailure && [200, 201, 412].includes(event.status)).length,
    requests: events.length,
  };
}

/** The assertions both failover tests make, and the line they print. */
export function checkIncrementReport(
  name: string,
  report: IncrementReport,
  maxWindowMs: number,
  replicas: { outputs(): string[] },
): void {
  console.log(`[failover] ${name}: ${JSON.stringify(report)}`);
  try {
    expectIncrementReport(report, maxWindowMs);
  } catch (error) {
    // What the replicas logged besides their request lines, to tell why.
    for (const output of replicas.outputs()) {
      console.log(output.split('\n').filter((line) => !line.includes('"msg":"request"')).join('\n').slice(-4000));
    }
    throw error;
  }
}

function expectIncrementReport(report: IncrementReport, maxWindowMs: number): void {
  // Only 503 while the primary is gone: never a 500, a hang, or a dropped connection.
  expect(Object.keys(report.failures).filter((status) => status !== '503')).toEqual([]);
  expect(report.failuresBeforeKill).toBe(0);
  expect(report.failureWindowMs).toBeLessThan(maxWindowMs);
  // Recovered without a restart, and kept serving.
  expect(report.successesAfterRecovery).toBeGreaterThan(50);
  expect(report.acked).toBeGreaterThan(0);
  // No double application: every increment Redis kept beyond the acknowledged ones is one of the
  // writes whose answer was lost (503), each applied at most once.
  expect(report.appliedUnacked).toBeGreaterThanOrEqual(0);
  expect(report.appliedUnacked).toBeLessThanOrEqual(report.unknown);
}

export interface WatchFailoverReport {
  /** Writes answered 201, by key (each key is written once). */
  acked: Map<string, string>;
  /** Of them, those Redis still has at that version once it recovered. */
  kept: string[];
  /** Set events the watcher received, by key → version. */
  delivered: Map<string, string>;
  /** Event ids received more than once. */
  repeated: number;
  /** Reset events received, and the number of acknowledged writes made before the first. */
  resets: number;
  writesBeforeReset: number;
  /** Whether the watch stream stayed open through the failover. */
  streamOpen: boolean;
}

/**
 * Writes distinct keys one after another through `writeUrl` while a client watches the account
 * through `watchUrl`, kills the primary after `beforeKillMs` and goes on until `afterKillMs`; then
 * reads back which acknowledged writes Redis kept and which the watcher was sent.
 */
export async function watchThroughFailover(load: {
  writeUrl: string;
  watchUrl: string;
  apiKey: string;
  beforeKillMs: number;
  afterKillMs: number;
  kill(): Promise<void>;
}): Promise<WatchFailoverReport> {
  const { openWatch } = await import('./watch');
  const auth = `Bearer ${load.apiKey}`;
  const stream = await openWatch(load.watchUrl, auth);
  if (stream.status !== 200) throw new Error(`the watch was refused: ${stream.status} ${stream.errorBody}`);
  let streamOpen = true;
  void stream.ended.then(() => (streamOpen = false));

  const acked = new Map<string, string>();
  const ackedAt: [key: string, at: number][] = [];
  const started = Date.now();
  let killedAt = Infinity;
  let n = 0;
  const killing = (async () => {
    await sleep(load.beforeKillMs);
    killedAt = Date.now();
    await load.kill();
  })();
  while (Date.now() - started < load.beforeKillMs || Date.now() - killedAt < load.afterKillMs) {
    const key = `w/${String(n++).padStart(6, '0')}`;
    const res = await send(`${load.writeUrl}/kv/items/${encodeURIComponent(key)}`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ value: n }),
    });
    if (res.status === 201) {
      acked.set(key, (res.body as { data: { version: string } }).data.version);
      ackedAt.push([key, Date.now()]);
    } else {
      await sleep(20);
    }
  }
  await killing;

  // What Redis kept: each acknowledged key still at the version written.
  const kept: string[] = [];
  const keys = [...acked.keys()];
  for (let i = 0; i < keys.length; i += 100) {
    const res = await send(`${load.writeUrl}/kv/items:batchGet`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ keys: keys.slice(i, i + 100) }),
    });
    if (res.status !== 200) throw new Error(`batchGet failed after the failover: ${res.status}`);
    const items = (res.body as { data: { items: ({ key: string; version: string } | null)[] } }).data.items;
    items.forEach((item, j) => {
      if (item && item.version === acked.get(keys[i + j])) kept.push(keys[i + j]);
    });
  }

  // Everything the watcher is sent, until it has been quiet for 3 s (it reads at least every second).
  const delivered = new Map<string, string>();
  const ids = new Set<string>();
  let repeated = 0;
  let resets = 0;
  let firstResetAt = Infinity;
  for (;;) {
    let event;
    try {
      event = await stream.next(3000);
    } catch {
      break;
    }
    if (event.id !== undefined) {
      if (ids.has(event.id)) repeated++;
      ids.add(event.id);
    }
    if (event.event === 'reset') {
      resets++;
      firstResetAt = Math.min(firstResetAt, Date.now());
    }
    if (event.event === 'set' && event.data.key) delivered.set(event.data.key, String(event.data.version));
  }
  stream.close();
  // A reset arrives some time after the writes it stands for; writes acknowledged before the
  // kill's recovery may be behind it.
  const writesBeforeReset = resets === 0 ? 0 : ackedAt.filter(([, at]) => at < firstResetAt).length;
  return { acked, kept, delivered, repeated, resets, writesBeforeReset, streamOpen };
}

/**
 * Checks a watch through a failover: the stream stayed open, no event came twice, and every
 * acknowledged write Redis kept reached the watcher — unless a single reset told it to re-read
 * (possible when it had been sent a change that the failover then lost).
 */
export function checkWatchReport(what: string, report: WatchFailoverReport): void {
  console.info(
    `[${what}] writes acknowledged ${report.acked.size}, kept by Redis ${report.kept.length}, delivered ${report.delivered.size}, ` +
      `resets ${report.resets}${report.resets > 0 ? ` (after ${report.writesBeforeReset} writes)` : ''}`,
  );
  expect(report.streamOpen).toBe(true);
  expect(report.repeated).toBe(0);
  expect(report.kept.length).toBeGreaterThan(0);
  expect(report.resets).toBeLessThanOrEqual(1);
  const missing = report.kept.filter((key) => report.delivered.get(key) !== report.acked.get(key));
  if (report.resets === 0) expect(missing).toEqual([]);
  else expect(missing.length).toBeLessThanOrEqual(report.writesBeforeReset);
}

const keySlot = require('cluster-key-slot') as (key: string | Buffer) => number;

/**
 * A new account (through `url`) whose slot lives on a Cluster primary other than the one holding
 * the admin records: killing that primary then fails the account's items, not authentication.
 */
export async function accountOffAdminPrimary(group: RedisGroup, url: string): Promise<TestAccount & { primary: number }> {
  const adminPrimary = await clusterPrimaryOf(group, keySlot('{admin}'));
  for (let i = 0; i < 50; i++) {
    const account = await createAccount(url);
    const primary = await clusterPrimaryOf(group, keySlot(`{${account.accountId}}`));
    if (primary !== adminPrimary) return { ...account, primary };
  }
  throw new Error('no account on a primary other than the admin records\' after 50 tries');
}
