// Reaching the service over HTTP in tests: one target type (an app in this process, or a base URL),
// accounts made through the admin API, and a client bound to one account's key.

import type { Express } from 'express';
import request from 'supertest';
import { ADMIN_TOKEN } from './admin-token';

/**
 * What a test talks to: an app in this process (never listening), or the base URL of a KV process
 * or of a load balancer, e.g. http://127.0.0.1:41234. Supertest takes either.
 */
export type Target = Express | string;

/** An account made for one test, and its read+write API key. */
export interface TestAccount {
  accountId: string;
  /** The key itself, for `Authorization: Bearer <apiKey>`. */
  apiKey: string;
  keyId: string;
}

/**
 * Creates an account through POST /admin/accounts on `target` (configured with ADMIN_TOKEN), with
 * `limits` as its overrides; throws with the answer when it is not 201.
 */
export async function createAccount(target: Target, limits?: Record<string, number>): Promise<TestAccount> {
  const res = await request(target)
    .post('/admin/accounts')
    .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
    .send(limits ? { limits } : {});
  if (res.status !== 201) throw new Error(`creating an account failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { accountId: res.body.data.account.id, apiKey: res.body.data.apiKey.key, keyId: res.body.data.apiKey.id };
}

/**
 * The item routes on `target` as the holder of `apiKey`: each call is a supertest request with the
 * key's Authorization header, to send, set more headers on, or await. Paths are item keys, sent as
 * given (encode them first where a test means to).
 */
export function accountClient(target: Target, apiKey: string) {
  const auth = `Bearer ${apiKey}`;
  return {
    /** The Authorization header value, for requests the client has no method for. */
    auth,
    put: (path: string, body: unknown) => request(target).put(`/kv/items/${path}`).set('Authorization', auth).send(body as object),
    /** PUT with exactly this text (or these bytes) as the body: superagent would JSON-encode a Buffer otherwise. */
    putText: (path: string, text: string | Buffer, type = 'application/json') =>
      request(target)
        .put(`/kv/items/${path}`)
        .set('Authorization', auth)
        .set('Content-Type', type)
        .serialize((data) => data)
        .send(text),
    get: (path: string) => request(target).get(`/kv/items/${path}`).set('Authorization', auth),
    head: (path: string) => request(target).head(`/kv/items/${path}`).set('Authorization', auth),
    del: (path: string) => request(target).delete(`/kv/items/${path}`).set('Authorization', auth),
    /** GET /kv/items with `query` (e.g. "?prefix=a&limit=2") as it is. */
    list: (query = '') => request(target).get(`/kv/items${query}`).set('Authorization', auth),
    usage: () => request(target).get('/kv/usage').set('Authorization', auth),
  };
}

/** The item routes as one account: what accountClient returns. */
export type AccountClient = ReturnType<typeof accountClient>;

/** A supertest parser that reads a response body as text, whatever its content type (NDJSON, SSE). */
export const asText = (res: NodeJS.ReadableStream & { setEncoding(e: string): void }, cb: (err: Error | null, body: string) => void) => {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (text += chunk));
  res.on('end', () => cb(null, text));
};
