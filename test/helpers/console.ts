// The console page in Chromium for tests: a service to serve it, pages that record what leaves them, and the steps a user takes.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { KvAdmin, KvClient } from '../../packages/client/src';
import { ADMIN_TOKEN } from './admin-token';
import { CHROMIUM, CHROMIUM_ARGS } from './browser';
import { startService, stopProcess, waitUntilReady, type ServiceProcess } from './processes';
import { waitFor } from './wait';

/** How long one browser step may take before the test fails: long enough for two busy cores, short enough to fail fast. */
export const STEP_MS = 8_000;

/** The built service (dist/main.js) on its embedded store, with the test admin token, serving /console. */
export interface ConsoleService {
  /** Where the console and /kv are served: http://127.0.0.1:<port>. */
  url: string;
  /** With KV_INTERNAL_PORT: the base URL of /admin (and of the console served there). */
  internalUrl?: string;
  /** The admin API of the service (on its internal port when it has one). */
  admin: KvAdmin;
  /** A fresh account of the test's own (random name) and a client bound to its read+write key. */
  newAccount(limits?: { maxKeys?: number; readsPerSecond?: number; writesPerSecond?: number }): Promise<TestConsoleAccount>;
  /** Kills the process (SIGKILL): the port refuses connections until startAgain. */
  kill(): Promise<void>;
  /** Starts the service again on the same port and data directory, and waits until it is ready. */
  startAgain(): Promise<void>;
  /** Kills the process and removes its data. */
  stop(): Promise<void>;
}

/** An account made for one test. */
export interface TestConsoleAccount {
  id: string;
  name: string;
  apiKey: string;
  client: KvClient;
}

/** Starts the built service on a fresh data directory; `env` adds variables (e.g. KV_INTERNAL_PORT). */
export async function startConsoleService(env: Record<string, string> = {}): Promise<ConsoleService> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvtest-console-'));
  let service: ServiceProcess | undefined;
  try {
    service = await startService({ KV_DATA_DIR: path.join(dataDir, 'data'), KV_ADMIN_TOKEN: ADMIN_TOKEN, ...env });
    await waitUntilReady(service.url, 10_000);
  } catch (error) {
    if (service) await stopProcess(service.child);
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  let current = service;
  const { url, port } = current;
  const internalUrl = current.internalPort === undefined ? undefined : `http://127.0.0.1:${current.internalPort}`;
  const admin = new KvAdmin({ url: internalUrl ?? url, adminToken: ADMIN_TOKEN, retry: false });
  return {
    url,
    internalUrl,
    admin,
    async newAccount(limits) {
      const name = `console-test-${crypto.randomBytes(4).toString('hex')}`;
      const { account, apiKey } = await admin.createAccount({ name, ...(limits ? { limits } : {}) });
      return { id: account.id, name, apiKey: apiKey.key, client: new KvClient({ url, apiKey: apiKey.key, retry: false }) };
    },
    async kill() {
      await stopProcess(current.child);
    },
    async startAgain() {
      if (internalUrl) throw new Error('startAgain keeps the public port only; a service with KV_INTERNAL_PORT would move its internal one');
      current = await startService({ KV_DATA_DIR: path.join(dataDir, 'data'), KV_ADMIN_TOKEN: ADMIN_TOKEN, ...env, PORT: String(port) });
      await waitUntilReady(url, 10_000);
    },
    async stop() {
      await stopProcess(current.child);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Debian's chromium, resolving nothing but 127.0.0.1: a request to another host could not succeed even if the page tried. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 15_000,
    args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
}

/** A console page in a browser context of its own (its own sessionStorage), and what it did. */
export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Every request URL the page made, in order. */
  requests: { method: string; url: string }[];
  /** Every response to a request for the console itself (/console…): its URL and Content-Security-Policy. */
  consoleResponses: { url: string; status: number; csp: string | undefined }[];
  /** CSP violations reported in the page (its securitypolicyviolation events and Chromium's console errors). */
  violations: string[];
  /** Uncaught errors in the page. */
  pageErrors: string[];
  /** Waits until no request other than the watch stream has been in flight for 300 ms. */
  settled(): Promise<void>;
  /** What must hold after every walkthrough: nothing went to another origin, no CSP violation, no uncaught error. */
  problems(): { elsewhere: string[]; violations: string[]; pageErrors: string[] };
  close(): Promise<void>;
}

/** Opens `${origin}/console` in a fresh context; `viewport` defaults to a laptop's. */
export async function openConsole(
  browser: Browser,
  origin: string,
  options: { viewport?: { width: number; height: number }; clipboard?: boolean } = {},
): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } });
  context.setDefaultTimeout(STEP_MS);
  if (options.clipboard) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  const requests: ConsolePage['requests'] = [];
  const consoleResponses: ConsolePage['consoleResponses'] = [];
  const violations: string[] = [];
  const pageErrors: string[] = [];
  let inFlight = 0;
  let lastActivity = Date.now();
  const isWatch = (url: string) => new URL(url).pathname === '/kv/watch';
  context.on('request', (request) => {
    requests.push({ method: request.method(), url: request.url() });
    if (!isWatch(request.url())) inFlight++;
    lastActivity = Date.now();
  });
  const done = (request: { url(): string }) => {
    if (!isWatch(request.url())) inFlight--;
    lastActivity = Date.now();
  };
  context.on('requestfinished', done);
  context.on('requestfailed', done);
  context.on('response', (response) => {
    if (new URL(response.url()).pathname.startsWith('/console')) {
      consoleResponses.push({ url: response.url(), status: response.status(), csp: response.headers()['content-security-policy'] });
    }
  });
  // Runs in the page before its own scripts (init scripts are not subject to the page's CSP).
  await context.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) => console.error('securitypolicyviolation: ' + e.violatedDirective + ' ' + e.blockedURI));`,
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && /securitypolicyviolation|Content Security Policy/i.test(text)) violations.push(text);
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${origin}/console`);
  return {
    page,
    context,
    requests,
    consoleResponses,
    violations,
    pageErrors,
    settled: () =>
      waitFor(() => inFlight <= 0 && Date.now() - lastActivity >= 300, { what: 'the page to have no request in flight', timeoutMs: STEP_MS, intervalMs: 50 }).then(() => undefined),
    problems: () => ({
      elsewhere: requests.map((request) => request.url).filter((url) => !url.startsWith(`${origin}/`)),
      violations,
      pageErrors,
    }),
    close: () => context.close(),
  };
}

