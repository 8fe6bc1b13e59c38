// Watch: each account's change log as Server-Sent Events, read once per replica and fanned out in process.

import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response, Router } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { notFound, invalidRequest, rateLimited } from '../errors';
import type { Change, KvStore } from '../store/types';
import { authContext, listingPrefix } from './auth';
import { deadline } from './deadline';
import type { AccountLimiter } from './rate-limits';
import { bindRoutes } from './routes';
import type { Validators } from './schemas';
import { iso } from './views';

type WatchStore = Pick<
  KvStore,
  | 'latestChange'
  | 'readChanges'
  | 'keepWatched'
  | 'isCursor'
  | 'onChanges'
  | 'onInvalidate'
  | 'getItems'
  | 'acquireWatcher'
  | 'renewWatchers'
  | 'releaseWatcher'
>;

/** Changes read per store call. */
const PAGE = 1000;
/** A watcher whose unsent output passes this is dropped: it resumes with Last-Event-ID. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** How often each watched account's expired keys are collected and its log read regardless of wake-ups. */
const ACCOUNT_TICK_MS = 1000;
/** The longest delay setTimeout takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A watcher's slot lapses after this many heartbeats without renewal (a replica that died). */
const LEASE_HEARTBEATS = 3;

interface Watcher {
  id: string;
  res: Response;
  accountId: string;
  prefix: string;
  values: boolean;
  cursor: string;
  /** Whether the key the stream was opened with still works (see Authenticator.stillAuthenticated). */
  stillAuthenticated: () => Promise<boolean>;
}

/** The watchers of one account on this replica, grouped by cursor: one store read per group. */
interface AccountWatch {
  groups: Map<string, Set<Watcher>>;
  reading: boolean;
  again: boolean;
  timer: NodeJS.Timeout;
}

export interface WatchHubOptions {
  store: WatchStore;
  logger: Logger;
  heartbeatMs: number;
}

/** The `data` of an event: what changed, and with `values`, the value written when it is still current. */
function eventText(change: Change, value: Buffer | undefined): string {
  const data =
    `{"key":${JSON.stringify(change.key)},"version":${change.version === '' ? 'null' : JSON.stringify(change.version)},` +
    `"expiresAt":${change.expiresAt === null ? 'null' : `"${iso(change.expiresAt)}"`}${value ? `,"value":${value.toString('utf8')}` : ''}}`;
  return `id: ${change.cursor}\nevent: ${change.kind}\ndata: ${data}\n\n`;
}

/**
 * The open watch streams of this replica. Each watched account's log is read when the store says
 * it changed (from any replica), and at least every second; watchers at the same cursor share one
 * read, so live watchers of an account cost one read per change however many they are.
 */
export class WatchHub {
  private readonly accounts = new Map<string, AccountWatch>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeInvalidations: () => void;
  private closed = false;
  private lastError = 0;

  constructor(private readonly options: WatchHubOptions) {
    this.unsubscribe = options.store.onChanges((accountId) => {
      if (this.accounts.has(accountId)) void this.pump(accountId);
    });
    // After the authentication cache has dropped what the event names (its listener runs in the
    // same emit, perhaps after this one), the streams it may concern check their key again.
    this.unsubscribeInvalidations = options.store.onInvalidate((event) => {
      setImmediate(() => this.recheck(event.kind === 'account' ? event.id : undefined));
    });
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * Ends the streams (of one account, or all) whose key no longer works: revoked, expired, or its
   * account deleted. The client's reconnect is then refused with 401.
   */
  private recheck(accountId: string | undefined): void {
    for (const [id, account] of this.accounts) {
      if (accountId !== undefined && id !== accountId) continue;
      for (const group of account.groups.values()) {
        for (const watcher of group) {
          watcher.stillAuthenticated().then(
            (ok) => {
              if (!ok) watcher.res.end();
            },
            // The store cannot say now: the stream goes on, and the next invalidation asks again.
            () => undefined,
          );
        }
      }
    }
  }

  get leaseMs(): number {
    return LEASE_HEARTBEATS * this.options.heartbeatMs;
  }

  /** How many streams are open here. */
  get size(): number {
    let n = 0;
    for (const account of this.accounts.values()) for (const group of account.groups.values()) n += group.size;
    return n;
  }

  /**
   * Starts delivering to `watcher` after `since` (a client's cursor: resumed if still kept, else
   * one `reset` and from now), or from now: after `now` when the caller took that cursor already.
   */
  async add(watcher: Omit<Watcher, 'cursor'>, since: string | undefined, now?: string): Promise<void> {
    const { store } = this.options;
    let cursor: string;
    if (since === undefined) {
      cursor = now ?? (await store.latestChange(watcher.accountId));
    } else {
      const page = await store.readChanges(watcher.accountId, since, PAGE, true);
      if (page.reset) {
        cursor = await store.latestChange(watcher.accountId);
        this.write({ ...watcher, cursor }, `id: ${cursor}\nevent: reset\ndata: {}\n\n`);
      } else {
        // Whatever it missed beyond this first page comes with the group reads below.
        cursor = since;
        const joined = { ...watcher, cursor };
        await this.deliver(joined.accountId, [joined], page.changes);
        cursor = page.changes.length > 0 ? page.changes[page.changes.length - 1].cursor : since;
      }
    }
    if (watcher.res.destroyed || this.closed) return;
    const full: Watcher = { ...watcher, cursor };
    let account = this.accounts.get(full.accountId);
    if (!account) {
      const timer = setInterval(() => this.tick(full.accountId), ACCOUNT_TICK_MS);
      timer.unref();
      account = { groups: new Map(), reading: false, again: false, timer };
      this.accounts.set(full.accountId, account);
    }
    this.join(account, full);
    watcher.res.once('close', () => this.remove(full));
    void this.pump(full.accountId);
  }

  /** Ends every stream cleanly (the replica is draining): clients resume elsewhere with Last-Event-ID. */
  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.unsubscribe();
    this.unsubscribeInvalidations();
    for (const account of this.accounts.values()) {
      clearInterval(account.timer);
      for (const group of account.groups.values()) for (const watcher of group) watcher.res.end();
    }
    this.accounts.clear();
  }

