// The KvStore contract as one suite, run against every store so that they behave the same.

import { createHash } from 'node:crypto';
import type {
  Account,
  ApiKeyInfo,
  ApiKeyRecord,
  CommitOp,
  CommitOutcome,
  CommitRequest,
  CommitResult,
  Invalidation,
  Item,
  ItemMeta,
  KvStore,
  ListedItem,
  SetOutcome,
  SetRequest,
  WriteCondition,
} from '../../src/store/types';
import { randomAccountId, randomId, randomString } from '../helpers/ids';
import type { RedisStore } from '../../src/store/redis/redis-store';
import { createTestStore, type TestStore } from '../helpers/stores';
import { sleep, waitFor } from '../helpers/wait';


/** A quota no test reaches unless it means to. */
const NO_QUOTA = 1_000_000;
const ONE_MIB = 1024 * 1024;
/** How far store timestamps may be from this process's clock. */
const CLOCK_TOLERANCE_MS = 2000;
/** The longest a test waits for a 1-second TTL to run out. */
const MAX_EXPIRY_WAIT_MS = 3000;

const ALWAYS: WriteCondition = { kind: 'none' };

function request(value: string, options: Partial<SetRequest> = {}): SetRequest {
  return { value, condition: ALWAYS, maxKeys: NO_QUOTA, ...options };
}

function ifVersion(version: string): WriteCondition {
  return { kind: 'version', version };
}

const IF_ABSENT: WriteCondition = { kind: 'absent' };

/** The item of a successful write; fails the test with the outcome otherwise. */
function written(outcome: SetOutcome): ItemMeta {
  if (!outcome.ok) throw new Error(`expected the write to succeed, got ${JSON.stringify(outcome)}`);
  return outcome.item;
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}


function expectNearNow(ms: number, offsetMs = 0): void {
  expect(Math.abs(ms - (Date.now() + offsetMs))).toBeLessThan(CLOCK_TOLERANCE_MS);
}


function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function newAccount(overrides: Partial<Account> = {}): Account {
  return { id: randomAccountId(), name: `Account ${randomString(6)}`, limitOverrides: {}, createdAt: Date.now(), ...overrides };
}

function newApiKey(accountId: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id: randomId('key'),
    accountId,
    name: `key ${randomString(6)}`,
    scopes: ['read', 'write'],
    createdAt: Date.now(),
    hash: sha256Hex(`kv_${randomString(43)}`),
    ...overrides,
  };
}

