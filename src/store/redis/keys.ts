// Every Redis key name the service uses, and nowhere else. Account data carries the hash tag
// `{<accountId>}` so one account lives in one Cluster slot; admin records share the `{admin}` tag.

/** Names of the Redis keys under one prefix. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  private account_(accountId: string): string {
    return `${this.prefix}:{${accountId}}`;
  }

  /** The item string: header and compact JSON value. */
  item(accountId: string, key: string): string {
    return `${this.account_(accountId)}:i:${key}`;
  }

  /** Zset of the account's keys, every score 0, ordered by bytes. */
  index(accountId: string): string {
    return `${this.account_(accountId)}:idx`;
  }

  /** Zset of the account's expiring keys, scored by expiresAt (ms). */
  expiry(accountId: string): string {
    return `${this.account_(accountId)}:exp`;
  }

  /** The account's version counter. */
  versions(accountId: string): string {
    return `${this.account_(accountId)}:ver`;
  }

  /** Hash of the account's expiring keys' versions, for their expiry events. */
  expiryVersions(accountId: string): string {
    return `${this.account_(accountId)}:expv`;
  }

  /** The account's change log: a stream, one entry per change. */
  changeLog(accountId: string): string {
    return `${this.account_(accountId)}:log`;
  }

  account(accountId: string): string {
    return `${this.prefix}:{admin}:account:${accountId}`;
  }

  apiKey(hash: string): string {
    return `${this.prefix}:{admin}:apikey:${hash}`;
  }

  apiKeyId(keyId: string): string {
    return `${this.prefix}:{admin}:apikeyid:${keyId}`;
  }

  accountApiKeys(accountId: string): string {
    return `${this.prefix}:{admin}:accountkeys:${accountId}`;
  }

  /** Zset of every account id, every score 0: the admin listing, in byte order of the ids. */
  accounts(): string {
    return `${this.prefix}:{admin}:accounts`;
  }

  /** Set once the accounts made before the listing existed have been added to `accounts()`. */
  accountsIndexed(): string {
    return `${this.prefix}:{admin}:accounts-indexed`;
  }

  /** SCAN pattern of every account record (glob characters of the prefix escaped). */
  accountPattern(): string {
    return `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}:{admin}:account:*`;
  }

  /** Zset of the account's open watches (leases), shared by the replicas for the per-account cap. */
  watchers(accountId: string): string {
    return `${this.account_(accountId)}:watchers`;
  }

  /** Pub/sub channel on which the item scripts wake watchers: the message is the account id. */
  changesChannel(): string {
    return `${this.prefix}:changes`;
  }

  /** Pub/sub channel on which replicas tell each other to drop cached keys and limits. */
  invalidationChannel(): string {
    return `${this.prefix}:invalidate`;
  }

  /** Prefix of the rate-limit counters of one limiter (rate-limit-redis appends the client key). */
  rateLimit(name: string): string {
    return `${this.prefix}:rl:${name}:`;
  }
}
