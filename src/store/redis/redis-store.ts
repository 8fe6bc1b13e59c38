// The production store: items, accounts and API keys in Redis, every compound write a Lua script.

import { EventEmitter } from 'node:events';
import Redis, { Cluster } from 'ioredis';
import type {
  Account,
  AccountPage,
  ApiKeyInfo,
  ApiKeyRecord,
  Change,
  ChangeKind,
  ChangesPage,
  CommitOutcome,
  CommitRequest,
  DeleteOutcome,
  Invalidation,
  Item,
  KvStore,
  ListPage,
  ListRequest,
  Scope,
  SetOutcome,
  SetRequest,
  WriteCondition,
} from '../types';
import type { RedisConnection } from '../../config';
import { LIMIT_NAMES, type LimitOverrides, type LimitsPatch } from '../../limits';
import { ConnectionProblems, connectRedis, primaries, type RedisClient } from './connection';
import { RedisKeys } from './keys';
import { loadScripts, type ScriptedRedis } from './scripts';
import { toStoreError } from './errors';
import { parseItem } from './item-codec';

/** The cursor before an account's first change. */
const NO_CHANGE = '0-0';
/** A change cursor: a stream entry id. */
const CURSOR = /^\d{1,20}-\d{1,20}$/;

/** Expired index entries collected per script call: bounded work, amortised over writes and reads. */
const SWEEP_BATCH = 100;
/** Items of a deleted account removed per script call. */
const PURGE_BATCH = 500;

export interface RedisStoreOptions {
  connection: RedisConnection;
  /** Prefix of every key; lets several deployments or test runs share one Redis. */
  prefix: string;
  /** A command that has no reply by then fails with StoreUnavailableError; it may still have run. */
  commandTimeoutMs: number;
  /**
   * Told when the command connection becomes ready or has trouble; the error of a 'down' names the
   * Redis address(es) and the cause in its message, and holds no credential (ConnectionProblems).
   */
  onConnectionChange?: (state: 'ready' | 'down', error?: Error) => void;
  /** Log every change for watchers (KV_CHANGE_LOG); default true. */
  changeLog?: boolean;
}

export class RedisStore implements KvStore {
  readonly kind = 'redis';
  readonly keys: RedisKeys;
  /** Commands and scripts. Exposed for the rate limiter, which shares the connection. */
  readonly client: ScriptedRedis;
  private readonly subscriber: RedisClient;
  private readonly invalidations = new EventEmitter();
  /** 'changes' (accountId): an account's log may have new entries (from any replica). */
  private readonly changes = new EventEmitter();
  private readonly changeLog: boolean;
  private subscriberWasReady = false;
  private readonly problems: ConnectionProblems;
  private closing = false;