/** What a store may show of an API key: everything but its hash. */
function info(key: ApiKeyRecord): ApiKeyInfo {
  const { hash: _hash, ...shown } = key;
  return shown;
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The contract suite. Every test makes its own random account, so tests never share data and the
 * store may be shared by the whole suite. Tests that wait for a 1-second TTL run concurrently.
 * `createStore` makes the one store the suite runs on; the suite destroys it at the end.
 */
export function describeStoreConformance(name: string, createStore: () => Promise<TestStore>): void {
  describe(`KvStore conformance: ${name}`, () => {
    let testStore: TestStore | undefined;
    let store: KvStore;

    beforeAll(async () => {
      testStore = await createStore();
      store = testStore.store;
    });

    afterAll(async () => {
      await testStore?.destroy();
    });

    async function put(accountId: string, key: string, value: string, options: Partial<SetRequest> = {}): Promise<ItemMeta> {
      return written(await store.setItem(accountId, key, request(value, options)));
    }

    /**
     * getItem with the value as text. The store hands the value over as its UTF-8 bytes; the
     * bytes are checked to be a Buffer here, the text compared by the tests.
     */
    async function getItem(accountId: string, key: string): Promise<(Omit<Item, 'value'> & { value: string }) | null> {
      const item = await store.getItem(accountId, key);
      if (item === null) return null;
      expect(Buffer.isBuffer(item.value)).toBe(true);
      return { ...item, value: item.value.toString('utf8') };
    }

    /** Every key of the account (or under a prefix), page by page, failing on a page over the limit. */
    async function listAll(accountId: string, prefix = '', limit = 1000): Promise<ListedItem[]> {
      const items: ListedItem[] = [];
      let after: string | undefined;
      for (let page = 0; page < 10_000; page++) {
        const result = await store.listItems(accountId, { prefix, limit, after });
        expect(result.items.length).toBeLessThanOrEqual(limit);
        items.push(...result.items);
        if (result.nextAfter === null) return items;
        after = result.nextAfter;
      }
      throw new Error('listItems never returned nextAfter null');
    }

    async function listKeys(accountId: string, prefix = '', limit = 1000): Promise<string[]> {
      return (await listAll(accountId, prefix, limit)).map((item) => item.key);
    }

    /** Waits until the item's TTL has run out and getItem no longer finds it; at most 3 s in all. */
    async function waitUntilExpired(accountId: string, key: string, expiresAt: number | null): Promise<void> {
      if (expiresAt === null) throw new Error('the item has no expiry to wait for');
      const wait = Math.max(0, expiresAt - Date.now());
      if (wait > MAX_EXPIRY_WAIT_MS) throw new Error(`the item expires in ${wait} ms; tests wait at most ${MAX_EXPIRY_WAIT_MS} ms`);
      await sleep(wait + 20);
      // Polls on, within the bound, in case the store's clock runs a little behind this process's.
      await waitFor(async () => expect(await getItem(accountId, key)).toBeNull(), { what: `${key} to expire`, timeoutMs: MAX_EXPIRY_WAIT_MS - wait });
    }

    describe('getItem and setItem', () => {
      it('returns null when the key does not exist', async () => {
        expect(await getItem(randomAccountId(), 'missing')).toBeNull();
      });

      it('creates the key when it does not exist', async () => {
        const accountId = randomAccountId();
        const outcome = await store.setItem(accountId, 'greeting', request('"hello"'));

        expect(outcome).toStrictEqual({
          ok: true,
          created: true,
          item: { key: 'greeting', version: expect.any(String), createdAt: expect.any(Number), updatedAt: expect.any(Number), expiresAt: null },
        });
        const item = written(outcome);
        expect(item.version).not.toBe('');
        expect(item.updatedAt).toBe(item.createdAt);
        expectNearNow(item.createdAt);
      });

      it('returns the item with its exact value text after a create', async () => {
        const accountId = randomAccountId();
        const item = await put(accountId, 'config', '{"theme":"dark","beta":true}');

        expect(await getItem(accountId, 'config')).toStrictEqual({ ...item, value: '{"theme":"dark","beta":true}' });
      });

      it('replaces the value when the key exists', async () => {
        const accountId = randomAccountId();
        const first = await put(accountId, 'flag', 'false');
        const outcome = await store.setItem(accountId, 'flag', request('true'));

        expect(outcome).toStrictEqual({
          ok: true,
          created: false,
          item: { key: 'flag', version: expect.any(String), createdAt: first.createdAt, updatedAt: expect.any(Number), expiresAt: null },
        });
        const second = written(outcome);
        expect(second.version).not.toBe(first.version);
        expect(second.updatedAt).toBeGreaterThanOrEqual(first.updatedAt);
        expect(await getItem(accountId, 'flag')).toStrictEqual({ ...second, value: 'true' });
      });

      it('changes the version on every write of the key', async () => {
        const accountId = randomAccountId();
        const versions: string[] = [];
        for (let i = 0; i < 5; i++) versions.push((await put(accountId, 'k', String(i))).version);

        expect(new Set(versions).size).toBe(5);
      });

      it('keeps createdAt and moves updatedAt forward across replaces', async () => {
        const accountId = randomAccountId();
        const first = await put(accountId, 'k', '1');
        await sleep(15);
        const second = await put(accountId, 'k', '2');

        expect(second.createdAt).toBe(first.createdAt);
        expect(second.updatedAt).toBeGreaterThan(first.updatedAt);
      });
    });

    describe('values', () => {
      it.each([
        { label: 'a number beyond 2^64', value: '{"n":12345678901234567890}' },
        { label: 'a number with an exponent', value: '1.0e+30' },
        { label: 'negative zero', value: '-0' },
        { label: 'decimals with trailing zeros', value: '[1.50,2.000,0.1e-7]' },
        { label: 'emoji and CJK text', value: '"😀 日本語 中文 한국어 é"' },
        { label: 'an escaped NUL', value: '"a\\u0000b"' },
        { label: 'other escapes', value: '"line\\nbreak \\"quoted\\" back\\\\slash \\ud83d\\ude00 \\u00e9"' },
        { label: 'null', value: 'null' },
        { label: 'true', value: 'true' },
        { label: 'false', value: 'false' },
        { label: 'zero', value: '0' },
        { label: 'an empty string', value: '""' },
        { label: 'an empty array', value: '[]' },
        { label: 'an empty object', value: '{}' },
        { label: 'an object with a __proto__ key', value: '{"__proto__":{"x":1}}' },
        { label: 'an object with a constructor key', value: '{"constructor":{"prototype":{"polluted":true}}}' },
        { label: 'nested arrays', value: '[[[[[[1]]]]],[[2,[3,[4,[]]]]],{"a":[{"b":[null]}]}]' },
        { label: 'text full of colons', value: '"1:2:3:4:5::"' },
        { label: 'an object with colons in keys and values', value: '{"a:b":"c:d","e":"::"}' },
        { label: 'pattern characters', value: '"100% [a-z]*? %d %s ^$ .+-"' },
      ])('returns $label byte for byte', async ({ value }) => {
        const accountId = randomAccountId();
        const item = await put(accountId, 'v', value);

        expect(await getItem(accountId, 'v')).toStrictEqual({ ...item, value });
      });

      it('returns a value of 1 MiB byte for byte', async () => {
        const accountId = randomAccountId();
        const chunk = 'abcdefghijklmnopqrstuvwxyz0123456789:{}[] ';
        const body = chunk.repeat(Math.ceil(ONE_MIB / chunk.length)).slice(0, ONE_MIB - 2);
        const value = `"${body}"`;
        expect(Buffer.byteLength(value)).toBe(ONE_MIB);

        const item = await put(accountId, 'big', value);
        const read = await getItem(accountId, 'big');

        expect(read).not.toBeNull();
        expect(read?.value.length).toBe(ONE_MIB);
        expect(read?.value === value).toBe(true);
        expect(read).toStrictEqual({ ...item, value });
      });
    });

    describe('keys', () => {
      it.each([
        { label: 'CJK characters', key: '日本語/キー' },
        { label: 'an emoji', key: '😀' },
        { label: 'slashes', key: 'users/42/profile' },
        { label: 'a leading and trailing slash', key: '/a/' },
        { label: 'spaces', key: ' spaced  key ' },
        { label: 'braces', key: 'a{b}c' },
        { label: 'a hash-tag look-alike', key: '{acc_0000000000000000}' },
        { label: 'reversed braces', key: '}{' },
        { label: 'colons', key: 'a:b::c:' },
        { label: 'an asterisk', key: '*' },
        { label: 'glob characters', key: 'a*b?c[d]\\e' },
        { label: 'percent signs', key: '%41%%' },
        { label: 'a combining accent', key: 'e\u0301' },
        { label: 'names like internal bookkeeping', key: 'idx' },
        { label: '512 bytes of ASCII', key: 'k'.repeat(512) },
        { label: '512 bytes of 3-byte characters', key: `${'日'.repeat(170)}ab` },
        { label: '512 bytes of emoji', key: '😀'.repeat(128) },
      ])('stores, lists and deletes a key with $label', async ({ key }) => {
        expect(Buffer.byteLength(key)).toBeLessThanOrEqual(512);
        const accountId = randomAccountId();
        const item = await put(accountId, key, '"v"');

        expect(item.key).toBe(key);
        expect(await getItem(accountId, key)).toStrictEqual({ ...item, value: '"v"' });
        expect(await store.listItems(accountId, { prefix: '', limit: 10 })).toStrictEqual({
          items: [{ key, version: item.version, expiresAt: null }],
          nextAfter: null,
        });
        expect(await store.countKeys(accountId)).toBe(1);
        expect(await store.deleteItem(accountId, key, ALWAYS)).toStrictEqual({ ok: true });
        expect(await getItem(accountId, key)).toBeNull();
      });

      it('treats keys that differ only by case as different keys', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'Key', '1');
        await put(accountId, 'key', '2');
        await put(accountId, 'KEY', '3');

        expect((await getItem(accountId, 'Key'))?.value).toBe('1');
        expect((await getItem(accountId, 'key'))?.value).toBe('2');
        expect((await getItem(accountId, 'KEY'))?.value).toBe('3');
        expect(await store.countKeys(accountId)).toBe(3);
      });

      it('treats composed and decomposed forms of a character as different keys', async () => {
        const accountId = randomAccountId();
        await put(accountId, '\u00e9', '"composed"');
        await put(accountId, 'e\u0301', '"decomposed"');

        expect((await getItem(accountId, '\u00e9'))?.value).toBe('"composed"');
        expect((await getItem(accountId, 'e\u0301'))?.value).toBe('"decomposed"');
        expect(await store.countKeys(accountId)).toBe(2);
      });

      it('treats a key as different from the same key with a trailing slash or space', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'a', '1');

        expect(await getItem(accountId, 'a/')).toBeNull();
        expect(await getItem(accountId, 'a ')).toBeNull();
        expect(await getItem(accountId, 'A')).toBeNull();
      });
    });

    describe('versions', () => {
      it('gives a re-created key a version different from every earlier one', async () => {
        const accountId = randomAccountId();
        const versions = [(await put(accountId, 'k', '1')).version, (await put(accountId, 'k', '2')).version];
        expect(await store.deleteItem(accountId, 'k', ALWAYS)).toStrictEqual({ ok: true });
        const recreated = written(await store.setItem(accountId, 'k', request('3')));
        versions.push(recreated.version);
        expect(await store.deleteItem(accountId, 'k', ALWAYS)).toStrictEqual({ ok: true });
        versions.push((await put(accountId, 'k', '4')).version);

        expect(new Set(versions).size).toBe(versions.length);
      });

      it('refuses a compare-and-swap with a version from before a delete and re-create', async () => {
        const accountId = randomAccountId();
        const old = await put(accountId, 'k', '"old"');
        await store.deleteItem(accountId, 'k', ALWAYS);
        const current = await put(accountId, 'k', '"new"');

        expect(await store.setItem(accountId, 'k', request('"stale"', { condition: ifVersion(old.version) }))).toStrictEqual({
          ok: false,
          reason: 'version_mismatch',
          currentVersion: current.version,
        });
        expect((await getItem(accountId, 'k'))?.value).toBe('"new"');
      });

      it('gives different keys of one account different versions', async () => {
        const accountId = randomAccountId();
        const versions: string[] = [];
        for (let i = 0; i < 10; i++) versions.push((await put(accountId, `k${i}`, String(i))).version);

        expect(new Set(versions).size).toBe(10);
      });
    });

    describe('TTL', () => {
      it('sets expiresAt ttlSeconds from now when ttlSeconds is given', async () => {
        const accountId = randomAccountId();
        const item = await put(accountId, 'session', '{"user":1}', { ttlSeconds: 60 });

        expect(item.expiresAt).not.toBeNull();
        expectNearNow(item.expiresAt as number, 60_000);
        expect(await getItem(accountId, 'session')).toStrictEqual({ ...item, value: '{"user":1}' });
      });

      it('sets expiresAt for the longest allowed ttl of 365 days', async () => {
        const accountId = randomAccountId();
        const item = await put(accountId, 'year', '1', { ttlSeconds: 31_536_000 });

        expectNearNow(item.expiresAt as number, 31_536_000_000);
        expect((await getItem(accountId, 'year'))?.expiresAt).toBe(item.expiresAt);
      });

      it('keeps an expiresAt given as a time to the millisecond', async () => {
        const accountId = randomAccountId();
        const expiresAt = Date.now() + 60_123;
        const item = await put(accountId, 'imported', '1', { expiresAt });

        expect(item.expiresAt).toBe(expiresAt);
        expect((await getItem(accountId, 'imported'))?.expiresAt).toBe(expiresAt);
      });

      it('removes the expiry when a replace has no ttlSeconds', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'k', '1', { ttlSeconds: 60 });
        const replaced = await put(accountId, 'k', '2');

        expect(replaced.expiresAt).toBeNull();
        expect((await getItem(accountId, 'k'))?.expiresAt).toBeNull();
        expect(await store.listItems(accountId, { prefix: '', limit: 10 })).toStrictEqual({
          items: [{ key: 'k', version: replaced.version, expiresAt: null }],
          nextAfter: null,
        });
      });

      it('keeps expiresAt exactly when keepTtl is true', async () => {
        const accountId = randomAccountId();
        const first = await put(accountId, 'k', '1', { ttlSeconds: 60 });
        await sleep(10);
        const replaced = await put(accountId, 'k', '2', { keepTtl: true });

        expect(replaced.expiresAt).toBe(first.expiresAt);
        expect(await getItem(accountId, 'k')).toStrictEqual({ ...replaced, value: '2' });
      });

      it('keeps expiresAt on a compare-and-swap with keepTtl', async () => {
        const accountId = randomAccountId();
        const first = await put(accountId, 'k', '1', { ttlSeconds: 60 });
        const replaced = await put(accountId, 'k', '2', { keepTtl: true, condition: ifVersion(first.version) });

        expect(replaced.expiresAt).toBe(first.expiresAt);
      });

      it('uses the new ttlSeconds when keepTtl is true and ttlSeconds is given', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'k', '1', { ttlSeconds: 60 });
        const replaced = await put(accountId, 'k', '2', { keepTtl: true, ttlSeconds: 3600 });

        expectNearNow(replaced.expiresAt as number, 3_600_000);
        expect((await getItem(accountId, 'k'))?.expiresAt).toBe(replaced.expiresAt);
      });

      it('leaves the key without expiry when keepTtl is true and the key had none', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'k', '1');
        const replaced = await put(accountId, 'k', '2', { keepTtl: true });

        expect(replaced.expiresAt).toBeNull();
        expect((await getItem(accountId, 'k'))?.expiresAt).toBeNull();
      });

      it('creates the key without expiry when keepTtl is true and the key is new', async () => {
        const accountId = randomAccountId();
        const outcome = await store.setItem(accountId, 'k', request('1', { keepTtl: true }));

        expect(outcome).toMatchObject({ ok: true, created: true, item: { expiresAt: null } });
        expect((await getItem(accountId, 'k'))?.expiresAt).toBeNull();
      });

      it('sets a ttl on a key that had none when a replace gives ttlSeconds', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'k', '1');
        const replaced = await put(accountId, 'k', '2', { ttlSeconds: 120 });

        expectNearNow(replaced.expiresAt as number, 120_000);
        expect((await store.listItems(accountId, { prefix: '', limit: 10 })).items).toStrictEqual([
          { key: 'k', version: replaced.version, expiresAt: replaced.expiresAt },
        ]);
      });
    });

    describe('expiry', () => {
      it.concurrent('returns null from getItem once the ttl has passed', async () => {
        const accountId = randomAccountId();
        const item = await put(accountId, 'k', '"soon gone"', { ttlSeconds: 1 });
        expect((await getItem(accountId, 'k'))?.value).toBe('"soon gone"');

        await waitUntilExpired(accountId, 'k', item.expiresAt);

        expect(await getItem(accountId, 'k')).toBeNull();
      });

      it.concurrent('leaves an expired key out of listItems', async () => {
        const accountId = randomAccountId();
        const doomed = await put(accountId, 'b', '1', { ttlSeconds: 1 });
        const a = await put(accountId, 'a', '1');
        const c = await put(accountId, 'c', '1');
        expect(await listKeys(accountId)).toStrictEqual(['a', 'b', 'c']);

        await waitUntilExpired(accountId, 'b', doomed.expiresAt);

        expect(await store.listItems(accountId, { prefix: '', limit: 10 })).toStrictEqual({
          items: [
            { key: 'a', version: a.version, expiresAt: null },
            { key: 'c', version: c.version, expiresAt: null },
          ],
          nextAfter: null,
        });
      });

      it.concurrent('leaves an expired key out of countKeys', async () => {
        const accountId = randomAccountId();
        const doomed = await put(accountId, 'gone', '1', { ttlSeconds: 1 });
        await put(accountId, 'stays', '1');
        expect(await store.countKeys(accountId)).toBe(2);

        await waitUntilExpired(accountId, 'gone', doomed.expiresAt);

        expect(await store.countKeys(accountId)).toBe(1);
      });

      it.concurrent('keeps countKeys exact when some keys expire and others do not', async () => {
        const accountId = randomAccountId();
        const doomed = await Promise.all(['e1', 'e2', 'e3', 'e4'].map((key) => put(accountId, key, '1', { ttlSeconds: 1 })));
        await Promise.all(['s1', 's2', 's3'].map((key) => put(accountId, key, '1')));
        await put(accountId, 'later', '1', { ttlSeconds: 600 });
        expect(await store.countKeys(accountId)).toBe(8);

        const lastExpiry = Math.max(...doomed.map((item) => item.expiresAt as number));
        for (const key of ['e1', 'e2', 'e3', 'e4']) await waitUntilExpired(accountId, key, lastExpiry);

        expect(await store.countKeys(accountId)).toBe(4);
        expect(await listKeys(accountId)).toStrictEqual(['later', 's1', 's2', 's3']);
      });

      it.concurrent('creates the key again after it expired, with a new version and a new createdAt', async () => {
        const accountId = randomAccountId();
        const old = await put(accountId, 'k', '"old"', { ttlSeconds: 1 });

        await waitUntilExpired(accountId, 'k', old.expiresAt);
        const outcome = await store.setItem(accountId, 'k', request('"new"'));

        expect(outcome).toStrictEqual({
          ok: true,
          created: true,
          item: { key: 'k', version: expect.any(String), createdAt: expect.any(Number), updatedAt: expect.any(Number), expiresAt: null },
        });
        const item = written(outcome);
        expect(item.version).not.toBe(old.version);
        expect(item.createdAt).toBeGreaterThan(old.createdAt);
        expect(item.createdAt).toBe(item.updatedAt);
        expect(await getItem(accountId, 'k')).toStrictEqual({ ...item, value: '"new"' });
      });

      it.concurrent('creates the key with condition absent after it expired', async () => {
        const accountId = randomAccountId();
        const old = await put(accountId, 'lock', '"holder-1"', { ttlSeconds: 1, condition: IF_ABSENT });
        expect(await store.setItem(accountId, 'lock', request('"holder-2"', { condition: IF_ABSENT }))).toStrictEqual({
          ok: false,
          reason: 'exists',
          currentVersion: old.version,
        });

        await waitUntilExpired(accountId, 'lock', old.expiresAt);
        const outcome = await store.setItem(accountId, 'lock', request('"holder-2"', { condition: IF_ABSENT }));

        expect(outcome).toMatchObject({ ok: true, created: true });
        expect(written(outcome).version).not.toBe(old.version);
        expect((await getItem(accountId, 'lock'))?.value).toBe('"holder-2"');
      });

      it.concurrent('refuses a compare-and-swap on an expired key with currentVersion null', async () => {
        const accountId = randomAccountId();
        const old = await put(accountId, 'k', '1', { ttlSeconds: 1 });

        await waitUntilExpired(accountId, 'k', old.expiresAt);

        expect(await store.setItem(accountId, 'k', request('2', { condition: ifVersion(old.version) }))).toStrictEqual({
          ok: false,
          reason: 'version_mismatch',
          currentVersion: null,
        });
        expect(await getItem(accountId, 'k')).toBeNull();
        expect(await store.countKeys(accountId)).toBe(0);
      });

      it.concurrent('answers not_found when deleting an expired key', async () => {
        const accountId = randomAccountId();
        const old = await put(accountId, 'k', '1', { ttlSeconds: 1 });

        await waitUntilExpired(accountId, 'k', old.expiresAt);

        expect(await store.deleteItem(accountId, 'k', ALWAYS)).toStrictEqual({ ok: false, reason: 'not_found' });
        expect(await store.deleteItem(accountId, 'k', ifVersion(old.version))).toStrictEqual({
          ok: false,
          reason: 'version_mismatch',
          currentVersion: null,
        });
      });

      it.concurrent('frees the quota slot of an expired key', async () => {
        const accountId = randomAccountId();
        const doomed = await put(accountId, 'a', '1', { ttlSeconds: 1, maxKeys: 2 });
        await put(accountId, 'b', '1', { maxKeys: 2 });
        expect(await store.setItem(accountId, 'c', request('1', { maxKeys: 2 }))).toStrictEqual({
          ok: false,
          reason: 'quota_exceeded',
          maxKeys: 2,
        });

        await waitUntilExpired(accountId, 'a', doomed.expiresAt);

        expect(await store.setItem(accountId, 'c', request('1', { maxKeys: 2 }))).toMatchObject({ ok: true, created: true });
        expect(await store.countKeys(accountId)).toBe(2);
      });

      it.concurrent('keeps a key that was replaced without ttlSeconds past its old expiry', async () => {
        const accountId = randomAccountId();
        const first = await put(accountId, 'k', '1', { ttlSeconds: 1 });
        const replaced = await put(accountId, 'k', '2');

        await sleep((first.expiresAt as number) - Date.now() + 300);

        expect(await getItem(accountId, 'k')).toStrictEqual({ ...replaced, value: '2' });
        expect(await store.countKeys(accountId)).toBe(1);
        expect(await listKeys(accountId)).toStrictEqual(['k']);
      });

      it.concurrent('expires a key replaced with keepTtl at its original time', async () => {
        const accountId = randomAccountId();
        const first = await put(accountId, 'k', '1', { ttlSeconds: 1 });
        const replaced = await put(accountId, 'k', '2', { keepTtl: true });
        expect(replaced.expiresAt).toBe(first.expiresAt);

        await waitUntilExpired(accountId, 'k', first.expiresAt);

        expect(await store.countKeys(accountId)).toBe(0);
        expect(await store.listItems(accountId, { prefix: '', limit: 10 })).toStrictEqual({ items: [], nextAfter: null });
      });

      it.concurrent('keeps a key whose ttl was extended by a replace with a longer ttlSeconds', async () => {
        const accountId = randomAccountId();
        const first = await put(accountId, 'k', '1', { ttlSeconds: 1 });
        const replaced = await put(accountId, 'k', '2', { ttlSeconds: 600 });

        await sleep((first.expiresAt as number) - Date.now() + 300);

        expect(await getItem(accountId, 'k')).toStrictEqual({ ...replaced, value: '2' });
        expect(await store.countKeys(accountId)).toBe(1);
      });
    });

    describe('condition absent', () => {
      it('creates the key when it is absent', async () => {
        const accountId = randomAccountId();
        const outcome = await store.setItem(accountId, 'lock', request('"me"', { condition: IF_ABSENT }));

        expect(outcome).toStrictEqual({
          ok: true,
          created: true,
          item: { key: 'lock', version: expect.any(String), createdAt: expect.any(Number), updatedAt: expect.any(Number), expiresAt: null },
        });
        expect((await getItem(accountId, 'lock'))?.value).toBe('"me"');
      });

      it('returns exists with the current version when the key exists, leaving it unchanged', async () => {
        const accountId = randomAccountId();
        const item = await put(accountId, 'lock', '"first"', { ttlSeconds: 60 });

        expect(await store.setItem(accountId, 'lock', request('"second"', { condition: IF_ABSENT }))).toStrictEqual({
          ok: false,
          reason: 'exists',
          currentVersion: item.version,
        });
        expect(await getItem(accountId, 'lock')).toStrictEqual({ ...item, value: '"first"' });
      });

      it('creates the key again after it was deleted', async () => {
        const accountId = randomAccountId();
        const first = await put(accountId, 'lock', '"first"', { condition: IF_ABSENT });
        await store.deleteItem(accountId, 'lock', ALWAYS);

        const outcome = await store.setItem(accountId, 'lock', request('"second"', { condition: IF_ABSENT }));

        expect(outcome).toMatchObject({ ok: true, created: true });
        expect(written(outcome).version).not.toBe(first.version);
        expect((await getItem(accountId, 'lock'))?.value).toBe('"second"');
      });

      it('sets the ttl when the key is created with condition absent', async () => {
        const accountId = randomAccountId();
        const item = await put(accountId, 'lock', '1', { condition: IF_ABSENT, ttlSeconds: 30 });

        expectNearNow(item.expiresAt as number, 30_000);
      });
    });

    describe('condition version', () => {
      it('replaces the value when the version is current', async () => {
        const accountId = randomAccountId();
        const first = await put(accountId, 'k', '1');
        const outcome = await store.setItem(accountId, 'k', request('2', { condition: ifVersion(first.version) }));

        expect(outcome).toStrictEqual({
          ok: true,
          created: false,
          item: { key: 'k', version: expect.any(String), createdAt: first.createdAt, updatedAt: expect.any(Number), expiresAt: null },
        });
        expect(written(outcome).version).not.toBe(first.version);
        expect((await getItem(accountId, 'k'))?.value).toBe('2');
      });

      it('returns version_mismatch with the current version when the version is stale, changing nothing', async () => {
        const accountId = randomAccountId();
        const first = await put(accountId, 'k', '1');
        const second = await put(accountId, 'k', '2', { ttlSeconds: 60 });

        expect(await store.setItem(accountId, 'k', request('3', { condition: ifVersion(first.version) }))).toStrictEqual({
          ok: false,
          reason: 'version_mismatch',
          currentVersion: second.version,
        });
        expect(await getItem(accountId, 'k')).toStrictEqual({ ...second, value: '2' });
      });

      it('returns version_mismatch with currentVersion null when the key does not exist, creating nothing', async () => {
        const accountId = randomAccountId();

        expect(await store.setItem(accountId, 'k', request('1', { condition: ifVersion('1') }))).toStrictEqual({
          ok: false,
          reason: 'version_mismatch',
          currentVersion: null,
        });
        expect(await getItem(accountId, 'k')).toBeNull();
        expect(await store.countKeys(accountId)).toBe(0);
        expect(await store.listItems(accountId, { prefix: '', limit: 10 })).toStrictEqual({ items: [], nextAfter: null });
      });

      it('returns version_mismatch when the version belongs to another key', async () => {
        const accountId = randomAccountId();
        const other = await put(accountId, 'other', '1');
        const target = await put(accountId, 'target', '1');

        expect(await store.setItem(accountId, 'target', request('2', { condition: ifVersion(other.version) }))).toStrictEqual({
          ok: false,
          reason: 'version_mismatch',
          currentVersion: target.version,
        });
      });

      it('refuses a second compare-and-swap with the same version', async () => {
        const accountId = randomAccountId();
        const first = await put(accountId, 'k', '1');
        const second = await put(accountId, 'k', '2', { condition: ifVersion(first.version) });

        expect(await store.setItem(accountId, 'k', request('3', { condition: ifVersion(first.version) }))).toStrictEqual({
          ok: false,
          reason: 'version_mismatch',
          currentVersion: second.version,
        });
        expect((await getItem(accountId, 'k'))?.value).toBe('2');
      });
    });

    describe('deleteItem', () => {
      it('deletes an existing key unconditionally', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'k', '1');

        expect(await store.deleteItem(accountId, 'k', ALWAYS)).toStrictEqual({ ok: true });
        expect(await getItem(accountId, 'k')).toBeNull();
        expect(await store.countKeys(accountId)).toBe(0);
        expect(await store.listItems(accountId, { prefix: '', limit: 10 })).toStrictEqual({ items: [], nextAfter: null });
      });

      it('deletes a key that has a ttl', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'k', '1', { ttlSeconds: 60 });

        expect(await store.deleteItem(accountId, 'k', ALWAYS)).toStrictEqual({ ok: true });
        expect(await getItem(accountId, 'k')).toBeNull();
        expect(await store.countKeys(accountId)).toBe(0);
      });

      it('returns not_found when the key does not exist', async () => {
        expect(await store.deleteItem(randomAccountId(), 'missing', ALWAYS)).toStrictEqual({ ok: false, reason: 'not_found' });
      });

      it('returns not_found when the key was already deleted', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'k', '1');
        await store.deleteItem(accountId, 'k', ALWAYS);

        expect(await store.deleteItem(accountId, 'k', ALWAYS)).toStrictEqual({ ok: false, reason: 'not_found' });
      });

      it('deletes the key when the condition version is current', async () => {
        const accountId = randomAccountId();
        const item = await put(accountId, 'k', '1');

        expect(await store.deleteItem(accountId, 'k', ifVersion(item.version))).toStrictEqual({ ok: true });
        expect(await getItem(accountId, 'k')).toBeNull();
        expect(await store.countKeys(accountId)).toBe(0);
      });

      it('returns version_mismatch with the current version when the condition version is stale, keeping the key', async () => {
        const accountId = randomAccountId();
        const first = await put(accountId, 'k', '1');
        const second = await put(accountId, 'k', '2');

        expect(await store.deleteItem(accountId, 'k', ifVersion(first.version))).toStrictEqual({
          ok: false,
          reason: 'version_mismatch',
          currentVersion: second.version,
        });
        expect(await getItem(accountId, 'k')).toStrictEqual({ ...second, value: '2' });
        expect(await store.countKeys(accountId)).toBe(1);
      });

      it('returns version_mismatch with currentVersion null when a conditional delete finds no key', async () => {
        expect(await store.deleteItem(randomAccountId(), 'missing', ifVersion('1'))).toStrictEqual({
          ok: false,
          reason: 'version_mismatch',
          currentVersion: null,
        });
      });

      it('deletes only the named key', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'a', '1');
        const b = await put(accountId, 'b', '2');

        await store.deleteItem(accountId, 'a', ALWAYS);

        expect(await getItem(accountId, 'b')).toStrictEqual({ ...b, value: '2' });
        expect(await listKeys(accountId)).toStrictEqual(['b']);
      });
    });

    describe('quota', () => {
      it('refuses to create a key beyond maxKeys with quota_exceeded', async () => {
        const accountId = randomAccountId();
        for (const key of ['a', 'b', 'c']) await put(accountId, key, '1', { maxKeys: 3 });

        expect(await store.setItem(accountId, 'd', request('1', { maxKeys: 3 }))).toStrictEqual({
          ok: false,
          reason: 'quota_exceeded',
          maxKeys: 3,
        });
        expect(await getItem(accountId, 'd')).toBeNull();
        expect(await store.countKeys(accountId)).toBe(3);
        expect(await listKeys(accountId)).toStrictEqual(['a', 'b', 'c']);
      });

      it('refuses a key with condition absent beyond maxKeys', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'a', '1', { maxKeys: 1 });

        expect(await store.setItem(accountId, 'b', request('1', { maxKeys: 1, condition: IF_ABSENT }))).toStrictEqual({
          ok: false,
          reason: 'quota_exceeded',
          maxKeys: 1,
        });
      });

      it('replaces an existing key when the account is at its quota', async () => {
        const accountId = randomAccountId();
        const a = await put(accountId, 'a', '1', { maxKeys: 2 });
        await put(accountId, 'b', '1', { maxKeys: 2 });

        const outcome = await store.setItem(accountId, 'a', request('2', { maxKeys: 2 }));
        expect(outcome).toMatchObject({ ok: true, created: false });
        const cas = await store.setItem(accountId, 'a', request('3', { maxKeys: 2, condition: ifVersion(written(outcome).version) }));
        expect(cas).toMatchObject({ ok: true, created: false });
        expect(written(cas).createdAt).toBe(a.createdAt);
        expect(await store.countKeys(accountId)).toBe(2);
      });

      it('frees a slot when a key is deleted', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'a', '1', { maxKeys: 2 });
        await put(accountId, 'b', '1', { maxKeys: 2 });
        expect(await store.setItem(accountId, 'c', request('1', { maxKeys: 2 }))).toMatchObject({ ok: false, reason: 'quota_exceeded' });

        await store.deleteItem(accountId, 'a', ALWAYS);

        expect(await store.setItem(accountId, 'c', request('1', { maxKeys: 2 }))).toMatchObject({ ok: true, created: true });
        expect(await store.setItem(accountId, 'd', request('1', { maxKeys: 2 }))).toStrictEqual({
          ok: false,
          reason: 'quota_exceeded',
          maxKeys: 2,
        });
      });

      it('refuses new keys but accepts replaces when the account is above a lowered maxKeys', async () => {
        const accountId = randomAccountId();
        for (const key of ['a', 'b', 'c']) await put(accountId, key, '1', { maxKeys: 10 });

        expect(await store.setItem(accountId, 'd', request('1', { maxKeys: 2 }))).toStrictEqual({
          ok: false,
          reason: 'quota_exceeded',
          maxKeys: 2,
        });
        expect(await store.setItem(accountId, 'a', request('2', { maxKeys: 2 }))).toMatchObject({ ok: true, created: false });
        expect(await store.countKeys(accountId)).toBe(3);
      });

      it('lets an account create exactly maxKeys keys', async () => {
        const accountId = randomAccountId();
        const outcomes: SetOutcome[] = [];
        for (let i = 0; i < 6; i++) outcomes.push(await store.setItem(accountId, `k${i}`, request('1', { maxKeys: 5 })));

        expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(5);
        expect(outcomes[5]).toStrictEqual({ ok: false, reason: 'quota_exceeded', maxKeys: 5 });
      });
    });

    describe('countKeys', () => {
      it('returns 0 for an account without keys', async () => {
        expect(await store.countKeys(randomAccountId())).toBe(0);
      });

      it('counts every created key', async () => {
        const accountId = randomAccountId();
        for (let i = 0; i < 7; i++) await put(accountId, `k${i}`, '1', i % 2 === 0 ? { ttlSeconds: 600 } : {});

        expect(await store.countKeys(accountId)).toBe(7);
      });

      it('does not change when a key is replaced', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'a', '1');
        await put(accountId, 'b', '1');
        await put(accountId, 'a', '2');
        await put(accountId, 'a', '3', { ttlSeconds: 600 });
        await put(accountId, 'a', '4', { keepTtl: true });
        await put(accountId, 'b', '2', { condition: ifVersion((await getItem(accountId, 'b'))!.version) });

        expect(await store.countKeys(accountId)).toBe(2);
      });

      it('goes down when a key is deleted', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'a', '1');
        const b = await put(accountId, 'b', '1', { ttlSeconds: 600 });
        await put(accountId, 'c', '1');

        await store.deleteItem(accountId, 'a', ALWAYS);
        expect(await store.countKeys(accountId)).toBe(2);
        await store.deleteItem(accountId, 'b', ifVersion(b.version));
        expect(await store.countKeys(accountId)).toBe(1);
      });

      it('does not change after failed writes and deletes', async () => {
        const accountId = randomAccountId();
        const a = await put(accountId, 'a', '1', { maxKeys: 2 });
        await put(accountId, 'b', '1', { maxKeys: 2 });

        expect(await store.setItem(accountId, 'a', request('2', { condition: IF_ABSENT }))).toMatchObject({ ok: false, reason: 'exists' });
        expect(await store.setItem(accountId, 'x', request('2', { condition: ifVersion(a.version) }))).toMatchObject({
          ok: false,
          reason: 'version_mismatch',
        });
        expect(await store.setItem(accountId, 'x', request('2', { maxKeys: 2 }))).toMatchObject({ ok: false, reason: 'quota_exceeded' });
        expect(await store.deleteItem(accountId, 'x', ALWAYS)).toStrictEqual({ ok: false, reason: 'not_found' });
        expect(await store.deleteItem(accountId, 'a', ifVersion(`${a.version}0`))).toMatchObject({ ok: false, reason: 'version_mismatch' });

        expect(await store.countKeys(accountId)).toBe(2);
      });
    });

    describe('listItems', () => {
      it('returns an empty page for an account without keys', async () => {
        expect(await store.listItems(randomAccountId(), { prefix: '', limit: 100 })).toStrictEqual({ items: [], nextAfter: null });
      });

      it('lists keys in byte order of their UTF-8', async () => {
        const accountId = randomAccountId();
        const expected = ['B', 'Z', 'a', '~', 'é', '日本', '\uE000', '\uFFFD', '😀'];
        expect([...expected].sort(utf8Compare)).toStrictEqual(expected);
        for (const key of ['😀', 'a', '\uFFFD', '日本', 'B', '~', '\uE000', 'é', 'Z']) await put(accountId, key, '1');

        expect(await listKeys(accountId)).toStrictEqual(expected);
      });

      it('orders characters beyond U+FFFF after U+E000 to U+FFFF, unlike UTF-16 order', async () => {
        const accountId = randomAccountId();
        for (const key of ['\uFFFD', '😀', '\uE000', '𝄞', '\uFFFF']) await put(accountId, key, '1');

        // UTF-16 code units would give ['𝄞', '😀', '\uE000', '\uFFFD', '\uFFFF'].
        expect(await listKeys(accountId)).toStrictEqual(['\uE000', '\uFFFD', '\uFFFF', '𝄞', '😀']);
      });

      it('orders a key before its extensions', async () => {
        const accountId = randomAccountId();
        for (const key of ['ab', 'b', 'a/b', 'a', 'a/', 'a b']) await put(accountId, key, '1');

        expect(await listKeys(accountId)).toStrictEqual(['a', 'a b', 'a/', 'a/b', 'ab', 'b']);
      });

      it('lists keys made of punctuation such as - + [ ( in byte order', async () => {
        const accountId = randomAccountId();
        const keys = ['-', '+', '[', '(', '[a', '(a', '-a', '+a', '\\', ']', ')', '*', '?', '{', '}'];
        for (const key of keys) await put(accountId, key, '1');

        expect(await listKeys(accountId)).toStrictEqual([...keys].sort(utf8Compare));
        expect(await listKeys(accountId, '(')).toStrictEqual(['(', '(a']);
        expect(await listKeys(accountId, '[')).toStrictEqual(['[', '[a']);
        expect(await listKeys(accountId, '-')).toStrictEqual(['-', '-a']);
      });

      it('returns each key with its version and expiresAt as getItem reports them', async () => {
        const accountId = randomAccountId();
        const a = await put(accountId, 'a', '1');
        const b = await put(accountId, 'b', '1', { ttlSeconds: 600 });
        const a2 = await put(accountId, 'a', '2');

        expect(await store.listItems(accountId, { prefix: '', limit: 10 })).toStrictEqual({
          items: [
            { key: 'a', version: a2.version, expiresAt: null },
            { key: 'b', version: b.version, expiresAt: b.expiresAt },
          ],
          nextAfter: null,
        });
        expect(a2.version).not.toBe(a.version);
        expect((await getItem(accountId, 'b'))?.expiresAt).toBe(b.expiresAt);
      });

      it('returns only keys that start with the prefix', async () => {
        const accountId = randomAccountId();
        for (const key of ['user', 'users/1', 'user/1', 'usea', 'user/', 'user/2/x', 'user0', 'a', 'zzz']) await put(accountId, key, '1');

        expect(await listKeys(accountId, 'user/')).toStrictEqual(['user/', 'user/1', 'user/2/x']);
      });

      it('matches a multi-byte prefix by bytes', async () => {
        const accountId = randomAccountId();
        for (const key of ['é', 'éa', 'é/x', 'e', 'f', 'ê', 'è', 'ée', '日本', '日', '日本語']) await put(accountId, key, '1');

        expect(await listKeys(accountId, 'é')).toStrictEqual(['é', 'é/x', 'éa', 'ée']);
        expect(await listKeys(accountId, '日本')).toStrictEqual(['日本', '日本語']);
      });

      it('returns an empty page when no key has the prefix', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'a', '1');

        expect(await store.listItems(accountId, { prefix: 'b', limit: 10 })).toStrictEqual({ items: [], nextAfter: null });
      });

      it('pages through every key exactly once with limit and after', async () => {
        const accountId = randomAccountId();
        const keys = Array.from({ length: 13 }, (_, i) => `key-${String(i).padStart(2, '0')}`);
        for (const key of [...keys].reverse()) await put(accountId, key, '1');

        const pages: string[][] = [];
        let after: string | undefined;
        for (let i = 0; i < 20; i++) {
          const page = await store.listItems(accountId, { prefix: '', limit: 5, after });
          expect(page.items.length).toBeLessThanOrEqual(5);
          pages.push(page.items.map((item) => item.key));
          if (page.nextAfter === null) break;
          after = page.nextAfter;
        }

        expect(pages.flat()).toStrictEqual(keys);
        expect(pages).toHaveLength(3);
        expect(pages[0]).toHaveLength(5);
      });

      it('pages with a limit of 1', async () => {
        const accountId = randomAccountId();
        for (const key of ['c', 'a', 'b']) await put(accountId, key, '1');

        expect(await listKeys(accountId, '', 1)).toStrictEqual(['a', 'b', 'c']);
      });

      it('pages within a prefix', async () => {
        const accountId = randomAccountId();
        const inside = Array.from({ length: 7 }, (_, i) => `p/${i}`);
        for (const key of ['p', 'o/9', 'q/0', 'p0', ...inside]) await put(accountId, key, '1');

        expect(await listKeys(accountId, 'p/', 2)).toStrictEqual(inside);
      });

      it('returns nextAfter null when the page ends at the last key', async () => {
        const accountId = randomAccountId();
        for (const key of ['a', 'b', 'c', 'd']) await put(accountId, key, '1');

        const full = await store.listItems(accountId, { prefix: '', limit: 4 });
        expect(full.items.map((item) => item.key)).toStrictEqual(['a', 'b', 'c', 'd']);
        expect(full.nextAfter).toBeNull();

        const first = await store.listItems(accountId, { prefix: '', limit: 2 });
        expect(first.items.map((item) => item.key)).toStrictEqual(['a', 'b']);
        expect(first.nextAfter).not.toBeNull();
        const second = await store.listItems(accountId, { prefix: '', limit: 2, after: first.nextAfter as string });
        expect(second.items.map((item) => item.key)).toStrictEqual(['c', 'd']);
        expect(second.nextAfter).toBeNull();
      });

      it('starts after the given key, exclusive', async () => {
        const accountId = randomAccountId();
        for (const key of ['a', 'b', 'c']) await put(accountId, key, '1');

        expect((await store.listItems(accountId, { prefix: '', limit: 10, after: 'a' })).items.map((item) => item.key)).toStrictEqual([
          'b',
          'c',
        ]);
      });

      it('starts after a key that does not exist', async () => {
        const accountId = randomAccountId();
        for (const key of ['a', 'b', 'c']) await put(accountId, key, '1');

        expect(await store.listItems(accountId, { prefix: '', limit: 10, after: 'b2' })).toMatchObject({
          items: [{ key: 'c' }],
          nextAfter: null,
        });
      });

      it('returns only keys with the prefix when after sorts below the prefix', async () => {
        const accountId = randomAccountId();
        for (const key of ['a', 'user', 'user/1', 'user/2', 'users']) await put(accountId, key, '1');

        expect(await listKeys(accountId, 'user/')).toStrictEqual(['user/1', 'user/2']);
        const page = await store.listItems(accountId, { prefix: 'user/', limit: 10, after: 'a' });
        expect(page.items.map((item) => item.key)).toStrictEqual(['user/1', 'user/2']);
        expect(page.nextAfter).toBeNull();
        const fromPrefix = await store.listItems(accountId, { prefix: 'user/', limit: 10, after: 'user' });
        expect(fromPrefix.items.map((item) => item.key)).toStrictEqual(['user/1', 'user/2']);
      });

      it('returns an empty page when after sorts above every key with the prefix', async () => {
        const accountId = randomAccountId();
        for (const key of ['user/1', 'user/2', 'users', 'z']) await put(accountId, key, '1');

        expect(await store.listItems(accountId, { prefix: 'user/', limit: 10, after: 'user/2' })).toStrictEqual({ items: [], nextAfter: null });
        expect(await store.listItems(accountId, { prefix: 'user/', limit: 10, after: 'v' })).toStrictEqual({ items: [], nextAfter: null });
      });

      it('pages through unicode keys with after in byte order', async () => {
        const accountId = randomAccountId();
        const keys = ['B', 'a', 'é', '日本', '\uE000', '\uFFFD', '𝄞', '😀'];
        for (const key of [...keys].reverse()) await put(accountId, key, '1');

        expect(await listKeys(accountId, '', 3)).toStrictEqual(keys);
        expect(await listKeys(accountId, '', 1)).toStrictEqual(keys);
      });

      it('leaves deleted keys out', async () => {
        const accountId = randomAccountId();
        for (const key of ['a', 'b', 'c']) await put(accountId, key, '1');
        await store.deleteItem(accountId, 'b', ALWAYS);

        expect(await listKeys(accountId)).toStrictEqual(['a', 'c']);
      });
    });

    describe('races', () => {
      it('lets exactly one of 20 concurrent creates with condition absent succeed', async () => {
        const accountId = randomAccountId();
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.setItem(accountId, 'lock', request(`"writer-${i}"`, { condition: IF_ABSENT }))),
        );

        const winners = outcomes.flatMap((outcome, i) => (outcome.ok ? [{ i, item: outcome.item }] : []));
        expect(winners).toHaveLength(1);
        const [{ i: winner, item }] = winners;
        for (const outcome of outcomes) {
          if (!outcome.ok) expect(outcome).toStrictEqual({ ok: false, reason: 'exists', currentVersion: item.version });
        }
        expect(await getItem(accountId, 'lock')).toStrictEqual({ ...item, value: `"writer-${winner}"` });
        expect(await store.countKeys(accountId)).toBe(1);
      });

      it('loses no update when 20 writers increment a counter with compare-and-swap', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'counter', '0');

        async function increment(): Promise<number> {
          for (let attempt = 0; attempt < 1000; attempt++) {
            const current = await getItem(accountId, 'counter');
            if (!current) throw new Error('the counter disappeared');
            const next = Number(current.value) + 1;
            const outcome = await store.setItem(accountId, 'counter', request(String(next), { condition: ifVersion(current.version) }));
            if (outcome.ok) return next;
            expect(outcome).toMatchObject({ reason: 'version_mismatch' });
          }
          throw new Error('gave up after 1000 attempts');
        }
        const results = await Promise.all(Array.from({ length: 20 }, increment));

        expect([...results].sort((a, b) => a - b)).toStrictEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect((await getItem(accountId, 'counter'))?.value).toBe('20');
      });

      it('gives 20 concurrent writes of one key 20 different versions', async () => {
        const accountId = randomAccountId();
        const items = await Promise.all(Array.from({ length: 20 }, (_, i) => put(accountId, 'k', String(i))));

        expect(new Set(items.map((item) => item.version)).size).toBe(20);
        const final = await getItem(accountId, 'k');
        expect(items.map((item) => item.version)).toContain(final?.version);
        expect(await store.countKeys(accountId)).toBe(1);
      });

      it('creates exactly maxKeys keys when 30 keys are created concurrently at maxKeys 10', async () => {
        const accountId = randomAccountId();
        const outcomes = await Promise.all(
          Array.from({ length: 30 }, (_, i) => store.setItem(accountId, `k${String(i).padStart(2, '0')}`, request('1', { maxKeys: 10 }))),
        );

        expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(10);
        for (const outcome of outcomes) {
          if (!outcome.ok) expect(outcome).toStrictEqual({ ok: false, reason: 'quota_exceeded', maxKeys: 10 });
        }
        expect(await store.countKeys(accountId)).toBe(10);
        expect(await listKeys(accountId)).toHaveLength(10);
      });

      it('keeps countKeys exact under concurrent creates and deletes of the same keys', async () => {
        const accountId = randomAccountId();
        const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
        await Promise.all(
          keys.flatMap((key) => [
            store.setItem(accountId, key, request('1')),
            store.deleteItem(accountId, key, ALWAYS),
            store.setItem(accountId, key, request('2', { ttlSeconds: 600 })),
          ]),
        );

        const live = (await Promise.all(keys.map((key) => getItem(accountId, key)))).filter((item) => item !== null);
        expect(await store.countKeys(accountId)).toBe(live.length);
        expect(await listKeys(accountId)).toHaveLength(live.length);
      });
    });

    describe('commit', () => {
      const NO_CHECKS: CommitRequest['checks'] = [];
      const commit = (accountId: string, ops: CommitOp[], checks = NO_CHECKS, maxKeys = NO_QUOTA) => store.commit(accountId, { checks, ops, maxKeys });

      /** The results of a commit that succeeded; fails the test with the outcome otherwise. */
      async function committed(outcome: Promise<CommitOutcome>): Promise<CommitResult[]> {
        const result = await outcome;
        if (!result.ok) throw new Error(`expected the commit to succeed, got ${JSON.stringify(result)}`);
        return result.results;
      }

      it('applies set, delete and increment in op order and answers one result per op', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'old', '1');
        const results = await committed(
          commit(accountId, [
            { op: 'set', key: 'a', value: '{"x":12345678901234567890}' },
            { op: 'delete', key: 'old' },
            { op: 'increment', key: 'hits', by: 5 },
          ]),
        );

        expect(results.map((r) => [r.key, r.created, r.value])).toStrictEqual([
          ['a', true, undefined],
          ['old', false, undefined],
          ['hits', true, '5'],
        ]);
        expect(results[1].item).toBeNull();
        expect(await getItem(accountId, 'a')).toStrictEqual({ ...results[0].item!, value: '{"x":12345678901234567890}' });
        expect(await getItem(accountId, 'old')).toBeNull();
        expect(await getItem(accountId, 'hits')).toStrictEqual({ ...results[2].item!, value: '5' });
        expect(new Set([results[0].item!.version, results[2].item!.version]).size).toBe(2);
        expect(await store.countKeys(accountId)).toBe(2);
      });

      it('applies every op when every check holds: a version, and null for an absent key', async () => {
        const accountId = randomAccountId();
        const a = await put(accountId, 'a', '1');
        const results = await committed(
          commit(accountId, [{ op: 'set', key: 'a', value: '2' }, { op: 'set', key: 'b', value: '3' }], [
            { key: 'a', version: a.version },
            { key: 'b', version: null },
          ]),
        );

        expect(results).toHaveLength(2);
        expect((await getItem(accountId, 'a'))?.value).toBe('2');
        expect((await getItem(accountId, 'b'))?.value).toBe('3');
      });

      it('applies nothing and lists every failed check with its current version when a check fails', async () => {
        const accountId = randomAccountId();
        const a = await put(accountId, 'a', '1');
        const b = await put(accountId, 'b', '1');
        const outcome = await commit(
          accountId,
          [{ op: 'set', key: 'a', value: '2' }, { op: 'delete', key: 'b' }, { op: 'increment', key: 'n', by: 1 }],
          [
            { key: 'a', version: a.version },
            { key: 'b', version: null },
            { key: 'gone', version: '1' },
          ],
        );

        expect(outcome).toStrictEqual({
          ok: false,
          reason: 'checks_failed',
          failedChecks: [
            { index: 1, key: 'b', currentVersion: b.version },
            { index: 2, key: 'gone', currentVersion: null },
          ],
        });
        expect(await getItem(accountId, 'a')).toStrictEqual({ ...a, value: '1' });
        expect(await getItem(accountId, 'b')).toStrictEqual({ ...b, value: '1' });
        expect(await getItem(accountId, 'n')).toBeNull();
        expect(await store.countKeys(accountId)).toBe(2);
      });

      it('treats an expired key as absent in checks', async () => {
        const accountId = randomAccountId();
        const item = await put(accountId, 'k', '1', { ttlSeconds: 1 });
        await waitUntilExpired(accountId, 'k', item.expiresAt);

        expect((await commit(accountId, [{ op: 'set', key: 'k', value: '2' }], [{ key: 'k', version: null }])).ok).toBe(true);
        expect((await getItem(accountId, 'k'))?.createdAt).toBeGreaterThan(item.createdAt);
      });

      it('deletes an absent key as a no-op', async () => {
        const accountId = randomAccountId();
        const results = await committed(commit(accountId, [{ op: 'delete', key: 'nothing' }]));

        expect(results).toStrictEqual([{ key: 'nothing', item: null, created: false }]);
        expect(await store.countKeys(accountId)).toBe(0);
      });

      it('sets a TTL, keeps one with keepTtl, and drops it on a plain set', async () => {
        const accountId = randomAccountId();
        const kept = await put(accountId, 'kept', '1', { ttlSeconds: 600 });
        await put(accountId, 'dropped', '1', { ttlSeconds: 600 });
        const results = await committed(
          commit(accountId, [
            { op: 'set', key: 'new', value: '1', ttlMs: 60_000 },
            { op: 'set', key: 'kept', value: '2', keepTtl: true },
            { op: 'set', key: 'dropped', value: '2' },
          ]),
        );

        expectNearNow(results[0].item!.expiresAt!, 60_000);
        expect(results[1].item!.expiresAt).toBe(kept.expiresAt);
        expect(results[2].item!.expiresAt).toBeNull();
        expect((await getItem(accountId, 'kept'))?.expiresAt).toBe(kept.expiresAt);
      });

      it('keeps createdAt on replace and gives every write a new version never reused', async () => {
        const accountId = randomAccountId();
        const first = await put(accountId, 'k', '1');
        const [result] = await committed(commit(accountId, [{ op: 'set', key: 'k', value: '2' }]));

        expect(result.created).toBe(false);
        expect(result.item!.createdAt).toBe(first.createdAt);
        expect(result.item!.version).not.toBe(first.version);
        await committed(commit(accountId, [{ op: 'delete', key: 'k' }]));
        const again = await put(accountId, 'k', '3');
        expect([first.version, result.item!.version]).not.toContain(again.version);
      });

      it('refuses a commit whose net new keys do not fit the quota, and applies nothing', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'a', '1', { maxKeys: 3 });
        await put(accountId, 'b', '1', { maxKeys: 3 });
        const outcome = await commit(accountId, [{ op: 'set', key: 'c', value: '1' }, { op: 'set', key: 'd', value: '1' }], NO_CHECKS, 3);

        expect(outcome).toStrictEqual({ ok: false, reason: 'quota_exceeded', maxKeys: 3 });
        expect(await listKeys(accountId)).toStrictEqual(['a', 'b']);
        // Deleting one key makes room for one more.
        await committed(commit(accountId, [{ op: 'delete', key: 'a' }, { op: 'set', key: 'c', value: '1' }, { op: 'set', key: 'd', value: '1' }], NO_CHECKS, 3));
        expect(await listKeys(accountId)).toStrictEqual(['b', 'c', 'd']);
      });

      it('leaves other accounts alone', async () => {
        const accountId = randomAccountId();
        const other = randomAccountId();
        await put(other, 'k', '"theirs"');
        await committed(commit(accountId, [{ op: 'set', key: 'k', value: '"mine"' }, { op: 'increment', key: 'n', by: 1 }]));

        expect((await getItem(other, 'k'))?.value).toBe('"theirs"');
        expect(await getItem(other, 'n')).toBeNull();
      });
    });

    describe('increment', () => {
      const increment = (accountId: string, key: string, by: number, ttlMs?: number) =>
        store.commit(accountId, { checks: [], ops: [{ op: 'increment', key, by, ttlMs }], maxKeys: NO_QUOTA });

      it('counts an absent key as 0 and creates it', async () => {
        const accountId = randomAccountId();
        const outcome = await increment(accountId, 'n', 7);

        expect(outcome).toMatchObject({ ok: true, results: [{ key: 'n', created: true, value: '7' }] });
        expect((await getItem(accountId, 'n'))?.value).toBe('7');
      });

      it('adds negative amounts and reaches exactly ±(2^53 − 1)', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'n', '-9007199254740990');
        expect(await increment(accountId, 'n', -1)).toMatchObject({ ok: true, results: [{ value: '-9007199254740991', created: false }] });
        await put(accountId, 'p', '9007199254740990');
        expect(await increment(accountId, 'p', 1)).toMatchObject({ ok: true, results: [{ value: '9007199254740991' }] });
      });

      it('refuses with type_mismatch and changes nothing when the result would pass ±(2^53 − 1)', async () => {
        const accountId = randomAccountId();
        const item = await put(accountId, 'n', '9007199254740991');

        expect(await increment(accountId, 'n', 1)).toStrictEqual({ ok: false, reason: 'type_mismatch', index: 0, key: 'n' });
        expect(await getItem(accountId, 'n')).toStrictEqual({ ...item, value: '9007199254740991' });
      });

      it.each([['"5"'], ['1.5'], ['1e2'], ['12345678901234567890'], ['null'], ['{"n":1}'], ['[1]'], ['true']])(
        'refuses with type_mismatch when the stored value is %s',
        async (value) => {
          const accountId = randomAccountId();
          const item = await put(accountId, 'n', value);

          expect(await increment(accountId, 'n', 1)).toStrictEqual({ ok: false, reason: 'type_mismatch', index: 0, key: 'n' });
          expect(await getItem(accountId, 'n')).toStrictEqual({ ...item, value });
        },
      );

      it('keeps the TTL without ttlMs and sets it with ttlMs', async () => {
        const accountId = randomAccountId();
        const item = await put(accountId, 'n', '1', { ttlSeconds: 600 });
        const kept = await increment(accountId, 'n', 1);
        expect(kept).toMatchObject({ ok: true, results: [{ item: { expiresAt: item.expiresAt, createdAt: item.createdAt } }] });
        const set = await increment(accountId, 'n', 1, 30_000);
        if (!set.ok) throw new Error('increment failed');
        expectNearNow(set.results[0].item!.expiresAt!, 30_000);
      });

      it('adds exactly 200 when 200 increments of 1 run concurrently', async () => {
        const accountId = randomAccountId();
        const outcomes = await Promise.all(Array.from({ length: 200 }, () => increment(accountId, 'n', 1)));

        const values = outcomes.map((o) => (o.ok ? Number(o.results[0].value) : NaN)).sort((a, b) => a - b);
        expect(values).toStrictEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        expect((await getItem(accountId, 'n'))?.value).toBe('200');
      });
    });

    describe('setItems', () => {
      it('applies the writes in order, each with its own outcome, the same key more than once', async () => {
        const accountId = randomAccountId();
        const kept = await put(accountId, 'kept', '"old"');
        const expiresAt = Date.now() + 60_000;
        const outcomes = await store.setItems(accountId, [
          { key: 'kept', request: request('"new"', { condition: IF_ABSENT }) },
          { key: 'a', request: request('1') },
          { key: 'a', request: request('{"n":12345678901234567890}', { condition: ifVersion('0') }) },
          { key: 'b', request: request('2', { expiresAt }) },
          { key: 'a', request: request('3') },
        ]);

        expect(outcomes.map((outcome) => (outcome.ok ? (outcome.created ? 'created' : 'replaced') : outcome.reason))).toStrictEqual([
          'exists',
          'created',
          'version_mismatch',
          'created',
          'replaced',
        ]);
        expect(outcomes[0]).toStrictEqual({ ok: false, reason: 'exists', currentVersion: kept.version });
        const versions = outcomes.flatMap((outcome) => (outcome.ok ? [BigInt(outcome.item.version)] : []));
        expect(versions).toStrictEqual([...versions].sort((x, y) => (x < y ? -1 : 1)));
        expect((await getItem(accountId, 'kept'))?.value).toBe('"old"');
        expect(await getItem(accountId, 'a')).toMatchObject({ value: '3', version: outcomes[4].ok && outcomes[4].item.version });
        expect(await getItem(accountId, 'b')).toMatchObject({ value: '2', expiresAt });
      });

      it('refuses only the writes past the quota', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'a', '1');
        const outcomes = await store.setItems(
          accountId,
          ['a', 'b', 'c', 'b'].map((key) => ({ key, request: request('2', { maxKeys: 2 }) })),
        );

        expect(outcomes.map((outcome) => (outcome.ok ? outcome.created : outcome.reason))).toStrictEqual([false, true, 'quota_exceeded', false]);
        expect(await listKeys(accountId)).toStrictEqual(['a', 'b']);
        expect(await store.countKeys(accountId)).toBe(2);
      });

      it('answers no outcomes for no writes', async () => {
        expect(await store.setItems(randomAccountId(), [])).toStrictEqual([]);
      });
    });

    describe('getItems', () => {
      it('answers the items in request order, null where absent or expired', async () => {
        const accountId = randomAccountId();
        const a = await put(accountId, 'a', '{"n":12345678901234567890}');
        const b = await put(accountId, 'b/c', '"x"');
        const short = await put(accountId, 'short', '1', { ttlSeconds: 1 });
        await waitUntilExpired(accountId, 'short', short.expiresAt);
        const items = await store.getItems(accountId, ['b/c', 'missing', 'a', 'short']);

        expect(items.map((item) => item && { ...item, value: item.value.toString('utf8') })).toStrictEqual([
          { ...b, value: '"x"' },
          null,
          { ...a, value: '{"n":12345678901234567890}' },
          null,
        ]);
      });

      it('reads 100 keys, never another account\'s', async () => {
        const accountId = randomAccountId();
        const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
        await Promise.all(keys.map((key, i) => put(accountId, key, String(i))));
        await put(randomAccountId(), 'k0', '"other"');
        const items = await store.getItems(accountId, keys);

        expect(items.map((item) => item?.value.toString('utf8'))).toStrictEqual(keys.map((_, i) => String(i)));
      });
    });

    describe('listItems with values', () => {
      it('carries each value, and the same keys as a listing without values', async () => {
        const accountId = randomAccountId();
        await put(accountId, 'a', '{"big":12345678901234567890}');
        await put(accountId, 'b', 'null');
        const page = await store.listItems(accountId, { prefix: '', limit: 10, values: { maxBytes: ONE_MIB } });

        expect(page.items.map((item) => [item.key, item.value?.toString('utf8')])).toStrictEqual([
          ['a', '{"big":12345678901234567890}'],
          ['b', 'null'],
        ]);
        expect(page.nextAfter).toBeNull();
        const plain = await store.listItems(accountId, { prefix: '', limit: 10 });
        expect(page.items.map(({ value: _value, ...rest }) => rest)).toStrictEqual(plain.items);
      });

      it('stops a page early at maxBytes of values, with a cursor that resumes after it', async () => {
        const accountId = randomAccountId();
        const value = `"${'x'.repeat(998)}"`; // 1000 bytes
        for (let i = 0; i < 5; i++) await put(accountId, `k${i}`, value);
        const first = await store.listItems(accountId, { prefix: '', limit: 100, values: { maxBytes: 2500 } });

        expect(first.items.map((item) => item.key)).toStrictEqual(['k0', 'k1']);
        expect(first.nextAfter).toBe('k1');
        const rest = await store.listItems(accountId, { prefix: '', limit: 100, after: 'k1', values: { maxBytes: 2500 } });
        expect(rest.items.map((item) => item.key)).toStrictEqual(['k2', 'k3']);
        // One item always fits, however large.
        const one = await store.listItems(accountId, { prefix: '', limit: 100, values: { maxBytes: 10 } });
        expect(one.items.map((item) => item.key)).toStrictEqual(['k0']);
        expect(one.nextAfter).toBe('k0');
      });
    });

    describe('accounts and API keys', () => {
      it('returns null from getAccount when the account does not exist', async () => {
        expect(await store.getAccount(randomAccountId())).toBeNull();
      });

      it('creates an account with its first API key', async () => {
        const account = newAccount({ limitOverrides: { maxKeys: 50, writesPerSecond: 7 } });
        const key = newApiKey(account.id);

        expect(await store.createAccount(account, key)).toBe(true);
        expect(await store.getAccount(account.id)).toStrictEqual(account);
        expect(await store.findApiKey(key.hash)).toStrictEqual({ apiKey: info(key), account });
      });

      it('keeps a null name and no overrides as they were given', async () => {
        const account = newAccount({ name: null, limitOverrides: {} });
        const key = newApiKey(account.id, { name: null, scopes: ['read'] });

        expect(await store.createAccount(account, key)).toBe(true);
        expect(await store.getAccount(account.id)).toStrictEqual(account);
        expect(await store.findApiKey(key.hash)).toStrictEqual({ apiKey: info(key), account });
      });

      it('refuses an account id that is taken and changes nothing', async () => {
        const account = newAccount();
        const firstKey = newApiKey(account.id);
        await store.createAccount(account, firstKey);
        const impostor = newAccount({ id: account.id, name: 'impostor', limitOverrides: { maxKeys: 1 } });
        const secondKey = newApiKey(account.id);

        expect(await store.createAccount(impostor, secondKey)).toBe(false);
        expect(await store.getAccount(account.id)).toStrictEqual(account);
        expect(await store.findApiKey(secondKey.hash)).toBeNull();
        expect(await store.listApiKeys(account.id)).toStrictEqual([info(firstKey)]);
      });

      it('finds an API key by its hash with its account, without the hash', async () => {
        const account = newAccount();
        const key = newApiKey(account.id);
        await store.createAccount(account, key);

        const found = await store.findApiKey(key.hash);

        expect(found).toStrictEqual({ apiKey: info(key), account });
        expect(found?.apiKey).not.toHaveProperty('hash');
      });

      it('returns null from findApiKey for an unknown hash', async () => {
        expect(await store.findApiKey(sha256Hex(randomString(32)))).toBeNull();
      });

      it('creates an API key for an existing account', async () => {
        const account = newAccount();
        await store.createAccount(account, newApiKey(account.id));
        const key = newApiKey(account.id, { scopes: ['read'], name: 'read-only' });

        expect(await store.createApiKey(key)).toBe(true);
        expect(await store.findApiKey(key.hash)).toStrictEqual({ apiKey: info(key), account });
      });

      it('refuses an API key for an account that does not exist', async () => {
        const key = newApiKey(randomAccountId());

        expect(await store.createApiKey(key)).toBe(false);
        expect(await store.findApiKey(key.hash)).toBeNull();
        expect(await store.listApiKeys(key.accountId)).toStrictEqual([]);
        expect(await store.revokeApiKey(key.id)).toBe(false);
      });

      it("lists an account's API keys without their hashes", async () => {
        const account = newAccount();
        const first = newApiKey(account.id, { createdAt: Date.now() - 1000 });
        const second = newApiKey(account.id, { scopes: ['read'], name: null });
        await store.createAccount(account, first);
        await store.createApiKey(second);
        const other = newAccount();
        await store.createAccount(other, newApiKey(other.id));

        const listed = await store.listApiKeys(account.id);

        expect([...listed].sort(byId)).toStrictEqual([info(first), info(second)].sort(byId));
        for (const key of listed) expect(key).not.toHaveProperty('hash');
      });

      it('returns no API keys for an account that does not exist', async () => {
        expect(await store.listApiKeys(randomAccountId())).toStrictEqual([]);
      });

      it('revokes an API key for good', async () => {
        const account = newAccount();
        const kept = newApiKey(account.id);
        const revoked = newApiKey(account.id);
        await store.createAccount(account, kept);
        await store.createApiKey(revoked);

        expect(await store.revokeApiKey(revoked.id)).toBe(true);
        expect(await store.findApiKey(revoked.hash)).toBeNull();
        expect(await store.listApiKeys(account.id)).toStrictEqual([info(kept)]);
        expect(await store.findApiKey(kept.hash)).toStrictEqual({ apiKey: info(kept), account });
      });

      it('returns false when revoking a key twice', async () => {
        const account = newAccount();
        const key = newApiKey(account.id);
        await store.createAccount(account, key);

        expect(await store.revokeApiKey(key.id)).toBe(true);
        expect(await store.revokeApiKey(key.id)).toBe(false);
      });

      it('returns false when revoking a key id that does not exist', async () => {
        expect(await store.revokeApiKey(randomId('key'))).toBe(false);
      });

      it('sets limit overrides with updateAccountLimits', async () => {
        const account = newAccount();
        await store.createAccount(account, newApiKey(account.id));

        const updated = await store.updateAccountLimits(account.id, { maxKeys: 10, readsPerSecond: 5 });

        expect(updated).toStrictEqual({ ...account, limitOverrides: { maxKeys: 10, readsPerSecond: 5 } });
        expect(await store.getAccount(account.id)).toStrictEqual(updated);
      });

      it('clears an override when the patch sets it to null and leaves omitted ones alone', async () => {
        const account = newAccount({ limitOverrides: { maxKeys: 10, readsPerSecond: 5, writesPerSecond: 3 } });
        await store.createAccount(account, newApiKey(account.id));

        const updated = await store.updateAccountLimits(account.id, { maxKeys: null, writesPerSecond: 4 });

        expect(updated).toStrictEqual({ ...account, limitOverrides: { readsPerSecond: 5, writesPerSecond: 4 } });
        expect(await store.getAccount(account.id)).toStrictEqual(updated);
      });

      it('returns null from updateAccountLimits when the account does not exist, creating nothing', async () => {
        const id = randomAccountId();

        expect(await store.updateAccountLimits(id, { maxKeys: 10 })).toBeNull();
        expect(await store.getAccount(id)).toBeNull();
      });

      it('returns the current overrides from findApiKey after updateAccountLimits', async () => {
        const account = newAccount();
        const key = newApiKey(account.id);
        await store.createAccount(account, key);
        await store.updateAccountLimits(account.id, { writesPerSecond: 2 });

        expect(await store.findApiKey(key.hash)).toStrictEqual({
          apiKey: info(key),
          account: { ...account, limitOverrides: { writesPerSecond: 2 } },
        });
      });

      it('tells onInvalidate listeners about a revoked API key', async () => {
        const account = newAccount();
        const key = newApiKey(account.id);
        await store.createAccount(account, key);
        const events: Invalidation[] = [];
        const unsubscribe = store.onInvalidate((event) => events.push(event));
        try {
          await store.revokeApiKey(key.id);

          await waitFor(() => expect(events).toContainEqual({ kind: 'apiKey', hash: key.hash }), { what: 'the apiKey invalidation', timeoutMs: 1000 });
        } finally {
          unsubscribe();
        }
      });

      it('tells onInvalidate listeners about changed account limits', async () => {
        const account = newAccount();
        await store.createAccount(account, newApiKey(account.id));
        const events: Invalidation[] = [];
        const unsubscribe = store.onInvalidate((event) => events.push(event));
        try {
          await store.updateAccountLimits(account.id, { maxKeys: 3 });

          await waitFor(() => expect(events).toContainEqual({ kind: 'account', id: account.id }), { what: 'the account invalidation', timeoutMs: 1000 });
        } finally {
          unsubscribe();
        }
      });

      it('stops calling a listener once it unsubscribes', async () => {
        const account = newAccount();
        await store.createAccount(account, newApiKey(account.id));
        const events: Invalidation[] = [];
        const unsubscribe = store.onInvalidate((event) => events.push(event));
        unsubscribe();

        await store.updateAccountLimits(account.id, { maxKeys: 3 });
        await sleep(200);

        expect(events).toStrictEqual([]);
      });
    });

    describe('API key prefixes and expiry', () => {
      it('keeps a key\'s prefix and expiresAt, and shows them in findApiKey and listApiKeys', async () => {
        const account = newAccount();
        const first = newApiKey(account.id, { prefix: 'flags/', expiresAt: Date.now() + 60_000 });
        const second = newApiKey(account.id, { scopes: ['read'], prefix: 'é/ü ', createdAt: Date.now() + 1 });
        const third = newApiKey(account.id, { expiresAt: Date.now() + 1000, createdAt: Date.now() + 2 });
        expect(await store.createAccount(account, first)).toBe(true);
        expect(await store.createApiKey(second)).toBe(true);
        expect(await store.createApiKey(third)).toBe(true);

        expect(await store.findApiKey(first.hash)).toStrictEqual({ apiKey: info(first), account });
        expect(await store.findApiKey(second.hash)).toStrictEqual({ apiKey: info(second), account });
        expect(await store.findApiKey(third.hash)).toStrictEqual({ apiKey: info(third), account });
        expect(await store.listApiKeys(account.id)).toStrictEqual([info(first), info(second), info(third)]);
      });

      it('returns a key without prefix or expiresAt without those fields at all', async () => {
        const account = newAccount();
        const key = newApiKey(account.id);
        await store.createAccount(account, key);

        const found = await store.findApiKey(key.hash);
        expect(found?.apiKey).not.toHaveProperty('prefix');
        expect(found?.apiKey).not.toHaveProperty('expiresAt');
      });

      it('still finds a key past its expiresAt: refusing it is the caller\'s rule', async () => {
        const account = newAccount();
        const key = newApiKey(account.id, { expiresAt: Date.now() - 1000 });
        await store.createAccount(account, key);

        expect(await store.findApiKey(key.hash)).toStrictEqual({ apiKey: info(key), account });
      });
    });

    describe('listAccounts', () => {
      /** Every account id the listing shows, page by page with `limit`; fails on a repeat or a page out of order. */
      async function listAllAccountIds(limit: number): Promise<string[]> {
        const ids: string[] = [];
        let after: string | undefined;
        for (let page = 0; page < 100_000; page++) {
          const result = await store.listAccounts({ after, limit });
          expect(result.accounts.length).toBeLessThanOrEqual(limit);
          ids.push(...result.accounts.map((account) => account.id));
          if (result.nextAfter === null) return ids;
          after = result.nextAfter;
        }
        throw new Error('listAccounts never returned nextAfter null');
      }

      it('lists every account once, in byte order of the ids, page by page', async () => {
        const accounts = Array.from({ length: 5 }, () => newAccount({ limitOverrides: { maxKeys: 3 } }));
        for (const account of accounts) await store.createAccount(account, newApiKey(account.id));

        const ids = await listAllAccountIds(2);

        expect(new Set(ids).size).toBe(ids.length);
        expect([...ids].sort(utf8Compare)).toStrictEqual(ids);
        for (const account of accounts) expect(ids).toContain(account.id);
      });

      it('returns each account as getAccount does', async () => {
        const account = newAccount({ name: null, limitOverrides: { readsPerSecond: 9 } });
        await store.createAccount(account, newApiKey(account.id));
        // The page that starts right before it: its id minus its last character sorts just before it.
        const page = await store.listAccounts({ after: account.id.slice(0, -1), limit: 1000 });

        expect(page.accounts.find((listed) => listed.id === account.id)).toStrictEqual(account);
      });

      it('starts after the given id, exclusive', async () => {
        const account = newAccount();
        await store.createAccount(account, newApiKey(account.id));

        const page = await store.listAccounts({ after: account.id, limit: 1000 });

        expect(page.accounts.map((listed) => listed.id)).not.toContain(account.id);
        for (const listed of page.accounts) expect(utf8Compare(listed.id, account.id)).toBeGreaterThan(0);
      });

      it('returns nextAfter null on the last page', async () => {
        const page = await store.listAccounts({ after: '\u{10FFFF}', limit: 10 });

        expect(page).toStrictEqual({ accounts: [], nextAfter: null });
      });

      it('lists accounts made before the listing existed (Redis: added to its index by the first listing)', async () => {
        const account = newAccount();
        await store.createAccount(account, newApiKey(account.id));
        if (testStore?.kind === 'redis') {
          // As a store of an older KV left it: no index entry, no marker that the index was built.
          const redis = store as RedisStore;
          await redis.client.zrem(redis.keys.accounts(), account.id);
          await redis.client.del(redis.keys.accountsIndexed());
          const fresh = await createTestStore('redis', { prefix: redis.keys.prefix });
          try {
            const page = await fresh.store.listAccounts({ after: account.id.slice(0, -1), limit: 1000 });
            expect(page.accounts.find((listed) => listed.id === account.id)).toStrictEqual(account);
          } finally {
            await fresh.store.close();
          }
        }
        const page = await store.listAccounts({ after: account.id.slice(0, -1), limit: 1000 });
        expect(page.accounts.find((listed) => listed.id === account.id)).toStrictEqual(account);
      });

      it('does not list a deleted account', async () => {
        const account = newAccount();
        await store.createAccount(account, newApiKey(account.id));
        await store.deleteAccount(account.id);

        const page = await store.listAccounts({ after: account.id.slice(0, -1), limit: 1000 });
        expect(page.accounts.map((listed) => listed.id)).not.toContain(account.id);
      });
    });

    describe('deleteAccount', () => {
      it('returns false for an account that does not exist, and changes nothing', async () => {
        const id = randomAccountId();
        await put(id, 'k', '1');

        expect(await store.deleteAccount(id)).toBe(false);
        expect((await getItem(id, 'k'))?.value).toBe('1');
      });

      it('removes the account, its API keys, items, counts and change log', async () => {
        const account = newAccount();
        const first = newApiKey(account.id);
        const second = newApiKey(account.id, { prefix: 'p/' });
        await store.createAccount(account, first);
        await store.createApiKey(second);
        await put(account.id, 'a', '1');
        await put(account.id, 'b', '2', { ttlSeconds: 600 });
        await put(account.id, 'c', '3');
        await store.deleteItem(account.id, 'c', ALWAYS);
        const emptyLog = await store.latestChange(randomAccountId());

        expect(await store.deleteAccount(account.id)).toBe(true);

        expect(await store.getAccount(account.id)).toBeNull();
        expect(await store.findApiKey(first.hash)).toBeNull();
        expect(await store.findApiKey(second.hash)).toBeNull();
        expect(await store.listApiKeys(account.id)).toStrictEqual([]);
        expect(await store.revokeApiKey(first.id)).toBe(false);
        expect(await getItem(account.id, 'a')).toBeNull();
        expect(await getItem(account.id, 'b')).toBeNull();
        expect(await store.getItems(account.id, ['a', 'b'])).toStrictEqual([null, null]);
        expect(await listKeys(account.id)).toStrictEqual([]);
        expect(await store.countKeys(account.id)).toBe(0);
        expect(await store.latestChange(account.id)).toBe(emptyLog);
        expect(await store.readChanges(account.id, emptyLog, 100, false)).toStrictEqual({ reset: false, changes: [] });
      });

      it('removes the version counter too: the bookkeeping starts over as for a new account', async () => {
        const account = newAccount();
        await store.createAccount(account, newApiKey(account.id));
        for (let i = 0; i < 3; i++) await put(account.id, 'k', String(i));
        const fresh = await put(randomAccountId(), 'k', '0');

        await store.deleteAccount(account.id);

        expect((await put(account.id, 'k', '0')).version).toBe(fresh.version);
      });

      it('removes more items than one batch holds, expiring ones included', async () => {
        const account = newAccount();
        await store.createAccount(account, newApiKey(account.id));
        const writes = Array.from({ length: 1234 }, (_, i) =>
          store.setItem(account.id, `k${i}`, request(String(i), i % 3 === 0 ? { ttlSeconds: 600 } : {})),
        );
        for (const outcome of await Promise.all(writes)) expect(outcome.ok).toBe(true);
        expect(await store.countKeys(account.id)).toBe(1234);

        expect(await store.deleteAccount(account.id)).toBe(true);

        expect(await store.countKeys(account.id)).toBe(0);
        expect(await listKeys(account.id)).toStrictEqual([]);
        expect(await getItem(account.id, 'k1233')).toBeNull();
        if (testStore?.kind === 'redis') {
          // Not a key of the account is left in Redis: its hash tag appears nowhere.
          expect((await testStore.dump()).includes(Buffer.from(`{${account.id}}`))).toBe(false);
        }
      });

      it('leaves other accounts alone', async () => {
        const [account, other] = [newAccount(), newAccount()];
        const otherKey = newApiKey(other.id);
        await store.createAccount(account, newApiKey(account.id));
        await store.createAccount(other, otherKey);
        await put(account.id, 'shared', '1');
        const kept = await put(other.id, 'shared', '2');

        await store.deleteAccount(account.id);

        expect(await getItem(other.id, 'shared')).toStrictEqual({ ...kept, value: '2' });
        expect(await store.countKeys(other.id)).toBe(1);
        expect(await store.getAccount(other.id)).toStrictEqual(other);
        expect(await store.findApiKey(otherKey.hash)).toStrictEqual({ apiKey: info(otherKey), account: other });
      });

      it('returns false the second time', async () => {
        const account = newAccount();
        await store.createAccount(account, newApiKey(account.id));

        expect(await store.deleteAccount(account.id)).toBe(true);
        expect(await store.deleteAccount(account.id)).toBe(false);
      });

      it('refuses new keys and limit changes for a deleted account', async () => {
        const account = newAccount();
        await store.createAccount(account, newApiKey(account.id));
        await store.deleteAccount(account.id);
        const late = newApiKey(account.id);

        expect(await store.createApiKey(late)).toBe(false);
        expect(await store.findApiKey(late.hash)).toBeNull();
        expect(await store.updateAccountLimits(account.id, { maxKeys: 5 })).toBeNull();
        expect(await store.getAccount(account.id)).toBeNull();
      });

      it('tells onInvalidate listeners about the deleted account', async () => {
        const account = newAccount();
        await store.createAccount(account, newApiKey(account.id));
        const events: Invalidation[] = [];
        const unsubscribe = store.onInvalidate((event) => events.push(event));
        try {
          await store.deleteAccount(account.id);

          await waitFor(() => expect(events).toContainEqual({ kind: 'account', id: account.id }), { what: 'the account invalidation', timeoutMs: 1000 });
        } finally {
          unsubscribe();
        }
      });
    });

    describe('account isolation', () => {
      it("does not return another account's item from getItem", async () => {
        const [a, b] = [randomAccountId(), randomAccountId()];
        const itemA = await put(a, 'shared', '"a"');
        const itemB = await put(b, 'shared', '"b"');

        expect(await getItem(a, 'shared')).toStrictEqual({ ...itemA, value: '"a"' });
        expect(await getItem(b, 'shared')).toStrictEqual({ ...itemB, value: '"b"' });
        expect(await getItem(randomAccountId(), 'shared')).toBeNull();
      });

      it("lists and counts only the account's own keys", async () => {
        const [a, b] = [randomAccountId(), randomAccountId()];
        for (const key of ['x', 'y']) await put(a, key, '1');
        for (const key of ['y', 'z', 'w']) await put(b, key, '1', { ttlSeconds: 600 });

        expect(await listKeys(a)).toStrictEqual(['x', 'y']);
        expect(await listKeys(b)).toStrictEqual(['w', 'y', 'z']);
        expect(await store.countKeys(a)).toBe(2);
        expect(await store.countKeys(b)).toBe(3);
      });

      it("does not delete another account's key", async () => {
        const [a, b] = [randomAccountId(), randomAccountId()];
        await put(a, 'k', '1');
        const itemB = await put(b, 'k', '2');

        expect(await store.deleteItem(a, 'k', ALWAYS)).toStrictEqual({ ok: true });
        expect(await store.deleteItem(a, 'k', ALWAYS)).toStrictEqual({ ok: false, reason: 'not_found' });
        expect(await getItem(b, 'k')).toStrictEqual({ ...itemB, value: '2' });
        expect(await store.countKeys(b)).toBe(1);
      });

      it('applies maxKeys to each account on its own', async () => {
        const [a, b] = [randomAccountId(), randomAccountId()];
        await put(a, 'k1', '1', { maxKeys: 1 });

        expect(await store.setItem(b, 'k1', request('1', { maxKeys: 1 }))).toMatchObject({ ok: true, created: true });
        expect(await store.setItem(a, 'k2', request('1', { maxKeys: 1 }))).toMatchObject({ ok: false, reason: 'quota_exceeded' });
      });

      it('keeps accounts apart when one id is a prefix of the other', async () => {
        const a = randomAccountId();
        const b = `${a}0`;
        await put(a, 'k', '"a"');
        await put(b, 'k', '"b"');
        await put(b, 'only-b', '1');

        expect((await getItem(a, 'k'))?.value).toBe('"a"');
        expect(await listKeys(a)).toStrictEqual(['k']);
        expect(await store.countKeys(a)).toBe(1);
        expect(await store.countKeys(b)).toBe(2);
      });
    });
  });
}
