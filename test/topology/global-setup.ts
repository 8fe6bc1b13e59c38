// The topology jest project: three KV processes on one Redis behind nginx, for the HTTP suites.
// Runs before the root global-setup, so it calls that first to find (or start) a Redis.

import rootGlobalSetup from '../global-setup';
import { ADMIN_TOKEN } from '../helpers/admin-token';
import { nginxBinary, startReplicaTopology, type ReplicaTopology } from '../helpers/replica-topology';

declare global {
  // eslint-disable-next-line no-var
  var __KV_TOPOLOGY__: ReplicaTopology | undefined;
}

export default async function topologySetup(): Promise<void> {
  await rootGlobalSetup();
  const missing = !process.env.REDIS_URL ? 'no Redis' : !nginxBinary() ? 'no nginx (apt-get install nginx-light)' : undefined;
  if (missing) {
    if (process.env.CI === 'true') throw new Error(`the topology tests need Redis and nginx in CI: ${missing}`);
    process.env.KV_TEST_TOPOLOGY_SKIP = missing;
    console.log(`\n[kv tests] topology tests are skipped: ${missing}.`);
    return;
  }
  const topology = await startReplicaTopology({ replicas: 3, env: { KV_ADMIN_TOKEN: ADMIN_TOKEN } });
  globalThis.__KV_TOPOLOGY__ = topology;
  process.env.KV_TEST_BASE_URL = topology.url;
  console.log(`\n[kv tests] topology: nginx at ${topology.url} in front of ports ${topology.replicas.map((r) => r.port).join(', ')}`);
}
