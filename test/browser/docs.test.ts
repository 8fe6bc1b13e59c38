// The /docs page in a real browser: Debian's chromium renders every operation offline, under its CSP.

import http from 'node:http';
import type net from 'node:net';
import express from 'express';
import pino from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { errorHandler } from '../../src/http/error-handler';
import { openApiRoutes } from '../../src/http/openapi-routes';
import { ALL_ROUTES, ROUTES } from '../../src/http/routes';
import { appOn, testConfig } from '../helpers/app';
import { CHROMIUM, CHROMIUM_ARGS, describeBrowser } from '../helpers/browser';
import { createTestStore, type TestStore } from '../helpers/stores';

describeBrowser('the /docs page in Chromium', () => {
  let testStore: TestStore;
  let server: http.Server;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    testStore = await createTestStore('sqlite');
    const config = testConfig(testStore);
    const app = express();
    // As app.ts mounts it: the documentation routes first, without authentication.
    openApiRoutes(app.router, config);
    app.use(appOn(testStore, { config }));
    app.use(errorHandler(pino({ level: 'silent' })));
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await testStore?.destroy();
  });

  it('renders every documented operation without loading anything from another host or breaking its CSP', async () => {
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    const problems: string[] = [];
    // Anything not on the service's own address is cut off and recorded: the page must work offline.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${base}/`)) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));

    await page.goto(`${base}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });

    expect(await page.locator('.opblock').count()).toBe(ALL_ROUTES.length);
    expect(await page.locator('.info .title').innerText()).toMatch(/^KV/);
    const shown = await page.locator('.opblock-summary-path').allInnerTexts();
    expect(new Set(shown.map((text) => text.replace(/\u200b/g, '').trim()))).toEqual(new Set(ROUTES.map((route) => route.path)));
    // Opened, an operation with a body draws its parameters, schemas and responses: more markup under the same CSP.
    const withBodies = ROUTES.filter((route) => route.requestBody).map((route) => route.operationId);
    for (const operationId of withBodies) await page.locator(`[id$="-${operationId}"] .opblock-summary`).click();
    await page.locator('.opblock-body').nth(withBodies.length - 1).waitFor({ timeout: 10_000 });
    await page.locator('.opblock-body .model-example').first().waitFor({ timeout: 10_000 });
    expect({ elsewhere, problems }).toEqual({ elsewhere: [], problems: [] });
    await page.close();
    // Chromium rendering the whole document and opening each operation with a body: about 50 s on a
    // busy 2-core machine, and past 60 s once in a fresh-clone CI run. The page's speed is not what this checks.
  }, 180_000);
});
