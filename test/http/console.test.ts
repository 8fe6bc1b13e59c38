// The console over HTTP: its page and assets on every surface, with a strict CSP, nosniff, no inline code.

import os from 'node:os';
import path from 'node:path';
import express from 'express';
import pino from 'pino';
import request from 'supertest';
import { createApp, type Surface } from '../../src/app';
import { CONSOLE_CSP, consoleRoutes } from '../../src/http/console';
import { errorHandler } from '../../src/http/error-handler';
import { createValidators } from '../../src/http/schemas';
import { createTestApp, describeStore, type TestApp } from '../helpers/app';
import { expectError } from '../helpers/envelope';

const SURFACES: Surface[] = ['all', 'public', 'internal'];

/** Inline code in HTML: a script without src, an on* handler, a style attribute or element, a javascript: URL. */
function inlineCode(html: string): string[] {
  const found: string[] = [];
  for (const [tag, name, attributes] of html.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<([a-zA-Z][\w-]*)([^>]*)>/g)) {
    if (name.toLowerCase() === 'script' && !/\ssrc=/.test(attributes)) found.push(tag);
    if (name.toLowerCase() === 'style') found.push(tag);
    if (/\s(on[a-z]+|style)\s*=/i.test(attributes) || /javascript:/i.test(attributes)) found.push(tag);
  }
  return found;
}

function expectSecurityHeaders(res: request.Response): void {
  expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
}

describeStore('the console over HTTP', () => {
  let t: TestApp;
  const apps = new Map<Surface, express.Express>();

  beforeAll(async () => {
    t = await createTestApp({ KV_INTERNAL_PORT: '0' });
    for (const surface of SURFACES) {
      apps.set(
        surface,
        createApp({ config: t.config, store: t.store, logger: pino({ level: 'silent' }), rateLimitStore: t.testStore.rateLimitStore, isReady: () => true, surface }),
      );
    }
  });
  afterAll(() => t.close());

  it('has a policy that allows only its own files and no inline script or style', () => {
    const directives = new Map(CONSOLE_CSP.split('; ').map((part) => [part.split(' ')[0], part.split(' ').slice(1).join(' ')]));
    expect(directives.get('default-src')).toBe("'none'");
    expect(directives.get('script-src')).toBe("'self'");
    expect(directives.get('style-src')).toBe("'self'");
    expect(directives.get('connect-src')).toBe("'self'");
    expect(directives.get('frame-ancestors')).toBe("'none'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-|\*|https?:/);
  });

  it.each(SURFACES)('serves the page on the %s surface with the CSP, nosniff and no-referrer, and HTML without inline code', async (surface) => {
    const res = await request(apps.get(surface)!).get('/console');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
    expectSecurityHeaders(res);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.text).toContain('<title>KV console</title>');
    expect(inlineCode(res.text)).toEqual([]);
    // Nothing from elsewhere: every URL in the page is a path on this origin.
    expect(res.text).not.toMatch(/(?:src|href)="(?!\/console\/assets\/|data:)/);
    expect(res.text).not.toMatch(/https?:\/\//);
  });

  it.each(SURFACES)('serves the assets the page names on the %s surface, hashed, with their types and a long cache', async (surface) => {
    const app = apps.get(surface)!;
    const page = await request(app).get('/console');
    const assets = [...page.text.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((match) => match[1]);
    expect(assets.map((asset) => path.extname(asset)).sort()).toEqual(['.css', '.js']);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/console\/assets\/console\.[A-Z0-9]{10}\.(js|css)$/);
      const res = await request(app).get(asset);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
      expect(res.headers['content-type']).toBe(asset.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expectSecurityHeaders(res);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(Number(res.headers['content-length'])).toBeGreaterThan(1000);
    }
  });

  it('answers HEAD for the page and an asset with the headers of GET and no body', async () => {
    const app = apps.get('all')!;
    const page = await request(app).head('/console');
    expect(page.status).toBe(200);
    expectSecurityHeaders(page);
    expect(page.text ?? '').toBe('');
    const asset = (await request(app).get('/console')).text.match(/src="(\/console\/assets\/[^"]+)"/)![1];
    const head = await request(app).head(asset);
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(head.text ?? '').toBe('');
  });

  it('answers an asset it does not have with 404 not_found, whatever the name', async () => {
    const app = apps.get('all')!;
    for (const file of ['console.0000000000.js', 'index.html', 'main.ts', '..%2Findex.html', '..%2F..%2Fpackage.json', 'CONSOLE.JS']) {
      const res = await request(app).get(`/console/assets/${file}`);
      expectError(res, 404, 'not_found');
    }
  });

  it('refuses an unknown query parameter on /console with 400 invalid_request', async () => {
    expectError(await request(apps.get('all')!).get('/console?key=kv_x'), 400, 'invalid_request');
  });

  it.each([
    ['all', 'data admin'],
    ['public', 'data'],
    ['internal', 'admin'],
  ] as const)('tells the page on the %s surface which APIs its port serves (%s), so that opening it costs no failed authentication', async (surface, serves) => {
    const res = await request(apps.get(surface)!).get('/console');
    expect(res.text.match(/<meta name="kv-serves" content="([^"]*)">/)?.[1]).toBe(serves);
  });

  it('tells the page that the admin API is not served without an admin token', async () => {
    const app = createApp({
      config: { ...t.config, adminToken: undefined },
      store: t.store,
      logger: pino({ level: 'silent' }),
      rateLimitStore: t.testStore.rateLimitStore,
      isReady: () => true,
    });
    const res = await request(app).get('/console');
    expect(res.text.match(/<meta name="kv-serves" content="([^"]*)">/)?.[1]).toBe('data');
    expectError(await request(app).get('/admin/accounts'), 404, 'not_found');
  });

  it('answers the probes of a page served elsewhere, without credentials: 401 where an API is served, 404 where not', async () => {
    const probe = async (surface: Surface) => ({
      data: (await request(apps.get(surface)!).get('/kv/usage')).status,
      admin: (await request(apps.get(surface)!).get('/admin/accounts')).status,
    });
    expect(await probe('all')).toEqual({ data: 401, admin: 401 });
    expect(await probe('public')).toEqual({ data: 401, admin: 404 });
    expect(await probe('internal')).toEqual({ data: 404, admin: 401 });
  });

  it('answers /console with 404 not_found while the console is not built', async () => {
    const app = express();
    consoleRoutes(app.router, { validators: createValidators(t.config), serves: { data: true, admin: false }, dir: path.join(os.tmpdir(), 'kv-no-console-here') });
    app.use(errorHandler(pino({ level: 'silent' })));
    const res = await request(app).get('/console');
    expectError(res, 404, 'not_found');
    expect(res.body.error.message).toMatch(/not built/);
  });
});
