// A watch stream through a Cluster failover: the primary of the watched account's slot is killed
// while a client writes through one API replica and watches through the other; the stream stays
// open and delivers every change that Redis kept, or says reset.

import { accountOffAdminPrimary, checkWatchReport, startReplicasOn, watchThroughFailover } from '../../helpers/failover';
import { hasRedisBinaries, randomPassword, startRedisCluster, type RedisGroup } from '../../helpers/redis-groups';
import type { ServiceReplicas } from '../../helpers/processes';
import { describeRedis } from '../../helpers/redis';

jest.setTimeout(90_000);

const describeCluster = hasRedisBinaries() ? describeRedis : describe.skip;

describeCluster('watch through a Cluster failover', () => {
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

  it('keeps the stream open and delivers every change Redis kept after the account\'s primary is killed', async () => {
    const account = await accountOffAdminPrimary(group, replicas.urls[0]);
    const report = await watchThroughFailover({
      writeUrl: replicas.urls[0],
      watchUrl: replicas.urls[1],
      apiKey: account.apiKey,
      beforeKillMs: 1000,
      afterKillMs: 8000,
      kill: () => group.kill(account.primary),
    });
    checkWatchReport('watch through a cluster failover', report);
  });
});
