// The service on its embedded store, as a process: where the data lives, bootstrap, and kill -9.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, stopProcess, waitUntilReady, type ServiceProcess } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

const KEY_LINE = /^\s+(kv_[A-Za-z0-9_-]{32})$/m;

describe('the service on the embedded store', () => {
  let dataDir: string;
  const running: ServiceProcess[] = [];

  beforeEach(() => {
    dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kvtest-')), 'data');
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((service) => stopProcess(service.child)));
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  async function start(): Promise<{ service: ServiceProcess; url: string }> {
    const service = await startService({ KV_DATA_DIR: dataDir });
    running.push(service);
    const url = service.url;
    // Ready means bootstrapped: the default account exists and its key, if generated, is printed.
    await waitUntilReady(url, 10_000);
    return { service, url };
  }

  it('runs with no Redis variable, creating KV_DATA_DIR and saying which store it uses and where', async () => {
    const { service, url } = await start();
    expect(fs.existsSync(path.join(dataDir, 'kv.sqlite'))).toBe(true);
    const line = service
      .output()
      .split('\n')
      .find((l) => l.includes('using the embedded SQLite store'));
    expect(JSON.parse(line!)).toMatchObject({ store: 'sqlite', file: path.join(dataDir, 'kv.sqlite') });
    const ready: unknown = await fetch(`${url}/readyz`).then((res) => res.json());
    expect(ready).toEqual({ data: { status: 'ready', store: 'sqlite' } });
  });

  it('keeps every acknowledged write through kill -9, and prints the bootstrap key only on the first start', async () => {
    const first = await start();
    const key = KEY_LINE.exec(first.service.output())?.[1];
    expect(key).toBeDefined();
    const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };

    // Writes in flight when the process dies: every one that was acknowledged must be there after.
    const acknowledged = new Map<string, unknown>();
    let killed = false;
    const writers = Array.from({ length: 8 }, async (_, writer) => {
      for (let i = 0; !killed; i++) {
        const value = { writer, i, big: '12345678901234567890' };
        const res = await fetch(`${first.url}/kv/items/w${writer}-${i}`, {
          method: 'PUT',
          headers,
          body: JSON.stringify({ value }),
        }).catch(() => undefined);
        if (res?.status === 201) acknowledged.set(`w${writer}-${i}`, value);
        else break;
      }
    });
    // Kill once enough writes are acknowledged (a fixed wait gets none on a busy machine).
    await waitFor(() => expect(acknowledged.size).toBeGreaterThan(20), { what: 'more than 20 acknowledged writes', timeoutMs: 10_000 });
    killed = true;
    expect(await stopProcess(first.service.child, 'SIGKILL')).toBeNull();
    await Promise.all(writers);
    expect(acknowledged.size).toBeGreaterThan(20);

    const second = await start();
    expect(KEY_LINE.test(second.service.output())).toBe(false);
    for (const [name, value] of acknowledged) {
      const res = await fetch(`${second.url}/kv/items/${name}`, { headers });
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
      expect(((await res.json()) as { data: { value: unknown } }).data.value).toEqual(value);
    }
    const usage = (await fetch(`${second.url}/kv/usage`, { headers }).then((res) => res.json())) as { data: { keys: number } };
    expect(usage.data.keys).toBeGreaterThanOrEqual(acknowledged.size);
  });

  it('exits 0 on SIGTERM after closing the database', async () => {
    const { service } = await start();
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(service.output()).toContain('"msg":"stopped"');
  });
});