  constructor(options: RedisStoreOptions) {
    this.keys = new RedisKeys(options.prefix);
    this.changeLog = options.changeLog ?? true;
    // One listener per watched account on one replica is normal; thousands of accounts are too.
    this.changes.setMaxListeners(0);
    // ioredis adds the `scripts` as methods but cannot type them; ScriptCommands does, from SCRIPT_SIGNATURES.
    this.client = connectRedis(options.connection, {
      commandTimeoutMs: options.commandTimeoutMs,
      scripts: loadScripts(),
    }) as ScriptedRedis;
    this.problems = new ConnectionProblems(options.connection);
    this.problems.watch(this.client);
    this.client.on('ready', () => options.onConnectionChange?.('ready'));
    this.client.on('error', (error: Error) => options.onConnectionChange?.('down', this.problems.describe(error)));

    // The subscriber queues SUBSCRIBE until connected and resubscribes after a reconnect; messages
    // sent while it was away are lost, so every reconnect invalidates everything.
    this.subscriber = connectRedis(options.connection, { commandTimeoutMs: options.commandTimeoutMs, subscriber: true });
    this.problems.watch(this.subscriber);
    this.subscriber.on('ready', () => {
      if (this.subscriberWasReady) this.invalidations.emit('invalidate', { kind: 'all' } satisfies Invalidation);
      this.subscriberWasReady = true;
    });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === changesChannel) {
        this.changes.emit('changes', message);
        return;
      }
      try {
        this.invalidations.emit('invalidate', JSON.parse(message) as Invalidation);
      } catch {
        this.invalidations.emit('invalidate', { kind: 'all' } satisfies Invalidation);
      }
    });
    const changesChannel = this.keys.changesChannel();
    this.subscribed = this.subscriber.subscribe(this.keys.invalidationChannel(), changesChannel).then(() => undefined);
    this.subscribed.catch(() => undefined);
    for (const connection of [this.client, this.subscriber]) {
      // A Cluster reconnects by its clusterRetryStrategy, which never gives up (connection.ts).
      if (!(connection instanceof Cluster)) this.reconnectIfEnded(connection);
    }
  }

  /**
   * ioredis gives a connection up for good ('end') when a reconnection attempt itself fails, e.g.
   * when the sentinels cannot be asked at that moment; every request would then get 503 until a
   * restart. Until close(), an ended connection is opened again, with a backoff.
   */
  private reconnectIfEnded(connection: Redis): void {
    let attempt = 0;
    connection.on('ready', () => (attempt = 0));
    connection.on('end', () => {
      if (this.closing) return;
      attempt++;
      setTimeout(() => {
        if (!this.closing && connection.status === 'end') connection.connect().catch(() => undefined);
      }, Math.min(100 * attempt, 1000)).unref();
    });
  }

  private readonly subscribed: Promise<void>;

  /**
   * Resolves once commands can run and invalidations are heard (for start-up and tests). Rejects
   * with a RedisConnectionError whose message is one line naming the Redis address(es) and the
   * last cause seen (refused, host not found, timeout, authentication, TLS), never a credential,
   * within `timeoutMs` (plus up to 1 s to find the cause for a Cluster or Sentinel).
   */
  async ready(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onReady: (() => void) | undefined;
    // A Cluster's or Sentinel's cause may need a look of its own (up to 1 s more): see probeIfVague.
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        void this.problems.probeIfVague(1000).then(() => reject(this.problems.describe(undefined, timeoutMs)));
      }, timeoutMs);
    });
    const connected =
      this.client.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => this.client.once('ready', (onReady = resolve)));
    // A Cluster connects to each primary on its first command, and fails the commands that arrive
    // while that connection is being made (no offline queue): connect to every primary up front.
    const everyPrimary = connected.then(() => Promise.all(primaries(this.client).map((node) => node.ping())));
    const serving = Promise.all([everyPrimary, this.subscribed]).catch((error: unknown) => {
      throw this.problems.describe(error, true);
    });
    try {
      await Promise.race([serving, timeout]);
    } finally {
      clearTimeout(timer);
      if (onReady) this.client.off('ready', onReady);
    }
  }

  async getItem(accountId: string, key: string): Promise<Item | null> {
    const raw = await this.run(() => this.client.getBuffer(this.keys.item(accountId, key)));
    return raw === null ? null : parseItem(key, raw);
  }

  async getItems(accountId: string, keys: string[]): Promise<(Item | null)[]> {
    if (keys.length === 0) return [];
    // One MGET: the account's keys share a slot, and one command is one snapshot.
    const raws = await this.run(() => this.client.mgetBuffer(...keys.map((key) => this.keys.item(accountId, key))));
    return raws.map((raw, i) => (raw === null ? null : parseItem(keys[i], raw)));
  }

  async commit(accountId: string, request: CommitRequest): Promise<CommitOutcome> {
    // Each key the request names becomes one item key (KEYS) and one member (ARGV), once.
    const positions = new Map<string, number>();
    const position = (key: string) => {
      let at = positions.get(key);
      if (at === undefined) positions.set(key, (at = positions.size + 1));
      return at;
    };
    const checkArgs = request.checks.flatMap((check) => [position(check.key), check.version ?? '-']);
    const opArgs = request.ops.flatMap((op) => [
      op.op,
      position(op.key),
      op.op === 'set' ? op.value : op.op === 'increment' ? op.by : '',
      op.op === 'delete' || op.ttlMs === undefined ? '' : op.ttlMs,
      op.op === 'set' && op.keepTtl ? '1' : '0',
    ]);
    const members = [...positions.keys()];
    const reply = await this.run(() =>
      this.client.commit(
        5 + members.length,
        this.keys.index(accountId),
        this.keys.expiry(accountId),
        this.keys.versions(accountId),
        this.keys.expiryVersions(accountId),
        this.keys.changeLog(accountId),
        ...members.map((key) => this.keys.item(accountId, key)),
        request.maxKeys,
        SWEEP_BATCH,
        request.checks.length,
        request.ops.length,
        ...this.logArgs(accountId),
        ...members,
        ...checkArgs,
        ...opArgs,
      ),
    );
    switch (reply[0]) {
      case 'ok':
        return {
          ok: true,
          results: request.ops.map((op, i) => {
            const [version, createdAt, updatedAt, expiresAt, created, value] = reply.slice(1 + i * 6, 7 + i * 6);
            if (op.op === 'delete') return { key: op.key, item: null, created: false };
            const item = {
              key: op.key,
              version: String(version),
              createdAt: Number(createdAt),
              updatedAt: Number(updatedAt),
              expiresAt: expiresAt === '' ? null : Number(expiresAt),
            };
            return op.op === 'increment' ? { key: op.key, item, created: created === 1, value: String(value) } : { key: op.key, item, created: created === 1 };
          }),
        };
      case 'checks_failed': {
        const failedChecks = [];
        for (let i = 1; i < reply.length; i += 2) {
          const index = Number(reply[i]);
          failedChecks.push({ index, key: request.checks[index].key, currentVersion: reply[i + 1] === '' ? null : String(reply[i + 1]) });
        }
        return { ok: false, reason: 'checks_failed', failedChecks };
      }
      case 'quota_exceeded':
        return { ok: false, reason: 'quota_exceeded', maxKeys: request.maxKeys };
      case 'type_mismatch': {
        const index = Number(reply[1]);
        return { ok: false, reason: 'type_mismatch', index, key: request.ops[index].key };
      }
      default:
        throw new Error(`commit: unexpected reply ${JSON.stringify(reply[0])}`);
    }
  }

  async setItem(accountId: string, key: string, request: SetRequest): Promise<SetOutcome> {
    const reply = await this.run(() =>
      this.client.setItem(
        this.keys.item(accountId, key),
        this.keys.index(accountId),
        this.keys.expiry(accountId),
        this.keys.versions(accountId),
        this.keys.expiryVersions(accountId),
        this.keys.changeLog(accountId),
        ...setArgs(key, request),
        SWEEP_BATCH,
        ...this.logArgs(accountId),
      ),
    );
    return setOutcome(key, request, reply);
  }

  async setItems(accountId: string, writes: { key: string; request: SetRequest }[]): Promise<SetOutcome[]> {
    if (writes.length === 0) return [];
    // One script for the batch: one round trip and one atomic step, each write succeeding or failing alone.
    const reply = await this.run(() =>
      this.client.setItems(
        5 + writes.length,
        this.keys.index(accountId),
        this.keys.expiry(accountId),
        this.keys.versions(accountId),
        this.keys.expiryVersions(accountId),
        this.keys.changeLog(accountId),
        ...writes.map(({ key }) => this.keys.item(accountId, key)),
        SWEEP_BATCH,
        ...this.logArgs(accountId),
        ...writes.flatMap(({ key, request }) => setArgs(key, request)),
      ),
    );
    return writes.map(({ key, request }, i) => setOutcome(key, request, reply.slice(i * 6, i * 6 + 6)));
  }

  async deleteItem(accountId: string, key: string, condition: WriteCondition): Promise<DeleteOutcome> {
    if (condition.kind === 'absent') throw new Error('deleteItem: an "absent" condition cannot apply to a delete');
    const reply = await this.run(() =>
      this.client.deleteItem(
        this.keys.item(accountId, key),
        ...this.sweepKeys(accountId),
        key,
        condition.kind === 'version' ? condition.version : '',
        SWEEP_BATCH,
        ...this.logArgs(accountId),
      ),
    );
    switch (reply[0]) {
      case 'ok':
        return { ok: true };
      case 'not_found':
        return { ok: false, reason: 'not_found' };
      case 'version_mismatch':
        return { ok: false, reason: 'version_mismatch', currentVersion: reply[1] === '' ? null : String(reply[1]) };
      default:
        throw new Error(`deleteItem: unexpected reply ${JSON.stringify(reply[0])}`);
    }
  }

  async listItems(accountId: string, request: ListRequest): Promise<ListPage> {
    const { start, stop } = lexRange(request.prefix, request.after);
    const reply = await this.run(() =>
      this.client.listKeys(...this.sweepKeys(accountId), start, stop, request.limit, SWEEP_BATCH, ...this.logArgs(accountId)),
    );
    const nextAfter = reply[0] === '' ? null : reply[0];
    const listed: { key: string; expiresAt: string }[] = [];
    for (let i = 1; i < reply.length; i += 2) listed.push({ key: reply[i], expiresAt: reply[i + 1] });
    if (listed.length === 0) return { items: [], nextAfter };

    const itemKeys = listed.map(({ key }) => this.keys.item(accountId, key));
    const items: ListPage['items'] = [];
    if (request.values) {
      // Headers and values in one script call (one snapshot), which stops at the byte budget, so
      // a page of large values never costs more than the budget (plus one value) to read.
      const raws = await this.run(() => this.client.readItemsBuffer(itemKeys.length, ...itemKeys, request.values!.maxBytes));
      for (let i = 0; i < raws.length; i++) {
        if (raws[i].length === 0) continue;
        const item = parseItem(listed[i].key, raws[i]);
        items.push({ key: item.key, version: item.version, expiresAt: item.expiresAt, value: item.value });
      }
      // Stopped by the budget: the next page starts after the last key read.
      if (raws.length < listed.length) return { items, nextAfter: listed[raws.length - 1].key };
      return { items, nextAfter };
    }
    // Versions live in the item headers, read in one script call. A key deleted or expired since
    // the index was read is left out.
    const versions = await this.run(() => this.client.readVersions(itemKeys.length, ...itemKeys));
    listed.forEach(({ key, expiresAt }, i) => {
      if (versions[i] !== '') items.push({ key, version: versions[i], expiresAt: expiresAt === '' ? null : Number(expiresAt) });
    });
    return { items, nextAfter };
  }

  async countKeys(accountId: string): Promise<number> {
    return this.run(() => this.client.countKeys(...this.sweepKeys(accountId), SWEEP_BATCH, ...this.logArgs(accountId)));
  }

  async latestChange(accountId: string): Promise<string> {
    const [last] = await this.run(() => this.client.xrevrange(this.keys.changeLog(accountId), '+', '-', 'COUNT', 1));
    return last ? last[0] : NO_CHANGE;
  }

  async readChanges(accountId: string, after: string, limit: number, resuming: boolean): Promise<ChangesPage> {
    const reply = await this.run(() => this.client.readChanges(this.keys.changeLog(accountId), after, limit, resuming ? '1' : '0'));
    if (reply[0] === 'reset') return { reset: true };
    const changes: Change[] = [];
    for (let i = 1; i < reply.length; i += 5) {
      changes.push({
        cursor: reply[i],
        kind: reply[i + 1] as ChangeKind,
        key: reply[i + 2],
        version: reply[i + 3],
        expiresAt: reply[i + 4] === '' ? null : Number(reply[i + 4]),
      });
    }
    return { reset: false, changes };
  }

  async keepWatched(accountId: string): Promise<void> {
    await this.run(() => this.client.keepWatched(...this.sweepKeys(accountId), SWEEP_BATCH, ...this.logArgs(accountId)));
  }

  isCursor(text: string): boolean {
    return CURSOR.test(text);
  }

  onChanges(listener: (accountId: string) => void): () => void {
    this.changes.on('changes', listener);
    return () => this.changes.off('changes', listener);
  }

  async acquireWatcher(accountId: string, watcherId: string, max: number, leaseMs: number): Promise<boolean> {
    return (await this.run(() => this.client.acquireWatcher(this.keys.watchers(accountId), watcherId, max, leaseMs))) === 1;
  }

  async renewWatchers(accountId: string, watcherIds: string[], leaseMs: number): Promise<void> {
    if (watcherIds.length === 0) return;
    const key = this.keys.watchers(accountId);
    // Redis's clock is not read here: a lease renewed on this replica's clock lapses a little early
    // or late, by the clocks' difference, which the lease (several heartbeats long) absorbs.
    const until = Date.now() + leaseMs;
    await this.run(() => this.client.zadd(key, 'XX', ...watcherIds.flatMap((id) => [until, id])));
    await this.run(() => this.client.pexpire(key, leaseMs));
  }

  async releaseWatcher(accountId: string, watcherId: string): Promise<void> {
    await this.run(() => this.client.zrem(this.keys.watchers(accountId), watcherId));
  }

  /** The KEYS every script that collects expired keys takes, in this order. */
  private sweepKeys(accountId: string): [string, string, string, string] {
    return [this.keys.index(accountId), this.keys.expiry(accountId), this.keys.expiryVersions(accountId), this.keys.changeLog(accountId)];
  }

  /** The ARGV those scripts end with (changes.lua). */
  private logArgs(accountId: string): [string, string, string] {
    return [accountId, this.keys.changesChannel(), this.changeLog ? '1' : '0'];
  }

  async createAccount(account: Account, firstKey: ApiKeyRecord): Promise<boolean> {
    const overrides = LIMIT_NAMES.flatMap((name) =>
      account.limitOverrides[name] === undefined ? [] : [name, account.limitOverrides[name] as number],
    );
    const created = await this.run(() =>
      this.client.createAccount(
        this.keys.account(account.id),
        this.keys.apiKey(firstKey.hash),
        this.keys.apiKeyId(firstKey.id),
        this.keys.accountApiKeys(account.id),
        this.keys.accounts(),
        account.id,
        account.name ?? '',
        account.createdAt,
        firstKey.id,
        firstKey.hash,
        firstKey.name ?? '',
        firstKey.scopes.join(','),
        firstKey.createdAt,
        firstKey.prefix ?? '',
        firstKey.expiresAt ?? '',
        ...overrides,
      ),
    );
    return created === 1;
  }

  async getAccount(id: string): Promise<Account | null> {
    const fields = await this.run(() => this.client.hgetall(this.keys.account(id)));
    return parseAccount(fields);
  }

  async updateAccountLimits(id: string, patch: LimitsPatch): Promise<Account | null> {
    const pairs = LIMIT_NAMES.flatMap((name) => (patch[name] === undefined ? [] : [name, patch[name] ?? '']));
    const updated = await this.run(() => this.client.updateAccountLimits(this.keys.account(id), ...pairs));
    if (updated === 0) return null;
    await this.publish({ kind: 'account', id });
    return this.getAccount(id);
  }

  async createApiKey(key: ApiKeyRecord): Promise<boolean> {
    const created = await this.run(() =>
      this.client.createApiKey(
        this.keys.account(key.accountId),
        this.keys.apiKey(key.hash),
        this.keys.apiKeyId(key.id),
        this.keys.accountApiKeys(key.accountId),
        key.accountId,
        key.id,
        key.hash,
        key.name ?? '',
        key.scopes.join(','),
        key.createdAt,
        key.prefix ?? '',
        key.expiresAt ?? '',
      ),
    );
    return created === 1;
  }

  async listApiKeys(accountId: string): Promise<ApiKeyInfo[]> {
    const hashes = Object.values(await this.run(() => this.client.hgetall(this.keys.accountApiKeys(accountId))));
    const records = await Promise.all(hashes.map((hash) => this.run(() => this.client.hgetall(this.keys.apiKey(hash)))));
    return records
      .map(parseApiKey)
      .filter((key): key is ApiKeyInfo => key !== null)
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async findApiKey(hash: string): Promise<{ apiKey: ApiKeyInfo; account: Account } | null> {
    const apiKey = parseApiKey(await this.run(() => this.client.hgetall(this.keys.apiKey(hash))));
    if (!apiKey) return null;
    const account = await this.getAccount(apiKey.accountId);
    return account ? { apiKey, account } : null;
  }

  async revokeApiKey(keyId: string): Promise<boolean> {
    const ref = await this.run(() => this.client.hgetall(this.keys.apiKeyId(keyId)));
    if (!ref.hash || !ref.accountId) return false;
    const revoked = await this.run(() =>
      this.client.revokeApiKey(
        this.keys.apiKeyId(keyId),
        this.keys.apiKey(ref.hash),
        this.keys.accountApiKeys(ref.accountId),
        keyId,
        ref.hash,
      ),
    );
    if (revoked === 0) return false;
    await this.publish({ kind: 'apiKey', hash: ref.hash });
    return true;
  }

  async listAccounts(request: { after?: string; limit: number }): Promise<AccountPage> {
    await this.indexAccountsOnce();
    const start = request.after === undefined ? '-' : `(${request.after}`;
    // One more than the page: whether there is a next page is known without another call.
    const ids = await this.run(() => this.client.zrangebylex(this.keys.accounts(), start, '+', 'LIMIT', 0, request.limit + 1));
    const page = ids.slice(0, request.limit);
    // Every record carries the {admin} tag: one pipeline to one node, one round trip.
    const pipeline = this.client.pipeline();
    for (const id of page) pipeline.hgetall(this.keys.account(id));
    const replies = page.length === 0 ? [] : await this.run(() => pipeline.exec());
    const accounts: Account[] = [];
    const gone: string[] = [];
    (replies ?? []).forEach(([error, fields], i) => {
      if (error) throw toStoreError(error);
      const record = fields as Record<string, string>;
      const account = parseAccount(record);
      if (account) accounts.push(account);
      // No record: an id the backfill indexed as its account was being deleted (createAccount
      // writes both at once, so it is no account being created). Dropped from the index.
      else if (Object.keys(record).length === 0) gone.push(page[i]);
    });
    if (gone.length > 0) await this.run(() => this.client.zrem(this.keys.accounts(), ...gone));
    return { accounts, nextAfter: ids.length > request.limit ? page[page.length - 1] : null };
  }

  /**
   * Accounts made before the listing existed are not in its index: the first listing of a store
   * adds them (SCAN of every primary for account records; a marker says it was done, so it runs
   * once per store, and again harmlessly when replicas race to it). Accounts created meanwhile are
   * indexed by createAccount itself. An account being deleted may be added back by a backfill that
   * raced its deletion: the listing skips it, and drops the id once its record is gone.
   */
  private async indexAccountsOnce(): Promise<void> {
    if (this.accountsIndexed) return;
    if ((await this.run(() => this.client.exists(this.keys.accountsIndexed()))) === 0) {
      const recordPrefix = this.keys.account('');
      for (const node of primaries(this.client)) {
        let cursor = '0';
        do {
          const [next, found] = await this.run(() => node.scan(cursor, 'MATCH', this.keys.accountPattern(), 'COUNT', 1000));
          cursor = next;
          const ids = found.filter((name) => name.startsWith(recordPrefix)).map((name) => name.slice(recordPrefix.length));
          if (ids.length > 0) await this.run(() => this.client.zadd(this.keys.accounts(), ...ids.flatMap((id) => [0, id])));
        } while (cursor !== '0');
      }
      await this.run(() => this.client.set(this.keys.accountsIndexed(), '1'));
    }
    this.accountsIndexed = true;
  }

  private accountsIndexed = false;

  async deleteAccount(id: string): Promise<boolean> {
    const marked = await this.run(() => this.client.markAccountDeleted(this.keys.account(id), this.keys.accounts(), id, Date.now()));
    if (marked === 0) return false;
    // Its keys are refused from here on: replicas drop what they cached of the account.
    await this.publish({ kind: 'account', id });

    // No key can be added to an account marked deleted, so this list is complete.
    const apiKeys = await this.run(() => this.client.hgetall(this.keys.accountApiKeys(id)));
    for (const [keyId, hash] of Object.entries(apiKeys)) {
      await this.run(() => this.client.revokeApiKey(this.keys.apiKeyId(keyId), this.keys.apiKey(hash), this.keys.accountApiKeys(id), keyId, hash));
    }

    // The items, a batch per call, so Redis serves everything else in between.
    for (;;) {
      const members = await this.run(() => this.client.zrange(this.keys.index(id), 0, PURGE_BATCH - 1));
      const left = await this.run(() =>
        this.client.purgeItems(
          6 + members.length,
          this.keys.index(id),
          this.keys.expiry(id),
          this.keys.expiryVersions(id),
          this.keys.versions(id),
          this.keys.changeLog(id),
          this.keys.watchers(id),
          ...members.map((key) => this.keys.item(id, key)),
          ...members,
        ),
      );
      if (left === 0) break;
    }
    await this.run(() => this.client.del(this.keys.account(id), this.keys.accountApiKeys(id)));
    // Had a backfill of the listing indexed it again meanwhile.
    await this.run(() => this.client.zrem(this.keys.accounts(), id));
    return true;
  }

  onInvalidate(listener: (event: Invalidation) => void): () => void {
    this.invalidations.on('invalidate', listener);
    return () => this.invalidations.off('invalidate', listener);
  }

  async ping(): Promise<void> {
    await this.run(() => this.client.ping());
  }

  async close(): Promise<void> {
    this.closing = true;
    this.invalidations.removeAllListeners();
    // QUIT lets replies in flight arrive; a connection that is down is just dropped (QUIT on it
    // would wait for a reconnect that is not coming).
    await Promise.all(
      [this.client, this.subscriber].map(async (connection) => {
        if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
        else connection.disconnect();
      }),
    );
  }

  /** Tells every replica (this one included, through its own subscription) to drop cached state. */
  private async publish(event: Invalidation): Promise<void> {
    // Delivered locally at once too: the replica that made the change must not wait for the round trip.
    this.invalidations.emit('invalidate', event);
    await this.run(() => this.client.publish(this.keys.invalidationChannel(), JSON.stringify(event)));
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw toStoreError(error);
    }
  }
}

