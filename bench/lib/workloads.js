// The workloads and, for each kind of target, the request that performs it: KV and the obvious
// Express + ioredis service speak the same paths; etcd's v3 JSON gateway and webdis their own.
// Each entry seeds what it reads and returns a load spec (see load.js).

'use strict';

const MIB = 1024 * 1024;
const VALUE_250 = JSON.stringify({ user: 42, name: 'x'.repeat(200), roles: ['admin', 'ops'], active: true });
const BIG_VALUE = JSON.stringify({ blob: 'b'.repeat(MIB - 12) }); // 1 MiB as compact JSON

const b64 = (text) => Buffer.from(text).toString('base64');

/** Headers every KV-style request sends. */
const kvHeaders = (apiKey) => ({ Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' });

async function kvPut(url, apiKey, key, valueJson) {
  const res = await fetch(`${url}/kv/items/${encodeURIComponent(key)}`, {
    method: 'PUT',
    headers: kvHeaders(apiKey),
    body: `{"value":${valueJson}}`,
  });
  await res.text();
  if (res.status >= 300) throw new Error(`seeding ${key}: HTTP ${res.status}`);
  return res.headers.get('etag');
}

async function etcdPut(url, key, value) {
  const res = await fetch(`${url}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64(key), value: b64(value) }) });
  if (!res.ok) throw new Error(`seeding etcd ${key}: HTTP ${res.status}`);
  await res.text();
}

const kvGet = (key, extra = {}) => (ctx) => ({ method: 'GET', path: `/kv/items/${encodeURIComponent(key)}`, headers: kvHeaders(ctx.apiKey), ...extra });

/** Writes `valueJson` at `key` through the target's own API, then reads it back under load. */
const seededGet = (key, valueJson, extra) => async (ctx) => {
  await kvPut(ctx.url, ctx.apiKey, key, valueJson);
  return kvGet(key, extra)(ctx);
};

/** POSTs a JSON body to a KV route (seeding); throws unless the status is one of `ok`. */
async function kvPost(url, apiKey, path, body, ok = [200, 201]) {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: kvHeaders(apiKey), body });
  const text = await res.text();
  if (!ok.includes(res.status)) throw new Error(`seeding ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text;
}

/** The body of a commit setting each key to `valueJson` (no checks). */
const commitBody = (keys, valueJson) => `{"ops":[${keys.map((key) => `{"op":"set","key":${JSON.stringify(key)},"value":${valueJson}}`).join(',')}]}`;

/** Keys `${prefix}000` … for n keys. */
const numberedKeys = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);

/**
 * Workload name → { kv, obvious, etcd, webdis }: async (ctx) → spec, where ctx is
 * { url, apiKey, redis, prefix }. A kind without an entry does not run that workload.
 */
const WORKLOADS = {
  'GET hit (250 B)': {
    kv: seededGet('bench/hit', VALUE_250),
    obvious: seededGet('bench/hit', VALUE_250),
    etcd: async (ctx) => {
      await etcdPut(ctx.url, 'bench/hit', VALUE_250);
      return { method: 'POST', path: '/v3/kv/range', body: JSON.stringify({ key: b64('bench/hit') }) };
    },
    webdis: async (ctx) => {
      await ctx.redis.set(`${ctx.prefix}-webdis-hit`, VALUE_250);
      return { method: 'GET', path: `/GET/${ctx.prefix}-webdis-hit` };
    },
  },
  'GET revalidate (304)': {
    kv: async (ctx) => {
      const etag = await kvPut(ctx.url, ctx.apiKey, 'bench/etag', VALUE_250);
      const spec = kvGet('bench/etag', { expect: 304 })(ctx);
      return { ...spec, headers: { ...spec.headers, 'If-None-Match': etag } };
    },
  },
  'GET miss (404)': {
    kv: async (ctx) => kvGet('bench/missing', { expect: 404 })(ctx),
  },
  'PUT replace': {
    kv: async (ctx) => {
      await kvPut(ctx.url, ctx.apiKey, 'bench/put', VALUE_250); // so every timed write replaces (200)
      return { method: 'PUT', path: '/kv/items/bench%2Fput', headers: kvHeaders(ctx.apiKey), body: `{"value":${VALUE_250}}` };
    },
    obvious: async (ctx) => ({ method: 'PUT', path: '/kv/items/bench%2Fput', headers: kvHeaders(ctx.apiKey), body: `{"value":${VALUE_250}}` }),
    etcd: async () => ({ method: 'POST', path: '/v3/kv/put', body: JSON.stringify({ key: b64('bench/put'), value: b64(VALUE_250) }) }),
  },
  'PUT create, TTL': {
    kv: async (ctx) => ({
      method: 'PUT',
      path: '/kv/items/create%2F',
      mode: 'unique',
      headers: kvHeaders(ctx.apiKey),
      body: `{"value":${VALUE_250},"ttlSeconds":300}`,
      expect: 201,
    }),
  },
  'CAS (If-Match)': {
    // The first write of each key is If-None-Match: * (201), every later one If-Match (200).
    kv: async (ctx) => ({ method: 'PUT', path: '/kv/items/cas-', mode: 'cas', headers: kvHeaders(ctx.apiKey), body: `{"value":${VALUE_250}}` }),
  },
  'list 100 keys': {
    kv: async (ctx) => {
      await Promise.all(Array.from({ length: 100 }, (_, i) => kvPut(ctx.url, ctx.apiKey, `list/${String(i).padStart(3, '0')}`, String(i))));
      return { method: 'GET', path: '/kv/items?prefix=list%2F&limit=100', headers: kvHeaders(ctx.apiKey) };
    },
  },
  // Issue 13's routes: KV only (the obvious service and the peers have no equivalent).
  'increment': {
    kv: async (ctx) => {
      const body = '{"key":"bench/counter","by":1}';
      await kvPost(ctx.url, ctx.apiKey, '/kv/items:increment', body); // the counter exists: every timed one is 200
      return { method: 'POST', path: '/kv/items:increment', headers: kvHeaders(ctx.apiKey), body };
    },
  },
  'commit 10 sets (250 B)': {
    kv: async (ctx) => {
      const body = commitBody(numberedKeys('commit/', 10), VALUE_250);
      await kvPost(ctx.url, ctx.apiKey, '/kv/items:commit', body, [200]);
      return { method: 'POST', path: '/kv/items:commit', headers: kvHeaders(ctx.apiKey), body };
    },
  },
  'batchGet 100 keys (250 B)': {
    kv: async (ctx) => {
      const keys = numberedKeys('batch/', 100);
      await kvPost(ctx.url, ctx.apiKey, '/kv/items:commit', commitBody(keys, VALUE_250), [200]);
      return { method: 'POST', path: '/kv/items:batchGet', headers: kvHeaders(ctx.apiKey), body: JSON.stringify({ keys }) };
    },
  },
  'list 100 with values (250 B)': {
    kv: async (ctx) => {
      await kvPost(ctx.url, ctx.apiKey, '/kv/items:commit', commitBody(numberedKeys('listv/', 100), VALUE_250), [200]);
      return { method: 'GET', path: '/kv/items?prefix=listv%2F&limit=100&values=true', headers: kvHeaders(ctx.apiKey) };
    },
  },
  'merge patch': {
    kv: async (ctx) => {
      await kvPut(ctx.url, ctx.apiKey, 'bench/patch', VALUE_250);
      return {
        method: 'PATCH',
        path: '/kv/items/bench%2Fpatch',
        headers: { ...kvHeaders(ctx.apiKey), 'Content-Type': 'application/merge-patch+json' },
        body: '{"n":1}',
      };
    },
  },
  // Issue 15 and 16's routes: an operator's page of accounts, and the console's page.
  'admin: list accounts': {
    kv: async (ctx) => ({ method: 'GET', path: '/admin/accounts?limit=100', headers: { Authorization: `Bearer ${ctx.adminToken}` } }),
  },
  'console page': {
    kv: async () => ({ method: 'GET', path: '/console' }),
  },
  'GET 1 MiB': {
    kv: seededGet('bench/big', BIG_VALUE, { big: true }),
    obvious: seededGet('bench/big', BIG_VALUE, { big: true }),
    bare: async () => ({ method: 'GET', path: '/', big: true }),
    webdis: async (ctx) => {
      await ctx.redis.set(`${ctx.prefix}-webdis-big`, BIG_VALUE);
      return { method: 'GET', path: `/GET/${ctx.prefix}-webdis-big`, big: true };
    },
  },
  'PUT 1 MiB': {
    kv: async (ctx) => {
      await kvPut(ctx.url, ctx.apiKey, 'bench/big-put', BIG_VALUE);
      return { method: 'PUT', path: '/kv/items/bench%2Fbig-put', headers: kvHeaders(ctx.apiKey), body: `{"value":${BIG_VALUE}}`, big: true };
    },
  },
};

module.exports = { WORKLOADS, VALUE_250, kvHeaders, commitBody };
