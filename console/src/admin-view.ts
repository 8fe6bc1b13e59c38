// Admin: accounts (list, create, limits, delete) and their API keys (create, shown once; revoke).

import type { Account, ApiKeyInfo, KvAdmin, LimitsPatch, NewApiKey } from '../../packages/client/src';
import { check, field, formatNumber, formatTime, h, openDialog, replace, uid } from './dom';
import type { Feedback } from './feedback';

const PAGE_SIZE = 50;
/** Key counts are read one account at a time (the listing has none): this many at once. */
const COUNT_CONCURRENCY = 4;

type LimitName = 'maxKeys' | 'readsPerSecond' | 'writesPerSecond';
const LIMITS: [LimitName, string][] = [
  ['maxKeys', 'Max keys'],
  ['readsPerSecond', 'Reads per second'],
  ['writesPerSecond', 'Writes per second'],
];

export class AdminView {
  readonly element: HTMLElement;
  private readonly heading = h('h1', { id: 'admin-title', tabindex: '-1' }, 'Admin');
  private readonly onceSlot = h('div', { class: 'once-slot' });
  private readonly formSlot = h('div', { class: 'form-slot' });
  private readonly rows = h('tbody');
  private readonly tableEmpty = h('p', { class: 'empty' }, 'Loading…');
  private readonly loadMore = h('button', { type: 'button', hidden: true }, 'Load more');
  private readonly newAccountButton = h('button', { type: 'button', class: 'primary' }, 'New account');
  private readonly detail = h('div', { class: 'account-slot' });
  private accounts = new Map<string, Account>();
  private keyCounts = new Map<string, number | null>();
  private nextCursor: string | null = null;
  private selected: string | null = null;

