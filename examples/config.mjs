// Central config: several workers change one config document at the same time with update(), a
// compare-and-swap loop (read, apply, write only if nobody wrote in between, else retry). No change is lost.
//
//   KV_URL=http://localhost:8080 KV_API_KEY=kv_… node examples/config.mjs

import assert from 'node:assert/strict';
import { KvClient } from '@kv/client';

const url = process.env.KV_URL ?? 'http://localhost:8080';
const apiKey = process.env.KV_API_KEY;
if (!apiKey) throw new Error('set KV_API_KEY (and KV_URL if KV is not on http://localhost:8080)');

const WORKERS = 5;
const CHANGES_EACH = 4;
const key = 'examples/config/app';

const kv = new KvClient({ url, apiKey });
await kv.set(key, { theme: 'light', enabledBy: {}, changes: 0 });
console.log(`${WORKERS} workers each make ${CHANGES_EACH} changes to "${key}" at the same time`);

let attempts = 0;
await Promise.all(
  Array.from({ length: WORKERS }, async (_, w) => {
    const worker = new KvClient({ url, apiKey });
    for (let i = 0; i < CHANGES_EACH; i++) {
      // fn may run more than once (after a conflict it runs again on the newer config): no side effects in it.
      await worker.update(key, (config) => {
        attempts++;
        return { ...config, enabledBy: { ...config.enabledBy, [`worker-${w}-${i}`]: true }, changes: config.changes + 1 };
      }, { maxAttempts: 50 }); // 10 by default; five writers on one key may conflict more often than that
    }
  }),
);

const { value: config, version } = await kv.get(key);
const expected = WORKERS * CHANGES_EACH;
console.log(`config at version ${version}: ${config.changes} changes, ${Object.keys(config.enabledBy).length} entries`);
console.log(`${attempts - expected} of ${attempts} attempts met a concurrent write and were retried`);
assert.equal(config.changes, expected);
assert.equal(Object.keys(config.enabledBy).length, expected);
assert.equal(config.theme, 'light');
console.log('ok: no update was lost');
