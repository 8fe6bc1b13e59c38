// On a real Redis Cluster: every script touches one slot, the account's; accounts spread over the
// primaries; and admin records share the {admin} slot.

import { randomId } from '../../../src/accounts';
import type { RedisStore } from '../../../src/store/redis/redis-store';
import { loadScripts } from '../../../src/store/redis/scripts';
import { primaries } from '../../../src/store/redis/connection';
import { createTestRedisStore, describeRedis, destroyTestRedisStore } from '../../helpers/redis';
import { createHash } from 'node:crypto';

const keySlot = require('cluster-key-slot') as (key: string | Buffer) => number;

const ACCOUNTS = 1000;
const request = { condition: { kind: 'none' as const }, maxKeys: 1_000_000 };

/** [start, end, primary port] of every slot range, as the cluster reports it. */
async function slotRanges(store: RedisStore): Promise<[number, number, number][]> {
  const slots = (await store.client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  return slots.map(([start, end, [, port]]) => [start, end, Number(port)]);
}

/** Calls every script of the store at least once: item scripts on one account, admin scripts on {admin}. */
async function callEveryScript(store: RedisStore, accountId: string): Promise<void> {
  await store.setItem(accountId, 'a', { ...request, value: '1' });
  await store.setItem(accountId, 'b', { ...request, value: '2', ttlSeconds: 600, condition: { kind: 'absent' } });
  const written = await store.setItem(accountId, 'a', { ...request, value: '3' });
  if (!written.ok) throw new Error('write failed');
  await store.setItem(accountId, 'a', { ...request, value: '4', condition: { kind: 'version', version: written.item.version } });
  await store.deleteItem(accountId, 'b', { kind: 'none' });
  await store.setItems(accountId, [
    { key: 'i1', request: { ...request, value: '1' } },
    { key: 'i2', request: { ...request, value: '2', expiresAt: Date.now() + 600_000, condition: { kind: 'absent' } } },
  ]);
  await store.countKeys(accountId);
  await store.listItems(accountId, { prefix: '', limit: 100 });
  await store.listItems(accountId, { prefix: '', limit: 100, values: { maxBytes: 1024 } });
  await store.commit(accountId, {
    checks: [{ key: 'a', version: null }, { key: 'c', version: null }],
    ops: [{ op: 'set', key: 'c', value: '1' }, { op: 'increment', key: 'n', by: 1 }, { op: 'delete', key: 'a' }],
    maxKeys: 1000,
  });
  await store.commit(accountId, { checks: [], ops: [{ op: 'set', key: 'c', value: '1' }, { op: 'increment', key: 'n', by: 1 }, { op: 'delete', key: 'a' }], maxKeys: 1000 });
  await store.keepWatched(accountId);
  await store.readChanges(accountId, await store.latestChange(accountId), 10, true);
  await store.acquireWatcher(accountId, randomId('key'), 10, 1000);
  const adminAccount = { id: randomId('acc'), name: null, limitOverrides: {}, createdAt: Date.now() };
  const keyRecord = (id: string) => ({ id, accountId: adminAccount.id, name: null, scopes: ['read' as const], createdAt: Date.now(), hash: randomId('key') });
  await store.createAccount(adminAccount, keyRecord(randomId('key')));
  const second = keyRecord(randomId('key'));
  await store.createApiKey(second);
  await store.updateAccountLimits(adminAccount.id, { maxKeys: 5 });
  await store.revokeApiKey(second.id);
  // Deleting an account: the mark on {admin}, then its items a batch at a time on the account's slot.
  await store.createAccount({ ...adminAccount, id: accountId }, { ...keyRecord(randomId('key')), accountId });
  await store.deleteAccount(accountId);
}

describeRedis('Redis Cluster', () => {
  let store: RedisStore;

  beforeAll(async () => {
    store = await createTestRedisStore();
  });

  afterAll(async () => {
    if (store) await destroyTestRedisStore(store);
  });

  it('runs every script on one slot, touching only the keys it was given: the account\'s, or {admin}', async () => {
    // Once first, so every script is cached on its primary and the monitored run shows EVALSHA <sha>.
    const accountId = randomId('acc');
    await callEveryScript(store, accountId);
    // What each primary is asked to run, watched with MONITOR while every script is called once or more.
    const monitors = await Promise.all(primaries(store.client).map((node) => node.monitor()));
    expect(monitors).toHaveLength(3);
    // Per primary, in order: each script call, with the commands it ran inside (MONITOR source "lua").
    const seen: { args: string[]; inner: string[][] }[] = [];
    monitors.forEach((monitor) => {
      let current: { args: string[]; inner: string[][] } | undefined;
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (source === 'lua') current?.inner.push(args);
        else seen.push((current = { args, inner: [] }));
      });
    });

    await callEveryScript(store, accountId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await Promise.all(monitors.map((monitor) => monitor.disconnect()));

    const shaToName = new Map(
      Object.entries(loadScripts()).map(([name, { lua }]) => [createHash('sha1').update(lua).digest('hex'), name]),
    );
    const calls = seen
      .filter(({ args: [command] }) => /^eval(sha)?$/i.test(command))
      .map(({ args: [command, script, numKeys, ...rest], inner }) => ({
        name: command.toLowerCase() === 'evalsha' ? shaToName.get(script) : 'EVAL (not cached)',
        keys: rest.slice(0, Number(numKeys)),
        // The key of each command the script ran that names one (TIME names none; PUBLISH names a
        // channel, which belongs to no slot).
        touched: inner
          .filter(([command]) => command.toLowerCase() !== 'publish')
          .map(([, key]) => key)
          .filter((key) => key?.startsWith(store.keys.prefix)),
      }))
      .filter((call) => call.name !== undefined && call.keys.some((key) => key.startsWith(store.keys.prefix)));

    expect(new Set(calls.map((call) => call.name))).toEqual(new Set(Object.keys(loadScripts())));
    for (const call of calls) {
      expect(call.touched.length).toBeGreaterThan(0);
      const slots = new Set([...call.keys, ...call.touched].map(keySlot));
      expect({ script: call.name, slots: slots.size }).toEqual({ script: call.name, slots: 1 });
      // What a script touches, it was given in KEYS (no key names built inside Lua).
      expect(call.touched.filter((key) => !call.keys.includes(key))).toEqual([]);
      const tag = call.keys[0].includes('{admin}') ? '{admin}' : `{${accountId}}`;
      expect(call.keys.every((key) => key.includes(tag))).toBe(true);
    }
  });

  it(`spreads ${ACCOUNTS} accounts over the three primaries`, async () => {
    const ranges = await slotRanges(store);
    const owners = [...new Set(ranges.map(([, , port]) => port))];
    expect(owners).toHaveLength(3);
    const accounts = Array.from({ length: ACCOUNTS }, () => randomId('acc'));
    await Promise.all(accounts.map((accountId) => store.setItem(accountId, 'k', { ...request, value: '1' })));

    // Where each account's item actually is: SCAN on every primary.
    const counts = new Map<number, number>();
    for (const node of primaries(store.client)) {
      let held = 0;
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${store.keys.prefix}:*:i:k`, 'COUNT', 1000);
        cursor = next;
        held += keys.length;
      } while (cursor !== '0');
      counts.set(Number(node.options.port), held);
    }
    expect([...counts.keys()].sort()).toEqual([...owners].sort());
    const spread = [...counts.values()];
    console.log(`[cluster] ${ACCOUNTS} accounts over 3 primaries: ${spread.join(' / ')}`);
    expect(spread.reduce((a, b) => a + b, 0)).toBe(ACCOUNTS);
    // Uniform hashing gives 333 ± 15 each; anything outside 250–420 means the tag is not spreading.
    for (const held of spread) {
      expect(held).toBeGreaterThan(250);
      expect(held).toBeLessThan(420);
    }
    // The owner of each account is the owner of the slot of its hash tag.
    for (const accountId of accounts.slice(0, 50)) {
      const slot = keySlot(`{${accountId}}`);
      expect(ranges.some(([start, end]) => slot >= start && slot <= end)).toBe(true);
    }
  });
});
