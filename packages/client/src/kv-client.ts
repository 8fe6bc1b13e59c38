// KvClient: every data route of the API as a typed method, on fetch alone.

import { KvAdmin } from './kv-admin';
import { KvError, KvNetworkError, KvNotFoundError, KvPreconditionFailedError } from './errors';
import { parseJson, valueJson, type JsonPath } from './json';
import { itemPath } from './keys';
import { readEvents, readLines } from './streams';
import { backoffMs, sleep, Transport, type Call, type FetchFunction, type RetryOptions } from './transport';
import type {
  ChangeEvent,
  CommitCheck,
  CommitOp,
  CommitResult,
  Entry,
  ExportRecord,
  ImportReport,
  ItemMeta,
  ListedItem,
  ListPage,
  RawEntry,
  RawExportRecord,
  Usage,
  WatchEvent,
  WriteResult,
} from './types';

/** Options of a KvClient. */
export interface KvClientOptions {
  /** The service's base URL, e.g. `http://localhost:8080`. */
  url: string;
  /** An API key (`kv_…`). */
  apiKey: string;
  /** The fetch to use. Defaults to the global fetch. */
  fetch?: FetchFunction;
  /** Retries (see RetryOptions); `false` turns them off. On by default. */
  retry?: RetryOptions | false;
  /** Time limit of one attempt. Defaults to 30,000 ms; 0: none. A watch or export is limited only until its headers arrive. */
  timeoutMs?: number;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Read integers beyond ±(2^53 − 1) as BigInt everywhere (each read can also ask on its own). Defaults to false. */
  bigint?: boolean;
}

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call (and its retries); the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** How values are read back. */
export interface ReadOptions extends CallOptions {
  /** Integers beyond ±(2^53 − 1) come back as BigInt. Defaults to the client's `bigint`. */
  bigint?: boolean;
}

/** Options of get. */
export interface GetOptions extends ReadOptions {
  /** true: the value's exact JSON text in `raw` instead of `value`. */
  raw?: boolean;
}

/** Options of set. */
export interface SetOptions extends CallOptions {
  /** The key expires this many seconds after the write (1 … the server's max, 365 days by default). */
  ttlSeconds?: number;
  /** The same as ttlSeconds. */
  ttl?: number;
  /**
   * The key expires at this time: sent as the whole seconds from now (rounded up), so it lands
   * within a second of it, by this machine's clock. A time not in the future is a RangeError.
   */
  expiresAt?: Date | string | number;
  /** Keep the TTL of the value being replaced. Not with a TTL. */
  keepTtl?: boolean;
  /** Write only if the key is at this version (compare-and-swap); else KvPreconditionFailedError. */
  ifVersion?: string;
  /** Write only if the key does not exist; else KvPreconditionFailedError (`currentVersion` set). */
  ifNotExists?: boolean;
}

/** Options of delete. */
export interface DeleteOptions extends CallOptions {
  /** Delete only at this version; else KvPreconditionFailedError (currentVersion null when absent). */
  ifVersion?: string;
}

/** Options of patch. */
export interface PatchOptions extends CallOptions {
  /** Apply the patch only at this version; else KvPreconditionFailedError. */
  ifVersion?: string;
}

/** Options of increment. */
export interface IncrementOptions extends CallOptions {
  /** Sets the TTL; without it the key keeps the TTL it has. */
  ttlSeconds?: number;
}

/** Options of list, listPages and listAll. */
export interface ListOptions extends ReadOptions {
  /** Only keys starting with this. */
  prefix?: string;
  /** The nextCursor of the previous page. */
  cursor?: string;
  /** 1 … 1000 keys per page. Defaults to the server's 100. */
  limit?: number;
  /** Each item carries its value. */
  values?: boolean;
  /** Each item carries its value's JSON text in `raw` (implies values). */
  raw?: boolean;
}

