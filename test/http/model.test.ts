// Model-based: random sequences of item operations over HTTP, checked step by step against a small model of the contract.

import fc from 'fast-check';
import request, { type Response } from 'supertest';
import { encodeKeyPath, jsonText, propertyBudget, reportFigures, utf8Compare } from '../helpers/arbitraries';
import { createTestApp, describeStore, type TestApp } from '../helpers/app';

/** Keys whose UTF-8 byte order differs from UTF-16 order (U+FFFD sorts before 😀 in UTF-16, after it in UTF-8), nested paths, and URL-special characters. */
const KEYS = ['a', 'a/b', 'a/b/c', 'ab', 'a b', 'b', 'Z', 'é', '\uFFFD', '😀', 'a:1', '%'];
const PREFIXES = ['', 'a', 'a/', 'a/b', 'é', '\uFFFD', '😀', 'zz'];
/** Long enough that nothing expires during a sequence; the contract's maximum included. */
const TTLS = [60, 3600, 86_400, 31_536_000];
/** How far an expiresAt may be from now + ttlSeconds (request time and clocks). */
const EXPIRY_TOLERANCE_MS = 5000;

interface ModelItem {
  value: string;
  version: string;
  expiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The contract as a map of live keys, plus every version the account has ever been given. */
interface Model {
  items: Map<string, ModelItem>;
  versions: Set<string>;
}

type Client = ReturnType<typeof bindClient>;

function bindClient(app: TestApp['app'], apiKey: string) {
  const auth = `Bearer ${apiKey}`;
  return {
    put: (key: string, body: string, headers: Record<string, string>, query: string) =>
      request(app)
        .put(`/kv/items/${encodeKeyPath(key)}${query}`)
        .set({ Authorization: auth, 'Content-Type': 'application/json', ...headers })
        .send(body),
    get: (key: string, headers: Record<string, string> = {}) =>
      request(app).get(`/kv/items/${encodeKeyPath(key)}`).set({ Authorization: auth, ...headers }),
    del: (key: string, headers: Record<string, string>, query: string) =>
      request(app).delete(`/kv/items/${encodeKeyPath(key)}${query}`).set({ Authorization: auth, ...headers }),
    list: (query: string) => request(app).get(`/kv/items${query}`).set('Authorization', auth),
    usage: () => request(app).get('/kv/usage').set('Authorization', auth),
  };
}

/** Which version a conditional request names: the key's current one, or one the account had before (or never had). */
type VersionChoice = { which: 'current' | 'other'; pick: number };

/** A version for the condition, and whether it is the key's current one. */
function chooseVersion(m: Model, key: string, choice: VersionChoice): { version: string; current: boolean } {
  const current = m.items.get(key)?.version;
  if (choice.which === 'current' && current !== undefined) return { version: current, current: true };
  const others = [...m.versions].filter((v) => v !== current);
  return others.length === 0 ? { version: 'never-issued', current: false } : { version: others[choice.pick % others.length], current: false };
}

function expectPreconditionFailed(res: Response, currentVersion: string | null) {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 412,
    body: { error: { code: 'precondition_failed', message: expect.any(String), currentVersion } },
  });
}

/** The raw text of `data.value` in a GET answer (a key is JSON-escaped, so the first `"value":` is the field). */
function valueText(text: string, length: number): string {
  const start = text.indexOf('"value":') + '"value":'.length;
  return text.slice(start, start + length);
}

type PutCondition =
  | { kind: 'none' }
  | { kind: 'absent'; via: 'body' | 'header' }
  | ({ kind: 'version'; via: 'body' | 'header' | 'query' } & VersionChoice);

