// GET /kv/watch: every change as an event, in order, filtered by prefix, resumable, with expiries.

import request from 'supertest';
import { createTestApp, describeStore, type TestApp } from '../helpers/app';
import { expectError } from '../helpers/envelope';
import { openWatch, type SseEvent, type WatchStream } from '../helpers/watch';

const UNLIMITED = { readsPerSecond: 1_000_000, writesPerSecond: 1_000_000 };

describeStore('watch', () => {
  let t: TestApp;
  const open: WatchStream[] = [];

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterEach(() => {
    for (const stream of open.splice(0)) stream.close();
  });
  afterAll(() => t.close());

  async function watch(auth: string, query = '', headers: Record<string, string> = {}): Promise<WatchStream> {
    const stream = await openWatch(t.app, auth, query, headers);
    open.push(stream);
    return stream;
  }

  /** The next `n` events, as [event, key, version] triples. */
  async function take(stream: WatchStream, n: number): Promise<SseEvent[]> {
    const events: SseEvent[] = [];
    for (let i = 0; i < n; i++) events.push(await stream.next());
    return events;
  }

  const summary = (events: SseEvent[]) => events.map((e) => [e.event, e.data.key, e.data.version]);

  it('streams text/event-stream and sends set and delete events of every write, in commit order', async () => {
    const c = await t.newClient(UNLIMITED);
    const stream = await watch(c.auth);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('cache-control')).toBe('no-cache');

    const a1 = (await c.put('a', { value: 1 }).expect(201)).body.data.version;
    const a2 = (await c.put('a', { value: 2 }).expect(200)).body.data.version;
    const b1 = (await c.put('b', { value: 3, ttlSeconds: 600 }).expect(201)).body.data;
    await c.del('a').expect(204);

    const events = await take(stream, 4);
    expect(summary(events)).toStrictEqual([
      ['set', 'a', a1],
      ['set', 'a', a2],
      ['set', 'b', b1.version],
      ['delete', 'a', a2],
    ]);
    expect(events[2].data).toStrictEqual({ key: 'b', version: b1.version, expiresAt: b1.expiresAt });
    expect(events[0].data).toStrictEqual({ key: 'a', version: a1, expiresAt: null });
    // Ids increase and are all different.
    expect(new Set(events.map((e) => e.id)).size).toBe(4);
  });

  it('sends only the changes of keys under the prefix', async () => {
    const c = await t.newClient(UNLIMITED);
    const stream = await watch(c.auth, '?prefix=flags%2F');
    await c.put('other', { value: 1 }).expect(201);
    await c.put('flags/beta', { value: true }).expect(201);
    await c.put('flagsX', { value: 1 }).expect(201);
    await c.put('flags/new', { value: false }).expect(201);

    expect(summary(await take(stream, 2)).map(([event, key]) => [event, key])).toStrictEqual([
      ['set', 'flags/beta'],
      ['set', 'flags/new'],
    ]);
    await c.put('flags/last', { value: 1 }).expect(201);
    expect((await stream.next()).data.key).toBe('flags/last');
  });

  it('never sends another account\'s changes', async () => {
    const mine = await t.newClient(UNLIMITED);
    const theirs = await t.newClient(UNLIMITED);
    const stream = await watch(mine.auth);
    await theirs.put('k', { value: 'theirs' }).expect(201);
    await mine.put('k', { value: 'mine' }).expect(201);

    const event = await stream.next();
    expect(event.data.key).toBe('k');
    expect(stream.pending()).toStrictEqual([]);
    const own = await mine.get('k');
    expect(event.data.version).toBe(own.body.data.version);
  });

  it('sends the changes of commits, increments, merge patches and imports', async () => {
    const c = await t.newClient(UNLIMITED);
    await c.put('doc', { value: { a: 1 } }).expect(201);
    const stream = await watch(c.auth);
    await request(t.app)
      .post('/kv/items:commit')
      .set('Authorization', c.auth)
      .send({ ops: [{ op: 'set', key: 'x', value: 1 }, { op: 'delete', key: 'doc' }, { op: 'increment', key: 'n', by: 2 }] })
      .expect(200);
    await request(t.app).post('/kv/items:increment').set('Authorization', c.auth).send({ key: 'n' }).expect(200);
    await request(t.app)
      .patch('/kv/items/x')
      .set('Authorization', c.auth)
      .set('Content-Type', 'application/merge-patch+json')
      .send('{"y":2}')
      .expect(200);
    await request(t.app)
      .post('/kv/import')
      .set('Authorization', c.auth)
      .set('Content-Type', 'application/x-ndjson')
      .send('{"key":"imported","value":true}\n')
      .expect(200);

    expect(summary(await take(stream, 6)).map(([event, key]) => [event, key])).toStrictEqual([
      ['set', 'x'],
      ['delete', 'doc'],
      ['set', 'n'],
      ['set', 'n'],
      ['set', 'x'],
      ['set', 'imported'],
    ]);
  });

  it('carries the value of each set with values=true, numbers exact', async () => {
    const c = await t.newClient(UNLIMITED);
    const stream = await watch(c.auth, '?values=true');
    await c.putText('big', '{"value":{"n":12345678901234567890}}').expect(201);
    // Read before the delete: a set is sent with its value while that version is still the current one.
    const set = await stream.next();
    expect(set.rawData).toContain('"value":{"n":12345678901234567890}');
    await c.del('big').expect(204);
    const deleted = await stream.next();
    expect(deleted.event).toBe('delete');
    expect(deleted.data).not.toHaveProperty('value');
  });

  it('resumes after a disconnect with Last-Event-ID, and with ?since=, with nothing lost or repeated', async () => {
    const c = await t.newClient(UNLIMITED);
    const first = await watch(c.auth);
    await c.put('k1', { value: 1 }).expect(201);
    const seen = await first.next();
    first.close();

    // Written while no one watches.
    for (let i = 2; i <= 5; i++) await c.put(`k${i}`, { value: i }).expect(201);

    const resumed = await watch(c.auth, '', { 'Last-Event-ID': seen.id! });
    expect(summary(await take(resumed, 4)).map(([, key]) => key)).toStrictEqual(['k2', 'k3', 'k4', 'k5']);
    await c.put('k6', { value: 6 }).expect(201);
    expect((await resumed.next()).data.key).toBe('k6');
    expect(resumed.pending()).toStrictEqual([]);

    const bySince = await watch(c.auth, `?since=${encodeURIComponent(seen.id!)}`);
    expect(summary(await take(bySince, 5)).map(([, key]) => key)).toStrictEqual(['k2', 'k3', 'k4', 'k5', 'k6']);
  });

  it('sends one reset and goes on from now when the cursor is past the retention of 10,000 changes', async () => {
    const c = await t.newClient(UNLIMITED);
    const first = await watch(c.auth);
    await c.put('start', { value: 0 }).expect(201);
    const seen = await first.next();
    first.close();
    // 11,100 more changes: the log keeps about the last 10,000 (Redis trims approximately; the
    // embedded store trims back to 10,000 every 1,000 changes, so it holds up to 11,000).
    for (let batch = 0; batch < 111; batch++) {
      const ops = Array.from({ length: 100 }, (_, i) => ({ op: 'set', key: `k${i}`, value: batch }));
      await request(t.app).post('/kv/items:commit').set('Authorization', c.auth).send({ ops }).expect(200);
    }

    const resumed = await watch(c.auth, '', { 'Last-Event-ID': seen.id! });
    const reset = await resumed.next();
    expect(reset.event).toBe('reset');
    expect(reset.id).toBeDefined();
    await c.put('after', { value: 1 }).expect(201);
    const next = await resumed.next();
    expect([next.event, next.data.key]).toStrictEqual(['set', 'after']);
  }, 60_000);

  it('sends an expire event within 5 s of expiresAt while the account is watched', async () => {
    const c = await t.newClient(UNLIMITED);
    const stream = await watch(c.auth);
    const item = (await c.put('session', { value: 1, ttlSeconds: 1 }).expect(201)).body.data;
    expect((await stream.next()).event).toBe('set');

    const expired = await stream.next(7000);
    const late = Date.now() - Date.parse(item.expiresAt);
    expect(expired).toMatchObject({ event: 'expire', data: { key: 'session', version: item.version, expiresAt: item.expiresAt } });
    expect(late).toBeLessThan(5000);
    // Re-creating the key after it expired comes after its expiry.
    await c.put('session', { value: 2 }).expect(201);
    expect((await stream.next()).event).toBe('set');
  }, 15_000);

  it('opens 100 watches at once with a key no replica has checked yet (a stream does not hold its authentication check)', async () => {
    const c = await t.newClient(UNLIMITED);
    const streams = await Promise.all(Array.from({ length: 100 }, () => watch(c.auth)));
    expect(streams.map((stream) => stream.status)).toStrictEqual(Array.from({ length: 100 }, () => 200));
    const version = (await c.put('k', { value: 1 }).expect(201)).body.data.version;
    for (const stream of streams) expect((await stream.next()).data.version).toBe(version);
  }, 30_000);

  it('refuses a cursor it did not send with 400 and an unknown query parameter with 400', async () => {
    const c = await t.newClient();
    const bad = await watch(c.auth, '?since=not-a-cursor');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.errorBody).error.code).toBe('invalid_request');
    const unknown = await request(t.app).get('/kv/watch?nope=1').set('Authorization', c.auth);
    expectError(unknown, 400, 'invalid_request');
  });

  it('refuses a watch without a valid API key with 401', async () => {
    const res = await request(t.app).get('/kv/watch').set('Authorization', 'Bearer kv_not-a-key-at-all-0123456789');
    expectError(res, 401, 'unauthorized');
  });
});
