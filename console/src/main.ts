// The console's entry: finds what this origin serves, signs in, and switches between its sections.

import { KvAdmin, KvClient, KvUnauthorizedError } from '../../packages/client/src';
import { AdminView } from './admin-view';
import { DataView } from './data-view';
import { check, field, h, replace } from './dom';
import { Feedback } from './feedback';
import { findSurface, session, type Surface } from './session';
import { UsageView } from './usage-view';

type ViewName = 'data' | 'usage' | 'admin';

/** Same origin: the API is wherever the page came from, so no CORS is involved. */
const ORIGIN = location.origin;

class Console {
  private kv: KvClient | null = null;
  private apiKey = '';
  private admin: KvAdmin | null = null;
  private dataView: DataView | null = null;
  private usageView: UsageView | null = null;
  private adminView: AdminView | null = null;
  private readonly feedback: Feedback;
  /** The sign-in forms, kept while shown so that switching sections keeps what was typed. */
  private apiKeyFormElement: HTMLElement | null = null;
  private adminFormElement: HTMLElement | null = null;
  private readonly nav = document.getElementById('nav')!;
  private readonly views = document.getElementById('views')!;

  constructor(private readonly surface: Surface) {
    this.feedback = new Feedback(document.getElementById('alert')!, document.getElementById('notice')!);
    const apiKey = surface.data ? session.apiKey() : null;
    if (apiKey) {
      this.kv = newClient(apiKey);
      this.apiKey = apiKey;
    }
    const adminToken = surface.admin ? session.adminToken() : null;
    if (adminToken) this.admin = newAdmin(adminToken);
    window.addEventListener('hashchange', () => this.render());
    this.render();
    // A credential kept from before a reload may have been revoked (or the token changed) since.
    const kv = this.kv;
    kv?.usage().catch((error: unknown) => this.refused(error, kv));
    const admin = this.admin;
    admin?.listAccounts({ limit: 1 }).catch((error: unknown) => this.refused(error, admin));
  }

  /** A credential the service now refuses (401): forgotten, and its sign-in form shown with the error. */
  private refused(error: unknown, credential: KvClient | KvAdmin): void {
    if (!(error instanceof KvUnauthorizedError)) return;
    if (credential === this.kv) {
      session.setApiKey(null);
      this.dataView?.dispose();
      this.kv = null;
      this.apiKey = '';
      this.dataView = null;
      this.usageView = null;
    } else if (credential === this.admin) {
      session.setAdminToken(null);
      this.admin = null;
      this.adminView = null;
    } else {
      return;
    }
    this.render();
    this.feedback.error(error);
  }

  /** The section the address names, if it may be shown; else the first that may. */
  private currentView(): ViewName | null {
    const wanted = location.hash.slice(1);
    const allowed: ViewName[] = [];
    if (this.kv) allowed.push('data', 'usage');
    if (this.admin) allowed.push('admin');
    return allowed.includes(wanted as ViewName) ? (wanted as ViewName) : (allowed[0] ?? null);
  }

  private render(): void {
    const view = this.currentView();
    this.renderNav(view);
    if (!this.surface.data && !this.surface.admin) {
      replace(
        this.views,
        h('section', { class: 'panel' }, h('h1', null, 'Nothing to manage here'), h('p', null, 'This port serves neither the data API (/kv) nor the admin API (/admin).')),
      );
      return;
    }
    if (view === null) {
      replace(this.views, this.signInPage());
      return;
    }
    const shown: HTMLElement[] = [];
    if (this.kv) {
      this.dataView ??= new DataView(this.kv, this.apiKey, this.feedback, (error) => this.refused(error, this.kv!));
      this.usageView ??= new UsageView(this.kv, this.feedback);
      this.dataView.element.hidden = view !== 'data';
      this.usageView.element.hidden = view !== 'usage';
      shown.push(this.dataView.element, this.usageView.element);
      if (view === 'usage') void this.usageView.refresh();
    }
    if (this.admin) {
      this.adminView ??= new AdminView(this.admin, this.feedback);
      this.adminView.element.hidden = view !== 'admin';
      shown.push(this.adminView.element);
    }
    // Credentials this port takes but the tab does not hold yet: their forms below the section.
    const more: HTMLElement[] = [];
    if (this.surface.data && !this.kv) more.push((this.apiKeyFormElement ??= this.apiKeyForm()));
    if (this.surface.admin && !this.admin) more.push((this.adminFormElement ??= this.adminForm()));
    if (more.length > 0) shown.push(h('section', { class: 'panel more', 'aria-label': 'More access' }, ...more));
    // Keep the sections' elements (and their state) when switching between them.
    if (shown.some((element, index) => this.views.children[index] !== element) || this.views.children.length !== shown.length) {
      replace(this.views, ...shown);
    }
  }

