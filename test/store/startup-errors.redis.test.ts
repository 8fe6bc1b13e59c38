// A Redis the service cannot use names itself and the cause in one line: what ready() rejects with
// (printed at start-up) and the errors of 'down' notifications (logged), never with a credential.

import { createStore, type StoreSetup } from '../../src/store/create-store';
import { ConnectionProblems, RedisConnectionError } from '../../src/store/redis/connection';
import type { RedisConnection } from '../../src/config';
import { refusedPort } from '../helpers/processes';
import { describeRedis } from '../helpers/redis';
import { hasRedisBinaries, randomPassword, startRedisStandalone, type RedisGroup } from '../helpers/redis-groups';

const describeProcesses = hasRedisBinaries() ? describeRedis : describe.skip;
const READY_MS = 1500;

interface Attempt {
  /** The message of what ready() rejected with. */
  message: string;
  code: string;
  /** Every 'down' notification's error, serialised as a logger would (all its own fields). */
  downs: string[];
}

/** Opens the store the service would open on `connection`, waits READY_MS for it, and closes it. */
async function attempt(connection: RedisConnection): Promise<Attempt> {
  const downs: string[] = [];
  let setup: StoreSetup | undefined;
  try {
    // Command time-out under READY_MS, with room for a TLS handshake and AUTH on a busy machine
    // (at 500 ms, one CI run saw "Command timed out" instead of the server's WRONGPASS).
    setup = createStore({ kind: 'redis', redis: connection, prefix: 'kvtest-startup', commandTimeoutMs: 1000, rateLimitSyncMs: 50 }, (state, error) => {
      if (state === 'down' && error) downs.push(JSON.stringify({ ...error, message: error.message, stack: error.stack }));
    });
    const failure = await setup.ready(READY_MS).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(RedisConnectionError);
    const { message, code } = failure as RedisConnectionError;
    return { message, code, downs };
  } finally {
    await setup?.store.close();
  }
}

/** One line, naming the address, holding none of `secrets`; so does every 'down' error. */
function expectOneSafeLine(result: Attempt, address: string, secrets: string[]): void {
  expect(result.message).not.toMatch(/[\r\n]/);
  expect(result.message).toContain(address);
  for (const down of result.downs) expect(down).toContain(address);
  for (const secret of secrets) {
    expect(result.message).not.toContain(secret);
    for (const down of result.downs) expect(down).not.toContain(secret);
  }
}

