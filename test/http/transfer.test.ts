// Export and import over HTTP: NDJSON out in key order, NDJSON in line by line, and the round trip.

import zlib from 'node:zlib';
import request from 'supertest';
import { ADMIN_TOKEN, createTestApp, describeStore, type TestApp } from '../helpers/app';
import { expectError } from '../helpers/envelope';
import { asText } from '../helpers/client';

const BIG = '12345678901234567890';

type Client = Awaited<ReturnType<TestApp['newClient']>>;

describeStore('export and import', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const client = (limits?: Record<string, number>) => t.newClient(limits);
  const exportItems = (auth: string, query = '') =>
    request(t.app)
      .get(`/kv/export${query}`)
      .set('Authorization', auth)
      .buffer(true)
      .parse(asText as never);
  /** The export of `c` as text, checked for status and content type. */
  const exportOf = async (c: Client, query = '') => {
    const res = await exportItems(c.auth, query);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    return res.body as string;
  };
  const importItems = (auth: string, body: string | Buffer, query = '', type = 'application/x-ndjson') =>
    request(t.app)
      .post(`/kv/import${query}`)
      .set('Authorization', auth)
      .set('Content-Type', type)
      .serialize((d) => d)
      .send(body as string);
  const commit = (c: Client, ops: unknown[]) => request(t.app).post('/kv/items:commit').set('Authorization', c.auth).send({ ops });
  const readOnly = async (c: Client) => {
    const res = await request(t.app)
      .post(`/admin/accounts/${c.accountId}/keys`)
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ scopes: ['read'] });
    expect(res.status).toBe(201);
    return `Bearer ${res.body.data.apiKey.key}`;
  };
  const keyCount = async (c: Client) => (await c.usage()).body.data.keys as number;
  const report = (fields: { created?: number; replaced?: number; skipped?: number; failed?: unknown[] }) => ({
    data: { created: 0, replaced: 0, skipped: 0, failed: [], ...fields },
  });
  const failure = (line: number, code: string) => ({ line, error: { code, message: expect.any(String) } });

  describe('GET /kv/export', () => {
    it('writes one {key, value, expiresAt} line per item in key order, values as stored', async () => {
      const c = await client();
      expect((await c.putText('b', `{"value":{"n":${BIG},"f":1.0,"s":"\\u00e9"}}`)).status).toBe(201);
      const ttl = await c.put('a/1', { value: [1, 'two'], ttlSeconds: 600 }).expect(201);
      await c.put('c', { value: null }).expect(201);
      await c.put('a', { value: 'first' }).expect(201);
      expect(await exportOf(c)).toBe(
        '{"key":"a","value":"first","expiresAt":null}\n' +
          `{"key":"a/1","value":[1,"two"],"expiresAt":"${ttl.body.data.expiresAt}"}\n` +
          `{"key":"b","value":{"n":${BIG},"f":1.0,"s":"\\u00e9"},"expiresAt":null}\n` +
          '{"key":"c","value":null,"expiresAt":null}\n',
      );
    });

    it('writes only the items under the prefix', async () => {
      const c = await client();
      for (const key of ['app/a', 'app/b', 'apple', 'other']) await c.put(key, { value: key }).expect(201);
      expect(await exportOf(c, '?prefix=app%2F')).toBe(
        '{"key":"app/a","value":"app/a","expiresAt":null}\n{"key":"app/b","value":"app/b","expiresAt":null}\n',
      );
      expect(await exportOf(c, '?prefix=zzz')).toBe('');
    });

    it('answers an empty body for an account without keys', async () => {
      const c = await client();
      expect(await exportOf(c)).toBe('');
    });

    it("never writes another account's keys", async () => {
      const owner = await client();
      const other = await client();
      await owner.put('secret', { value: 'mine' }).expect(201);
      await other.put('own', { value: 1 }).expect(201);
      expect(await exportOf(other)).toBe('{"key":"own","value":1,"expiresAt":null}\n');
    });

    it('writes each of 2,500 keys exactly once, in order, across its pages', async () => {
      const c = await client({ writesPerSecond: 100_000 });
      const keys = Array.from({ length: 2500 }, (_, i) => `k${String(i).padStart(5, '0')}`);
      for (let i = 0; i < keys.length; i += 100) {
        const res = await commit(
          c,
          keys.slice(i, i + 100).map((key) => ({ op: 'set', key, value: { i: key } })),
        );
        expect(res.status).toBe(200);
      }
      const lines = (await exportOf(c)).split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toEqual(keys.map((key) => `{"key":"${key}","value":{"i":"${key}"},"expiresAt":null}`));
    });

    it('works with a read-only key', async () => {
      const c = await client();
      await c.put('a', { value: 1 }).expect(201);
      const res = await exportItems(await readOnly(c));
      expect(res.status).toBe(200);
      expect(res.body).toBe('{"key":"a","value":1,"expiresAt":null}\n');
    });

    it('answers 400 invalid_request for an unknown query parameter', async () => {
      const c = await client();
      expectError(await request(t.app).get('/kv/export?limit=5').set('Authorization', c.auth), 400, 'invalid_request');
    });

    it('answers 401 without an API key', async () => {
      expectError(await request(t.app).get('/kv/export'), 401, 'unauthorized');
    });
  });

  describe('POST /kv/import', () => {
    it('creates absent keys and skips existing ones by default', async () => {
      const c = await client();
      const a = await c.put('a', { value: 'kept' }).expect(201);
      const res = await importItems(c.auth, '{"key":"a","value":"new"}\n{"key":"b","value":2}\n{"key":"c","value":3,"expiresAt":null}\n');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(report({ created: 2, skipped: 1 }));
      expect((await c.get('a')).body.data).toMatchObject({ value: 'kept', version: a.body.data.version });
      expect((await c.get('b')).body.data).toMatchObject({ value: 2, expiresAt: null });
      expect((await c.get('c')).body.data.value).toBe(3);
    });

    it('skips existing keys with mode=skip', async () => {
      const c = await client();
      await c.put('a', { value: 'kept' }).expect(201);
      const res = await importItems(c.auth, '{"key":"a","value":"new"}\n{"key":"b","value":2}', '?mode=skip');
      expect(res.body).toEqual(report({ created: 1, skipped: 1 }));
      expect((await c.get('a')).body.data.value).toBe('kept');
    });

    it('replaces existing keys with mode=overwrite', async () => {
      const c = await client();
      const a = await c.put('a', { value: 'old', ttlSeconds: 600 }).expect(201);
      const res = await importItems(c.auth, '{"key":"a","value":"new"}\n{"key":"b","value":2}\n', '?mode=overwrite');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(report({ created: 1, replaced: 1 }));
      const got = (await c.get('a')).body.data;
      expect(got).toMatchObject({ value: 'new', expiresAt: null });
      expect(got.version).not.toBe(a.body.data.version);
    });

    it('keeps the digits of values and accepts a last line without a newline', async () => {
      const c = await client();
      const res = await importItems(c.auth, `{"key":"big","value": {"n": ${BIG}, "f": 1.0}}`);
      expect(res.body).toEqual(report({ created: 1 }));
      expect((await c.get('big')).text).toContain(`"value":{"n":${BIG},"f":1.0},`);
    });

    it('ignores blank lines but counts them in line numbers', async () => {
      const c = await client();
      const res = await importItems(c.auth, '\n{"key":"a","value":1}\n   \n\r\n{"key":"b",\n{"key":"c","value":3}\n\n');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(report({ created: 2, failed: [failure(5, 'invalid_json')] }));
      expect(await keyCount(c)).toBe(2);
    });

    it('fails each bad line alone with its 1-based line number and code while the others apply', async () => {
      const c = await client();
      const lines = [
        '{"key":"ok1","value":1}',
        'not json',
        '{"key":"nov"}',
        '{"key":"unk","value":1,"extra":true}',
        '{"key":"","value":1}',
        '{"key":"a\\u0001b","value":1}',
        '{"key":"ok2","value":2}',
        '{"key":"iso","value":1,"expiresAt":"tomorrow"}',
        '{"key":"iso2","value":1,"expiresAt":1767225600000}',
        '{"value":1}',
        '[1,2]',
        '{"key":5,"value":1}',
        `{"key":"huge","value":"${'x'.repeat(1024 * 1024)}"}`,
        '{"key":"ok3","value":3}',
      ];
      const res = await importItems(c.auth, lines.join('\n') + '\n');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(
        report({
          created: 3,
          failed: [
            failure(2, 'invalid_json'),
            failure(3, 'invalid_request'),
            failure(4, 'invalid_request'),
            failure(5, 'invalid_key'),
            failure(6, 'invalid_key'),
            failure(8, 'invalid_request'),
            failure(9, 'invalid_request'),
            failure(10, 'invalid_request'),
            failure(11, 'invalid_request'),
            failure(12, 'invalid_request'),
            failure(13, 'value_too_large'),
          ],
        }),
      );
      expect((await c.list()).body.data.items.map((item: { key: string }) => item.key)).toEqual(['ok1', 'ok2', 'ok3']);
    });

    it('skips a line whose expiresAt has passed', async () => {
      const c = await client();
      const res = await importItems(c.auth, '{"key":"old","value":1,"expiresAt":"2001-01-01T00:00:00.000Z"}\n{"key":"new","value":2}\n');
      expect(res.body).toEqual(report({ created: 1, skipped: 1 }));
      expectError(await c.get('old'), 404, 'not_found');
    });

    it('makes a future expiresAt the expiry of the item', async () => {
      const c = await client();
      const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
      const res = await importItems(c.auth, `{"key":"s","value":1,"expiresAt":"${expiresAt}"}\n`);
      expect(res.body).toEqual(report({ created: 1 }));
      const got = (await c.get('s')).body.data.expiresAt;
      expect(Math.abs(Date.parse(got) - Date.parse(expiresAt))).toBeLessThan(1000);
    });

    it('fails the line that would pass the key quota with quota_exceeded', async () => {
      const c = await client({ maxKeys: 2 });
      const res = await importItems(c.auth, '{"key":"a","value":1}\n{"key":"b","value":2}\n{"key":"c","value":3}\n');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(report({ created: 2, failed: [failure(3, 'quota_exceeded')] }));
      expect(await keyCount(c)).toBe(2);
      expectError(await c.get('c'), 404, 'not_found');
    });

    it('decodes a gzip-encoded body', async () => {
      const c = await client();
      const body = zlib.gzipSync(Buffer.from('{"key":"a","value":1}\n{"key":"b","value":{"n":2}}\n'));
      const res = await importItems(c.auth, body).set('Content-Encoding', 'gzip');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(report({ created: 2 }));
      expect((await c.get('b')).body.data.value).toEqual({ n: 2 });
    });

    it('answers 415 for a body that is not application/x-ndjson and applies nothing', async () => {
      const c = await client();
      expectError(await importItems(c.auth, '{"key":"a","value":1}\n', '', 'application/json'), 415, 'unsupported_media_type');
      expect(await keyCount(c)).toBe(0);
    });

    it('answers 415 for an unsupported Content-Encoding and applies nothing', async () => {
      const c = await client();
      expectError(await importItems(c.auth, '{"key":"a","value":1}\n').set('Content-Encoding', 'zstd'), 415, 'unsupported_media_type');
      expect(await keyCount(c)).toBe(0);
    });

    it('answers 400 invalid_request for an invalid mode or an unknown parameter and applies nothing', async () => {
      const c = await client();
      expectError(await importItems(c.auth, '{"key":"a","value":1}\n', '?mode=merge'), 400, 'invalid_request');
      expectError(await importItems(c.auth, '{"key":"a","value":1}\n', '?dryRun=true'), 400, 'invalid_request');
      expect(await keyCount(c)).toBe(0);
    });

    it('answers 403 forbidden to a read-only key and applies nothing', async () => {
      const c = await client();
      expectError(await importItems(await readOnly(c), '{"key":"a","value":1}\n'), 403, 'forbidden');
      expect(await keyCount(c)).toBe(0);
    });

    it('answers an empty report for an empty body', async () => {
      const c = await client();
      const res = await importItems(c.auth, '');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(report({}));
    });
  });

  it('imports an export into a fresh account so that its export is identical', async () => {
    const source = await client();
    expect((await source.putText('big', `{"value":{"n":${BIG},"f":1.0,"s":"\\u00e9"}}`)).status).toBe(201);
    await source.put('ttl/one', { value: [1, 2, { a: null }], ttlSeconds: 3600 }).expect(201);
    await source.put('é/ünïcode', { value: 'x' }).expect(201);
    await source.put('null', { value: null }).expect(201);
    await source.put('zero', { value: 0 }).expect(201);
    const exported = await exportOf(source);
    expect(exported.split('\n')).toHaveLength(6);

    const target = await client();
    const res = await importItems(target.auth, exported);
    expect(res.body).toEqual(report({ created: 5 }));
    expect(await exportOf(target)).toBe(exported);
  });
});
