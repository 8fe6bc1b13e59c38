// docker-compose.yml and the nginx in front of it: three api replicas on one Redis, one published port.

import { loadConfig } from '../../src/config';
import {
  allStrings,
  durationSeconds,
  interpolate,
  readCompose,
  readComposeRaw,
  referencedVariables,
  type ComposeFile,
  type ComposeService,
} from './compose';
import {
  composeApiEnv,
  composeBytes,
  redisBytes,
  redisOption,
  composeWithExampleEnv,
  drainTimeoutSeconds,
  exampleDotEnv,
  keepAliveTimeoutSeconds,
  readDockerfileStages,
  readText,
  rootPath,
} from './deployment-files';
import { execForm, splitFlags } from './dockerfile';
import { findAll, only, parseNginxConf, sizeBytes, timeSeconds, type Directive } from './nginx-conf';

const compose: ComposeFile = composeWithExampleEnv();
const { redis, api, lb } = compose.services;

function dependsOn(service: ComposeService, name: string): string | undefined {
  const dependencies = service.depends_on;
  if (Array.isArray(dependencies)) return dependencies.includes(name) ? 'service_started' : undefined;
  return dependencies?.[name] ? (dependencies[name].condition ?? 'service_started') : undefined;
}

function command(service: ComposeService): string[] {
  if (!Array.isArray(service.command)) throw new Error('command must be a list, so no shell splits it');
  return service.command;
}

/** `published:target` of each port, long or short syntax. */
function ports(service: ComposeService): { published: string; target: string }[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return { published: String(port.published), target: String(port.target) };
    const parts = port.split(':');
    return { published: parts.at(-2) ?? '', target: parts.at(-1) ?? '' };
  });
}

function healthCommand(service: ComposeService): string[] {
  const test = service.healthcheck?.test;
  if (!Array.isArray(test)) throw new Error('healthcheck test must be a list');
  return test;
}

