// KvAdmin: the admin routes (accounts and their API keys) with the service's admin token.

import { KvNotFoundError } from './errors';
import { Transport, type FetchFunction, type RetryOptions } from './transport';
import type { Account, ApiKeyInfo, Limits, NewApiKey } from './types';

/** Options of a KvAdmin. */
export interface KvAdminOptions {
  /** The service's base URL (its internal port when KV_INTERNAL_PORT is set). */
  url: string;
  /** KV_ADMIN_TOKEN of the service. */
  adminToken: string;
  fetch?: FetchFunction;
  retry?: RetryOptions | false;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

/** One page of accounts. */
export interface AccountPage {
  accounts: Account[];
  /** The cursor of the next page; `null` on the last one. */
  nextCursor: string | null;
}

/** An account with its usage and API keys (never their secrets). */
export interface AccountDetails {
  account: Account;
  usage: { keys: number };
  apiKeys: ApiKeyInfo[];
}

/** What a new API key may be. */
export interface CreateApiKeyRequest {
  /** `["read"]` or `["read", "write"]`. */
  scopes: ('read' | 'write')[];
  name?: string;
  /** The key reaches only keys starting with this (listing and watch included). */
  prefix?: string;
  /** The key is refused (401) after this time. */
  expiresAt?: Date | string;
}

/** Limit overrides: a number sets one, null clears it (the configured default applies), absent leaves it. */
export type LimitsPatch = { [name in keyof Limits]?: number | null };

/**
 * The admin API: `new KvAdmin({ url, adminToken })`. Reads are retried on 5xx and network
 * failures, as is updateAccount (setting the same limits twice is the same); creating and
 * deleting are not.
 */
export class KvAdmin {
  private readonly http: Transport;

  constructor(options: KvAdminOptions) {
    if (typeof options.adminToken !== 'string' || options.adminToken === '') throw new TypeError('adminToken is required');
    this.http = new Transport({
      url: options.url,
      authorization: `Bearer ${options.adminToken}`,
      fetch: options.fetch,
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      headers: options.headers,
    });
  }

  /**
   * One page of accounts in byte order of their ids (`GET /admin/accounts?cursor=&limit=`), without
   * usage or keys (getAccount has those). `limit`: 1 … 1000, the server's default 100.
   */
  async listAccounts(options: { cursor?: string; limit?: number; signal?: AbortSignal } = {}): Promise<AccountPage> {
    const { text } = await this.http.send({
      method: 'GET',
      path: '/admin/accounts',
      query: { cursor: options.cursor, limit: options.limit },
      idempotent: true,
      signal: options.signal,
    });
    return (JSON.parse(text) as { data: AccountPage }).data;
  }

  /** Every account, across all pages (`limit` accounts per request). */
  async *allAccounts(options: { limit?: number; signal?: AbortSignal } = {}): AsyncGenerator<Account> {
    let cursor: string | undefined;
    for (;;) {
      const page = await this.listAccounts({ cursor, limit: options.limit, signal: options.signal });
      yield* page.accounts;
      if (page.nextCursor === null) return;
      cursor = page.nextCursor;
    }
  }

  /** A new account and its first read+write API key (the secret is in `apiKey.key`, shown only now). */
  async createAccount(
    request: { name?: string; limits?: Partial<Limits> } = {},
    options: { signal?: AbortSignal } = {},
  ): Promise<{ account: Account; apiKey: NewApiKey }> {
    const { text } = await this.http.send({
      method: 'POST',
      path: '/admin/accounts',
      body: JSON.stringify(request),
      idempotent: false,
      signal: options.signal,
    });
    return (JSON.parse(text) as { data: { account: Account; apiKey: NewApiKey } }).data;
  }

  /** The account with its usage and API keys, or null when there is none. */
  async getAccount(id: string, options: { signal?: AbortSignal } = {}): Promise<AccountDetails | null> {
    try {
      const { text } = await this.http.send({ method: 'GET', path: `/admin/accounts/${encodeURIComponent(id)}`, idempotent: true, signal: options.signal });
      return (JSON.parse(text) as { data: AccountDetails }).data;
    } catch (error) {
      if (error instanceof KvNotFoundError) return null;
      throw error;
    }
  }

  /** Sets or clears the account's limit overrides; every replica applies them within a second. */
  async updateAccount(id: string, request: { limits: LimitsPatch }, options: { signal?: AbortSignal } = {}): Promise<Account> {
    const { text } = await this.http.send({
      method: 'PATCH',
      path: `/admin/accounts/${encodeURIComponent(id)}`,
      body: JSON.stringify(request),
      idempotent: true,
      signal: options.signal,
    });
    return (JSON.parse(text) as { data: { account: Account } }).data.account;
  }

  /**
   * Deletes the account with its data and API keys (its keys are refused from the start): true, or
   * false when there was none. The `default` account cannot be deleted (KvInvalidRequestError).
   * Never retried: if it fails midway, call it again to finish.
   */
  async deleteAccount(id: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    try {
      await this.http.send({ method: 'DELETE', path: `/admin/accounts/${encodeURIComponent(id)}`, idempotent: false, signal: options.signal });
      return true;
    } catch (error) {
      if (error instanceof KvNotFoundError) return false;
      throw error;
    }
  }

  /** The account's API keys (never their secrets). KvNotFoundError when there is no such account. */
  async listKeys(accountId: string, options: { signal?: AbortSignal } = {}): Promise<ApiKeyInfo[]> {
    const { text } = await this.http.send({
      method: 'GET',
      path: `/admin/accounts/${encodeURIComponent(accountId)}/keys`,
      idempotent: true,
      signal: options.signal,
    });
    return (JSON.parse(text) as { data: { keys: ApiKeyInfo[] } }).data.keys;
  }

  /** A new API key for the account; its secret (`key`) is shown only in this answer. */
  async createKey(accountId: string, request: CreateApiKeyRequest, options: { signal?: AbortSignal } = {}): Promise<NewApiKey> {
    const body: Record<string, unknown> = { ...request };
    if (request.expiresAt instanceof Date) body.expiresAt = request.expiresAt.toISOString();
    const { text } = await this.http.send({
      method: 'POST',
      path: `/admin/accounts/${encodeURIComponent(accountId)}/keys`,
      body: JSON.stringify(body),
      idempotent: false,
      signal: options.signal,
    });
    return (JSON.parse(text) as { data: { apiKey: NewApiKey } }).data.apiKey;
  }

  /** Revokes the API key (every replica refuses it within a second): true, or false when there was none. */
  async revokeKey(keyId: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    try {
      await this.http.send({ method: 'DELETE', path: `/admin/keys/${encodeURIComponent(keyId)}`, idempotent: false, signal: options.signal });
      return true;
    } catch (error) {
      if (error instanceof KvNotFoundError) return false;
      throw error;
    }
  }
}