describeProcesses('start-up errors of a Redis the service cannot use', () => {
  it('names the address and ECONNREFUSED when nothing listens on the port, without the password of the URL', async () => {
    const port = await refusedPort();
    const password = randomPassword();
    const result = await attempt({ kind: 'standalone', url: `redis://kv:${password}@127.0.0.1:${port}`, tls: false });
    expect(result.message).toBe(`Redis at 127.0.0.1:${port} not ready after ${READY_MS} ms: connection refused (ECONNREFUSED) at 127.0.0.1:${port}`);
    expect(result.code).toBe('ECONNREFUSED');
    expect(result.downs.length).toBeGreaterThan(0);
    expectOneSafeLine(result, `127.0.0.1:${port}`, [password, `kv:${password}`]);
  });

  it('names every Cluster node given and ECONNREFUSED when none of them listens', async () => {
    const ports = [await refusedPort(), await refusedPort()];
    const password = randomPassword();
    const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
    const result = await attempt({ kind: 'cluster', nodes, password, tls: false });
    expect(result.message).toMatch(
      new RegExp(`^Redis Cluster at 127\\.0\\.0\\.1:${ports[0]}, 127\\.0\\.0\\.1:${ports[1]} not ready after ${READY_MS} ms: .*ECONNREFUSED`),
    );
    expectOneSafeLine(result, `127.0.0.1:${ports[0]}`, [password]);
  });

  it('names the sentinels and ECONNREFUSED when none of them listens', async () => {
    const ports = [await refusedPort(), await refusedPort()];
    const sentinelPassword = randomPassword();
    const sentinels = ports.map((port) => ({ host: '127.0.0.1', port }));
    const result = await attempt({ kind: 'sentinel', sentinels, masterName: 'kvprimary', sentinelPassword, tls: false });
    expect(result.message).toBe(
      `Redis primary "kvprimary" via sentinels 127.0.0.1:${ports[0]}, 127.0.0.1:${ports[1]} not ready after ${READY_MS} ms: connection refused (ECONNREFUSED) at 127.0.0.1:${ports[0]}`,
    );
    expectOneSafeLine(result, `127.0.0.1:${ports[0]}`, [sentinelPassword]);
  });

  describe('on a TLS-only redis-server with a password', () => {
    let redis: RedisGroup;
    let password: string;
    let port: number;
    let caFile: string;

    beforeAll(async () => {
      password = randomPassword();
      redis = await startRedisStandalone({ password, tls: true });
      if (redis.connection.kind !== 'standalone') throw new Error('expected a standalone group');
      port = Number(new URL(redis.connection.url).port);
      caFile = redis.connection.tlsCaFile!;
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('names the address and WRONGPASS for a wrong password, and prints neither password', async () => {
      const wrong = randomPassword();
      const result = await attempt({ kind: 'standalone', url: `rediss://:${wrong}@127.0.0.1:${port}`, tls: true, tlsCaFile: caFile });
      // Refused authentication fails the subscription at once: ready() need not wait for its time-out.
      expect(result.message).toMatch(
        new RegExp(`^Redis at 127\\.0\\.0\\.1:${port} \\(TLS\\) not ready( after ${READY_MS} ms)?: authentication failed \\(WRONGPASS: wrong username or password\\)$`),
      );
      expect(result.code).toBe('WRONGPASS');
      expectOneSafeLine(result, `127.0.0.1:${port}`, [wrong, password]);
    });

    it('names the address and NOAUTH when no password is configured', async () => {
      const result = await attempt({ kind: 'standalone', url: `rediss://127.0.0.1:${port}`, tls: true, tlsCaFile: caFile });
      expect(result.message).toMatch(
        new RegExp(
          `^Redis at 127\\.0\\.0\\.1:${port} \\(TLS\\) not ready( after ${READY_MS} ms)?: authentication required \\(NOAUTH: the server requires a password and none was given\\)$`,
        ),
      );
      expectOneSafeLine(result, `127.0.0.1:${port}`, [password]);
    });

    it('names the address and the reset, with a hint to TLS, when a plain connection meets the TLS port', async () => {
      const result = await attempt({ kind: 'standalone', url: `redis://:${password}@127.0.0.1:${port}`, tls: false });
      expect(result.message).toMatch(
        new RegExp(`^Redis at 127\\.0\\.0\\.1:${port} not ready after ${READY_MS} ms: connection reset by the server \\((ECONNRESET|EPIPE)\\) \\(a TLS-only server does this: use rediss:// or REDIS_TLS=true\\)$`),
      );
      expectOneSafeLine(result, `127.0.0.1:${port}`, [password]);
    });

    it('names the address and a TLS failure when the server certificate is not trusted', async () => {
      const result = await attempt({ kind: 'standalone', url: `rediss://:${password}@127.0.0.1:${port}`, tls: true });
      expect(result.message).toMatch(new RegExp(`^Redis at 127\\.0\\.0\\.1:${port} \\(TLS\\) not ready after ${READY_MS} ms: TLS failure \\([A-Z_]+: .+\\)$`));
      expect(result.code).toBe('TLS');
      expectOneSafeLine(result, `127.0.0.1:${port}`, [password]);
    });
  });
});

describe('the causes of connection errors', () => {
  const password = 'hunter2-never-printed';
  const problems = new ConnectionProblems({ kind: 'standalone', url: `redis://kv:${password}@db.internal:6380`, tls: false });
  const nodeError = (message: string, fields: Record<string, unknown>) => Object.assign(new Error(message), fields);

  it('names a host that is not found', () => {
    const error = problems.describe(nodeError('getaddrinfo ENOTFOUND db.internal', { code: 'ENOTFOUND', hostname: 'db.internal' }));
    expect(error.message).toBe('Redis at db.internal:6380: host not found (ENOTFOUND db.internal)');
  });

  it('names a connection timeout', () => {
    expect(problems.describe(nodeError('connect ETIMEDOUT', { code: 'ETIMEDOUT' })).message).toBe(
      'Redis at db.internal:6380: connection timed out (ETIMEDOUT)',
    );
  });

  it('drops the password an AUTH reply error carries in its command', () => {
    const reply = nodeError('WRONGPASS invalid username-password pair or user is disabled.', {
      name: 'ReplyError',
      command: { name: 'auth', args: ['kv', password] },
    });
    const error = problems.describe(reply);
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(password);
    expect(error.message).toBe('Redis at db.internal:6380: authentication failed (WRONGPASS: wrong username or password)');
  });

  it('takes configured secrets and URL user-info out of a message it passes on', () => {
    const error = problems.describe(new Error(`odd failure on redis://kv:${password}@db.internal:6380 with ${password}`));
    expect(error.message).not.toContain(password);
    expect(error.message).toBe('Redis at db.internal:6380: odd failure on redis://db.internal:6380 with ***');
  });
});
