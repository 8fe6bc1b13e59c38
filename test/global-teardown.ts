// Stops the Redis container that global-setup started, if any.

export default async function globalTeardown(): Promise<void> {
  await globalThis.__KV_REDIS_CONTAINER__?.stop();
}
