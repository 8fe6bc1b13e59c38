// The atomic routes over HTTP: commit, increment, batchGet, merge patch, and listing with values.

import request from 'supertest';
import type { Response } from 'supertest';
import { ADMIN_TOKEN, createTestApp, describeStore, type TestApp } from '../helpers/app';
import { expectError } from '../helpers/envelope';
import { waitFor } from '../helpers/wait';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MAX_SAFE = 9007199254740991;
const BIG = '12345678901234567890';

type Client = Awaited<ReturnType<TestApp['newClient']>>;

/** The body of a PUT / PATCH: the item without its value, and an ETag equal to its version. */
function expectMeta(res: Response, status: number, key: string) {
  expect(res.status).toBe(status);
  expect(res.body).toEqual({
    data: {
      key,
      version: expect.any(String),
      expiresAt: res.body?.data?.expiresAt === null ? null : expect.stringMatching(ISO_UTC),
      createdAt: expect.stringMatching(ISO_UTC),
      updatedAt: expect.stringMatching(ISO_UTC),
    },
  });
  expect(res.headers.etag).toBe(`"${res.body.data.version}"`);
}

/** The whole item as GET answers it, with `value`. */
function itemShape(key: string, value: unknown, expiresAt: unknown = null) {
  return {
    key,
    value,
    version: expect.any(String),
    expiresAt,
    createdAt: expect.stringMatching(ISO_UTC),
    updatedAt: expect.stringMatching(ISO_UTC),
  };
}