  private join(account: AccountWatch, watcher: Watcher): void {
    let group = account.groups.get(watcher.cursor);
    if (!group) account.groups.set(watcher.cursor, (group = new Set()));
    group.add(watcher);
  }

  private remove(watcher: Watcher): void {
    const account = this.accounts.get(watcher.accountId);
    if (!account) return;
    for (const [cursor, group] of account.groups) {
      if (!group.delete(watcher)) continue;
      if (group.size === 0) account.groups.delete(cursor);
    }
    if (account.groups.size === 0) {
      clearInterval(account.timer);
      this.accounts.delete(watcher.accountId);
    }
  }

  /** Reads the account's log after each group's cursor and delivers; once at a time per account. */
  private async pump(accountId: string): Promise<void> {
    const account = this.accounts.get(accountId);
    if (!account) return;
    if (account.reading) {
      account.again = true;
      return;
    }
    account.reading = true;
    try {
      do {
        account.again = false;
        for (const [cursor, group] of [...account.groups]) {
          if (group.size === 0) continue;
          const page = await this.options.store.readChanges(accountId, cursor, PAGE, false);
          const watchers = [...group];
          if (page.reset) {
            const latest = await this.options.store.latestChange(accountId);
            for (const watcher of watchers) this.write(watcher, `id: ${latest}\nevent: reset\ndata: {}\n\n`);
            this.move(account, watchers, cursor, latest);
            continue;
          }
          if (page.changes.length === 0) continue;
          await this.deliver(accountId, watchers, page.changes);
          this.move(account, watchers, cursor, page.changes[page.changes.length - 1].cursor);
          if (page.changes.length === PAGE) account.again = true;
        }
      } while (account.again && this.accounts.get(accountId) === account);
    } catch (error) {
      // The store is unreachable: the account's next tick tries again from the same cursors.
      this.report(error);
    } finally {
      account.reading = false;
    }
  }

  /**
   * Moves the watchers that were delivered up to `to` (those still open) from their group to the
   * one at `to`. A watcher that joined the group while it was being read stays, and is read for.
   */
  private move(account: AccountWatch, watchers: Watcher[], from: string, to: string): void {
    const group = account.groups.get(from);
    if (!group || from === to) return;
    for (const watcher of watchers) {
      if (!group.delete(watcher)) continue;
      watcher.cursor = to;
      this.join(account, watcher);
    }
    if (group.size === 0) account.groups.delete(from);
    else account.again = true;
  }

  private async deliver(accountId: string, watchers: Watcher[], changes: Change[]): Promise<void> {
    // With values: the value of a set that is still the key's current version (a later set of the
    // key follows in the stream anyway, with its own).
    const values = new Map<string, Buffer>();
    if (watchers.some((watcher) => watcher.values)) {
      const keys = [...new Set(changes.filter((change) => change.kind === 'set').map((change) => change.key))];
      for (let i = 0; i < keys.length; i += 100) {
        const items = await this.options.store.getItems(accountId, keys.slice(i, i + 100));
        for (const item of items) if (item) values.set(`${item.key}\u0000${item.version}`, item.value);
      }
    }
    for (const watcher of watchers) {
      let text = '';
      for (const change of changes) {
        if (!change.key.startsWith(watcher.prefix)) continue;
        text += eventText(change, watcher.values && change.kind === 'set' ? values.get(`${change.key}\u0000${change.version}`) : undefined);
      }
      if (text !== '') this.write(watcher, text);
    }
  }

