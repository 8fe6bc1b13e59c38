// Export and import: an account's items as NDJSON, streamed both ways so memory stays flat.

import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { Request, RequestHandler, Response, Router } from 'express';
import type { Config } from '../config';
import { AppError, forbidden, invalidJson, invalidRequest, quotaExceeded, unauthorized, unsupportedMediaType, valueTooLarge } from '../errors';
import { keyInScope } from '../accounts';
import type { KvStore, SetOutcome, SetRequest } from '../store/types';
import { authContext, listingPrefix, requireScope } from './auth';
import { isMediaType } from './body';
import { deadline } from './deadline';
import { checkItemKey } from './item-key';
import { compactJson, scanJson } from './json-text';
import type { AccountLimiter } from './rate-limits';
import { bindRoutes } from './routes';
import { ISO_TIME, type Validators } from './schemas';
import { sendJson } from './responses';
import { iso } from './views';

export interface TransferRoutesDeps {
  config: Pick<Config, 'maxKeyBytes' | 'maxValueBytes' | 'maxTtlSeconds'>;
  store: Pick<KvStore, 'listItems' | 'setItems'>;
  validators: Validators;
  authenticate: RequestHandler[];
  /** Whether the request's key still works (an import outlives its authentication). */
  stillAuthenticated: (req: Request) => Promise<boolean>;
  limitReads: AccountLimiter;
  limitWrites: AccountLimiter;
}

/** Keys read per store call while exporting; a page also stops at EXPORT_PAGE_BYTES of values. */
const EXPORT_PAGE_KEYS = 1000;
const EXPORT_PAGE_BYTES = 4 * 1024 * 1024;
/** Lines applied together while importing (one pipelined batch on Redis). */
const IMPORT_BATCH_LINES = 100;
/** At most this many failed lines are listed; `omittedFailures` counts the rest. */
const MAX_LISTED_FAILURES = 1000;
const MAX_VALUE_DEPTH = 64;

const DECODERS: Record<string, () => zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One export line: the value goes in as stored. */
function exportLine(key: string, value: Buffer, expiresAt: number | null): string {
  return `{"key":${JSON.stringify(key)},"value":${value.toString('utf8')},"expiresAt":${expiresAt === null ? 'null' : `"${iso(expiresAt)}"`}}\n`;
}

/** Writes and waits while the socket's buffer is full; false when the client has gone. */
async function write(res: Response, chunk: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(chunk)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
  return !res.destroyed;
}

interface ParsedLine {
  line: number;
  key: string;
  value: string;
  /** Epoch ms, or null for no expiry. */
  expiresAt: number | null;
}

type LineResult = 'created' | 'replaced' | 'skipped' | AppError;

/** One line of an import body: its 1-based number and its bytes, or null when it was too long. */
interface Line {
  number: number;
  bytes: Buffer | null;
}

/**
 * Splits a byte stream into lines without holding more than one line (of at most `maxLineBytes`)
 * beyond the chunk being read. A longer line is reported with `bytes: null` and its bytes are
 * dropped up to its newline. Yields the lines each chunk completes, together: one step of the
 * iteration per chunk rather than per line.
 */
async function* lines(source: Readable, maxLineBytes: number): AsyncGenerator<Line[]> {
  let number = 0;
  let parts: Buffer[] = [];
  let size = 0;
  let tooLong = false;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    const complete: Line[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      if (!tooLong) {
        size += end - start;
        if (size > maxLineBytes) {
          tooLong = true;
          parts = [];
        } else {
          parts.push(chunk.subarray(start, end));
        }
      }
      if (newline === -1) break;
      number++;
      complete.push({ number, bytes: tooLong ? null : parts.length === 1 ? parts[0] : Buffer.concat(parts, size) });
      parts = [];
      size = 0;
      tooLong = false;
      start = newline + 1;
    }
    if (complete.length > 0) yield complete;
  }
  if (size > 0 || tooLong) {
    number++;
    yield [{ number, bytes: tooLong ? null : Buffer.concat(parts, size) }];
  }
}