/** The form named "Sign in", its "API key" field and its button. */
export function signInForm(page: Page): Locator {
  return page.getByRole('form', { name: 'Sign in', exact: true });
}

/** Signs in with `apiKey` as a user would (mouse and typing) and waits for the "Data" link. */
export async function signIn(page: Page, apiKey: string): Promise<void> {
  const form = signInForm(page);
  await form.getByLabel('API key', { exact: true }).fill(apiKey);
  await form.getByRole('button', { name: 'Sign in', exact: true }).click();
  await sections(page).getByRole('link', { name: 'Data', exact: true }).waitFor();
}

/** Signs in with the admin token and waits for the "Admin" link. */
export async function signInAsAdmin(page: Page, token: string): Promise<void> {
  const form = page.getByRole('form', { name: 'Admin sign in', exact: true });
  await form.getByLabel('Admin token', { exact: true }).fill(token);
  await form.getByRole('button', { name: 'Sign in as admin', exact: true }).click();
  await sections(page).getByRole('link', { name: 'Admin', exact: true }).waitFor();
}

/** The navigation named "Sections". */
export function sections(page: Page): Locator {
  return page.getByRole('navigation', { name: 'Sections', exact: true });
}

/** The tree named "Keys". */
export function keysTree(page: Page): Locator {
  return page.getByRole('tree', { name: 'Keys', exact: true });
}

/** The tree item of a folder, named by its segment (without the "/" drawn after it); it is expandable. */
export function folderItem(scope: Locator, segment: string): Locator {
  return scope.getByRole('treeitem', { name: segment, exact: true }).and(scope.locator('[aria-expanded]'));
}

/** The tree item of a key, named by its last segment; not expandable. */
export function keyItem(scope: Locator, segment: string): Locator {
  return scope.getByRole('treeitem', { name: segment, exact: true }).and(scope.locator('[role="treeitem"]:not([aria-expanded])'));
}

/** The region named "Item". */
export function itemRegion(page: Page): Locator {
  return page.getByRole('region', { name: 'Item', exact: true });
}

/** Opens `key` from the "Keys" tree with the mouse: each folder on the way is expanded, then the key is clicked. */
export async function openKey(page: Page, key: string): Promise<Locator> {
  const segments = key.split('/');
  const tree = keysTree(page);
  for (const segment of segments.slice(0, -1)) {
    const folder = folderItem(tree, segment);
    if ((await folder.getAttribute('aria-expanded')) !== 'true') await folder.click();
    await waitFor(async () => (await folder.getAttribute('aria-expanded')) === 'true', { what: `folder ${segment} to expand`, timeoutMs: STEP_MS });
  }
  await keyItem(tree, segments[segments.length - 1]).click();
  const item = itemRegion(page);
  await item.getByRole('heading', { name: key, exact: true }).waitFor();
  return item;
}

/** The version an "Item" (or "Conflict") region shows as "Version <v>". */
export async function shownVersion(region: Locator): Promise<string | undefined> {
  return /Version\s+(\S+)/.exec(await region.innerText())?.[1];
}

/** Seconds left as a timer reads them: "59 s", "1 min 5 s", "2 h 3 min". */
export function timerSeconds(text: string): number {
  const part = (unit: string) => Number(new RegExp(`(\\d+)\\s*${unit}\\b`).exec(text)?.[1] ?? 0);
  if (!/\d/.test(text)) throw new Error(`the timer reads no time: ${JSON.stringify(text)}`);
  return part('h') * 3600 + part('min') * 60 + part('s');
}

/** The value of `key` as its exact JSON text on the server, or null when it does not exist. */
export async function serverRaw(client: KvClient, key: string): Promise<{ raw: string; version: string } | null> {
  const entry = await client.getRaw(key);
  return entry ? { raw: entry.raw, version: entry.version } : null;
}

/** True when the page scrolls sideways (document wider than its viewport). */
export async function scrollsSideways(page: Page): Promise<boolean> {
  return page.evaluate<boolean>('document.scrollingElement.scrollWidth > document.scrollingElement.clientWidth');
}

/**
 * Writes `docs/console/<name>.png` when KV_SCREENSHOTS=1 (the README's pictures); otherwise
 * nothing. `fullPage`: the whole page rather than what the viewport shows.
 */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  if (process.env.KV_SCREENSHOTS !== '1') return;
  const dir = path.join(__dirname, '..', '..', 'docs', 'console');
  fs.mkdirSync(dir, { recursive: true });
  // The caret would blink into one picture and not the next.
  await page.screenshot({ path: path.join(dir, `${name}.png`), caret: 'hide', animations: 'disabled', fullPage: options.fullPage });
}
