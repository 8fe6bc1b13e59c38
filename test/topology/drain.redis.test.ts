// Three replicas behind nginx on one Redis: a replica that gets SIGTERM under steady load drains
// without a single failed request at the client, while the others carry on.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { describeRedis } from '../helpers/redis';
import { nginxBinary, startReplicaTopology, type ReplicaTopology } from '../helpers/replica-topology';

const BOOTSTRAP_KEY = `kv_${randomBytes(24).toString('base64url')}`;
const CLIENTS = 16;
/** Bounded: the load stops after this long, or after this many requests, whichever comes first. */
const LOAD_MS = 6000;
const MAX_REQUESTS = 40_000;

const describeTopology = nginxBinary() || process.env.CI === 'true' ? describeRedis : describe.skip;

describeTopology('graceful drain behind a load balancer', () => {
  let topology: ReplicaTopology;

  beforeAll(async () => {
    topology = await startReplicaTopology({ replicas: 3, env: { KV_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY } });
  }, 30_000);
  afterAll(() => topology?.stop());

  it('loses no request when one replica is sent SIGTERM during steady load', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    const url = new URL(topology.url);
    const send = (method: string, path: string, body?: string) =>
      new Promise<number>((resolve) => {
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            method,
            path,
            agent,
            headers: { Authorization: `Bearer ${BOOTSTRAP_KEY}`, 'Content-Type': 'application/json' },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', () => resolve(0));
        req.end(body);
      });

    let sent = 0;
    const failures: string[] = [];
    const deadline = Date.now() + LOAD_MS;
    const client = async (id: number) => {
      for (let i = 0; Date.now() < deadline && sent < MAX_REQUESTS; i++) {
        sent++;
        const write = i % 2 === 0;
        const status = write
          ? await send('PUT', `/kv/items/c${id}`, JSON.stringify({ value: { id, i } }))
          : await send('GET', `/kv/items/c${id}`);
        const expected = write ? [200, 201] : [200];
        if (!expected.includes(status)) failures.push(`${write ? 'PUT' : 'GET'} → ${status || 'connection error'}`);
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id)));

    await new Promise((resolve) => setTimeout(resolve, 2000));
    const victim = topology.replicas[0];
    const sigtermAt = Date.now();
    victim.child.kill('SIGTERM');
    const exitCode = await victim.exited;
    const drainMs = Date.now() - sigtermAt;
    const sentAtExit = sent;
    await load;
    agent.destroy();

    process.stdout.write(
      `\n[topology] requests sent: ${sent} (${sentAtExit} when the replica exited), failed: ${failures.length}, ` +
        `drain time: ${drainMs} ms, replica exit code: ${exitCode}\n`,
    );
    expect(exitCode).toBe(0);
    expect(failures).toEqual([]);
    // The load went on through the other replicas after the exit (a count, not a rate: the
    // machine may be busy).
    expect(sent - sentAtExit).toBeGreaterThan(50);
    // The other replicas carry on and are still ready.
    for (const replica of topology.replicas.slice(1)) {
      expect((await fetch(`${replica.url}/readyz`)).status).toBe(200);
    }
  }, 30_000);
});
