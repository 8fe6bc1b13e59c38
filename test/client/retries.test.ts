// The client's retries against a real service: 429 after Retry-After, 503 from a store cut off, dropped and
// stalled connections — repeated only for requests that are safe to repeat.

import {
  KvClient,
  KvInternalError,
  KvNetworkError,
  KvPreconditionFailedError,
  KvRateLimitedError,
  KvUnavailableError,
} from '../../packages/client/src';
import { describeStore } from '../helpers/app';
import {
  flakyProxy,
  flakyStore,
  listenOnFlakyStore,
  startClientServer,
  type ClientServer,
  type FlakyStore,
  type Listening,
} from './server';

describeStore('KvClient retries', () => {
  let s: ClientServer;

  beforeAll(async () => {
    s = await startClientServer();
  });
  afterAll(() => s.close());

  describe('429 rate_limited', () => {
    it('waits Retry-After and retries, so a burst over the rate limit still completes', async () => {
      const account = await s.account({ readsPerSecond: 2 });
      const kv = new KvClient({ url: s.url, apiKey: account.apiKey, retry: { retries: 6 } });
      await kv.set('k', 'v');
      const started = Date.now();
      const reads = await Promise.all(Array.from({ length: 5 }, () => kv.get('k')));
      expect(reads.map((r) => r!.value)).toStrictEqual(['v', 'v', 'v', 'v', 'v']);
      // Five reads at two a second need at least a third window.
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    });

    it('throws KvRateLimitedError with retryAfter when retries are off', async () => {
      const account = await s.account({ writesPerSecond: 1 });
      const kv = new KvClient({ url: s.url, apiKey: account.apiKey, retry: false });
      const results = await Promise.allSettled([kv.set('a', 1), kv.set('b', 2), kv.set('c', 3)]);
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      for (const error of refused) {
        expect(error).toBeInstanceOf(KvRateLimitedError);
        expect(error).toMatchObject({ status: 429, code: 'rate_limited', retryAfter: expect.any(Number) });
        expect((error as KvRateLimitedError).retryAfter).toBeGreaterThanOrEqual(1);
      }
    });

    it('retries an unconditional write after a 429 (nothing was applied), and applies it once', async () => {
      const account = await s.account({ writesPerSecond: 2 });
      const kv = new KvClient({ url: s.url, apiKey: account.apiKey, retry: { retries: 6 } });
      const counts = await Promise.all(Array.from({ length: 5 }, () => kv.increment('n')));
      expect(counts.map((c) => c.value).sort()).toStrictEqual([1, 2, 3, 4, 5]);
      expect((await kv.get('n'))!.value).toBe(5);
    });
  });

  describe('503 unavailable from a store that is cut off', () => {
    let flaky: FlakyStore;
    let service: Listening;

    beforeAll(async () => {
      flaky = await flakyStore(s.t);
      service = await listenOnFlakyStore(s.t, flaky);
    });
    afterAll(async () => {
      await service.close();
      await flaky.destroy();
    });

    async function client(options: ConstructorParameters<typeof KvClient>[0]['retry'] = {}) {
      const account = await s.account();
      return new KvClient({ url: service.url, apiKey: account.apiKey, retry: options });
    }

    it('retries a read until the store answers', async () => {
      const kv = await client();
      await kv.set('k', 'v');
      flaky.failNext('getItem', 2);
      const before = flaky.calls('getItem');
      expect((await kv.get('k'))!.value).toBe('v');
      expect(flaky.calls('getItem') - before).toBe(3);
    });

    it('retries a conditional write (ifNotExists, ifVersion, a conditional delete)', async () => {
      const kv = await client();
      flaky.failNext('setItem', 1);
      let before = flaky.calls('setItem');
      const created = await kv.set('k', 1, { ifNotExists: true });
      expect(flaky.calls('setItem') - before).toBe(2);
      flaky.failNext('setItem', 1);
      before = flaky.calls('setItem');
      const replaced = await kv.set('k', 2, { ifVersion: created.version });
      expect(flaky.calls('setItem') - before).toBe(2);
      flaky.failNext('deleteItem', 1);
      before = flaky.calls('deleteItem');
      expect(await kv.delete('k', { ifVersion: replaced.version })).toBe(true);
      expect(flaky.calls('deleteItem') - before).toBe(2);
    });

    it('retries a commit whose checks cover every key it writes, and not one that writes an unchecked key', async () => {
      const kv = await client();
      flaky.failNext('commit', 1);
      let before = flaky.calls('commit');
      await kv.commit({ checks: [{ key: 'a', version: null }], ops: [{ op: 'set', key: 'a', value: 1 }] });
      expect(flaky.calls('commit') - before).toBe(2);

      flaky.failNext('commit', 1);
      before = flaky.calls('commit');
      const error = await kv
        .commit({ checks: [{ key: 'a', version: null }], ops: [{ op: 'set', key: 'b', value: 1 }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KvUnavailableError);
      expect(flaky.calls('commit') - before).toBe(1);
    });

    it('never retries an unconditional write: set, delete, increment, patch and import fail with KvUnavailableError after one try', async () => {
      const kv = await client();
      await kv.set('existing', { a: 1 });
      const cases: [keyof FlakyStore['store'], () => Promise<unknown>][] = [
        ['setItem', () => kv.set('k', 1)],
        ['deleteItem', () => kv.delete('existing')],
        ['commit', () => kv.increment('n')],
        ['setItem', () => kv.patch('existing', { b: 2 })],
        ['setItems', () => kv.import([{ key: 'i', value: 1 }])],
      ];
      for (const [method, write] of cases) {
        flaky.failNext(method, 1);
        const before = flaky.calls(method);
        const error = await write().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KvUnavailableError);
        expect(error).toMatchObject({ status: 503, code: 'unavailable' });
        expect(flaky.calls(method) - before).toBe(1);
      }
      expect(await kv.batchGet(['k', 'n', 'i'])).toStrictEqual([null, null, null]);
      expect((await kv.get('existing'))!.value).toStrictEqual({ a: 1 });
    });

    it('does not retry a 500 internal, even for a read, and throws KvInternalError with the request id', async () => {
      const kv = await client();
      flaky.breakNext('getItem', 1);
      const before = flaky.calls('getItem');
      const error = await kv.get('k').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KvInternalError);
      expect(error).toMatchObject({ status: 500, code: 'internal', requestId: expect.any(String) });
      expect(flaky.calls('getItem') - before).toBe(1);
    });

    it('gives up after `retries` and throws KvUnavailableError', async () => {
      const kv = await client({ retries: 1 });
      flaky.failNext('getItem', 5);
      const before = flaky.calls('getItem');
      await expect(kv.get('k')).rejects.toBeInstanceOf(KvUnavailableError);
      expect(flaky.calls('getItem') - before).toBe(2);
      flaky.failNext('getItem', 0);
    });
  });

  describe('network failures', () => {
    it('retries a read on a dropped connection and on a stalled one (timeoutMs)', async () => {
      const account = await s.account();
      await new KvClient({ url: s.url, apiKey: account.apiKey }).set('k', 'v');
      const proxy = await flakyProxy(s.port, ['drop', 'hang']);
      try {
        const kv = new KvClient({ url: proxy.url, apiKey: account.apiKey, timeoutMs: 500 });
        expect((await kv.get('k'))!.value).toBe('v');
        expect(proxy.plan).toStrictEqual([]);
        expect(proxy.connections()).toBeGreaterThanOrEqual(3);
      } finally {
        await proxy.close();
      }
    });

    it('throws KvNetworkError (timedOut) for a stalled unconditional write, and does not send it again', async () => {
      const account = await s.account();
      const proxy = await flakyProxy(s.port, ['hang']);
      try {
        const kv = new KvClient({ url: proxy.url, apiKey: account.apiKey, timeoutMs: 300 });
        const error = await kv.set('k', 1).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KvNetworkError);
        expect(error).toMatchObject({ status: 0, code: 'network_error', timedOut: true });
        expect(proxy.connections()).toBe(1);
      } finally {
        await proxy.close();
      }
    });

    it('throws KvNetworkError for a dropped unconditional write and a dropped increment, each sent once', async () => {
      const account = await s.account();
      const proxy = await flakyProxy(s.port, ['drop', 'drop']);
      try {
        const kv = new KvClient({ url: proxy.url, apiKey: account.apiKey });
        const setError = await kv.set('k', 1).catch((e: unknown) => e);
        expect(setError).toBeInstanceOf(KvNetworkError);
        expect((setError as KvNetworkError).timedOut).toBe(false);
        await expect(kv.increment('n')).rejects.toBeInstanceOf(KvNetworkError);
        expect(proxy.connections()).toBe(2);
        expect(await kv.batchGet(['k', 'n'])).toStrictEqual([null, null]);
      } finally {
        await proxy.close();
      }
    });

    it('retries a conditional write on a dropped connection', async () => {
      const account = await s.account();
      const proxy = await flakyProxy(s.port, ['drop']);
      try {
        const kv = new KvClient({ url: proxy.url, apiKey: account.apiKey });
        expect((await kv.set('k', 1, { ifNotExists: true })).created).toBe(true);
        expect(proxy.connections()).toBe(2);
      } finally {
        await proxy.close();
      }
    });

    it("answers a retried conditional write whose first answer was lost with a 412 naming the version it wrote", async () => {
      // The write reaches the service and is applied, but its answer never arrives: the retry's
      // condition no longer holds, which is what makes a conditional write safe to send twice.
      const account = await s.account();
      const direct = new KvClient({ url: s.url, apiKey: account.apiKey });
      const created = await direct.set('k', 1);
      const proxy = await flakyProxy(s.port, ['lose']);
      try {
        const kv = new KvClient({ url: proxy.url, apiKey: account.apiKey });
        const error = await kv.set('k', 2, { ifVersion: created.version }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KvPreconditionFailedError);
        const now = (await direct.get('k'))!;
        expect(now.value).toBe(2);
        expect((error as KvPreconditionFailedError).currentVersion).toBe(now.version);
        expect(proxy.connections()).toBe(2);
      } finally {
        await proxy.close();
      }
    });

    it('stops at once when the caller aborts, with the abort reason', async () => {
      const account = await s.account();
      const proxy = await flakyProxy(s.port, ['hang']);
      try {
        const kv = new KvClient({ url: proxy.url, apiKey: account.apiKey, timeoutMs: 0 });
        const controller = new AbortController();
        const pending = kv.get('k', { signal: controller.signal }).catch((e: unknown) => e);
        setTimeout(() => controller.abort(new Error('caller gave up')), 100);
        expect(await pending).toStrictEqual(new Error('caller gave up'));
        expect(proxy.connections()).toBe(1);
      } finally {
        await proxy.close();
      }
    });
  });
});
