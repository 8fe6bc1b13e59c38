// KvClient.watch and update against a real service: events as an async iterator that resumes on its own after a
// broken connection, a reset past retention, and read-modify-write under contention with no lost update.

import { KvClient, KvPreconditionFailedError, KvUnauthorizedError, type WatchEvent } from '../../packages/client/src';
import { describeStore } from '../helpers/app';
import { flakyProxy, startClientServer, type ClientServer } from './server';

const UNLIMITED = { readsPerSecond: 1_000_000, writesPerSecond: 1_000_000 };

/** Takes events from `events` until `count` are in, or fails after `timeoutMs`. */
async function take<T>(events: AsyncIterator<WatchEvent<T>>, count: number, timeoutMs = 5000): Promise<WatchEvent<T>[]> {
  const taken: WatchEvent<T>[] = [];
  const deadline = Date.now() + timeoutMs;
  while (taken.length < count) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`only ${taken.length} of ${count} events within ${timeoutMs} ms`)), deadline - Date.now());
    });
    try {
      const next = await Promise.race([events.next(), timeout]);
      if (next.done) throw new Error('the watch ended');
      taken.push(next.value);
    } finally {
      clearTimeout(timer);
    }
  }
  return taken;
}

/**
 * Opens the stream (the request goes out on the first next()) and waits until the server has it,
 * by writing `marker` until an event of it arrives; the stream returned leaves out the marker's
 * events (a slow one may still come after).
 */
async function started<T>(kv: KvClient, watch: AsyncGenerator<WatchEvent<T>>, marker: string): Promise<AsyncGenerator<WatchEvent<T>>> {
  const first = watch.next();
  // Written until the stream sees one: the stream starts from "now", so earlier writes are not in it.
  for (let i = 0; ; i++) {
    await kv.set(marker, i);
    const seen = await Promise.race([first, new Promise((resolve) => setTimeout(() => resolve(undefined), 500))]);
    if (seen) break;
  }
  await first;
  return (async function* withoutMarker() {
    for await (const event of { [Symbol.asyncIterator]: () => watch }) {
      if (!('key' in event && event.key === marker)) yield event;
    }
  })();
}