/** Options of batchGet. */
export interface BatchGetOptions extends ReadOptions {
  /** Each item's value as JSON text in `raw`. */
  raw?: boolean;
}

/** Options of export and exportLines. */
export interface ExportOptions extends ReadOptions {
  /** Only keys starting with this. */
  prefix?: string;
}

/** Options of import. */
export interface ImportOptions extends CallOptions {
  /** `skip` (the default) leaves a key that exists alone; `overwrite` replaces it. */
  mode?: 'skip' | 'overwrite';
  /**
   * Lines per request. An import is sent in requests of at most this many lines (each must arrive
   * within the server's request timeout; at 1,000 writes per second, 10,000 lines take 10 s). The
   * reports are added up and failed lines numbered over the whole input. Defaults to 10,000.
   */
  linesPerRequest?: number;
}

/** Options of watch. */
export interface WatchOptions extends ReadOptions {
  /** Only keys starting with this. */
  prefix?: string;
  /** Each `set` carries the value written (while it is still current when sent). */
  values?: boolean;
  /** Each `set` carries its value's JSON text in `raw` (implies values). */
  raw?: boolean;
  /** Resume after this event id; without it the stream starts from now. */
  since?: string;
  /**
   * Called each time a stream is open (the first time and after every reconnection): from then
   * on every change is delivered. Read a snapshot here on the first call, and a cache built from it
   * plus the events misses nothing: a reconnection resumes where the stream was (even one that
   * dropped before its first event), or yields `reset` when it cannot.
   */
  onOpen?: () => void;
}

/** Options of update. */
export interface UpdateOptions extends ReadOptions {
  /** Tries (read, apply, conditional write) before the last 412 is thrown. Defaults to 10. */
  maxAttempts?: number;
  /** Backoff between tries: full jitter from this, doubling. Defaults to 20 ms. */
  minDelayMs?: number;
  /** The longest backoff. Defaults to 1,000 ms. */
  maxDelayMs?: number;
  /** Sets this TTL on every write; without it, a replaced key keeps its TTL and a new one has none. */
  ttlSeconds?: number;
}

/** The commit body. */
export interface CommitRequest {
  checks?: CommitCheck[];
  ops: CommitOp[];
}

/** What import takes: NDJSON text, or lines / records one by one (sync or async). */
export type ImportSource =
  | string
  | Iterable<string | ExportRecord>
  | AsyncIterable<string | ExportRecord>;

const ITEMS = '/kv/items';

/**
 * A client of one KV account: `new KvClient({ url, apiKey })`. Methods map one to one onto the
 * API's routes; answers are typed, error answers are thrown as KvError subclasses. Reads and
 * conditional writes are retried on 5xx and network failures; nothing is retried that could apply
 * twice (see RetryOptions).
 */
export class KvClient {
  private readonly http: Transport;
  private readonly bigint: boolean;

