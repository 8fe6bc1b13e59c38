// Feature flags: an operator writes flags under flags/; a service reads them with a read-only API key that
// reaches only flags/ (made with KvAdmin), keeps them in memory and follows every change with watch(),
// or, without a stream, revalidates a flag it holds (ETag: a 304 when it has not changed).
//
//   KV_URL=http://localhost:8080 KV_API_KEY=kv_… KV_ADMIN_TOKEN=… node examples/feature-flags.mjs
//
// KV_API_KEY is a read+write key of the account KV_ACCOUNT_ID ("default", the account whose key KV
// prints on its first start, unless set).

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { KvAdmin, KvClient, KvForbiddenError, KvUnauthorizedError } from '@kv/client';

const url = process.env.KV_URL ?? 'http://localhost:8080';
const apiKey = process.env.KV_API_KEY;
const adminToken = process.env.KV_ADMIN_TOKEN;
const accountId = process.env.KV_ACCOUNT_ID ?? 'default';
if (!apiKey || !adminToken) throw new Error('set KV_API_KEY and KV_ADMIN_TOKEN (and KV_URL if KV is not on http://localhost:8080)');

// The operator: a deploy script or an admin UI, with a read+write key.
const operator = new KvClient({ url, apiKey });
for await (const { key } of operator.listAll({ prefix: 'flags/' })) await operator.delete(key);
await operator.set('flags/checkout-v2', { enabled: false });
await operator.set('flags/dark-mode', { enabled: true, rollout: 10 });
await operator.set('billing/api-secret', 'not for the service');
console.log('operator wrote 2 flags under flags/ (and billing/api-secret, which is not a flag)');

// A key for the service: read-only, reaching only keys under flags/, refused after a day.
const admin = new KvAdmin({ url, adminToken });
const serviceKey = await admin.createKey(accountId, {
  scopes: ['read'],
  prefix: 'flags/',
  name: 'flags-reader',
  expiresAt: new Date(Date.now() + 24 * 3600_000),
});
assert.deepEqual([serviceKey.scopes, serviceKey.prefix], [['read'], 'flags/']);
console.log(`created API key ${serviceKey.id}: read-only, only keys under flags/, until ${serviceKey.expiresAt}`);

const service = new KvClient({ url, apiKey: serviceKey.key });
await assert.rejects(service.get('billing/api-secret'), KvForbiddenError);
console.log('service cannot read billing/api-secret: 403 forbidden');
await assert.rejects(service.set('flags/checkout-v2', { enabled: true }), KvForbiddenError);
console.log('service cannot write flags: 403 forbidden');

/**
 * The service's flags in memory. It reads the flags once its watch is open (onOpen), so every
 * change after that read arrives as an event and nothing written in between is missed, and reads
 * them all again when the watch says it lost its place (`reset`, after a long disconnection).
 */
class FlagCache {
  flags = new Map();
  #controller = new AbortController();

  async start(client) {
    let opened;
    const open = new Promise((resolve) => (opened = resolve));
    const events = client.watch({ prefix: 'flags/', values: true, signal: this.#controller.signal, onOpen: () => opened() });
    const first = events.next(); // sends the request
    // Open: every change from now on will arrive. (A watch refused outright rejects `first`.)
    await Promise.race([open, first]);
    await this.#load(client);
    this.following = this.#follow(client, events, first);
  }

  /** A flag's value, or `fallback` when there is no such flag. */
  get(name, fallback) {
    return this.flags.has(`flags/${name}`) ? this.flags.get(`flags/${name}`).value : fallback;
  }

  stop() {
    this.#controller.abort();
    return this.following;
  }

  async #load(client) {
    this.flags.clear();
    for await (const item of client.listAll({ prefix: 'flags/', values: true })) this.flags.set(item.key, item);
  }

  async #follow(client, events, first) {
    for (let next = await first; !next.done; next = await events.next()) {
      const event = next.value;
      if (event.type === 'reset') {
        await this.#load(client);
      } else if (event.type === 'set') {
        // An event carries the value while that version is still current; otherwise a later set follows.
        if (!('value' in event)) continue;
        this.flags.set(event.key, { key: event.key, version: event.version, value: event.value });
        console.log(`service sees ${event.key} = ${JSON.stringify(event.value)}`);
      } else {
        this.flags.delete(event.key);
        console.log(`service sees ${event.key} ${event.type === 'delete' ? 'deleted' : 'expired'}`);
      }
    }
  }
}

const cache = new FlagCache();
await cache.start(service);
console.log(`service loaded ${cache.flags.size} flags: ${[...cache.flags.keys()].join(', ')}`);
assert.equal(cache.get('checkout-v2').enabled, false);

/** Waits until the service's cache shows what the operator wrote (the watch delivers within milliseconds). */
async function seen(what, condition) {
  for (const deadline = Date.now() + 5000; !condition(); await sleep(20)) {
    if (Date.now() > deadline) throw new Error(`the service did not see ${what}`);
  }
}

await operator.set('flags/dark-mode', { enabled: true, rollout: 50 });
await seen('the rollout at 50%', () => cache.get('dark-mode')?.rollout === 50);
await operator.patch('flags/checkout-v2', { enabled: true });
await seen('checkout-v2 enabled', () => cache.get('checkout-v2')?.enabled === true);
await operator.delete('flags/dark-mode');
await seen('dark-mode deleted', () => cache.get('dark-mode') === undefined);
assert.equal(cache.get('dark-mode', { enabled: false }).enabled, false);
console.log('service followed every change: rollout 50%, checkout-v2 on, dark-mode gone');

await cache.stop();

// Without a stream open (a serverless function, a cron job): revalidate the flag you hold. The GET
// carries its version in If-None-Match; an unchanged flag is a 304 without a body.
let checkout = await service.get('flags/checkout-v2');
assert.equal(await service.revalidate(checkout), checkout);
console.log(`revalidated flags/checkout-v2 at version ${checkout.version}: unchanged (304)`);
await operator.patch('flags/checkout-v2', { rollout: 100 });
checkout = await service.revalidate(checkout);
assert.deepEqual(checkout.value, { enabled: true, rollout: 100 });
console.log(`revalidated flags/checkout-v2 again: version ${checkout.version}, ${JSON.stringify(checkout.value)}`);

// The service is done with its key: revoke it. Every replica refuses it within a second.
await admin.revokeKey(serviceKey.id);
for (const deadline = Date.now() + 3000; ; await sleep(100)) {
  try {
    await service.get('flags/checkout-v2');
  } catch (error) {
    if (error instanceof KvUnauthorizedError) break;
    throw error;
  }
  if (Date.now() > deadline) throw new Error('the revoked key still works');
}
console.log(`revoked API key ${serviceKey.id}: refused from now on`);
await operator.delete('billing/api-secret');
console.log('ok: the service read only flags/ and followed every change');
