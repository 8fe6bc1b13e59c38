// The image: two stages, non-root, exec-form node on the built entry point, a health check that works.

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { execForm, splitFlags, type Instruction, type Stage } from './dockerfile';
import { imageEnv, readDockerfileStages, readText, ROOT, rootPath } from './deployment-files';

const stages = readDockerfileStages();
const final = stages[stages.length - 1];
const of = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);
const last = (stage: Stage, keyword: string): Instruction | undefined => of(stage, keyword).at(-1);
const runs = (stage: Stage): string[] => of(stage, 'RUN').map((i) => i.args);
const packageJson = JSON.parse(readText('package.json')) as {
  main: string;
  scripts: Record<string, string>;
  engines: { node: string };
  workspaces?: string[];
};

/** The stage named by `COPY --from=<name>`: the build stage every runtime COPY comes from. */
function buildStage(): Stage {
  const names = new Set(of(final, 'COPY').map((copy) => splitFlags(copy.args).flags.from));
  expect(names.size).toBe(1);
  const stage = stages.find((s) => s.name === [...names][0]);
  if (!stage) throw new Error(`no stage named ${[...names][0]}`);
  return stage;
}

/** The index of the first RUN of a stage whose command matches. */
function runIndex(stage: Stage, pattern: RegExp): number {
  return stage.instructions.findIndex((i) => i.keyword === 'RUN' && pattern.test(i.args));
}

