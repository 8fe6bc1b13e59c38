// The atomic routes beyond one key: commit, increment, batch reads and merge patch. Each is one store step.

import type { Request, RequestHandler, Response, Router } from 'express';
import type { Config } from '../config';
import {
  AppError,
  checksFailed,
  invalidRequest,
  notFound,
  preconditionFailed,
  quotaExceeded,
  typeMismatch,
  valueTooLarge,
} from '../errors';
import { applyMergePatch } from '../merge-patch';
import type { CommitOp, CommitOutcome, Item, KvStore, WriteCondition } from '../store/types';
import { authContext, requireKeysInScope, requireScope } from './auth';
import { bodyFields, rawBody, readJsonBody, type JsonBody } from './body';
import { deleteCondition, etag } from './conditions';
import { checkItemKey, parseItemKey } from './item-key';
import { compactJson, scanJson } from './json-text';
import type { AccountLimiter } from './rate-limits';
import { bindRoutes } from './routes';
import type { Validators } from './schemas';
import { sendChunks, sendJson } from './responses';
import { itemEnvelope, itemJsonEnds, itemMetaView } from './views';

export interface AtomicRoutesDeps {
  config: Pick<Config, 'maxKeyBytes' | 'maxValueBytes'>;
  store: Pick<KvStore, 'getItem' | 'setItem' | 'commit' | 'getItems'>;
  validators: Validators;
  /** Run first on every data route: the failed-authentication throttle and authentication. */
  authenticate: RequestHandler[];
  limitReads: AccountLimiter;
  limitWrites: AccountLimiter;
}

/** Value nesting allowed by SPEC. */
const MAX_VALUE_DEPTH = 64;
/** A commit's values together, as compact JSON. */
export const MAX_COMMIT_VALUE_BYTES = 2 * 1024 * 1024;
/** A merge patch retried this often when the item keeps changing under it, then 503. */
const MAX_PATCH_ATTEMPTS = 50;

const ITEM_PREFIX_LENGTH = '/kv/items/'.length;

