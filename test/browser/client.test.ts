// The client's browser bundle in Debian's chromium: a page on one origin uses @kv/client against KV on another
// origin (CORS): set, get, list, delete, a 412 as KvPreconditionFailedError, and a watch event.

import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, describeBrowser } from '../helpers/browser';
import { startClientServer, type ClientServer } from '../client/server';

/** The browser bundle the package ships, made by the build (`npm test` builds first). */
const BUNDLE = path.join(__dirname, '..', '..', 'packages', 'client', 'dist', 'browser', 'kv-client.min.js');

/** A page server on 127.0.0.1: `/` loads the bundle as a module and puts it on `window.kv`. */
async function servePage(script: string): Promise<{ server: http.Server; origin: string }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/kv-client.min.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
      res.end(script);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>KV client</title><script type="module">import * as kv from "/kv-client.min.js"; window.kv = kv;</script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` };
}

describeBrowser('@kv/client in a browser (chromium, CORS)', () => {
  let script: string;
  let s: ClientServer;
  let page: { server: http.Server; origin: string };
  let browser: Browser | undefined;
  let tab: Page;

  beforeAll(async () => {
    if (!fs.existsSync(BUNDLE)) throw new Error('packages/client is not built: run `npm run build` first');
    script = fs.readFileSync(BUNDLE, 'utf8');
    page = await servePage(script);
    s = await startClientServer({ KV_CORS_ORIGINS: page.origin });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      timeout: 10_000,
      args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
    });
    tab = await browser.newPage();
    await tab.goto(`${page.origin}/`);
    await tab.waitForFunction(() => 'kv' in globalThis);
  }, 30_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await s?.close();
    await new Promise((resolve) => page?.server.close(resolve));
  });

  it('sets, gets, lists and deletes from a page on another origin', async () => {
    const { apiKey } = await s.account();
    const seen = await tab.evaluate(
      async ({ url, apiKey }) => {
        const { KvClient } = (globalThis as unknown as { kv: typeof import('../../packages/client/src') }).kv;
        const kv = new KvClient({ url, apiKey });
        const created = await kv.set('flags/beta', { on: true, big: 12345678901234567890n });
        const read = await kv.get('flags/beta', { bigint: true });
        const raw = await kv.getRaw('flags/beta');
        await kv.set('flags/a/../b', 2);
        const listed = await kv.list({ prefix: 'flags/', values: true });
        const deleted = await kv.delete('flags/beta');
        const after = await kv.get('flags/beta');
        return {
          created: created.created,
          value: { on: (read!.value as { on: boolean }).on, big: String((read!.value as { big: bigint }).big) },
          raw: raw!.raw,
          listed: listed.items.map((i) => [i.key, JSON.stringify(i.value ?? null)]),
          deleted,
          after,
        };
      },
      { url: s.url, apiKey },
    );
    expect(seen).toStrictEqual({
      created: true,
      value: { on: true, big: '12345678901234567890' },
      raw: '{"on":true,"big":12345678901234567890}',
      listed: [
        ['flags/a/../b', '2'],
        ['flags/beta', '{"on":true,"big":12345678901234567000}'],
      ],
      deleted: true,
      after: null,
    });
  });

  it('throws KvPreconditionFailedError with currentVersion for a stale ifVersion', async () => {
    const { apiKey } = await s.account();
    const seen = await tab.evaluate(
      async ({ url, apiKey }) => {
        const { KvClient, KvPreconditionFailedError, KvError } = (globalThis as unknown as { kv: typeof import('../../packages/client/src') }).kv;
        const kv = new KvClient({ url, apiKey });
        const first = await kv.set('cas', 1);
        const second = await kv.set('cas', 2, { ifVersion: first.version });
        try {
          await kv.set('cas', 3, { ifVersion: first.version });
          return { thrown: false };
        } catch (error) {
          return {
            thrown: true,
            isClass: error instanceof KvPreconditionFailedError,
            isBase: error instanceof KvError,
            status: (error as InstanceType<typeof KvError>).status,
            code: (error as InstanceType<typeof KvError>).code,
            requestId: typeof (error as InstanceType<typeof KvError>).requestId,
            currentVersion: (error as InstanceType<typeof KvPreconditionFailedError>).currentVersion,
            expected: second.version,
          };
        }
      },
      { url: s.url, apiKey },
    );
    expect(seen).toStrictEqual({
      thrown: true,
      isClass: true,
      isBase: true,
      status: 412,
      code: 'precondition_failed',
      requestId: 'string',
      currentVersion: (seen as { expected: string }).expected,
      expected: expect.any(String),
    });
  });

  it('receives a watch event in the page', async () => {
    const { apiKey } = await s.account();
    const seen = await tab.evaluate(
      async ({ url, apiKey }) => {
        const { KvClient } = (globalThis as unknown as { kv: typeof import('../../packages/client/src') }).kv;
        const kv = new KvClient({ url, apiKey });
        const controller = new AbortController();
        const watch = kv.watch({ prefix: 'live/', values: true, signal: controller.signal });
        const first = watch.next();
        // Written until the stream (which starts from now) has one.
        let written = 0;
        const timer = setInterval(() => void kv.set('live/x', { n: ++written }), 200);
        const event = await first;
        clearInterval(timer);
        controller.abort();
        return event.value;
      },
      { url: s.url, apiKey },
    );
    expect(seen).toMatchObject({ type: 'set', key: 'live/x', version: expect.any(String), value: { n: expect.any(Number) } });
  });

  it('is refused by the browser from an origin KV_CORS_ORIGINS does not list (KvNetworkError)', async () => {
    const other = await servePage(script);
    const otherTab = await browser!.newPage();
    try {
      await otherTab.goto(`${other.origin}/`);
      await otherTab.waitForFunction(() => 'kv' in globalThis);
      const { apiKey } = await s.account();
      const seen = await otherTab.evaluate(
        async ({ url, apiKey }) => {
          const { KvClient, KvNetworkError } = (globalThis as unknown as { kv: typeof import('../../packages/client/src') }).kv;
          const kv = new KvClient({ url, apiKey, retry: false });
          try {
            await kv.get('k');
            return 'answered';
          } catch (error) {
            return error instanceof KvNetworkError ? 'KvNetworkError' : String(error);
          }
        },
        { url: s.url, apiKey },
      );
      expect(seen).toBe('KvNetworkError');
    } finally {
      await otherTab.close();
      await new Promise((resolve) => other.server.close(resolve));
    }
  });
});
