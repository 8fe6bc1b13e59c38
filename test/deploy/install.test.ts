// Installing KV: `npm install` on a clone builds dist/ ("prepare"), and a production install from
// the lock file (`npm ci --omit=dev`), which has no TypeScript, succeeds without building. (A real
// production install compiles the SQLite driver for minutes; it is not run here.)

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readText, rootPath } from './deployment-files';

const packageJson = JSON.parse(readText('package.json')) as {
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};

interface Run {
  code: number;
  output: string;
}

/**
 * Runs a command with only PATH and HOME from this environment, and without the node_modules/.bin
 * folders that npm and npx put on PATH for jest: the project's own tsc must not be found there.
 */
function run(command: string, args: string[], cwd: string, timeoutMs = 60_000): Promise<Run> {
  const PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((entry) => !entry.split(path.sep).includes('node_modules'))
    .join(path.delimiter);
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { PATH, HOME: process.env.HOME }, timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** A temp folder holding `files` (paths relative to the project), removed after `body`. */
async function inCopy(files: string[], body: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-install-'));
  try {
    for (const file of files) fs.cpSync(rootPath(file), path.join(dir, file), { recursive: true });
    await body(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The commands the dev dependencies install under node_modules/.bin (tsc, jest, …). */
function devBinaries(): string[] {
  return Object.keys(packageJson.devDependencies).flatMap((name) => {
    const manifest = JSON.parse(fs.readFileSync(rootPath('node_modules', name, 'package.json'), 'utf8')) as {
      bin?: string | Record<string, string>;
    };
    if (!manifest.bin) return [];
    return typeof manifest.bin === 'string' ? [name.replace(/^@[^/]+\//, '')] : Object.keys(manifest.bin);
  });
}

describe('package.json install scripts', () => {
  // npm runs these for the root package on `npm install` and `npm ci`, --omit=dev included.
  const lifecycle = ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare'];

  it('runs scripts/prepare.js as "prepare", and no dev dependency command in any install script', () => {
    expect(packageJson.scripts.prepare).toBe('node scripts/prepare.js');
    const binaries = devBinaries();
    expect(binaries).toContain('tsc');
    for (const name of lifecycle.filter((n) => packageJson.scripts[n] !== undefined)) {
      const words = packageJson.scripts[name].split(/[\s;&|()]+/);
      expect({ name, devCommands: words.filter((word) => binaries.includes(word)) }).toEqual({ name, devCommands: [] });
    }
  });

  it('loads nothing but Node built-ins in scripts/prepare.js', () => {
    const required = [...readText('scripts', 'prepare.js').matchAll(/require\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
    expect(required.length).toBeGreaterThan(0);
    for (const name of required) expect(name).toMatch(/^node:/);
  });
});

describe('scripts/prepare.js', () => {
  /** A project with the real prepare script, a build that writes `built`, and `node_modules`. */
  async function project(build: string, withCompiler: boolean, body: (dir: string) => Promise<void>): Promise<void> {
    await inCopy(['scripts/prepare.js'], async (dir) => {
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'kv-prepare-check', private: true, scripts: { build } }));
      // The project's own installed tree, TypeScript included; or one without any package.
      if (withCompiler) fs.symlinkSync(rootPath('node_modules'), path.join(dir, 'node_modules'), 'dir');
      else fs.mkdirSync(path.join(dir, 'node_modules'));
      await body(dir);
    });
  }
  const writesBuilt = `node -e "require('node:fs').writeFileSync('built', 'yes')"`;

  it('runs npm run build when TypeScript is installed', async () => {
    await project(writesBuilt, true, async (dir) => {
      const result = await run(process.execPath, ['scripts/prepare.js'], dir);
      expect(result).toMatchObject({ code: 0 });
      expect(fs.readFileSync(path.join(dir, 'built'), 'utf8')).toBe('yes');
    });
  });

  it('fails when the build fails, so a broken dev install does not pass for a good one', async () => {
    await project('node -e "process.exit(3)"', true, async (dir) => {
      const result = await run(process.execPath, ['scripts/prepare.js'], dir);
      expect(result.code).not.toBe(0);
    });
  });

  it('skips the build and exits 0 when TypeScript is not installed', async () => {
    await project(writesBuilt, false, async (dir) => {
      const result = await run(process.execPath, ['scripts/prepare.js'], dir);
      expect(result.code).toBe(0);
      expect(result.output).toMatch(/TypeScript is not installed.*not building/);
      expect(fs.existsSync(path.join(dir, 'built'))).toBe(false);
    });
  });

  it('leaves the compiler out of a production install from the lock file', () => {
    // npm ci --omit=dev installs exactly the lock file's packages not marked dev.
    const lock = JSON.parse(readText('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };
    expect(lock.packages['node_modules/typescript']).toMatchObject({ dev: true });
  });

  // The real package.json and npm, in a tree without the compiler (what --omit=dev leaves).
  it('lets npm run prepare exit 0 without the compiler, where the build exits 127', async () => {
    await inCopy(['package.json', 'scripts'], async (dir) => {
      fs.mkdirSync(path.join(dir, 'node_modules'));

      const prepare = await run('npm', ['run', 'prepare'], dir);
      expect(prepare).toMatchObject({ code: 0 });
      expect(prepare.output).toMatch(/TypeScript is not installed/);
      expect(fs.existsSync(path.join(dir, 'dist'))).toBe(false);
      // What "prepare" ran before, and why `npm ci --omit=dev` failed: tsc is not there.
      expect((await run('npm', ['run', 'build'], dir)).code).toBe(127);
    });
  });
});
