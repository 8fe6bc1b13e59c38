// The load balancer's retries, on a real nginx running deploy/nginx.conf: a read whose replica
// fails moves on to another; a write moves on only if no replica can have received it.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { refusedPort } from '../helpers/processes';
import { nginxBinary } from '../helpers/replica-topology';
import { startShippedNginx, type LocalNginx } from './nginx-run';

interface Received {
  method: string;
  url: string;
  body: string;
}

interface Upstream {
  port: number;
  received: Received[];
  close(): Promise<void>;
}

/**
 * A replica stand-in on a port of its own. `answers`: it replies 200 with what it received.
 * `dies`: it reads the whole request, then drops the connection before any response byte, as a
 * KV process killed while applying a write would.
 */
async function upstream(behaviour: 'answers' | 'dies'): Promise<Upstream> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, body });
      if (behaviour === 'dies') {
        req.socket.destroy();
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ port: (server.address() as AddressInfo).port }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}


async function send(nginx: LocalNginx, method: string, target: string, body?: string) {
  const res = await fetch(`${nginx.url}${target}`, {
    method,
    body,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
  });
  return { status: res.status, text: await res.text() };
}

const installed = nginxBinary() !== undefined;
if (!installed && process.env.CI === 'true') throw new Error('the nginx tests need nginx in CI (apt-get install nginx-light)');
// Outside CI, a machine without nginx reports these as skipped, like the other nginx and Redis tests.
const describeWithNginx = installed ? describe : describe.skip;

describeWithNginx('deploy/nginx.conf on a real nginx', () => {
  const opened: { close(): Promise<void> }[] = [];
  const nginxes: LocalNginx[] = [];

  afterEach(async () => {
    await Promise.all(nginxes.splice(0).map((nginx) => nginx.stop()));
    await Promise.all(opened.splice(0).map((server) => server.close()));
  });

  /** nginx with `first` tried first and `second` as the only other replica. */
  async function balancer(first: number, second: number): Promise<LocalNginx> {
    const nginx = await startShippedNginx([{ port: first }, { port: second, backup: true }]);
    nginxes.push(nginx);
    return nginx;
  }

  async function replica(behaviour: 'answers' | 'dies'): Promise<Upstream> {
    const server = await upstream(behaviour);
    opened.push(server);
    return server;
  }

  it.each(['PUT', 'DELETE', 'POST', 'PATCH'])(
    'answers 502 and never sends a %s to a second replica when the first dies before answering',
    async (method) => {
      const dying = await replica('dies');
      const healthy = await replica('answers');
      const nginx = await balancer(dying.port, healthy.port);
      const body = method === 'DELETE' ? undefined : JSON.stringify({ value: 1 });

      const res = await send(nginx, method, '/kv/items/counter?ifVersion=7', body);

      expect(res.status).toBe(502);
      expect(dying.received).toEqual([{ method, url: '/kv/items/counter?ifVersion=7', body: body ?? '' }]);
      expect(healthy.received).toEqual([]);
    },
  );

  it('sends a GET on to the second replica when the first dies before answering', async () => {
    const dying = await replica('dies');
    const healthy = await replica('answers');
    const nginx = await balancer(dying.port, healthy.port);

    const res = await send(nginx, 'GET', '/kv/items/counter');

    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ port: healthy.port });
    expect(dying.received.map((r) => r.method)).toEqual(['GET']);
    expect(healthy.received.map((r) => r.method)).toEqual(['GET']);
  });

  it.each(['GET', 'HEAD'])('sends a %s on to the second replica when the first refuses the connection', async (method) => {
    const healthy = await replica('answers');
    const nginx = await balancer(await refusedPort(), healthy.port);

    const res = await send(nginx, method, '/kv/items/k');

    expect(res.status).toBe(200);
    expect(healthy.received).toEqual([{ method, url: '/kv/items/k', body: '' }]);
  });

  // The cost: nginx's "error" does not tell a refused connection from a crash after the request
  // was read, so a write gets 502 on either and the client decides whether to retry.
  it.each(['PUT', 'DELETE', 'POST'])('answers 502 to a %s whose replica refuses the connection', async (method) => {
    const healthy = await replica('answers');
    const nginx = await balancer(await refusedPort(), healthy.port);

    const res = await send(nginx, method, '/kv/items/k', method === 'DELETE' ? undefined : '{"value":1}');

    expect(res.status).toBe(502);
    expect(healthy.received).toEqual([]);
  });

  it('passes a write body on whole', async () => {
    const healthy = await replica('answers');
    const nginx = await balancer(healthy.port, await refusedPort());
    const body = JSON.stringify({ value: 'x'.repeat(1024 * 1024) });

    const res = await send(nginx, 'PUT', '/kv/items/big', body);

    expect(res.status).toBe(200);
    expect(healthy.received).toEqual([{ method: 'PUT', url: '/kv/items/big', body }]);
  });

  it.each(['GET', 'PUT'])('passes a %s request target on byte for byte', async (method) => {
    const healthy = await replica('answers');
    const nginx = await balancer(healthy.port, await refusedPort());
    // Encoded slashes, dots, a raw UTF-8 sequence and invalid UTF-8 are KV's to judge, not nginx's.
    const target = '/kv/items/a%2Fb%2F..%2F%2Fc%20d%E2%82%AC%FF/e?prefix=%FF&ifVersion=1&x=%2B';

    const res = await send(nginx, method, target, method === 'PUT' ? '{"value":1}' : undefined);

    expect(res.status).toBe(200);
    expect(healthy.received.map((r) => r.url)).toEqual([target]);
  });
});
