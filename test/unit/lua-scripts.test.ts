// Each Lua script's header (its KEYS and ARGV) agrees with the TypeScript table its commands are typed and defined from.

import fs from 'node:fs';
import path from 'node:path';
import {
  RATE_LIMIT_SCRIPTS,
  SCRIPT_SIGNATURES,
  STORE_SCRIPTS,
  scriptDefinitions,
  type ScriptName,
  type ScriptSignature,
} from '../../src/store/redis/scripts';

const SCRIPTS_DIR = path.join(__dirname, '..', '..', 'src', 'store', 'redis', 'scripts');

const luaFiles = fs
  .readdirSync(SCRIPTS_DIR, { withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.lua'))
  .map((entry) => entry.name.slice(0, -'.lua'.length))
  .sort();
const names = Object.keys(SCRIPT_SIGNATURES).sort() as ScriptName[];

interface Header {
  signature: ScriptSignature;
  /** The script after its header block. */
  body: string;
}

/**
 * The `--[[ … ]]` block a script opens with: one `KEYS[i] name  what` or `ARGV[i] name  what` per
 * line, numbered from 1, and at most one `KEYS[i...] name` or `ARGV[i...] name` for a variable tail.
 */
function parseHeader(source: string): Header {
  const match = /^--\[\[\n([\s\S]*?)\n\]\]\n/.exec(source);
  if (!match) throw new Error('the script does not open with a --[[ ... ]] header block');
  const header = match[1];
  const signature: { keys: string[]; args: string[]; rest?: { of: 'keys' | 'args'; name: string } } = { keys: [], args: [] };
  let entries = 0;
  for (const line of header.split('\n')) {
    const entry = /^\s*(KEYS|ARGV)\[(\d+)(\.\.\.)?\]\s+(\w+)/.exec(line);
    if (!entry) continue;
    entries++;
    const [, kind, index, variadic, name] = entry;
    const list = kind === 'KEYS' ? signature.keys : signature.args;
    if (signature.rest?.of === (kind === 'KEYS' ? 'keys' : 'args')) throw new Error(`${kind}[${index}] follows the variable tail`);
    if (Number(index) !== list.length + 1) throw new Error(`${kind}[${index}] is out of order: expected ${kind}[${list.length + 1}]`);
    if (variadic) {
      if (signature.rest) throw new Error('a script has at most one variable tail');
      signature.rest = { of: kind === 'KEYS' ? 'keys' : 'args', name };
    } else {
      list.push(name);
    }
  }
  // Two entries on one line, or one without a name, would be missed above: every mention must be an entry.
  const mentions = header.match(/\b(KEYS|ARGV)\[/g)?.length ?? 0;
  if (mentions !== entries) throw new Error(`the header mentions KEYS/ARGV ${mentions} times but has ${entries} entries (one per line, each named)`);
  return { signature, body: source.slice(match[0].length) };
}

function header(name: ScriptName): Header {
  return parseHeader(fs.readFileSync(path.join(SCRIPTS_DIR, `${name}.lua`), 'utf8'));
}

/** The literal indexes the script reads, e.g. KEYS[2] → 2; loops over a tail (ARGV[i]) are not literal. */
function indexesRead(body: string, kind: 'KEYS' | 'ARGV'): number[] {
  const found = [...body.matchAll(new RegExp(`\\b${kind}\\[(\\d+)\\]`, 'g'))].map(([, index]) => Number(index));
  return [...new Set(found)].sort((a, b) => a - b);
}

const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('Lua scripts', () => {
  it('defines every .lua file under scripts/ as a command, and every command has its file', () => {
    expect(luaFiles.length).toBeGreaterThan(0);
    expect(names).toEqual(luaFiles);
  });

  it('defines every command on one connection: the store defines its scripts, the rate-limit store the auth checks', () => {
    const defined: string[] = [...STORE_SCRIPTS, ...RATE_LIMIT_SCRIPTS];
    expect(defined.sort()).toEqual(names);
  });

  describe.each(names)('%s', (name) => {
    it('names in its table entry the KEYS, ARGV and variable tail that its header lists, in order', () => {
      const { keys, args, rest } = SCRIPT_SIGNATURES[name] as ScriptSignature;
      expect({ keys, args, rest }).toEqual(header(name).signature);
    });

    it('is defined with the number of KEYS its header lists, or none when the caller passes the count', () => {
      const { signature } = header(name);
      const expected = signature.rest?.of === 'keys' ? undefined : signature.keys.length;
      expect(scriptDefinitions([name])[name].numberOfKeys).toBe(expected);
    });

    it('reads each fixed KEYS and ARGV its header lists, and no index beyond them', () => {
      const { signature, body } = header(name);
      expect(indexesRead(body, 'KEYS')).toEqual(oneToN(signature.keys.length));
      expect(indexesRead(body, 'ARGV')).toEqual(oneToN(signature.args.length));
    });
  });

  it('finds a header out of step with the table: an ARGV added to a script alone is caught', () => {
    const source = fs.readFileSync(path.join(SCRIPTS_DIR, 'countKeys.lua'), 'utf8');
    const added = source.replace('  ARGV[4] logging', '  ARGV[4] logging\n  ARGV[5] extra     a new argument');
    expect(added).not.toBe(source);
    expect(parseHeader(added).signature.args).not.toEqual(SCRIPT_SIGNATURES.countKeys.args);
    expect(() => parseHeader(source.replace('  ARGV[1] sweep', '  ARGV[1] sweep   ARGV[2] extra'))).toThrow(/one per line/);
    expect(() => parseHeader(source.replace('  ARGV[1] sweep', '  ARGV[2] sweep'))).toThrow(/out of order/);
  });
});
