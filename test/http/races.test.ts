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
});
