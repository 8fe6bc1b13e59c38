// The Sentinel group's primary killed with SIGKILL while clients do compare-and-swap increments
// through two API replicas: 503 only until the sentinels promote a replica and ioredis follows,
// recovery without a restart, no write applied twice.

import { checkIncrementReport, incrementsThroughFailover, startReplicasOn } from '../../helpers/failover';
import { hasRedisBinaries, randomPassword, sentinelPrimary, startSentinelGroup, type SentinelGroup } from '../../helpers/redis-groups';
import { createAccount } from '../../helpers/client';
import type { ServiceReplicas } from '../../helpers/processes';
import { describeRedis } from '../../helpers/redis';

jest.setTimeout(90_000);

const describeSentinel = hasRedisBinaries() ? describeRedis : describe.skip;

describeSentinel('Sentinel failover under load', () => {
  let group: SentinelGroup;
  let replicas: ServiceReplicas;

  beforeAll(async () => {
    group = await startSentinelGroup({ password: randomPassword(), sentinelPassword: randomPassword() });
    replicas = await startReplicasOn(group);
  });

  afterAll(async () => {
    await replicas?.stop();
    await group?.stop();
  });

  it('answers 503 only for the failover window, then recovers; no increment applied twice', async () => {
    const { apiKey } = await createAccount(replicas.urls[0]);
    const primary = await sentinelPrimary(group);

    const report = await incrementsThroughFailover({
      replicas: replicas.urls,
      apiKey,
      key: 'counter',
      clients: 8,
      beforeKillMs: 1500,
      kill: () => group.kill(primary),
      recoveredAfter: 100,
      afterRecoveryMs: 1500,
      maxMs: 40_000,
    });
    checkIncrementReport('sentinel primary SIGKILL', report, 20_000, replicas);
    expect(await sentinelPrimary(group)).not.toBe(primary);
  });
});
