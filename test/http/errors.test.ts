// Every error of the API over HTTP: status, code, the whole envelope, and no leaks.

import request, { type Response } from 'supertest';
import { randomBytes } from 'node:crypto';
import { ADMIN_TOKEN, createTestApp, describeStore, type TestApp } from '../helpers/app';
import { expectError, secrets } from '../helpers/envelope';
import { remoteBaseUrl } from '../helpers/stores';

const behindLoadBalancer = remoteBaseUrl !== undefined;

const MiB = 1024 * 1024;

/** 400 invalid_request whose `details` is a non-empty list of {path, message}, one of them at `path`. */
function expectInvalidRequest(res: Response, path?: string) {
  expectError(res, 400, 'invalid_request', { details: expect.any(Array) });
  const details = res.body.error.details as { path: string; message: string }[];
  expect(details.length).toBeGreaterThan(0);
  for (const detail of details) expect(detail).toEqual({ path: expect.any(String), message: expect.any(String) });
  if (path !== undefined) expect(details.map((detail) => detail.path)).toContain(path);
}

/** `depth` nested arrays around 0, e.g. depth 2 → [[0]]. */
const nestedArrays = (depth: number) => '['.repeat(depth) + '0' + ']'.repeat(depth);

describeStore('error responses', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  /** A fresh account and request helpers bound to its key, which no answer may ever contain. */
  async function client(limits?: Record<string, number>) {
    const account = await t.newClient(limits);
    secrets.push(account.apiKey);
    return account;
  }

  async function readOnlyKey(accountId: string): Promise<string> {
    const res = await request(t.app)
      .post(`/admin/accounts/${accountId}/keys`)
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ scopes: ['read'] });
    expect(res.status).toBe(201);
    secrets.push(res.body.data.apiKey.key);
    return res.body.data.apiKey.key;
  }

  // First in the file: reading a 1 MiB value back leaves redis-parser shrinking its buffer pool on a
  // timer for about 2 s, which the later tests outlast (else Jest reports an open handle).
  describe('413 value_too_large', () => {
    /** A body whose value is a string of exactly `bytes` bytes as compact JSON (quotes included). */
    const stringValueBody = (bytes: number, padding = '') => `{"value":${padding}"${'a'.repeat(bytes - 2)}"${padding}}`;

    it('answers 413 when the value is 1,048,577 bytes as compact JSON', async () => {
      const c = await client();
      expectError(await c.putText('k', stringValueBody(MiB + 1)), 413, 'value_too_large');
      expectError(await c.get('k'), 404, 'not_found');
    });

    it('accepts a value of exactly 1,048,576 bytes and reads it back', async () => {
      const c = await client();
      expect((await c.putText('k', stringValueBody(MiB))).status).toBe(201);
      const res = await c.get('k');
      expect(res.status).toBe(200);
      expect(res.body.data.value).toHaveLength(MiB - 2);
    });

    it('measures the value compacted: whitespace around it does not count', async () => {
      const c = await client();
      expect((await c.putText('k', stringValueBody(MiB, ' '.repeat(50_000)))).status).toBe(201);
    });

    it('answers 413 when the body is over the body limit, and keeps serving', async () => {
      const c = await client();
      const body = `{"value":[${'1,'.repeat(1_500_000)}1]}`;
      expectError(await c.putText('k', body), 413, 'value_too_large');
      expect((await c.put('k', { value: 1 })).status).toBe(201);
    });
  });

  describe('400 invalid_json', () => {
    it.each([
      ['a truncated object', '{"value":'],
      ['unquoted field names', '{value: 1}'],
      ['a trailing comma', '{"value":1,}'],
      ['text after the value', '{"value":1} {"value":2}'],
      ['single quotes', "{'value':1}"],
      ['a bare word', 'hello'],
      ['NaN', '{"value":NaN}'],
      ['a raw control character inside a string', '{"value":"a\u0001b"}'],
    ])('answers 400 invalid_json when the body is %s', async (_name, text) => {
      const c = await client();
      expectError(await c.putText('k', text), 400, 'invalid_json');
    });

    it('answers 400 invalid_json when the body is empty with content-type application/json', async () => {
      const c = await client();
      expectError(await c.putText('k', ''), 400, 'invalid_json');
      const noBody = await request(t.app).put('/kv/items/k').set('Authorization', c.auth).set('Content-Type', 'application/json');
      expectError(noBody, 400, 'invalid_json');
    });

    it('answers 400 invalid_json when the body is not valid UTF-8', async () => {
      const c = await client();
      const body = Buffer.concat([Buffer.from('{"value":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
      expectError(await c.putText('k', body), 400, 'invalid_json');
      const overlong = Buffer.concat([Buffer.from('{"value":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]);
      expectError(await c.putText('k', overlong), 400, 'invalid_json');
    });
  });

  describe('400 invalid_request', () => {
    it('answers 400 with details naming an unknown field', async () => {
      const c = await client();
      expectInvalidRequest(await c.put('k', { value: 1, colour: 'red' }), 'body.colour');
    });

    it('answers 400 with details naming value when value is missing', async () => {
      const c = await client();
      expectInvalidRequest(await c.put('k', { ttlSeconds: 10 }), 'body.value');
    });

    it.each([
      ['0', 0],
      ['31536001 (over 365 days)', 31_536_001],
      ['1.5', 1.5],
      ['the string "60"', '60'],
      ['-1', -1],
      ['null', null],
    ])('answers 400 when ttlSeconds is %s', async (_name, ttlSeconds) => {
      const c = await client();
      expectInvalidRequest(await c.put('k', { value: 1, ttlSeconds }), 'body.ttlSeconds');
    });

    it('accepts ttlSeconds of exactly 31536000 (365 days)', async () => {
      const c = await client();
      expect((await c.put('k', { value: 1, ttlSeconds: 31_536_000 })).status).toBe(201);
    });

    it('answers 400 when ifNotExists and ifVersion are both given', async () => {
      const c = await client();
      await c.put('k', { value: 1 });
      expectInvalidRequest(await c.put('k', { value: 2, ifNotExists: true, ifVersion: '1' }));
      expectInvalidRequest(await c.put('k', { value: 2 }).set('If-None-Match', '*').set('If-Match', '"1"'));
      expectInvalidRequest(await c.put('k', { value: 2, ifNotExists: true }).set('If-Match', '"1"'));
    });

    it('answers 400 when keepTtl is combined with ttlSeconds', async () => {
      const c = await client();
      expectInvalidRequest(await c.put('k', { value: 1, keepTtl: true, ttlSeconds: 60 }));
    });

    it.each([
      ['ifNotExists is not a boolean', { value: 1, ifNotExists: 'yes' }, 'body.ifNotExists'],
      ['keepTtl is not a boolean', { value: 1, keepTtl: 1 }, 'body.keepTtl'],
      ['ifVersion is not a string', { value: 1, ifVersion: 3 }, 'body.ifVersion'],
      ['ifVersion is empty', { value: 1, ifVersion: '' }, 'body.ifVersion'],
    ])('answers 400 when %s', async (_name, body, path) => {
      const c = await client();
      expectInvalidRequest(await c.put('k', body), path);
    });

    it.each([
      ['an array', '[1]'],
      ['a string', '"value"'],
      ['a number', '1'],
      ['null', 'null'],
    ])('answers 400 invalid_request when the body is %s, not an object', async (_name, text) => {
      const c = await client();
      expectInvalidRequest(await c.putText('k', text));
    });

    it('refuses a __proto__ field as an unknown field', async () => {
      const c = await client();
      expectInvalidRequest(await c.putText('k', '{"__proto__":1,"value":1}'), 'body.__proto__');
      expectError(await c.get('k'), 404, 'not_found');
    });

    it('accepts a value nested 64 levels deep', async () => {
      const c = await client();
      expect((await c.putText('k', `{"value":${nestedArrays(64)}}`)).status).toBe(201);
      const res = await c.get('k');
      expect(res.text).toContain(`"value":${nestedArrays(64)},`);
    });

    it('answers 400 invalid_request when the value is nested 65 levels deep', async () => {
      const c = await client();
      expectInvalidRequest(await c.putText('k', `{"value":${nestedArrays(65)}}`));
      expectInvalidRequest(await c.putText('k', `{"value":{"a":${nestedArrays(64)}}}`));
    });

    it('answers a 200,000-level body with 400 quickly and keeps serving', async () => {
      const c = await client();
      const started = Date.now();
      const bare = await c.putText('k', '['.repeat(200_000));
      const inValue = await c.putText('k', `{"value":${nestedArrays(200_000)}}`);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(bare.status).toBe(400);
      expect(['invalid_request', 'invalid_json']).toContain(bare.body.error.code);
      expectError(bare, 400, bare.body.error.code);
      expectInvalidRequest(inValue);
      expect((await c.put('k', { value: 'still here' })).status).toBe(201);
      expect((await c.get('k')).body.data.value).toBe('still here');
    });

    it.each([
      ['limit is 0', '?limit=0', 'query.limit'],
      ['limit is 1001', '?limit=1001', 'query.limit'],
      ['limit is not a number', '?limit=abc', 'query.limit'],
      ['limit is a decimal', '?limit=1.5', 'query.limit'],
      ['there is an unknown query parameter', '?prefx=a', 'query.prefx'],
      ['the cursor is not one the API returned', '?cursor=not%20a%20cursor!', 'query.cursor'],
      ['the cursor is empty', '?cursor=', 'query.cursor'],
    ])('answers 400 on the list when %s', async (_name, query, path) => {
      const c = await client();
      expectInvalidRequest(await c.list(query), path);
    });

    it('answers 400 when DELETE has an unknown query parameter', async () => {
      const c = await client();
      await c.put('k', { value: 1 });
      expectInvalidRequest(await c.del('k?version=1'), 'query.version');
      expect((await c.get('k')).status).toBe(200);
    });

    it('answers 400 when If-Match is not one quoted version', async () => {
      const c = await client();
      await c.put('k', { value: 1 });
      expectInvalidRequest(await c.put('k', { value: 2 }).set('If-Match', 'abc'));
    });
  });

  describe('400 invalid_key', () => {
    it('answers 400 invalid_key when the key is empty', async () => {
      const c = await client();
      expectError(await c.put('', { value: 1 }), 400, 'invalid_key');
      expectError(await c.get(''), 400, 'invalid_key');
      expectError(await c.del(''), 400, 'invalid_key');
    });

    it('answers 400 invalid_key when the key is 513 bytes and accepts 512 bytes', async () => {
      const c = await client();
      expectError(await c.put('a'.repeat(513), { value: 1 }), 400, 'invalid_key');
      expectError(await c.get('a'.repeat(513)), 400, 'invalid_key');
      expectError(await c.put(encodeURIComponent('é'.repeat(257)), { value: 1 }), 400, 'invalid_key');
      expect((await c.put('a'.repeat(512), { value: 1 })).status).toBe(201);
      expect((await c.get('a'.repeat(512))).status).toBe(200);
    });

    it.each([
      ['U+001F', 'a%1Fb'],
      ['U+007F', 'a%7Fb'],
      ['a newline', 'a%0Ab'],
      ['a tab', '%09'],
    ])('answers 400 invalid_key when the key contains the control character %s', async (_name, path) => {
      const c = await client();
      expectError(await c.put(path, { value: 1 }), 400, 'invalid_key');
      expectError(await c.get(path), 400, 'invalid_key');
    });

    it.each([
      ['a lone %FF byte', 'x%FF'],
      ['an overlong encoding of /', 'x%C0%AF'],
      ['an encoded surrogate', 'x%ED%A0%80'],
      ['a lone continuation byte', 'x%80'],
    ])('answers 400 invalid_key when the key has %s', async (_name, path) => {
      const c = await client();
      expectError(await c.put(path, { value: 1 }), 400, 'invalid_key');
      expectError(await c.get(path), 400, 'invalid_key');
      expectError(await c.del(path), 400, 'invalid_key');
    });

    // nginx refuses these URLs itself with a plain 400 before they reach KV; the client still
    // gets a 400 and nothing is written. Straight to KV they get the invalid_key envelope.
    it.each([
      ['the control character U+0000', 'a%00b'],
      ['a truncated percent-escape', 'x%E0%A4%A'],
      ['a % without hex digits', 'x%zz'],
    ])('answers 400 (invalid_key from KV itself) when the key has %s', async (_name, path) => {
      const c = await client();
      for (const res of [await c.put(path, { value: 1 }), await c.get(path), await c.del(path)]) {
        if (behindLoadBalancer) expect(res.status).toBe(400);
        else expectError(res, 400, 'invalid_key');
      }
      expect((await c.list('')).body.data.items).toEqual([]);
    });
  });

  describe('401 unauthorized', () => {
    it('answers 401 when there is no Authorization header', async () => {
      expectError(await request(t.app).get('/kv/items/k'), 401, 'unauthorized');
      expectError(await request(t.app).get('/kv/usage'), 401, 'unauthorized');
      expectError(await request(t.app).put('/kv/items/k').send({ value: 1 }), 401, 'unauthorized');
    });

    it('answers 401 when the scheme is not Bearer', async () => {
      const c = await client();
      expectError(await request(t.app).get('/kv/items/k').set('Authorization', `Basic ${c.apiKey}`), 401, 'unauthorized');
      expectError(await request(t.app).get('/kv/items/k').set('Authorization', c.apiKey), 401, 'unauthorized');
      expectError(await request(t.app).get('/kv/items/k').set('Authorization', 'Bearer'), 401, 'unauthorized');
    });

    it('answers 401 when the API key is unknown, without echoing it', async () => {
      const unknown = `kv_${randomBytes(24).toString('base64url')}`;
      secrets.push(unknown);
      expectError(await request(t.app).get('/kv/items/k').set('Authorization', `Bearer ${unknown}`), 401, 'unauthorized');
    });

    it('answers 401 once the API key is revoked', async () => {
      const c = await client();
      await c.put('k', { value: 1 });
      expect((await c.get('k')).status).toBe(200);
      const revoke = await request(t.app).delete(`/admin/keys/${c.keyId}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
      expect(revoke.status).toBe(204);
      expectError(await c.get('k'), 401, 'unauthorized');
      expectError(await c.put('k', { value: 2 }), 401, 'unauthorized');
    });
  });

  describe('403 forbidden', () => {
    it('answers 403 forbidden when a read-only key writes or deletes, while reads work', async () => {
      const c = await client();
      const put = await c.put('k', { value: 1 });
      const readOnly = `Bearer ${await readOnlyKey(c.accountId)}`;

      expectError(await request(t.app).put('/kv/items/k').set('Authorization', readOnly).send({ value: 2 }), 403, 'forbidden');
      expectError(await request(t.app).put('/kv/items/new').set('Authorization', readOnly).send({ value: 2 }), 403, 'forbidden');
      expectError(await request(t.app).delete('/kv/items/k').set('Authorization', readOnly), 403, 'forbidden');

      const got = await request(t.app).get('/kv/items/k').set('Authorization', readOnly);
      expect(got.status).toBe(200);
      expect(got.body.data).toMatchObject({ value: 1, version: put.body.data.version });
      expect((await request(t.app).get('/kv/items').set('Authorization', readOnly)).status).toBe(200);
      expect((await request(t.app).get('/kv/usage').set('Authorization', readOnly)).body.data.keys).toBe(1);
      expectError(await request(t.app).get('/kv/items/new').set('Authorization', readOnly), 404, 'not_found');
    });
  });

  describe('403 quota_exceeded', () => {
    it('refuses a third key when maxKeys is 2 but still replaces an existing one', async () => {
      const c = await client({ maxKeys: 2 });
      expect((await c.put('a', { value: 1 })).status).toBe(201);
      expect((await c.put('b', { value: 1 })).status).toBe(201);
      expectError(await c.put('c', { value: 1 }), 403, 'quota_exceeded');
      expectError(await c.get('c'), 404, 'not_found');
      expect((await c.put('a', { value: 2 })).status).toBe(200);
      expect((await request(t.app).get('/kv/usage').set('Authorization', c.auth)).body.data.keys).toBe(2);
      expect((await c.del('b')).status).toBe(204);
      expect((await c.put('c', { value: 1 })).status).toBe(201);
    });
  });

  describe('404 not_found', () => {
    it('answers 404 not_found for an unknown route', async () => {
      expectError(await request(t.app).get('/nope'), 404, 'not_found');
      expectError(await request(t.app).post('/kv-items').send({}), 404, 'not_found');
      const c = await client();
      expectError(await request(t.app).get('/kv/nope').set('Authorization', c.auth), 404, 'not_found');
    });

    it('answers 404 not_found for a key that does not exist', async () => {
      const c = await client();
      expectError(await c.get('missing'), 404, 'not_found');
      expectError(await c.del('missing'), 404, 'not_found');
    });
  });

  describe('412 precondition_failed', () => {
    it('carries currentVersion as a string when the key exists and null when it does not', async () => {
      const c = await client();
      const put = await c.put('k', { value: 1 });
      expectError(await c.put('k', { value: 2, ifVersion: 'nope' }), 412, 'precondition_failed', {
        currentVersion: put.body.data.version,
      });
      expectError(await c.put('k', { value: 2, ifNotExists: true }), 412, 'precondition_failed', {
        currentVersion: put.body.data.version,
      });
      expectError(await c.del('k?ifVersion=nope'), 412, 'precondition_failed', { currentVersion: put.body.data.version });
      expectError(await c.put('absent', { value: 2, ifVersion: 'nope' }), 412, 'precondition_failed', { currentVersion: null });
      expect(typeof put.body.data.version).toBe('string');
    });
  });

  describe('415 unsupported_media_type', () => {
    it('answers 415 when the body is text/plain', async () => {
      const c = await client();
      expectError(await c.putText('k', '{"value":1}', 'text/plain'), 415, 'unsupported_media_type');
    });

    it('answers 415 when the body is application/x-www-form-urlencoded', async () => {
      const c = await client();
      expectError(await c.putText('k', 'value=1', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type');
    });

    it('answers 415 when the body has no content type', async () => {
      const c = await client();
      const res = await request(t.app).put('/kv/items/k').set('Authorization', c.auth).send(Buffer.from('{"value":1}'));
      // superagent keeps the client request on the response; a Buffer body gets no content type.
      const sent = (res as unknown as { req: { getHeader(name: string): unknown } }).req;
      expect(sent.getHeader('content-type')).toBeUndefined();
      expectError(res, 415, 'unsupported_media_type');
      expectError(await c.get('k'), 404, 'not_found');
    });

    it('accepts application/json with charset=utf-8', async () => {
      const c = await client();
      expect((await c.putText('k', '{"value":1}', 'application/json; charset=utf-8')).status).toBe(201);
    });
  });

  describe('429 rate_limited', () => {
    /** Fires `count` requests at once and returns them all. */
    const burst = (count: number, make: (i: number) => request.Test) => Promise.all(Array.from({ length: count }, (_, i) => make(i)));

    function expectRateLimited(responses: Response[]) {
      const limited = responses.filter((res) => res.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      const res = limited[0];
      expectError(res, 429, 'rate_limited');
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(2);
      expect(res.headers.ratelimit).toEqual(expect.any(String));
      expect(res.headers['ratelimit-policy']).toEqual(expect.any(String));
      const ok = responses.find((r) => r.status < 300);
      expect(ok?.headers.ratelimit).toEqual(expect.any(String));
      expect(ok?.headers['ratelimit-policy']).toEqual(expect.any(String));
    }

    it('answers 429 with Retry-After and RateLimit headers past readsPerSecond', async () => {
      const c = await client({ readsPerSecond: 3 });
      await c.put('k', { value: 1 }).expect(201);
      const responses = await burst(8, () => c.get('k'));
      expectRateLimited(responses);
      expect(responses.filter((res) => res.status === 200).length).toBeLessThanOrEqual(6);
      // Writes have their own budget.
      expect((await c.put('k', { value: 2 })).status).toBe(200);
    });

    it('answers 429 with Retry-After and RateLimit headers past writesPerSecond', async () => {
      const c = await client({ writesPerSecond: 3 });
      const responses = await burst(8, (i) => c.put(`k${i}`, { value: i }));
      expectRateLimited(responses);
      const created = responses.filter((res) => res.status === 201).length;
      expect(created).toBeLessThanOrEqual(6);
      const listed = await c.list('');
      expect(listed.body.data.items).toHaveLength(created);
    });

    it('lets a burst of 100 concurrent writes under the account rate through', async () => {
      const c = await client();
      const responses = await burst(100, (i) => c.put(`k${i}`, { value: i }));
      const byStatus: Record<number, number> = {};
      for (const res of responses) byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
      expect(byStatus).toEqual({ 201: 100 });
    });
  });

  describe('a refused write changes nothing', () => {
    it('leaves the value, version and key count as they were after every refused PUT', async () => {
      const c = await client({ maxKeys: 1 });
      const put = await c.put('k', { value: { kept: true }, ttlSeconds: 600 });
      expect(put.status).toBe(201);
      const before = (await c.get('k')).text;

      const refused: [number, request.Test][] = [
        [400, c.putText('k', '{"value":')],
        [400, c.putText('k', Buffer.from([0x7b, 0xff, 0x7d]))],
        [400, c.put('k', { value: 2, extra: 1 })],
        [400, c.put('k', { ttlSeconds: 5 })],
        [400, c.put('k', { value: 2, ttlSeconds: 0 })],
        [400, c.put('k', { value: 2, keepTtl: true, ttlSeconds: 10 })],
        [400, c.put('k', { value: 2, ifNotExists: true, ifVersion: put.body.data.version })],
        [400, c.putText('k', `{"value":${nestedArrays(65)}}`)],
        [400, c.putText('k', '{"__proto__":1,"value":2}')],
        [412, c.put('k', { value: 2, ifVersion: `${put.body.data.version}9` })],
        [412, c.put('k', { value: 2, ifNotExists: true })],
        [412, c.put('k', { value: 2 }).set('If-Match', '"999999"')],
        [413, c.putText('k', `{"value":"${'a'.repeat(MiB)}"}`)],
        [415, c.putText('k', '{"value":2}', 'text/plain')],
        [403, c.put('other', { value: 2 })],
        [412, c.del('k?ifVersion=999999')],
      ];
      for (const [status, pending] of refused) {
        const res = await pending;
        expect({ status: res.status, code: res.body.error?.code }).toEqual({ status, code: expect.any(String) });
        expect((await c.get('k')).text).toBe(before);
      }
      expect((await request(t.app).get('/kv/usage').set('Authorization', c.auth)).body.data.keys).toBe(1);
      expectError(await c.get('other'), 404, 'not_found');
    });
  });
});