describeStore('atomic routes', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const client = (limits?: Record<string, number>) => t.newClient(limits);
  const commit = (c: Client, body: unknown) => request(t.app).post('/kv/items:commit').set('Authorization', c.auth).send(body as object);
  const postText = (c: Client, path: string, text: string, type = 'application/json') =>
    request(t.app).post(path).set('Authorization', c.auth).set('Content-Type', type).serialize((d) => d).send(text);
  const increment = (c: Client, body: unknown) => request(t.app).post('/kv/items:increment').set('Authorization', c.auth).send(body as object);
  const batchGet = (c: Client, keys: unknown) => request(t.app).post('/kv/items:batchGet').set('Authorization', c.auth).send({ keys });
  const patch = (c: Client, key: string, text: string, type = 'application/merge-patch+json') =>
    request(t.app).patch(`/kv/items/${key}`).set('Authorization', c.auth).set('Content-Type', type).serialize((d) => d).send(text);
  /** A read-only API key of the client's account, as an Authorization header value. */
  const readOnly = async (c: Client) => {
    const res = await request(t.app)
      .post(`/admin/accounts/${c.accountId}/keys`)
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ scopes: ['read'] });
    expect(res.status).toBe(201);
    return `Bearer ${res.body.data.apiKey.key}`;
  };
  const keyCount = async (c: Client) => (await c.usage()).body.data.keys as number;
  /** The raw text of the stored value's item, for exact-digit comparisons. */
  const getText = async (c: Client, key: string) => {
    const res = await c.get(key);
    expect(res.status).toBe(200);
    return res.text;
  };

  describe('POST /kv/items:commit', () => {
    it('applies set, delete and increment in order and answers one result per op', async () => {
      const c = await client();
      await c.put('c', { value: 'old' }).expect(201);
      const res = await commit(c, {
        ops: [
          { op: 'set', key: 'a', value: { x: 1 } },
          { op: 'delete', key: 'c' },
          { op: 'increment', key: 'hits', by: 5 },
        ],
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        data: {
          results: [
            { key: 'a', version: expect.any(String) },
            { key: 'c', version: null },
            { key: 'hits', version: expect.any(String), value: 5 },
          ],
        },
      });
      const [a, , hits] = res.body.data.results;
      expect(a.version).not.toBe(hits.version);
      expect((await c.get('a')).body.data).toEqual({ ...itemShape('a', { x: 1 }), version: a.version });
      expectError(await c.get('c'), 404, 'not_found');
      expect((await c.get('hits')).body.data).toEqual({ ...itemShape('hits', 5), version: hits.version });
    });

    it('applies ops on one key in sequence: a later increment sees the value the earlier ops left', async () => {
      const c = await client();
      await c.put('n', { value: 10 }).expect(201);
      const res = await commit(c, { ops: [{ op: 'increment', key: 'n', by: -3 }, { op: 'set', key: 'm', value: 1 }] });
      expect(res.status).toBe(200);
      expect(res.body.data.results[0]).toEqual({ key: 'n', version: expect.any(String), value: 7 });
    });

    it('keeps the digits, escapes and key order of a set value', async () => {
      const c = await client();
      const value = `{"n":${BIG},"f":1.0,"e":1E+2,"s":"\\u00e9","z":0,"a":[-0.0]}`;
      const res = await postText(c, '/kv/items:commit', `{"ops":[{"op":"set","key":"big","value":  ${value.replace(/,/g, ', ')} }]}`);
      expect(res.status).toBe(200);
      expect(await getText(c, 'big')).toContain(`"value":${value},`);
    });

    it('applies the ops when every check holds, a version or null', async () => {
      const c = await client();
      const a = await c.put('a', { value: 1 }).expect(201);
      const res = await commit(c, {
        checks: [
          { key: 'a', version: a.body.data.version },
          { key: 'b', version: null },
        ],
        ops: [
          { op: 'set', key: 'a', value: 2 },
          { op: 'set', key: 'b', value: 3 },
        ],
      });
      expect(res.status).toBe(200);
      expect(res.body.data.results[0].version).not.toBe(a.body.data.version);
      expect((await c.get('a')).body.data.value).toBe(2);
      expect((await c.get('b')).body.data.value).toBe(3);
    });

    it('answers 412 with failedChecks listing every failed check and applies nothing when a check fails', async () => {
      const c = await client();
      const a = await c.put('a', { value: 1 }).expect(201);
      const b = await c.put('b', { value: 2 }).expect(201);
      const res = await commit(c, {
        checks: [
          { key: 'a', version: 'no-such-version' },
          { key: 'b', version: b.body.data.version },
          { key: 'c', version: '1' },
          { key: 'b', version: null },
        ],
        ops: [
          { op: 'set', key: 'a', value: 10 },
          { op: 'delete', key: 'b' },
          { op: 'set', key: 'd', value: 4 },
          { op: 'increment', key: 'e' },
        ],
      });
      const failedChecks = [
        { index: 0, key: 'a', currentVersion: a.body.data.version },
        { index: 2, key: 'c', currentVersion: null },
        { index: 3, key: 'b', currentVersion: b.body.data.version },
      ];
      expectError(res, 412, 'precondition_failed', { failedChecks });
      expect(res.body.error.failedChecks).toEqual(failedChecks);
      expect((await c.get('a')).body.data).toEqual({ ...itemShape('a', 1), version: a.body.data.version });
      expect((await c.get('b')).body.data.version).toBe(b.body.data.version);
      expect(await keyCount(c)).toBe(2);
    });

    it('treats a delete of an absent key as a no-op with version null', async () => {
      const c = await client();
      const res = await commit(c, { ops: [{ op: 'delete', key: 'ghost' }] });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ data: { results: [{ key: 'ghost', version: null }] } });
      expect(await keyCount(c)).toBe(0);
    });

    it('sets a TTL with ttlSeconds, keeps one with keepTtl and drops it without either', async () => {
      const c = await client();
      const kept = await c.put('kept', { value: 1, ttlSeconds: 600 }).expect(201);
      await c.put('dropped', { value: 1, ttlSeconds: 600 }).expect(201);
      const before = Date.now();
      const res = await commit(c, {
        ops: [
          { op: 'set', key: 'kept', value: 2, keepTtl: true },
          { op: 'set', key: 'dropped', value: 2 },
          { op: 'set', key: 'new', value: 3, ttlSeconds: 60 },
        ],
      });
      expect(res.status).toBe(200);
      expect((await c.get('kept')).body.data).toMatchObject({ value: 2, expiresAt: kept.body.data.expiresAt });
      expect((await c.get('dropped')).body.data).toMatchObject({ value: 2, expiresAt: null });
      const expiresAt = Date.parse((await c.get('new')).body.data.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 60_000 - 2000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 60_000 + 2000);
    });

    it('sets a TTL with an increment op that has ttlSeconds and keeps it on one without', async () => {
      const c = await client();
      const before = Date.now();
      const first = await commit(c, { ops: [{ op: 'increment', key: 'n', by: 2, ttlSeconds: 60 }] });
      expect(first.body).toEqual({ data: { results: [{ key: 'n', version: expect.any(String), value: 2 }] } });
      const expiresAt = (await c.get('n')).body.data.expiresAt;
      expect(Date.parse(expiresAt)).toBeGreaterThanOrEqual(before + 60_000 - 2000);
      expect(Date.parse(expiresAt)).toBeLessThanOrEqual(Date.now() + 60_000 + 2000);
      const second = await commit(c, { ops: [{ op: 'increment', key: 'n' }] });
      expect(second.body.data.results[0].value).toBe(3);
      expect((await c.get('n')).body.data).toMatchObject({ value: 3, expiresAt });
    });

    it('answers 403 quota_exceeded and applies nothing when the keys it creates do not fit', async () => {
      const c = await client({ maxKeys: 3 });
      await c.put('a', { value: 1 }).expect(201);
      await c.put('b', { value: 2 }).expect(201);
      const res = await commit(c, {
        ops: [
          { op: 'set', key: 'a', value: 'changed' },
          { op: 'set', key: 'x', value: 1 },
          { op: 'set', key: 'y', value: 1 },
        ],
      });
      expectError(res, 403, 'quota_exceeded', { limit: 3 });
      expect((await c.get('a')).body.data.value).toBe(1);
      expectError(await c.get('x'), 404, 'not_found');
      expect(await keyCount(c)).toBe(2);
    });

    it('counts the quota net of the keys it deletes', async () => {
      const c = await client({ maxKeys: 3 });
      await c.put('a', { value: 1 }).expect(201);
      await c.put('b', { value: 2 }).expect(201);
      const res = await commit(c, {
        ops: [
          { op: 'delete', key: 'a' },
          { op: 'set', key: 'x', value: 1 },
          { op: 'set', key: 'y', value: 1 },
        ],
      });
      expect(res.status).toBe(200);
      expect(await keyCount(c)).toBe(3);
      expect((await c.list()).body.data.items.map((item: { key: string }) => item.key)).toEqual(['b', 'x', 'y']);
    });

    it('answers 409 type_mismatch and applies nothing when an increment op meets a string', async () => {
      const c = await client();
      const s = await c.put('s', { value: 'text' }).expect(201);
      const res = await commit(c, {
        ops: [
          { op: 'set', key: 'a', value: 1 },
          { op: 'increment', key: 's', by: 1 },
        ],
      });
      expectError(res, 409, 'type_mismatch');
      expect((await c.get('s')).body.data).toEqual({ ...itemShape('s', 'text'), version: s.body.data.version });
      expectError(await c.get('a'), 404, 'not_found');
    });

    describe('refuses a malformed commit and applies nothing', () => {
      const set = (key: string, value: unknown = 1) => ({ op: 'set', key, value });
      const cases: [string, () => unknown, string, Record<string, unknown>?][] = [
        ['101 ops', () => ({ ops: Array.from({ length: 101 }, (_, i) => set(`k${i}`)) }), 'invalid_request'],
        [
          '101 checks',
          () => ({ checks: Array.from({ length: 101 }, (_, i) => ({ key: `c${i}`, version: null })), ops: [set('k')] }),
          'invalid_request',
        ],
        [
          'a key twice among the ops',
          () => ({ ops: [set('k'), set('other'), { op: 'delete', key: 'k' }] }),
          'invalid_request',
          { details: [{ path: 'body.ops.2.key', message: expect.any(String) }] },
        ],
        ['no ops', () => ({ ops: [] }), 'invalid_request'],
        ['no ops field', () => ({ checks: [] }), 'invalid_request'],
        ['an unknown op', () => ({ ops: [set('k'), { op: 'append', key: 'j', value: 1 }] }), 'invalid_request'],
        ['value on a delete', () => ({ ops: [set('k'), { op: 'delete', key: 'j', value: 1 }] }), 'invalid_request'],
        ['by on a set', () => ({ ops: [{ op: 'set', key: 'k', value: 1, by: 2 }] }), 'invalid_request'],
        ['a set without value', () => ({ ops: [{ op: 'set', key: 'k' }] }), 'invalid_request'],
        [
          'ttlSeconds with keepTtl',
          () => ({ ops: [set('j'), { op: 'set', key: 'k', value: 1, ttlSeconds: 5, keepTtl: true }] }),
          'invalid_request',
        ],
        ['an unknown field', () => ({ ops: [set('k')], extra: true }), 'invalid_request'],
        ['a non-integer by', () => ({ ops: [{ op: 'increment', key: 'k', by: 1.5 }] }), 'invalid_request'],
        ['an empty key in an op', () => ({ ops: [set('k'), set('')] }), 'invalid_key'],
        ['a key with a control character in an op', () => ({ ops: [set('k'), set('a\u0001b')] }), 'invalid_key'],
        ['an empty key in a check', () => ({ checks: [{ key: '', version: null }], ops: [set('k')] }), 'invalid_key'],
        ['a key with DEL in a check', () => ({ checks: [{ key: 'a\u007f', version: null }], ops: [set('k')] }), 'invalid_key'],
        ['a value over 1 MiB', () => ({ ops: [set('j'), set('k', 'x'.repeat(1024 * 1024))] }), 'invalid_request'],
        [
          'values over 2 MiB together',
          () => ({ ops: [set('a', 'x'.repeat(800_000)), set('b', 'y'.repeat(800_000)), set('c', 'z'.repeat(800_000))] }),
          'invalid_request',
        ],
      ];
      // Rows of three fill a fourth argument, so jest would take the function for a done-callback test.
      it.each(cases.map(([name, body, code, extra]) => [name, { body, code, extra: extra ?? {} }] as const))('answers 400 for %s', async (_name, { body, code, extra }) => {
        const c = await client();
        expectError(await commit(c, body()), 400, code, extra);
        expect(await keyCount(c)).toBe(0);
      });
    });

    it('answers 400 invalid_json for a body that is not JSON', async () => {
      const c = await client();
      expectError(await postText(c, '/kv/items:commit', '{"ops": ['), 400, 'invalid_json');
      expect(await keyCount(c)).toBe(0);
    });

    it('answers 415 for a body that is not application/json', async () => {
      const c = await client();
      const res = await postText(c, '/kv/items:commit', '{"ops":[{"op":"set","key":"k","value":1}]}', 'text/plain');
      expectError(res, 415, 'unsupported_media_type');
      expect(await keyCount(c)).toBe(0);
    });

    it('answers 400 for a query parameter', async () => {
      const c = await client();
      const res = await request(t.app)
        .post('/kv/items:commit?dryRun=true')
        .set('Authorization', c.auth)
        .send({ ops: [{ op: 'set', key: 'k', value: 1 }] });
      expectError(res, 400, 'invalid_request');
      expect(await keyCount(c)).toBe(0);
    });

    it('answers 403 forbidden to a read-only key', async () => {
      const c = await client();
      const auth = await readOnly(c);
      const res = await request(t.app).post('/kv/items:commit').set('Authorization', auth).send({ ops: [{ op: 'set', key: 'k', value: 1 }] });
      expectError(res, 403, 'forbidden');
      expect(await keyCount(c)).toBe(0);
    });

    it('answers 429 with Retry-After and applies nothing when its ops pass the write limit', async () => {
      const c = await client({ writesPerSecond: 5 });
      const res = await commit(c, { ops: Array.from({ length: 10 }, (_, i) => ({ op: 'set', key: `k${i}`, value: i })) });
      expectError(res, 429, 'rate_limited', { retryAfter: expect.any(Number) });
      expect(res.headers['retry-after']).toBe(String(res.body.error.retryAfter));
      expect(res.body.error.retryAfter).toBeGreaterThanOrEqual(1);
      expect(await keyCount(c)).toBe(0);
    });
  });

  describe('POST /kv/items:increment', () => {
    it('creates an absent key as 0 + by and answers 201 with the item and an ETag', async () => {
      const c = await client();
      const res = await increment(c, { key: 'hits' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ data: itemShape('hits', 1) });
      expect(res.headers.etag).toBe(`"${res.body.data.version}"`);
      expect(res.body.data.createdAt).toBe(res.body.data.updatedAt);
      expect((await c.get('hits')).body.data).toEqual(res.body.data);
    });

    it('adds to an existing integer and answers 200 with a new version', async () => {
      const c = await client();
      const put = await c.put('n', { value: 40 }).expect(201);
      const res = await increment(c, { key: 'n', by: 2 });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ data: { ...itemShape('n', 42), createdAt: put.body.data.createdAt } });
      expect(res.body.data.version).not.toBe(put.body.data.version);
      expect(res.headers.etag).toBe(`"${res.body.data.version}"`);
      const down = await increment(c, { key: 'n', by: -50 });
      expect(down.status).toBe(200);
      expect(down.body.data.value).toBe(-8);
      expect((await c.get('n')).body.data.value).toBe(-8);
    });

    it('adds exactly N for N concurrent increments', async () => {
      const c = await client();
      const responses = await Promise.all(Array.from({ length: 20 }, () => increment(c, { key: 'n' })));
      expect(responses.filter((res) => res.status === 201)).toHaveLength(1);
      expect(responses.filter((res) => res.status === 200)).toHaveLength(19);
      expect(responses.map((res) => res.body.data.value).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect((await c.get('n')).body.data.value).toBe(20);
    });

    it.each([
      ['1.5', 1.5],
      ['"1"', '1'],
      ['2^53', 2 ** 53],
      ['-2^53', -(2 ** 53)],
      ['null', null],
    ])('answers 400 invalid_request for by %s and changes nothing', async (_name, by) => {
      const c = await client();
      const put = await c.put('n', { value: 1 }).expect(201);
      expectError(await increment(c, { key: 'n', by }), 400, 'invalid_request');
      expect((await c.get('n')).body.data).toMatchObject({ value: 1, version: put.body.data.version });
    });

    it.each([
      ['a string', '{"value":"5"}', '"5"'],
      ['a float', '{"value":5.0}', '5.0'],
      ['an exponent', '{"value":1e3}', '1e3'],
      ['an object', '{"value":{"n":1}}', '{"n":1}'],
      ['null', '{"value":null}', 'null'],
    ])('answers 409 type_mismatch when the stored value is %s and changes nothing', async (_name, body, stored) => {
      const c = await client();
      const put = await c.putText('n', body);
      expect(put.status).toBe(201);
      expectError(await increment(c, { key: 'n', by: 1 }), 409, 'type_mismatch');
      const text = await getText(c, 'n');
      expect(text).toContain(`"value":${stored},`);
      expect(text).toContain(`"version":"${put.body.data.version}"`);
    });

    it.each([
      [String(MAX_SAFE), 1],
      [String(-MAX_SAFE), -1],
      ['0', MAX_SAFE],
    ])('answers 409 type_mismatch when %s + %d would pass ±(2^53 − 1) and changes nothing', async (stored, by) => {
      const c = await client();
      const put = await c.putText('n', `{"value":${stored}}`);
      expect(put.status).toBe(201);
      if (stored === '0') {
        // 0 + MAX is fine; one more passes it.
        expect((await increment(c, { key: 'n', by })).body.data.value).toBe(MAX_SAFE);
        expectError(await increment(c, { key: 'n', by: 1 }), 409, 'type_mismatch');
        expect(await getText(c, 'n')).toContain(`"value":${MAX_SAFE},`);
        return;
      }
      expectError(await increment(c, { key: 'n', by }), 409, 'type_mismatch');
      const text = await getText(c, 'n');
      expect(text).toContain(`"value":${stored},`);
      expect(text).toContain(`"version":"${put.body.data.version}"`);
    });

    it('keeps the TTL without ttlSeconds and sets it with ttlSeconds', async () => {
      const c = await client();
      const put = await c.put('n', { value: 1, ttlSeconds: 600 }).expect(201);
      const kept = await increment(c, { key: 'n' });
      expect(kept.body.data).toMatchObject({ value: 2, expiresAt: put.body.data.expiresAt });
      const before = Date.now();
      const set = await increment(c, { key: 'n', ttlSeconds: 60 });
      expect(set.status).toBe(200);
      const expiresAt = Date.parse(set.body.data.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 60_000 - 2000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 60_000 + 2000);
      expect((await c.get('n')).body.data).toMatchObject({ value: 3, expiresAt: set.body.data.expiresAt });
    });

    it('creates a key without TTL when none is given', async () => {
      const c = await client();
      expect((await increment(c, { key: 'n', by: 7 })).body.data).toMatchObject({ value: 7, expiresAt: null });
    });

    it('answers 403 forbidden to a read-only key and creates nothing', async () => {
      const c = await client();
      const auth = await readOnly(c);
      expectError(await request(t.app).post('/kv/items:increment').set('Authorization', auth).send({ key: 'n' }), 403, 'forbidden');
      expect(await keyCount(c)).toBe(0);
    });

    it.each([
      ['no key', {}, 'invalid_request'],
      ['an unknown field', { key: 'n', step: 1 }, 'invalid_request'],
      ['a key that is not a string', { key: 5 }, 'invalid_request'],
      ['a ttlSeconds of 0', { key: 'n', ttlSeconds: 0 }, 'invalid_request'],
      ['an empty key', { key: '' }, 'invalid_key'],
      ['a key with a control character', { key: 'a\nb' }, 'invalid_key'],
    ])('answers 400 for %s and creates nothing', async (_name, body, code) => {
      const c = await client();
      expectError(await increment(c, body), 400, code);
      expect(await keyCount(c)).toBe(0);
    });

    it('answers 400 invalid_json for a body that is not JSON', async () => {
      const c = await client();
      expectError(await postText(c, '/kv/items:increment', 'key=n'), 400, 'invalid_json');
    });
  });

  describe('POST /kv/items:batchGet', () => {
    it('answers the items in request order with null for absent keys', async () => {
      const c = await client();
      const a = await c.put('a', { value: { x: 1 } }).expect(201);
      const b = await c.put('b', { value: [1, 2], ttlSeconds: 600 }).expect(201);
      const res = await batchGet(c, ['b', 'missing', 'a']);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        data: {
          items: [
            { ...itemShape('b', [1, 2], b.body.data.expiresAt), version: b.body.data.version, createdAt: b.body.data.createdAt },
            null,
            { ...itemShape('a', { x: 1 }), version: a.body.data.version, createdAt: a.body.data.createdAt },
          ],
        },
      });
    });

    it('answers a key named twice twice', async () => {
      const c = await client();
      await c.put('a', { value: 1 }).expect(201);
      const res = await batchGet(c, ['a', 'a']);
      expect(res.status).toBe(200);
      expect(res.body.data.items).toEqual([itemShape('a', 1), itemShape('a', 1)]);
    });

    it('answers null for a key whose TTL has passed', async () => {
      const c = await client();
      await c.put('short', { value: 1, ttlSeconds: 1 }).expect(201);
      await c.put('long', { value: 2 }).expect(201);
      await waitFor(
        async () => {
          const res = await batchGet(c, ['short', 'long']);
          expect(res.body.data.items).toEqual([null, itemShape('long', 2)]);
        },
        { what: 'the 1 s TTL to pass', timeoutMs: 4000, intervalMs: 200 },
      );
    });

    it('keeps the digits of the values', async () => {
      const c = await client();
      expect((await c.putText('big', `{"value":{"n":${BIG},"f":2.50}}`)).status).toBe(201);
      const res = await batchGet(c, ['big']);
      expect(res.status).toBe(200);
      expect(res.text).toContain(`"value":{"n":${BIG},"f":2.50}`);
    });

    it("never answers another account's keys", async () => {
      const owner = await client();
      const other = await client();
      await owner.put('secret', { value: 'mine' }).expect(201);
      expect((await batchGet(other, ['secret'])).body).toEqual({ data: { items: [null] } });
    });

    it.each([
      ['0 keys', [], 'invalid_request'],
      ['101 keys', Array.from({ length: 101 }, (_, i) => `k${i}`), 'invalid_request'],
      ['a key that is not a string', ['a', 1], 'invalid_request'],
      ['an empty key', ['a', ''], 'invalid_key'],
      ['a key with a control character', ['a', 'b\u0000'], 'invalid_key'],
      ['a key over 512 bytes', ['a', 'é'.repeat(257)], 'invalid_key'],
    ])('answers 400 for %s', async (_name, keys, code) => {
      const c = await client();
      expectError(await batchGet(c, keys), 400, code);
    });

    it('answers 100 keys', async () => {
      const c = await client();
      await c.put('k7', { value: 7 }).expect(201);
      const res = await batchGet(c, Array.from({ length: 100 }, (_, i) => `k${i}`));
      expect(res.status).toBe(200);
      expect(res.body.data.items).toHaveLength(100);
      expect(res.body.data.items.filter((item: unknown) => item !== null)).toEqual([itemShape('k7', 7)]);
    });

    it('answers 400 for a query parameter or a missing keys field', async () => {
      const c = await client();
      expectError(await request(t.app).post('/kv/items:batchGet?x=1').set('Authorization', c.auth).send({ keys: ['a'] }), 400, 'invalid_request');
      expectError(await request(t.app).post('/kv/items:batchGet').set('Authorization', c.auth).send({}), 400, 'invalid_request');
    });

    it('counts one read per key against the read limit', async () => {
      const c = await client({ readsPerSecond: 5 });
      const res = await batchGet(c, Array.from({ length: 10 }, (_, i) => `k${i}`));
      expectError(res, 429, 'rate_limited', { retryAfter: expect.any(Number) });
      expect(res.headers['retry-after']).toBe(String(res.body.error.retryAfter));
    });

    it('works with a read-only key', async () => {
      const c = await client();
      await c.put('a', { value: 1 }).expect(201);
      const auth = await readOnly(c);
      const res = await request(t.app).post('/kv/items:batchGet').set('Authorization', auth).send({ keys: ['a'] });
      expect(res.status).toBe(200);
      expect(res.body.data.items).toEqual([itemShape('a', 1)]);
    });
  });

  describe('PATCH /kv/items/{key}', () => {
    it('merges by RFC 7396: null removes, objects merge, arrays and scalars replace', async () => {
      const c = await client();
      await c.put('doc', { value: { a: 1, b: { c: 2, d: 3 }, arr: [1, 2], gone: true } }).expect(201);
      const res = await patch(c, 'doc', '{"gone":null,"b":{"d":null,"e":4},"arr":[3],"a":"one","new":{"x":null,"y":1}}');
      expectMeta(res, 200, 'doc');
      expect(await getText(c, 'doc')).toContain('"value":{"a":"one","b":{"c":2,"e":4},"arr":[3],"new":{"y":1}},');
    });

    it('replaces the whole value with a patch that is not an object', async () => {
      const c = await client();
      await c.put('doc', { value: { a: 1 } }).expect(201);
      expectMeta(await patch(c, 'doc', '[1, 2]'), 200, 'doc');
      expect((await c.get('doc')).body.data.value).toEqual([1, 2]);
    });

    it('keeps the digits of numbers in the stored value and in the patch', async () => {
      const c = await client();
      expect((await c.putText('doc', `{"value":{"big":${BIG},"x":1,"f":1.50}}`)).status).toBe(201);
      expectMeta(await patch(c, 'doc', `{"x":2,"more":9${BIG}, "g":2.0}`), 200, 'doc');
      expect(await getText(c, 'doc')).toContain(`"value":{"big":${BIG},"x":2,"f":1.50,"more":9${BIG},"g":2.0},`);
    });

    it('answers 200 like a PUT with a new version and an ETag, keeping the TTL and createdAt', async () => {
      const c = await client();
      const put = await c.put('doc', { value: { a: 1 }, ttlSeconds: 600 }).expect(201);
      const res = await patch(c, 'doc', '{"b":2}');
      expectMeta(res, 200, 'doc');
      expect(res.body.data.version).not.toBe(put.body.data.version);
      expect(res.body.data.expiresAt).toBe(put.body.data.expiresAt);
      expect(res.body.data.createdAt).toBe(put.body.data.createdAt);
      expect((await c.get('doc')).body.data).toEqual({ ...res.body.data, value: { a: 1, b: 2 } });
    });

    it('answers 404 not_found when the key does not exist and creates nothing', async () => {
      const c = await client();
      expectError(await patch(c, 'nope', '{"a":1}'), 404, 'not_found');
      expect(await keyCount(c)).toBe(0);
    });

    it('applies the patch when If-Match names the current version', async () => {
      const c = await client();
      const put = await c.put('doc', { value: { a: 1 } }).expect(201);
      const res = await patch(c, 'doc', '{"a":2}').set('If-Match', `"${put.body.data.version}"`);
      expectMeta(res, 200, 'doc');
      expect((await c.get('doc')).body.data.value).toEqual({ a: 2 });
    });

    it('answers 412 with currentVersion and changes nothing when If-Match names another version', async () => {
      const c = await client();
      const put = await c.put('doc', { value: { a: 1 } }).expect(201);
      const res = await patch(c, 'doc', '{"a":2}').set('If-Match', '"999999"');
      expectError(res, 412, 'precondition_failed', { currentVersion: put.body.data.version });
      expect((await c.get('doc')).body.data).toMatchObject({ value: { a: 1 }, version: put.body.data.version });
    });

    it('takes the condition as ?ifVersion= too', async () => {
      const c = await client();
      const put = await c.put('doc', { value: { a: 1 } }).expect(201);
      expectError(await patch(c, 'doc?ifVersion=999999', '{"a":2}'), 412, 'precondition_failed', { currentVersion: put.body.data.version });
      expect((await c.get('doc')).body.data.value).toEqual({ a: 1 });
      expectMeta(await patch(c, `doc?ifVersion=${put.body.data.version}`, '{"a":3}'), 200, 'doc');
      expect((await c.get('doc')).body.data.value).toEqual({ a: 3 });
    });

    it('answers 412 with currentVersion null for a conditional patch of an absent key', async () => {
      const c = await client();
      expectError(await patch(c, 'nope', '{"a":1}').set('If-Match', '"1"'), 412, 'precondition_failed', { currentVersion: null });
    });

    it('answers 415 for application/json and changes nothing', async () => {
      const c = await client();
      const put = await c.put('doc', { value: { a: 1 } }).expect(201);
      expectError(await patch(c, 'doc', '{"a":2}', 'application/json'), 415, 'unsupported_media_type');
      expect((await c.get('doc')).body.data).toMatchObject({ value: { a: 1 }, version: put.body.data.version });
    });

    it('answers 400 invalid_json for a patch that is not JSON and changes nothing', async () => {
      const c = await client();
      const put = await c.put('doc', { value: { a: 1 } }).expect(201);
      expectError(await patch(c, 'doc', '{"a":'), 400, 'invalid_json');
      expect((await c.get('doc')).body.data).toMatchObject({ value: { a: 1 }, version: put.body.data.version });
    });

    it('answers 403 forbidden to a read-only key and changes nothing', async () => {
      const c = await client();
      const put = await c.put('doc', { value: { a: 1 } }).expect(201);
      const auth = await readOnly(c);
      const res = await request(t.app)
        .patch('/kv/items/doc')
        .set('Authorization', auth)
        .set('Content-Type', 'application/merge-patch+json')
        .serialize((d) => d)
        .send('{"a":2}');
      expectError(res, 403, 'forbidden');
      expect((await c.get('doc')).body.data).toMatchObject({ value: { a: 1 }, version: put.body.data.version });
    });

    it('answers 400 invalid_key for a key with a control character', async () => {
      const c = await client();
      expectError(await patch(c, 'a%01b', '{"a":1}'), 400, 'invalid_key');
    });

    it('answers 413 value_too_large when the patched value would pass 1 MiB and changes nothing', async () => {
      const c = await client();
      const put = await c.put('doc', { value: { a: 'x'.repeat(600_000) } }).expect(201);
      const res = await patch(c, 'doc', JSON.stringify({ b: 'y'.repeat(600_000) }));
      expectError(res, 413, 'value_too_large');
      const got = await c.get('doc');
      expect(got.body.data.version).toBe(put.body.data.version);
      expect(Object.keys(got.body.data.value)).toEqual(['a']);
    });

    it('loses no member when 20 clients patch different members at once', async () => {
      const c = await client();
      await c.put('doc', { value: {} }).expect(201);
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => patch(c, 'doc', `{"m${i}":${i}}`)));
      for (const res of responses) expect(res.status).toBe(200);
      expect(new Set(responses.map((res) => res.body.data.version)).size).toBe(20);
      const value = (await c.get('doc')).body.data.value;
      expect(value).toEqual(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`m${i}`, i])));
    });
  });

  describe('GET /kv/items?values=true', () => {
    it('carries each value with its digits kept', async () => {
      const c = await client();
      expect((await c.putText('a', `{"value":{"n":${BIG},"f":1.0}}`)).status).toBe(201);
      const b = await c.put('b', { value: 'text', ttlSeconds: 600 }).expect(201);
      await c.put('c', { value: null }).expect(201);
      const res = await c.list('?values=true');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        data: {
          items: [
            { key: 'a', version: expect.any(String), expiresAt: null, value: { n: expect.any(Number), f: 1 } },
            { key: 'b', version: b.body.data.version, expiresAt: b.body.data.expiresAt, value: 'text' },
            { key: 'c', version: expect.any(String), expiresAt: null, value: null },
          ],
          nextCursor: null,
        },
      });
      expect(res.text).toContain(`"value":{"n":${BIG},"f":1.0}`);
    });

    it('carries no value without values=true or with values=false', async () => {
      const c = await client();
      const a = await c.put('a', { value: 1 }).expect(201);
      const expected = { data: { items: [{ key: 'a', version: a.body.data.version, expiresAt: null }], nextCursor: null } };
      expect((await c.list()).body).toEqual(expected);
      expect((await c.list('?values=false')).body).toEqual(expected);
    });

    it('answers 400 for a values parameter that is not a boolean', async () => {
      const c = await client();
      expectError(await c.list('?values=yes'), 400, 'invalid_request');
    });

    it('stops a page once its values reach 4 MiB and goes on from its nextCursor', async () => {
      const c = await client();
      const big = (i: number) => String(i).repeat(900 * 1024);
      for (let i = 0; i < 6; i++) await c.put(`k${i}`, { value: big(i) }).expect(201);
      const first = await c.list('?values=true&limit=1000');
      expect(first.status).toBe(200);
      expect(first.body.data.items.map((item: { key: string }) => item.key)).toEqual(['k0', 'k1', 'k2', 'k3']);
      expect(first.body.data.items[3].value).toBe(big(3));
      expect(first.body.data.nextCursor).toEqual(expect.any(String));
      const second = await c.list(`?values=true&cursor=${first.body.data.nextCursor}`);
      expect(second.status).toBe(200);
      expect(second.body.data.items.map((item: { key: string }) => item.key)).toEqual(['k4', 'k5']);
      expect(second.body.data.items[1].value).toBe(big(5));
      expect(second.body.data.nextCursor).toBeNull();
    });
  });
});
