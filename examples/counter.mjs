// A counter: callers running at the same time each add to one key with increment(); the total is exact.
//
//   KV_URL=http://localhost:8080 KV_API_KEY=kv_… node examples/counter.mjs

import assert from 'node:assert/strict';
import { KvClient } from '@kv/client';

const url = process.env.KV_URL ?? 'http://localhost:8080';
const apiKey = process.env.KV_API_KEY;
if (!apiKey) throw new Error('set KV_API_KEY (and KV_URL if KV is not on http://localhost:8080)');

const CALLERS = 10;
const INCREMENTS_EACH = 25;
const key = 'examples/counter/page-views';

const kv = new KvClient({ url, apiKey });
await kv.delete(key);
console.log(`${CALLERS} callers each add 1 to "${key}" ${INCREMENTS_EACH} times, all at once`);

// Each caller is a client of its own, as separate processes or replicas would be.
await Promise.all(
  Array.from({ length: CALLERS }, async () => {
    const caller = new KvClient({ url, apiKey });
    for (let i = 0; i < INCREMENTS_EACH; i++) await caller.increment(key);
  }),
);

const total = (await kv.get(key)).value;
console.log(`total: ${total} (expected ${CALLERS * INCREMENTS_EACH})`);
assert.equal(total, CALLERS * INCREMENTS_EACH);

// increment() answers the new value: a rate limiter or an id generator reads it straight away.
const { value } = await kv.increment(key, -CALLERS * INCREMENTS_EACH);
assert.equal(value, 0);
console.log('increment by a negative amount takes it back to 0');
console.log('ok: no increment was lost');
