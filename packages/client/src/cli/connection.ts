// Which service kv talks to and with which credentials: the options first, then KV_URL, KV_API_KEY, KV_ADMIN_TOKEN.

import { KvAdmin, KvClient, type RetryOptions } from '../index';
import type { GlobalValues } from './command-line';
import { UsageError } from './usage-error';

export const DEFAULT_URL = 'http://localhost:8080';

/**
 * The client's retries, but a command waits out a 429 only when it says to retry within 10 s (an
 * account's per-second limit); a longer wait (failed authentications) is an error at once.
 */
const RETRY: RetryOptions = { maxRetryAfterMs: 10_000 };

/** The service and credentials of one run; makes the clients on first use. */
export class Connection {
  readonly url: string;
  private readonly apiKey: string | undefined;
  private readonly adminToken: string | undefined;

  constructor(values: GlobalValues, env: Record<string, string | undefined>) {
    this.url = values.url ?? nonEmpty(env.KV_URL) ?? DEFAULT_URL;
    this.apiKey = values['api-key'] ?? nonEmpty(env.KV_API_KEY);
    this.adminToken = values['admin-token'] ?? nonEmpty(env.KV_ADMIN_TOKEN);
    if (!isHttpUrl(this.url)) {
      throw new UsageError(`not an http(s) URL: '${this.url}' (from ${values.url !== undefined ? '--url' : 'KV_URL'})`);
    }
  }

  /** A client with the API key; a UsageError when there is none. */
  client(): KvClient {
    if (!this.apiKey) throw new UsageError('no API key: set KV_API_KEY or pass --api-key');
    return new KvClient({ url: this.url, apiKey: this.apiKey, retry: RETRY });
  }

  /** An admin client with the admin token; a UsageError when there is none. */
  admin(): KvAdmin {
    if (!this.adminToken) throw new UsageError('no admin token: set KV_ADMIN_TOKEN or pass --admin-token');
    return new KvAdmin({ url: this.url, adminToken: this.adminToken, retry: RETRY });
  }
}

/**
 * `text` with every credential kv could have been given (KV_API_KEY, KV_ADMIN_TOKEN, the values of
 * --api-key and --admin-token in `argv`) replaced by `***`: for error lines, which may quote a URL,
 * an argument or a server's message.
 */
export function redactSecrets(text: string, argv: string[], env: Record<string, string | undefined>): string {
  const secrets = [nonEmpty(env.KV_API_KEY), nonEmpty(env.KV_ADMIN_TOKEN)];
  argv.forEach((arg, i) => {
    for (const option of ['--api-key', '--admin-token']) {
      if (arg === option) secrets.push(nonEmpty(argv[i + 1]));
      else if (arg.startsWith(option + '=')) secrets.push(nonEmpty(arg.slice(option.length + 1)));
    }
  });
  let redacted = text;
  for (const secret of secrets) {
    if (secret) redacted = redacted.split(secret).join('***');
  }
  return redacted;
}

function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