describe('docker-compose.yml', () => {
  it('runs redis, api and lb', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'lb', 'redis']);
  });

  it('takes every variable it interpolates from .env.example, and .env.example holds no other', () => {
    const used = new Set(allStrings(readComposeRaw(rootPath('docker-compose.yml'))).flatMap(referencedVariables));
    expect([...used].sort()).toEqual(Object.keys(exampleDotEnv()).sort());
    expect(used).toEqual(new Set(['KV_ADMIN_TOKEN', 'KV_BOOTSTRAP_API_KEY']));
  });

  it('refuses to start while KV_ADMIN_TOKEN or KV_BOOTSTRAP_API_KEY is unset or empty', () => {
    const example = exampleDotEnv();
    for (const name of ['KV_ADMIN_TOKEN', 'KV_BOOTSTRAP_API_KEY']) {
      expect(() => readCompose(rootPath('docker-compose.yml'), { ...example, [name]: undefined })).toThrow(name);
      expect(() => readCompose(rootPath('docker-compose.yml'), { ...example, [name]: '' })).toThrow(name);
    }
  });

  it('ships only placeholder values in .env.example', () => {
    for (const value of Object.values(exampleDotEnv())) expect(value).toMatch(/example/i);
    expect(readText('.env.example')).toMatch(/cp \.env\.example \.env/);
  });

  it('runs three api replicas, built from the Dockerfile, once redis is healthy', () => {
    expect(api.build).toBe('.');
    expect(api.deploy?.replicas).toBe(3);
    expect(dependsOn(api, 'redis')).toBe('service_healthy');
    expect(redis.healthcheck?.test).toBeDefined();
  });

  it('points the api at the redis service on the port redis listens on', () => {
    const url = new URL(composeApiEnv().REDIS_URL);
    expect(url.hostname).toBe('redis');
    // redis-server listens on 6379 unless its command says --port.
    const redisPort = command(redis).includes('--port') ? command(redis)[command(redis).indexOf('--port') + 1] : '6379';
    expect(url.port || '6379').toBe(redisPort);
    expect(loadConfig(composeApiEnv()).store.kind).toBe('redis');
  });

  it('keeps the Redis append-only file in a named volume declared under volumes', () => {
    const args = command(redis);
    expect(args[args.indexOf('--appendonly') + 1]).toBe('yes');
    expect(args[args.indexOf('--appendfsync') + 1]).toBe('everysec');
    // redis:7-alpine writes to its working directory /data unless --dir says otherwise.
    const dir = args.includes('--dir') ? args[args.indexOf('--dir') + 1] : '/data';
    const mounts = (redis.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v));
    const dataMount = mounts.find((m) => m.target === dir);
    expect(dataMount?.source).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(dataMount!.source);
  });

  it('keeps Redis data below its container memory limit with room to spare, and refuses writes when full', () => {
    const limit = composeBytes(redis.deploy?.resources?.limits?.memory ?? '0');
    expect(limit).toBeGreaterThan(0);
    const maxmemory = redisBytes(redisOption(command(redis), '--maxmemory') ?? '0');
    // Room for fragmentation, client buffers and the forked append-only-file rewrite.
    expect(maxmemory).toBeGreaterThanOrEqual(0.5 * limit);
    expect(maxmemory).toBeLessThanOrEqual(0.75 * limit);
    expect(redisOption(command(redis), '--maxmemory-policy')).toBe('noeviction');
  });

  it('checks api health on /healthz with the command the image uses', () => {
    const image = readDockerfileStages().at(-1)!.instructions.find((i) => i.keyword === 'HEALTHCHECK')!;
    const imageCommand = execForm(splitFlags(image.args).rest.slice('CMD '.length));
    expect(healthCommand(api)).toEqual(['CMD', ...imageCommand!]);
  });

  it('gives an api container longer to stop than KV drains', () => {
    expect(durationSeconds(api.stop_grace_period ?? '10s')).toBeGreaterThan(drainTimeoutSeconds());
  });

  it('publishes only the load balancer, on 8080', () => {
    expect(redis.ports).toBeUndefined();
    expect(api.ports).toBeUndefined();
    expect(ports(lb)).toEqual([{ published: '8080', target: '8080' }]);
  });

  it('serves /metrics and /admin on an internal api port that no service publishes', () => {
    const { port, internalPort } = loadConfig(composeApiEnv());
    // A fixed port, apart from PORT: a scraper on the network must know where to find it.
    expect(internalPort).toEqual(expect.any(Number));
    expect(internalPort).not.toBe(0);
    expect(internalPort).not.toBe(port);
    for (const service of Object.values(compose.services)) {
      expect(ports(service).map((p) => p.target)).not.toContain(String(internalPort));
    }
  });

  it('starts lb once the api is healthy, with deploy/nginx.conf mounted read-only', () => {
    expect(dependsOn(lb, 'api')).toBe('service_healthy');
    expect(lb.volumes).toEqual(['./deploy/nginx.conf:/etc/nginx/nginx.conf:ro']);
  });

  it('holds no $ that compose would interpolate, besides the .env variables', () => {
    // A $ in any compose string is interpolation: a script in a health check would lose it.
    for (const text of allStrings(readComposeRaw(rootPath('docker-compose.yml')))) {
      if (referencedVariables(text).length === 0) expect(interpolate(text, {})).toBe(text);
    }
  });
});

