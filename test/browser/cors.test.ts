// CORS in a real browser: Debian's chromium calls the built service from pages on other origins.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, describeBrowser } from '../helpers/browser';
import { startService, stopProcess, waitUntilReady, type ServiceProcess } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

const API_KEY = `kv_${crypto.randomBytes(16).toString('hex')}`;

/** What the page sees of one fetch: the status, the headers its script may read, and the body. */
interface Seen {
  status: number;
  etag: string | null;
  rateLimit: string | null;
  rateLimitPolicy: string | null;
  requestId: string | null;
  body: unknown;
}

/** A tiny page on 127.0.0.1, its origin taken from the port it listens on. */
async function servePage(): Promise<{ server: http.Server; origin: string }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>KV CORS</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` };
}

/** The fetch a browser script would make, run in `page`; a refused request resolves `{ refused: <error name> }`. */
async function fetchFromPage(
  page: Page,
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
): Promise<Seen | { refused: string }> {
  return page.evaluate(
    async ({ url, init }) => {
      try {
        const res = await fetch(url, init);
        const text = await res.text();
        return {
          status: res.status,
          etag: res.headers.get('ETag'),
          rateLimit: res.headers.get('RateLimit'),
          rateLimitPolicy: res.headers.get('RateLimit-Policy'),
          requestId: res.headers.get('X-Request-Id'),
          body: text === '' ? null : (JSON.parse(text) as unknown),
        };
      } catch (error) {
        return { refused: (error as Error).name };
      }
    },
    { url, init },
  );
}

describeBrowser('CORS in a browser (chromium)', () => {
  let dataDir: string;
  let service: ServiceProcess | undefined;
  let api: string;
  let browser: Browser | undefined;
  const servers: http.Server[] = [];
  let listed: Page;
  let unlisted: Page;
  const auth = { Authorization: `Bearer ${API_KEY}` };

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvtest-browser-'));
    const allowed = await servePage();
    const other = await servePage();
    servers.push(allowed.server, other.server);
    service = await startService({
      KV_DATA_DIR: path.join(dataDir, 'data'),
      KV_BOOTSTRAP_API_KEY: API_KEY,
      KV_CORS_ORIGINS: allowed.origin,
    });
    api = service.url;
    await waitUntilReady(api, 10_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      timeout: 10_000,
      args: [
        ...CHROMIUM_ARGS,
        // Nothing but 127.0.0.1 resolves: the browser talks to the test's servers only.
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      ],
    });
    listed = await browser.newPage();
    await listed.goto(`${allowed.origin}/`);
    unlisted = await browser.newPage();
    await unlisted.goto(`${other.origin}/`);
  }, 30_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    if (service) await stopProcess(service.child);
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Creates `key` from the listed page and returns its ETag. */
  async function create(key: string, value: unknown): Promise<string> {
    const created = await fetchFromPage(listed, `${api}/kv/items/${key}`, {
      method: 'PUT',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ value }),
    });
    expect(created).toMatchObject({ status: 201, etag: expect.stringMatching(/^".+"$/) });
    return (created as Seen).etag!;
  }

  it('lets a page on a listed origin write with a matching If-Match, and read the 412 body of a stale one', async () => {
    const key = `cas-${crypto.randomUUID()}`;
    const first = await create(key, { n: 1 });

    const put = (ifMatch: string, n: number) =>
      fetchFromPage(listed, `${api}/kv/items/${key}`, {
        method: 'PUT',
        headers: { ...auth, 'Content-Type': 'application/json', 'If-Match': ifMatch },
        body: JSON.stringify({ value: { n } }),
      });
    const replaced = await put(first, 2);
    expect(replaced).toMatchObject({ status: 200, etag: expect.stringMatching(/^".+"$/) });
    const second = (replaced as Seen).etag!;
    expect(second).not.toBe(first);
    expect((replaced as Seen).body).toEqual({ data: expect.objectContaining({ key, version: JSON.parse(second) as string }) });

    const stale = await put(first, 3);
    expect(stale).toMatchObject({
      status: 412,
      body: {
        error: { code: 'precondition_failed', message: expect.any(String), currentVersion: JSON.parse(second) as string },
      },
    });
  });

  it('lets a page on a listed origin read ETag, RateLimit, RateLimit-Policy and X-Request-Id of a GET', async () => {
    const key = `get-${crypto.randomUUID()}`;
    const etag = await create(key, 'hello');
    const got = await fetchFromPage(listed, `${api}/kv/items/${key}`, { method: 'GET', headers: auth });
    expect(got).toEqual({
      status: 200,
      etag,
      rateLimit: expect.stringMatching(/\S/),
      rateLimitPolicy: expect.stringMatching(/\S/),
      requestId: expect.stringMatching(/\S/),
      body: { data: expect.objectContaining({ key, value: 'hello', version: JSON.parse(etag) as string }) },
    });
  });

  it('refuses a fetch from a page on an origin not on the list (TypeError in the page), and the key stays as it was', async () => {
    const key = `refused-${crypto.randomUUID()}`;
    const etag = await create(key, 'original');

    const write = await fetchFromPage(unlisted, `${api}/kv/items/${key}`, {
      method: 'PUT',
      headers: { ...auth, 'Content-Type': 'application/json', 'If-Match': etag },
      body: JSON.stringify({ value: 'overwritten' }),
    });
    expect(write).toEqual({ refused: 'TypeError' });
    const read = await fetchFromPage(unlisted, `${api}/kv/items/${key}`, { method: 'GET', headers: auth });
    expect(read).toEqual({ refused: 'TypeError' });
    // Refused by the service's answer to the preflight, not by some other failure on the way. The
    // request log line reaches this process through a pipe, possibly after the page saw the refusal.
    await waitFor(() => {
      const refusals = service!
        .output()
        .split('\n')
        .filter((line) => line.includes('"method":"OPTIONS"') && line.includes('"status":403'));
      expect(refusals).toHaveLength(2);
    }, { what: 'two refused preflights in the request log', timeoutMs: 5_000 });

    const res = await fetch(`${api}/kv/items/${key}`, { headers: auth });
    expect(res.headers.get('ETag')).toBe(etag);
    expect(((await res.json()) as { data: { value: unknown } }).data.value).toBe('original');
  });
});
