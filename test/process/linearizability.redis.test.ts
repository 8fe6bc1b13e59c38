// Linearizability through two KV replicas on one standalone Redis: clients doing get / put /
// compare-and-swap / create-only / delete on a few keys record a history, and the checker finds an
// order of the operations, each taking effect between its request and its answer, that a single
// register per key would have answered the same way.

import { createAccount } from '../helpers/client';
import { randomPrefix } from '../helpers/ids';
import { checkHistory } from '../helpers/linearizability';
import { expectLinearizable, historyFigures, recordHistory } from '../helpers/history-recorder';
import { startTwoReplicas, type ServiceReplicas } from '../helpers/processes';
import { createTestRedisStore, describeRedis, destroyTestRedisStore } from '../helpers/redis';

/** `npm run test:soak` (KV_SOAK=1) records a minute of load instead of 5 s. */
const LOAD_MS = process.env.KV_SOAK === '1' ? 60_000 : 5000;

jest.setTimeout(LOAD_MS + 35_000);

describeRedis('linearizability on standalone Redis', () => {
  const prefix = randomPrefix();
  let replicas: ServiceReplicas | undefined;

  beforeAll(async () => {
    replicas = await startTwoReplicas({ REDIS_URL: process.env.REDIS_URL!, KV_REDIS_PREFIX: prefix });
  });

  afterAll(async () => {
    await replicas?.stop();
    await destroyTestRedisStore(await createTestRedisStore({ prefix }));
  });

  it('answers 12 clients on 4 keys through two replicas as one register per key would', async () => {
    const { apiKey } = await createAccount(replicas!.urls[0]);
    const history = await recordHistory({
      replicas: replicas!.urls,
      apiKey,
      keys: ['lin-a', 'lin-b', 'lin/c', 'lin d'],
      clients: 12,
      durationMs: LOAD_MS,
      requestTimeoutMs: 5000,
      pauseMs: [2, 20],
    });
    const result = checkHistory(history.operations, { timeoutMs: 8000 + LOAD_MS });
    console.log(`[linearizability] standalone: ${historyFigures(history, result)}`);

    // Only answers the API documents for these requests: no 5xx, no 429, no client timeout.
    expect(Object.keys(history.statuses).filter((status) => !['200', '201', '204', '404', '412'].includes(status))).toEqual([]);
    // The load did exercise races: conflicts, creations and deletes, and successful compare-and-swaps.
    const kinds = (predicate: (op: (typeof history.operations)[number]) => boolean) => history.operations.filter(predicate).length;
    expect(kinds((op) => op.outcome.kind === 'refused' && op.outcome.status === 412)).toBeGreaterThan(0);
    expect(kinds((op) => op.outcome.kind === 'written' && op.outcome.created)).toBeGreaterThan(0);
    expect(kinds((op) => op.outcome.kind === 'deleted')).toBeGreaterThan(0);
    expect(kinds((op) => op.input.kind === 'put' && op.input.condition.kind === 'ifMatch' && op.outcome.kind === 'written')).toBeGreaterThan(0);
    expectLinearizable(result);
  });
});
