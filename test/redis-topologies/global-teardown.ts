// Stops, by PID, every Redis process the cluster and sentinel projects' global setup started.

export default async function redisTopologiesTeardown(): Promise<void> {
  const groups = globalThis.__KV_REDIS_GROUPS__ ?? [];
  globalThis.__KV_REDIS_GROUPS__ = undefined;
  await Promise.all(groups.map((group) => group.stop()));
}
