// Data: keys under a prefix as a tree, one item open in a JSON editor (raw text, saved with
// If-Match, a conflict view on 412), new keys, deletion, and live updates through the watch stream.

import {
  KvClient,
  KvError,
  KvPreconditionFailedError,
  rawJson,
  type FetchFunction,
  type ListedItem,
  type RawEntry,
  type WatchEvent,
} from '../../packages/client/src';
import { check, field, formatDuration, formatTime, h, openDialog, replace } from './dom';
import type { Feedback } from './feedback';
import { formatJson, jsonProblem } from './json-text';
import { KeyTree } from './key-tree';

const PAGE_SIZE = 100;

/** The open item: what the editor started from, to tell edits from changes made elsewhere. */
interface OpenItem {
  key: string;
  version: string;
  expiresAt: string | null;
  /** The text as loaded or last saved; the editor differs from it when there are unsaved edits. */
  baseline: string;
  region: HTMLElement;
  editor: HTMLTextAreaElement;
  versionText: HTMLElement;
  expiry: HTMLElement;
  changed: HTMLElement;
  conflictSlot: HTMLElement;
}

export class DataView {
  readonly element: HTMLElement;
  private readonly heading = h('h1', { id: 'data-title', tabindex: '-1' }, 'Data');
  private readonly prefixInput = h('input', { type: 'text', name: 'prefix', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', placeholder: 'e.g. config/' });
  private readonly live = h('span', { role: 'status', 'aria-label': 'Live', class: 'live is-reconnecting' }, 'Reconnecting…');
  private readonly tree: KeyTree;
  private readonly treeEmpty = h('p', { class: 'empty' }, 'Loading…');
  private readonly loadMore = h('button', { type: 'button', hidden: true }, 'Load more');
  private readonly newKeyButton = h('button', { type: 'button', class: 'primary' }, 'New key');
  private readonly detail = h('div', { class: 'detail' });
  private readonly timers: number;

  private prefix = '';
  private keys = new Map<string, ListedItem>();
  private nextCursor: string | null = null;
  /** Bumped on every prefix change: answers and events of an older prefix are dropped. */
  private generation = 0;
  private watchAbort: AbortController | null = null;
  /** Events that arrive while the first page loads, applied after it (the page is the snapshot). */
  private buffered: WatchEvent[] | null = null;
  private item: OpenItem | null = null;
  private newKeyForm: HTMLFormElement | null = null;
  /** A save of the open item in flight: events of that key wait for it, to tell our write from others'. */
  private pendingWrite: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kv: KvClient,
    private readonly apiKey: string,
    private readonly feedback: Feedback,
    /** Told when the service refuses the key (revoked, expired, account deleted). */
    private readonly onRefused: (error: unknown) => void,
  ) {
    this.tree = new KeyTree(
      (key) =>
        void this.feedback.run(async () => {
          if (key !== this.item?.key && (await this.mayLeaveItem())) await this.open(key);
        }),
    );
    let debounce = 0;
    this.prefixInput.addEventListener('input', () => {
      clearTimeout(debounce);
      debounce = window.setTimeout(() => this.setPrefix(this.prefixInput.value), 300);
    });
    this.prefixInput.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter') return;
      event.preventDefault();
      clearTimeout(debounce);
      this.setPrefix(this.prefixInput.value);
    });
    this.loadMore.addEventListener('click', () => void this.feedback.run(() => this.loadPage(this.generation, this.nextCursor), this.loadMore));
    this.newKeyButton.addEventListener('click', () =>
      void this.feedback.run(async () => {
        if (await this.mayLeaveItem()) this.openNewKey();
      }),
    );

