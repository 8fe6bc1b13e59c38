// kv get, set, rm, ls, incr and usage: one key (or one listing) at a time.

import { KvNotFoundError, rawJson, stringifyJson, type ListedItem } from '../../index';
import { integerArgument, jsonArgument, readAll } from '../arguments';
import type { Command, CommandContext } from '../command';
import { ExitCode } from '../exit-codes';
import { formatJsonText } from '../json-text';
import { formatExpiry } from '../output';
import { UsageError } from '../usage-error';

/** What the API answers for a key that does not exist; kv says the same when the client returns null. */
export function noSuchKey(): KvNotFoundError {
  return new KvNotFoundError({ status: 404, code: 'not_found', message: 'No such key.' });
}

const get: Command = {
  name: 'get',
  args: '<key>',
  summary: "print a key's value (indented JSON; big numbers keep every digit)",
  details: ['With --json: the item as the API gives it, {"key", "value", "version", "expiresAt", "createdAt", "updatedAt"}.'],
  options: {},
  examples: ['kv get config/app', 'kv get config/app --json | jq -r .version'],
  async run({ args: [key], json, out, connection }) {
    const entry = await connection.client().getRaw(key);
    if (!entry) throw noSuchKey();
    if (!json) {
      await out.line(formatJsonText(entry.raw));
      return ExitCode.ok;
    }
    // The API's member order, the value spliced in as its text so that its digits stay.
    const { key: itemKey, raw, version, expiresAt, createdAt, updatedAt } = entry;
    await out.line(stringifyJson({ key: itemKey, value: rawJson(raw), version, expiresAt, createdAt, updatedAt })!);
    return ExitCode.ok;
  },
};

const set: Command = {
  name: 'set',
  args: '<key> [json|-]',
  summary: 'create or replace a key with a JSON value (from the argument, or stdin with - or none)',
  details: [
    'The value is sent as written: numbers keep their digits, strings need their quotes (\'"hello"\').',
    'Without a value argument (or with -) it is read from stdin.',
    'With --json: the item without its value, {"key", "version", "expiresAt", "createdAt", "updatedAt"}.',
  ],
  options: {
    ttl: { type: 'string', value: 'seconds', description: 'the key expires this long after the write' },
    'if-version': { type: 'string', value: 'version', description: 'write only if the key is at this version (compare-and-swap); exit 1 if not' },
    nx: { type: 'boolean', description: 'write only if the key does not exist; exit 1 if it does' },
  },
  examples: [`kv set config/app '{"theme": "dark"}'`, `kv set session/abc '{"user": 42}' --ttl 3600`, 'kv set config/app - < app.json'],
  async run({ args: [key, given], values, json, out, io, connection }) {
    const command = 'set';
    if (values.nx && values['if-version'] !== undefined) throw new UsageError('--nx and --if-version cannot be used together', command);
    const ttlSeconds = values.ttl === undefined ? undefined : integerArgument(String(values.ttl), '--ttl', command, 1);
    const fromStdin = given === undefined || given === '-';
    if (given === undefined && io.stdin.isTTY) throw new UsageError('a value is needed: kv set <key> <json>, or pipe it to stdin', command);
    const text = jsonArgument(fromStdin ? await readAll(io.stdin) : given, fromStdin ? 'the value on stdin' : 'the value', command);
    const written = await connection.client().set(key, rawJson(text), {
      ttlSeconds,
      ifVersion: values['if-version'] as string | undefined,
      ifNotExists: values.nx ? true : undefined,
    });
    const { created, ...meta } = written;
    if (json) await out.line(JSON.stringify(meta));
    else await out.line(`${created ? 'created' : 'replaced'} ${meta.key} (version ${meta.version})`);
    return ExitCode.ok;
  },
};

