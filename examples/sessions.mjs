// Sessions with a TTL: a session expires unless it is used; each request refreshes it.
//
//   KV_URL=http://localhost:8080 KV_API_KEY=kv_… node examples/sessions.mjs

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { KvClient } from '@kv/client';

const url = process.env.KV_URL ?? 'http://localhost:8080';
const apiKey = process.env.KV_API_KEY;
if (!apiKey) throw new Error('set KV_API_KEY (and KV_URL if KV is not on http://localhost:8080)');

// Short enough to watch it happen; a real session would live for hours.
const IDLE_SECONDS = 3;
const kv = new KvClient({ url, apiKey });
const key = `examples/sessions/${randomUUID()}`;

// Log in: the session expires IDLE_SECONDS after its last write.
const created = await kv.set(key, { user: 42, roles: ['editor'] }, { ttlSeconds: IDLE_SECONDS, ifNotExists: true });
console.log(`created ${key}, expires at ${created.expiresAt}`);
assert.equal(created.created, true);

// A request: read the session (and its expiry).
const session = await kv.get(key);
assert.deepEqual(session.value, { user: 42, roles: ['editor'] });
console.log(`read: user ${session.value.user}, expires at ${session.expiresAt}`);

// Another request two seconds later refreshes it: the same value, a new expiry IDLE_SECONDS from now.
await sleep(2000);
const refreshed = await kv.update(key, (current) => ({ ...current, lastSeen: new Date().toISOString() }), { ttlSeconds: IDLE_SECONDS });
assert.ok(Date.parse(refreshed.expiresAt) > Date.parse(created.expiresAt));
console.log(`refreshed: expires at ${refreshed.expiresAt} instead of ${created.expiresAt}`);

// Past the first expiry the session is still there, because it was refreshed.
await sleep(Date.parse(created.expiresAt) - Date.now() + 200);
assert.notEqual(await kv.get(key), null);
console.log('still there after its first expiry: the refresh kept it alive');

// Left idle, it expires: gone from reads, listings and the account's key count at once.
await sleep(Date.parse(refreshed.expiresAt) - Date.now() + 200);
assert.equal(await kv.get(key), null);
const listed = await kv.list({ prefix: key });
assert.equal(listed.items.length, 0);
console.log('expired: after its TTL the session is gone');
console.log('ok: sessions expire unless refreshed');
