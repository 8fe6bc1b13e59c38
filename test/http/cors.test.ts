// CORS (KV_CORS_ORIGINS): preflights before authentication and rate limits, the listed headers, other origins refused.

import request from 'supertest';
import { createTestApp, describeStore, type TestApp } from '../helpers/app';
import { remoteBaseUrl } from '../helpers/stores';
import { expectError } from '../helpers/envelope';

// The topology runs one configuration for all suites; these need their own.
const describeCors = remoteBaseUrl === undefined ? describeStore : describe.skip;

describeCors('CORS', () => {
  let t: TestApp;
  let apiKey: string;
  const ORIGIN = 'https://app.example.com';

  beforeAll(async () => {
    t = await createTestApp({ KV_CORS_ORIGINS: `${ORIGIN},http://localhost:3000`, KV_READS_PER_SECOND: '1' });
    ({ apiKey } = await t.newAccount({ readsPerSecond: 1 }));
  });
  afterAll(() => t.close());

  it('answers a preflight from a listed origin with 204 and the allowed methods and headers, without a key', async () => {
    const res = await request(t.app)
      .options('/kv/items/some/key')
      .set('Origin', ORIGIN)
      .set('Access-Control-Request-Method', 'PUT')
      .set('Access-Control-Request-Headers', 'authorization, content-type, if-match');
    expect(res.status).toBe(204);
    expect(res.headers).toMatchObject({
      'access-control-allow-origin': ORIGIN,
      'access-control-allow-methods': 'GET, HEAD, PUT, POST, PATCH, DELETE',
      'access-control-allow-headers': 'Authorization, Content-Type, If-Match, If-None-Match, Last-Event-ID',
      'access-control-max-age': '600',
      vary: 'Origin',
    });
  });

  it('answers preflights before the rate limit, however many', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await request(t.app).options('/kv/items/k').set('Origin', ORIGIN).set('Access-Control-Request-Method', 'GET');
      expect(res.status).toBe(204);
    }
  });

  it('exposes ETag, RateLimit, RateLimit-Policy, Retry-After and X-Request-Id on a request from a listed origin', async () => {
    const res = await request(t.app).get('/kv/items/absent').set('Origin', ORIGIN).set('Authorization', `Bearer ${apiKey}`);
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(res.headers['access-control-expose-headers']).toBe('ETag, RateLimit, RateLimit-Policy, Retry-After, X-Request-Id');
  });

  it('refuses a preflight from an origin not on the list with 403, and sends no CORS headers to it', async () => {
    const preflight = await request(t.app).options('/kv/items/k').set('Origin', 'https://evil.example').set('Access-Control-Request-Method', 'PUT');
    expectError(preflight, 403, 'forbidden');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const get = await request(t.app).get('/kv/usage').set('Origin', 'https://evil.example').set('Authorization', `Bearer ${apiKey}`);
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('sends no CORS headers when KV_CORS_ORIGINS is not set, and a preflight is then a 401 like any unauthenticated call', async () => {
    const plain = await createTestApp({}, t.testStore);
    const res = await request(plain.app).options('/kv/items/k').set('Origin', ORIGIN).set('Access-Control-Request-Method', 'PUT');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.status).toBe(401);
  });

  it('allows any origin with *', async () => {
    const any = await createTestApp({ KV_CORS_ORIGINS: '*' }, t.testStore);
    const res = await request(any.app).options('/kv/usage').set('Origin', 'https://anything.example').set('Access-Control-Request-Method', 'GET');
    expect({ status: res.status, origin: res.headers['access-control-allow-origin'] }).toEqual({ status: 204, origin: '*' });
  });
});
