// Key guessing is throttled per client IP, also under concurrency and across replicas; valid traffic is not.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import request, { type Response } from 'supertest';
import { expectError } from '../helpers/envelope';
import { ADMIN_TOKEN, appOn, createTestApp, describeStore, storeKind, type TestApp } from '../helpers/app';

/** The app listening on a port of its own, so that hundreds of requests share one server. */
async function serve(app: Express): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `count` requests at once with a different wrong key each, spread over the replicas' URLs in turn. */
async function guessAtOnce(urls: string[], count: number): Promise<Response[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      request(urls[i % urls.length]).get('/kv/usage').set('Authorization', `Bearer kv_guess-${i}`),
    ),
  );
}

/** At most `limit` of the guesses were checked (401); every other one is a whole 429 envelope with Retry-After. */
function expectThrottled(responses: Response[], limit: number): void {
  const statuses = responses.map((res) => res.status);
  expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
  const checked = statuses.filter((status) => status === 401).length;
  expect(checked).toBeGreaterThan(0);
  expect(checked).toBeLessThanOrEqual(limit);
  for (const res of responses.filter((r) => r.status === 429)) {
    expectError(res, 429, 'rate_limited', { retryAfter: expect.any(Number) });
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.body.error.retryAfter).toBe(retryAfter);
  }
}

describeStore('the failed-authentication throttle', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ KV_AUTH_FAILURES_PER_MINUTE: '5' });
  });
  afterAll(() => t.close());

  it('answers 429 with Retry-After to an IP past its failed authentications, even for a key it has not tried', async () => {
    const { apiKey } = await t.newAccount();
    for (let i = 0; i < 5; i++) {
      const res = await request(t.app).get('/kv/usage').set('Authorization', `Bearer kv_guess${i}`);
      expect(res.status).toBe(401);
    }
    const blocked = await request(t.app).get('/kv/usage').set('Authorization', 'Bearer kv_guess-next');
    expect(blocked.status).toBe(429);
    expect(blocked.body).toEqual({
      error: {
        code: 'rate_limited',
        message: 'Too many failed authentications from this address; retry later.',
        retryAfter: expect.any(Number),
      },
    });
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // A valid key it has not used yet is not checked either: the IP is blocked until the window ends.
    expect((await request(t.app).get('/kv/usage').set('Authorization', `Bearer ${apiKey}`)).status).toBe(429);
    // Wrong admin tokens count against the same budget.
    expect((await request(t.app).get('/admin/accounts/default').set('Authorization', 'Bearer wrong-token')).status).toBe(429);
  });

  it('never counts successful requests, however many arrive at once', async () => {
    const other = await createTestApp({ KV_AUTH_FAILURES_PER_MINUTE: '5' });
    try {
      const { apiKey } = await other.newAccount();
      const responses = await Promise.all(
        Array.from({ length: 50 }, () => request(other.app).get('/kv/usage').set('Authorization', `Bearer ${apiKey}`)),
      );
      expect(responses.map((res) => res.status)).toEqual(Array(50).fill(200));
      const admin = await Promise.all(
        Array.from({ length: 10 }, () => request(other.app).get('/admin/accounts/default').set('Authorization', `Bearer ${ADMIN_TOKEN}`)),
      );
      expect(admin.every((res) => res.status === 404)).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('checks at most the limit of 600 wrong keys sent at once from one IP and answers the rest 429', async () => {
    const other = await createTestApp({ KV_AUTH_FAILURES_PER_MINUTE: '60' });
    const server = await serve(appOn(other.testStore, { config: other.config }));
    try {
      expectThrottled(await guessAtOnce([server.url], 600), 60);
    } finally {
      await server.close();
      await other.close();
    }
  });

  it('serves a burst of 200 valid requests with cold caches from one IP at a limit of 5, and counts none of them', async () => {
    const other = await createTestApp({ KV_AUTH_FAILURES_PER_MINUTE: '5' });
    // Two apps on one store: on Redis two replicas sharing the counters; each starts with a cold key cache.
    const servers = [await serve(appOn(other.testStore, { config: other.config })), await serve(appOn(other.testStore, { config: other.config }))];
    try {
      const { apiKey } = await other.newAccount();
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          request(servers[i % 2].url).get('/kv/usage').set('Authorization', `Bearer ${apiKey}`),
        ),
      );
      expect(responses.map((res) => res.status)).toEqual(Array(200).fill(200));
      // The whole budget is still there: five failures, then the IP is blocked.
      for (let i = 0; i < 5; i++) {
        expect((await request(servers[0].url).get('/kv/usage').set('Authorization', `Bearer kv_guess${i}`)).status).toBe(401);
      }
      expect((await request(servers[0].url).get('/kv/usage').set('Authorization', 'Bearer kv_guess-next')).status).toBe(429);
    } finally {
      await Promise.all(servers.map((server) => server.close()));
      await other.close();
    }
  });

  // The embedded store runs as one process, so only Redis has replicas to share the count.
  if (storeKind === 'redis') {
    it('checks at most the limit of 600 wrong keys sent at once from one IP through two replicas', async () => {
      const other = await createTestApp({ KV_AUTH_FAILURES_PER_MINUTE: '60' });
      const servers = [await serve(appOn(other.testStore, { config: other.config })), await serve(appOn(other.testStore, { config: other.config }))];
      try {
        expectThrottled(
          await guessAtOnce(
            servers.map((server) => server.url),
            600,
          ),
          60,
        );
      } finally {
        await Promise.all(servers.map((server) => server.close()));
        await other.close();
      }
    });
  }
});
