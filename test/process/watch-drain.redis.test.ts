// A replica that drains (SIGTERM) ends its watch streams cleanly, and their clients resume on
// another replica with Last-Event-ID, with nothing lost or repeated.

import { createAccount } from '../helpers/client';
import { randomPrefix } from '../helpers/ids';
import { startTwoReplicas, type ServiceReplicas } from '../helpers/processes';
import { describeRedis } from '../helpers/redis';
import { openWatch } from '../helpers/watch';

jest.setTimeout(60_000);

describeRedis('watch streams when a replica drains', () => {
  let replicas: ServiceReplicas;

  beforeAll(async () => {
    replicas = await startTwoReplicas({ REDIS_URL: process.env.REDIS_URL!, KV_REDIS_PREFIX: randomPrefix() });
  });
  afterAll(async () => {
    await replicas?.stop();
  });

  it('ends the stream on SIGTERM, and the client resumes on the other replica from its last id', async () => {
    const [draining, staying] = replicas.urls;
    const { apiKey } = await createAccount(staying);
    const auth = `Bearer ${apiKey}`;
    const put = async (key: string) => {
      const res = await fetch(`${staying}/kv/items/${key}`, {
        method: 'PUT',
        headers: { Authorization: auth, 'Content-Type': 'application/json' },
        body: '{"value":1}',
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { data: { version: string } }).data.version;
    };

    const stream = await openWatch(draining, auth);
    expect(stream.status).toBe(200);
    await put('a');
    const first = await stream.next();
    expect(first.data.key).toBe('a');

    replicas.services[0].child.kill('SIGTERM');
    // The server ends the response (a clean end of the stream, not a reset connection).
    expect(await stream.ended).toBe('end');
    expect(await replicas.services[0].exited).toBe(0);

    const versions = [await put('b'), await put('c')];
    const resumed = await openWatch(staying, auth, '', { 'Last-Event-ID': first.id! });
    const events = [await resumed.next(), await resumed.next()];
    expect(events.map((event) => [event.event, event.data.key, event.data.version])).toStrictEqual([
      ['set', 'b', versions[0]],
      ['set', 'c', versions[1]],
    ]);
    expect(resumed.pending()).toStrictEqual([]);
    resumed.close();
  });
});
