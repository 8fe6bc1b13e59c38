// The item routes over HTTP: writes, conditions, reads, exact values, listing, usage, expiry.

import type { Response } from 'supertest';
import { createTestApp, describeStore, type TestApp } from '../helpers/app';
import { expectError } from '../helpers/envelope';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

/** The error envelope: only `error`, with a code, a message and the given extra fields. */
/** The success body of a PUT: the item without its value, and the ETag header equal to its version. */
function expectWriteEnvelope(res: Response, status: number, key: string) {
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
  expect(res.body.data.version).not.toBe('');
  expect(res.headers.etag).toBe(`"${res.body.data.version}"`);
}

describeStore('item routes', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  /** A fresh account and request helpers bound to its key. */
  const client = (limits?: Record<string, number>) => t.newClient(limits);

  describe('PUT /kv/items/{key}', () => {
    it('answers 201 with the item envelope and an ETag when it creates the key', async () => {
      const c = await client();
      const before = Date.now();
      const res = await c.put('greeting', { value: 'hello' });
      expectWriteEnvelope(res, 201, 'greeting');
      expect(res.body.data).not.toHaveProperty('value');
      expect(res.body.data.createdAt).toBe(res.body.data.updatedAt);
      expect(Math.abs(Date.parse(res.body.data.createdAt) - before)).toBeLessThan(5000);
    });

    it('answers 200 with a new version, the same createdAt and a later-or-equal updatedAt when it replaces the key', async () => {
      const c = await client();
      const first = await c.put('k', { value: 1 });
      expectWriteEnvelope(first, 201, 'k');
      const second = await c.put('k', { value: 2 });
      expectWriteEnvelope(second, 200, 'k');
      expect(second.body.data.version).not.toBe(first.body.data.version);
      expect(second.body.data.createdAt).toBe(first.body.data.createdAt);
      expect(Date.parse(second.body.data.updatedAt)).toBeGreaterThanOrEqual(Date.parse(first.body.data.updatedAt));
    });

    it('never reuses a version after the key is deleted and created again, and resets createdAt', async () => {
      const c = await client();
      const first = await c.put('k', { value: 1 });
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect((await c.del('k')).status).toBe(204);
      const again = await c.put('k', { value: 1 });
      expectWriteEnvelope(again, 201, 'k');
      expect(again.body.data.version).not.toBe(first.body.data.version);
      expect(Date.parse(again.body.data.createdAt)).toBeGreaterThan(Date.parse(first.body.data.createdAt));
    });

    it('sets expiresAt to about now + ttlSeconds when ttlSeconds is given', async () => {
      const c = await client();
      const before = Date.now();
      const res = await c.put('session', { value: { user: 1 }, ttlSeconds: 3600 });
      expectWriteEnvelope(res, 201, 'session');
      const expiresAt = Date.parse(res.body.data.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000 - 2000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000 + 2000);
      const got = await c.get('session');
      expect(got.body.data.expiresAt).toBe(res.body.data.expiresAt);
    });

    it('keeps the remaining TTL when keepTtl is true and drops it when keepTtl is absent', async () => {
      const c = await client();
      const first = await c.put('k', { value: 1, ttlSeconds: 600 });
      const kept = await c.put('k', { value: 2, keepTtl: true });
      expectWriteEnvelope(kept, 200, 'k');
      expect(kept.body.data.expiresAt).toBe(first.body.data.expiresAt);
      const dropped = await c.put('k', { value: 3 });
      expectWriteEnvelope(dropped, 200, 'k');
      expect(dropped.body.data.expiresAt).toBeNull();
      expect((await c.get('k')).body.data.expiresAt).toBeNull();
    });

    it('creates a key that does not expire when keepTtl is true and the key is absent', async () => {
      const c = await client();
      const res = await c.put('fresh', { value: 1, keepTtl: true });
      expectWriteEnvelope(res, 201, 'fresh');
      expect(res.body.data.expiresAt).toBeNull();
    });

    describe('ifNotExists / If-None-Match: *', () => {
      it('creates the key with ifNotExists true when it is absent', async () => {
        const c = await client();
        expectWriteEnvelope(await c.put('k', { value: 1, ifNotExists: true }), 201, 'k');
      });

      it('answers 412 with currentVersion when ifNotExists is true and the key exists', async () => {
        const c = await client();
        const first = await c.put('k', { value: 1 });
        const res = await c.put('k', { value: 2, ifNotExists: true });
        expectError(res, 412, 'precondition_failed', { currentVersion: first.body.data.version });
        expect((await c.get('k')).text).toContain('"value":1,');
      });

      it('creates the key with If-None-Match: * when it is absent', async () => {
        const c = await client();
        expectWriteEnvelope(await c.put('k', { value: 1 }).set('If-None-Match', '*'), 201, 'k');
      });

      it('answers 412 with currentVersion when If-None-Match is * and the key exists', async () => {
        const c = await client();
        const first = await c.put('k', { value: 1 });
        const res = await c.put('k', { value: 2 }).set('If-None-Match', '*');
        expectError(res, 412, 'precondition_failed', { currentVersion: first.body.data.version });
      });
    });

    describe('ifVersion / If-Match', () => {
      it('replaces the key when ifVersion in the body is its current version', async () => {
        const c = await client();
        const first = await c.put('k', { value: 1 });
        const res = await c.put('k', { value: 2, ifVersion: first.body.data.version });
        expectWriteEnvelope(res, 200, 'k');
        expect(res.body.data.version).not.toBe(first.body.data.version);
      });

      it('answers 412 with the current version when ifVersion in the body does not match', async () => {
        const c = await client();
        const first = await c.put('k', { value: 1 });
        const res = await c.put('k', { value: 2, ifVersion: `${first.body.data.version}0` });
        expectError(res, 412, 'precondition_failed', { currentVersion: first.body.data.version });
        expect((await c.get('k')).body.data.version).toBe(first.body.data.version);
      });

      it('answers 412 with currentVersion null when ifVersion is given and the key is absent', async () => {
        const c = await client();
        const res = await c.put('nothing-here', { value: 2, ifVersion: '1' });
        expectError(res, 412, 'precondition_failed', { currentVersion: null });
        expectError(await c.get('nothing-here'), 404, 'not_found');
      });

      it('replaces the key when If-Match carries its current version', async () => {
        const c = await client();
        const first = await c.put('k', { value: 1 });
        const res = await c.put('k', { value: 2 }).set('If-Match', first.headers.etag);
        expectWriteEnvelope(res, 200, 'k');
      });

      it('answers 412 with the current version when If-Match does not match', async () => {
        const c = await client();
        const first = await c.put('k', { value: 1 });
        const res = await c.put('k', { value: 2 }).set('If-Match', '"999999999"');
        expectError(res, 412, 'precondition_failed', { currentVersion: first.body.data.version });
      });

      it('answers 412 with currentVersion null when If-Match is given and the key is absent', async () => {
        const c = await client();
        const res = await c.put('absent', { value: 2 }).set('If-Match', '"1"');
        expectError(res, 412, 'precondition_failed', { currentVersion: null });
      });
    });
  });

  describe('GET /kv/items/{key}', () => {
    it('answers 200 with the whole item and an ETag equal to its version', async () => {
      const c = await client();
      const put = await c.put('k', { value: { a: [1, true, null] }, ttlSeconds: 100 });
      const res = await c.get('k');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        data: {
          key: 'k',
          value: { a: [1, true, null] },
          version: put.body.data.version,
          expiresAt: put.body.data.expiresAt,
          createdAt: put.body.data.createdAt,
          updatedAt: put.body.data.updatedAt,
        },
      });
      expect(res.headers.etag).toBe(`"${put.body.data.version}"`);
    });

    it.each([
      ['just under', 64 * 1024 - 16],
      ['just over', 64 * 1024 + 16],
      ['at the 1 MiB', 1024 * 1024],
    ])('returns a value %s the size where reads stop copying it, byte for byte, with the exact Content-Length', async (_name, bytes) => {
      const c = await client();
      // Multi-byte text, so a length counted in characters instead of bytes would show.
      const text = `"${'é'.repeat(Math.floor((bytes - 10) / 2))}${'x'.repeat((bytes - 10) % 2)}ab\\u00e9"`;
      expect(Buffer.byteLength(text)).toBe(bytes);
      const put = await c.putText('big', `{"value":${text}}`);
      expect(put.status).toBe(201);
      const res = await c.get('big');
      // The text as received; valid UTF-8, so its bytes are the bytes that were sent.
      const body = Buffer.from(res.text, 'utf8');
      expect(res.status).toBe(200);
      expect(Number(res.headers['content-length'])).toBe(body.length);
      const prefix = Buffer.from('{"data":{"key":"big","value":');
      expect(body.subarray(0, prefix.length).equals(prefix)).toBe(true);
      expect(body.subarray(prefix.length, prefix.length + Buffer.byteLength(text)).equals(Buffer.from(text))).toBe(true);
      expect(JSON.parse(body.toString('utf8')).data).toMatchObject({ key: 'big', version: put.body.data.version });
      const head = await c.head('big');
      expect({ status: head.status, length: head.headers['content-length'] }).toEqual({ status: 200, length: String(body.length) });
    });

    it.each([
      ['a number beyond double precision', '12345678901234567890'],
      ['a number with an exponent', '1.0e+30'],
      ['a negative decimal', '-0.000000000000000000012345678901234567890'],
      ['unicode text and escapes', '"héllo wörld — 日本語 🚀 \\u00e9 \\n \\"q\\""'],
      ['an object with a __proto__ key', '{"__proto__":{"a":1}}'],
      ['null', 'null'],
      ['false', 'false'],
      ['an empty string', '""'],
      ['nested arrays and objects', '[1,[2,[3,{"x":[]}]],{},{"y":{"z":null}}]'],
      ['an object with duplicate-looking keys', '{"a":1,"b":{"a":2}}'],
    ])('returns %s exactly as sent', async (_name, valueText) => {
      const c = await client();
      expect((await c.putText('k', `{"value":${valueText}}`)).status).toBe(201);
      const res = await c.get('k');
      expect(res.status).toBe(200);
      expect(res.text).toContain(`"value":${valueText},"version":`);
      expect(res.body.data.value).toEqual(JSON.parse(valueText));
    });

    it('keeps an object key __proto__ as data', async () => {
      const c = await client();
      await c.putText('k', '{"value":{"__proto__":{"a":1}}}');
      const res = await c.get('k');
      expect(Object.prototype.hasOwnProperty.call(res.body.data.value, '__proto__')).toBe(true);
      expect(res.body.data.value.a).toBeUndefined();
    });

    it('stores a pretty-printed value as compact JSON, whitespace inside strings kept', async () => {
      const c = await client();
      const text = '{\n  "value" : {\n    "a" : [ 1 , 2 ,\t3 ] ,\r\n    "b" : "x  y"\n  }\n}\n';
      expect((await c.putText('k', text)).status).toBe(201);
      const res = await c.get('k');
      expect(res.text).toContain('"value":{"a":[1,2,3],"b":"x  y"},');
    });

    it('answers 304 with no body when If-None-Match matches the current version', async () => {
      const c = await client();
      const put = await c.put('k', { value: 'v' });
      const res = await c.get('k').set('If-None-Match', put.headers.etag);
      expect(res.status).toBe(304);
      expect(res.text ?? '').toBe('');
      expect(res.headers.etag).toBe(put.headers.etag);
    });

    it('answers 200 with the item when If-None-Match does not match the current version', async () => {
      const c = await client();
      const first = await c.put('k', { value: 1 });
      await c.put('k', { value: 2 });
      const res = await c.get('k').set('If-None-Match', first.headers.etag);
      expect(res.status).toBe(200);
      expect(res.body.data.value).toBe(2);
    });

    it('answers HEAD with 200, the ETag and no body', async () => {
      const c = await client();
      const put = await c.put('k', { value: 'some value' });
      const res = await c.head('k');
      expect(res.status).toBe(200);
      expect(res.headers.etag).toBe(put.headers.etag);
      expect(res.text ?? '').toBe('');
    });

    it('answers 404 not_found on GET, HEAD and DELETE when the key does not exist', async () => {
      const c = await client();
      expectError(await c.get('missing'), 404, 'not_found');
      const head = await c.head('missing');
      expect(head.status).toBe(404);
      expect(head.text ?? '').toBe('');
      expectError(await c.del('missing'), 404, 'not_found');
    });
  });

  describe('DELETE /kv/items/{key}', () => {
    it('answers 204 with no body, and GET then answers 404', async () => {
      const c = await client();
      await c.put('k', { value: 1 });
      const res = await c.del('k');
      expect(res.status).toBe(204);
      expect(res.text ?? '').toBe('');
      expectError(await c.get('k'), 404, 'not_found');
    });

    it('deletes the key when If-Match carries its current version', async () => {
      const c = await client();
      const put = await c.put('k', { value: 1 });
      expect((await c.del('k').set('If-Match', put.headers.etag)).status).toBe(204);
      expect((await c.get('k')).status).toBe(404);
    });

    it('answers 412 with the current version and keeps the key when If-Match does not match', async () => {
      const c = await client();
      const put = await c.put('k', { value: 1 });
      const res = await c.del('k').set('If-Match', '"123456789"');
      expectError(res, 412, 'precondition_failed', { currentVersion: put.body.data.version });
      expect((await c.get('k')).status).toBe(200);
    });

    it('deletes the key when ?ifVersion is its current version', async () => {
      const c = await client();
      const put = await c.put('k', { value: 1 });
      expect((await c.del(`k?ifVersion=${put.body.data.version}`)).status).toBe(204);
      expect((await c.get('k')).status).toBe(404);
    });

    it('answers 412 with the current version and keeps the key when ?ifVersion does not match', async () => {
      const c = await client();
      const put = await c.put('k', { value: 1 });
      const res = await c.del('k?ifVersion=123456789');
      expectError(res, 412, 'precondition_failed', { currentVersion: put.body.data.version });
      expect((await c.get('k')).status).toBe(200);
    });
  });

  describe('keys in the path', () => {
    it('accepts keys with / and reads them back under the same path', async () => {
      const c = await client();
      expectWriteEnvelope(await c.put('users/42/profile', { value: 1 }), 201, 'users/42/profile');
      const res = await c.get('users/42/profile');
      expect(res.status).toBe(200);
      expect(res.body.data.key).toBe('users/42/profile');
    });

    it('decodes percent-encoded UTF-8 in the key', async () => {
      const c = await client();
      expectWriteEnvelope(await c.put('caf%C3%A9', { value: 'au lait' }), 201, 'café');
      const res = await c.get('caf%C3%A9');
      expect(res.body.data).toMatchObject({ key: 'café', value: 'au lait' });
      const listed = await c.list();
      expect(listed.body.data.items.map((item: { key: string }) => item.key)).toEqual(['café']);
    });

    it('treats %2F in the key as the same key as /', async () => {
      const c = await client();
      const put = await c.put('a%2Fb', { value: 1 });
      expectWriteEnvelope(put, 201, 'a/b');
      const res = await c.get('a/b');
      expect(res.status).toBe(200);
      expect(res.body.data.version).toBe(put.body.data.version);
      expect((await c.put('a/b', { value: 2 })).status).toBe(200);
    });

    it('keeps ?, #, %, + and spaces in a percent-encoded key', async () => {
      const c = await client();
      const key = 'what? #1 100% a+b';
      expectWriteEnvelope(await c.put(encodeURIComponent(key), { value: 1 }), 201, key);
      expect((await c.get(encodeURIComponent(key))).body.data.key).toBe(key);
      expect((await c.list()).body.data.items.map((item: { key: string }) => item.key)).toEqual([key]);
    });

    it('accepts a key of 512 bytes of UTF-8 made of two-byte characters', async () => {
      const c = await client();
      const key = 'é'.repeat(256);
      expectWriteEnvelope(await c.put(encodeURIComponent(key), { value: 1 }), 201, key);
    });
  });

  describe('GET /kv/items (list)', () => {
    /** Byte order of the UTF-8 encodings, which differs from JavaScript's UTF-16 order above U+FFFF. */
    const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

    it('lists keys in byte order of their UTF-8 with version and expiresAt', async () => {
      const c = await client();
      const keys = ['b', 'a', 'B', 'ab', 'a/b', '~', 'é', '\uff61', '😀', 'a b', '0'];
      const versions = new Map<string, string>();
      for (const key of keys) {
        const res = await c.put(encodeURIComponent(key), { value: key, ...(key === 'b' ? { ttlSeconds: 600 } : {}) });
        expect(res.status).toBe(201);
        versions.set(key, res.body.data.version);
      }
      const expiresAtOfB = (await c.get('b')).body.data.expiresAt;
      const res = await c.list();
      expect(res.status).toBe(200);
      const sorted = [...keys].sort(byteOrder);
      expect(sorted.indexOf('😀')).toBeGreaterThan(sorted.indexOf('\uff61'));
      expect(res.body).toEqual({
        data: {
          items: sorted.map((key) => ({ key, version: versions.get(key), expiresAt: key === 'b' ? expiresAtOfB : null })),
          nextCursor: null,
        },
      });
    });

    it('lists only keys that start with the prefix', async () => {
      const c = await client();
      for (const key of ['user/1', 'user/2', 'users', 'user', 'use', 'other/user/3']) {
        expect((await c.put(key, { value: 1 })).status).toBe(201);
      }
      const res = await c.list('?prefix=user%2F');
      expect(res.body.data.items.map((item: { key: string }) => item.key)).toEqual(['user/1', 'user/2']);
      expect(res.body.data.nextCursor).toBeNull();
      const wider = await c.list('?prefix=user');
      expect(wider.body.data.items.map((item: { key: string }) => item.key)).toEqual(['user', 'user/1', 'user/2', 'users']);
      const none = await c.list('?prefix=zzz');
      expect(none.body).toEqual({ data: { items: [], nextCursor: null } });
    });

    it('pages through nextCursor until null, returning every key exactly once', async () => {
      const c = await client();
      const keys = Array.from({ length: 23 }, (_, i) => `p/${String(i).padStart(2, '0')}`);
      await Promise.all(keys.map((key) => c.put(key, { value: key }).expect(201)));
      await c.put('q/outside', { value: 1 }).expect(201);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `?prefix=p%2F&limit=5${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
        const res = await c.list(query);
        expect(res.status).toBe(200);
        expect(res.body.data.items.length).toBeLessThanOrEqual(5);
        seen.push(...res.body.data.items.map((item: { key: string }) => item.key));
        cursor = res.body.data.nextCursor;
        expect(cursor === null || typeof cursor === 'string').toBe(true);
        pages++;
      } while (cursor !== null && pages < 20);
      expect(cursor).toBeNull();
      expect(seen).toEqual(keys);
    });

    it('returns 100 keys by default and up to 1000 with limit=1000', async () => {
      const c = await client();
      const keys = Array.from({ length: 105 }, (_, i) => `k${String(i).padStart(3, '0')}`);
      // In batches: a large concurrent burst is its own test (errors.test.ts, rate limits).
      for (let i = 0; i < keys.length; i += 20) {
        await Promise.all(keys.slice(i, i + 20).map((key) => c.put(key, { value: 0 }).expect(201)));
      }

      const first = await c.list();
      expect(first.body.data.items).toHaveLength(100);
      expect(first.body.data.items[99].key).toBe('k099');
      expect(typeof first.body.data.nextCursor).toBe('string');
      const rest = await c.list(`?cursor=${encodeURIComponent(first.body.data.nextCursor)}`);
      expect(rest.body.data.items.map((item: { key: string }) => item.key)).toEqual(keys.slice(100));
      expect(rest.body.data.nextCursor).toBeNull();

      const all = await c.list('?limit=1000');
      expect(all.status).toBe(200);
      expect(all.body.data.items.map((item: { key: string }) => item.key)).toEqual(keys);
      expect(all.body.data.nextCursor).toBeNull();
    });
  });

  describe('GET /kv/usage', () => {
    it('answers with the live key count and the account limits', async () => {
      const c = await client({ maxKeys: 50 });
      expect((await c.usage()).body.data.keys).toBe(0);
      await c.put('a', { value: 1 });
      await c.put('b', { value: 1 });
      await c.put('b', { value: 2 });
      const res = await c.usage();
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        data: {
          keys: 2,
          limits: expect.objectContaining({ maxKeys: 50, readsPerSecond: 1000, writesPerSecond: 1000 }),
        },
      });
      await c.del('a');
      expect((await c.usage()).body.data.keys).toBe(1);
    });
  });

  describe('expiry', () => {
    it('removes an expired key from GET, list, usage and the quota at once', async () => {
      const c = await client({ maxKeys: 2 });
      await c.put('keep', { value: 1 }).expect(201);
      const gone = await c.put('gone', { value: 1, ttlSeconds: 1 }).expect(201);
      expect((await c.get('gone')).status).toBe(200);

      await new Promise((resolve) => setTimeout(resolve, 1500));

      expectError(await c.get('gone'), 404, 'not_found');
      expect((await c.head('gone')).status).toBe(404);
      const listed = await c.list();
      expect(listed.body.data.items.map((item: { key: string }) => item.key)).toEqual(['keep']);
      expect((await c.usage()).body.data.keys).toBe(1);
      expectWriteEnvelope(await c.put('new', { value: 1 }), 201, 'new');
      expect((await c.del('new')).status).toBe(204);
      const again = await c.put('gone', { value: 2 });
      expectWriteEnvelope(again, 201, 'gone');
      expect(Date.parse(again.body.data.createdAt)).toBeGreaterThan(Date.parse(gone.body.data.createdAt));
      expect(again.body.data.version).not.toBe(gone.body.data.version);
    });
  });

  describe('accounts', () => {
    it('keeps each account to its own data', async () => {
      const a = await client();
      const b = await client();
      await a.put('secret', { value: 'from A' }).expect(201);

      expectError(await b.get('secret'), 404, 'not_found');
      expect((await b.head('secret')).status).toBe(404);
      expect((await b.list()).body).toEqual({ data: { items: [], nextCursor: null } });
      expect((await b.usage()).body.data.keys).toBe(0);
      expectError(await b.del('secret'), 404, 'not_found');
      expect((await a.get('secret')).body.data.value).toBe('from A');

      expect((await b.put('secret', { value: 'from B' })).status).toBe(201);
      expect((await a.get('secret')).body.data.value).toBe('from A');
      expect((await b.get('secret')).body.data.value).toBe('from B');
      expect((await a.usage()).body.data.keys).toBe(1);
    });
  });
});
