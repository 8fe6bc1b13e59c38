// A KV service listening on a loopback port for the client's tests, a store that can fail on cue, and a TCP
// proxy that drops, stalls or cuts connections: the client meets a real server over a real network.

import http from 'node:http';
import net from 'node:net';
import type { Express } from 'express';
import { KvAdmin, KvClient, type KvClientOptions } from '../../packages/client/src';
import type { KvStore } from '../../src/store/types';
import { ADMIN_TOKEN, appOn, createTestApp, type TestApp } from '../helpers/app';
import type { TestAccount } from '../helpers/client';
import { createTestStore, type TestStore } from '../helpers/stores';

/** An HTTP server on 127.0.0.1 at a free port, serving `app`. */
export interface Listening {
  url: string;
  port: number;
  /** Closes the server and every connection still open (watch streams included). */
  close(): Promise<void>;
}

/** Serves `app` on 127.0.0.1, on a port the system picks. */
export async function listen(app: Express | http.RequestListener): Promise<Listening> {
  const server = http.createServer(app as http.RequestListener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A service of this jest project's store kind, listening, with helpers to make accounts and clients on it. */
export interface ClientServer extends Listening {
  t: TestApp;
  admin: KvAdmin;
  /** A fresh account (made through the admin API) with `limits` as its overrides. */
  account(limits?: Record<string, number>): Promise<TestAccount>;
  /** A KvClient of a fresh account; `options` override the client's (retry, timeoutMs, …). */
  client(limits?: Record<string, number>, options?: Partial<KvClientOptions>): Promise<KvClient>;
}

/** Starts a service on a fresh store (see createTestApp); `env` as the process would read it. */
export async function startClientServer(env: Record<string, string> = {}): Promise<ClientServer> {
  const t = await createTestApp(env);
  const listening = await listen(t.app as Express);
  return {
    ...listening,
    t,
    admin: new KvAdmin({ url: listening.url, adminToken: ADMIN_TOKEN }),
    account: (limits) => t.newAccount(limits),
    async client(limits, options = {}) {
      const account = await t.newAccount(limits);
      return new KvClient({ url: listening.url, apiKey: account.apiKey, ...options });
    },
    async close() {
      await listening.close();
      await t.close();
    },
  };
}

/**
 * The store of `t`, except that the next `n` calls of a method (failNext) go to a store that is cut
 * off from its backend, so the service answers them 503 `unavailable` exactly as in an outage, or
 * throw as a bug would (breakNext: 500 `internal`).
 * `calls` counts every call of each method.
 */
export interface FlakyStore {
  store: KvStore;
  failNext(method: keyof KvStore, n: number): void;
  /** The next `n` calls of `method` throw a plain Error, as a bug would (500 `internal`). */
  breakNext(method: keyof KvStore, n: number): void;
  calls(method: keyof KvStore): number;
  destroy(): Promise<void>;
}

export async function flakyStore(t: TestApp): Promise<FlakyStore> {
  const down: TestStore = await createTestStore(t.kind);
  await down.cutOff();
  const failing = new Map<PropertyKey, number>();
  const broken = new Map<PropertyKey, number>();
  const counted = new Map<PropertyKey, number>();
  const store = new Proxy(t.store, {
    get(target, prop) {
      const real = Reflect.get(target, prop, target) as unknown;
      if (typeof real !== 'function') return real;
      return (...args: unknown[]) => {
        counted.set(prop, (counted.get(prop) ?? 0) + 1);
        const bugs = broken.get(prop) ?? 0;
        if (bugs > 0) {
          broken.set(prop, bugs - 1);
          return Promise.reject(new Error('a bug in the store'));
        }
        const left = failing.get(prop) ?? 0;
        if (left > 0) {
          failing.set(prop, left - 1);
          const cut = Reflect.get(down.store, prop, down.store) as (...a: unknown[]) => Promise<unknown>;
          return Promise.resolve().then(() => cut.apply(down.store, args));
        }
        return (real as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    failNext: (method, n) => failing.set(method, n),
    breakNext: (method, n) => broken.set(method, n),
    calls: (method) => counted.get(method) ?? 0,
    destroy: () => down.destroy(),
  };
}

/** The service on `t`'s store through a FlakyStore, listening. */
export async function listenOnFlakyStore(t: TestApp, flaky: FlakyStore): Promise<Listening> {
  return listen(appOn(t.testStore, { config: t.config, store: flaky.store }));
}

/**
 * What the proxy does with a new connection: pass it on; drop it once the request arrives; never
 * answer; or pass the request on and drop the connection when the answer starts ('lose': the
 * service did the work, the client never hears of it).
 */
export type ConnectionPlan = 'pass' | 'drop' | 'hang' | 'lose';

/**
 * A TCP proxy in front of a service: each new connection takes the next step of `plan` (then
 * 'pass'). `cutAll()` breaks every open connection, as a network failure mid-stream would.
 */
export interface FlakyProxy {
  url: string;
  plan: ConnectionPlan[];
  /** Connections accepted so far. */
  connections(): number;
  cutAll(): void;
  close(): Promise<void>;
}

export async function flakyProxy(targetPort: number, plan: ConnectionPlan[] = []): Promise<FlakyProxy> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const proxy: Omit<FlakyProxy, 'url'> & { url?: string } = {
    plan,
    connections: () => accepted,
    cutAll() {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = net.createServer((client) => {
    accepted++;
    track(client);
    const step = proxy.plan.shift() ?? 'pass';
    if (step === 'drop') {
      client.once('data', () => client.destroy());
      return;
    }
    if (step === 'hang') return;
    const upstream = net.connect(targetPort, '127.0.0.1');
    track(upstream);
    client.pipe(upstream);
    if (step === 'lose') upstream.once('data', () => client.destroy());
    else upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return proxy as FlakyProxy;
}

/** A unique key prefix for one test. */
export function uniquePrefix(): string {
  return `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}/`;
}
