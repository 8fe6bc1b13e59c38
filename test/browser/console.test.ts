// The /console page in Debian's chromium, walked through as a user would, against the built service, under its CSP.

import crypto from 'node:crypto';
import type { Browser, Locator, Page } from 'playwright-core';
import { KvClient, rawJson } from '../../packages/client/src';
import { ADMIN_TOKEN } from '../helpers/admin-token';
import { describeBrowser } from '../helpers/browser';
import {
  folderItem,
  itemRegion,
  keyItem,
  keysTree,
  launchChromium,
  openConsole,
  openKey,
  screenshot,
  scrollsSideways,
  sections,
  serverRaw,
  shownVersion,
  signIn,
  signInAsAdmin,
  signInForm,
  startConsoleService,
  STEP_MS,
  timerSeconds,
  type ConsolePage,
  type ConsoleService,
} from '../helpers/console';
import { waitFor } from '../helpers/wait';

const NO_PROBLEMS = { elsewhere: [], violations: [], pageErrors: [] };

/** A few keys in folders and at the top, as an account in use has them. */
async function seed(client: KvClient): Promise<void> {
  await client.set('app/settings/theme', { mode: 'dark', accent: '#3b82f6' });
  await client.set('app/flags/beta', { on: false, rollout: 0.25 });
  await client.set('sessions/7f3a', { user: 42 }, { ttlSeconds: 3600 });
  await client.set('greeting', { hello: 'world' });
}