  constructor(
    private readonly admin: KvAdmin,
    private readonly feedback: Feedback,
  ) {
    this.newAccountButton.addEventListener('click', () => this.openNewAccount());
    this.loadMore.addEventListener('click', () => void this.feedback.run(() => this.loadPage(this.nextCursor), this.loadMore));
    const table = h(
      'table',
      { class: 'stack accounts' },
      h('caption', null, 'Accounts'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Id'), h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Created'), h('th', { scope: 'col' }, 'Keys'))),
      this.rows,
    );
    this.element = h(
      'section',
      { class: 'panel admin', 'aria-labelledby': 'admin-title' },
      h('div', { class: 'section-head' }, this.heading, this.newAccountButton),
      this.onceSlot,
      this.formSlot,
      h('div', { class: 'card' }, h('div', { class: 'table-wrap' }, table), this.tableEmpty, h('div', { class: 'actions' }, this.loadMore)),
      this.detail,
    );
    void this.loadPage(null).catch((error: unknown) => this.feedback.error(error));
  }

  focus(): void {
    this.heading.focus();
  }

  // ---- accounts ----

  private async loadPage(cursor: string | null): Promise<void> {
    const page = await this.admin.listAccounts({ cursor: cursor ?? undefined, limit: PAGE_SIZE });
    for (const account of page.accounts) this.accounts.set(account.id, account);
    this.nextCursor = page.nextCursor;
    this.renderRows();
    void this.countKeys(page.accounts.map((account) => account.id));
  }

  private renderRows(): void {
    const accounts = [...this.accounts.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    replace(
      this.rows,
      ...accounts.map((account) => {
        const count = this.keyCounts.get(account.id);
        const open = h('button', { type: 'button', class: 'link mono', 'aria-expanded': String(account.id === this.selected) }, account.id);
        open.addEventListener('click', () => void this.feedback.run(() => this.openAccount(account.id)));
        return h(
          'tr',
          { class: account.id === this.selected ? 'selected' : null, 'data-id': account.id },
          h('td', { 'data-label': 'Id' }, open),
          h('td', { 'data-label': 'Name' }, account.name ?? '—'),
          h('td', { 'data-label': 'Created' }, formatTime(account.createdAt)),
          h('td', { 'data-label': 'Keys' }, count === undefined || count === null ? '…' : `${formatNumber(count)} of ${formatNumber(account.limits.maxKeys)}`),
        );
      }),
    );
    this.tableEmpty.hidden = accounts.length > 0;
    this.tableEmpty.textContent = 'No accounts yet. Create one with “New account”.';
    this.loadMore.hidden = this.nextCursor === null;
  }

  /** The listing has no usage: each account's key count, a few requests at a time. */
  private async countKeys(ids: string[]): Promise<void> {
    const queue = [...ids];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        try {
          const details = await this.admin.getAccount(id);
          this.keyCounts.set(id, details ? details.usage.keys : null);
          const cell = this.rows.querySelector(`tr[data-id="${CSS.escape(id)}"] td:last-child`);
          const account = this.accounts.get(id);
          if (cell && details && account) cell.textContent = `${formatNumber(details.usage.keys)} of ${formatNumber(account.limits.maxKeys)}`;
        } catch {
          // A count is a nicety: the table stays usable without it.
        }
      }
    };
    await Promise.all(Array.from({ length: COUNT_CONCURRENCY }, worker));
  }

  private openNewAccount(): void {
    this.feedback.clear();
    this.onceSlot.replaceChildren();
    const name = h('input', { type: 'text', name: 'name', autocomplete: 'off', maxlength: 200 });
    const limits = LIMITS.map(([limit, label]) => [limit, label, h('input', { type: 'number', name: limit, min: 1, step: 1, inputmode: 'numeric' })] as const);
    const create = h('button', { type: 'submit', class: 'primary' }, 'Create account');
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const form = h(
      'form',
      { 'aria-label': 'New account', class: 'card', novalidate: true },
      h('h2', null, 'New account'),
      field('Name', name, 'Optional: for people, e.g. the team or service using it.'),
      h('div', { class: 'grid-3' }, ...limits.map(([, label, input]) => field(label, input))),
      h('p', { class: 'hint' }, 'Empty limits take the service’s defaults.'),
      h('div', { class: 'actions' }, create, cancel),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.feedback.run(async () => {
        const request: { name?: string; limits?: Partial<Record<LimitName, number>> } = {};
        if (name.value.trim()) request.name = name.value.trim();
        for (const [limit, label, input] of limits) {
          const value = readLimit(label, input);
          if (value !== null) (request.limits ??= {})[limit] = value;
        }
        const { account, apiKey } = await this.admin.createAccount(request);
        this.formSlot.replaceChildren();
        this.accounts.set(account.id, account);
        this.keyCounts.set(account.id, 0);
        this.renderRows();
        this.showOnce(this.onceSlot, apiKey, `Account ${account.id} was created with this read and write key.`);
      }, create);
    });
    cancel.addEventListener('click', () => {
      this.formSlot.replaceChildren();
      this.newAccountButton.focus();
    });
    replace(this.formSlot, form);
    name.focus();
  }

  /** The secret of a new key, in a region that goes away with "Done": the service never shows it again. */
  private showOnce(slot: HTMLElement, apiKey: NewApiKey, intro: string): void {
    const copy = h('button', { type: 'button', class: 'primary' }, 'Copy');
    const done = h('button', { type: 'button' }, 'Done');
    const region = h(
      'section',
      { 'aria-label': 'New API key', class: 'card once' },
      h('h2', null, 'New API key'),
      h('p', null, intro, ' Copy it now: it is shown only once, and the service keeps only its hash.'),
      h('code', { class: 'secret' }, apiKey.key),
      h('div', { class: 'actions' }, copy, done),
    );
    copy.addEventListener('click', () =>
      void this.feedback.run(async () => {
        try {
          await navigator.clipboard.writeText(apiKey.key);
        } catch {
          throw new Error('Could not copy to the clipboard: select the key and copy it.');
        }
        this.feedback.notice('Copied the API key to the clipboard.');
      }),
    );
    done.addEventListener('click', () => {
      region.remove();
      this.feedback.clear();
    });
    replace(slot, region);
    region.scrollIntoView({ block: 'nearest' });
    copy.focus();
  }

  // ---- one account ----

  private async openAccount(id: string): Promise<void> {
    const details = await this.admin.getAccount(id);
    if (!details) {
      this.accounts.delete(id);
      this.renderRows();
      throw new Error(`not_found: account ${id} does not exist any more.`);
    }
    this.selected = id;
    this.accounts.set(id, details.account);
    this.keyCounts.set(id, details.usage.keys);
    this.renderRows();
    this.renderAccount(details.account, details.usage.keys, details.apiKeys);
  }

  private renderAccount(account: Account, keyCount: number, apiKeys: ApiKeyInfo[]): void {
    const id = account.id;
    const onceSlot = h('div');
    const keyFormSlot = h('div');
    const keyRows = h('tbody');
    const keysEmpty = h('p', { class: 'empty' }, 'No API keys: the account’s data cannot be reached until you create one.');
    const renderKeys = (keys: ApiKeyInfo[]) => {
      keysEmpty.hidden = keys.length > 0;
      replace(
        keyRows,
        ...keys.map((key) => {
          const revoke = h('button', { type: 'button', class: 'danger' }, 'Revoke');
          revoke.addEventListener('click', () =>
            void this.feedback.run(async () => {
              const confirmed = await openDialog({
                title: `Revoke ${key.id}?`,
                body: [h('p', null, 'Requests with this key are refused from now on, on every replica within a second. This cannot be undone.')],
                confirm: 'Revoke',
                danger: true,
              });
              if (!confirmed) return;
              await this.admin.revokeKey(key.id);
              renderKeys(await this.admin.listKeys(id));
              this.feedback.notice(`Revoked ${key.id}.`);
            }),
          );
          return h(
            'tr',
            null,
            h('td', { 'data-label': 'Id' }, h('code', null, key.id)),
            h('td', { 'data-label': 'Name' }, key.name ?? '—'),
            h('td', { 'data-label': 'Scopes' }, key.scopes.join(', ')),
            h('td', { 'data-label': 'Prefix' }, key.prefix ? h('code', null, key.prefix) : 'all keys'),
            h('td', { 'data-label': 'Expires' }, key.expiresAt ? formatTime(key.expiresAt) : 'never'),
            h('td', { 'data-label': '' }, revoke),
          );
        }),
      );
    };
    renderKeys(apiKeys);

    const limitInputs = LIMITS.map(([limit, label]) => {
      const input = h('input', { type: 'number', name: limit, min: 1, step: 1, inputmode: 'numeric', placeholder: String(account.limits[limit]) });
      const override = account.limitOverrides[limit];
      if (override !== undefined) input.value = String(override);
      return [limit, label, input] as const;
    });
    const storedKeys = h('dd', null, `${formatNumber(keyCount)} of ${formatNumber(account.limits.maxKeys)}`);
    const saveLimits = h('button', { type: 'submit', class: 'primary' }, 'Save limits');
    const limitsForm = h(
      'form',
      { 'aria-label': 'Limits', class: 'limits', novalidate: true },
      h('h3', null, 'Limits'),
      h('div', { class: 'grid-3' }, ...limitInputs.map(([, label, input]) => field(label, input))),
      h('p', { class: 'hint' }, 'Empty: the service’s default (shown greyed). Replicas apply a change within a second.'),
      h('div', { class: 'actions' }, saveLimits),
    );
    limitsForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.feedback.run(async () => {
        const patch: LimitsPatch = {};
        for (const [limit, label, input] of limitInputs) patch[limit] = readLimit(label, input);
        const updated = await this.admin.updateAccount(id, { limits: patch });
        this.accounts.set(id, updated);
        this.renderRows();
        for (const [limit, , input] of limitInputs) input.placeholder = String(updated.limits[limit]);
        storedKeys.textContent = `${formatNumber(keyCount)} of ${formatNumber(updated.limits.maxKeys)}`;
        this.feedback.notice(`Saved the limits of ${id}.`);
      }, saveLimits);
    });

    const newKey = h('button', { type: 'button' }, 'New API key');
    newKey.addEventListener('click', () => this.openNewKey(id, keyFormSlot, onceSlot, renderKeys));
    const remove = h('button', { type: 'button', class: 'danger' }, 'Delete account');
    remove.addEventListener('click', () => void this.feedback.run(() => this.deleteAccount(id)));

    const region = h(
      'section',
      { 'aria-label': `Account ${id}`, class: 'card account' },
      h('h2', null, 'Account ', h('code', null, id)),
      h(
        'dl',
        { class: 'usage' },
        h('dt', null, 'Name'),
        h('dd', null, account.name ?? '—'),
        h('dt', null, 'Created'),
        h('dd', null, formatTime(account.createdAt)),
        h('dt', null, 'Stored keys'),
        storedKeys,
      ),
      limitsForm,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'stack' },
          h('caption', null, 'API keys'),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ...['Id', 'Name', 'Scopes', 'Prefix', 'Expires'].map((title) => h('th', { scope: 'col' }, title)),
              h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
            ),
          ),
          keyRows,
        ),
      ),
      keysEmpty,
      onceSlot,
      keyFormSlot,
      h('div', { class: 'actions' }, newKey, remove),
    );
    replace(this.detail, region);
    region.scrollIntoView({ block: 'nearest' });
  }

  private openNewKey(id: string, slot: HTMLElement, onceSlot: HTMLElement, renderKeys: (keys: ApiKeyInfo[]) => void): void {
    this.feedback.clear();
    onceSlot.replaceChildren();
    const name = h('input', { type: 'text', name: 'name', autocomplete: 'off', maxlength: 200 });
    const group = uid('scopes');
    const readOnly = h('input', { type: 'radio', name: group, value: 'read', checked: true });
    const readWrite = h('input', { type: 'radio', name: group, value: 'write' });
    const legend = uid('scopes-label');
    const prefix = h('input', { type: 'text', name: 'prefix', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
    const expires = h('input', { type: 'datetime-local', name: 'expiresAt' });
    const create = h('button', { type: 'submit', class: 'primary' }, 'Create key');
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const form = h(
      'form',
      { 'aria-label': `New API key for ${id}`, class: 'card new-api-key', novalidate: true },
      h('h3', null, `New API key for ${id}`),
      field('Name', name, 'Optional: who or what uses it.'),
      h(
        'div',
        { role: 'radiogroup', 'aria-labelledby': legend, class: 'radios' },
        h('p', { id: legend, class: 'legend' }, 'Scopes'),
        check('Read only', readOnly),
        check('Read and write', readWrite),
      ),
      field('Prefix', prefix, 'Optional: the key reaches only keys that start with this (listing and watch included).'),
      field('Expires at', expires, 'Optional, in your time zone: the key is refused from then on.'),
      h('div', { class: 'actions' }, create, cancel),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.feedback.run(async () => {
        let expiresAt: string | undefined;
        if (expires.value) {
          const time = new Date(expires.value);
          if (Number.isNaN(time.getTime())) throw new Error('invalid_request: "Expires at" is not a valid time.');
          expiresAt = time.toISOString();
        }
        const apiKey = await this.admin.createKey(id, {
          scopes: readWrite.checked ? ['read', 'write'] : ['read'],
          ...(name.value.trim() ? { name: name.value.trim() } : {}),
          ...(prefix.value ? { prefix: prefix.value } : {}),
          ...(expiresAt ? { expiresAt } : {}),
        });
        slot.replaceChildren();
        renderKeys(await this.admin.listKeys(id));
        this.showOnce(onceSlot, apiKey, `A ${readWrite.checked ? 'read and write' : 'read-only'} key for ${id}${apiKey.prefix ? `, limited to keys starting with ${apiKey.prefix}` : ''}.`);
      }, create);
    });
    cancel.addEventListener('click', () => slot.replaceChildren());
    replace(slot, form);
    name.focus();
  }

  private async deleteAccount(id: string): Promise<void> {
    const typed = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
    const confirmed = await openDialog({
      title: `Delete account ${id}?`,
      body: [
        h('p', null, 'Its data and API keys are deleted, and its keys are refused from now on. This cannot be undone.'),
        field('Type the account id', typed, `Type ${id} to confirm.`),
      ],
      confirm: 'Delete',
      danger: true,
      initialFocus: typed,
      canConfirm: () => typed.value === id,
    });
    if (!confirmed) return;
    await this.admin.deleteAccount(id);
    this.accounts.delete(id);
    this.keyCounts.delete(id);
    this.selected = null;
    this.detail.replaceChildren();
    this.renderRows();
    this.feedback.notice(`Deleted account ${id}.`);
  }
}

/** A limit field: null when empty; a whole number ≥ 1 otherwise, else an error naming the field. */
function readLimit(label: string, input: HTMLInputElement): number | null {
  const text = input.value.trim();
  if (text === '') return null;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`invalid_request: ${label} must be a whole number, 1 or more.`);
  return value;
}
