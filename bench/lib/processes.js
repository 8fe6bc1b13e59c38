// Starting and stopping what the benchmark loads: node servers, etcd and webdis, each on a free
// loopback port, each stopped by its PID.

'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const freePort = () =>
  new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** The directory on PATH holding `name`, as a full path, or null. */
function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Resolves once `probe()` is true; rejects after ~20 s or when the process exits first. */
async function waitUntil(child, what, probe) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it came up`);
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not come up`);
}

const answers = (url, init) => () => fetch(url, init).then((res) => res.status < 500);

/**
 * A node server: `def.script` with PORT set, `def.execArgv` before it (e.g. the probe), an IPC
 * channel when `def.ipc`. Ready once `def.readyPath` (default "/") answers below 500.
 */
async function startNode(def) {
  const port = await freePort();
  const env = { PATH: process.env.PATH, PORT: String(port), ...def.env };
  const stdio = ['ignore', 'ignore', 'inherit', ...(def.ipc ? ['ipc'] : [])];
  const child = spawn(process.execPath, [...(def.execArgv || []), def.script], { env, stdio });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(child, def.name, answers(`${url}${def.readyPath || '/'}`));
  return { ...def, child, url };
}

/** etcd on loopback with a data dir under `tmpDir`; its v3 JSON gateway is on the client port. */
async function startEtcd(binary, tmpDir) {
  const [client, peer] = [await freePort(), await freePort()];
  const dataDir = fs.mkdtempSync(path.join(tmpDir, 'etcd-'));
  const child = spawn(
    binary,
    [
      '--name', 'bench',
      '--data-dir', dataDir,
      '--listen-client-urls', `http://127.0.0.1:${client}`,
      '--advertise-client-urls', `http://127.0.0.1:${client}`,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `bench=http://127.0.0.1:${peer}`,
      '--log-level', 'error',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const url = `http://127.0.0.1:${client}`;
  await waitUntil(child, 'etcd', () => fetch(`${url}/health`).then((res) => res.ok));
  return { name: 'etcd', kind: 'etcd', child, url };
}

/** webdis against the bench's Redis database, with its own config file in `tmpDir`. */
async function startWebdis(binary, tmpDir, redisUrl) {
  const port = await freePort();
  const redis = new URL(redisUrl);
  const config = path.join(fs.mkdtempSync(path.join(tmpDir, 'webdis-')), 'webdis.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      redis_host: redis.hostname,
      redis_port: Number(redis.port || 6379),
      http_host: '127.0.0.1',
      http_port: port,
      // One per core, as its shipped config has for a 2-core default.
      threads: 2,
      pool_size: 10,
      daemonize: false,
      database: Number(redis.pathname.slice(1) || 0),
      verbosity: 0,
      logfile: '/dev/null',
    }),
  );
  // Its stderr is left out: under 1 MiB load it warns about every connection wrk closes at the end.
  const child = spawn(binary, [config], { stdio: ['ignore', 'ignore', 'ignore'] });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(child, 'webdis', answers(`${url}/PING`));
  return { name: 'webdis', kind: 'webdis', child, url };
}

/** SIGTERM to each by PID, SIGKILL to any still running half a second later. */
async function stopAll(started) {
  const running = started.filter((t) => t.child.exitCode === null && t.child.signalCode === null);
  for (const target of running) target.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const target of running) if (target.child.exitCode === null && target.child.signalCode === null) target.child.kill('SIGKILL');
}

module.exports = { onPath, startNode, startEtcd, startWebdis, stopAll };
