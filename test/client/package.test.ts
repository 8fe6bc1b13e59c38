// The built package as users get it: `require` and `import` of @kv/client in Node talk to a real service, the
// type declarations are there, and neither the library nor its browser bundle leans on Node.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describeStore } from '../helpers/app';
import { startClientServer, type ClientServer } from './server';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
const PACKAGE = path.join(ROOT, 'packages', 'client');
const DIST = path.join(PACKAGE, 'dist');

/** Runs `code` in a fresh Node process from the repository's root, where @kv/client resolves through the workspace link. */
async function node(args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await run(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 15_000 });
  return stdout.trim();
}

describeStore('the built @kv/client package', () => {
  let s: ClientServer;
  let apiKey: string;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(DIST, 'esm', 'index.js'))) throw new Error('packages/client is not built: run `npm run build` first');
    s = await startClientServer();
    apiKey = (await s.account()).apiKey;
  });
  afterAll(() => s?.close());

  it('works through require (CommonJS)', async () => {
    const out = await node(
      [
        '-e',
        `const { KvClient, KvNotFoundError } = require('@kv/client');
         const kv = new KvClient({ url: process.env.URL, apiKey: process.env.KEY });
         (async () => {
           await kv.set('cjs', { n: 12345678901234567890n });
           const item = await kv.get('cjs', { bigint: true });
           const error = await kv.patch('absent', {}).catch((e) => e);
           console.log(JSON.stringify([String(item.value.n), error instanceof KvNotFoundError]));
         })();`,
      ],
      { URL: s.url, KEY: apiKey },
    );
    expect(JSON.parse(out)).toStrictEqual(['12345678901234567890', true]);
  });

  it('works through import (ESM)', async () => {
    const out = await node(
      [
        '--input-type=module',
        '-e',
        `import { KvClient } from '@kv/client';
         const kv = new KvClient({ url: process.env.URL, apiKey: process.env.KEY });
         await kv.set('esm', 'hello');
         const seen = [];
         for await (const item of kv.listAll({ values: true })) seen.push([item.key, item.value]);
         console.log(JSON.stringify(seen.filter(([key]) => key === 'esm')));`,
      ],
      { URL: s.url, KEY: apiKey },
    );
    expect(JSON.parse(out)).toStrictEqual([['esm', 'hello']]);
  });

  it('ships type declarations for every export', () => {
    const types = fs.readFileSync(path.join(DIST, 'types', 'index.d.ts'), 'utf8');
    for (const name of ['KvClient', 'KvAdmin', 'KvError', 'KvPreconditionFailedError', 'KvNetworkError', 'rawJson']) {
      expect(types).toContain(name);
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: '@kv/client', bin: { kv: 'bin/kv.js' } });
    expect(manifest).not.toHaveProperty('dependencies');
  });

  it('uses nothing of Node in the library or its browser bundle', () => {
    const sources = fs
      .readdirSync(path.join(PACKAGE, 'src'))
      .filter((name) => name.endsWith('.ts'))
      .map((name) => fs.readFileSync(path.join(PACKAGE, 'src', name), 'utf8'));
    for (const source of sources) {
      expect(source).not.toMatch(/from ['"]node:|require\(|\bprocess\.|\bBuffer\b/);
    }
    const bundle = fs.readFileSync(path.join(DIST, 'browser', 'kv-client.min.js'), 'utf8');
    expect(bundle).not.toMatch(/node:|require\(|process\.env/);
  });
});
