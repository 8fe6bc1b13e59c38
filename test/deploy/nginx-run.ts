// deploy/nginx.conf run on loopback: the shipped file with only what ties it to Docker replaced
// (the upstream servers, the listen address, Docker's resolver, file paths), so the tests exercise
// the load balancer's own rules — locations, retries, timeouts — as Compose runs them.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nginxBinary } from '../helpers/replica-topology';
import { canConnect, freePort, stopProcess } from '../helpers/processes';
import { waitFor } from '../helpers/wait';
import { readText } from './deployment-files';
import { only, parseNginxConf, serializeNginxConf, type Directive } from './nginx-conf';

export interface UpstreamServer {
  port: number;
  /** nginx's `backup`: used only when the others fail, so a test knows which server is tried first. */
  backup?: boolean;
}

export interface LocalNginx {
  url: string;
  /** nginx's error log so far. */
  errorLog(): string;
  stop(): Promise<void>;
}

/**
 * deploy/nginx.conf for a loopback run: the upstream's `server api:8080 resolve …` becomes one
 * `server 127.0.0.1:<port> …` per entry with the same parameters (less `resolve`), `listen 8080`
 * becomes `listen 127.0.0.1:<port>`, Docker's resolver goes, and logs, pid and temp files go to `dir`.
 */
export function localNginxConf(text: string, options: { dir: string; port: number; upstreams: UpstreamServer[] }): string {
  const { dir, port, upstreams } = options;
  const main = parseNginxConf(text).filter((d) => !['pid', 'error_log', 'worker_processes', 'user', 'daemon'].includes(d.name));
  const http = only(main, 'http');
  const block = http.block!.filter((d) => d.name !== 'resolver');
  const rewritten: Directive[] = block.map((d) => {
    if (d.name === 'access_log') return { ...d, args: [path.join(dir, 'access.log'), ...d.args.slice(1)] };
    if (d.name === 'upstream') {
      const shipped = d.block!.filter((s) => s.name === 'server');
      if (shipped.length !== 1) throw new Error(`expected one server in upstream ${d.args[0]}, found ${shipped.length}`);
      const parameters = shipped[0].args.slice(1).filter((arg) => arg !== 'resolve');
      const servers = upstreams.map((u) => ({
        name: 'server',
        args: [`127.0.0.1:${u.port}`, ...parameters, ...(u.backup ? ['backup'] : [])],
        line: shipped[0].line,
      }));
      const rest = d.block!.filter((s) => s.name !== 'server');
      return { ...d, block: [...servers, ...rest] };
    }
    if (d.name === 'server') {
      return { ...d, block: d.block!.map((s) => (s.name === 'listen' ? { ...s, args: [`127.0.0.1:${port}`] } : s)) };
    }
    return d;
  });
  const paths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => ({
    name: `${name}_temp_path`,
    args: [path.join(dir, name)],
    line: 0,
  }));
  const local: Directive[] = [
    { name: 'worker_processes', args: ['1'], line: 0 },
    { name: 'pid', args: [path.join(dir, 'nginx.pid')], line: 0 },
    { name: 'error_log', args: [path.join(dir, 'error.log'), 'info'], line: 0 },
    ...main.filter((d) => d.name !== 'http'),
    {
      ...http,
      block: [...paths, ...rewritten],
    },
  ];
  return serializeNginxConf(local);
}


/** Starts nginx (foreground, stopped by PID) on deploy/nginx.conf in front of `upstreams`. */
export async function startShippedNginx(upstreams: UpstreamServer[]): Promise<LocalNginx> {
  const binary = nginxBinary();
  if (!binary) throw new Error('nginx is not installed (apt-get install nginx-light)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-nginx-conf-'));
  // Run as root, nginx's workers are `nobody`: they must reach the temp folders it creates here.
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, localNginxConf(readText('deploy', 'nginx.conf'), { dir, port, upstreams }));
  let output = '';
  const child: ChildProcess = spawn(binary, ['-p', dir, '-c', file, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const errorLog = () => {
    try {
      return fs.readFileSync(path.join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    await stopProcess(child, 'SIGQUIT');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // Listening, or exited (a configuration error): either way there is no point waiting longer.
  const listening = await waitFor(async () => child.exitCode !== null || (await canConnect(port)), {
    what: 'nginx to listen',
    timeoutMs: 10_000,
    intervalMs: 25,
  }).then(
    () => child.exitCode === null,
    () => false,
  );
  if (!listening) {
    const log = `${output}${errorLog()}`;
    await stop();
    throw new Error(`nginx did not start on deploy/nginx.conf: ${log}`);
  }
  return { url: `http://127.0.0.1:${port}`, errorLog, stop };
}
