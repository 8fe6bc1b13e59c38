// Loads the Lua scripts for ioredis `defineCommand` (EVALSHA with NOSCRIPT fallback, per connection).

import fs from 'node:fs';
import path from 'node:path';

const SCRIPTS_DIR = path.join(__dirname, 'scripts');

/**
 * Each script, its number of KEYS, and the ioredis command it becomes (named after the file).
 * `null`: a variable number of KEYS, passed by the caller as the first argument.
 */
export const SCRIPT_KEYS = {
  setItem: 4,
  deleteItem: 3,
  countKeys: 2,
  listKeys: 2,
  readVersions: null,
  createAccount: 4,
  createApiKey: 4,
  revokeApiKey: 3,
  updateAccountLimits: 1,
} satisfies Record<string, number | null>;

export type ScriptName = keyof typeof SCRIPT_KEYS;

function readScript(name: string): string {
  const source = fs.readFileSync(path.join(SCRIPTS_DIR, `${name}.lua`), 'utf8');
  return source.replace(/^-- @include (\w+)$/gm, (_line, include: string) =>
    fs.readFileSync(path.join(SCRIPTS_DIR, 'includes', `${include}.lua`), 'utf8'),
  );
}

/** The `scripts` option of the ioredis constructor. */
export function loadScripts(): Record<ScriptName, { lua: string; numberOfKeys?: number }> {
  const entries = Object.entries(SCRIPT_KEYS).map(([name, numberOfKeys]) => [
    name,
    numberOfKeys === null ? { lua: readScript(name) } : { lua: readScript(name), numberOfKeys },
  ]);
  return Object.fromEntries(entries) as Record<ScriptName, { lua: string; numberOfKeys?: number }>;
}