    this.element = h(
      'section',
      { class: 'panel data', 'aria-labelledby': 'data-title' },
      h('div', { class: 'section-head' }, this.heading, this.live, this.newKeyButton),
      h(
        'div',
        { class: 'columns' },
        h(
          'div',
          { class: 'browser' },
          field('Prefix', this.prefixInput),
          this.tree.element,
          this.treeEmpty,
          h('div', { class: 'actions' }, this.loadMore),
        ),
        this.detail,
      ),
    );
    this.renderDetailEmpty();
    this.timers = window.setInterval(() => this.tick(), 1000);
    this.restart();
  }

  focus(): void {
    this.heading.focus();
  }

  /** Stops the stream and the countdown (sign-out). */
  dispose(): void {
    this.generation++;
    this.watchAbort?.abort();
    clearInterval(this.timers);
  }

  // ---- listing and live updates ----

  private setPrefix(prefix: string): void {
    if (prefix === this.prefix) return;
    this.prefix = prefix;
    this.restart();
  }

  /**
   * Follows the prefix's changes, then lists it: the listing is read once the stream is open, so
   * the listing plus the events miss nothing. Without a stream (refused, or slow), it lists anyway.
   */
  private restart(): void {
    const generation = ++this.generation;
    this.watchAbort?.abort();
    const controller = new AbortController();
    this.watchAbort = controller;
    this.keys = new Map();
    this.nextCursor = null;
    this.buffered = [];
    this.treeEmpty.textContent = 'Loading…';
    this.treeEmpty.hidden = false;
    this.tree.show(this.prefix, []);
    this.loadMore.hidden = true;
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    void this.follow(generation, controller.signal, opened);
    void Promise.race([open, new Promise((resolve) => setTimeout(resolve, 1500))]).then(() =>
      this.loadPage(generation, null).catch((error: unknown) => {
        if (generation === this.generation) this.feedback.error(error);
      }),
    );
  }

  private async loadPage(generation: number, cursor: string | null): Promise<void> {
    const page = await this.kv.list({ prefix: this.prefix || undefined, cursor: cursor ?? undefined, limit: PAGE_SIZE });
    if (generation !== this.generation) return;
    for (const item of page.items) this.keys.set(item.key, item);
    this.nextCursor = page.nextCursor;
    const buffered = this.buffered;
    this.buffered = null;
    for (const event of buffered ?? []) this.applyToListing(event);
    this.renderTree();
  }

  private renderTree(): void {
    const items = [...this.keys.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.tree.show(this.prefix, items);
    this.tree.select(this.item?.key ?? null);
    this.loadMore.hidden = this.nextCursor === null;
    this.treeEmpty.hidden = items.length > 0;
    this.treeEmpty.textContent = this.prefix ? `No keys start with “${this.prefix}”.` : 'No keys yet. Create one with “New key”.';
  }

  private async follow(generation: number, signal: AbortSignal, opened: () => void): Promise<void> {
    const setLive = (state: 'live' | 'reconnecting' | 'off', text?: string) => {
      if (generation !== this.generation) return;
      this.live.className = `live is-${state}`;
      this.live.textContent = text ?? (state === 'live' ? 'Live' : 'Reconnecting…');
    };
    setLive('reconnecting');
    const client = new KvClient({ url: location.origin, apiKey: this.apiKey, fetch: trackingFetch(() => setLive('reconnecting')) });
    try {
      const events = client.watch({ prefix: this.prefix || undefined, signal, onOpen: () => (setLive('live'), opened()) });
      for await (const event of events) {
        if (generation !== this.generation) return;
        void this.apply(event);
      }
    } catch (error) {
      if (signal.aborted || generation !== this.generation) return;
      if (error instanceof KvError && error.status === 404) setLive('off', 'Not live: this server keeps no change log');
      else if (error instanceof KvError && error.status === 401) {
        setLive('off', 'Not live');
        this.onRefused(error);
      } else {
        setLive('off', 'Not live');
        this.feedback.error(error);
      }
    } finally {
      opened();
    }
  }

  private async apply(event: WatchEvent): Promise<void> {
    if (this.buffered) this.buffered.push(event);
    else this.applyToListing(event);
    if (event.type === 'reset') {
      // The stream could not resume: what changed meanwhile is unknown, so read everything again.
      this.restart();
      const open = this.item;
      if (open && open.editor.value === open.baseline && !open.conflictSlot.hasChildNodes()) {
        await this.reload(open).catch((error: unknown) => this.feedback.error(error));
      }
      return;
    }
    const item = this.item;
    if (!item || item.key !== event.key) return;
    await this.pendingWrite;
    if (this.item !== item) return;
    if (event.type === 'set' && event.version === item.version) return;
    if (item.editor.value === item.baseline && !item.conflictSlot.hasChildNodes()) {
      if (event.type === 'set') await this.reload(item).catch((error: unknown) => this.feedback.error(error));
      else {
        this.closeItem();
        this.feedback.notice(`${event.key} ${event.type === 'expire' ? 'expired' : 'was deleted elsewhere'}.`);
      }
    } else {
      item.changed.hidden = false;
      item.changed.textContent =
        event.type === 'set'
          ? 'Changed elsewhere: Reload for their version, or Save to compare.'
          : 'Changed elsewhere: the key was deleted. Save to compare and create it again.';
    }
  }

  private applyToListing(event: WatchEvent): void {
    if (event.type === 'reset') return;
    if (!event.key.startsWith(this.prefix)) return;
    if (event.type === 'set') this.keys.set(event.key, { key: event.key, version: event.version ?? '', expiresAt: event.expiresAt });
    else this.keys.delete(event.key);
    this.renderTree();
  }

  // ---- the open item ----

  private renderDetailEmpty(): void {
    replace(this.detail, h('div', { class: 'empty-detail' }, h('p', null, 'Select a key to see and edit its value, or create one with “New key”.')));
  }

  /** True when the open item has no unsaved edits, or the user chose to discard them. */
  private async mayLeaveItem(): Promise<boolean> {
    const item = this.item;
    if (!item || item.editor.value === item.baseline) return true;
    return openDialog({
      title: `Discard your changes to ${item.key}?`,
      body: [h('p', null, 'The value in the editor has not been saved.')],
      confirm: 'Discard',
      danger: true,
    });
  }

  private async open(key: string): Promise<void> {
    const entry = await this.kv.getRaw(key);
    if (!entry) {
      this.keys.delete(key);
      this.renderTree();
      throw new Error(`${key} does not exist any more.`);
    }
    this.showItem(entry);
    this.tree.select(key);
  }

  private showItem(entry: RawEntry): void {
    this.closeNewKey();
    const editor = h('textarea', { rows: 12, spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', class: 'editor' });
    editor.value = entry.raw;
    const versionText = h('span', { class: 'version' });
    const expiry = h('span', { class: 'expiry' });
    const changed = h('p', { role: 'status', 'aria-label': 'Changed elsewhere', class: 'changed', hidden: true });
    const conflictSlot = h('div', { class: 'conflict-slot' });
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
    const reload = h('button', { type: 'button' }, 'Reload');
    const format = h('button', { type: 'button' }, 'Format');
    const remove = h('button', { type: 'button', class: 'danger' }, 'Delete');
    const close = h('button', { type: 'button', class: 'link close', 'aria-label': 'Close item' }, 'Close');
    const dirty = h('span', { class: 'dirty', hidden: true }, 'Unsaved changes');
    const form = h('form', { class: 'item-form' }, field('Value (JSON)', editor), h('div', { class: 'actions' }, save, dirty, reload, format, remove));
    const region = h(
      'section',
      { 'aria-label': 'Item', class: 'item card' },
      h('div', { class: 'item-head' }, h('h2', { class: 'key-name' }, entry.key), close),
      h('p', { class: 'meta' }, versionText, expiry, h('span', { class: 'updated' }, `Updated ${formatTime(entry.updatedAt)}`)),
      changed,
      form,
      conflictSlot,
    );
    const item: OpenItem = { key: entry.key, version: entry.version, expiresAt: entry.expiresAt, baseline: entry.raw, region, editor, versionText, expiry, changed, conflictSlot };
    this.item = item;
    this.updateMeta(item);

    editor.addEventListener('input', () => (dirty.hidden = editor.value === item.baseline));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.feedback.run(async () => {
        await this.save(item);
        dirty.hidden = true;
      }, save);
    });
    reload.addEventListener('click', () =>
      void this.feedback.run(async () => {
        await this.reload(item);
        dirty.hidden = true;
      }, reload),
    );
    format.addEventListener('click', () => {
      const problem = jsonProblem(editor.value);
      if (problem) return this.feedback.error(`invalid_json: ${problem}`);
      editor.value = formatJson(editor.value);
      dirty.hidden = editor.value === item.baseline;
    });
    remove.addEventListener('click', () => void this.feedback.run(() => this.remove(item)));
    close.addEventListener('click', () =>
      void this.feedback.run(async () => {
        if (await this.mayLeaveItem()) this.closeItem();
      }),
    );
    replace(this.detail, region);
  }

  private updateMeta(item: OpenItem): void {
    item.versionText.textContent = `Version ${item.version}`;
    if (item.expiresAt === null) {
      replace(item.expiry, 'No expiry');
    } else {
      replace(item.expiry, 'Expires in ', h('span', { role: 'timer', 'aria-label': 'Expires in', class: 'timer' }, formatDuration(Date.parse(item.expiresAt) - Date.now())));
    }
  }

  /** Each second: the open item's countdown. */
  private tick(): void {
    const item = this.item;
    if (!item?.expiresAt) return;
    const timer = item.expiry.querySelector('[role="timer"]');
    const left = Date.parse(item.expiresAt) - Date.now();
    if (timer) timer.textContent = left > 0 ? formatDuration(left) : 'expired';
  }

  private async reload(item: OpenItem): Promise<void> {
    const entry = await this.kv.getRaw(item.key);
    if (this.item !== item) return;
    if (!entry) {
      this.closeItem();
      this.feedback.notice(`${item.key} does not exist any more.`);
      return;
    }
    item.editor.value = entry.raw;
    item.baseline = entry.raw;
    item.version = entry.version;
    item.expiresAt = entry.expiresAt;
    item.changed.hidden = true;
    this.updateMeta(item);
  }

  private async save(item: OpenItem): Promise<void> {
    const mine = item.editor.value;
    const problem = jsonProblem(mine);
    if (problem) throw new Error(`invalid_json: ${problem}`);
    const write = this.kv.set(item.key, rawJson(mine), { ifVersion: item.version, keepTtl: true });
    this.pendingWrite = write.catch(() => undefined);
    try {
      const result = await write;
      this.saved(item, mine, result.version, result.expiresAt);
      this.feedback.notice(`Saved ${item.key} (version ${result.version}).`);
    } catch (error) {
      if (!(error instanceof KvPreconditionFailedError)) throw error;
      await this.showConflict(item, mine);
    }
  }

  private saved(item: OpenItem, text: string, version: string, expiresAt: string | null): void {
    item.baseline = text;
    item.editor.value = text;
    item.version = version;
    item.expiresAt = expiresAt;
    item.changed.hidden = true;
    this.updateMeta(item);
    this.keys.set(item.key, { key: item.key, version, expiresAt });
    if (item.key.startsWith(this.prefix)) this.renderTree();
  }

  /** 412: their current value next to mine; keep mine (If-Match their version), take theirs, or cancel. */
  private async showConflict(item: OpenItem, mine: string): Promise<void> {
    const theirs = await this.kv.getRaw(item.key);
    const theirsBox = h('textarea', { readonly: true, rows: 8, class: 'editor', spellcheck: 'false' });
    theirsBox.value = theirs?.raw ?? '';
    const mineBox = h('textarea', { readonly: true, rows: 8, class: 'editor', spellcheck: 'false' });
    mineBox.value = mine;
    const keep = h('button', { type: 'button', class: 'primary' }, 'Keep mine');
    const take = h('button', { type: 'button' }, 'Take theirs');
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const titleId = `conflict-${Date.now()}`;
    const region = h(
      'section',
      { 'aria-label': 'Conflict', class: 'conflict', 'aria-describedby': titleId },
      h('h3', null, 'Conflict'),
      h(
        'p',
        { id: titleId },
        theirs
          ? `${item.key} was changed elsewhere since you loaded version ${item.version}. Keep your value (it replaces theirs), or take theirs into the editor.`
          : `${item.key} was deleted elsewhere since you loaded version ${item.version}. Keep your value to create it again, or take theirs (the key stays deleted).`,
      ),
      h(
        'div',
        { class: 'compare' },
        h('div', null, field('Theirs', theirsBox), h('p', { class: 'meta' }, theirs ? `Version ${theirs.version}` : 'Deleted')),
        h('div', null, field('Mine', mineBox), h('p', { class: 'meta' }, `Edited from version ${item.version}`)),
      ),
      h('div', { class: 'actions' }, keep, take, cancel),
    );
    replace(item.conflictSlot, region);
    item.changed.hidden = true;
    keep.focus();

    keep.addEventListener('click', () =>
      void this.feedback.run(async () => {
        const write = this.kv.set(item.key, rawJson(mine), theirs ? { ifVersion: theirs.version, keepTtl: true } : { ifNotExists: true });
        this.pendingWrite = write.catch(() => undefined);
        try {
          const result = await write;
          item.conflictSlot.replaceChildren();
          this.saved(item, mine, result.version, result.expiresAt);
          item.editor.focus();
          this.feedback.notice(`Kept your value: ${item.key} is at version ${result.version}.`);
        } catch (error) {
          if (!(error instanceof KvPreconditionFailedError)) throw error;
          // Changed again meanwhile: compare with the newest.
          await this.showConflict(item, mine);
        }
      }, keep),
    );
    take.addEventListener('click', () => {
      this.feedback.clear();
      item.conflictSlot.replaceChildren();
      if (!theirs) {
        this.closeItem();
        this.keys.delete(item.key);
        this.renderTree();
        this.feedback.notice(`${item.key} stays deleted.`);
        return;
      }
      this.saved(item, theirs.raw, theirs.version, theirs.expiresAt);
      item.editor.focus();
      this.feedback.notice(`Took their value: version ${theirs.version}.`);
    });
    cancel.addEventListener('click', () => {
      item.conflictSlot.replaceChildren();
      item.editor.focus();
    });
  }

  private async remove(item: OpenItem): Promise<void> {
    const confirmed = await openDialog({
      title: `Delete ${item.key}?`,
      body: [h('p', null, `The key and its value are deleted for every client. This cannot be undone.`)],
      confirm: 'Delete',
      danger: true,
    });
    if (!confirmed) return;
    const deletion = this.kv.delete(item.key, { ifVersion: item.version });
    // Its own delete event must not read as a deletion made elsewhere.
    this.pendingWrite = deletion.catch(() => undefined);
    await deletion;
    this.keys.delete(item.key);
    if (this.item === item) this.closeItem();
    this.renderTree();
    this.feedback.notice(`Deleted ${item.key}.`);
  }

  private closeItem(): void {
    this.item = null;
    this.tree.select(null);
    this.renderDetailEmpty();
  }

  // ---- new key ----

  private openNewKey(): void {
    this.feedback.clear();
    if (this.newKeyForm) {
      this.newKeyForm.querySelector('input')?.focus();
      return;
    }
    this.item = null;
    this.tree.select(null);
    const keyInput = h('input', { type: 'text', name: 'key', required: true, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
    keyInput.value = this.prefix;
    const valueInput = h('textarea', { rows: 8, name: 'value', spellcheck: 'false', autocapitalize: 'off', class: 'editor' });
    const ttlInput = h('input', { type: 'number', name: 'ttl', min: 1, step: 1, inputmode: 'numeric' });
    const onlyNew = h('input', { type: 'checkbox', name: 'ifNotExists' });
    const create = h('button', { type: 'submit', class: 'primary' }, 'Create');
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const form = h(
      'form',
      { 'aria-label': 'New key', class: 'card new-key', novalidate: true },
      h('h2', null, 'New key'),
      field('Key', keyInput),
      field('Value (JSON)', valueInput, 'Any JSON value: "text", 42, true, null, [1, 2], {"a": 1}.'),
      field('TTL (seconds)', ttlInput, 'Optional: the key expires this many seconds after it is written.'),
      check('Only if the key does not exist', onlyNew),
      h('div', { class: 'actions' }, create, cancel),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.feedback.run(async () => {
        const key = keyInput.value;
        if (key === '') throw new Error('invalid_key: Enter a key.');
        const problem = jsonProblem(valueInput.value);
        if (problem) throw new Error(`invalid_json: ${problem}`);
        const ttlText = ttlInput.value.trim();
        const ttl = ttlText === '' ? undefined : Number(ttlText);
        if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1)) throw new Error('invalid_request: The TTL is a whole number of seconds, 1 or more.');
        const result = await this.kv.set(key, rawJson(valueInput.value), { ttlSeconds: ttl, ifNotExists: onlyNew.checked || undefined });
        this.keys.set(key, { key, version: result.version, expiresAt: result.expiresAt });
        this.newKeyForm = null;
        this.showItem({ ...result, raw: valueInput.value });
        this.renderTree();
        this.feedback.notice(`Created ${key} (version ${result.version}).`);
        this.item?.editor.focus();
      }, create);
    });
    cancel.addEventListener('click', () => {
      this.closeNewKey();
      this.renderDetailEmpty();
      this.newKeyButton.focus();
    });
    this.newKeyForm = form;
    replace(this.detail, form);
    keyInput.focus();
  }

  private closeNewKey(): void {
    this.newKeyForm = null;
  }
}