/** A GET or PUT of `key` with `apiKey`, as any HTTP client makes it: the status and the error code, if any. */
async function request(base: string, apiKey: string, method: 'GET' | 'PUT', key: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${base}/kv/items/${key}`, {
    method,
    headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
    body: method === 'PUT' ? JSON.stringify({ value: 'written' }) : undefined,
  });
  const text = await res.text();
  const code = text ? (JSON.parse(text) as { error?: { code: string } }).error?.code : undefined;
  return code === undefined ? { status: res.status } : { status: res.status, code };
}

/** An alert of the page whose text matches `text`. */
function alertWith(page: Page, text: string | RegExp): Locator {
  return page.getByRole('alert').filter({ hasText: text }).first();
}

/** The CSP directives of `policy`, by name. */
function directives(policy: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) found.set(name.toLowerCase(), sources);
  }
  return found;
}

/** What in `policy` would let an inline or foreign script run; empty when nothing does. */
function scriptLoopholes(policy: string | undefined): string[] {
  if (policy === undefined) return ['no Content-Security-Policy header'];
  const found: string[] = [];
  for (const word of ["'unsafe-inline'", "'unsafe-eval'"]) {
    if (policy.split(/[\s;]+/).includes(word)) found.push(`allows ${word}`);
  }
  const all = directives(policy);
  const scripts = all.get('script-src') ?? all.get('default-src');
  if (JSON.stringify(scripts) !== JSON.stringify(["'self'"])) found.push(`script-src is ${JSON.stringify(scripts)}, not 'self' alone`);
  return found;
}

/** Inline code in `html`: a script without src, an on* handler, a style attribute or element, a javascript: URL. */
function inlineCode(html: string): string[] {
  const found: string[] = [];
  const withoutComments = html.replace(/<!--[\s\S]*?-->/g, '');
  const tags = /<([a-zA-Z][\w-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g;
  for (const [tag, name, attributeText] of withoutComments.matchAll(tags)) {
    const attributes = [...attributeText.matchAll(/([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)].map((match) => ({
      name: match[1].toLowerCase(),
      value: match[2] ?? match[3] ?? match[4] ?? '',
    }));
    if (name.toLowerCase() === 'script' && !attributes.some((attribute) => attribute.name === 'src')) found.push(`inline script: ${tag}`);
    if (name.toLowerCase() === 'style') found.push(`style element: ${tag}`);
    for (const attribute of attributes) {
      if (attribute.name.startsWith('on')) found.push(`${attribute.name}= in ${tag}`);
      if (attribute.name === 'style') found.push(`style= in ${tag}`);
      if (/^\s*javascript:/i.test(attribute.value)) found.push(`javascript: URL in ${tag}`);
    }
  }
  return found;
}

/** Presses Tab until `target` has the focus (at most 40 times). */
async function tabTo(page: Page, target: Locator): Promise<void> {
  for (let presses = 0; presses < 40; presses++) {
    await page.keyboard.press('Tab');
    if (await hasFocus(target)) return;
  }
  throw new Error(`Tab never reached ${target.toString()}`);
}

/** True when the focus is on `target` or inside it; for a tree item, on that item and not on one nested in it. */
async function hasFocus(target: Locator): Promise<boolean> {
  return target.evaluate((element) => {
    const active = element.ownerDocument.activeElement;
    if (!active) return false;
    if (element.getAttribute('role') === 'treeitem') return active.closest('[role="treeitem"]') === element;
    return element === active || element.contains(active);
  });
}

/**
 * Opens `key` from the "Keys" tree with the keyboard alone, as the WAI-ARIA tree pattern has it:
 * Tab into the tree (one Tab stop), Down to move, Right to expand a folder, Enter to open a key.
 */
async function openKeyByKeyboard(page: Page, key: string): Promise<Locator> {
  const tree = keysTree(page);
  const segments = key.split('/');
  await tabTo(page, tree);
  for (const [index, segment] of segments.entries()) {
    const isFolder = index < segments.length - 1;
    const target = isFolder ? folderItem(tree, segment) : keyItem(tree, segment);
    for (let presses = 0; !(await hasFocus(target)); presses++) {
      if (presses === 30) throw new Error(`the Down arrow never reached tree item ${segment}`);
      await page.keyboard.press('ArrowDown');
    }
    if (isFolder) {
      if ((await target.getAttribute('aria-expanded')) !== 'true') await page.keyboard.press('ArrowRight');
      await waitFor(async () => (await target.getAttribute('aria-expanded')) === 'true', { what: `folder ${segment} to expand`, timeoutMs: STEP_MS });
    } else {
      await page.keyboard.press('Enter');
    }
  }
  const item = itemRegion(page);
  await item.getByRole('heading', { name: key, exact: true }).waitFor();
  return item;
}

describeBrowser('the console in Chromium', () => {
  let service: ConsoleService;
  let browser: Browser;
  const pages: ConsolePage[] = [];

  /** A console page on `origin` (the service's by default), closed after the test. */
  async function open(options: Parameters<typeof openConsole>[2] & { origin?: string } = {}): Promise<ConsolePage> {
    const page = await openConsole(browser, options.origin ?? service.url, options);
    pages.push(page);
    return page;
  }

  beforeAll(async () => {
    service = await startConsoleService();
    browser = await launchChromium();
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  afterEach(async () => {
    await Promise.all(pages.splice(0).map((page) => page.close()));
  });

  it('refuses a wrong API key with an "unauthorized" alert, signs in with the right one kept in sessionStorage only, and signs out', async () => {
    const account = await service.newAccount();
    const tab = await open();
    const { page, context } = tab;
    expect(await page.title()).toBe('KV console');
    await page.getByRole('banner').waitFor();
    await page.getByRole('main').waitFor();
    await screenshot(page, 'sign-in');

    const form = signInForm(page);
    await form.getByLabel('API key', { exact: true }).fill(`kv_${crypto.randomBytes(24).toString('base64url')}`);
    await form.getByRole('button', { name: 'Sign in', exact: true }).click();
    await alertWith(page, 'unauthorized').waitFor();
    expect(await form.isVisible()).toBe(true);

    await signIn(page, account.apiKey);
    const nav = sections(page);
    await nav.getByRole('link', { name: 'Usage', exact: true }).waitFor();
    await nav.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
    await tab.settled();
    expect(await nav.getByRole('link', { name: 'Admin', exact: true }).count()).toBe(0);

    const storage = () =>
      page.evaluate<{ session: string[]; local: string[] }>(
        '({ session: Object.keys(sessionStorage).map((k) => k + "=" + sessionStorage.getItem(k)), local: Object.keys(localStorage).map((k) => k + "=" + localStorage.getItem(k)) })',
      );
    const stored = await storage();
    expect(stored.session.some((entry) => entry.includes(account.apiKey))).toBe(true);
    expect(stored.local.filter((entry) => entry.includes(account.apiKey))).toEqual([]);
    expect((await context.cookies()).filter((cookie) => cookie.value.includes(account.apiKey))).toEqual([]);
    expect(tab.requests.filter((request) => request.url.includes(account.apiKey))).toEqual([]);

    // A reload keeps the session (sessionStorage lives as long as the tab).
    await page.reload();
    await sections(page).getByRole('link', { name: 'Data', exact: true }).waitFor();

    await sections(page).getByRole('button', { name: 'Sign out', exact: true }).click();
    await signInForm(page).waitFor();
    expect((await storage()).session.filter((entry) => entry.includes(account.apiKey))).toEqual([]);
    expect(tab.problems()).toEqual(NO_PROBLEMS);
  }, 30_000);

  it('creates a key with a TTL through "New key", shows it in its folder and counts its TTL down; refuses invalid JSON and an existing key with "Only if the key does not exist"', async () => {
    const account = await service.newAccount();
    const tab = await open();
    const { page } = tab;
    await signIn(page, account.apiKey);
    const key = 'app/settings/theme';

    await page.getByRole('button', { name: 'New key', exact: true }).click();
    let form = page.getByRole('form', { name: 'New key', exact: true });
    await form.getByRole('textbox', { name: 'Key', exact: true }).fill(key);
    await form.getByRole('textbox', { name: 'Value (JSON)', exact: true }).fill('{"mode": dark}');
    const puts = () => tab.requests.filter((request) => request.method === 'PUT').length;
    await form.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: /\S/ }).first().waitFor();
    await tab.settled();
    expect(puts()).toBe(0);
    expect(await serverRaw(account.client, key)).toBeNull();

    await form.getByRole('textbox', { name: 'Value (JSON)', exact: true }).fill('{"mode": "dark"}');
    await form.getByRole('spinbutton', { name: 'TTL (seconds)', exact: true }).fill('120');
    await form.getByRole('button', { name: 'Create', exact: true }).click();
    const created = await waitFor(() => account.client.get(key).then((entry) => entry ?? false), { what: `${key} on the server`, timeoutMs: STEP_MS });
    expect(created.value).toEqual({ mode: 'dark' });
    const ttlLeft = Date.parse(created.expiresAt!) - Date.now();
    expect(ttlLeft).toBeGreaterThan(110_000);
    expect(ttlLeft).toBeLessThanOrEqual(121_000);

    const item = await openKey(page, key);
    const timer = item.getByRole('timer', { name: 'Expires in', exact: true });
    const first = timerSeconds(await timer.innerText());
    expect(first).toBeGreaterThan(100);
    expect(first).toBeLessThanOrEqual(120);
    await waitFor(async () => timerSeconds(await timer.innerText()) < first, { what: 'the "Expires in" timer to count down', timeoutMs: 3_000 });

    // The same key again, only if it does not exist: refused, and the key stays as it was.
    const putsBefore = puts();
    if (!(await form.isVisible())) await page.getByRole('button', { name: 'New key', exact: true }).click();
    form = page.getByRole('form', { name: 'New key', exact: true });
    await form.getByRole('textbox', { name: 'Key', exact: true }).fill(key);
    await form.getByRole('textbox', { name: 'Value (JSON)', exact: true }).fill('{"mode": "light"}');
    await form.getByRole('spinbutton', { name: 'TTL (seconds)', exact: true }).fill('');
    await form.getByRole('checkbox', { name: 'Only if the key does not exist', exact: true }).check();
    await form.getByRole('button', { name: 'Create', exact: true }).click();
    await waitFor(() => puts() > putsBefore, { what: 'the page to send the conditional PUT', timeoutMs: STEP_MS });
    await page.getByRole('alert').filter({ hasText: /\S/ }).first().waitFor();
    expect(await account.client.get(key)).toMatchObject({ value: { mode: 'dark' }, version: created.version });
    expect(tab.problems()).toEqual(NO_PROBLEMS);
  }, 30_000);

  it('opens a value with a number beyond 2^53 exact, saves an edit exact keeping its TTL, and shows the new version', async () => {
    const account = await service.newAccount();
    await seed(account.client);
    const key = 'app/settings/limits';
    const seeded = await account.client.set(key, rawJson('{"max": 12345678901234567890, "unit": "bytes"}'), { ttlSeconds: 3600 });
    const tab = await open();
    const { page } = tab;
    await signIn(page, account.apiKey);

    const item = await openKey(page, key);
    const editor = item.getByRole('textbox', { name: 'Value (JSON)', exact: true });
    expect(await editor.inputValue()).toContain('12345678901234567890');
    expect(await shownVersion(item)).toBe(seeded.version);

    await editor.fill('{"max": 98765432109876543210, "unit": "bytes", "note": "raised"}');
    await item.getByRole('button', { name: 'Save', exact: true }).click();
    const saved = await waitFor(async () => {
      const now = await serverRaw(account.client, key);
      return now !== null && now.version !== seeded.version && now;
    }, { what: 'the save to reach the server', timeoutMs: STEP_MS });
    expect(saved.raw.replace(/\s/g, '')).toBe('{"max":98765432109876543210,"unit":"bytes","note":"raised"}');
    // An edit changes the value, not when the key expires.
    expect((await account.client.get(key))!.expiresAt).toBe(seeded.expiresAt);
    await waitFor(async () => (await shownVersion(item)) === saved.version, { what: `"Version ${saved.version}" in the Item region`, timeoutMs: STEP_MS });
    await screenshot(page, 'data-item');

    await item.getByRole('button', { name: 'Reload', exact: true }).click();
    await waitFor(async () => (await editor.inputValue()).includes('98765432109876543210'), { what: 'the reloaded value, exact', timeoutMs: STEP_MS });
    expect(tab.problems()).toEqual(NO_PROBLEMS);
  }, 30_000);

  it('shows theirs and mine when a save meets a write made elsewhere, and keeps mine or takes theirs', async () => {
    const account = await service.newAccount();
    await seed(account.client);
    const key = 'app/flags/beta';
    const tab = await open();
    const { page } = tab;
    await signIn(page, account.apiKey);
    const item = await openKey(page, key);
    const editor = item.getByRole('textbox', { name: 'Value (JSON)', exact: true });
    const conflict = page.getByRole('region', { name: 'Conflict', exact: true });

    await editor.fill('{"on": true, "by": "mine"}');
    const theirs = await account.client.set(key, { on: false, by: 'theirs' });
    await item.getByRole('button', { name: 'Save', exact: true }).click();
    await conflict.waitFor();
    const theirsBox = conflict.getByRole('textbox', { name: 'Theirs', exact: true });
    const mineBox = conflict.getByRole('textbox', { name: 'Mine', exact: true });
    expect(JSON.parse(await theirsBox.inputValue())).toEqual({ on: false, by: 'theirs' });
    expect(JSON.parse(await mineBox.inputValue())).toEqual({ on: true, by: 'mine' });
    expect(await theirsBox.isEditable()).toBe(false);
    expect(await mineBox.isEditable()).toBe(false);
    expect(await conflict.innerText()).toContain(theirs.version);
    await screenshot(page, 'conflict', { fullPage: true });

    await conflict.getByRole('button', { name: 'Keep mine', exact: true }).click();
    await conflict.waitFor({ state: 'hidden' });
    const kept = await account.client.get(key);
    expect(kept).toMatchObject({ value: { on: true, by: 'mine' } });
    expect(kept!.version).not.toBe(theirs.version);
    await waitFor(async () => (await shownVersion(item)) === kept!.version, { what: `"Version ${kept!.version}" after keeping mine`, timeoutMs: STEP_MS });

    // Cancel leaves the editor as it was, and the server too.
    await editor.fill('{"on": "cancelled"}');
    const theirsThen = await account.client.set(key, { on: 'theirs then' });
    await item.getByRole('button', { name: 'Save', exact: true }).click();
    await conflict.waitFor();
    await conflict.getByRole('button', { name: 'Cancel', exact: true }).click();
    await conflict.waitFor({ state: 'hidden' });
    expect(JSON.parse(await editor.inputValue())).toEqual({ on: 'cancelled' });
    expect(await account.client.get(key)).toMatchObject({ value: { on: 'theirs then' }, version: theirsThen.version });

    await editor.fill('{"on": "mine again"}');
    const theirsAgain = await account.client.set(key, { on: 'theirs again' });
    await item.getByRole('button', { name: 'Save', exact: true }).click();
    await conflict.waitFor();
    await conflict.getByRole('button', { name: 'Take theirs', exact: true }).click();
    await conflict.waitFor({ state: 'hidden' });
    expect(JSON.parse(await editor.inputValue())).toEqual({ on: 'theirs again' });
    expect(await account.client.get(key)).toMatchObject({ value: { on: 'theirs again' }, version: theirsAgain.version });
    await waitFor(async () => (await shownVersion(item)) === theirsAgain.version, { what: `"Version ${theirsAgain.version}" after taking theirs`, timeoutMs: STEP_MS });
    expect(tab.problems()).toEqual(NO_PROBLEMS);
  }, 30_000);

  it('deletes a key after confirmation: gone from the tree, the open item closed, and gone from the server', async () => {
    const account = await service.newAccount();
    await seed(account.client);
    const key = 'app/settings/theme';
    const tab = await open();
    const { page } = tab;
    await signIn(page, account.apiKey);
    const item = await openKey(page, key);

    await item.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: `Delete ${key}?`, exact: true });
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await item.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await account.client.get(key)).not.toBeNull();

    await item.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await item.waitFor({ state: 'hidden' });
    await keyItem(keysTree(page), 'theme').waitFor({ state: 'detached' });
    expect(await account.client.get(key)).toBeNull();
    expect(await account.client.get('app/flags/beta')).not.toBeNull();
    expect(tab.problems()).toEqual(NO_PROBLEMS);
  }, 30_000);

  it('shows changes made elsewhere live: new and deleted keys in the tree, the open item reloaded, "Changed elsewhere" over unsaved edits', async () => {
    const account = await service.newAccount();
    await account.client.set('greeting', 'hello');
    await account.client.set('stale', 1);
    const tab = await open();
    const { page } = tab;
    await signIn(page, account.apiKey);
    const tree = keysTree(page);
    await keyItem(tree, 'greeting').waitFor();
    const live = page.getByRole('status', { name: 'Live', exact: true });
    await waitFor(async () => (await live.innerText()).trim() === 'Live', { what: 'the "Live" status to read Live', timeoutMs: STEP_MS });

    await account.client.set('news', 'fresh');
    await account.client.set('feeds/today/1', { title: 'first' });
    await account.client.delete('stale');
    await keyItem(tree, 'news').waitFor();
    await folderItem(tree, 'feeds').waitFor();
    await keyItem(tree, 'stale').waitFor({ state: 'detached' });

    const item = await openKey(page, 'news');
    const editor = item.getByRole('textbox', { name: 'Value (JSON)', exact: true });
    const fresher = await account.client.set('news', 'fresher');
    await waitFor(async () => JSON.parse(await editor.inputValue()) === 'fresher', { what: 'the open item to reload the change', timeoutMs: STEP_MS });
    await waitFor(async () => (await shownVersion(item)) === fresher.version, { what: `"Version ${fresher.version}"`, timeoutMs: STEP_MS });

    await editor.fill('"my unsaved edit"');
    await account.client.set('news', 'freshest');
    await page.getByRole('status', { name: 'Changed elsewhere', exact: true }).waitFor();
    expect(await editor.inputValue()).toBe('"my unsaved edit"');
    expect((await live.innerText()).trim()).toBe('Live');
    expect(tab.problems()).toEqual(NO_PROBLEMS);
  }, 30_000);

  it('reads "Reconnecting…" while the service is down, then "Live" again with the changes made meanwhile in the tree', async () => {
    const own = await startConsoleService();
    try {
      const account = await own.newAccount();
      await account.client.set('before', 1);
      const tab = await open({ origin: own.url });
      const { page } = tab;
      await signIn(page, account.apiKey);
      const live = page.getByRole('status', { name: 'Live', exact: true });
      await waitFor(async () => (await live.innerText()).trim() === 'Live', { what: '"Live" while the stream is open', timeoutMs: STEP_MS });

      await own.kill();
      await waitFor(async () => (await live.innerText()).trim() === 'Reconnecting…', { what: '"Reconnecting…" while the service is down', timeoutMs: STEP_MS });
      // The page stays cut off from the stream while a change is made (as when another replica
      // takes the write): once it is back, the change must show, not only "Live".
      const isWatch = (url: URL) => url.pathname === '/kv/watch';
      await page.route(isWatch, (route) => route.abort('connectionrefused'));
      await own.startAgain();
      await account.client.set('after', 2);
      expect((await live.innerText()).trim()).toBe('Reconnecting…');
      await page.unroute(isWatch);
      await waitFor(async () => (await live.innerText()).trim() === 'Live', { what: '"Live" once the stream is open again', timeoutMs: STEP_MS });
      await keyItem(keysTree(page), 'after').waitFor();
      expect(tab.problems()).toEqual(NO_PROBLEMS);
    } finally {
      await Promise.all(pages.splice(0).map((page) => page.close()));
      await own.stop();
    }
  }, 40_000);

  it('pages the tree with "Load more" past 100 keys and narrows it to a prefix', async () => {
    const account = await service.newAccount();
    await seed(account.client);
    const logs = Array.from({ length: 105 }, (_, index) => `logs/${String(index + 1).padStart(4, '0')}`);
    for (let start = 0; start < logs.length; start += 25) {
      await Promise.all(logs.slice(start, start + 25).map((key) => account.client.set(key, { line: key })));
    }
    const tab = await open();
    const { page } = tab;
    await signIn(page, account.apiKey);
    const tree = keysTree(page);
    const loadMore = page.getByRole('button', { name: 'Load more', exact: true });

    // Byte order: app/…, greeting, logs/0001… — a first page of 100 keys ends before the last logs.
    const logsFolder = folderItem(tree, 'logs');
    await logsFolder.click();
    await keyItem(tree, '0001').waitFor();
    await loadMore.waitFor();
    expect(await keyItem(tree, '0105').count()).toBe(0);
    await loadMore.click();
    await keyItem(tree, '0105').waitFor();
    await loadMore.waitFor({ state: 'hidden' });
    expect(await tree.getByRole('treeitem').filter({ hasText: /^\d{4}$/ }).count()).toBe(105);

    await page.getByRole('textbox', { name: 'Prefix', exact: true }).fill('app/');
    await keyItem(tree, 'greeting').waitFor({ state: 'detached' });
    await folderItem(tree, 'settings').waitFor();
    expect(await folderItem(tree, 'logs').count()).toBe(0);
    await page.getByRole('textbox', { name: 'Prefix', exact: true }).fill('');
    await keyItem(tree, 'greeting').waitFor();
    expect(tab.problems()).toEqual(NO_PROBLEMS);
  }, 30_000);

  it("shows the account's key count against its limit and its read and write rates", async () => {
    const account = await service.newAccount({ maxKeys: 50, readsPerSecond: 40, writesPerSecond: 20 });
    await seed(account.client);
    const tab = await open();
    const { page } = tab;
    await signIn(page, account.apiKey);
    await sections(page).getByRole('link', { name: 'Usage', exact: true }).click();
    const main = page.getByRole('main');
    await main.getByText('Writes per second', { exact: true }).first().waitFor();
    const text = await main.innerText();
    expect(text).toMatch(/Keys\s[^\n]*?\b4\b[\s\S]{0,40}?\b50\b/);
    expect(text).toMatch(/Reads per second\s[\s\S]{0,30}?\b40\b/);
    expect(text).toMatch(/Writes per second\s[\s\S]{0,30}?\b20\b/);
    expect(tab.problems()).toEqual(NO_PROBLEMS);
  }, 30_000);

  it('creates an account and a read-only key limited to a prefix with an expiry, each key shown once, sets limits, revokes the key and deletes the account', async () => {
    const tab = await open({ clipboard: true });
    const { page, context } = tab;
    await signInAsAdmin(page, ADMIN_TOKEN);
    // The admin token, like an API key, stays in this tab's sessionStorage only.
    const stored = await page.evaluate<{ session: string; local: string }>('({ session: JSON.stringify({ ...sessionStorage }), local: JSON.stringify({ ...localStorage }) })');
    expect(stored.session).toContain(ADMIN_TOKEN);
    expect(stored.local).not.toContain(ADMIN_TOKEN);
    expect((await context.cookies()).filter((cookie) => cookie.value.includes(ADMIN_TOKEN))).toEqual([]);
    await sections(page).getByRole('link', { name: 'Admin', exact: true }).click();
    const accounts = page.getByRole('table', { name: 'Accounts', exact: true });
    await accounts.waitFor();

    const name = `console-admin-${crypto.randomBytes(4).toString('hex')}`;
    await page.getByRole('button', { name: 'New account', exact: true }).click();
    const accountForm = page.getByRole('form', { name: 'New account', exact: true });
    await accountForm.getByRole('textbox', { name: 'Name', exact: true }).fill(name);
    await accountForm.getByRole('spinbutton', { name: 'Max keys', exact: true }).fill('500');
    await accountForm.getByRole('button', { name: 'Create account', exact: true }).click();
    const shownOnce = page.getByRole('region', { name: 'New API key', exact: true });
    await shownOnce.waitFor();
    const accountKey = /kv_[A-Za-z0-9_-]{20,}/.exec(await shownOnce.innerText())?.[0];
    expect(accountKey).toBeDefined();
    await shownOnce.getByRole('button', { name: 'Copy', exact: true }).click();
    await waitFor(async () => (await page.evaluate<string>('navigator.clipboard.readText()')) === accountKey, { what: 'the key on the clipboard', timeoutMs: STEP_MS });
    await shownOnce.getByRole('button', { name: 'Done', exact: true }).click();
    await shownOnce.waitFor({ state: 'hidden' });

    const accountsNow: { id: string; name: string | null; limitOverrides: unknown }[] = [];
    for await (const account of service.admin.allAccounts()) accountsNow.push(account);
    const created = accountsNow.find((account) => account.name === name);
    expect(created).toMatchObject({ limitOverrides: { maxKeys: 500 } });
    const id = created!.id;
    const owner = new KvClient({ url: service.url, apiKey: accountKey!, retry: false });
    await owner.set('flags/dark-mode', true);
    await owner.set('billing/plan', 'pro');
    // The key itself is never shown again: not in the table, not anywhere on the page.
    await accounts.getByRole('row').filter({ hasText: name }).first().waitFor();
    expect(await page.getByRole('main').innerText()).not.toContain(accountKey);
    await screenshot(page, 'admin-accounts');

    await accounts.getByRole('row').filter({ hasText: id }).first().getByText(id, { exact: true }).click();
    const region = page.getByRole('region', { name: `Account ${id}`, exact: true });
    await region.waitFor();

    await region.getByRole('spinbutton', { name: 'Max keys', exact: true }).fill('600');
    await region.getByRole('button', { name: 'Save limits', exact: true }).click();
    await waitFor(async () => (await service.admin.getAccount(id))?.account.limits.maxKeys === 600, { what: 'maxKeys 600 on the server', timeoutMs: STEP_MS });

    await region.getByRole('button', { name: 'New API key', exact: true }).click();
    const keyForm = page.getByRole('form', { name: `New API key for ${id}`, exact: true });
    await keyForm.getByRole('textbox', { name: 'Name', exact: true }).fill('flags reader');
    await keyForm.getByRole('radiogroup', { name: 'Scopes', exact: true }).getByRole('radio', { name: 'Read only', exact: true }).check();
    await keyForm.getByRole('textbox', { name: 'Prefix', exact: true }).fill('flags/');
    // A day ahead, to the minute, in the browser's own time zone as datetime-local takes it.
    const local = await page.evaluate<string>(
      '(() => { const d = new Date(Date.now() + 86400000); const p = (n) => String(n).padStart(2, "0"); return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + "T" + p(d.getHours()) + ":" + p(d.getMinutes()); })()',
    );
    const expiresAt = new Date(await page.evaluate<number>(`new Date(${JSON.stringify(local)}).getTime()`)).toISOString();
    await keyForm.getByLabel('Expires at', { exact: true }).fill(local);
    await keyForm.getByRole('button', { name: 'Create key', exact: true }).click();
    await shownOnce.waitFor();
    const readerKey = /kv_[A-Za-z0-9_-]{20,}/.exec(await shownOnce.innerText())?.[0];
    expect(readerKey).toBeDefined();
    expect(readerKey).not.toBe(accountKey);
    await shownOnce.getByRole('button', { name: 'Copy', exact: true }).waitFor();
    await screenshot(page, 'new-api-key', { fullPage: true });
    await shownOnce.getByRole('button', { name: 'Done', exact: true }).click();
    await shownOnce.waitFor({ state: 'hidden' });

    const reader = (await service.admin.listKeys(id)).find((apiKey) => apiKey.name === 'flags reader');
    expect(reader).toMatchObject({ scopes: ['read'], prefix: 'flags/', expiresAt });
    expect(await request(service.url, readerKey!, 'GET', 'flags/dark-mode')).toEqual({ status: 200 });
    expect(await request(service.url, readerKey!, 'GET', 'billing/plan')).toEqual({ status: 403, code: 'forbidden' });
    expect(await request(service.url, readerKey!, 'PUT', 'flags/dark-mode')).toEqual({ status: 403, code: 'forbidden' });

    const keysTable = region.getByRole('table', { name: 'API keys', exact: true });
    const readerRow = keysTable.getByRole('row').filter({ hasText: reader!.id });
    expect(await readerRow.innerText()).toContain('flags/');
    await readerRow.getByRole('button', { name: 'Revoke', exact: true }).click();
    const revoke = page.getByRole('dialog', { name: `Revoke ${reader!.id}?`, exact: true });
    await revoke.getByRole('button', { name: 'Revoke', exact: true }).click();
    await revoke.waitFor({ state: 'hidden' });
    await readerRow.waitFor({ state: 'detached' });
    await waitFor(async () => (await request(service.url, readerKey!, 'GET', 'flags/dark-mode')).status === 401, { what: 'the revoked key to be refused', timeoutMs: 3_000 });
    expect(await request(service.url, readerKey!, 'GET', 'flags/dark-mode')).toEqual({ status: 401, code: 'unauthorized' });

    await region.getByRole('button', { name: 'Delete account', exact: true }).click();
    const deleteAccount = page.getByRole('dialog', { name: `Delete account ${id}?`, exact: true });
    const confirm = deleteAccount.getByRole('button', { name: 'Delete', exact: true });
    expect(await confirm.isEnabled()).toBe(false);
    await deleteAccount.getByRole('textbox', { name: 'Type the account id', exact: true }).fill(id);
    await waitFor(() => confirm.isEnabled(), { what: 'Delete to enable once the id is typed', timeoutMs: STEP_MS });
    await confirm.click();
    await waitFor(async () => (await service.admin.getAccount(id)) === null, { what: `account ${id} deleted`, timeoutMs: STEP_MS });
    await accounts.getByRole('row').filter({ hasText: id }).first().waitFor({ state: 'detached' });
    expect(await request(service.url, accountKey!, 'GET', 'flags/dark-mode')).toEqual({ status: 401, code: 'unauthorized' });
    expect(tab.problems()).toEqual(NO_PROBLEMS);
  }, 40_000);

  it('pages the Accounts table with "Load more" until every account is listed', async () => {
    for (let start = 0; start < 60; start += 20) {
      await Promise.all(Array.from({ length: 20 }, () => service.newAccount()));
    }
    const everyId: string[] = [];
    for await (const account of service.admin.allAccounts()) everyId.push(account.id);
    const tab = await open();
    const { page } = tab;
    await signInAsAdmin(page, ADMIN_TOKEN);
    await sections(page).getByRole('link', { name: 'Admin', exact: true }).click();
    const accounts = page.getByRole('table', { name: 'Accounts', exact: true });
    const rows = accounts.getByRole('row').filter({ hasText: /acc_|default/ });
    const loadMore = page.getByRole('button', { name: 'Load more', exact: true });
    await rows.first().waitFor();
    await loadMore.waitFor();
    const firstPage = await rows.count();
    expect(firstPage).toBeLessThan(everyId.length);
    for (let clicks = 0; (await loadMore.isVisible()) && clicks < 10; clicks++) {
      const before = await rows.count();
      await loadMore.click();
      await waitFor(async () => (await rows.count()) > before, { what: 'another page of accounts', timeoutMs: STEP_MS });
    }
    const listed = (await rows.allInnerTexts()).map((text) => /acc_[0-9a-f]{20}|default/.exec(text)?.[0]);
    expect(listed).toEqual(everyId);
    expect(tab.problems()).toEqual(NO_PROBLEMS);
  }, 30_000);

  it('shows no Admin on the public port and Admin but no Data on the internal port when KV_INTERNAL_PORT is set', async () => {
    const split = await startConsoleService({ KV_INTERNAL_PORT: '0' });
    try {
      const account = await split.newAccount();
      const onPublic = await open({ origin: split.url });
      await signInForm(onPublic.page).waitFor();
      await onPublic.settled();
      expect(await onPublic.page.getByRole('form', { name: 'Admin sign in', exact: true }).count()).toBe(0);
      await signIn(onPublic.page, account.apiKey);
      await onPublic.settled();
      expect(await sections(onPublic.page).getByRole('link', { name: 'Admin', exact: true }).count()).toBe(0);
      expect(onPublic.problems()).toEqual(NO_PROBLEMS);

      expect(split.internalUrl).toBeDefined();
      const onInternal = await open({ origin: split.internalUrl! });
      await signInAsAdmin(onInternal.page, ADMIN_TOKEN);
      await sections(onInternal.page).getByRole('link', { name: 'Admin', exact: true }).click();
      await onInternal.page.getByRole('table', { name: 'Accounts', exact: true }).waitFor();
      await onInternal.settled();
      expect(await sections(onInternal.page).getByRole('link', { name: 'Data', exact: true }).count()).toBe(0);
      expect(onInternal.problems()).toEqual(NO_PROBLEMS);
      for (const response of [...onPublic.consoleResponses, ...onInternal.consoleResponses]) {
        expect({ url: response.url, loopholes: scriptLoopholes(response.csp) }).toEqual({ url: response.url, loopholes: [] });
      }
    } finally {
      await Promise.all(pages.splice(0).map((page) => page.close()));
      await split.stop();
    }
  }, 40_000);

  it('signs in and opens a key on a phone-sized screen (375×740) without scrolling sideways', async () => {
    const account = await service.newAccount();
    await seed(account.client);
    const tab = await open({ viewport: { width: 375, height: 740 } });
    const { page } = tab;
    await signInForm(page).waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    await signIn(page, account.apiKey);
    await keyItem(keysTree(page), 'greeting').waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    const item = await openKey(page, 'app/settings/theme');
    await item.getByRole('button', { name: 'Save', exact: true }).waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    await screenshot(page, 'phone');
    expect(tab.problems()).toEqual(NO_PROBLEMS);
  }, 30_000);

  it('signs in, opens a key and saves an edit with the keyboard alone', async () => {
    const account = await service.newAccount();
    await seed(account.client);
    const key = 'app/settings/theme';
    const before = await account.client.get(key);
    const tab = await open();
    const { page } = tab;

    await tabTo(page, signInForm(page).getByLabel('API key', { exact: true }));
    await page.keyboard.type(account.apiKey);
    await page.keyboard.press('Enter');
    await sections(page).getByRole('link', { name: 'Data', exact: true }).waitFor();

    const item = await openKeyByKeyboard(page, key);
    await tabTo(page, item.getByRole('textbox', { name: 'Value (JSON)', exact: true }));
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('42');
    await tabTo(page, item.getByRole('button', { name: 'Save', exact: true }));
    await page.keyboard.press('Enter');
    await waitFor(async () => (await account.client.get(key))?.value === 42, { what: 'the value saved by keyboard', timeoutMs: STEP_MS });
    expect((await account.client.get(key))!.version).not.toBe(before!.version);
    expect(tab.problems()).toEqual(NO_PROBLEMS);
  }, 30_000);

  it('serves every console response with a CSP that allows no inline or foreign script, and HTML with no inline code', async () => {
    // The check itself catches what it must.
    expect(inlineCode('<script>alert(1)</script><div onclick="x()" style="color:red"><a href="javascript:x()">')).toHaveLength(4);
    expect(scriptLoopholes("default-src 'self'; script-src 'self' 'unsafe-inline'")).toHaveLength(2);

    const res = await fetch(`${service.url}/console`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(scriptLoopholes(res.headers.get('content-security-policy') ?? undefined)).toEqual([]);
    const html = await res.text();
    expect(inlineCode(html)).toEqual([]);
    expect(html).toMatch(/<script\b[^>]*\bsrc=/);

    const account = await service.newAccount();
    await seed(account.client);
    const tab = await open();
    const { page } = tab;
    await signIn(page, account.apiKey);
    await openKey(page, 'app/settings/theme');
    await tab.settled();
    // Nothing inline was added at run time either (a CSP would block it, but it should not be there).
    const inlineNow = await page.evaluate<string[]>(
      '[...document.querySelectorAll("*")].flatMap((el) => [...(el.tagName === "SCRIPT" && !el.src ? ["inline script"] : []), ...[...el.attributes].filter((a) => a.name.startsWith("on")).map((a) => a.name + "= on " + el.tagName)])',
    );
    expect(inlineNow).toEqual([]);
    expect(tab.consoleResponses.length).toBeGreaterThanOrEqual(2);
    for (const response of tab.consoleResponses) {
      expect({ url: response.url, loopholes: scriptLoopholes(response.csp) }).toEqual({ url: response.url, loopholes: [] });
    }
    expect(tab.problems()).toEqual(NO_PROBLEMS);
  }, 30_000);

  describe('with a small failed-authentication budget (KV_AUTH_FAILURES_PER_MINUTE=4)', () => {
    let limited: ConsoleService;

    beforeAll(async () => {
      limited = await startConsoleService({ KV_AUTH_FAILURES_PER_MINUTE: '4' });
    }, 30_000);

    afterAll(async () => {
      await limited?.stop();
    });

    it('lets a right key sign in after the console was opened more often than the budget of failures allows', async () => {
      // Opening the page is no failed authentication: a team behind one address opens it all day.
      for (let opened = 0; opened < 3; opened++) {
        const tab = await open({ origin: limited.url });
        await signInForm(tab.page).waitFor();
        await tab.settled();
        await tab.close();
      }
      // Another right key, from another client at the same address, is not refused either.
      const other = await limited.newAccount();
      expect(await request(limited.url, other.apiKey, 'GET', 'anything')).toEqual({ status: 404, code: 'not_found' });
      const account = await limited.newAccount();
      const tab = await open({ origin: limited.url });
      await signIn(tab.page, account.apiKey);
      expect(tab.problems()).toEqual(NO_PROBLEMS);
    }, 30_000);

    it('shows a "rate_limited" alert when a sign-in is refused for too many failed authentications from this address', async () => {
      for (let failures = 0; failures < 5; failures++) {
        await request(limited.url, `kv_${crypto.randomBytes(24).toString('base64url')}`, 'GET', 'anything');
      }
      expect(await request(limited.url, `kv_${crypto.randomBytes(24).toString('base64url')}`, 'GET', 'anything')).toEqual({ status: 429, code: 'rate_limited' });
      const account = await limited.newAccount();
      const tab = await open({ origin: limited.url });
      const form = signInForm(tab.page);
      await form.getByLabel('API key', { exact: true }).fill(account.apiKey);
      await form.getByRole('button', { name: 'Sign in', exact: true }).click();
      await alertWith(tab.page, 'rate_limited').waitFor();
      expect(await form.isVisible()).toBe(true);
      expect(tab.problems()).toEqual(NO_PROBLEMS);
    }, 30_000);
  });
});
