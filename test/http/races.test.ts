// Concurrent clients through HTTP: one winner for set-if-not-exists, no lost CAS update, exact quota.

import request from 'supertest';
import { createTestApp, describeStore, type TestApp } from '../helpers/app';
import { backoff } from '../helpers/retry';

describeStore('concurrent requests', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('lets exactly one of 25 concurrent If-None-Match: * writes create the key', async () => {
    const { apiKey } = await t.newAccount();
    const responses = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        request(t.app).put('/kv/items/lock').set('Authorization', `Bearer ${apiKey}`).set('If-None-Match', '*').send({ value: i }),
      ),
    );
    const statuses = responses.map((res) => res.status).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 412)).toHaveLength(24);
    const winner = responses.find((res) => res.status === 201)!;
    for (const loser of responses.filter((res) => res.status === 412)) {
      expect(loser.body.error.currentVersion).toBe(winner.body.data.version);
    }
  });

  it('loses no update when 8 clients increment one counter with If-Match retries', async () => {
    const { apiKey } = await t.newAccount();
    const auth = `Bearer ${apiKey}`;
    await request(t.app).put('/kv/items/counter').set('Authorization', auth).send({ value: 0 }).expect(201);
    const incrementsPerClient = 10;
    const client = async () => {
      // After a lost race, back off with jitter: retrying at once keeps the clients in lockstep.
      for (let done = 0, conflicts = 0; done < incrementsPerClient; ) {
        const current = await request(t.app).get('/kv/items/counter').set('Authorization', auth);
        const res = await request(t.app)
          .put('/kv/items/counter')
          .set('Authorization', auth)
          .set('If-Match', current.headers.etag)
          .send({ value: current.body.data.value + 1 });
        if (res.status === 200) {
          done++;
          conflicts = 0;
        } else {
          expect(res.status).toBe(412);
          await backoff(conflicts++, { baseMs: 10 });
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, client));
    const final = await request(t.app).get('/kv/items/counter').set('Authorization', auth);
    expect(final.body.data.value).toBe(8 * incrementsPerClient);
  });

  it('admits exactly maxKeys of 40 concurrent creates and counts them exactly', async () => {
    const { apiKey } = await t.newAccount({ maxKeys: 15 });
    const auth = `Bearer ${apiKey}`;
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => request(t.app).put(`/kv/items/k${i}`).set('Authorization', auth).send({ value: i })),
    );
    expect(responses.filter((res) => res.status === 201)).toHaveLength(15);
    for (const refused of responses.filter((res) => res.status !== 201)) {
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('quota_exceeded');
    }
    const usage = await request(t.app).get('/kv/usage').set('Authorization', auth);
    expect(usage.body.data.keys).toBe(15);
  });

  it('keeps the count and quota exact when keys expire natively', async () => {
    const { apiKey } = await t.newAccount({ maxKeys: 10 });
    const auth = `Bearer ${apiKey}`;
    const put = (key: string, body: object) => request(t.app).put(`/kv/items/${key}`).set('Authorization', auth).send(body);
    await Promise.all(Array.from({ length: 8 }, (_, i) => put(`short${i}`, { value: i, ttlSeconds: 1 }).expect(201)));
    await Promise.all(Array.from({ length: 2 }, (_, i) => put(`long${i}`, { value: i }).expect(201)));
    expect((await put('one-too-many', { value: 1 })).status).toBe(403);

    await new Promise((resolve) => setTimeout(resolve, 1300));
    const usage = await request(t.app).get('/kv/usage').set('Authorization', auth);
    expect(usage.body.data.keys).toBe(2);
    const creates = await Promise.all(Array.from({ length: 10 }, (_, i) => put(`new${i}`, { value: i })));
    expect(creates.filter((res) => res.status === 201)).toHaveLength(8);
    expect((await request(t.app).get('/kv/usage').set('Authorization', auth)).body.data.keys).toBe(10);
  });
  describe('atomic operations', () => {
    /** No limit a test of concurrency should meet. */
    const UNLIMITED = { readsPerSecond: 1_000_000, writesPerSecond: 1_000_000 };

    it('adds exactly 1,000 when 16 clients send 1,000 increments of 1', async () => {
      const c = await t.newClient(UNLIMITED);
      let next = 0;
      const seen: number[] = [];
      const client = async () => {
        while (next < 1000) {
          next++;
          const res = await request(t.app).post('/kv/items:increment').set('Authorization', c.auth).send({ key: 'hits' });
          expect([200, 201]).toContain(res.status);
          seen.push(res.body.data.value);
        }
      };
      await Promise.all(Array.from({ length: 16 }, client));

      expect((await c.get('hits')).body.data.value).toBe(1000);
      // Every increment saw its own result: 1 … 1000, each once.
      expect([...seen].sort((a, b) => a - b)).toStrictEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    });

    it('keeps the total of 10 balances constant and none negative while 16 clients commit version-checked transfers', async () => {
      const c = await t.newClient(UNLIMITED);
      const accounts = Array.from({ length: 10 }, (_, i) => `balance/${i}`);
      const TOTAL = 10 * 100;
      await request(t.app)
        .post('/kv/items:commit')
        .set('Authorization', c.auth)
        .send({ ops: accounts.map((key) => ({ op: 'set', key, value: 100 })) })
        .expect(200);
      const snapshot = async () => {
        const res = await request(t.app).post('/kv/items:batchGet').set('Authorization', c.auth).send({ keys: accounts });
        expect(res.status).toBe(200);
        return res.body.data.items as { key: string; value: number; version: string }[];
      };

      let transfers = 0;
      let conflicts = 0;
      const totals: number[] = [];
      const client = async (seed: number) => {
        for (let done = 0, attempt = 0; done < 15; ) {
          const from = (seed + done + attempt) % 10;
          const to = (from + 1 + ((seed * 7 + done) % 9)) % 10;
          const items = await snapshot();
          // Every snapshot is consistent: it never sees half a transfer.
          totals.push(items.reduce((sum, item) => sum + item.value, 0));
          const amount = 1 + ((seed + done) % 30);
          const source = items[from];
          const target = items[to];
          if (source.value < amount) {
            done++;
            continue;
          }
          const res = await request(t.app)
            .post('/kv/items:commit')
            .set('Authorization', c.auth)
            .send({
              checks: [
                { key: source.key, version: source.version },
                { key: target.key, version: target.version },
              ],
              ops: [
                { op: 'set', key: source.key, value: source.value - amount },
                { op: 'set', key: target.key, value: target.value + amount },
              ],
            });
          if (res.status === 200) {
            transfers++;
            done++;
            attempt = 0;
          } else {
            expect(res.status).toBe(412);
            expect(res.body.error.failedChecks.length).toBeGreaterThan(0);
            conflicts++;
            await backoff(attempt++, { baseMs: 5 });
          }
        }
      };
      await Promise.all(Array.from({ length: 16 }, (_, seed) => client(seed)));

      const final = await snapshot();
      expect(final.reduce((sum, item) => sum + item.value, 0)).toBe(TOTAL);
      for (const item of final) expect(item.value).toBeGreaterThanOrEqual(0);
      expect(new Set(totals)).toStrictEqual(new Set([TOTAL]));
      expect(transfers).toBeGreaterThan(0);
      // The point of the test: clients did collide, and every collision was refused whole.
      expect(transfers + conflicts).toBeGreaterThan(transfers);
    });

    it('exports every key that exists for the whole export exactly once while other keys are written and deleted', async () => {
      const c = await t.newClient(UNLIMITED);
      const stable = Array.from({ length: 2500 }, (_, i) => `k/${String(i).padStart(5, '0')}`);
      for (let i = 0; i < stable.length; i += 100) {
        const ops = stable.slice(i, i + 100).map((key) => ({ op: 'set', key, value: { i: key } }));
        await request(t.app).post('/kv/items:commit').set('Authorization', c.auth).send({ ops }).expect(200);
      }
      // Writers create and delete keys between and around the stable ones while the export runs.
      let exporting = true;
      let churned = 0;
      const writer = async (w: number) => {
        for (let n = 0; exporting; n++) {
          const key = `k/${String((n * 7 + w * 13) % 2600).padStart(5, '0')}~${w}`;
          await request(t.app).put(`/kv/items/${encodeURIComponent(key)}`).set('Authorization', c.auth).send({ value: n }).expect(201);
          await request(t.app).delete(`/kv/items/${encodeURIComponent(key)}`).set('Authorization', c.auth).expect(204);
          churned++;
        }
      };
      const writers = Array.from({ length: 4 }, (_, w) => writer(w));
      const exported = await request(t.app)
        .get('/kv/export')
        .set('Authorization', c.auth)
        .buffer(true)
        .parse((res, callback) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => callback(null, text));
        });
      exporting = false;
      await Promise.all(writers);

      expect(exported.status).toBe(200);
      const keys = (exported.body as string)
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line).key as string);
      const exportedStable = keys.filter((key) => !key.includes('~'));
      expect(exportedStable).toStrictEqual(stable);
      expect(churned).toBeGreaterThan(0);
    });

    it('keeps every member when 20 clients merge-patch different members of one value at once', async () => {
      const c = await t.newClient(UNLIMITED);
      await c.putText('doc', '{"value":{"big":12345678901234567890}}').expect(201);
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          request(t.app)
            .patch('/kv/items/doc')
            .set('Authorization', c.auth)
            .set('Content-Type', 'application/merge-patch+json')
            .serialize((data) => data)
            .send(`{"m${i}":{"n":${i}}}`),
        ),
      );
      for (const res of responses) expect(res.status).toBe(200);
      expect(new Set(responses.map((res) => res.body.data.version)).size).toBe(20);

      const final = await c.get('doc');
      expect(Object.keys(final.body.data.value).sort()).toStrictEqual(['big', ...Array.from({ length: 20 }, (_, i) => `m${i}`)].sort());
      for (let i = 0; i < 20; i++) expect(final.body.data.value[`m${i}`]).toStrictEqual({ n: i });
      expect(final.text).toContain('"big":12345678901234567890');
    });
  });
});
