// A replica topology on loopback (what the topology jest project runs the HTTP suites through):
// N KV processes on one Redis behind an nginx load balancer. Not a Redis topology: see redis-groups.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { randomString } from './ids';
import { freePort, startService, stopProcess, waitUntilReady, type ServiceProcess } from './processes';

/** nginx from Debian's package (.ci/run installs it); undefined when it is not installed. */
export function nginxBinary(): string | undefined {
  return ['/usr/sbin/nginx', '/usr/bin/nginx'].find((candidate) => fs.existsSync(candidate));
}

/** A running replica topology; `url` is what clients talk to. */
export interface ReplicaTopology {
  /** The load balancer, e.g. http://127.0.0.1:41234 */
  url: string;
  replicas: ServiceProcess[];
  nginx: ChildProcess;
  prefix: string;
  /** Stops nginx and every replica (SIGKILL), and deletes the topology's Redis keys. */
  stop(): Promise<void>;
}

/**
 * Only connection errors are retried on the next replica, never timeouts or 5xx: a request that
 * reached a replica may have been applied, and must not be applied twice. A replica that is
 * draining refuses new connections, so requests move to the others without a client noticing.
 */
function nginxConfig(dir: string, port: number, upstreams: number[]): string {
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream kv {
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join('\n')}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 5m;
    # Bodies and responses stay in memory: KV's are at most ~4.3 MiB (a commit), and nginx's
    # workers could not write to a temp folder owned by the root that starts them here.
    client_body_buffer_size 5m;
    proxy_buffering off;
    # As the shipped nginx.conf: an import's body streams through, applied as its lines arrive.
    location = /kv/import {
      client_max_body_size 0;
      proxy_request_buffering off;
      proxy_pass http://kv;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream off;
      proxy_read_timeout 600s;
    }
    location / {
      proxy_pass http://kv;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream error;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 1s;
      proxy_read_timeout 30s;
    }
  }
}
`;
}

/** Starts `replicas` KV processes on REDIS_URL under a fresh prefix, and nginx in front of them. */
export async function startReplicaTopology(options: { replicas: number; env?: Record<string, string> }): Promise<ReplicaTopology> {
  const nginx = nginxBinary();
  if (!nginx) throw new Error('nginx is not installed (apt-get install nginx-light)');
  const prefix = `kvtest-topo-${randomString(8)}`;
  const env = {
    REDIS_URL: process.env.REDIS_URL!,
    KV_REDIS_PREFIX: prefix,
    KV_TRUST_PROXY: 'loopback',
    ...options.env,
  };
  const replicas = await Promise.all(Array.from({ length: options.replicas }, () => startService(env)));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-nginx-'));
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConfig(dir, port, replicas.map((replica) => replica.port)));
  const child = spawn(nginx, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    await Promise.all([stopProcess(child, 'SIGQUIT'), ...replicas.map((replica) => stopProcess(replica.child))]);
    fs.rmSync(dir, { recursive: true, force: true });
    const redis = new Redis(process.env.REDIS_URL!);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.unlink(...keys);
    await redis.quit();
  };
  try {
    await Promise.all(replicas.map((replica) => waitUntilReady(replica.url)));
    await waitUntilReady(url);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, replicas, nginx: child, prefix, stop };
}