describe('Dockerfile', () => {
  it('builds in one stage and runs from another, both on node:24-bookworm-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    // The native SQLite driver is compiled in the build stage: same Node ABI and glibc as at run time.
    expect(buildStage().image).toBe('node:24-bookworm-slim');
    expect(final.image).toBe('node:24-bookworm-slim');
  });

  it('runs a Node LTS line that package.json engines allows', () => {
    const major = Number(/^node:(\d+)-/.exec(final.image)?.[1]);
    // Even majors become LTS; engines is ">=<major>" for the oldest one KV still supports.
    expect(major % 2).toBe(0);
    const oldest = Number(/^>=(\d+)$/.exec(packageJson.engines.node)?.[1]);
    expect(oldest).toBe(20);
    expect(major).toBeGreaterThanOrEqual(oldest);
  });

  it('runs as the non-root node user', () => {
    expect(['node', '1000', 'node:node', '1000:1000']).toContain(last(final, 'USER')?.args);
  });

  it('starts node on dist/main.js in exec form, so SIGTERM reaches KV itself', () => {
    expect(of(final, 'CMD')).toHaveLength(1);
    expect(execForm(last(final, 'CMD')!.args)).toEqual(['node', 'dist/main.js']);
    // The base image's ENTRYPOINT (docker-entrypoint.sh) execs the command; a new one must be exec form too.
    for (const entrypoint of of(final, 'ENTRYPOINT')) expect(execForm(entrypoint.args)).toBeDefined();
    expect([...of(final, 'CMD'), ...of(final, 'ENTRYPOINT')].map((i) => i.args).join(' ')).not.toMatch(/\bnpm\b/);
  });

  it('runs the file that npm run build produces', () => {
    expect(packageJson.main).toBe('dist/main.js');
    expect(packageJson.scripts.start).toBe('node dist/main.js');
    const buildConfig = JSON.parse(readText('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(buildConfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(fs.existsSync(rootPath('src', 'main.ts'))).toBe(true);
    expect(packageJson.scripts.build).toMatch(/tsc -p tsconfig\.build\.json/);
  });

  it('copies every file the build reads into the build stage before building', () => {
    const build = buildStage();
    // `npm ci` builds too ("prepare": "npm run build"), unless it runs with --ignore-scripts.
    const builds = [runIndex(build, /\bnpm run build\b/), runIndex(build, /\bnpm ci\b(?![^&|;]*--ignore-scripts)/)];
    const buildAt = Math.min(...builds.filter((i) => i !== -1));
    expect(buildAt).toBeGreaterThan(-1);
    expect(buildAt).toBeLessThan(Infinity);
    const copied = build.instructions
      .slice(0, buildAt)
      .filter((i) => i.keyword === 'COPY' && !splitFlags(i.args).flags.from)
      .flatMap((i) => splitFlags(i.args).rest.split(/\s+/).slice(0, -1));
    const buildConfig = JSON.parse(readText('tsconfig.build.json')) as { extends?: string; include: string[] };
    const scriptFiles = packageJson.scripts.build.split(/\s+/).filter((word) => /\.(js|json)$/.test(word));
    // The workspaces (the client, built by `npm run build -w …`) and the console (scripts/build-console.js).
    const workspaces = (packageJson.workspaces ?? []).flatMap((glob) =>
      glob.endsWith('/*') ? fs.readdirSync(rootPath(glob.slice(0, -2))).map((name) => `${glob.slice(0, -2)}/${name}`) : [glob],
    );
    const consoleSource = packageJson.scripts.build.includes('build-console') ? ['console'] : [];
    const needed = ['package.json', 'package-lock.json', 'tsconfig.build.json', ...scriptFiles, ...buildConfig.include, ...workspaces, ...consoleSource];
    if (buildConfig.extends) needed.push(path.normalize(buildConfig.extends));
    for (const file of needed) {
      const isCopied = copied.some((source) => {
        const normal = path.normalize(source).replace(/\/$/, '');
        return normal === path.normalize(file) || path.normalize(file).startsWith(`${normal}/`);
      });
      expect({ file, isCopied }).toEqual({ file, isCopied: true });
    }
  });

  it("copies each workspace's package.json before npm ci, which installs the lock file's workspaces", () => {
    const build = buildStage();
    const ciAt = runIndex(build, /\bnpm ci\b/);
    const copiedBefore = build.instructions
      .slice(0, ciAt)
      .filter((i) => i.keyword === 'COPY' && !splitFlags(i.args).flags.from)
      .flatMap((i) => splitFlags(i.args).rest.split(/\s+/).slice(0, -1).map((source) => path.normalize(source)));
    const workspaces = (packageJson.workspaces ?? []).flatMap((glob) =>
      glob.endsWith('/*') ? fs.readdirSync(rootPath(glob.slice(0, -2))).map((name) => `${glob.slice(0, -2)}/${name}`) : [glob],
    );
    expect(workspaces.length).toBeGreaterThan(0);
    for (const workspace of workspaces) expect(copiedBefore).toContain(path.join(workspace, 'package.json'));
  });

  it('builds every production dependency that has an install script', () => {
    const build = buildStage();
    const ci = runs(build).find((command) => /\bnpm ci\b/.test(command));
    expect(ci).toBeDefined();
    if (!/--ignore-scripts/.test(ci!)) return;
    // npm ci --ignore-scripts skipped them: each must be rebuilt by name.
    const lock = JSON.parse(readText('package-lock.json')) as {
      packages: Record<string, { hasInstallScript?: boolean; dev?: boolean; devOptional?: boolean }>;
    };
    // package.json's allowScripts names the install scripts refused on purpose (e.g. telemetry).
    const refused = Object.entries((JSON.parse(readText('package.json')) as { allowScripts?: Record<string, boolean> }).allowScripts ?? {})
      .filter(([, allowed]) => allowed === false)
      .map(([name]) => name);
    const native = Object.entries(lock.packages)
      .filter(([name, meta]) => name !== '' && meta.hasInstallScript && !meta.dev && !meta.devOptional)
      .map(([name]) => name.replace(/^.*node_modules\//, ''))
      .filter((name) => !refused.includes(name));
    expect(native).toContain('better-sqlite3');
    const rebuilt = runs(build).flatMap((command) => [...command.matchAll(/npm rebuild ([^&|;]+)/g)].flatMap((m) => m[1].trim().split(/\s+/)));
    expect(rebuilt.sort()).toEqual(expect.arrayContaining(native.sort()));
  });

  it('installs python3, make and g++ in the build stage only', () => {
    const install = runs(buildStage()).find((command) => /apt-get install/.test(command));
    expect(install).toBeDefined();
    for (const tool of ['python3', 'make', 'g++']) expect(install!.split(/\s+/)).toContain(tool);
    expect(runs(final).join('\n')).not.toMatch(/apt-get install|npm (ci|install)/);
  });

  it('removes dev dependencies after building, before node_modules reaches the runtime stage', () => {
    const build = buildStage();
    const pruneAt = runIndex(build, /npm (prune|ci) [^&|;]*--omit=dev/);
    expect(pruneAt).toBeGreaterThan(-1);
    expect(pruneAt).toBeGreaterThanOrEqual(runIndex(build, /\bnpm run build\b/));
  });

  it('copies into the runtime stage only dist, the production node_modules and package.json', () => {
    expect(of(final, 'ADD')).toEqual([]);
    const workdir = last(buildStage(), 'WORKDIR')!.args;
    const sources = of(final, 'COPY').flatMap((copy) => {
      const { flags, rest } = splitFlags(copy.args);
      expect(flags.from).toBe(buildStage().name);
      return rest.split(/\s+/).slice(0, -1).map((source) => path.relative(workdir, path.resolve(workdir, source)));
    });
    expect(sources.sort()).toEqual(['dist', 'node_modules', 'package.json']);
  });

  it('keeps the embedded store in a /data volume owned by the node user', () => {
    expect(imageEnv().KV_DATA_DIR).toBe('/data');
    expect(of(final, 'VOLUME').map((i) => i.args)).toEqual(['/data']);
    expect(runs(final).join('\n')).toMatch(/chown node(:node)? \/data/);
    expect(imageEnv().NODE_ENV).toBe('production');
  });

  it('exposes the port KV listens on with the image environment', () => {
    const port = loadConfig(imageEnv()).port;
    expect(of(final, 'EXPOSE').map((i) => i.args)).toEqual([String(port)]);
    expect(port).toBe(8080);
  });

  it('checks health with node on /healthz, since the slim image has no curl', () => {
    const { rest } = splitFlags(last(final, 'HEALTHCHECK')!.args);
    expect(rest.startsWith('CMD ')).toBe(true);
    const command = execForm(rest.slice('CMD '.length));
    expect(command?.slice(0, 2)).toEqual(['node', '-e']);
    expect(command?.[2]).toContain('/healthz');
  });

  describe('the health check command', () => {
    const command = (): string[] => execForm(splitFlags(last(final, 'HEALTHCHECK')!.args).rest.slice('CMD '.length))!;

    /** Runs it as Docker would, with PORT from the image environment overridden to `port`. */
    const exitCode = (port: number) =>
      new Promise<number>((resolve) => {
        const [, ...args] = command();
        execFile(process.execPath, args, { env: { PATH: process.env.PATH, PORT: String(port) }, timeout: 10_000 }, (error) =>
          resolve(error ? ((error as { code?: number }).code ?? -1) : 0),
        );
      });

    async function withServer(status: number, run: (port: number) => Promise<void>): Promise<void> {
      const server = http.createServer((req, res) => {
        res.statusCode = req.url === '/healthz' ? status : 404;
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        await run((server.address() as AddressInfo).port);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }

    it('exits 0 when /healthz answers 200 on PORT', async () => {
      await withServer(200, async (port) => expect(await exitCode(port)).toBe(0));
    });

    it('exits 1 when /healthz answers 503', async () => {
      await withServer(503, async (port) => expect(await exitCode(port)).toBe(1));
    });

    it('exits 1 when nothing listens on PORT', async () => {
      let freePort = 0;
      await withServer(200, async (port) => {
        freePort = port;
      });
      expect(await exitCode(freePort)).toBe(1);
    });
  });
});

/** The files under `folder` that git tracks: what a clean clone, the build context, holds. */
function trackedFiles(folder: string): string[] {
  return execFileSync('git', ['ls-files', '-z', '--', folder], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
}

describe('.dockerignore', () => {
  const patterns = readText('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  /** Docker's rule: the last matching pattern decides; a pattern also excludes what is under it. */
  function excluded(file: string): boolean {
    let result = false;
    for (const raw of patterns) {
      const negated = raw.startsWith('!');
      const pattern = path.normalize(negated ? raw.slice(1) : raw).replace(/\/$/, '');
      const source = pattern
        .split('/')
        .map((part) => (part === '**' ? '.*' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/');
      if (new RegExp(`^${source}(/.*)?$`).test(file)) result = !negated;
    }
    return result;
  }

  it('keeps node_modules, dist, data, .git and .env out of the build context', () => {
    for (const file of ['node_modules/express/index.js', 'dist/main.js', 'data/kv.sqlite', '.git/HEAD', '.env', '.env.production', 'packages/client/dist/esm/index.js', 'packages/client/node_modules/x/index.js']) {
      expect({ file, excluded: excluded(file) }).toEqual({ file, excluded: true });
    }
  });

  it('lets in every file the Dockerfile copies from the context', () => {
    const sources = stages
      .flatMap((stage) => of(stage, 'COPY'))
      .filter((copy) => !splitFlags(copy.args).flags.from)
      .flatMap((copy) => splitFlags(copy.args).rest.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      const absolute = path.join(ROOT, source);
      expect(fs.existsSync(absolute)).toBe(true);
      // A folder: the files of it a clean clone has (its build output and node_modules are not sources).
      const files = fs.statSync(absolute).isDirectory() ? trackedFiles(source) : [source];
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) expect({ file, excluded: excluded(path.normalize(file)) }).toEqual({ file, excluded: false });
    }
  });
});
