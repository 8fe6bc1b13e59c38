// The Redis memory settings of k8s/redis.yaml and docker-compose.yml, as a real redis-server reads
// them: the sizes the deployment tests compare are the ones Redis applies.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { freePort, stopProcess } from '../helpers/processes';
import { composeWithOwnSecrets, findObject, redisBytes, redisOption, renderK8s, type Container } from './deployment-files';

/** Starts redis-server with a file's arguments (plus a loopback port and a temp dir), returns CONFIG GET of `names`. */
async function configOf(args: string[], names: string[]): Promise<Record<string, string>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-redis-memory-'));
  const port = await freePort();
  // The file's own --dir (a volume) is replaced by the temp dir.
  const own = args.slice(1).filter((_arg, i, all) => all[i] !== '--dir' && all[i - 1] !== '--dir');
  const child = spawn('redis-server', [...own, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<never>((_resolve, reject) =>
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) on these arguments: ${output}`))),
  );
  exited.catch(() => undefined);
  const client = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 50, maxRetriesPerRequest: 100 });
  try {
    const values: Record<string, string> = {};
    for (const name of names) {
      const [, value] = (await Promise.race([client.config('GET', name), exited])) as [string, string];
      values[name] = value;
    }
    return values;
  } finally {
    client.disconnect();
    await stopProcess(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const k8sArgs = (): string[] => {
  const statefulSet = findObject<{ spec: { template: { spec: { containers: Container[] } } } }>(renderK8s(), 'StatefulSet', 'redis');
  return statefulSet.spec.template.spec.containers[0].args!;
};
const composeArgs = (): string[] => composeWithOwnSecrets().services.redis.command as string[];

describe.each([
  ['k8s/redis.yaml', k8sArgs],
  ['docker-compose.yml', composeArgs],
])('Redis of %s', (_file, args) => {
  it('runs with the maxmemory the deployment tests read, and noeviction', async () => {
    const config = await configOf(args(), ['maxmemory', 'maxmemory-policy', 'appendonly']);
    expect(Number(config.maxmemory)).toBe(redisBytes(redisOption(args(), '--maxmemory')!));
    expect(config['maxmemory-policy']).toBe('noeviction');
    expect(config.appendonly).toBe('yes');
  });
});
