// Managed-Redis style connections from the process's own configuration: rediss:// with an ACL
// user and password, the server's CA from REDIS_TLS_CA_FILE; wrong credentials keep it unready
// and never print the password.

import { randomBytes } from 'node:crypto';
import { startService, stopProcess, waitUntilReady, type ServiceProcess } from '../helpers/processes';
import { randomPrefix } from '../helpers/ids';
import { describeRedis } from '../helpers/redis';
import { connectionEnv, hasRedisBinaries, startRedisStandalone, type RedisGroup } from '../helpers/redis-groups';
import { sleep } from '../helpers/wait';

const describeTls = hasRedisBinaries() ? describeRedis : describe.skip;
const BOOTSTRAP_KEY = `kv_${randomBytes(24).toString('base64url')}`;
const PASSWORD = 'tls-test-password-0123';

async function status(port: number, path: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, init).catch(() => undefined);
  return res?.status ?? 0;
}

describeTls('standalone Redis over TLS with an ACL user', () => {
  let redis: RedisGroup;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    redis = await startRedisStandalone({ username: 'kv', password: PASSWORD, tls: true });
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => stopProcess(service.child, 'SIGTERM')));
    await redis?.stop();
  });

  it('serves reads and writes over rediss:// with the CA file', async () => {
    const env = connectionEnv(redis.connection);
    expect(env.REDIS_URL).toMatch(/^rediss:\/\/kv:/);
    const service = await startService({ ...env, KV_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY, KV_REDIS_PREFIX: randomPrefix() });
    services.push(service);
    await waitUntilReady(service.url, 10_000);
    const auth = { Authorization: `Bearer ${BOOTSTRAP_KEY}`, 'Content-Type': 'application/json' };
    const put = await status(service.port, '/kv/items/k', { method: 'PUT', headers: auth, body: '{"value":{"over":"tls"}}' });
    expect({ put, output: put === 201 ? '' : service.output() }).toEqual({ put: 201, output: '' });
    const read = await fetch(`${service.url}/kv/items/k`, { headers: auth });
    expect(((await read.json()) as { data: { value: unknown } }).data.value).toEqual({ over: 'tls' });
  });

  it('stays unready with a wrong password, and never prints it', async () => {
    const wrong = 'wrong-password-never-printed';
    const url = new URL(redis.connection.kind === 'standalone' ? redis.connection.url : '');
    url.password = wrong;
    const service = await startService({ ...connectionEnv(redis.connection), REDIS_URL: url.toString(), KV_REDIS_PREFIX: 'kvtest-wrong' });
    services.push(service);
    await sleep(1500);
    expect(await status(service.port, '/readyz')).toBe(503);
    expect(service.output()).not.toContain(wrong);
    expect(service.output()).not.toContain(PASSWORD);
  });
});
