// Running the built `kv` CLI and the examples as child processes against a KV server listening on a loopback port in this process.

import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Express } from 'express';
import { createTestApp, type TestApp } from '../helpers/app';

// Every `kv` command a test runs is a Node process start, and some tests run eight or twenty in a
// row: on a loaded 2-core CI machine that passed the default 20 s, though every assertion held.
// The CLI's speed is not what these suites check.
jest.setTimeout(90_000);

/** The bin shim npm links as `kv`; it requires the client's CJS build (`npm run build`). */
export const KV_BIN = path.resolve(__dirname, '../../packages/client/bin/kv.js');

export interface KvRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The child's KV_* variables (and others); nothing else of this process's KV_* environment reaches it. */
  env?: Record<string, string | undefined>;
  /** Written to the child's stdin, which is then closed; without it stdin is closed at once. */
  input?: string;
  timeoutMs?: number;
}

/** Runs `node bin/kv.js ...args`; resolves with its exit code and everything it wrote. */
export function runKv(args: string[], options: RunOptions = {}): Promise<KvRun> {
  return runNode(KV_BIN, args, options);
}

/** Runs `node <script> ...args` with only `options.env` of KV_* variables; resolves with its exit code and output. */
export function runNode(script: string, args: string[], options: RunOptions = {}): Promise<KvRun> {
  const env = childEnv(options.env ?? {});
  const timeoutMs = options.timeoutMs ?? 10000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(script)} ${args.join(' ')} did not exit within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** This process's environment without its KV_* variables, plus `env` (undefined values left out). */
export function childEnv(env: Record<string, string | undefined>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('KV_')) result[name] = value;
  }
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined) result[name] = value;
  }
  return result;
}

/** A running `kv` process: its output so far, and a way to stop it (SIGINT, as Ctrl-C). */
export interface KvProcess {
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout holds `count` lines (fails after `timeoutMs`). */
  lines(count: number, timeoutMs?: number): Promise<string[]>;
  interrupt(): Promise<KvRun>;
}

/** Starts `kv ...args` and returns at once: for `kv watch`, which runs until interrupted. */
export function startKv(args: string[], env: Record<string, string | undefined>): KvProcess {
  const child = spawn(process.execPath, [KV_BIN, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const completeLines = () => stdout.split('\n').slice(0, -1);
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    async lines(count, timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs;
      while (completeLines().length < count) {
        if (child.exitCode !== null) throw new Error(`kv exited with ${child.exitCode}: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`kv wrote ${completeLines().length} of ${count} lines: ${stdout}${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return completeLines().slice(0, count);
    },
    async interrupt() {
      if (child.exitCode === null) child.kill('SIGINT');
      const code = await exited;
      return { code, stdout, stderr };
    },
  };
}

/** A KV app on a fresh embedded store, listening on 127.0.0.1 at a port of its own. */
export interface KvServer {
  test: TestApp;
  url: string;
  close(): Promise<void>;
}

/** Starts a server for one test file; `env` configures the app as the process's variables would. */
export async function startServer(env: Record<string, string | undefined> = {}): Promise<KvServer> {
  const test = await createTestApp(env);
  const server = http.createServer(test.app as Express);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    test,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await test.close();
    },
  };
}
