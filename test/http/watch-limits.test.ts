// GET /kv/watch under its limits: the per-account cap, heartbeats, and a client that stops reading.

import { once } from 'node:events';
import net from 'node:net';
import { createTestApp, describeStore, type TestApp } from '../helpers/app';
import { waitFor } from '../helpers/wait';
import { baseUrl, openWatch, type WatchStream } from '../helpers/watch';

const UNLIMITED = { readsPerSecond: 1_000_000, writesPerSecond: 1_000_000 };

describeStore('watch limits', () => {
  let t: TestApp;
  const open: WatchStream[] = [];

  beforeAll(async () => {
    t = await createTestApp({ KV_WATCHERS_PER_ACCOUNT: '2', KV_WATCH_HEARTBEAT_SECONDS: '1', KV_AUTH_FAILURES_PER_MINUTE: '2' });
  });
  afterEach(() => {
    for (const stream of open.splice(0)) stream.close();
  });
  afterAll(() => t.close());

  async function watch(auth: string, query = ''): Promise<WatchStream> {
    const stream = await openWatch(t.app, auth, query);
    open.push(stream);
    return stream;
  }

  it('refuses a watch past the account\'s maximum with 429, and takes one again once a watch closes', async () => {
    const c = await t.newClient(UNLIMITED);
    const first = await watch(c.auth);
    await watch(c.auth);
    const third = await watch(c.auth);
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(JSON.parse(third.errorBody).error.code).toBe('rate_limited');
    // Another account has its own.
    expect((await watch((await t.newClient()).auth)).status).toBe(200);

    first.close();
    await waitFor(async () => {
      const again = await watch(c.auth);
      expect(again.status).toBe(200);
    }, { what: 'a slot to be given back', timeoutMs: 3000, intervalMs: 50 });
  });

  it('does not let open streams hold the address\'s authentication checks (two allowed at a time here)', async () => {
    // Three keys never checked before, from one address: each watch takes a check while its key
    // is looked up, and must give it back once authenticated, not when its stream ends.
    const clients = await Promise.all([t.newClient(), t.newClient(), t.newClient()]);
    for (const c of clients) expect((await watch(c.auth)).status).toBe(200);
  });

  it('sends a comment line every heartbeat', async () => {
    const c = await t.newClient();
    const stream = await watch(c.auth);
    await waitFor(() => expect(stream.comments()).toBeGreaterThanOrEqual(2), { what: 'two heartbeats', timeoutMs: 4000 });
  });

  it('drops a client that stops reading instead of buffering for it without bound', async () => {
    const c = await t.newClient(UNLIMITED);
    const url = new URL(await baseUrl(t.app));
    // A client that sends the request and then never reads: it holds one of the account's two watches.
    const socket = net.connect(Number(url.port), url.hostname);
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /kv/watch?values=true HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${c.auth}\r\n\r\n`);
    const [head] = (await once(socket, 'data')) as [Buffer];
    expect(head.toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
    socket.pause();
    const reader = await watch(c.auth);
    expect(reader.status).toBe(200);
    expect((await watch(c.auth)).status).toBe(429);

    // ~40 MB of events for it, well past what the kernel and the server buffer for a client.
    const value = JSON.stringify({ blob: 'x'.repeat(500_000) });
    for (let i = 0; i < 80; i++) await c.putText(`big/${i % 10}`, `{"value":${value}}`).expect(i < 10 ? 201 : 200);

    // Its slot is given back once it is dropped; the client that reads is still served.
    await waitFor(async () => expect((await watch(c.auth)).status).toBe(200), { what: 'the slow client to be dropped', timeoutMs: 10_000 });
    expect((await reader.next()).data.key).toBe('big/0');
    socket.destroy();
  }, 60_000);
});