describeStore('KvClient.watch', () => {
  let s: ClientServer;

  beforeAll(async () => {
    s = await startClientServer();
  });
  afterAll(() => s.close());

  it('calls onOpen once the stream is open, and delivers a write made at that moment', async () => {
    const kv = await s.client(UNLIMITED);
    let opens = 0;
    let written: Promise<unknown> | undefined;
    const watch = kv.watch({
      prefix: 'open/',
      onOpen: () => {
        opens++;
        // Written the moment the stream is open, before any event was read: it must arrive.
        written ??= kv.set('open/at-open', 1);
      },
    });
    const [event] = await take(watch, 1);
    await written;
    await watch.return(undefined);
    expect(event).toMatchObject({ type: 'set', key: 'open/at-open' });
    expect(opens).toBe(1);
  });

  it('yields set, delete and expire events under the prefix, with values when asked', async () => {
    const kv = await s.client(UNLIMITED);
    const watch = await started(kv, kv.watch<{ on: boolean }>({ prefix: 'flags/', values: true }), 'flags/_start');
    const a = await kv.set('flags/beta', { on: true });
    await kv.set('other/ignored', 1);
    await kv.delete('flags/beta');
    const ttl = await kv.set('flags/temp', { on: false }, { ttlSeconds: 1 });
    const events = await take(watch, 4, 8000);
    await watch.return(undefined);
    expect(events).toStrictEqual([
      { type: 'set', id: expect.any(String), key: 'flags/beta', version: a.version, expiresAt: null, value: { on: true } },
      { type: 'delete', id: expect.any(String), key: 'flags/beta', version: a.version, expiresAt: null },
      { type: 'set', id: expect.any(String), key: 'flags/temp', version: ttl.version, expiresAt: ttl.expiresAt, value: { on: false } },
      { type: 'expire', id: expect.any(String), key: 'flags/temp', version: ttl.version, expiresAt: ttl.expiresAt },
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(4);
  });

  it('carries big numbers as BigInt or raw text', async () => {
    const kv = await s.client(UNLIMITED);
    const asBigInt = await started(kv, kv.watch({ values: true, bigint: true, prefix: 'n' }), 'n/_start');
    const asRaw = await started(kv, kv.watch({ raw: true, prefix: 'n' }), 'n/_start2');
    await kv.set('n/big', { id: 12345678901234567890n });
    /** The event of n/big, past the markers written while the streams started. */
    const big = async (events: AsyncGenerator<WatchEvent>) => {
      for (;;) {
        const [event] = await take(events, 1);
        if ('key' in event && event.key === 'n/big') return event;
      }
    };
    expect(await big(asBigInt)).toMatchObject({ type: 'set', value: { id: 12345678901234567890n } });
    const raw = await big(asRaw);
    expect(raw).toMatchObject({ type: 'set', raw: '{"id":12345678901234567890}' });
    expect(raw).not.toHaveProperty('value');
    await asBigInt.return(undefined);
    await asRaw.return(undefined);
  });

  it('resumes after a broken connection with Last-Event-ID: every change made meanwhile arrives once, in order', async () => {
    const account = await s.account(UNLIMITED);
    const direct = new KvClient({ url: s.url, apiKey: account.apiKey });
    const proxy = await flakyProxy(s.port);
    try {
      const viaProxy = new KvClient({ url: proxy.url, apiKey: account.apiKey, retry: { minDelayMs: 50 } });
      const watch = await started(direct, viaProxy.watch({ prefix: 'k/' }), 'k/_start');
      await direct.set('k/1', 1);
      expect(await take(watch, 1)).toMatchObject([{ type: 'set', key: 'k/1' }]);
      // The network breaks; writes go on meanwhile; the first reconnection attempt is dropped too.
      proxy.plan.push('drop');
      proxy.cutAll();
      for (let i = 2; i <= 6; i++) await direct.set(`k/${i}`, i);
      const events = await take(watch, 5);
      expect(events.map((e) => ('key' in e ? e.key : e.type))).toStrictEqual(['k/2', 'k/3', 'k/4', 'k/5', 'k/6']);
      expect(proxy.connections()).toBeGreaterThanOrEqual(3);
      await direct.set('k/7', 7);
      expect(await take(watch, 1)).toMatchObject([{ key: 'k/7' }]);
      await watch.return(undefined);
    } finally {
      await proxy.close();
    }
  });

  it('resumes from where a stream started when it broke before its first event: changes made meanwhile arrive', async () => {
    for (const fresh of [true, false]) {
      // A fresh account has no change log yet; the other has changes before the watch starts.
      const account = await s.account(UNLIMITED);
      const direct = new KvClient({ url: s.url, apiKey: account.apiKey });
      if (!fresh) for (let i = 0; i < 3; i++) await direct.set(`before/${i}`, i);
      const proxy = await flakyProxy(s.port);
      try {
        const viaProxy = new KvClient({ url: proxy.url, apiKey: account.apiKey, retry: { minDelayMs: 50 } });
        let opened!: () => void;
        const open = new Promise<void>((resolve) => (opened = resolve));
        const watch = viaProxy.watch({ prefix: 'm/', onOpen: () => opened() });
        const first = watch.next();
        await open;
        // Cut before anything was delivered; the first reconnection attempt is dropped as well.
        proxy.plan.push('drop');
        proxy.cutAll();
        await direct.set('m/while-cut', 1);
        const next = await Promise.race([first, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no event')), 8000))]);
        expect(next).toMatchObject({ done: false, value: { type: 'set', key: 'm/while-cut' } });
        await watch.return(undefined);
      } finally {
        await proxy.close();
      }
    }
  });

  it('resumes after `since`, and ends quietly when its signal aborts', async () => {
    const kv = await s.client(UNLIMITED);
    const first = await started(kv, kv.watch({ prefix: 's/' }), 's/_start');
    await kv.set('s/a', 1);
    const [seen] = await take(first, 1);
    await first.return(undefined);
    await kv.set('s/b', 2);
    await kv.set('s/c', 3);
    const controller = new AbortController();
    const resumed = kv.watch({ prefix: 's/', since: seen.id, signal: controller.signal });
    expect((await take(resumed, 2)).map((e) => ('key' in e ? e.key : e.type))).toStrictEqual(['s/b', 's/c']);
    const pending = resumed.next();
    controller.abort();
    expect(await pending).toStrictEqual({ done: true, value: undefined });
  });

  it('yields a reset when the cursor is past the retention of the change log, then goes on from now', async () => {
    const kv = await s.client(UNLIMITED);
    const first = await started(kv, kv.watch({ prefix: 'seen' }), 'seen/start');
    await kv.set('seen', 1);
    const [seen] = await take(first, 1);
    expect(seen).toMatchObject({ key: 'seen' });
    await first.return(undefined);
    // 12,000 more changes: the log keeps about the last 10,000 (trimmed every 1,000 or so).
    for (let batch = 0; batch < 120; batch++) {
      await kv.commit({ ops: Array.from({ length: 100 }, (_, i) => ({ op: 'set' as const, key: `k${i}`, value: batch })) });
    }
    const resumed = kv.watch({ since: seen.id });
    const [reset] = await take(resumed, 1);
    expect(reset).toStrictEqual({ type: 'reset', id: expect.any(String) });
    await kv.set('after', 1);
    expect(await take(resumed, 1)).toMatchObject([{ type: 'set', key: 'after' }]);
    await resumed.return(undefined);
  }, 60_000);

  it('throws the error of a refused watch (KvUnauthorizedError) instead of reconnecting', async () => {
    const kv = new KvClient({ url: s.url, apiKey: 'kv_unknown' });
    await expect(kv.watch().next()).rejects.toBeInstanceOf(KvUnauthorizedError);
  });
});

describeStore('KvClient.update', () => {
  let s: ClientServer;

  beforeAll(async () => {
    s = await startClientServer();
  });
  afterAll(() => s.close());

  it('creates a missing key, then replaces it, keeping its TTL', async () => {
    const kv = await s.client();
    const created = await kv.update<{ n: number }>('doc', (current) => ({ n: (current?.n ?? 0) + 1 }));
    expect(created).toMatchObject({ key: 'doc', value: { n: 1 }, expiresAt: null });
    await kv.set('doc', { n: 1 }, { ttlSeconds: 600 });
    const before = (await kv.get('doc'))!;
    const updated = await kv.update<{ n: number }>('doc', (current, entry) => {
      expect(entry!.version).toBe(before.version);
      return { n: current!.n + 1 };
    });
    expect(updated).toMatchObject({ value: { n: 2 }, expiresAt: before.expiresAt });
    expect((await kv.get('doc'))!.value).toStrictEqual({ n: 2 });
    const withTtl = await kv.update('doc', () => 'x', { ttlSeconds: 60 });
    expect(Date.parse(withTtl.expiresAt!)).toBeLessThan(Date.parse(before.expiresAt!));
  });

  it('loses no update when several clients update the same key at once', async () => {
    const account = await s.account(UNLIMITED);
    const clients = Array.from({ length: 5 }, () => new KvClient({ url: s.url, apiKey: account.apiKey }));
    const perClient = 8;
    let calls = 0;
    await Promise.all(
      clients.map(async (kv, c) => {
        for (let i = 0; i < perClient; i++) {
          await kv.update<string[]>(
            'log',
            (current) => {
              calls++;
              return [...(current ?? []), `${c}:${i}`];
            },
            { maxAttempts: 100 },
          );
        }
      }),
    );
    const final = (await clients[0].get<string[]>('log'))!.value;
    expect(final).toHaveLength(clients.length * perClient);
    expect(new Set(final).size).toBe(clients.length * perClient);
    // Contention made some tries start over.
    expect(calls).toBeGreaterThan(clients.length * perClient);
  });

  it('throws the last KvPreconditionFailedError after maxAttempts when the key keeps moving', async () => {
    const kv = await s.client(UNLIMITED);
    await kv.set('hot', 0);
    let tries = 0;
    const error = await kv
      .update<number>(
        'hot',
        async (current) => {
          tries++;
          await kv.set('hot', 1000 + tries); // another writer gets in first, every time
          return (current ?? 0) + 1;
        },
        { maxAttempts: 3, minDelayMs: 1 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KvPreconditionFailedError);
    expect(tries).toBe(3);
    expect((await kv.get('hot'))!.value).toBe(1003);
  });
});
