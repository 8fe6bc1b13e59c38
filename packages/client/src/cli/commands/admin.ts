// kv admin accounts … and kv admin keys …: accounts and their API keys, with the service's admin token.

import { KvNotFoundError, type Account, type ApiKeyInfo, type NewApiKey } from '../../index';
import type { Command } from '../command';
import { ExitCode } from '../exit-codes';
import { formatExpiry, type Output } from '../output';
import { UsageError } from '../usage-error';

function notFound(what: 'account' | 'API key'): KvNotFoundError {
  return new KvNotFoundError({ status: 404, code: 'not_found', message: `No such ${what}.` });
}

const accountsList: Command = {
  name: 'admin accounts list',
  args: '',
  summary: 'list every account (all pages)',
  details: ['A table of ID, NAME, CREATED. With --json: {"accounts": [the API\'s accounts]}.'],
  options: {},
  examples: ['kv admin accounts list', 'kv admin accounts list --json | jq -r ".accounts[].id"'],
  async run({ json, out, connection }) {
    const accounts: Account[] = [];
    for await (const account of connection.admin().allAccounts()) accounts.push(account);
    if (json) await out.line(JSON.stringify({ accounts }));
    else await out.table(['ID', 'NAME', 'CREATED'], accounts.map((account) => [account.id, account.name ?? '-', account.createdAt]));
    return ExitCode.ok;
  },
};

const accountsCreate: Command = {
  name: 'admin accounts create',
  args: '',
  summary: 'create an account and its first read+write API key (the key is shown only now)',
  details: ['With --json: {"account", "apiKey"} as the API gives it, the key\'s secret in apiKey.key.'],
  options: {
    name: { type: 'string', value: 'name', description: "the account's name (1-200 characters)" },
  },
  examples: ['kv admin accounts create --name billing', 'kv admin accounts create --json | jq -r .apiKey.key'],
  async run({ values, json, out, connection }) {
    const created = await connection.admin().createAccount(values.name === undefined ? {} : { name: String(values.name) });
    if (json) {
      await out.line(JSON.stringify(created));
      return ExitCode.ok;
    }
    await out.line(`created account ${created.account.id}${created.account.name ? ` (${created.account.name})` : ''}`);
    await printNewKey(out, created.apiKey);
    return ExitCode.ok;
  },
};

const accountsGet: Command = {
  name: 'admin accounts get',
  args: '<accountId>',
  summary: 'an account: its name, limits, key count and API keys (never their secrets)',
  details: ['With --json: {"account", "usage", "apiKeys"} as the API gives it.'],
  options: {},
  examples: ['kv admin accounts get acc_3f9c0e1d2b4a59687f10', 'kv admin accounts get default --json'],
  async run({ args: [id], json, out, connection }) {
    const details = await connection.admin().getAccount(id);
    if (!details) throw notFound('account');
    if (json) {
      await out.line(JSON.stringify(details));
      return ExitCode.ok;
    }
    const { account, usage, apiKeys } = details;
    const limits = Object.entries(account.limits).map(([name, value]) => `${name}=${value}${name in account.limitOverrides ? '' : ' (default)'}`);
    await out.line(
      [
        `id       ${account.id}`,
        `name     ${account.name ?? '-'}`,
        `created  ${account.createdAt}`,
        `keys     ${usage.keys}`,
        `limits   ${limits.join(', ')}`,
        '',
      ].join('\n'),
    );
    await out.table(...keyTable(apiKeys), 'no API keys');
    return ExitCode.ok;
  },
};

const accountsDelete: Command = {
  name: 'admin accounts delete',
  args: '<accountId>',
  summary: 'delete an account: its data, its API keys and its counters',
  details: ['Its keys stop working on every replica within a second. With --json: {"id", "deleted": true}.'],
  options: {},
  examples: ['kv admin accounts delete acc_3f9c0e1d2b4a59687f10'],
  async run({ args: [id], json, out, connection }) {
    if (!(await connection.admin().deleteAccount(id))) throw notFound('account');
    await out.line(json ? JSON.stringify({ id, deleted: true }) : `deleted account ${id}`);
    return ExitCode.ok;
  },
};