/**
 * ZRANGEBYLEX bounds for keys starting with `prefix`, after `after`. Keys are compared as bytes;
 * UTF-8 never contains 0xFF, so "(prefix\xFF" is above every key that starts with the prefix.
 */
export function lexRange(prefix: string, after: string | undefined): { start: string | Buffer; stop: string | Buffer } {
  const stop = prefix === '' ? '+' : Buffer.concat([Buffer.from(`(${prefix}`), Buffer.from([0xff])]);
  if (after !== undefined && Buffer.compare(Buffer.from(after), Buffer.from(prefix)) >= 0) {
    return { start: `(${after}`, stop };
  }
  return { start: prefix === '' ? '-' : `[${prefix}`, stop };
}

/** The account of a record, or null when there is none or it is being deleted. */
function parseAccount(fields: Record<string, string>): Account | null {
  if (!fields.id || fields.deleting !== undefined) return null;
  const limitOverrides: LimitOverrides = {};
  for (const name of LIMIT_NAMES) {
    const value = fields[`limit:${name}`];
    if (value !== undefined) limitOverrides[name] = Number(value);
  }
  return { id: fields.id, name: fields.name || null, limitOverrides, createdAt: Number(fields.createdAt) };
}

function parseApiKey(fields: Record<string, string>): ApiKeyInfo | null {
  if (!fields.id) return null;
  return {
    id: fields.id,
    accountId: fields.accountId,
    name: fields.name || null,
    scopes: fields.scopes.split(',') as Scope[],
    createdAt: Number(fields.createdAt),
    ...(fields.prefix === undefined ? {} : { prefix: fields.prefix }),
    ...(fields.expiresAt === undefined ? {} : { expiresAt: Number(fields.expiresAt) }),
  };
}

