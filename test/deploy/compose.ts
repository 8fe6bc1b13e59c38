// docker-compose.yml read as `docker compose` reads it: YAML, then ${VAR} interpolation from .env.

import fs from 'node:fs';
import { parse } from 'yaml';

/** KEY=VALUE lines of a .env file; `#` lines and blank lines are skipped, surrounding quotes removed. */
export function readDotEnv(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [i, line] of fs.readFileSync(file, 'utf8').split('\n').entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(trimmed);
    if (!match) throw new Error(`${file} line ${i + 1}: not KEY=VALUE`);
    const value = match[2].trim();
    env[match[1]] = /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value;
  }
  return env;
}

// $$ | ${NAME} | ${NAME<op><word>} | $NAME
const REFERENCE = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*)|(\{))/g;

/**
 * Compose interpolation of one string: `$$` is a literal `$`; `${VAR}`, `$VAR`; `${VAR:-default}` and
 * `${VAR-default}`; `${VAR:?error}` and `${VAR?error}` (throws when missing); `${VAR:+other}` and
 * `${VAR+other}`. The colon forms treat an empty value as missing.
 */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(REFERENCE, (_all, dollar, braced, op, word, bare, badBrace) => {
    if (dollar) return '$';
    if (badBrace) throw new Error(`invalid interpolation in ${JSON.stringify(text)}`);
    if (bare) return env[bare] ?? '';
    const value = env[braced as string];
    if (word !== undefined && String(word).includes('$')) throw new Error(`nested interpolation is not supported: ${text}`);
    const missing = op?.startsWith(':') ? !value : value === undefined;
    switch (op) {
      case undefined:
        return value ?? '';
      case ':-':
      case '-':
        return missing ? word : (value as string);
      case ':?':
      case '?':
        if (missing) throw new Error(`required variable ${braced} is missing a value: ${word}`);
        return value as string;
      case ':+':
      case '+':
        return missing ? '' : word;
      default:
        throw new Error(`unknown interpolation operator ${op}`);
    }
  });
}

/** The variable names a string refers to (not counting `$$` escapes). */
export function referencedVariables(text: string): string[] {
  return [...text.matchAll(REFERENCE)].flatMap((m) => (m[2] ? [m[2]] : m[5] ? [m[5]] : []));
}

function mapStrings(node: unknown, f: (text: string) => string): unknown {
  if (typeof node === 'string') return f(node);
  if (Array.isArray(node)) return node.map((item) => mapStrings(item, f));
  if (typeof node === 'object' && node !== null) {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, mapStrings(value, f)]));
  }
  return node;
}

export interface ComposeService {
  image?: string;
  build?: string | { context: string };
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: unknown;
  depends_on?: Record<string, { condition?: string }> | string[];
  deploy?: { replicas?: number; resources?: { limits?: { memory?: string; cpus?: string } } };
  healthcheck?: { test?: string[] | string; [field: string]: unknown };
  ports?: (string | { target: number; published?: string | number })[];
  volumes?: (string | { type: string; source?: string; target: string; read_only?: boolean })[];
  stop_grace_period?: string;
  [field: string]: unknown;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [field: string]: unknown;
}

/** Every string of the file as written, before interpolation. */
export function readComposeRaw(file: string): unknown {
  return parse(fs.readFileSync(file, 'utf8'), { uniqueKeys: true });
}

/** The file after interpolation with `env` (what `docker compose config` would show). */
export function readCompose(file: string, env: Record<string, string | undefined>): ComposeFile {
  return mapStrings(readComposeRaw(file), (text) => interpolate(text, env)) as ComposeFile;
}

/** Every string in a parsed YAML tree, for finding variable references. */
export function allStrings(node: unknown): string[] {
  const found: string[] = [];
  mapStrings(node, (text) => {
    found.push(text);
    return text;
  });
  return found;
}

/** A service's `environment`, list or map form, as strings. A name without a value is refused. */
export function serviceEnvironment(service: ComposeService): Record<string, string> {
  const entries: [string, unknown][] = Array.isArray(service.environment)
    ? service.environment.map((line) => {
        const eq = line.indexOf('=');
        return eq === -1 ? [line, null] : [line.slice(0, eq), line.slice(eq + 1)];
      })
    : Object.entries(service.environment ?? {});
  return Object.fromEntries(
    entries.map(([name, value]) => {
      if (value === null || value === undefined) throw new Error(`environment ${name} has no value (taken from the shell)`);
      return [name, String(value)];
    }),
  );
}

/** Compose durations such as `15s`, `1m30s`, `500ms`, in seconds. */
export function durationSeconds(text: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a duration: ${text}`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit], 0);
}
