// Redis down, hung and back: 503 fast, /readyz 503, recovery without a restart, no double writes.

import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createTestApp, type TestApp } from '../helpers/app';
import { startRedisOnFreePort, startRedisServer, stopProcess } from '../helpers/processes';
import { describeRedis } from '../helpers/redis';
import { createTestStore } from '../helpers/stores';
import { waitFor } from '../helpers/wait';

describeRedis('when Redis goes away', () => {
  let dir: string;
  let port: number;
  let redis: ChildProcess;
  let t: TestApp;
  let auth: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-outage-'));
    ({ child: redis, port } = await startRedisOnFreePort(dir));
    t = await createTestApp({}, await createTestStore('redis', { url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 300 }));
    const account = await t.newAccount();
    auth = `Bearer ${account.apiKey}`;
  });

  /** GET `key`, retried while the answer is 503 (Redis coming back); the store reconnects without a restart. */
  function readOnceBack(key: string) {
    return waitFor(
      async () => {
        const res = await request(t.app).get(`/kv/items/${key}`).set('Authorization', auth);
        expect(res.status).toBe(200);
        return res;
      },
      { what: `GET ${key} to answer 200 again`, timeoutMs: 10_000 },
    );
  }

  afterAll(async () => {
    await t?.close();
    if (redis) await stopProcess(redis);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 unavailable at once while Redis is down, then recovers by itself when it is back', async () => {
    const put = (value: number) =>
      request(t.app).put('/kv/items/flag').set('Authorization', auth).send({ value });
    expect((await put(1)).status).toBe(201);

    await stopProcess(redis, 'SIGKILL');
    const started = Date.now();
    const down = await put(2);
    const elapsed = Date.now() - started;
    expect(down.status).toBe(503);
    expect(down.body).toEqual({ error: { code: 'unavailable', message: 'The store cannot be reached; retry later.' } });
    expect(elapsed).toBeLessThan(1000);
    expect((await request(t.app).get('/kv/items/flag').set('Authorization', auth)).status).toBe(503);
    const ready = await request(t.app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error.code).toBe('unavailable');

    redis = await startRedisServer(port, dir);
    const back = await readOnceBack('flag');
    expect(back.body.data.value).toBe(1);
    expect((await put(3)).status).toBe(200);
    expect((await request(t.app).get('/readyz')).status).toBe(200);
  });

  it('fails a write to a hung Redis within the timeout, and a retry with If-Match applies it exactly once', async () => {
    const first = await request(t.app).put('/kv/items/counter').set('Authorization', auth).send({ value: 0 });
    expect(first.status).toBe(201);
    const v0 = first.body.data.version as string;

    redis.kill('SIGSTOP');
    try {
      const started = Date.now();
      const timedOut = await request(t.app)
        .put('/kv/items/counter')
        .set('Authorization', auth)
        .set('If-Match', `"${v0}"`)
        .send({ value: 1 });
      expect(timedOut.status).toBe(503);
      expect(timedOut.body.error.code).toBe('unavailable');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      redis.kill('SIGCONT');
    }

    // The client cannot know whether the timed-out write ran: the request deadline may have
    // answered before the write was sent (the rate-limit call was stuck first), or the write was
    // sent and ran once Redis woke up. It retries with the same condition: applied exactly once.
    const after = await readOnceBack('counter');
    const retry = await request(t.app)
      .put('/kv/items/counter')
      .set('Authorization', auth)
      .set('If-Match', `"${v0}"`)
      .send({ value: 1 });
    if (after.body.data.value === 1) {
      expect(retry.status).toBe(412);
      expect(retry.body.error).toMatchObject({ code: 'precondition_failed', currentVersion: after.body.data.version });
    } else {
      expect({ value: after.body.data.value, version: after.body.data.version }).toEqual({ value: 0, version: v0 });
      expect(retry.status).toBe(200);
    }
    const final = await request(t.app).get('/kv/items/counter').set('Authorization', auth);
    expect(final.body.data.value).toBe(1);
  });
});