/** setItem's ARGV for the write itself: member, value, ttlMs, expiresAt, keepTtl, mode, expected and maxKeys. */
function setArgs(key: string, request: SetRequest): [string, string, number | '', number | '', '1' | '0', string, string, number] {
  const { condition } = request;
  return [
    key,
    request.value,
    request.ttlSeconds === undefined ? '' : request.ttlSeconds * 1000,
    request.expiresAt ?? '',
    request.keepTtl ? '1' : '0',
    condition.kind,
    condition.kind === 'version' ? condition.version : '',
    request.maxKeys,
  ];
}

/** A write's outcome from setItem's reply (or one write's six elements of setItems'). */
function setOutcome(key: string, request: SetRequest, reply: (string | number)[]): SetOutcome {
  switch (reply[0]) {
    case 'ok':
      return {
        ok: true,
        created: reply[1] === 1,
        item: {
          key,
          version: String(reply[2]),
          createdAt: Number(reply[3]),
          updatedAt: Number(reply[4]),
          expiresAt: reply[5] === '' ? null : Number(reply[5]),
        },
      };
    case 'exists':
      return { ok: false, reason: 'exists', currentVersion: String(reply[1]) };
    case 'version_mismatch':
      return { ok: false, reason: 'version_mismatch', currentVersion: reply[1] === '' ? null : String(reply[1]) };
    case 'quota_exceeded':
      return { ok: false, reason: 'quota_exceeded', maxKeys: request.maxKeys };
    default:
      throw new Error(`setItem: unexpected reply ${JSON.stringify(reply[0])}`);
  }
}