/** Binds GET /kv/export and POST /kv/import. */
export function transferRoutes(router: Router, deps: TransferRoutesDeps): void {
  const { config, store, validators } = deps;
  const bound = bindRoutes(router);
  const route: typeof bound = (operationId, ...handlers) => bound(operationId, ...deps.authenticate, ...handlers);
  // As for a PUT: a value may arrive pretty-printed.
  const maxLineBytes = 2 * config.maxValueBytes + 64 * 1024;

  route('exportItems', deps.limitReads.middleware, async (req, res) => {
    const query = { ...req.query } as { prefix?: string };
    validators.exportQuery('query', query);
    const { accountId } = authContext(res);
    // A key restricted to a prefix exports only under it.
    const prefix = listingPrefix(res, query.prefix);
    // A stream lasts as long as the account is large; each store call keeps its own time-out.
    deadline(res).pause();
    // Paging by key, each page starting after the last key sent: a key that exists for the whole
    // export is on exactly one page, whatever is written meanwhile.
    let page = await store.listItems(accountId, { prefix, limit: EXPORT_PAGE_KEYS, values: { maxBytes: EXPORT_PAGE_BYTES } });
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    for (;;) {
      const text = page.items.map((item) => exportLine(item.key, item.value!, item.expiresAt)).join('');
      if (text !== '' && !(await write(res, text))) return;
      if (page.nextAfter === null) break;
      page = await store.listItems(accountId, {
        prefix,
        limit: EXPORT_PAGE_KEYS,
        after: page.nextAfter,
        values: { maxBytes: EXPORT_PAGE_BYTES },
      });
    }
    res.end();
  });

  /** One line as an item to write, or the error that line fails with. */
  const parseLine = (line: number, bytes: Buffer): ParsedLine | AppError => {
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return invalidJson('The line is not valid UTF-8.');
    }
    const scan = scanJson(text, MAX_VALUE_DEPTH + 1);
    if (!scan.ok) {
      return scan.reason === 'depth'
        ? invalidRequest([{ path: 'value', message: `nests deeper than ${MAX_VALUE_DEPTH} levels` }])
        : invalidJson(`The line is not valid JSON (at character ${scan.offset}).`);
    }
    if (!scan.members) return invalidRequest([{ path: 'line', message: 'must be a JSON object with key and value' }]);
    const unknown = [...scan.members.keys()].filter((name) => name !== 'key' && name !== 'value' && name !== 'expiresAt');
    if (unknown.length > 0) return invalidRequest(unknown.map((name) => ({ path: name.slice(0, 100), message: 'is not an allowed field' })));
    const keySpan = scan.members.get('key');
    const valueSpan = scan.members.get('value');
    if (!keySpan || !valueSpan) {
      return invalidRequest([{ path: keySpan ? 'value' : 'key', message: 'is required' }]);
    }
    const key: unknown = JSON.parse(text.slice(keySpan[0], keySpan[1]));
    if (typeof key !== 'string') return invalidRequest([{ path: 'key', message: 'must be string' }]);
    try {
      checkItemKey(key, config.maxKeyBytes);
    } catch (error) {
      return error as AppError;
    }
    const value = compactJson(text, valueSpan[0], valueSpan[1]);
    const valueBytes = Buffer.byteLength(value, 'utf8');
    if (valueBytes > config.maxValueBytes) {
      return valueTooLarge(`The value is ${valueBytes} bytes as compact JSON; the limit is ${config.maxValueBytes}.`);
    }
    const expiresSpan = scan.members.get('expiresAt');
    const expires: unknown = expiresSpan ? JSON.parse(text.slice(expiresSpan[0], expiresSpan[1])) : null;
    if (expires !== null && (typeof expires !== 'string' || !ISO_TIME.test(expires) || Number.isNaN(Date.parse(expires)))) {
      return invalidRequest([{ path: 'expiresAt', message: 'must be an ISO-8601 time with a time zone, or null' }]);
    }
    return { line, key, value, expiresAt: expires === null ? null : Date.parse(expires) };
  };

  route('importItems', requireScope('write'), deps.limitWrites.middleware, async (req, res) => {
    const query = { ...req.query } as { mode?: 'skip' | 'overwrite' };
    validators.importQuery('query', query);
    if (!isMediaType(req.headers['content-type'], 'application/x-ndjson')) {
      throw unsupportedMediaType('The request body must be application/x-ndjson: one JSON object per line.');
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    const decoder = encoding === 'identity' ? undefined : DECODERS[encoding];
    if (encoding !== 'identity' && !decoder) {
      throw unsupportedMediaType(`The Content-Encoding "${encoding.slice(0, 32)}" is not supported; send identity, gzip, deflate or br.`);
    }
    const overwrite = query.mode === 'overwrite';
    const { accountId, limits, prefix } = authContext(res);
    // A key restricted to a prefix: a line for a key outside it fails alone, like any bad line.
    const outsidePrefix = () => forbidden(`This API key reaches only keys starting with ${JSON.stringify(prefix)}.`);
    deadline(res).pause();

    const report = { created: 0, replaced: 0, skipped: 0, failed: [] as { line: number; error: { code: string; message: string } }[] };
    let omittedFailures = 0;
    const record = (line: number, result: LineResult) => {
      if (result instanceof AppError) {
        if (report.failed.length < MAX_LISTED_FAILURES) report.failed.push({ line, error: { code: result.code, message: result.message } });
        else omittedFailures++;
      } else {
        report[result]++;
      }
    };
    /** What a line asks of the store, or its result without asking (an expiry passed, too far). */
    const plan = (item: ParsedLine): SetRequest | LineResult => {
      if (item.expiresAt !== null) {
        const ttlMs = item.expiresAt - Date.now();
        if (ttlMs <= 0) return 'skipped';
        if (ttlMs > config.maxTtlSeconds * 1000) {
          return invalidRequest([{ path: 'expiresAt', message: `is more than ${config.maxTtlSeconds} s away, the TTL limit` }]);
        }
      }
      return {
        value: item.value,
        expiresAt: item.expiresAt ?? undefined,
        condition: overwrite ? { kind: 'none' } : { kind: 'absent' },
        maxKeys: limits.maxKeys,
      };
    };
    const outcomeResult = (outcome: SetOutcome): LineResult => {
      if (outcome.ok) return outcome.created ? 'created' : 'replaced';
      if (outcome.reason === 'exists') return 'skipped';
      if (outcome.reason === 'quota_exceeded') return quotaExceeded(outcome.maxKeys);
      throw new Error(`import: unexpected outcome ${outcome.reason}`);
    };

    /** Applies a batch of lines, in order, and records their results. */
    const apply = async (batch: ParsedLine[]) => {
      // One write per line against the write limit: past it, the import waits for the next window.
      await deps.limitWrites.pace(res, batch.length);
      // Its key revoked or expired, or its account deleted, while the body streams: no more lines.
      if (!(await deps.stillAuthenticated(req))) throw unauthorized();
      const planned = batch.map(plan);
      const writes = batch.flatMap((item, i) => {
        const request = planned[i];
        return typeof request === 'object' && !(request instanceof AppError) ? [{ key: item.key, request }] : [];
      });
      // One store call for the batch: one round trip on Redis, one transaction on SQLite.
      const outcomes = await store.setItems(accountId, writes);
      let next = 0;
      batch.forEach((item, i) => {
        const request = planned[i];
        record(item.line, typeof request === 'object' && !(request instanceof AppError) ? outcomeResult(outcomes[next++]) : request);
      });
    };
    let batch: ParsedLine[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const full = batch;
      batch = [];
      await apply(full);
    };

    const decoding = decoder?.();
    const source: Readable = decoding ? req.pipe(decoding) : req;
    try {
      for await (const group of lines(source, maxLineBytes)) {
        for (const { number, bytes } of group) {
          if (bytes === null) {
            record(number, valueTooLarge(`The line is longer than ${maxLineBytes} bytes.`));
            continue;
          }
          if (bytes.every((byte) => byte === 0x20 || byte === 0x09 || byte === 0x0d)) continue;
          const parsed = parseLine(number, bytes);
          if (parsed instanceof AppError) record(number, parsed);
          else if (!keyInScope(prefix, parsed.key)) record(number, outsidePrefix());
          else batch.push(parsed);
          if (batch.length >= IMPORT_BATCH_LINES) await flush();
        }
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      // The body stopped short (client gone) or its encoding was corrupt: what arrived was applied.
      if (decoder && !req.destroyed) throw invalidJson(`The request body is not valid ${encoding} data; the lines before the fault were applied.`);
      throw invalidRequest([], 'The request body was not received whole; the lines before it were applied.');
    }
    await flush();
    // Failures in line order: a bad line is recorded as it is read, a refused write once its batch is applied.
    report.failed.sort((a, b) => a.line - b.line);
    sendJson(res, 200, { data: { ...report, ...(omittedFailures > 0 ? { omittedFailures } : {}) } });
  });
}
