// Key guessing is throttled per client IP; valid traffic is not.

import request from 'supertest';
import { ADMIN_TOKEN, createTestApp, describeStore, type TestApp } from '../helpers/app';

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
});
