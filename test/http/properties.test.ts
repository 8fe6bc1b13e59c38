// Property-based: any JSON value and any key round-trip exactly; any bytes in a request get an answer, never a 5xx or a partial write.

import type http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import fc from 'fast-check';
import {
  deepJsonText,
  encodeKeyPath,
  itemKey,
  jsonText,
  propertyBudget,
  reportFigures,
  utf8Compare,
  wrapDeeper,
} from '../helpers/arbitraries';
import { createTestApp, describeStore, type TestApp } from '../helpers/app';
import { remoteBaseUrl } from '../helpers/stores';
import { createKvServer } from '../../src/server';

/** Value nesting allowed by the contract. */
const MAX_VALUE_DEPTH = 64;
/** How long a request may take before it counts as a hang. */
const ANSWER_WITHIN_MS = 5000;

/**
 * The statuses of every error code in the contract's table. Requests Node's HTTP layer refuses (bad
 * syntax, too slow, headers too large, an expectation it does not meet) are `invalid_request` with
 * their own status.
 */
const ERROR_STATUSES: Record<string, number[]> = {
  invalid_json: [400],
  invalid_request: [400, 408, 417, 431],
  invalid_key: [400],
  unauthorized: [401],
  forbidden: [403],
  quota_exceeded: [403],
  not_found: [404],
  type_mismatch: [409],
  precondition_failed: [412],
  value_too_large: [413],
  unsupported_media_type: [415],
  rate_limited: [429],
  unavailable: [503],
  internal: [500],
};

/** Limits no property run reaches: the properties are about inputs, not about rates. */
const UNTHROTTLED = { readsPerSecond: 100_000, writesPerSecond: 100_000 };

interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/** Parses what a server sent on a closed connection: interim 1xx answers skipped, chunked bodies joined. */
function parseAnswer(data: Buffer, method: string): RawAnswer {
  let rest = data;
  // nginx (the topology's balancer) reads a request line cut short by a bare LF as HTTP/0.9 and
  // answers with the body alone: KV's envelope, with no status line. KV itself never does that.
  if (remoteBaseUrl !== undefined && data.length > 0 && !data.subarray(0, 5).equals(Buffer.from('HTTP/'))) {
    const text = data.toString('utf8');
    if (!text.startsWith('{')) return { status: 400, headers: new Map([['server', 'nginx'], ['content-type', 'text/html']]), body: data };
    const code = (JSON.parse(text) as { error: { code: string } }).error.code;
    return { status: ERROR_STATUSES[code][0], headers: new Map([['content-type', 'application/json; charset=utf-8']]), body: data };
  }
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`an incomplete answer: ${JSON.stringify(rest.toString('latin1').slice(0, 200))}`);
    const [statusLine, ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
    if (!status) throw new Error(`not an HTTP answer: ${JSON.stringify(statusLine)}`);
    rest = rest.subarray(end + 4);
    if (status >= 100 && status < 200) continue;
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    if (method === 'HEAD' || status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0) };
    if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
      const chunks: Buffer[] = [];
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        const size = parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
        if (!(size > 0)) break;
        chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
        rest = rest.subarray(lineEnd + 2 + size + 2);
      }
      return { status, headers, body: Buffer.concat(chunks) };
    }
    const length = headers.get('content-length');
    return { status, headers, body: length === undefined ? rest : rest.subarray(0, Number(length)) };
  }
}

/** A request assembled byte by byte: whatever the bytes, with Host, Connection: close and the account's key. */
function rawRequest(
  method: string,
  target: Buffer | string,
  options: { auth: string; host: string; headers?: [string, Buffer | string][]; body?: Buffer },
): Buffer {
  const lines: Buffer[] = [Buffer.concat([Buffer.from(`${method} `), Buffer.from(target), Buffer.from(' HTTP/1.1\r\n')])];
  const header = (name: string, value: Buffer | string) => lines.push(Buffer.concat([Buffer.from(`${name}: `), Buffer.from(value), Buffer.from('\r\n')]));
  header('Host', options.host);
  header('Authorization', options.auth);
  for (const [name, value] of options.headers ?? []) header(name, value);
  if (options.body !== undefined) header('Content-Length', String(options.body.length));
  header('Connection', 'close');
  lines.push(Buffer.from('\r\n'));
  if (options.body !== undefined) lines.push(options.body);
  return Buffer.concat(lines);
}

