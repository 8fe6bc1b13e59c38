// Linearizability on a Sentinel group while its primary is killed (SIGKILL): 12 clients do get /
// put / compare-and-swap / create-only / delete on 4 keys through two KV replicas, and the history
// they record is checked.
//
// What is required, honestly: Redis replicates asynchronously and KV sends no WAIT, so a write the
// dead primary acknowledged may be missing from the replica the sentinels promote (docs/operations.md,
// "Durability"; the failover tests count such writes as lost and do not fail on them). The
// checker therefore lets each key go back, once, at the moment of the kill, to a state it held
// within its last 16 writes, and counts the acknowledged writes that discards (printed as
// lostAcknowledged; strictVerdict says whether the history was linearizable with none lost).
// Everything else must hold exactly: before and after the kill every answer fits one register per
// key, no write is applied twice, no value comes from nowhere, a 503 (unknown) write takes effect
// once or never, and nothing older than that window comes back.

import { startReplicasOn } from '../../helpers/failover';
import { expectLinearizableAcrossKill } from '../../helpers/history-recorder';
import { createAccount } from '../../helpers/client';
import type { ServiceReplicas } from '../../helpers/processes';
import { describeRedis } from '../../helpers/redis';
import { hasRedisBinaries, randomPassword, sentinelPrimary, startSentinelGroup, type SentinelGroup } from '../../helpers/redis-groups';

jest.setTimeout(90_000);

const describeSentinel = hasRedisBinaries() ? describeRedis : describe.skip;

describeSentinel('linearizability on a Sentinel group while the primary is killed', () => {
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

  it('answers as one register per key would, apart from writes the failover may discard', async () => {
    const { apiKey } = await createAccount(replicas.urls[0]);
    const primary = await sentinelPrimary(group);
    await expectLinearizableAcrossKill('sentinel primary SIGKILL', replicas.urls, apiKey, () => group.kill(primary));
    expect(await sentinelPrimary(group)).not.toBe(primary);
  });
});