const keysList: Command = {
  name: 'admin keys list',
  args: '<accountId>',
  summary: "an account's API keys (never their secrets)",
  details: ['A table of ID, NAME, SCOPES, PREFIX, EXPIRES, CREATED. With --json: {"keys": [the API\'s keys]}.'],
  options: {},
  examples: ['kv admin keys list acc_3f9c0e1d2b4a59687f10'],
  async run({ args: [accountId], json, out, connection }) {
    const keys = await connection.admin().listKeys(accountId);
    if (json) await out.line(JSON.stringify({ keys }));
    else await out.table(...keyTable(keys));
    return ExitCode.ok;
  },
};

const keysCreate: Command = {
  name: 'admin keys create',
  args: '<accountId>',
  summary: 'create an API key for an account: read+write, or --read-only; optionally for a prefix, until a time',
  details: ['The secret is shown only now. With --json: the API\'s apiKey object, the secret in "key".'],
  options: {
    'read-only': { type: 'boolean', description: 'the key can read but not write' },
    prefix: { type: 'string', value: 'prefix', description: 'the key reaches only keys starting with this (listing and watch too)' },
    'expires-at': { type: 'string', value: 'time', description: 'the key is refused after this ISO-8601 time, e.g. 2027-01-01T00:00:00Z' },
    name: { type: 'string', value: 'name', description: "the key's name" },
  },
  examples: [
    'kv admin keys create acc_3f9c0e1d2b4a59687f10 --name ci',
    'kv admin keys create acc_3f9c0e1d2b4a59687f10 --read-only --prefix flags/ --expires-at 2027-01-01T00:00:00Z',
  ],
  async run({ args: [accountId], values, json, out, connection }) {
    const expiresAt = values['expires-at'] as string | undefined;
    if (expiresAt !== undefined && Number.isNaN(Date.parse(expiresAt))) {
      throw new UsageError(`--expires-at must be an ISO-8601 time, e.g. 2027-01-01T00:00:00Z, not '${expiresAt}'`, 'admin keys create');
    }
    const apiKey = await connection.admin().createKey(accountId, {
      scopes: values['read-only'] ? ['read'] : ['read', 'write'],
      ...(values.name === undefined ? {} : { name: String(values.name) }),
      ...(values.prefix === undefined ? {} : { prefix: String(values.prefix) }),
      ...(expiresAt === undefined ? {} : { expiresAt: new Date(expiresAt).toISOString() }),
    });
    if (json) await out.line(JSON.stringify(apiKey));
    else await printNewKey(out, apiKey);
    return ExitCode.ok;
  },
};

const keysRevoke: Command = {
  name: 'admin keys revoke',
  args: '<keyId>',
  summary: 'revoke an API key: every replica refuses it within a second',
  details: ['With --json: {"id", "revoked": true}.'],
  options: {},
  examples: ['kv admin keys revoke key_9a8b7c6d5e4f30211203'],
  async run({ args: [id], json, out, connection }) {
    if (!(await connection.admin().revokeKey(id))) throw notFound('API key');
    await out.line(json ? JSON.stringify({ id, revoked: true }) : `revoked key ${id}`);
    return ExitCode.ok;
  },
};

/** A new key for people: its secret on a line of its own (to copy), then what it may do. */
async function printNewKey(out: Output, apiKey: NewApiKey): Promise<void> {
  await out.line(
    [
      `API key ${apiKey.id}${apiKey.name ? ` (${apiKey.name})` : ''}: ${describeKey(apiKey)}`,
      'Its secret, shown only now (store it; the service keeps only a hash):',
      '',
      `  ${apiKey.key}`,
    ].join('\n'),
  );
}

function describeKey(apiKey: ApiKeyInfo): string {
  const parts = [apiKey.scopes.includes('write') ? 'read+write' : 'read-only'];
  if (apiKey.prefix) parts.push(`keys under '${apiKey.prefix}'`);
  if (apiKey.expiresAt) parts.push(`until ${apiKey.expiresAt}`);
  return parts.join(', ');
}

function keyTable(keys: ApiKeyInfo[]): [string[], string[][]] {
  return [
    ['ID', 'NAME', 'SCOPES', 'PREFIX', 'EXPIRES', 'CREATED'],
    keys.map((key) => [key.id, key.name ?? '-', key.scopes.join(','), key.prefix ?? '-', formatExpiry(key.expiresAt), key.createdAt]),
  ];
}

/** The admin commands, in help order. */
export const adminCommands: Command[] = [accountsList, accountsCreate, accountsGet, accountsDelete, keysList, keysCreate, keysRevoke];