  /** Writes, or drops the watcher when it has let too much pile up unsent. */
  private write(watcher: Watcher, text: string): void {
    const { res } = watcher;
    if (res.destroyed || res.writableEnded) return;
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      this.options.logger.info({ account: watcher.accountId }, 'watch: a slow client was dropped');
      res.destroy();
      return;
    }
    res.write(text);
  }

  private tick(accountId: string): void {
    void this.options.store
      .keepWatched(accountId)
      .catch((error: unknown) => this.report(error))
      .finally(() => void this.pump(accountId));
  }

  /** A comment on every stream (proxies keep it open), and the leases of this replica's watchers. */
  private beat(): void {
    for (const [accountId, account] of this.accounts) {
      const ids: string[] = [];
      for (const group of account.groups.values()) {
        for (const watcher of group) {
          this.write(watcher, ': keep-alive\n\n');
          ids.push(watcher.id);
        }
      }
      this.options.store.renewWatchers(accountId, ids, this.leaseMs).catch((error: unknown) => this.report(error));
    }
  }

  private report(error: unknown): void {
    if (Date.now() - this.lastError < 10_000) return;
    this.lastError = Date.now();
    this.options.logger.warn({ err: error }, 'watch: cannot read the change log; retrying every second');
  }
}

export interface WatchRoutesDeps {
  config: Pick<Config, 'changeLog' | 'watchersPerAccount'>;
  store: WatchStore;
  validators: Validators;
  authenticate: RequestHandler[];
  stillAuthenticated: (req: Request) => Promise<boolean>;
  limitReads: AccountLimiter;
  hub: WatchHub;
}

/** Binds GET /kv/watch. */
export function watchRoutes(router: Router, deps: WatchRoutesDeps): void {
  const { config, store, validators, hub } = deps;
  const route = bindRoutes(router);
  route('watchItems', ...deps.authenticate, deps.limitReads.middleware, async (req, res) => {
    const query = { ...req.query } as { prefix?: string; values?: boolean; since?: string };
    validators.watchQuery('query', query);
    if (!config.changeLog) throw notFound('Watching is off on this service (KV_CHANGE_LOG=off).');
    const header = req.headers['last-event-id'];
    const since = typeof header === 'string' && header !== '' ? header : query.since;
    if (since !== undefined && !store.isCursor(since)) {
      throw invalidRequest([{ path: header ? 'header.Last-Event-ID' : 'query.since', message: 'is not a cursor this API sent' }]);
    }
    const { accountId, expiresAt } = authContext(res);
    // A key restricted to a prefix watches only under it.
    const prefix = listingPrefix(res, query.prefix);
    const id = randomUUID();
    if (!(await store.acquireWatcher(accountId, id, config.watchersPerAccount, hub.leaseMs))) {
      res.setHeader('Retry-After', '1');
      throw rateLimited(1, `This account has ${config.watchersPerAccount} open watches, its maximum; close one or retry later.`);
    }
    res.once('close', () => void store.releaseWatcher(accountId, id).catch(() => undefined));
    // A key that expires ends its streams then, as if the replica drained: a resume is refused (401).
    // (Past setTimeout's range, about 24 days away, the stream is left to end some other way.)
    if (expiresAt !== null && expiresAt - Date.now() < MAX_TIMER_MS) {
      const ending = setTimeout(() => res.end(), Math.max(0, expiresAt - Date.now()));
      ending.unref();
      res.once('close', () => clearTimeout(ending));
    }
    // "From now" is fixed before the headers go out: a client that has the response may read a
    // snapshot then, and every change committed after it arrives as an event.
    const now = since === undefined ? await store.latestChange(accountId) : undefined;
    // A stream lasts as long as the client stays: no request deadline.
    deadline(res).pause();
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      // nginx: pass events on as they come.
      'X-Accel-Buffering': 'no',
    });
    // How long a browser's EventSource waits before reconnecting; and, for a stream from now, where
    // "now" is: a block with an id and no data sets the client's last event id (EventSource and the
    // client both), so a stream that drops before its first event still resumes from its start.
    res.write(now === undefined ? 'retry: 1000\n\n' : `retry: 1000\nid: ${now}\n\n`);
    const stillAuthenticated = () => deps.stillAuthenticated(req);
    await hub.add({ id, res, accountId, prefix, values: query.values === true, stillAuthenticated }, since, now);
  });
}