describe('deploy/nginx.conf', () => {
  const conf = parseNginxConf(readText('deploy', 'nginx.conf'));
  const httpBlock = only(conf, 'http').block!;
  const server = only(httpBlock, 'server').block!;
  const locations = findAll(server, 'location');
  const byPath = (path: string) => locations.find((l) => l.args.join(' ') === path)?.block ?? [];
  const reads = byPath('/');
  const writes = byPath('@writes');
  const proxyPass = only(reads, 'proxy_pass').args[0];
  const upstreamName = /^http:\/\/([^/:]+)$/.exec(proxyPass)?.[1];
  const upstream = findAll(httpBlock, 'upstream').find((u) => u.args[0] === upstreamName)?.block ?? [];
  const header = (name: string) =>
    findAll(server, 'proxy_set_header').find((d) => d.args[0].toLowerCase() === name.toLowerCase())?.args[1];
  const value = (block: Directive[], name: string) => only(block, name).args;
  /** What a location gets: its own directive, else the server's (nginx's inheritance). */
  const effective = (location: Directive[], name: string) =>
    location.some((d) => d.name === name) ? value(location, name) : value(server, name);

  it('listens on the port lb publishes', () => {
    expect(value(server, 'listen')).toEqual([ports(lb)[0].target]);
  });

  it('proxies to the api service on the port KV listens on', () => {
    expect(upstreamName).toBeDefined();
    const servers = upstream.filter((d) => d.name === 'server');
    expect(servers.map((s) => s.args[0])).toEqual([`api:${loadConfig(composeApiEnv()).port}`]);
  });

  it('proxies only to the public port of KV, never to its internal port', () => {
    const { internalPort } = loadConfig(composeApiEnv());
    const proxied = findAll(httpBlock, 'server')
      .filter((d) => d.block === undefined)
      .map((d) => d.args[0]);
    expect(proxied.length).toBeGreaterThan(0);
    for (const address of proxied) expect(address.split(':').at(-1)).not.toBe(String(internalPort));
    for (const target of findAll(conf, 'proxy_pass').map((d) => d.args[0])) expect(target).toBe(proxyPass);
  });

  it('follows the api replicas through Docker DNS, on an nginx that supports resolve', () => {
    const servers = upstream.filter((d) => d.name === 'server');
    if (!servers.some((s) => s.args.includes('resolve'))) return;
    expect(value(httpBlock, 'resolver')[0]).toBe('127.0.0.11');
    expect(only(upstream, 'zone').args).toHaveLength(2);
    // `resolve` in an upstream is in open-source nginx from 1.27.3.
    const version = /^nginx:(\d+)\.(\d+)(?:\.(\d+))?-alpine$/.exec(lb.image ?? '');
    expect(version).not.toBeNull();
    const [major, minor, patch] = [Number(version![1]), Number(version![2]), Number(version![3] ?? 0)];
    expect(major * 1e6 + minor * 1e3 + patch).toBeGreaterThanOrEqual(1_027_003);
  });

  it('reports a 503 from KV to the client instead of marking replicas down', () => {
    for (const s of upstream.filter((d) => d.name === 'server')) expect(s.args).toContain('max_fails=0');
  });

  it('keeps upstream connections alive over HTTP/1.1, and closes idle ones before Node does', () => {
    expect(Number(value(upstream, 'keepalive')[0])).toBeGreaterThan(0);
    for (const location of [reads, writes]) expect(effective(location, 'proxy_http_version')).toEqual(['1.1']);
    expect(header('Connection')).toBe('');
    expect(timeSeconds(value(upstream, 'keepalive_timeout')[0])).toBeLessThan(keepAliveTimeoutSeconds());
  });

  it('sends GET and HEAD to the read location and every other method to @writes, both to the same replicas', () => {
    expect(locations.map((l) => l.args.join(' ')).sort()).toEqual(['/', '= /kv/export', '= /kv/import', '= /kv/watch', '@writes']);
    const redirect = value(reads, 'error_page');
    expect(redirect.slice(-2)).toEqual(['=', '@writes']);
    const condition = only(reads, 'if');
    expect(condition.args).toEqual(['($request_method', '!~', '^(GET|HEAD)$)']);
    expect(value(condition.block!, 'return')).toEqual([redirect[0]]);
    expect(value(writes, 'proxy_pass')).toEqual([proxyPass]);
  });

  it('gives every location the proxy headers of the server block', () => {
    // A proxy_set_header in a location would drop every one it inherits.
    for (const location of [reads, writes, byPath('= /kv/export'), byPath('= /kv/import'), byPath('= /kv/watch')]) {
      expect(value(location, 'proxy_pass')).toEqual([proxyPass]);
      expect(findAll(location, 'proxy_set_header')).toEqual([]);
    }
  });

  it('streams an export unbuffered, with a read timeout between chunks and the retries of a read', () => {
    const exportLocation = byPath('= /kv/export');
    expect(value(exportLocation, 'proxy_buffering')).toEqual(['off']);
    expect(timeSeconds(value(exportLocation, 'proxy_read_timeout')[0])).toBeGreaterThanOrEqual(30);
    expect(effective(exportLocation, 'proxy_next_upstream')).toEqual(['error', 'timeout']);
  });

  it('passes watch events on unbuffered, with a read timeout above the heartbeat', () => {
    const watchLocation = byPath('= /kv/watch');
    expect(value(watchLocation, 'proxy_buffering')).toEqual(['off']);
    const heartbeat = loadConfig(composeApiEnv()).watchHeartbeatSeconds;
    expect(timeSeconds(value(watchLocation, 'proxy_read_timeout')[0])).toBeGreaterThanOrEqual(2 * heartbeat);
    expect(effective(watchLocation, 'proxy_next_upstream')).toEqual(['error', 'timeout']);
  });

  it('streams an import body of any size to one replica, never re-sent, with minutes to answer', () => {
    const importLocation = byPath('= /kv/import');
    expect(value(importLocation, 'client_max_body_size')).toEqual(['0']);
    expect(value(importLocation, 'proxy_request_buffering')).toEqual(['off']);
    expect(value(importLocation, 'proxy_next_upstream')).toEqual(['off']);
    expect(timeSeconds(value(importLocation, 'proxy_read_timeout')[0])).toBeGreaterThanOrEqual(300);
  });

  it('moves a read on to another replica on a connection error or a connect timeout', () => {
    expect(effective(reads, 'proxy_next_upstream')).toEqual(['error', 'timeout']);
  });

  it('moves a write on to another replica only on a connect timeout, when nothing was sent', () => {
    // "error" would re-send a PUT or DELETE that a replica read before it crashed.
    expect(effective(writes, 'proxy_next_upstream')).toEqual(['timeout']);
  });

  it('tries another replica a bounded number of times, never after a send or read timeout', () => {
    for (const location of [reads, writes]) {
      const tries = Number(effective(location, 'proxy_next_upstream_tries')[0]);
      expect(tries).toBeGreaterThanOrEqual(2);
      expect(tries).toBeLessThanOrEqual(3);
      // Past proxy_next_upstream_timeout nothing moves on: a send or read timeout, which can come
      // after a replica got the request, ends it; a connect timeout, which cannot, comes before.
      const budget = timeSeconds(effective(location, 'proxy_next_upstream_timeout')[0]);
      expect(budget).toBeGreaterThan(timeSeconds(effective(location, 'proxy_connect_timeout')[0]));
      expect(budget).toBeLessThan(timeSeconds(effective(location, 'proxy_send_timeout')[0]));
      expect(budget).toBeLessThan(timeSeconds(effective(location, 'proxy_read_timeout')[0]));
      expect(effective(location, 'proxy_next_upstream')).not.toContain('non_idempotent');
    }
  });

  it('passes the client X-Request-Id on, and makes one only when the client sent none', () => {
    const variable = header('X-Request-Id');
    const map = findAll(httpBlock, 'map').find((m) => m.args[1] === variable);
    expect(map?.args[0]).toBe('$http_x_request_id');
    const entries = Object.fromEntries(map!.block!.map((d) => [d.name, d.args[0]]));
    expect(entries).toEqual({ default: '$http_x_request_id', '': '$request_id' });
  });

  it('appends the client address to X-Forwarded-For, the one hop KV_TRUST_PROXY trusts', () => {
    expect(header('X-Forwarded-For')).toBe('$proxy_add_x_forwarded_for');
    expect(loadConfig(composeApiEnv()).trustProxy).toBe(1);
  });

  it('accepts request bodies as large as KV does', () => {
    const { maxValueBytes } = loadConfig(composeApiEnv());
    expect(sizeBytes(value(server, 'client_max_body_size')[0])).toBeGreaterThanOrEqual(2 * maxValueBytes + 64 * 1024);
    // A commit: its values may add up to 2 MiB as compact JSON, sent pretty-printed.
    expect(sizeBytes(value(server, 'client_max_body_size')[0])).toBeGreaterThanOrEqual(4 * 1024 * 1024 + 256 * 1024);
  });

  it('sets connect, send and read timeouts', () => {
    for (const location of [reads, writes]) {
      for (const name of ['proxy_connect_timeout', 'proxy_send_timeout', 'proxy_read_timeout']) {
        expect(timeSeconds(effective(location, name)[0])).toBeGreaterThan(0);
      }
    }
  });
});
