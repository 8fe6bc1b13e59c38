// Regressions of the adversarial pass: bodies, query strings, request targets and Node's own HTTP
// errors, each answered with the envelope and changing nothing; slow clients and drain bounded.

import net from 'node:net';
import zlib from 'node:zlib';
import type { Express } from 'express';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { createKvServer, type KvServer } from '../../src/server';
import { createTestApp, describeStore, type TestApp } from '../helpers/app';
import { expectError } from '../helpers/envelope';
import { randomString } from '../helpers/ids';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Resolves when the server has closed the connection. */
  closed: Promise<void>;
}

/** A connection that speaks raw bytes, for what an HTTP client library would refuse to send. */
function rawConnection(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let received = Buffer.alloc(0);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.on('data', (chunk) => (received = Buffer.concat([received, chunk])));
  /** The next whole response on the connection (Content-Length framed, as KV answers). */
  const response = () =>
    new Promise<RawResponse>((resolve, reject) => {
      const check = () => {
        const text = received.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end === -1) return false;
        const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
        const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
        const length = Number(headers['content-length'] ?? 0);
        if (received.length < end + 4 + length) return false;
        const body = received.subarray(end + 4, end + 4 + length).toString('utf8');
        received = received.subarray(end + 4 + length);
        socket.removeListener('data', check);
        resolve({ status: Number(statusLine.split(' ')[1]), headers, body, closed });
        return true;
      };
      if (check()) return;
      socket.on('data', check);
      void closed.then(() => check() || reject(new Error(`connection closed before a whole response: ${received.toString('latin1').slice(0, 200)}`)));
    });
  return { socket, response, closed };
}

/** Asserts the envelope of a raw response: JSON, only `error`, the code, a message. */
function expectRawError(res: RawResponse, status: number, code: string) {
  expect({ status: res.status, contentType: res.headers['content-type'] }).toEqual({ status, contentType: 'application/json; charset=utf-8' });
  const body = JSON.parse(res.body) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toEqual({ code, message: expect.any(String) });
}

/** A test app with an account, served by the service's own HTTP server on a port of its own. */
interface Served {
  t: TestApp;
  apiKey: string;
  kv: KvServer;
  port: number;
}