class PutCommand implements fc.AsyncCommand<Model, Client> {
  constructor(
    readonly key: string,
    readonly value: string,
    readonly ttl: number | 'keep' | undefined,
    readonly condition: PutCondition,
  ) {}
  check = countStep;
  async run(m: Model, c: Client) {
    const fields: string[] = [`"value":${this.value}`];
    const headers: Record<string, string> = {};
    let query = '';
    if (typeof this.ttl === 'number') fields.push(`"ttlSeconds":${this.ttl}`);
    if (this.ttl === 'keep') fields.push('"keepTtl":true');
    const old = m.items.get(this.key);
    let holds = true;
    let version: { version: string; current: boolean } | undefined;
    if (this.condition.kind === 'absent') {
      if (this.condition.via === 'body') fields.push('"ifNotExists":true');
      else headers['If-None-Match'] = '*';
      holds = old === undefined;
    } else if (this.condition.kind === 'version') {
      version = chooseVersion(m, this.key, this.condition);
      if (this.condition.via === 'body') fields.push(`"ifVersion":${JSON.stringify(version.version)}`);
      else if (this.condition.via === 'header') headers['If-Match'] = `"${version.version}"`;
      else query = `?ifVersion=${encodeURIComponent(version.version)}`;
      holds = version.current;
    }
    const before = Date.now();
    const res = await c.put(this.key, `{${fields.join(',')}}`, headers, query);
    const after = Date.now();
    if (!holds) {
      expectPreconditionFailed(res, old?.version ?? null);
      return;
    }
    expect({ status: res.status, key: res.body?.data?.key }).toEqual({ status: old ? 200 : 201, key: this.key });
    const data = res.body.data as ModelItem & { key: string };
    expect(res.headers.etag).toBe(`"${data.version}"`);
    // A version is never reused within the account, even after a delete and re-create.
    expect(m.versions.has(data.version)).toBe(false);
    if (typeof this.ttl === 'number') {
      const expiresAt = Date.parse(data.expiresAt ?? '');
      expect(expiresAt).toBeGreaterThanOrEqual(before + this.ttl * 1000 - EXPIRY_TOLERANCE_MS);
      expect(expiresAt).toBeLessThanOrEqual(after + this.ttl * 1000 + EXPIRY_TOLERANCE_MS);
    } else {
      // keepTtl keeps the TTL of the value it replaces; otherwise a write without ttlSeconds clears it.
      expect(data.expiresAt).toBe(this.ttl === 'keep' && old ? old.expiresAt : null);
    }
    if (old) {
      expect(data.createdAt).toBe(old.createdAt);
      expect(Date.parse(data.updatedAt)).toBeGreaterThanOrEqual(Date.parse(old.updatedAt));
    } else {
      expect(data.createdAt).toBe(data.updatedAt);
    }
    m.versions.add(data.version);
    m.items.set(this.key, { value: this.value, version: data.version, expiresAt: data.expiresAt, createdAt: data.createdAt, updatedAt: data.updatedAt });
  }
  toString() {
    const c = this.condition;
    const condition = c.kind === 'none' ? '' : c.kind === 'absent' ? `, ifNotExists via ${c.via}` : `, ifVersion=${c.which}#${c.pick} via ${c.via}`;
    const ttl = this.ttl === undefined ? '' : this.ttl === 'keep' ? ', keepTtl' : `, ttlSeconds=${this.ttl}`;
    return `put(${JSON.stringify(this.key)}, ${this.value}${ttl}${condition})`;
  }
}

class GetCommand implements fc.AsyncCommand<Model, Client> {
  constructor(
    readonly key: string,
    readonly revalidate: boolean,
  ) {}
  check = countStep;
  async run(m: Model, c: Client) {
    const item = m.items.get(this.key);
    if (item && this.revalidate) {
      const res = await c.get(this.key, { 'If-None-Match': `"${item.version}"` });
      expect({ status: res.status, text: res.text ?? '' }).toEqual({ status: 304, text: '' });
      return;
    }
    const res = await c.get(this.key);
    if (!item) {
      expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 404, code: 'not_found' });
      return;
    }
    expect(res.status).toBe(200);
    expect(valueText(res.text, item.value.length)).toBe(item.value);
    const { value: _value, ...meta } = res.body.data as ModelItem & { key: string };
    const { value: _expected, ...expected } = item;
    expect(meta).toEqual({ key: this.key, ...expected });
    expect(res.headers.etag).toBe(`"${item.version}"`);
  }
  toString() {
    return `get(${JSON.stringify(this.key)}${this.revalidate ? ', If-None-Match current' : ''})`;
  }
}

type DeleteCondition = { kind: 'none' } | ({ kind: 'version'; via: 'header' | 'query' } & VersionChoice);

class DeleteCommand implements fc.AsyncCommand<Model, Client> {
  constructor(
    readonly key: string,
    readonly condition: DeleteCondition,
  ) {}
  check = countStep;
  async run(m: Model, c: Client) {
    const old = m.items.get(this.key);
    const headers: Record<string, string> = {};
    let query = '';
    if (this.condition.kind === 'version') {
      const { version, current } = chooseVersion(m, this.key, this.condition);
      if (this.condition.via === 'header') headers['If-Match'] = `"${version}"`;
      else query = `?ifVersion=${encodeURIComponent(version)}`;
      const res = await c.del(this.key, headers, query);
      if (!current) {
        expectPreconditionFailed(res, old?.version ?? null);
        return;
      }
      expect(res.status).toBe(204);
      m.items.delete(this.key);
      return;
    }
    const res = await c.del(this.key, headers, query);
    if (!old) {
      expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 404, code: 'not_found' });
      return;
    }
    expect(res.status).toBe(204);
    m.items.delete(this.key);
  }
  toString() {
    const c = this.condition;
    return `delete(${JSON.stringify(this.key)}${c.kind === 'none' ? '' : `, ifVersion=${c.which}#${c.pick} via ${c.via}`})`;
  }
}

