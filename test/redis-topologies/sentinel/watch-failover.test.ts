// A watch stream through a Sentinel failover: the primary is killed while a client writes through
// one API replica and watches through the other; the stream stays open and delivers every change
// that Redis kept, or says reset.

import { checkWatchReport, startReplicasOn, watchThroughFailover } from '../../helpers/failover';
import { hasRedisBinaries, randomPassword, sentinelPrimary, startSentinelGroup, type SentinelGroup } from '../../helpers/redis-groups';
import { createAccount } from '../../helpers/client';
import type { ServiceReplicas } from '../../helpers/processes';
import { describeRedis } from '../../helpers/redis';

jest.setTimeout(90_000);

const describeSentinel = hasRedisBinaries() ? describeRedis : describe.skip;

describeSentinel('watch through a Sentinel failover', () => {
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

  it('keeps the stream open and delivers every change Redis kept after the primary is killed', async () => {
    const { apiKey } = await createAccount(replicas.urls[0]);
    const primary = await sentinelPrimary(group);
    const report = await watchThroughFailover({
      writeUrl: replicas.urls[0],
      watchUrl: replicas.urls[1],
      apiKey,
      beforeKillMs: 1000,
      afterKillMs: 8000,
      kill: () => group.kill(primary),
    });
    checkWatchReport('watch through a sentinel failover', report);
    expect(await sentinelPrimary(group)).not.toBe(primary);
  });
});