/** Sets up `served` before the block's tests (with `timeouts`, else the app's configuration) and tears it down after. */
function serveForBlock(timeouts?: Record<string, string>): Served {
  const served = {} as Served;
  beforeAll(async () => {
    served.t = await createTestApp();
    ({ apiKey: served.apiKey } = await served.t.newAccount());
    served.kv = createKvServer(served.t.app as Express, timeouts ? loadConfig(timeouts) : served.t.config);
    await new Promise<void>((resolve) => served.kv.server.listen(0, '127.0.0.1', resolve));
    served.port = (served.kv.server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    served.kv.server.closeAllConnections();
    if (served.kv.server.listening) await new Promise((resolve) => served.kv.server.close(resolve));
    await served.t.close();
  });
  return served;
}

describeStore('hardening: what an adversarial client sends', () => {
  const served = serveForBlock();
  let t: TestApp;
  let apiKey: string;
  let port: number;
  beforeAll(() => {
    ({ t, apiKey, port } = served);
  });
  const auth = () => ({ Authorization: `Bearer ${apiKey}` });
  const put = (key: string) => request(t.app).put(`/kv/items/${key}`).set(auth()).set('Content-Type', 'application/json');

  async function expectAbsent(key: string) {
    expectError(await request(t.app).get(`/kv/items/${key}`).set(auth()), 404, 'not_found');
  }

  describe('compressed bodies', () => {
    /** A PUT of exactly these bytes (supertest would serialise a Buffer sent as JSON). */
    const putBytes = async (key: string, encoding: string, body: Buffer) => {
      const res = await fetch(`http://127.0.0.1:${port}/kv/items/${key}`, {
        method: 'PUT',
        headers: { ...auth(), 'Content-Type': 'application/json', 'Content-Encoding': encoding },
        body,
      });
      return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
    };
    const value = JSON.stringify({ value: { compressed: true } });
    it.each([
      ['gzip', Buffer.from('not gzip')],
      ['deflate', Buffer.from('not deflate')],
      ['br', Buffer.from('not brotli at all')],
      ['gzip', zlib.gzipSync(value).subarray(0, 12)],
    ])('answers 400 invalid_json and writes nothing when a %s body is corrupt', async (encoding, body) => {
      const key = randomString();
      expect(await putBytes(key, encoding, body)).toEqual({ status: 400, body: { error: { code: 'invalid_json', message: expect.any(String) } } });
      await expectAbsent(key);
    });

    it('answers 415 unsupported_media_type for an encoding it does not decode', async () => {
      const key = randomString();
      expect(await putBytes(key, 'compress', Buffer.from(value))).toEqual({
        status: 415,
        body: { error: { code: 'unsupported_media_type', message: expect.any(String) } },
      });
      await expectAbsent(key);
    });

    it.each([
      ['gzip', zlib.gzipSync(value)],
      ['deflate', zlib.deflateSync(value)],
      ['br', zlib.brotliCompressSync(value)],
    ])('stores a valid %s body', async (encoding, body) => {
      const key = randomString();
      expect((await putBytes(key, encoding, body)).status).toBe(201);
      expect((await request(t.app).get(`/kv/items/${key}`).set(auth())).body.data.value).toEqual({ compressed: true });
    });

    it('answers 413 to a gzip bomb without holding what it inflates to', async () => {
      // 256 MiB of spaces inside a JSON string, as 32 gzip members of 8 MiB each: about 256 KiB.
      const spaces = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20));
      const bomb = Buffer.concat([zlib.gzipSync('{"value":"'), ...Array.from({ length: 32 }, () => spaces), zlib.gzipSync('"}')]);
      const key = randomString();
      const before = process.memoryUsage().rss;
      expect(await putBytes(key, 'gzip', bomb)).toEqual({ status: 413, body: { error: { code: 'value_too_large', message: expect.any(String) } } });
      // The reader stops at the body limit (a few MiB); inflating it all would add 256 MiB.
      expect(process.memoryUsage().rss - before).toBeLessThan(96 * 1024 * 1024);
      await expectAbsent(key);
    });
  });

  describe('bodies over the limit', () => {
    it('answers 413 to a declared Content-Length over the limit before any of the body is sent, and closes', async () => {
      const key = randomString();
      const connection = rawConnection(port);
      connection.socket.write(
        `PUT /kv/items/${key} HTTP/1.1\r\nHost: kv\r\nAuthorization: Bearer ${apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${50 * 1024 * 1024}\r\n\r\n`,
      );
      const res = await connection.response();
      expectRawError(res, 413, 'value_too_large');
      expect(res.headers.connection).toBe('close');
      await res.closed;
      await expectAbsent(key);
    });

    it('cuts a chunked body off at the limit with 413 and closes the connection', async () => {
      const key = randomString();
      const connection = rawConnection(port);
      connection.socket.write(
        `PUT /kv/items/${key} HTTP/1.1\r\nHost: kv\r\nAuthorization: Bearer ${apiKey}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      let answered = false;
      const answer = connection.response().finally(() => (answered = true));
      // An endless body, bounded here: the answer must come long before 64 MiB.
      while (!answered && sent < 64 * 1024 * 1024 && !connection.socket.destroyed) {
        const flushed = connection.socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`);
        sent += chunk.length;
        if (!flushed) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const res = await answer;
      expectRawError(res, 413, 'value_too_large');
      await res.closed;
      expect(sent).toBeLessThan(32 * 1024 * 1024);
      await expectAbsent(key);
    });
  });

  it('refuses a body of 150,000 unknown fields with a few details and a count', async () => {
    const key = randomString();
    const fields = Array.from({ length: 150_000 }, (_, i) => `"f${i}":1`).join(',');
    const res = await put(key).send(`{"value":1,${fields}}`);
    expectError(res, 400, 'invalid_request', { omittedDetails: 149_990 });
    expect(res.body.error.details).toHaveLength(10);
    expect(res.body.error.details[0]).toEqual({ path: 'body.f0', message: 'is not an allowed field' });
    expect(res.text.length).toBeLessThan(4096);
    await expectAbsent(key);
  });

  describe('query parameters', () => {
    it('refuses a PUT whose ?ifVersion is not the current version with 412, and leaves the value', async () => {
      const key = randomString();
      const created = await put(key).send({ value: 'first' });
      const res = await put(`${key}?ifVersion=999`).send({ value: 'second' });
      expectError(res, 412, 'precondition_failed', { currentVersion: created.body.data.version });
      expect((await request(t.app).get(`/kv/items/${key}`).set(auth())).body.data.value).toBe('first');
    });

    it('replaces the key when a PUT ?ifVersion is its current version', async () => {
      const key = randomString();
      const created = await put(key).send({ value: 'first' });
      expect((await put(`${key}?ifVersion=${created.body.data.version}`).send({ value: 'second' })).status).toBe(200);
    });

    it('answers 400 when a PUT ?ifVersion disagrees with If-Match', async () => {
      const key = randomString();
      expectError(await put(`${key}?ifVersion=1`).set('If-Match', '"2"').send({ value: 1 }), 400, 'invalid_request', {
        details: [{ path: 'header.If-Match', message: 'disagrees with query.ifVersion; give the version once' }],
      });
      await expectAbsent(key);
    });

    it('refuses ?ttlSeconds on a PUT rather than dropping it', async () => {
      const key = randomString();
      expectError(await put(`${key}?ttlSeconds=1`).send({ value: 1 }), 400, 'invalid_request', {
        details: [{ path: 'query.ttlSeconds', message: 'is not an allowed field' }],
      });
      await expectAbsent(key);
    });

    it.each([
      ['GET', '/kv/items/k?x=1'],
      ['DELETE', '/kv/items/k?x=1'],
      ['GET', '/kv/items?x=1'],
      ['GET', '/kv/usage?x=1'],
      ['GET', '/healthz?x=1'],
      ['GET', '/readyz?x=1'],
      ['GET', '/metrics?x=1'],
    ])('answers 400 to an unknown query parameter on %s %s', async (method, path) => {
      const res = await request(t.app)[method === 'GET' ? 'get' : 'delete'](path).set(auth());
      expectError(res, 400, 'invalid_request', { details: [{ path: 'query.x', message: 'is not an allowed field' }] });
    });

    it.each(['%FF', '%C3%28', 'a%E2%82'])('answers 400 to ?prefix=%s, which is not valid UTF-8', async (prefix) => {
      const res = await request(t.app).get(`/kv/items?prefix=${prefix}`).set(auth());
      expectError(res, 400, 'invalid_request', { details: [{ path: 'query.prefix', message: 'is not valid percent-encoded UTF-8' }] });
    });
  });

  it('refuses a raw # in the request target with 400 invalid_key and stores nothing', async () => {
    const key = randomString();
    const connection = rawConnection(port);
    const body = '{"value":1}';
    connection.socket.write(
      `PUT /kv/items/${key}#frag HTTP/1.1\r\nHost: kv\r\nAuthorization: Bearer ${apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expectRawError(await connection.response(), 400, 'invalid_key');
    connection.socket.destroy();
    await expectAbsent(key);
  });

  describe("errors from Node's HTTP parser", () => {
    it('answers headers over the size limit with 431 in the envelope', async () => {
      const connection = rawConnection(port);
      connection.socket.write(`GET /kv/usage HTTP/1.1\r\nHost: kv\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expectRawError(await connection.response(), 431, 'invalid_request');
    });

    it('answers an Expect other than 100-continue with 417 in the envelope', async () => {
      const connection = rawConnection(port);
      connection.socket.write(`GET /kv/usage HTTP/1.1\r\nHost: kv\r\nAuthorization: Bearer ${apiKey}\r\nExpect: foo\r\n\r\n`);
      expectRawError(await connection.response(), 417, 'invalid_request');
    });

    it('answers a request line that is not HTTP with 400 in the envelope', async () => {
      const connection = rawConnection(port);
      connection.socket.write('THIS IS NOT HTTP\r\n\r\n');
      expectRawError(await connection.response(), 400, 'invalid_request');
    });
  });
});

