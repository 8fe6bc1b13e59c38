// GET /kv/watch across replicas on one Redis: changes written through one reach watchers on another
// at once, and the per-account maximum counts the watches of every replica.

import request from 'supertest';
import { appOn, createTestApp, type TestApp } from '../helpers/app';
import { describeRedis } from '../helpers/redis';
import { createTestStore, type TestStore } from '../helpers/stores';
import { openWatch, type WatchStream } from '../helpers/watch';

const UNLIMITED = { readsPerSecond: 1_000_000, writesPerSecond: 1_000_000 };

describeRedis('watch across replicas', () => {
  let t: TestApp;
  let secondStore: TestStore;
  let second: ReturnType<typeof appOn>;
  const open: WatchStream[] = [];

  beforeAll(async () => {
    t = await createTestApp({ KV_WATCHERS_PER_ACCOUNT: '2' }, 'redis');
    // A second replica: its own connections and watch hub, the same Redis and prefix.
    secondStore = await createTestStore('redis', { prefix: t.testStore.env.KV_REDIS_PREFIX });
    second = appOn(secondStore, { config: t.config });
  });
  afterEach(() => {
    for (const stream of open.splice(0)) stream.close();
  });
  afterAll(async () => {
    await secondStore.store.close();
    await t.close();
  });

  it('delivers a change written through one replica to a watcher on the other, at once', async () => {
    const c = await t.newClient(UNLIMITED);
    const stream = await openWatch(second, c.auth);
    open.push(stream);
    const started = Date.now();
    const written = await request(t.app).put('/kv/items/k').set('Authorization', c.auth).send({ value: 1 }).expect(201);
    const event = await stream.next();
    expect(event.data).toMatchObject({ key: 'k', version: written.body.data.version });
    // Woken by pub/sub, not by the once-a-second read.
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('counts the maximum across replicas', async () => {
    const c = await t.newClient(UNLIMITED);
    open.push(await openWatch(t.app, c.auth), await openWatch(second, c.auth));
    const third = await openWatch(second, c.auth);
    open.push(third);
    expect(third.status).toBe(429);
  });
});