describeStore('properties over HTTP', () => {
  let t: TestApp;
  let server: http.Server | undefined;
  let endpoint: { host: string; port: number };

  beforeAll(async () => {
    t = await createTestApp();
    if (typeof t.app === 'string') {
      const url = new URL(t.app);
      endpoint = { host: url.hostname, port: Number(url.port) };
    } else {
      // The server the process runs (its timeouts, and the envelope on errors from Node's parser).
      const listening = createKvServer(t.app, t.config).server;
      server = listening;
      await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
      endpoint = { host: '127.0.0.1', port: (listening.address() as net.AddressInfo).port };
    }
  });
  afterAll(async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
    }
    await t.close();
  });

  /** Sends bytes as they are; the answer, or a failure when none comes within ANSWER_WITHIN_MS. */
  function send(bytes: Buffer, method: string): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(endpoint.port, endpoint.host);
      const received: Buffer[] = [];
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no answer within ${ANSWER_WITHIN_MS} ms`));
      }, ANSWER_WITHIN_MS);
      const finish = () => {
        clearTimeout(timer);
        const data = Buffer.concat(received);
        if (data.length === 0) reject(new Error('the connection closed without an answer'));
        else {
          try {
            resolve(parseAnswer(data, method));
          } catch (error) {
            reject(error as Error);
          }
        }
      };
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      // A server may answer and close before it has read the whole request: the write then fails,
      // but the answer already received counts.
      socket.on('error', () => socket.destroy());
      socket.on('close', finish);
      socket.write(bytes);
    });
  }

  /** A fresh account and request helpers bound to its key. */
  const client = () => t.newClient(UNTHROTTLED);
  type Client = Awaited<ReturnType<typeof client>>;

  /** The raw text of `data.value` in a GET answer, and the character after it. */
  function valueTextOf(text: string, length: number): { value: string; next: string } {
    // A key is JSON-escaped, so the first unescaped `"value":` is the field itself.
    const start = text.indexOf('"value":') + '"value":'.length;
    return { value: text.slice(start, start + length), next: text.charAt(start + length) };
  }

  /** Every key of the account with its version, through the list route (all pages). */
  async function allKeys(c: Client): Promise<{ key: string; version: string }[]> {
    const keys: { key: string; version: string }[] = [];
    let cursor: string | null = null;
    do {
      const res = await c.list(`?limit=1000${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      expect(res.status).toBe(200);
      keys.push(...res.body.data.items.map((item: { key: string; version: string }) => ({ key: item.key, version: item.version })));
      cursor = res.body.data.nextCursor;
    } while (cursor !== null);
    return keys;
  }

  /**
   * An error answer carries the whole envelope with a code of the contract's table and its status.
   * Through the load balancer, nginx answers requests it cannot parse itself (HTML); those only have to be 4xx.
   */
  function expectEnvelope(answer: RawAnswer, method: string) {
    if (answer.status < 400) return;
    if (remoteBaseUrl !== undefined && /^nginx/.test(answer.headers.get('server') ?? '') && /html/.test(answer.headers.get('content-type') ?? '')) {
      expect(answer.status).toBeLessThan(500);
      return;
    }
    expect({ status: answer.status, contentType: answer.headers.get('content-type') }).toEqual({
      status: answer.status,
      contentType: expect.stringMatching(/^application\/json/),
    });
    if (method === 'HEAD') return;
    const body = JSON.parse(answer.body.toString('utf8')) as { error: { code: string; message: string } };
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toEqual(expect.objectContaining({ code: expect.any(String), message: expect.any(String) }));
    expect({ code: body.error.code, status: answer.status, allowed: ERROR_STATUSES[body.error.code]?.includes(answer.status) }).toEqual({
      code: body.error.code,
      status: answer.status,
      allowed: true,
    });
  }

  /**
   * A seeded account for the raw-bytes properties: one key `target` with a known value. After each
   * request, `check` proves a refused request changed nothing (same value, same version, no other
   * key); an accepted write is undone so the next run starts from the same state.
   */
  async function seeded() {
    const c = await client();
    const VALUE = '{"seed":[1,2.50,"é😀"]}';
    const state = { version: '' };
    const reset = async () => {
      for (const { key } of await allKeys(c)) {
        if (key !== 'target') expect((await c.del(encodeKeyPath(key))).status).toBe(204);
      }
      const put = await c.putText('target', `{"value":${VALUE}}`);
      expect([200, 201]).toContain(put.status);
      state.version = put.body.data.version;
    };
    await reset();
    return {
      c,
      async check(answer: RawAnswer, method: string) {
        expect(answer.status).toBeLessThan(500);
        expectEnvelope(answer, method);
        const wrote = method !== 'GET' && method !== 'HEAD' && answer.status < 400;
        if (wrote) {
          await reset();
          return;
        }
        const got = await c.get('target');
        expect({ status: got.status, version: got.body?.data?.version }).toEqual({ status: 200, version: state.version });
        expect(valueTextOf(got.text, VALUE.length).value).toBe(VALUE);
        expect(await allKeys(c)).toEqual([{ key: 'target', version: state.version }]);
      },
    };
  }

  const jsonBudget = propertyBudget(1, 40);
  it(
    'returns any JSON value (deep, unicode, odd numbers, __proto__) byte-exactly as compact text and lists it with its version',
    async () => {
      const c = await client();
      let runs = 0;
      let deepest = 0;
      let tooDeep = 0;
      let bytes = 0;
      await fc.assert(
        fc.asyncProperty(deepJsonText(MAX_VALUE_DEPTH), fc.constantFrom('"value"', '"\\u0076alue"'), async (value, member) => {
          runs++;
          deepest = Math.max(deepest, value.depth);
          bytes += Buffer.byteLength(value.compact);
          const key = `json/${String(runs).padStart(6, '0')}`;
          const put = await c.putText(key, `{ ${member} :${value.spaced}}`);
          expect({ status: put.status, body: put.body }).toEqual({ status: 201, body: { data: expect.objectContaining({ key }) } });
          const got = await c.get(key);
          expect(got.status).toBe(200);
          expect(valueTextOf(got.text, value.compact.length)).toEqual({ value: value.compact, next: ',' });
          expect(got.body.data.version).toBe(put.body.data.version);
          const listed = await c.list(`?prefix=${encodeURIComponent(key)}`);
          expect(listed.body).toEqual({ data: { items: [{ key, version: put.body.data.version, expiresAt: null }], nextCursor: null } });
          if (value.depth === MAX_VALUE_DEPTH) {
            // One level more is refused, and leaves the key as it was.
            tooDeep++;
            const deeper = wrapDeeper(value, 1, [true]);
            const refused = await c.putText(key, `{"value":${deeper.compact}}`);
            expect({ status: refused.status, code: refused.body?.error?.code }).toEqual({ status: 400, code: 'invalid_request' });
            expect((await c.get(key)).body.data.version).toBe(put.body.data.version);
          }
        }),
        jsonBudget.parameters(),
      );
      reportFigures('JSON values', { inputs: runs, planned: jsonBudget.runs, 'deepest nesting': deepest, 'at the limit (and one over refused)': tooDeep, 'value bytes': bytes });
    },
    jsonBudget.timeoutMs,
  );

  const keyBudget = propertyBudget(1, 40);
  it(
    'writes, reads, lists and deletes any valid key (URL-special, unicode, astral, up to the byte limit) sent percent-encoded per segment',
    async () => {
      const c = await client();
      const maxKeyBytes = t.config.maxKeyBytes;
      let runs = 0;
      let atLimit = 0;
      await fc.assert(
        fc.asyncProperty(itemKey(maxKeyBytes), async (key) => {
          runs++;
          if (Buffer.byteLength(key) === maxKeyBytes) atLimit++;
          const path = encodeKeyPath(key);
          expect([204, 404]).toContain((await c.del(path)).status);
          const put = await c.putText(path, `{"value":${JSON.stringify(key)}}`);
          expect({ status: put.status, key: put.body?.data?.key }).toEqual({ status: 201, key });
          const got = await c.get(path);
          expect({ status: got.status, key: got.body?.data?.key, value: got.body?.data?.value }).toEqual({ status: 200, key, value: key });
          const listed = await c.list(`?limit=1&prefix=${encodeURIComponent(key)}`);
          expect(listed.body.data.items).toEqual([{ key, version: put.body.data.version, expiresAt: null }]);
          expect((await c.del(path)).status).toBe(204);
          expect((await c.get(path)).status).toBe(404);
        }),
        keyBudget.parameters(),
      );
      expect(await allKeys(c)).toEqual([]);
      reportFigures('keys', { inputs: runs, planned: keyBudget.runs, [`at ${maxKeyBytes} bytes`]: atLimit });
    },
    keyBudget.timeoutMs,
  );

  const refusedKeyBudget = propertyBudget(0.5, 20);
  it(
    'refuses with 400 invalid_key, and stores nothing, a key over the byte limit or with a control character',
    async () => {
      const c = await client();
      const maxKeyBytes = t.config.maxKeyBytes;
      let runs = 0;
      const badKey = fc.oneof(
        fc
          .tuple(itemKey(maxKeyBytes), fc.integer({ min: 1, max: 8 }))
          .map(([key, extra]) => key + 'x'.repeat(Math.max(0, maxKeyBytes + extra - Buffer.byteLength(key)))),
        fc
          .tuple(itemKey(maxKeyBytes - 1), fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.constant(0x7f)), fc.nat())
          .map(([key, control, at]) => {
            const chars = Array.from(key);
            chars.splice(at % (chars.length + 1), 0, String.fromCharCode(control));
            return chars.join('');
          })
          .filter((key) => Buffer.byteLength(key) <= maxKeyBytes),
      );
      await fc.assert(
        fc.asyncProperty(badKey, async (key) => {
          runs++;
          const put = await c.putText(encodeKeyPath(key), '{"value":1}');
          // nginx refuses %00 in a path itself (its HTML 400) before KV sees it.
          const byBalancer = remoteBaseUrl !== undefined && /^nginx/.test(put.headers.server ?? '') && /html/.test(put.headers['content-type'] ?? '');
          expect({ status: put.status, code: byBalancer ? 'invalid_key' : put.body?.error?.code }).toEqual({ status: 400, code: 'invalid_key' });
        }),
        refusedKeyBudget.parameters(),
      );
      expect(await allKeys(c)).toEqual([]);
      reportFigures('refused keys', { inputs: runs, planned: refusedKeyBudget.runs });
    },
    refusedKeyBudget.timeoutMs,
  );

  /** A valid PUT body, sometimes compressed, then maybe broken: flipped, inserted or cut bytes. */
  const bodyCase = fc.oneof(
    fc.record({
      type: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/merge-patch+json', '', 'application/JSON'),
      encoding: fc.constantFrom(undefined, undefined, 'gzip', 'deflate', 'br', 'identity', 'x-unknown', 'gzip, deflate'),
      body: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    }),
    fc
      .tuple(
        jsonText(2),
        fc.constantFrom(undefined, 'gzip', 'deflate', 'br'),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'cut')), { maxLength: 3 }),
      )
      .map(([value, encoding, edits]) => {
        const text = Buffer.from(`{"value":${value.spaced}}`);
        let body =
          encoding === 'gzip' ? zlib.gzipSync(text) : encoding === 'deflate' ? zlib.deflateSync(text) : encoding === 'br' ? zlib.brotliCompressSync(text) : text;
        for (const [at, byte, edit] of edits) {
          const i = at % (body.length + 1);
          if (edit === 'set' && i < body.length) body = Buffer.concat([body.subarray(0, i), Buffer.from([byte]), body.subarray(i + 1)]);
          else if (edit === 'insert') body = Buffer.concat([body.subarray(0, i), Buffer.from([byte]), body.subarray(i)]);
          else body = body.subarray(0, i);
        }
        return { type: 'application/json', encoding, body };
      }),
  );

  const bodyBudget = propertyBudget(1, 40);
  it(
    'answers any body bytes (any content type and encoding, broken compression) below 500 and leaves the key unchanged when it refuses',
    async () => {
      const s = await seeded();
      let runs = 0;
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(bodyCase, async ({ type, encoding, body }) => {
          runs++;
          const headers: [string, string][] = [['Content-Type', type]];
          if (encoding !== undefined) headers.push(['Content-Encoding', encoding]);
          const answer = await send(rawRequest('PUT', '/kv/items/target', { auth: s.c.auth, host: `${endpoint.host}:${endpoint.port}`, headers, body }), 'PUT');
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          await s.check(answer, 'PUT');
        }),
        bodyBudget.parameters(),
      );
      reportFigures('body bytes', { inputs: runs, planned: bodyBudget.runs, statuses: JSON.stringify(Object.fromEntries(statuses)) });
    },
    bodyBudget.timeoutMs,
  );

  /** Bytes for a request target: URL-special and percent signs, control bytes, bytes over 0x7F, broken escapes. */
  const targetBytes = fc
    .array(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...Buffer.from("%/#?.:@ +&=;,~'\"<>[]\\^`{|}taZ09")).map((b) => Buffer.from([b])) },
        { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.constant(0x7f)).map((b) => Buffer.from([b])) },
        { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((b) => Buffer.from([b])) },
        {
          weight: 3,
          arbitrary: fc
            .constantFrom('%FF', '%C3%A9', '%C3', '%ED%A0%80', '%F0%9F%98%80', '%00', '%2F', '%', '%G0', '%e9', '..', '/../', '//', 'target', 'ifVersion=', 'prefix=', 'limit=', 'cursor=', '&', '=')
            .map((s) => Buffer.from(s)),
        },
        { weight: 1, arbitrary: fc.constantFrom('é', '😀', '\uFFFD').map((s) => Buffer.from(s)) },
      ),
      { minLength: 1, maxLength: 16 },
    )
    .map((pieces) => Buffer.concat(pieces));

  const targetBudget = propertyBudget(1, 40);
  it(
    'answers any bytes in the key path or query string below 500 and never writes when it refuses',
    async () => {
      const s = await seeded();
      let runs = 0;
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'HEAD', 'PUT', 'DELETE'),
          fc.constantFrom('/kv/items/', '/kv/items/target?', '/kv/items?'),
          targetBytes,
          async (method, base, bytes) => {
            runs++;
            const body = method === 'PUT' ? Buffer.from('{"value":"written"}') : undefined;
            const headers: [string, string][] = body ? [['Content-Type', 'application/json']] : [];
            const target = Buffer.concat([Buffer.from(base), bytes]);
            const answer = await send(rawRequest(method, target, { auth: s.c.auth, host: `${endpoint.host}:${endpoint.port}`, headers, body }), method);
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
            if (method === 'PUT' && answer.status < 300) {
              // The key written is the one the path names, readable back under its canonical encoding.
              const written = JSON.parse(answer.body.toString('utf8')).data as { key: string; version: string };
              const got = await s.c.get(encodeKeyPath(written.key));
              expect({ status: got.status, version: got.body?.data?.version }).toEqual({ status: 200, version: written.version });
            }
            await s.check(answer, method);
          },
        ),
        targetBudget.parameters(),
      );
      reportFigures('request-target bytes', { inputs: runs, planned: targetBudget.runs, statuses: JSON.stringify(Object.fromEntries(statuses)) });
    },
    targetBudget.timeoutMs,
  );

  /** Header values: quotes, commas, `*`, weak tags, tabs, control bytes, bytes over 0x7F, and some long ones. */
  const headerValue = fc.oneof(
    { weight: 5, arbitrary: fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 5, arbitrary: fc.string({ unit: fc.constantFrom(...'"*, W/\tabc019=;'), maxLength: 20 }).map((s) => Buffer.from(s, 'latin1')) },
    // Long values as a length, so a counterexample prints short.
    { weight: 1, arbitrary: fc.integer({ min: 4000, max: 20000 }).map((repeat) => ({ repeat })) },
  );
  const headerBytes = (value: Buffer | { repeat: number }) => (Buffer.isBuffer(value) ? value : Buffer.from('a'.repeat(value.repeat)));
  const headerName = fc.oneof(
    fc.constantFrom(
      'If-Match',
      'If-None-Match',
      'Content-Type',
      'Content-Encoding',
      'Accept',
      'Accept-Encoding',
      'Accept-Charset',
      'X-Request-Id',
      'Expect',
      'Range',
      'If-Range',
      'If-Modified-Since',
      'Cookie',
      'Origin',
      'X-Forwarded-For',
      'Forwarded',
      'Upgrade',
      'X-HTTP-Method-Override',
    ),
    fc.string({ unit: fc.constantFrom(...'abcxyzXYZ019-_'), minLength: 1, maxLength: 12 }).map((s) => `X-${s}`),
  );

  const headerBudget = propertyBudget(1, 40);
  it(
    'answers any header values below 500 and never writes when it refuses',
    async () => {
      const s = await seeded();
      let runs = 0;
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'PUT', 'DELETE'),
          fc.array(fc.tuple(headerName, headerValue), { minLength: 1, maxLength: 3 }),
          async (method, extra) => {
            runs++;
            const body = method === 'PUT' ? Buffer.from('{"value":"written"}') : undefined;
            const sent = extra.map(([name, value]): [string, Buffer] => [name, headerBytes(value)]);
            const headers: [string, Buffer | string][] = body && !extra.some(([name]) => name === 'Content-Type') ? [['Content-Type', 'application/json'], ...sent] : sent;
            const answer = await send(rawRequest(method, '/kv/items/target', { auth: s.c.auth, host: `${endpoint.host}:${endpoint.port}`, headers, body }), method);
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
            await s.check(answer, method);
          },
        ),
        headerBudget.parameters(),
      );
      reportFigures('header values', { inputs: runs, planned: headerBudget.runs, statuses: JSON.stringify(Object.fromEntries(statuses)) });
    },
    headerBudget.timeoutMs,
  );

  const orderBudget = propertyBudget(0.2, 400);
  it('orders any set of keys by their UTF-8 bytes when listing them page by page', async () => {
    const c = await client();
    let runs = 0;
    let listed = 0;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(itemKey(40), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 5 }), async (keys, limit) => {
        runs++;
        for (const { key } of await allKeys(c)) expect((await c.del(encodeKeyPath(key))).status).toBe(204);
        for (const key of keys) expect((await c.putText(encodeKeyPath(key), '{"value":1}')).status).toBe(201);
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const res = await c.list(`?limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
          expect(res.status).toBe(200);
          expect(res.body.data.items.length).toBeLessThanOrEqual(limit);
          seen.push(...res.body.data.items.map((item: { key: string }) => item.key));
          cursor = res.body.data.nextCursor;
        } while (cursor !== null && seen.length <= keys.length);
        listed += seen.length;
        expect(seen).toEqual([...keys].sort(utf8Compare));
      }),
      orderBudget.parameters(),
    );
    reportFigures('listing order', { inputs: runs, planned: orderBudget.runs, 'keys listed': listed });
  }, orderBudget.timeoutMs);
});