const rm: Command = {
  name: 'rm',
  args: '<key>',
  summary: 'delete a key',
  details: ['Exits 1 when the key does not exist. With --json: {"key", "deleted": true}.'],
  options: {
    'if-version': { type: 'string', value: 'version', description: 'delete only if the key is at this version; exit 1 if not' },
  },
  examples: ['kv rm session/abc', 'kv rm config/app --if-version 12'],
  async run({ args: [key], values, json, out, connection }) {
    const deleted = await connection.client().delete(key, { ifVersion: values['if-version'] as string | undefined });
    if (!deleted) throw noSuchKey();
    await out.line(json ? JSON.stringify({ key, deleted: true }) : `deleted ${key}`);
    return ExitCode.ok;
  },
};

const ls: Command = {
  name: 'ls',
  args: '[prefix]',
  summary: 'list keys (under a prefix), every page, in byte order',
  details: ['A table of KEY, VERSION, EXPIRES (and VALUE with --values). With --json: {"items": [the API\'s listed items]}.'],
  options: {
    values: { type: 'boolean', description: 'also show each value (compact JSON)' },
    limit: { type: 'string', value: 'n', description: 'list at most n keys' },
  },
  examples: ['kv ls flags/', 'kv ls session/ --values --limit 20', 'kv ls --json | jq -r ".items[].key"'],
  async run(context) {
    const { args: [prefix], values, json, out, connection } = context;
    const limit = values.limit === undefined ? undefined : integerArgument(String(values.limit), '--limit', 'ls', 1);
    const items: ListedItem[] = [];
    const pages = connection.client().listAll({ prefix, raw: values.values === true, limit: Math.min(limit ?? 1000, 1000) });
    for await (const item of pages) {
      items.push(item);
      if (limit !== undefined && items.length >= limit) break;
    }
    if (json) {
      const listed = items.map(({ raw, ...item }) => (raw === undefined ? item : { ...item, value: rawJson(raw) }));
      await out.line(stringifyJson({ items: listed })!);
      return ExitCode.ok;
    }
    const header = values.values ? ['KEY', 'VERSION', 'EXPIRES', 'VALUE'] : ['KEY', 'VERSION', 'EXPIRES'];
    await out.table(
      header,
      items.map((item) => {
        const row = [item.key, item.version, formatExpiry(item.expiresAt)];
        return values.values ? [...row, formatJsonText(item.raw ?? 'null', 0)] : row;
      }),
    );
    return ExitCode.ok;
  },
};

const incr: Command = {
  name: 'incr',
  args: '<key> [by]',
  summary: 'add to a counter atomically (1 by default; negative subtracts) and print the new value',
  details: ['An absent key counts as 0. Exits 1 (type_mismatch) when the value is not an integer.', 'With --json: the item with its new value.'],
  options: {},
  examples: ['kv incr hits', 'kv incr stock/apples -3'],
  async run({ args: [key, by], json, out, connection }: CommandContext) {
    const amount = by === undefined ? 1 : integerArgument(by, 'by', 'incr', -Number.MAX_SAFE_INTEGER);
    const { created: _created, ...entry } = await connection.client().increment(key, amount);
    await out.line(json ? JSON.stringify(entry) : String(entry.value));
    return ExitCode.ok;
  },
};

const usage: Command = {
  name: 'usage',
  args: '',
  summary: "the account's key count and limits",
  details: ['With --json: {"keys", "limits": {…}} as the API gives it.'],
  options: {},
  examples: ['kv usage', 'kv usage --json | jq .keys'],
  async run({ json, out, connection }) {
    const data = await connection.client().usage();
    if (json) {
      await out.line(JSON.stringify(data));
      return ExitCode.ok;
    }
    const rows = [['keys', String(data.keys)], ...Object.entries(data.limits).map(([name, value]) => [name, String(value)])];
    const width = Math.max(...rows.map(([name]) => name.length)) + 2;
    await out.line(rows.map(([name, value]) => `${name.padEnd(width)}${value}`).join('\n'));
    return ExitCode.ok;
  },
};

/** The data commands on single keys and listings, in help order. */
export const itemCommands: Command[] = [get, set, rm, ls, incr, usage];
