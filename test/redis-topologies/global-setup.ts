// The cluster and sentinel jest projects: a Redis Cluster (3 primaries, 3 replicas) and a Sentinel
// group (1 primary, 2 replicas, 3 sentinels), both TLS-only with an ACL user, on loopback, shared
// by the suites of both projects. Runs before the root global-setup, so it calls that first.

import rootGlobalSetup from '../global-setup';
import { GROUP_ENV, hasRedisBinaries, randomPassword, startRedisCluster, startSentinelGroup, type RedisGroup } from '../helpers/redis-groups';

declare global {
  // eslint-disable-next-line no-var
  var __KV_REDIS_GROUPS__: RedisGroup[] | undefined;
}


export default async function redisTopologiesSetup(): Promise<void> {
  await rootGlobalSetup();
  if (globalThis.__KV_REDIS_GROUPS__) return; // both projects share one setup
  globalThis.__KV_REDIS_GROUPS__ = [];
  if (!hasRedisBinaries()) {
    const reason = 'no redis-server/redis-cli on PATH (apt-get install redis-server)';
    if (process.env.CI === 'true') throw new Error(`the Cluster and Sentinel tests need ${reason}`);
    console.log(`\n[kv tests] Cluster and Sentinel tests are skipped: ${reason}.`);
    return;
  }
  const started = Date.now();
  const [cluster, sentinel] = await Promise.all([
    startRedisCluster({ username: 'kv', password: randomPassword(), tls: true }),
    startSentinelGroup({ username: 'kv', password: randomPassword(), sentinelPassword: randomPassword(), tls: true }),
  ]);
  globalThis.__KV_REDIS_GROUPS__.push(cluster, sentinel);
  process.env[GROUP_ENV.cluster] = JSON.stringify(cluster.connection);
  process.env[GROUP_ENV.sentinel] = JSON.stringify(sentinel.connection);
  console.log(
    `\n[kv tests] Redis Cluster (TLS) on ports ${[...cluster.nodes.keys()].join(', ')}; ` +
      `Sentinel group (TLS): data ${[...sentinel.nodes.keys()].join(', ')}, sentinels ${sentinel.connection.kind === 'sentinel' ? sentinel.connection.sentinels.map((s) => s.port).join(', ') : ''} ` +
      `(${Date.now() - started} ms)`,
  );
}