describeStore('hardening: slow clients', () => {
  const served = serveForBlock({ KV_HEADERS_TIMEOUT_MS: '300', KV_REQUEST_TIMEOUT_MS: '600', KV_KEEP_ALIVE_TIMEOUT_MS: '300' });
  let apiKey: string;
  let port: number;
  beforeAll(() => {
    ({ apiKey, port } = served);
  });

  it('answers 408 in the envelope and closes when the headers never finish (slowloris)', async () => {
    const connection = rawConnection(port);
    connection.socket.write('GET /kv/usage HTTP/1.1\r\nHost: kv\r\n');
    const trickle = setInterval(() => connection.socket.write('X-Slow: 1\r\n'), 100);
    try {
      const res = await connection.response();
      expectRawError(res, 408, 'invalid_request');
      await res.closed;
    } finally {
      clearInterval(trickle);
    }
  });

  it('answers 408 and closes when a body trickles past the request timeout', async () => {
    const connection = rawConnection(port);
    connection.socket.write(
      `PUT /kv/items/${randomString()} HTTP/1.1\r\nHost: kv\r\nAuthorization: Bearer ${apiKey}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"value":"`,
    );
    const trickle = setInterval(() => connection.socket.write('a'), 50);
    try {
      await connection.closed;
    } finally {
      clearInterval(trickle);
    }
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const connection = rawConnection(port);
    connection.socket.write('GET /healthz HTTP/1.1\r\nHost: kv\r\n\r\n');
    expect((await connection.response()).status).toBe(200);
    await connection.closed;
  });
});

describeStore('hardening: drain', () => {
  const served = serveForBlock(); // the default timeouts: an idle keep-alive connection would stay open 65 s
  let apiKey: string;
  let kv: KvServer;
  let port: number;
  beforeAll(() => {
    ({ apiKey, kv, port } = served);
  });

  it('sends an in-flight response with Connection: close and closes idle keep-alive connections at once when draining', async () => {
    const idle = rawConnection(port);
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: kv\r\n\r\n');
    expect((await idle.response()).headers.connection).toBe('keep-alive');

    // A PUT whose body is still arriving when the drain starts.
    const inFlight = rawConnection(port);
    const body = '{"value":"drained"}';
    inFlight.socket.write(
      `PUT /kv/items/${randomString()} HTTP/1.1\r\nHost: kv\r\nAuthorization: Bearer ${apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const drained = new Promise<void>((resolve) => kv.drain(() => resolve()));
    await idle.closed;
    inFlight.socket.write(body.slice(5));
    const res = await inFlight.response();
    expect({ status: res.status, connection: res.headers.connection }).toEqual({ status: 201, connection: 'close' });
    await drained;
  });
});
