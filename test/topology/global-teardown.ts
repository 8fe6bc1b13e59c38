// Stops the topology that the topology project's global-setup started.

export default async function topologyTeardown(): Promise<void> {
  await globalThis.__KV_TOPOLOGY__?.stop();
}