class ListCommand implements fc.AsyncCommand<Model, Client> {
  constructor(
    readonly prefix: string,
    readonly limit: number | undefined,
  ) {}
  check = countStep;
  async run(m: Model, c: Client) {
    const expected = [...m.items.entries()]
      .filter(([key]) => key.startsWith(this.prefix))
      .sort(([a], [b]) => utf8Compare(a, b))
      .map(([key, item]) => ({ key, version: item.version, expiresAt: item.expiresAt }));
    const seen: unknown[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const params = [`prefix=${encodeURIComponent(this.prefix)}`];
      if (this.limit !== undefined) params.push(`limit=${this.limit}`);
      if (cursor !== null) params.push(`cursor=${encodeURIComponent(cursor)}`);
      const res = await c.list(`?${params.join('&')}`);
      expect(res.status).toBe(200);
      expect(res.body.data.items.length).toBeLessThanOrEqual(this.limit ?? 100);
      seen.push(...res.body.data.items);
      cursor = res.body.data.nextCursor;
      pages++;
    } while (cursor !== null && pages <= expected.length + 1);
    expect(seen).toEqual(expected);
  }
  toString() {
    return `list(prefix=${JSON.stringify(this.prefix)}${this.limit === undefined ? '' : `, limit=${this.limit}`})`;
  }
}

class UsageCommand implements fc.AsyncCommand<Model, Client> {
  check = countStep;
  async run(m: Model, c: Client) {
    const res = await c.usage();
    expect({ status: res.status, keys: res.body?.data?.keys }).toEqual({ status: 200, keys: m.items.size });
  }
  toString() {
    return 'usage()';
  }
}

/** Commands run, over all sequences (fast-check asks `check` once before each run). */
let stepsRun = 0;
function countStep(): boolean {
  stepsRun++;
  return true;
}

/** Mostly a few keys, so operations meet on the same key (TTL then keepTtl, delete then re-create); all of them now and then. */
const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('a', '\uFFFD', '😀') }, { weight: 1, arbitrary: fc.constantFrom(...KEYS) });
const versionChoice = fc.record({ which: fc.constantFrom('current' as const, 'other' as const), pick: fc.nat(50) });

const commands = [
  fc
    .tuple(
      key,
      jsonText(2).map((v) => v.compact),
      fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...TTLS) }, { weight: 1, arbitrary: fc.constant('keep' as const) }),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant({ kind: 'none' } as PutCondition) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('absent' as const), via: fc.constantFrom('body' as const, 'header' as const) }) },
        {
          weight: 2,
          arbitrary: fc
            .tuple(fc.constantFrom('body' as const, 'header' as const, 'query' as const), versionChoice)
            .map(([via, choice]): PutCondition => ({ kind: 'version', via, ...choice })),
        },
      ),
    )
    .map(([k, value, ttl, condition]) => new PutCommand(k, value, ttl, condition)),
  fc.tuple(key, fc.boolean()).map(([k, revalidate]) => new GetCommand(k, revalidate)),
  fc
    .tuple(
      key,
      fc.oneof(
        { weight: 1, arbitrary: fc.constant({ kind: 'none' } as DeleteCondition) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.constantFrom('header' as const, 'query' as const), versionChoice)
            .map(([via, choice]): DeleteCondition => ({ kind: 'version', via, ...choice })),
        },
      ),
    )
    .map(([k, condition]) => new DeleteCommand(k, condition)),
  fc.tuple(fc.constantFrom(...PREFIXES), fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined })).map(([prefix, limit]) => new ListCommand(prefix, limit)),
  fc.constant(new UsageCommand()),
];

describeStore('the item routes against a model of the contract', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const budget = propertyBudget(0.5, 40 * 15);
  it(
    'agrees with the model on every step of random put / get / delete / ifNotExists / ifVersion / TTL / list / usage sequences',
    async () => {
      let sequences = 0;
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: 'max' }), async (cmds) => {
          sequences++;
          const { apiKey } = await t.newAccount({ readsPerSecond: 100_000, writesPerSecond: 100_000 });
          const client = bindClient(t.app, apiKey);
          await fc.asyncModelRun(() => ({ model: { items: new Map(), versions: new Set() } as Model, real: client }), cmds);
        }),
        budget.parameters(),
      );
      reportFigures('model', { sequences, planned: budget.runs, 'steps run': stepsRun });
    },
    budget.timeoutMs,
  );
});
