// The built service with KV_INTERNAL_PORT: two ports, /kv on one, /metrics and /admin on the other.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN } from '../helpers/admin-token';
import { startService, stopProcess, waitUntilReady, type ServiceProcess } from '../helpers/processes';

const ADMIN = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };

describe('the service with KV_INTERNAL_PORT', () => {
  let dataDir: string;
  const running: ServiceProcess[] = [];
  const holders: net.Server[] = [];

  beforeEach(() => {
    dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kvtest-')), 'data');
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((service) => stopProcess(service.child)));
    await Promise.all(holders.splice(0).map((holder) => new Promise((resolve) => holder.close(resolve))));
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  async function start(env: Record<string, string>): Promise<ServiceProcess> {
    const service = await startService({ KV_DATA_DIR: dataDir, KV_ADMIN_TOKEN: ADMIN_TOKEN, HOST: '127.0.0.1', ...env });
    running.push(service);
    return service;
  }

  it('serves /kv on PORT and /metrics and /admin only on KV_INTERNAL_PORT, both answering the probes', async () => {
    const service = await start({ KV_INTERNAL_PORT: '0' });
    expect(service.internalPort).toEqual(expect.any(Number));
    expect(service.internalPort).not.toBe(service.port);
    const publicUrl = service.url;
    const internalUrl = `http://127.0.0.1:${service.internalPort}`;
    await waitUntilReady(publicUrl, 10_000);
    expect((await fetch(`${internalUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${internalUrl}/healthz`)).status).toBe(200);

    const refused = await fetch(`${publicUrl}/admin/accounts`, { method: 'POST', headers: ADMIN, body: '{}' });
    expect({ status: refused.status, body: await refused.json() }).toEqual({
      status: 404,
      body: { error: { code: 'not_found', message: expect.any(String) } },
    });
    expect((await fetch(`${publicUrl}/metrics`)).status).toBe(404);

    const created = await fetch(`${internalUrl}/admin/accounts`, { method: 'POST', headers: ADMIN, body: '{}' });
    expect(created.status).toBe(201);
    const apiKey = ((await created.json()) as { data: { apiKey: { key: string } } }).data.apiKey.key;

    const usage = await fetch(`${publicUrl}/kv/usage`, { headers: { Authorization: `Bearer ${apiKey}` } });
    expect(usage.status).toBe(200);
    expect((await fetch(`${internalUrl}/kv/usage`, { headers: { Authorization: `Bearer ${apiKey}` } })).status).toBe(404);

    // One registry: the internal port reports the request the public port answered.
    const scraped = await fetch(`${internalUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/^kv_http_requests_total\{[^}]*route="\/kv\/usage"[^}]*status="200"[^}]*\} 1$/m);
  });

  it('serves /metrics and /admin on PORT when KV_INTERNAL_PORT is unset', async () => {
    const service = await start({});
    expect(service.internalPort).toBeUndefined();
    const url = service.url;
    await waitUntilReady(url, 10_000);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    expect((await fetch(`${url}/admin/accounts`, { method: 'POST', headers: ADMIN, body: '{}' })).status).toBe(201);
    expect(service.output()).not.toContain('"internal":true');
  });

  it('closes idle keep-alive connections on both ports on SIGTERM and exits 0 without waiting for the drain timeout', async () => {
    const service = await start({ KV_INTERNAL_PORT: '0' });
    await waitUntilReady(service.url, 10_000);
    // fetch keeps both connections open (keep-alive) after these answers.
    expect((await fetch(`http://127.0.0.1:${service.internalPort}/metrics`)).status).toBe(200);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect(await stopProcess(service.child, 'SIGTERM')).toBe(0);
    expect(service.output()).toContain('"msg":"stopped"');
    expect(service.output()).not.toContain('drain timeout');
  });

  it('stops with one line naming KV_INTERNAL_PORT when that port is taken', async () => {
    const holder = net.createServer();
    holders.push(holder);
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    const service = await start({ KV_INTERNAL_PORT: String(taken) });
    expect(await service.exited).toBe(1);
    const errors = service
      .output()
      .split('\n')
      .filter((line) => line.startsWith('kv: '));
    expect(errors).toEqual([`kv: port 127.0.0.1:${taken} is already in use (EADDRINUSE); stop what holds it or set KV_INTERNAL_PORT`]);
  });
});