  private renderNav(view: ViewName | null): void {
    const items: HTMLElement[] = [];
    const link = (name: ViewName, label: string) =>
      h('li', null, h('a', { href: `#${name}`, 'aria-current': view === name ? 'page' : null }, label));
    if (this.kv) items.push(link('data', 'Data'), link('usage', 'Usage'));
    if (this.admin) items.push(link('admin', 'Admin'));
    if (this.kv || this.admin) {
      items.push(h('li', null, h('button', { type: 'button', class: 'link', onclick: () => this.signOut() }, 'Sign out')));
    }
    replace(this.nav, ...items);
  }

  private signInPage(): HTMLElement {
    return h(
      'section',
      { class: 'panel signin' },
      h('h1', null, 'Sign in'),
      h(
        'p',
        { class: 'lead' },
        'Browse, edit and watch the data of an account with one of its API keys',
        this.surface.admin ? ', or manage accounts and keys with the service’s admin token' : '',
        '. They are kept in this tab only (sessionStorage) and sent only to this service.',
      ),
      h(
        'div',
        { class: 'signin-forms' },
        this.surface.data ? (this.apiKeyFormElement ??= this.apiKeyForm()) : null,
        this.surface.admin ? (this.adminFormElement ??= this.adminForm()) : null,
      ),
    );
  }

  private apiKeyForm(): HTMLElement {
    const input = h('input', { type: 'password', name: 'apiKey', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'kv_…' });
    const show = h('input', { type: 'checkbox' });
    show.addEventListener('change', () => (input.type = show.checked ? 'text' : 'password'));
    const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
    const form = h(
      'form',
      { 'aria-label': 'Sign in', class: 'card' },
      h('h2', null, 'Data'),
      field('API key', input),
      check('Show the key', show),
      h('div', { class: 'actions' }, button),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      void this.feedback.run(async () => {
        const kv = newClient(key);
        await kv.usage();
        session.setApiKey(key);
        this.kv = kv;
        this.apiKey = key;
        this.apiKeyFormElement = null;
        if (!this.admin) location.hash = '#data';
        this.render();
        this.dataView?.focus();
      }, button);
    });
    return form;
  }

  private adminForm(): HTMLElement {
    const input = h('input', { type: 'password', name: 'adminToken', autocomplete: 'off', spellcheck: 'false', required: true });
    const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in as admin');
    const form = h(
      'form',
      { 'aria-label': 'Admin sign in', class: 'card' },
      h('h2', null, 'Admin'),
      field('Admin token', input, 'KV_ADMIN_TOKEN of the service.'),
      h('div', { class: 'actions' }, button),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      void this.feedback.run(async () => {
        const admin = newAdmin(token);
        await admin.listAccounts({ limit: 1 });
        session.setAdminToken(token);
        this.admin = admin;
        this.adminFormElement = null;
        if (!this.kv) location.hash = '#admin';
        this.render();
        if (!this.kv) this.adminView?.focus();
      }, button);
    });
    return form;
  }

  private signOut(): void {
    session.setApiKey(null);
    session.setAdminToken(null);
    this.dataView?.dispose();
    this.kv = null;
    this.apiKey = '';
    this.admin = null;
    this.dataView = null;
    this.usageView = null;
    this.adminView = null;
    this.apiKeyFormElement = null;
    this.adminFormElement = null;
    this.feedback.clear();
    history.replaceState(null, '', location.pathname);
    this.render();
    this.feedback.notice('Signed out.');
  }
}

/**
 * A person is waiting: a 429 is retried only when it asks for a short wait; a longer one is shown
 * at once (`rate_limited: … retry in N s`) rather than leaving a button busy for a minute.
 */
const RETRY = { retries: 2, maxRetryAfterMs: 3_000 };

function newClient(apiKey: string): KvClient {
  return new KvClient({ url: ORIGIN, apiKey, retry: RETRY });
}

function newAdmin(adminToken: string): KvAdmin {
  return new KvAdmin({ url: ORIGIN, adminToken, retry: RETRY });
}

async function start(): Promise<void> {
  let surface: Surface;
  try {
    surface = await findSurface();
  } catch {
    // The service did not answer: offer both; signing in will say what is wrong.
    surface = { data: true, admin: true };
  }
  new Console(surface);
}

void start();