  constructor(options: KvClientOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey === '') throw new TypeError('apiKey is required');
    this.http = new Transport({
      url: options.url,
      authorization: `Bearer ${options.apiKey}`,
      fetch: options.fetch,
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      headers: options.headers,
    });
    this.bigint = options.bigint ?? false;
  }

  /** An admin client for the same service (and fetch, retries, time limit): `client.admin(token)`. */
  admin(adminToken: string): KvAdmin {
    const { url, fetch, retry, timeoutMs, headers } = this.http.settings;
    return new KvAdmin({ url, adminToken, fetch, retry, timeoutMs, headers });
  }

  private parse(text: string, options: ReadOptions, raw?: (path: JsonPath) => boolean): unknown {
    return parseJson(text, { bigint: options.bigint ?? this.bigint, raw });
  }

  /**
   * The item at `key` with its value, or null when there is none (404). `raw: true` gives the
   * value's exact JSON text in `raw` instead (see getRaw).
   */
  async get<T = unknown>(key: string, options?: GetOptions & { raw?: false }): Promise<Entry<T> | null>;
  async get(key: string, options: GetOptions & { raw: true }): Promise<RawEntry | null>;
  async get<T = unknown>(key: string, options: GetOptions = {}): Promise<Entry<T> | RawEntry | null> {
    let text: string;
    try {
      ({ text } = await this.http.send({ method: 'GET', path: `${ITEMS}/${itemPath(key)}`, idempotent: true, signal: options.signal }));
    } catch (error) {
      if (error instanceof KvNotFoundError) return null;
      throw error;
    }
    if (!options.raw) return (this.parse(text, options) as { data: Entry<T> }).data;
    const { value, ...meta } = (this.parse(text, options, (p) => p.length === 2 && p[1] === 'value') as { data: Entry<string> }).data;
    return { ...meta, raw: value };
  }

  /**
   * Re-reads an item only if it changed: sends `If-None-Match` with `entry.version`, and answers
   * `entry` itself (the same object) when the key is still at that version (304, no body sent),
   * the new item when it moved on, or null when it is gone. For polling a value cheaply.
   */
  async revalidate<T = unknown>(entry: Entry<T>, options: ReadOptions = {}): Promise<Entry<T> | null> {
    let answer: { status: number; text: string };
    try {
      answer = await this.http.send({
        method: 'GET',
        path: `${ITEMS}/${itemPath(entry.key)}`,
        headers: { 'If-None-Match': quote(entry.version) },
        idempotent: true,
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof KvNotFoundError) return null;
      throw error;
    }
    if (answer.status === 304) return entry;
    return (this.parse(answer.text, options) as { data: Entry<T> }).data;
  }

  /**
   * Whether the key exists, without its value (`HEAD`): `{ key, version }` from its ETag, or null.
   * Counts as a read.
   */
  async head(key: string, options: CallOptions = {}): Promise<{ key: string; version: string } | null> {
    try {
      const { headers } = await this.http.send({ method: 'HEAD', path: `${ITEMS}/${itemPath(key)}`, idempotent: true, signal: options.signal });
      const etag = headers.get('ETag') ?? '';
      return { key, version: etag.replace(/^W\//, '').replace(/^"|"$/g, '') };
    } catch (error) {
      if (error instanceof KvNotFoundError) return null;
      throw error;
    }
  }

  /** The item at `key` with its value's exact JSON text in `raw` (numbers keep every digit), or null. */
  async getRaw(key: string, options: CallOptions = {}): Promise<RawEntry | null> {
    return this.get(key, { ...options, raw: true });
  }

  /**
   * Creates or replaces the item. With `ifVersion` or `ifNotExists` the write is conditional
   * (KvPreconditionFailedError when it does not hold) and retried on 5xx; without, never retried.
   * `value` may hold BigInt and RawJson (written as they are).
   */
  async set(key: string, value: unknown, options: SetOptions = {}): Promise<WriteResult> {
    const body: string[] = [`"value":${valueJson(value)}`];
    const ttlSeconds = ttlOf(options);
    if (ttlSeconds !== undefined) body.push(`"ttlSeconds":${ttlSeconds}`);
    if (options.keepTtl !== undefined) body.push(`"keepTtl":${options.keepTtl}`);
    if (options.ifNotExists !== undefined) body.push(`"ifNotExists":${options.ifNotExists}`);
    if (options.ifVersion !== undefined) body.push(`"ifVersion":${JSON.stringify(options.ifVersion)}`);
    const answer = await this.http.send({
      method: 'PUT',
      path: `${ITEMS}/${itemPath(key)}`,
      body: `{${body.join(',')}}`,
      idempotent: options.ifVersion !== undefined || options.ifNotExists === true,
      signal: options.signal,
    });
    return { ...(JSON.parse(answer.text) as { data: ItemMeta }).data, created: answer.status === 201 };
  }

  /**
   * Deletes the item: true when it was deleted, false when there was none (an unconditional delete's
   * 404). With `ifVersion`, only at that version (else KvPreconditionFailedError); only then retried on 5xx.
   */
  async delete(key: string, options: DeleteOptions = {}): Promise<boolean> {
    const call: Call = { method: 'DELETE', path: `${ITEMS}/${itemPath(key)}`, idempotent: options.ifVersion !== undefined, signal: options.signal };
    if (options.ifVersion !== undefined) call.headers = { 'If-Match': quote(options.ifVersion) };
    try {
      await this.http.send(call);
      return true;
    } catch (error) {
      if (error instanceof KvNotFoundError && options.ifVersion === undefined) return false;
      throw error;
    }
  }

  /** One page of keys in UTF-8 byte order, with values when asked. */
  async list<T = unknown>(options: ListOptions = {}): Promise<ListPage<T>> {
    const { text } = await this.http.send({
      method: 'GET',
      path: ITEMS,
      query: {
        prefix: options.prefix,
        cursor: options.cursor,
        limit: options.limit,
        values: options.values || options.raw ? true : undefined,
      },
      idempotent: true,
      signal: options.signal,
    });
    const raw = options.raw ? (p: JsonPath) => p.length === 4 && p[1] === 'items' && p[3] === 'value' : undefined;
    const page = (this.parse(text, options, raw) as { data: ListPage<T> }).data;
    if (options.raw) page.items = page.items.map(({ value, ...item }) => ({ ...item, raw: value as string }));
    return page;
  }

  /** Every page from `cursor` (or the first) to the last, one request each. */
  async *listPages<T = unknown>(options: ListOptions = {}): AsyncGenerator<ListPage<T>> {
    let cursor = options.cursor;
    for (;;) {
      const page = await this.list<T>({ ...options, cursor });
      yield page;
      if (page.nextCursor === null) return;
      cursor = page.nextCursor;
    }
  }

  /** Every listed item, across all pages: `for await (const item of client.listAll({ prefix }))`. */
  async *listAll<T = unknown>(options: ListOptions = {}): AsyncGenerator<ListedItem<T>> {
    for await (const page of this.listPages<T>(options)) yield* page.items;
  }

  /**
   * Merges an RFC 7396 merge patch into the value, atomically (`application/merge-patch+json`):
   * a member set to null is removed, objects merge, anything else replaces. The TTL is kept.
   * KvNotFoundError when the key does not exist. Retried on 5xx only with `ifVersion`.
   */
  async patch(key: string, mergePatch: unknown, options: PatchOptions = {}): Promise<ItemMeta> {
    const call: Call = {
      method: 'PATCH',
      path: `${ITEMS}/${itemPath(key)}`,
      body: valueJson(mergePatch),
      contentType: 'application/merge-patch+json',
      idempotent: options.ifVersion !== undefined,
      signal: options.signal,
    };
    if (options.ifVersion !== undefined) call.headers = { 'If-Match': quote(options.ifVersion) };
    return (JSON.parse((await this.http.send(call)).text) as { data: ItemMeta }).data;
  }

  /**
   * Adds `by` (default 1) to the integer at `key`, atomically; an absent key counts as 0 and is
   * created. KvTypeMismatchError for a value that is not an integer or a result past ±(2^53 − 1).
   * Never retried on 5xx (it could add twice).
   */
  async increment(key: string, by = 1, options: IncrementOptions = {}): Promise<Entry<number> & { created: boolean }> {
    const body: Record<string, unknown> = { key, by };
    if (options.ttlSeconds !== undefined) body.ttlSeconds = options.ttlSeconds;
    const answer = await this.http.send({
      method: 'POST',
      path: `${ITEMS}:increment`,
      body: JSON.stringify(body),
      idempotent: false,
      signal: options.signal,
    });
    return { ...(JSON.parse(answer.text) as { data: Entry<number> }).data, created: answer.status === 201 };
  }

  /**
   * Checks versions, then applies every op in order, all or nothing (KvPreconditionFailedError with
   * `failedChecks` when a check fails). Retried on 5xx only when every key it writes is also checked.
   */
  async commit(request: CommitRequest, options: CallOptions = {}): Promise<{ results: CommitResult[] }> {
    const checks = request.checks ?? [];
    const checked = new Set(checks.map((check) => check.key));
    const ops = request.ops.map((op) => {
      if (op.op !== 'set') return JSON.stringify(op);
      const { value, ...rest } = op;
      const fields = JSON.stringify(rest);
      return `${fields.slice(0, -1)},"value":${valueJson(value)}}`;
    });
    const body = `{${request.checks ? `"checks":${JSON.stringify(checks)},` : ''}"ops":[${ops.join(',')}]}`;
    const answer = await this.http.send({
      method: 'POST',
      path: `${ITEMS}:commit`,
      body,
      idempotent: request.ops.length > 0 && request.ops.every((op) => checked.has(op.key)),
      signal: options.signal,
    });
    return (JSON.parse(answer.text) as { data: { results: CommitResult[] } }).data;
  }

  /** Up to 100 items in request order (null where a key does not exist), read in one snapshot. */
  async batchGet<T = unknown>(keys: string[], options?: BatchGetOptions & { raw?: false }): Promise<(Entry<T> | null)[]>;
  async batchGet(keys: string[], options: BatchGetOptions & { raw: true }): Promise<(RawEntry | null)[]>;
  async batchGet<T = unknown>(keys: string[], options: BatchGetOptions = {}): Promise<(Entry<T> | RawEntry | null)[]> {
    const { text } = await this.http.send({
      method: 'POST',
      path: `${ITEMS}:batchGet`,
      body: JSON.stringify({ keys }),
      idempotent: true,
      signal: options.signal,
    });
    const raw = options.raw ? (p: JsonPath) => p.length === 4 && p[1] === 'items' && p[3] === 'value' : undefined;
    const items = (this.parse(text, options, raw) as { data: { items: (Entry<T> | null)[] } }).data.items;
    if (!options.raw) return items;
    return items.map((item) => {
      if (item === null) return null;
      const { value, ...meta } = item;
      return { ...meta, raw: value as string };
    });
  }

  /** The account's live key count and its effective limits. */
  async usage(options: CallOptions = {}): Promise<Usage> {
    const { text } = await this.http.send({ method: 'GET', path: '/kv/usage', idempotent: true, signal: options.signal });
    return (JSON.parse(text) as { data: Usage }).data;
  }

  /**
   * The export's NDJSON lines as they arrive, unparsed (`{"key","value","expiresAt"}` each, in key
   * order). A response the server cut off midway throws KvNetworkError: an export is whole or fails.
   */
  async *exportLines(options: ExportOptions = {}): AsyncGenerator<string> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal!.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await this.http.open({
        method: 'GET',
        path: '/kv/export',
        query: { prefix: options.prefix },
        headers: { Accept: 'application/x-ndjson' },
        idempotent: true,
        signal: controller.signal,
      });
      try {
        for await (const line of readLines(res.body!)) if (line !== '') yield line;
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        throw new KvNetworkError(`the export was cut off: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  /** Every item (or those under `prefix`) as records, streamed: `for await (const { key, value } of client.export())`. */
  export<T = unknown>(options?: ExportOptions & { raw?: false }): AsyncGenerator<ExportRecord<T> & { expiresAt: string | null }>;
  export(options: ExportOptions & { raw: true }): AsyncGenerator<RawExportRecord>;
  async *export<T = unknown>(options: ExportOptions & { raw?: boolean } = {}): AsyncGenerator<ExportRecord<T> | RawExportRecord> {
    const raw = options.raw ? (p: JsonPath) => p.length === 1 && p[0] === 'value' : undefined;
    for await (const line of this.exportLines(options)) {
      const record = this.parse(line, options, raw) as ExportRecord<T> & { expiresAt: string | null };
      if (!options.raw) yield record;
      else yield { key: record.key, raw: record.value as string, expiresAt: record.expiresAt };
    }
  }

  /**
   * Imports records or NDJSON lines (as export gives them), each line on its own: a bad line fails
   * alone and is reported with its 1-based number. Sent in requests of `linesPerRequest` lines.
   * Never retried on 5xx: run the same import again instead (skip leaves what was applied, overwrite
   * writes the same values).
   */
  async import(source: ImportSource, options: ImportOptions = {}): Promise<ImportReport> {
    const perRequest = options.linesPerRequest ?? 10_000;
    if (!(perRequest >= 1)) throw new RangeError('linesPerRequest must be at least 1');
    const report: ImportReport = { created: 0, replaced: 0, skipped: 0, failed: [] };
    let batch: string[] = [];
    let sent = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const answer = await this.http.send({
        method: 'POST',
        path: '/kv/import',
        query: { mode: options.mode },
        body: `${batch.join('\n')}\n`,
        contentType: 'application/x-ndjson',
        idempotent: false,
        signal: options.signal,
      });
      const part = (JSON.parse(answer.text) as { data: ImportReport }).data;
      report.created += part.created;
      report.replaced += part.replaced;
      report.skipped += part.skipped;
      for (const failure of part.failed) report.failed.push({ ...failure, line: failure.line + sent });
      if (part.omittedFailures) report.omittedFailures = (report.omittedFailures ?? 0) + part.omittedFailures;
      sent += batch.length;
      batch = [];
    };
    const lines: Iterable<string | ExportRecord> | AsyncIterable<string | ExportRecord> =
      typeof source === 'string' ? source.replace(/\r?\n$/, '').split(/\r?\n/) : source;
    for await (const entry of lines) {
      batch.push(typeof entry === 'string' ? entry.replace(/\r?\n$/, '') : recordLine(entry));
      if (batch.length >= perRequest) await flush();
    }
    await flush();
    return report;
  }

  /**
   * Every change under `prefix` as it is committed, through any replica: `set`, `delete`, `expire`,
   * and `reset` when the stream could not resume where it was (re-read, then follow). Reconnects on
   * its own after a network failure, a 5xx or the server ending the stream, resuming after the last
   * event seen (`Last-Event-ID`), so nothing is missed or repeated. Runs until you `break` out of
   * the loop or abort `signal` (it then ends quietly); errors other than those are thrown.
   */
  async *watch<T = unknown>(options: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    let lastId = options.since;
    let failures = 0;
    const outer = options.signal;
    const raw = options.raw ? (p: JsonPath) => p.length === 1 && p[0] === 'value' : undefined;
    while (!outer?.aborted) {
      const controller = new AbortController();
      const onAbort = () => controller.abort(outer!.reason);
      outer?.addEventListener('abort', onAbort, { once: true });
      try {
        let res: Response;
        try {
          res = await this.http.open({
            method: 'GET',
            path: '/kv/watch',
            query: { prefix: options.prefix, values: options.values || options.raw ? true : undefined },
            headers: { Accept: 'text/event-stream', ...(lastId !== undefined ? { 'Last-Event-ID': lastId } : {}) },
            idempotent: true,
            signal: controller.signal,
          });
          options.onOpen?.();
          let delivered = false;
          // The stream's starting point counts as seen: a drop before the first event resumes there.
          for await (const message of readEvents(res.body!, (id) => (lastId = id))) {
            failures = 0;
            delivered = true;
            if (message.id !== undefined) lastId = message.id;
            if (message.event === 'reset') {
              yield { type: 'reset', id: message.id ?? '' };
              continue;
            }
            const data = this.parse(message.data, options, raw) as Omit<ChangeEvent<T>, 'type' | 'id'> & { value?: unknown };
            const event = { type: message.event, id: message.id ?? '', ...data } as ChangeEvent<T>;
            if (options.raw && 'value' in data) {
              delete event.value;
              event.raw = data.value as string;
            }
            yield event;
          }
          // The server ended the stream (a replica draining): resume, on whichever replica answers —
          // at once after a stream that delivered, after a backoff when it ended with nothing.
          if (!delivered) {
            failures++;
            await sleep(backoffMs(failures, this.http.retry.minDelayMs, this.http.retry.maxDelayMs), outer).catch(() => undefined);
          }
        } catch (error) {
          if (outer?.aborted) return;
          const transient = error instanceof KvNetworkError || !(error instanceof KvError) || error.status >= 500;
          if (!transient) throw error;
          failures++;
          await sleep(backoffMs(failures, this.http.retry.minDelayMs, this.http.retry.maxDelayMs), outer).catch(() => undefined);
        }
      } finally {
        outer?.removeEventListener('abort', onAbort);
        controller.abort();
      }
    }
  }

  /**
   * Read, apply `fn`, write back only if nobody wrote in between (`ifVersion`; `ifNotExists` for a
   * key that did not exist), and on a 412 start over after a jittered, growing backoff, up to
   * `maxAttempts` tries (then the last KvPreconditionFailedError is thrown). `fn` gets the current
   * value (undefined when absent) and the entry, may run several times, and should have no side
   * effects. A replaced key keeps its TTL unless `ttlSeconds` is given.
   * Returns the item as written. Caveat: if a write's answer is lost (a 5xx, a network failure) and
   * its retry finds the key moved on, fn runs again on the newer value: it may then be applied twice.
   */
  async update<T = unknown>(
    key: string,
    fn: (current: T | undefined, entry: Entry<T> | null) => T | Promise<T>,
    options: UpdateOptions = {},
  ): Promise<Entry<T>> {
    const maxAttempts = options.maxAttempts ?? 10;
    for (let attempt = 1; ; attempt++) {
      const entry = await this.get<T>(key, { bigint: options.bigint, signal: options.signal });
      const next = await fn(entry?.value, entry);
      const condition: SetOptions = entry ? { ifVersion: entry.version } : { ifNotExists: true };
      if (options.ttlSeconds !== undefined) condition.ttlSeconds = options.ttlSeconds;
      else if (entry) condition.keepTtl = true;
      try {
        const { created: _created, ...written } = await this.set(key, next, { ...condition, signal: options.signal });
        return { ...written, value: next };
      } catch (error) {
        if (!(error instanceof KvPreconditionFailedError) || attempt >= maxAttempts) throw error;
        await sleep(backoffMs(attempt - 1, options.minDelayMs ?? 20, options.maxDelayMs ?? 1000), options.signal);
      }
    }
  }
}

/** `"<version>"` for If-Match. */
function quote(version: string): string {
  return `"${version}"`;
}

/** ttlSeconds from set's options (ttlSeconds, ttl or expiresAt), or undefined. */
function ttlOf(options: SetOptions): number | undefined {
  const given = [options.ttlSeconds, options.ttl, options.expiresAt].filter((v) => v !== undefined);
  if (given.length > 1) throw new TypeError('give one of ttlSeconds, ttl and expiresAt');
  if (options.expiresAt !== undefined) {
    const at = options.expiresAt instanceof Date ? options.expiresAt.getTime() : new Date(options.expiresAt).getTime();
    if (Number.isNaN(at)) throw new TypeError('expiresAt is not a time');
    const seconds = Math.ceil((at - Date.now()) / 1000);
    if (seconds < 1) throw new RangeError('expiresAt is not in the future');
    return seconds;
  }
  return options.ttlSeconds ?? options.ttl;
}

/** An import record as its NDJSON line. */
function recordLine(record: ExportRecord): string {
  const expiresAt = record.expiresAt === undefined ? '' : `,"expiresAt":${JSON.stringify(record.expiresAt)}`;
  return `{"key":${JSON.stringify(record.key)},"value":${valueJson(record.value)}${expiresAt}}`;
}
