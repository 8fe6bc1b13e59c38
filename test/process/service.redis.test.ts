// The built service as a process: bootstrap once across replicas, and a graceful SIGTERM.

import net from 'node:net';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { startService, stopProcess, waitUntilReady, type ServiceProcess } from '../helpers/processes';
import { randomPrefix } from '../helpers/ids';
import { describeRedis } from '../helpers/redis';
import { sleep, waitFor } from '../helpers/wait';

const KEY_LINE = /^\s+(kv_[A-Za-z0-9_-]{32})$/m;

function serviceEnv(prefix: string, extra: Record<string, string> = {}) {
  return { REDIS_URL: process.env.REDIS_URL!, KV_REDIS_PREFIX: prefix, ...extra };
}

/** Sends raw bytes on a socket and resolves with the whole response once the server closes or answers. */
function rawResponse(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk;
      if (/\r\n\r\n/.test(data) && /Content-Length: (\d+)/i.test(data)) {
        const length = Number(/Content-Length: (\d+)/i.exec(data)![1]);
        if (data.length >= data.indexOf('\r\n\r\n') + 4 + length) resolve(data);
      }
    });
    socket.on('close', () => resolve(data));
  });
}

describeRedis('the service process', () => {
  const prefixes: string[] = [];
  const processes: ServiceProcess[] = [];
  const newPrefix = () => {
    const prefix = randomPrefix();
    prefixes.push(prefix);
    return prefix;
  };

  afterAll(async () => {
    await Promise.all(processes.map((service) => stopProcess(service.child)));
    const redis = new Redis(process.env.REDIS_URL!);
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.unlink(...keys);
    }
    await redis.quit();
  });

  it('creates the default account once when three replicas start together, and only one prints its key', async () => {
    const prefix = newPrefix();
    const replicas = await Promise.all([1, 2, 3].map(() => startService(serviceEnv(prefix))));
    processes.push(...replicas);
    await Promise.all(replicas.map((replica) => waitUntilReady(replica.url, 10_000)));
    const printed = replicas.map((replica) => KEY_LINE.exec(replica.output())?.[1]).filter(Boolean) as string[];
    expect(printed).toHaveLength(1);

    // The printed key works on every replica.
    for (const replica of replicas) {
      const res = await fetch(`${replica.url}/kv/usage`, { headers: { Authorization: `Bearer ${printed[0]}` } });
      expect(res.status).toBe(200);
    }
    // A later start on the same store prints nothing.
    const later = await startService(serviceEnv(prefix));
    processes.push(later);
    await waitUntilReady(later.url, 10_000);
    expect(KEY_LINE.test(later.output())).toBe(false);
  });

  it('uses KV_BOOTSTRAP_API_KEY for the default account and never prints it', async () => {
    const key = `kv_${randomBytes(24).toString('base64url')}`;
    const service = await startService(serviceEnv(newPrefix(), { KV_BOOTSTRAP_API_KEY: key }));
    processes.push(service);
    await waitUntilReady(service.url, 10_000);
    const res = await fetch(`${service.url}/kv/items/x`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ value: 1 }),
    });
    expect(res.status).toBe(201);
    expect(service.output()).not.toContain(key);
  });

  it('on SIGTERM finishes requests in flight, answers them with /readyz 503, refuses new connections and exits 0', async () => {
    const key = `kv_${randomBytes(24).toString('base64url')}`;
    const service = await startService(serviceEnv(newPrefix(), { KV_BOOTSTRAP_API_KEY: key }));
    processes.push(service);
    await waitUntilReady(service.url, 10_000);

    // A PUT whose body is only half sent, and a /readyz whose headers are not finished yet.
    const body = JSON.stringify({ value: { slow: 'x'.repeat(1000) } });
    const put = net.connect(service.port, '127.0.0.1');
    const putResponse = rawResponse(put);
    put.write(
      `PUT /kv/items/slow HTTP/1.1\r\nHost: kv\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 500)}`,
    );
    const probe = net.connect(service.port, '127.0.0.1');
    const probeResponse = rawResponse(probe);
    probe.write('GET /readyz HTTP/1.1\r\nHost: kv\r\n');
    await sleep(200);

    service.child.kill('SIGTERM');
    await sleep(300);
    const refused = await fetch(`${service.url}/healthz`).then(
      () => false,
      () => true,
    );
    expect(refused).toBe(true);

    probe.write('\r\n');
    put.write(body.slice(500));
    expect(await putResponse).toMatch(/^HTTP\/1\.1 201 Created/);
    const readyz = await probeResponse;
    expect(readyz).toMatch(/^HTTP\/1\.1 503/);
    expect(readyz).toContain('"code":"unavailable"');
    expect(await service.exited).toBe(0);
    expect(service.output()).toContain('"msg":"stopped"');
  });

  it('serves from two worker processes with KV_WORKERS=2 and exits 0 on SIGTERM once both have drained', async () => {
    const key = `kv_${randomBytes(24).toString('base64url')}`;
    const service = await startService(serviceEnv(newPrefix(), { KV_WORKERS: '2', KV_BOOTSTRAP_API_KEY: key }));
    processes.push(service);
    await waitUntilReady(service.url, 10_000);
    // Each worker listens once it is ready; the second may come a moment after the first.
    await waitFor(() => expect(service.output().match(/"msg":"listening"/g)).toHaveLength(2), { what: 'the second "listening" line', timeoutMs: 10_000 });
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
    const statuses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        fetch(`${service.url}/kv/items/w${i}`, { method: 'PUT', headers, body: JSON.stringify({ value: i }) }).then(
          (res) => res.status,
        ),
      ),
    );
    expect(statuses).toEqual(Array(40).fill(201));
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  });
});