interface CommitBody {
  checks?: { key: string; version: string | null }[];
  ops: { op: 'set' | 'delete' | 'increment'; key: string; ttlSeconds?: number; keepTtl?: boolean; by?: number }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The compact text of each op's `value` member, read from the body text so numbers keep their digits. */
function opValues(body: JsonBody): (string | undefined)[] {
  const [start, end] = body.members!.get('ops')!;
  const opsText = body.text.slice(start, end);
  const ops = scanJson(opsText, MAX_VALUE_DEPTH + 2);
  if (!ops.ok || !ops.elements) throw new Error('the ops were checked as an array before');
  return ops.elements.map(([opStart, opEnd]) => {
    const opText = opsText.slice(opStart, opEnd);
    const op = scanJson(opText, MAX_VALUE_DEPTH + 1);
    const span = op.ok ? op.members?.get('value') : undefined;
    return span ? compactJson(opText, span[0], span[1]) : undefined;
  });
}

function commitFailure(outcome: Extract<CommitOutcome, { ok: false }>, what: (index: number) => string): AppError {
  switch (outcome.reason) {
    case 'checks_failed':
      return checksFailed(outcome.failedChecks);
    case 'quota_exceeded':
      return quotaExceeded(outcome.maxKeys);
    case 'type_mismatch':
      return typeMismatch(
        `${what(outcome.index)}: the stored value is not a JSON integer, or the result would pass ±(2^53 − 1). Nothing changed.`,
      );
  }
}

/** Binds commit, increment, batchGet and PATCH (merge patch) on the app's router. */
export function atomicRoutes(router: Router, deps: AtomicRoutesDeps): void {
  const { config, store, validators } = deps;
  const bound = bindRoutes(router);
  const route: typeof bound = (operationId, ...handlers) => bound(operationId, ...deps.authenticate, ...handlers);
  // Values may arrive pretty-printed: room for twice their compact size, plus keys and fields.
  const maxCommitBodyBytes = 2 * MAX_COMMIT_VALUE_BYTES + 256 * 1024;
  const maxSmallBodyBytes = 256 * 1024;
  const maxPatchBodyBytes = 2 * config.maxValueBytes + 64 * 1024;
  /** The last patch queued per account and key on this replica. */
  const patching = new Map<string, Promise<void>>();

  route('commit', requireScope('write'), deps.limitWrites.middleware, rawBody(maxCommitBodyBytes), async (req, res) => {
    validators.noQuery('query', req.query);
    const body = readJsonBody(req, MAX_VALUE_DEPTH + 3);
    const fields = bodyFields(body, { allowed: ['checks', 'ops'] }) as CommitBody;
    validators.commitBody('body', fields);
    const checks = (fields.checks ?? []).map((check, i) => ({
      key: checkItemKey(check.key, config.maxKeyBytes, `checks[${i}].key`),
      version: check.version,
    }));
    const values = opValues(body);
    const seen = new Set<string>();
    let totalBytes = 0;
    const ops = fields.ops.map((op, i): CommitOp => {
      const key = checkItemKey(op.key, config.maxKeyBytes, `ops[${i}].key`);
      if (seen.has(key)) throw invalidRequest([{ path: `body.ops.${i}.key`, message: 'names a key an earlier op names; each key at most once' }]);
      seen.add(key);
      const ttlMs = op.ttlSeconds === undefined ? undefined : op.ttlSeconds * 1000;
      if (op.op === 'delete') return { op: 'delete', key };
      if (op.op === 'increment') return { op: 'increment', key, by: op.by ?? 1, ttlMs };
      if (op.keepTtl === true && op.ttlSeconds !== undefined) {
        throw invalidRequest([{ path: `body.ops.${i}.keepTtl`, message: 'cannot be combined with ttlSeconds; give one or the other' }]);
      }
      const value = values[i]!;
      const bytes = Buffer.byteLength(value, 'utf8');
      if (bytes > config.maxValueBytes) {
        throw invalidRequest([{ path: `body.ops.${i}.value`, message: `is ${bytes} bytes as compact JSON; the limit is ${config.maxValueBytes}` }]);
      }
      totalBytes += bytes;
      return { op: 'set', key, value, ttlMs, keepTtl: op.keepTtl };
    });
    if (totalBytes > MAX_COMMIT_VALUE_BYTES) {
      throw invalidRequest([{ path: 'body.ops', message: `values add up to ${totalBytes} bytes as compact JSON; the limit is ${MAX_COMMIT_VALUE_BYTES}` }]);
    }
    // Every check and every op within the key's prefix, or nothing applies.
    requireKeysInScope(res, [...checks.map((check) => check.key), ...ops.map((op) => op.key)]);
    // One write per op: the middleware counted the first.
    await deps.limitWrites.charge(res, ops.length - 1);

    const { accountId, limits } = authContext(res);
    const outcome = await store.commit(accountId, { checks, ops, maxKeys: limits.maxKeys });
    if (!outcome.ok) throw commitFailure(outcome, (index) => `ops[${index}] (${JSON.stringify(ops[index].key)})`);
    sendJson(res, 200, {
      data: {
        results: outcome.results.map((result) => ({
          key: result.key,
          version: result.item?.version ?? null,
          ...(result.value === undefined ? {} : { value: Number(result.value) }),
        })),
      },
    });
  });

  route('incrementItem', requireScope('write'), deps.limitWrites.middleware, rawBody(maxSmallBodyBytes), async (req, res) => {
    validators.noQuery('query', req.query);
    const fields = bodyFields(readJsonBody(req, 2), { allowed: ['key', 'by', 'ttlSeconds'] }) as { key: string; by?: number; ttlSeconds?: number };
    validators.incrementBody('body', fields);
    const key = checkItemKey(fields.key, config.maxKeyBytes, 'body.key');
    requireKeysInScope(res, [key]);
    const { accountId, limits } = authContext(res);
    const ttlMs = fields.ttlSeconds === undefined ? undefined : fields.ttlSeconds * 1000;
    const outcome = await store.commit(accountId, { checks: [], ops: [{ op: 'increment', key, by: fields.by ?? 1, ttlMs }], maxKeys: limits.maxKeys });
    if (!outcome.ok) throw commitFailure(outcome, () => `The key ${JSON.stringify(key)}`);
    const [result] = outcome.results;
    const item: Item = { ...result.item!, value: Buffer.from(result.value!) };
    res.setHeader('ETag', etag(item.version));
    sendChunks(res, result.created ? 201 : 200, itemEnvelope(item));
  });

  route('batchGetItems', deps.limitReads.middleware, rawBody(maxSmallBodyBytes), async (req, res) => {
    validators.noQuery('query', req.query);
    const fields = bodyFields(readJsonBody(req, 3), { allowed: ['keys'] }) as { keys: string[] };
    validators.batchGetBody('body', fields);
    const keys = fields.keys.map((key, i) => checkItemKey(key, config.maxKeyBytes, `keys[${i}]`));
    requireKeysInScope(res, keys);
    // One read per key: the middleware counted the first.
    await deps.limitReads.charge(res, keys.length - 1);
    const items = await store.getItems(authContext(res).accountId, keys);
    const chunks: (Buffer | string)[] = ['{"data":{"items":['];
    items.forEach((item, i) => {
      const comma = i === 0 ? '' : ',';
      if (item === null) {
        chunks.push(`${comma}null`);
        return;
      }
      const [head, tail] = itemJsonEnds(item);
      chunks.push(`${comma}${head}`, item.value, tail);
    });
    chunks.push(']}}');
    sendChunks(res, 200, chunks);
  });

  route('patchItem', requireScope('write'), deps.limitWrites.middleware, rawBody(maxPatchBodyBytes), async (req: Request, res) => {
    const key = parseItemKey(req.path.slice(ITEM_PREFIX_LENGTH), config.maxKeyBytes);
    requireKeysInScope(res, [key]);
    validators.writeItemQuery('query', req.query);
    const patch = readJsonBody(req, MAX_VALUE_DEPTH, 'application/merge-patch+json').text;
    const condition = deleteCondition((req.query as { ifVersion?: string }).ifVersion, req.headers);
    const { accountId, limits } = authContext(res);

    // Patches of one key on this replica take turns: they would only make each other retry.
    const slot = `${accountId}\u0000${key}`;
    const previous = patching.get(slot);
    let done!: () => void;
    const turn = new Promise<void>((resolve) => (done = resolve));
    const queue = (previous ?? Promise.resolve()).then(() => turn);
    patching.set(slot, queue);
    try {
      if (previous) await previous;
      await patchOnce(res, key, patch, condition, accountId, limits.maxKeys);
    } finally {
      done();
      if (patching.get(slot) === queue) patching.delete(slot);
    }
  });

  /**
   * Read, merge, write at the version read; a concurrent write (from another replica) makes the
   * write fail, and the merge is done again on what it wrote, so no write is lost and the patch
   * applies once.
   */
  async function patchOnce(res: Response, key: string, patch: string, condition: WriteCondition, accountId: string, maxKeys: number) {
    for (let attempt = 0; attempt < MAX_PATCH_ATTEMPTS; attempt++) {
      const item = await store.getItem(accountId, key);
      if (condition.kind === 'version' && item?.version !== condition.version) throw preconditionFailed(item?.version ?? null);
      if (!item) throw notFound();
      const value = applyMergePatch(item.value.toString('utf8'), patch);
      const bytes = Buffer.byteLength(value, 'utf8');
      if (bytes > config.maxValueBytes) {
        throw valueTooLarge(`The patched value would be ${bytes} bytes as compact JSON; the limit is ${config.maxValueBytes}.`);
      }
      const outcome = await store.setItem(accountId, key, {
        value,
        keepTtl: true,
        condition: { kind: 'version', version: item.version },
        maxKeys,
      });
      if (outcome.ok) {
        res.setHeader('ETag', etag(outcome.item.version));
        sendJson(res, 200, { data: itemMetaView(outcome.item) });
        return;
      }
      if (outcome.reason === 'quota_exceeded') throw quotaExceeded(outcome.maxKeys);
      // Changed or deleted since the read: the next attempt reads it again (404 if it is gone).
      await sleep(Math.random() * Math.min(50, 2 ** attempt));
    }
    res.setHeader('Retry-After', '1');
    throw new AppError('unavailable', 'The item kept changing while the patch was applied; nothing was written. Retry.', { retryAfter: 1 });
  }
}
