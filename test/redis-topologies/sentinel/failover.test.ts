// The Sentinel group's primary killed with SIGKILL while clients do compare-and-swap increments
// through two API replicas: 503 only until the sentinels promote a replica and ioredis follows,
// recovery without a restart, no write applied twice.

import { randomBytes } from 'node:crypto';
import { ADMIN_TOKEN } from '../../helpers/admin-token';
import { checkIncrementReport, createAccount, incrementsThroughFailover } from '../../helpers/failover';
import { startService, stopProcess, type ServiceProcess } from '../../helpers/processes';
import { connectionEnv, hasRedisBinaries, sentinelPrimary, startSentinelGroup, type SentinelGroup } from '../../helpers/redis-groups';
import { describeRedis } from '../../helpers/redis';

jest.setTimeout(90_000);

const describeSentinel = hasRedisBinaries() ? describeRedis : describe.skip;
const SENTINEL_PASSWORD = 'failover-test-sentinel-password';

describeSentinel('Sentinel failover under load', () => {
  let group: SentinelGroup;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    group = await startSentinelGroup({ password: 'failover-test-password', sentinelPassword: SENTINEL_PASSWORD });
    const env = {
      ...connectionEnv(group.connection),
      KV_REDIS_PREFIX: `kvtest-${randomBytes(6).toString('hex')}`,
      KV_REDIS_TIMEOUT_MS: '1000',
      KV_ADMIN_TOKEN: ADMIN_TOKEN,
      };
    services.push(await startService(env), await startService(env));
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => stopProcess(service.child, 'SIGTERM')));
    await group?.stop();
  });

  it('answers 503 only for the failover window, then recovers; no increment applied twice', async () => {
    const replicas = services.map((service) => `http://127.0.0.1:${service.port}`);
    const { apiKey } = await createAccount(replicas[0]);
    const primary = await sentinelPrimary(group);

    const report = await incrementsThroughFailover({
      replicas,
      apiKey,
      key: 'counter',
      clients: 8,
      beforeKillMs: 1500,
      kill: () => group.kill(primary),
      recoveredAfter: 100,
      afterRecoveryMs: 1500,
      maxMs: 40_000,
    });
    checkIncrementReport('sentinel primary SIGKILL', report, 20_000);
    expect(await sentinelPrimary(group)).not.toBe(primary);
  });
});
