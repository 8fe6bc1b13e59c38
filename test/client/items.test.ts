// KvClient against a real service on a loopback port: every data method, its answers and its error classes.

import {
  KvClient,
  KvError,
  KvForbiddenError,
  KvInvalidJsonError,
  KvInvalidKeyError,
  KvInvalidRequestError,
  KvNotFoundError,
  KvPreconditionFailedError,
  KvQuotaExceededError,
  KvTypeMismatchError,
  KvUnauthorizedError,
  KvUnsupportedMediaTypeError,
  KvValueTooLargeError,
  rawJson,
  type ExportRecord,
  type ListedItem,
} from '../../packages/client/src';
import { describeStore } from '../helpers/app';
import { startClientServer, type ClientServer } from './server';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describeStore('KvClient data methods', () => {
  let s: ClientServer;

  beforeAll(async () => {
    s = await startClientServer();
  });
  afterAll(() => s.close());

  describe('get, set, delete', () => {
    it('creates, reads, replaces and deletes an item, with versions and times', async () => {
      const kv = await s.client();
      const created = await kv.set('greeting', { hello: 'world' });
      expect(created).toStrictEqual({
        key: 'greeting',
        version: expect.any(String),
        expiresAt: null,
        createdAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
        created: true,
      });
      expect(await kv.get('greeting')).toStrictEqual({
        key: 'greeting',
        value: { hello: 'world' },
        version: created.version,
        expiresAt: null,
        createdAt: created.createdAt,
        updatedAt: created.updatedAt,
      });
      const replaced = await kv.set('greeting', 'hi');
      expect(replaced.created).toBe(false);
      expect(replaced.version).not.toBe(created.version);
      expect(replaced.createdAt).toBe(created.createdAt);
      expect(await kv.delete('greeting')).toBe(true);
      expect(await kv.get('greeting')).toBeNull();
      expect(await kv.delete('greeting')).toBe(false);
    });

    it('tells with head whether a key exists, and its version, without the value', async () => {
      const kv = await s.client();
      const written = await kv.set('a/../b', { big: 'value' });
      expect(await kv.head('a/../b')).toStrictEqual({ key: 'a/../b', version: written.version });
      expect(await kv.head('missing')).toBeNull();
    });

    it('revalidates an item: the same entry while unchanged, the new one once written, null once deleted', async () => {
      const kv = await s.client();
      await kv.set('flag', { on: false });
      const first = (await kv.get<{ on: boolean }>('flag'))!;
      expect(await kv.revalidate(first)).toBe(first);
      await kv.set('flag', { on: true });
      const second = (await kv.revalidate(first))!;
      expect(second).toMatchObject({ key: 'flag', value: { on: true } });
      expect(second.version).not.toBe(first.version);
      expect(await kv.revalidate(second)).toBe(second);
      await kv.delete('flag');
      expect(await kv.revalidate(second)).toBeNull();
    });

    it('stores null, booleans, arrays, unicode and an object key __proto__ as data', async () => {
      const kv = await s.client();
      const value = JSON.parse('{"__proto__": {"x": 1}, "list": [null, true, false, 1.5, "é🙂"], "nested": {"a": {"b": []}}}') as unknown;
      await kv.set('shapes', value);
      const read = await kv.get('shapes');
      expect(read!.value).toStrictEqual(value);
      expect(Object.getPrototypeOf(read!.value)).toBe(Object.prototype);
      await kv.set('nothing', null);
      expect((await kv.get('nothing'))!.value).toBeNull();
    });

    it('sets a TTL from ttlSeconds, ttl or expiresAt, and keeps it with keepTtl', async () => {
      const kv = await s.client();
      const before = Date.now();
      const withTtl = await kv.set('a', 1, { ttlSeconds: 3600 });
      const expiresA = Date.parse(withTtl.expiresAt!);
      expect(expiresA).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
      expect(expiresA).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
      const withAlias = await kv.set('b', 1, { ttl: 60 });
      expect(Date.parse(withAlias.expiresAt!)).toBeLessThanOrEqual(Date.now() + 60_000 + 1000);
      const at = new Date(Date.now() + 120_000);
      const withTime = await kv.set('c', 1, { expiresAt: at });
      expect(Math.abs(Date.parse(withTime.expiresAt!) - at.getTime())).toBeLessThanOrEqual(1500);
      const kept = await kv.set('a', 2, { keepTtl: true });
      expect(kept.expiresAt).toBe(withTtl.expiresAt);
      expect((await kv.set('a', 3)).expiresAt).toBeNull();
      await expect(kv.set('d', 1, { expiresAt: new Date(Date.now() - 1000) })).rejects.toThrow(RangeError);
    });

    it('expires a key after its TTL: get answers null', async () => {
      const kv = await s.client();
      await kv.set('short', 'lived', { ttlSeconds: 1 });
      expect((await kv.get('short'))!.value).toBe('lived');
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(await kv.get('short')).toBeNull();
    });

    it('writes with ifVersion only at that version, and throws KvPreconditionFailedError with currentVersion otherwise', async () => {
      const kv = await s.client();
      const v1 = (await kv.set('cas', 1)).version;
      const v2 = (await kv.set('cas', 2, { ifVersion: v1 })).version;
      const stale = await kv.set('cas', 3, { ifVersion: v1 }).catch((e: unknown) => e);
      expect(stale).toBeInstanceOf(KvPreconditionFailedError);
      expect(stale).toBeInstanceOf(KvError);
      expect(stale).toMatchObject({ status: 412, code: 'precondition_failed', currentVersion: v2, requestId: expect.any(String) });
      expect((await kv.get('cas'))!.value).toBe(2);
      const missing = await kv.set('absent', 1, { ifVersion: v1 }).catch((e: unknown) => e);
      expect(missing).toMatchObject({ status: 412, currentVersion: null });
    });

    it('writes with ifNotExists only when the key does not exist', async () => {
      const kv = await s.client();
      const first = await kv.set('once', 'a', { ifNotExists: true });
      expect(first.created).toBe(true);
      const second = await kv.set('once', 'b', { ifNotExists: true }).catch((e: unknown) => e);
      expect(second).toBeInstanceOf(KvPreconditionFailedError);
      expect((second as KvPreconditionFailedError).currentVersion).toBe(first.version);
      expect((await kv.get('once'))!.value).toBe('a');
    });

    it('deletes with ifVersion only at that version; a conditional delete of an absent key throws with currentVersion null', async () => {
      const kv = await s.client();
      const v1 = (await kv.set('d', 1)).version;
      const v2 = (await kv.set('d', 2)).version;
      await expect(kv.delete('d', { ifVersion: v1 })).rejects.toMatchObject({ code: 'precondition_failed', currentVersion: v2 });
      expect(await kv.delete('d', { ifVersion: v2 })).toBe(true);
      const absent = await kv.delete('d', { ifVersion: v2 }).catch((e: unknown) => e);
      expect(absent).toBeInstanceOf(KvPreconditionFailedError);
      expect(absent).toMatchObject({ status: 412, currentVersion: null });
    });
  });

  describe('keys', () => {
    const awkward = [
      'a/../b',
      'a/./b',
      '../up',
      'a/..',
      'a/%2F',
      '%',
      '100%25',
      'q?x=1&y=2',
      'hash#frag',
      'space and+plus',
      'a//b/',
      '/leading',
      'back\\slash',
      'ünïcødé/日本/🙂',
      "quote\"'`",
      '.hidden',
      '...',
      '%2E%2E',
      'a/%2e/b',
    ];

    it('reaches every key as itself, whatever characters and dot segments it has', async () => {
      const kv = await s.client();
      for (const [i, key] of awkward.entries()) await kv.set(key, i);
      for (const [i, key] of awkward.entries()) expect(await kv.get(key)).toMatchObject({ key, value: i });
      const listed: string[] = [];
      for await (const item of kv.listAll()) listed.push(item.key);
      const utf8Order = [...awkward].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(listed).toStrictEqual(utf8Order);
      for (const key of awkward) expect(await kv.delete(key)).toBe(true);
      expect((await kv.list()).items).toStrictEqual([]);
    });

    it('refuses before sending a key that is only a dot segment, and reaches it through batchGet and commit', async () => {
      const kv = await s.client();
      for (const key of ['.', '..']) {
        await expect(kv.get(key)).rejects.toBeInstanceOf(KvInvalidKeyError);
        await expect(kv.set(key, 1)).rejects.toThrow(KvInvalidKeyError);
      }
      await kv.commit({ ops: [{ op: 'set', key: '..', value: 'dots' }] });
      expect(await kv.batchGet(['..', '.'])).toStrictEqual([expect.objectContaining({ key: '..', value: 'dots' }), null]);
    });

    it('throws KvInvalidKeyError for a key the server refuses (empty, control characters, too long)', async () => {
      const kv = await s.client();
      for (const key of ['', 'tab\there', 'x'.repeat(513)]) {
        const error = await kv.set(key, 1).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KvInvalidKeyError);
        expect(error).toMatchObject({ status: 400, code: 'invalid_key', message: expect.any(String) });
      }
      await expect(kv.get('\ud800')).rejects.toBeInstanceOf(KvInvalidKeyError);
    });
  });

  describe('lossless numbers', () => {
    const text = '{"big":12345678901234567890,"neg":-98765432109876543210,"small":42,"float":1.5,"exp":1e400,"list":[9007199254740993]}';

    it('gives the exact JSON text of a value with getRaw and get({ raw: true })', async () => {
      const kv = await s.client();
      await kv.set('n', rawJson(text));
      const raw = await kv.getRaw('n');
      expect(raw).toMatchObject({ key: 'n', raw: text, version: expect.any(String) });
      expect(raw).not.toHaveProperty('value');
      expect((await kv.get('n', { raw: true }))!.raw).toBe(text);
    });

    it('keeps integers beyond 2^53 as BigInt with bigint: true, per call or for the client', async () => {
      const kv = await s.client();
      await kv.set('n', rawJson(text));
      const expected = { big: 12345678901234567890n, neg: -98765432109876543210n, small: 42, float: 1.5, exp: Infinity, list: [9007199254740993n] };
      expect((await kv.get('n', { bigint: true }))!.value).toStrictEqual(expected);
      expect((await kv.get<{ big: number }>('n'))!.value.big).toBe(12345678901234567000);
      const all = new KvClient({ url: s.url, apiKey: (await s.account()).apiKey, bigint: true });
      await all.set('n', rawJson(text));
      expect((await all.get('n'))!.value).toStrictEqual(expected);
    });

    it('writes BigInt values with every digit, nested or alone', async () => {
      const kv = await s.client();
      await kv.set('b', { id: 123456789012345678901234567890n, list: [1n, -2n] });
      expect((await kv.getRaw('b'))!.raw).toBe('{"id":123456789012345678901234567890,"list":[1,-2]}');
      await kv.set('alone', 2n ** 64n);
      expect((await kv.get('alone', { bigint: true }))!.value).toBe(18446744073709551616n);
    });

    it('keeps big numbers through list, batchGet, export and import', async () => {
      const kv = await s.client();
      await kv.set('n', rawJson(text));
      const listed = await kv.list({ values: true, bigint: true });
      expect(listed.items[0].value).toMatchObject({ big: 12345678901234567890n });
      expect((await kv.list({ raw: true })).items[0].raw).toBe(text);
      expect((await kv.batchGet(['n'], { raw: true }))[0]!.raw).toBe(text);
      expect((await kv.batchGet(['n'], { bigint: true }))[0]!.value).toMatchObject({ big: 12345678901234567890n });
      const exported: ExportRecord[] = [];
      for await (const record of kv.export({ bigint: true })) exported.push(record);
      expect(exported).toStrictEqual([{ key: 'n', value: expect.objectContaining({ big: 12345678901234567890n }), expiresAt: null }]);
      const other = await s.client();
      await other.import(exported);
      expect((await other.getRaw('n'))!.raw).toBe(text.replace('1e400', 'null'));
      const rawRecords = [];
      for await (const record of kv.export({ raw: true })) rawRecords.push(record);
      expect(rawRecords).toStrictEqual([{ key: 'n', raw: text, expiresAt: null }]);
    });
  });

  describe('list', () => {
    it('lists one page at a time with prefix, limit and cursor, in UTF-8 byte order', async () => {
      const kv = await s.client();
      for (const key of ['p/b', 'p/a', 'p/c', 'q/a', 'p/é']) await kv.set(key, key);
      const first = await kv.list({ prefix: 'p/', limit: 2 });
      expect(first.items.map((i) => i.key)).toStrictEqual(['p/a', 'p/b']);
      expect(first.items[0]).toStrictEqual({ key: 'p/a', version: expect.any(String), expiresAt: null });
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = await kv.list({ prefix: 'p/', limit: 2, cursor: first.nextCursor! });
      expect(second.items.map((i) => i.key)).toStrictEqual(['p/c', 'p/é']);
      const last = second.nextCursor === null ? second : await kv.list({ prefix: 'p/', limit: 2, cursor: second.nextCursor });
      expect(last.nextCursor).toBeNull();
      const withValues = await kv.list({ prefix: 'q/', values: true });
      expect(withValues).toStrictEqual({ items: [{ key: 'q/a', version: expect.any(String), expiresAt: null, value: 'q/a' }], nextCursor: null });
    });

    it('walks every page with listPages and every item with listAll', async () => {
      const kv = await s.client();
      const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, '0')}`);
      await kv.commit({ ops: keys.map((key, i) => ({ op: 'set' as const, key, value: i })) });
      const pages: number[] = [];
      for await (const page of kv.listPages({ limit: 10 })) pages.push(page.items.length);
      expect(pages).toStrictEqual([10, 10, 5]);
      const items: ListedItem<number>[] = [];
      for await (const item of kv.listAll<number>({ limit: 7, values: true })) items.push(item);
      expect(items.map((i) => i.key)).toStrictEqual(keys);
      expect(items.map((i) => i.value)).toStrictEqual(keys.map((_, i) => i));
    });

    it('throws KvInvalidRequestError with details for a limit out of range', async () => {
      const kv = await s.client();
      const error = await kv.list({ limit: 5000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KvInvalidRequestError);
      expect(error).toMatchObject({ status: 400, code: 'invalid_request', details: [{ path: 'query.limit', message: expect.any(String) }], omittedDetails: 0 });
    });
  });

  describe('patch, increment, commit, batchGet, usage', () => {
    it('merges a merge patch into the value and keeps the TTL', async () => {
      const kv = await s.client();
      const set = await kv.set('session', { user: 42, theme: 'light', tags: ['a'] }, { ttlSeconds: 600 });
      const patched = await kv.patch('session', { theme: 'dark', user: null, tags: ['b'], big: 12345678901234567890n });
      expect(patched).toStrictEqual({ key: 'session', version: expect.any(String), expiresAt: set.expiresAt, createdAt: set.createdAt, updatedAt: expect.stringMatching(ISO) });
      expect((await kv.getRaw('session'))!.raw).toBe('{"theme":"dark","tags":["b"],"big":12345678901234567890}');
      await expect(kv.patch('session', { x: 1 }, { ifVersion: set.version })).rejects.toMatchObject({ code: 'precondition_failed', currentVersion: patched.version });
      expect((await kv.patch('session', { x: 1 }, { ifVersion: patched.version })).version).not.toBe(patched.version);
      await expect(kv.patch('nope', { x: 1 })).rejects.toBeInstanceOf(KvNotFoundError);
    });

    it('increments a counter, creating it, and throws KvTypeMismatchError on a non-integer', async () => {
      const kv = await s.client();
      const first = await kv.increment('hits');
      expect(first).toStrictEqual({
        key: 'hits',
        value: 1,
        version: expect.any(String),
        expiresAt: null,
        createdAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
        created: true,
      });
      expect(await kv.increment('hits', 41, { ttlSeconds: 60 })).toMatchObject({ value: 42, created: false, expiresAt: expect.stringMatching(ISO) });
      expect((await kv.increment('hits', -2)).value).toBe(40);
      await kv.set('text', 'five');
      const error = await kv.increment('text').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KvTypeMismatchError);
      expect(error).toMatchObject({ status: 409, code: 'type_mismatch' });
    });

    it('commits ops all or nothing, and reports failedChecks on a 412', async () => {
      const kv = await s.client();
      const a = await kv.set('a', 1);
      await kv.set('c', 'gone soon');
      const { results } = await kv.commit({
        checks: [{ key: 'a', version: a.version }, { key: 'lock', version: null }],
        ops: [
          { op: 'set', key: 'lock', value: { big: 12345678901234567890n }, ttlSeconds: 30 },
          { op: 'delete', key: 'c' },
          { op: 'increment', key: 'hits', by: 5 },
        ],
      });
      expect(results).toStrictEqual([
        { key: 'lock', version: expect.any(String) },
        { key: 'c', version: null },
        { key: 'hits', version: expect.any(String), value: 5 },
      ]);
      expect((await kv.getRaw('lock'))!.raw).toBe('{"big":12345678901234567890}');
      expect(await kv.get('c')).toBeNull();

      const error = await kv
        .commit({ checks: [{ key: 'a', version: 'not-it' }, { key: 'lock', version: null }], ops: [{ op: 'delete', key: 'a' }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KvPreconditionFailedError);
      expect((error as KvPreconditionFailedError).failedChecks).toStrictEqual([
        { index: 0, key: 'a', currentVersion: a.version },
        { index: 1, key: 'lock', currentVersion: results[0].version },
      ]);
      expect((await kv.get('a'))!.value).toBe(1);
    });

    it('reads many keys in request order with batchGet, null where absent', async () => {
      const kv = await s.client();
      await kv.set('x', 'X');
      await kv.set('y', { y: true });
      expect(await kv.batchGet(['y', 'missing', 'x'])).toStrictEqual([
        expect.objectContaining({ key: 'y', value: { y: true }, version: expect.any(String), expiresAt: null }),
        null,
        expect.objectContaining({ key: 'x', value: 'X' }),
      ]);
      await expect(kv.batchGet([])).rejects.toBeInstanceOf(KvInvalidRequestError);
    });

    it("reports the account's key count and limits with usage", async () => {
      const kv = await s.client({ maxKeys: 7, readsPerSecond: 500 });
      await kv.set('one', 1);
      await kv.set('two', 2);
      expect(await kv.usage()).toStrictEqual({
        keys: 2,
        limits: {
          maxKeys: 7,
          readsPerSecond: 500,
          writesPerSecond: expect.any(Number),
          maxKeyBytes: 512,
          maxValueBytes: 1_048_576,
          maxTtlSeconds: expect.any(Number),
        },
      });
    });
  });

  describe('export and import', () => {
    it('exports records and lines in key order, under a prefix', async () => {
      const kv = await s.client();
      await kv.set('cfg/b', { theme: 'dark' });
      await kv.set('cfg/a', [1, 2], { ttlSeconds: 600 });
      await kv.set('other', 0);
      const records: ExportRecord[] = [];
      for await (const record of kv.export({ prefix: 'cfg/' })) records.push(record);
      expect(records).toStrictEqual([
        { key: 'cfg/a', value: [1, 2], expiresAt: expect.stringMatching(ISO) },
        { key: 'cfg/b', value: { theme: 'dark' }, expiresAt: null },
      ]);
      const lines: string[] = [];
      for await (const line of kv.exportLines()) lines.push(line);
      expect(lines).toHaveLength(3);
      expect(lines[2]).toBe('{"key":"other","value":0,"expiresAt":null}');
    });

    it('imports records, lines or NDJSON text, skipping or overwriting existing keys, and reports bad lines by number', async () => {
      const kv = await s.client();
      await kv.set('exists', 'old');
      const report = await kv.import([
        { key: 'a', value: 1 },
        '{"key":"b","value":{"x":true},"expiresAt":null}',
        'not json',
        { key: 'exists', value: 'new' },
      ]);
      expect(report).toStrictEqual({
        created: 2,
        replaced: 0,
        skipped: 1,
        failed: [{ line: 3, error: expect.objectContaining({ code: 'invalid_json', message: expect.any(String) }) }],
      });
      expect((await kv.get('exists'))!.value).toBe('old');
      const overwrite = await kv.import('{"key":"exists","value":"new"}\n{"key":"c","value":3}\n', { mode: 'overwrite' });
      expect(overwrite).toMatchObject({ created: 1, replaced: 1, skipped: 0, failed: [] });
      expect((await kv.get('exists'))!.value).toBe('new');
    });

    it('sends a long import in several requests and numbers failed lines over the whole input', async () => {
      const kv = await s.client();
      async function* lines() {
        for (let i = 1; i <= 25; i++) yield i % 10 === 0 ? `{"key":"k${i}"}` : { key: `k${i}`, value: i };
      }
      const report = await kv.import(lines(), { linesPerRequest: 7 });
      expect(report.created).toBe(23);
      expect(report.failed.map((f) => [f.line, f.error.code])).toStrictEqual([
        [10, 'invalid_request'],
        [20, 'invalid_request'],
      ]);
      expect((await kv.usage()).keys).toBe(23);
    });

    it('round-trips an account through export and import', async () => {
      const kv = await s.client();
      await kv.set('x', { deep: { list: [1, 'two', null] } }, { ttlSeconds: 3600 });
      await kv.set('y', 'why');
      const copy = await s.client();
      expect(await copy.import(kv.export())).toMatchObject({ created: 2, failed: [] });
      const original = await kv.batchGet(['x', 'y']);
      const copied = await copy.batchGet(['x', 'y']);
      expect(copied.map((i) => [i!.key, i!.value, i!.expiresAt])).toStrictEqual(original.map((i) => [i!.key, i!.value, i!.expiresAt]));
    });
  });

  describe('error classes', () => {
    it('throws KvUnauthorizedError for an unknown API key', async () => {
      const kv = new KvClient({ url: s.url, apiKey: 'kv_not-a-real-key' });
      const error = await kv.get('k').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KvUnauthorizedError);
      expect(error).toMatchObject({ status: 401, code: 'unauthorized', requestId: expect.any(String) });
    });

    it('throws KvForbiddenError when a read-only key writes', async () => {
      const account = await s.account();
      const readOnly = await s.admin.createKey(account.accountId, { scopes: ['read'] });
      const kv = new KvClient({ url: s.url, apiKey: readOnly.key });
      expect(await kv.get('k')).toBeNull();
      const error = await kv.set('k', 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KvForbiddenError);
      expect(error).toMatchObject({ status: 403, code: 'forbidden' });
    });

    it('throws KvQuotaExceededError with the limit when the account is full', async () => {
      const kv = await s.client({ maxKeys: 1 });
      await kv.set('one', 1);
      const error = await kv.set('two', 2).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KvQuotaExceededError);
      expect(error).toMatchObject({ status: 403, code: 'quota_exceeded', limit: 1 });
      expect((await kv.set('one', 'replacing is fine')).created).toBe(false);
    });

    it('throws KvValueTooLargeError for a value over 1 MiB', async () => {
      const kv = await s.client();
      const error = await kv.set('big', 'x'.repeat(1024 * 1024)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KvValueTooLargeError);
      expect(error).toMatchObject({ status: 413, code: 'value_too_large' });
    });

    it('throws KvInvalidRequestError for a TTL out of range, naming the field', async () => {
      const kv = await s.client();
      const error = await kv.set('k', 1, { ttlSeconds: 0 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KvInvalidRequestError);
      expect(error).toMatchObject({ status: 400, details: [{ path: 'body.ttlSeconds', message: expect.any(String) }] });
    });

    it('throws KvInvalidJsonError for raw JSON text that is not JSON', async () => {
      const kv = await s.client();
      const error = await kv.set('k', rawJson('{"unclosed": ')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KvInvalidJsonError);
      expect(error).toMatchObject({ status: 400, code: 'invalid_json' });
    });

    it('throws KvUnsupportedMediaTypeError for a Content-Encoding the server does not take', async () => {
      const { apiKey } = await s.account();
      const kv = new KvClient({ url: s.url, apiKey, headers: { 'Content-Encoding': 'zstd' } });
      const error = await kv.set('k', 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KvUnsupportedMediaTypeError);
      expect(error).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    });

    it('refuses undefined as a value before sending (TypeError)', async () => {
      const kv = await s.client();
      await expect(kv.set('k', undefined)).rejects.toThrow(TypeError);
    });

    it('serialises errors with toJSON for logs', async () => {
      const kv = await s.client();
      const error = (await kv.patch('absent', {}).catch((e: unknown) => e)) as KvNotFoundError;
      expect(JSON.parse(JSON.stringify(error))).toStrictEqual({
        status: 404,
        requestId: expect.any(String),
        error: { code: 'not_found', message: expect.any(String) },
      });
    });
  });
});
