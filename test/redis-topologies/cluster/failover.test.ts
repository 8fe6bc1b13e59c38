// A Cluster primary killed with SIGKILL while clients do compare-and-swap increments through two
// API replicas: 503 only while its slots have no primary, recovery without a restart, no write
// applied twice, and accounts on the other primaries never notice.

import { checkIncrementReport, incrementsThroughFailover, startReplicasOn } from '../../helpers/failover';
import { clusterPrimaryOf, hasRedisBinaries, startRedisCluster, type RedisGroup } from '../../helpers/redis-groups';
import { createAccount } from '../../helpers/client';
import type { ServiceReplicas } from '../../helpers/processes';
import { describeRedis } from '../../helpers/redis';
import { randomPassword } from '../../helpers/redis-groups';

const keySlot = require('cluster-key-slot') as (key: string | Buffer) => number;

jest.setTimeout(90_000);

const describeCluster = hasRedisBinaries() ? describeRedis : describe.skip;

describeCluster('Cluster failover under load', () => {
  let group: RedisGroup;
  let replicas: ServiceReplicas;

  beforeAll(async () => {
    group = await startRedisCluster({ password: randomPassword() });
    replicas = await startReplicasOn(group);
  });

  afterAll(async () => {
    await replicas?.stop();
    await group?.stop();
  });

  it('answers 503 only for the failover window, then recovers; no increment applied twice', async () => {
    const adminPrimary = await clusterPrimaryOf(group, keySlot('{admin}'));
    // Two accounts: one on a primary to kill (not the one holding the admin records), one elsewhere.
    let victim: { accountId: string; apiKey: string; primary: number } | undefined;
    let bystander: { accountId: string; apiKey: string; primary: number } | undefined;
    for (let i = 0; i < 50 && !(victim && bystander); i++) {
      const account = await createAccount(replicas.urls[0]);
      const primary = await clusterPrimaryOf(group, keySlot(`{${account.accountId}}`));
      if (primary === adminPrimary) continue;
      if (!victim) victim = { ...account, primary };
      else if (primary !== victim.primary) bystander = { ...account, primary };
    }
    if (!victim || !bystander) throw new Error('no accounts on two different non-admin primaries after 50 tries');

    const bystanderLoad = incrementsThroughFailover({
      replicas: replicas.urls,
      apiKey: bystander.apiKey,
      key: 'counter',
      clients: 2,
      beforeKillMs: 1500,
      kill: async () => undefined,
      recoveredAfter: 1_000_000,
      afterRecoveryMs: 0,
      maxMs: 9000,
    });
    const report = await incrementsThroughFailover({
      replicas: replicas.urls,
      apiKey: victim.apiKey,
      key: 'counter',
      clients: 8,
      beforeKillMs: 1500,
      kill: () => group.kill(victim!.primary),
      recoveredAfter: 100,
      afterRecoveryMs: 1500,
      maxMs: 30_000,
    });
    checkIncrementReport('cluster primary SIGKILL', report, 15_000, replicas);
    expect(await clusterPrimaryOf(group, keySlot(`{${victim.accountId}}`))).not.toBe(victim.primary);

    const bystanderReport = await bystanderLoad;
    console.log(`[failover] cluster bystander account on another primary: ${JSON.stringify(bystanderReport)}`);
    expect(bystanderReport.failures).toEqual({});
    expect(bystanderReport.finalValue).toBe(bystanderReport.acked);
  });
});