/**
 * The server sends a heartbeat every 15 s by default (KV_WATCH_HEARTBEAT_SECONDS): a stream silent
 * for this long is taken for a dead connection (a laptop waking up, a proxy that dropped it
 * silently) and reopened. Reopening resumes after the last event, so a needless one costs nothing.
 */
const STALLED_MS = 60_000;

/**
 * A fetch that reports when the watch stream is down: its request failed, it was refused, or its
 * body ended, broke or stalled (the client then reconnects, and onOpen says Live again).
 */
function trackingFetch(onDown: () => void): FetchFunction {
  return async (input, init) => {
    let res: Response;
    try {
      res = await fetch(input, init);
    } catch (error) {
      onDown();
      throw error;
    }
    if (!res.ok || !res.body) {
      onDown();
      return res;
    }
    const reader = res.body.getReader();
    let watchdog = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        clearTimeout(watchdog);
        watchdog = window.setTimeout(() => {
          onDown();
          controller.error(new Error('the watch stream went silent'));
          void reader.cancel().catch(() => undefined);
        }, STALLED_MS);
        try {
          const { done, value } = await reader.read();
          clearTimeout(watchdog);
          if (done) {
            onDown();
            controller.close();
          } else {
            controller.enqueue(value);
          }
        } catch (error) {
          clearTimeout(watchdog);
          onDown();
          try {
            controller.error(error);
          } catch {
            // Already errored by the watchdog.
          }
        }
      },
      cancel: (reason) => {
        clearTimeout(watchdog);
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
