// The deployment files as the tests read them, and the environment each gives the KV process.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { finalStageEnv, parseDockerfile, type Stage } from './dockerfile';
import { readCompose, readDotEnv, serviceEnvironment, type ComposeFile } from './compose';
import type { K8sObject } from './kubernetes-schema';
import { renderKustomization } from './kustomize';

export const ROOT = path.resolve(__dirname, '..', '..');
export const rootPath = (...parts: string[]) => path.join(ROOT, ...parts);
export const readText = (...parts: string[]) => fs.readFileSync(rootPath(...parts), 'utf8');

export const readDockerfileStages = (): Stage[] => parseDockerfile(readText('Dockerfile'));

/** What the image sets in its final stage (ENV). */
export const imageEnv = (): Record<string, string> => finalStageEnv(readDockerfileStages());

export const exampleDotEnv = (): Record<string, string> => readDotEnv(rootPath('.env.example'));

/** docker-compose.yml interpolated with the values of .env.example, as after `cp .env.example .env`. */
export const composeWithExampleEnv = (): ComposeFile => readCompose(rootPath('docker-compose.yml'), exampleDotEnv());

/**
 * Secrets of one's own, generated as .env.example and k8s/secret.yaml say; KV refuses the example
 * values those files ship.
 */
export const ownSecrets = (): Record<'KV_ADMIN_TOKEN' | 'KV_BOOTSTRAP_API_KEY', string> => ({
  KV_ADMIN_TOKEN: crypto.randomBytes(24).toString('base64url'),
  KV_BOOTSTRAP_API_KEY: crypto.randomBytes(24).toString('base64url'),
});

/** `env` with the secrets it sets replaced by ones of one's own, as before a real deployment. */
export function withOwnSecrets(env: Record<string, string>): Record<string, string> {
  const own = ownSecrets();
  return { ...env, ...Object.fromEntries(Object.entries(own).filter(([name]) => name in env)) };
}

/** docker-compose.yml after `cp .env.example .env` and replacing both values, as .env.example says. */
export const composeWithOwnSecrets = (): ComposeFile =>
  readCompose(rootPath('docker-compose.yml'), withOwnSecrets(exampleDotEnv()));

/** The environment of an api container: the image's ENV, overridden by the service's `environment`. */
export function composeApiEnv(compose: ComposeFile = composeWithOwnSecrets()): Record<string, string> {
  return { ...imageEnv(), ...serviceEnvironment(compose.services.api) };
}

export const renderK8s = (): K8sObject[] => renderKustomization(rootPath('k8s'));

export function findObject<T = K8sObject>(objects: K8sObject[], kind: string, name: string): T & K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as T & K8sObject;
}

interface EnvFromSource {
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
  prefix?: string;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: EnvFromSource[];
  [field: string]: unknown;
}

function secretData(secret: K8sObject): Record<string, string> {
  const decoded = Object.entries((secret.data as Record<string, string> | undefined) ?? {}).map(
    ([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')] as const,
  );
  // stringData wins over data, as the API server merges them.
  return { ...Object.fromEntries(decoded), ...((secret.stringData as Record<string, string> | undefined) ?? {}) };
}

/**
 * The environment a container of the rendered objects gets: the image's ENV, then each envFrom
 * source in order (a later source wins), then `env` (wins over envFrom). A reference to a ConfigMap
 * or Secret that is not rendered, a prefix, or a valueFrom is refused.
 */
export function containerEnv(objects: K8sObject[], container: Container): Record<string, string> {
  const env: Record<string, string> = { ...imageEnv() };
  for (const source of container.envFrom ?? []) {
    if (source.prefix) throw new Error(`${container.name}: envFrom prefix is not supported by this test`);
    if (source.configMapRef) Object.assign(env, findObject(objects, 'ConfigMap', source.configMapRef.name).data ?? {});
    if (source.secretRef) Object.assign(env, secretData(findObject(objects, 'Secret', source.secretRef.name)));
  }
  for (const variable of container.env ?? []) {
    if (variable.value === undefined) throw new Error(`${container.name}: env ${variable.name} has no literal value`);
    env[variable.name] = variable.value;
  }
  return env;
}

/** The names the container's ConfigMaps, Secrets and env set (not counting the image's ENV). */
export function containerSetNames(objects: K8sObject[], container: Container): string[] {
  const names = new Set<string>();
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) for (const key of Object.keys(findObject(objects, 'ConfigMap', source.configMapRef.name).data ?? {})) names.add(key);
    if (source.secretRef) for (const key of Object.keys(secretData(findObject(objects, 'Secret', source.secretRef.name)))) names.add(key);
  }
  for (const variable of container.env ?? []) names.add(variable.name);
  return [...names];
}

/** How long KV drains in-flight requests after SIGTERM, read from the process entry. */
export function drainTimeoutSeconds(): number {
  const match = /const DRAIN_TIMEOUT_MS = ([\d_]+);/.exec(readText('src', 'main.ts'));
  if (!match) throw new Error('src/main.ts no longer declares `const DRAIN_TIMEOUT_MS = <ms>;`: update this test helper');
  return Number(match[1].replace(/_/g, '')) / 1000;
}

/** How long KV keeps an idle keep-alive connection open (KV_KEEP_ALIVE_TIMEOUT_MS) in the compose api. */
export function keepAliveTimeoutSeconds(): number {
  return loadConfig(composeApiEnv()).keepAliveTimeoutMs / 1000;
}

/** A redis.conf memory size in bytes: `1k` is 1000, `1kb` 1024 (and m/mb, g/gb), case-insensitive. */
export function redisBytes(text: string): number {
  const match = /^(\d+)([kmg]b?)?$/i.exec(text);
  if (!match) throw new Error(`not a Redis memory size: ${text}`);
  const unit = (match[2] ?? '').toLowerCase();
  const power = { '': 0, k: 1, m: 2, g: 3 }[unit[0] ?? ''] ?? 0;
  return Number(match[1]) * (unit.endsWith('b') ? 1024 : 1000) ** power;
}

/** A Kubernetes memory quantity in bytes: Ki, Mi, Gi, Ti (binary) or k, M, G, T (decimal). */
export function k8sBytes(text: string): number {
  const match = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(text);
  if (!match) throw new Error(`not a Kubernetes memory quantity: ${text}`);
  const units: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(match[1]) * units[match[2] ?? ''];
}

/** A Compose byte value in bytes: b, k/kb, m/mb, g/gb, all powers of 1024. */
export function composeBytes(text: string): number {
  const match = /^(\d+)(b|kb?|mb?|gb?)?$/i.exec(text);
  if (!match) throw new Error(`not a Compose byte value: ${text}`);
  const power = { b: 0, k: 1, m: 2, g: 3 }[(match[2] ?? 'b')[0].toLowerCase() as 'b' | 'k' | 'm' | 'g'];
  return Number(match[1]) * 1024 ** power;
}

/** The value after `--name` in a redis-server argument list. */
export const redisOption = (args: string[], name: string): string | undefined =>
  args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
